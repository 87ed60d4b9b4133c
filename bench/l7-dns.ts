#!/usr/bin/env node
/**
 * Micro-benchmark of the DNS decoder (src/protocols/dns*.ts): MB/s of DNS
 * message bytes through it, records built (into a context that drops them).
 *
 *   node dist/bench/l7-dns.js [--pairs N]
 *
 * The traffic: query/response pairs for names of 2-5 labels, types A,
 * AAAA, CNAME+A, MX, TXT, NXDOMAIN (with a compressed SOA in authority) and
 * an EDNS OPT record in each query and response, 40-160 bytes per message.
 * Cases:
 * - UDP, one flow: every pair on one decoder;
 * - UDP, a flow per pair: a new decoder per pair (most DNS flows are one
 *   client port, one query), its finish included;
 * - TCP, a message per chunk: length-prefixed, each message its own segment
 *   (read in place);
 * - TCP, 100-byte chunks: messages split across chunks (gathered in the
 *   side's buffer).
 * Prints the medians of 5 timed passes, in CPU time (ns/message, MB/s,
 * messages/s) and wall time (MB/s), and the largest heap growth over a pass
 * (records are built, then dropped).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_DECODER_LIMITS, type AppContext } from '../src/protocols/decoder.js';
import { DNS } from '../src/protocols/dns.js';
import { median } from './_util.js';

const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const nameBytes = (n: string): number[] => [...n.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
const OPT = [0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0];

function rr(owner: number[], type: number, ttl: number, rdata: number[]): number[] {
  return [...owner, ...u16(type), 0, 1, (ttl >>> 24) & 255, (ttl >>> 16) & 255, (ttl >>> 8) & 255, ttl & 255, ...u16(rdata.length), ...rdata];
}

/** One query and its response (no length prefix). */
function pair(i: number): [Uint8Array, Uint8Array] {
  const id = i & 0xffff;
  const words = ['api', 'www', 'cdn', 'mail', 'static', 'eu-west-1', 'service', 'internal', 'example', 'corp'];
  const labels = 2 + (i % 4);
  const name = Array.from({ length: labels }, (_, k) => words[(i * 7 + k * 3) % words.length]).join('.') + (i % 3 === 0 ? '.com' : '.net');
  const kinds = [1, 28, 5, 15, 16, 1, 1, 28, 0];
  const kind = kinds[i % kinds.length]!;
  const qtype = kind === 0 || kind === 5 ? 1 : kind;
  const q = [...nameBytes(name), ...u16(qtype), 0, 1];
  const query = Uint8Array.from([...u16(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, ...q, ...OPT]);
  const at12 = [0xc0, 12];
  let an: number[][] = [];
  let ns: number[][] = [];
  let rcode = 0;
  if (kind === 1) an = [rr(at12, 1, 300, [10, (i >> 8) & 255, i & 255, 1]), rr(at12, 1, 300, [10, (i >> 8) & 255, i & 255, 2])];
  else if (kind === 28) an = [rr(at12, 28, 300, [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (i >> 8) & 255, i & 255])];
  else if (kind === 5) an = [rr(at12, 5, 60, [4, ...Buffer.from('edge'), 0xc0, 12]), rr([0xc0, 12 + q.length + 12], 1, 20, [192, 0, 2, i & 255])];
  else if (kind === 15) an = [rr(at12, 15, 3600, [0, 10, 2, ...Buffer.from('mx'), 0xc0, 12])];
  else if (kind === 16) an = [rr(at12, 16, 300, [35, ...Buffer.from('v=spf1 include:_spf.example.com ~al')])];
  else {
    rcode = 3;
    ns = [rr(at12, 6, 900, [2, ...Buffer.from('ns'), 0xc0, 12, 4, ...Buffer.from('host'), 0xc0, 12, ...Array(20).fill(1)])];
  }
  const response = Uint8Array.from([...u16(id), 0x81, 0x80 | rcode, 0, 1, ...u16(an.length), ...u16(ns.length), 0, 1, ...q, ...an.flat(), ...ns.flat(), ...OPT]);
  return [query, response];
}

const framed = (m: Uint8Array): Uint8Array => Uint8Array.from([...u16(m.length), ...m]);

class Drop implements AppContext {
  records = 0;
  failed = 0;
  emit(_s: unknown, _r: unknown, failed: boolean): void {
    this.records++;
    if (failed) this.failed++;
  }
  confirm(): void {}
  weird(): void {}
  stop(why: string): void {
    throw new Error(`stopped: ${why}`);
  }
}

/**
 * Runs `pass` once to warm up, then `runs` timed times; prints the medians of wall time and of
 * the process's CPU time (user + system: on a shared machine the wall time also counts the time
 * other jobs held the CPU, the CPU time does not).
 */
function measure(name: string, bytes: number, messages: number, pass: (ctx: Drop) => void, runs = 5): void {
  pass(new Drop());
  const wall: number[] = [];
  const cpu: number[] = [];
  let heap = 0;
  for (let k = 0; k < runs; k++) {
    global.gc?.();
    const ctx = new Drop();
    const heap0 = process.memoryUsage().heapUsed;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    pass(ctx);
    wall.push(Number(process.hrtime.bigint() - t0));
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) * 1000);
    heap = Math.max(heap, process.memoryUsage().heapUsed - heap0);
    if (ctx.records !== messages / 2) throw new Error(`${name}: ${ctx.records} records for ${messages / 2} pairs`);
  }
  const w = median(wall), c = median(cpu);
  const mbs = (ns: number): string => (bytes / 1e6 / (ns / 1e9)).toFixed(1).padStart(6);
  console.log(
    `${name.padEnd(28)} CPU: ${(c / messages).toFixed(0).padStart(5)} ns/message ${mbs(c)} MB/s ${((messages / (c / 1e9)) / 1e6).toFixed(2)} M msg/s | ` +
      `wall: ${mbs(w)} MB/s (medians of ${runs}) | heap growth ${(heap / 1024 / 1024).toFixed(1)} MiB (records dropped)`,
  );
}

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '200000' } } });
const n = Number(values.pairs);
const pairs = Array.from({ length: 4096 }, (_, i) => pair(i));
let bytes = 0;
for (let i = 0; i < n; i++) bytes += pairs[i & 4095]![0].length + pairs[i & 4095]![1].length;
const lim = DEFAULT_DECODER_LIMITS;
console.log(`${n} query/response pairs, ${(bytes / n / 2).toFixed(0)} bytes per message on average`);

measure('UDP, one flow', bytes, 2 * n, (ctx) => {
  const d = DNS.datagram!(ctx, lim);
  for (let i = 0; i < n; i++) {
    const [q, r] = pairs[i & 4095]!;
    d.datagram(0, q, 0, q.length, 1000 + (i >> 10), i & 1023);
    d.datagram(1, r, 0, r.length, 1000 + (i >> 10), (i & 1023) + 500_000);
  }
  d.finish(2000, 0);
});

measure('UDP, a flow per pair', bytes, 2 * n, (ctx) => {
  for (let i = 0; i < n; i++) {
    const [q, r] = pairs[i & 4095]!;
    const d = DNS.datagram!(ctx, lim);
    d.datagram(0, q, 0, q.length, 1000, 0);
    d.datagram(1, r, 0, r.length, 1000, 500_000);
    d.finish(1000, 500_000);
  }
});

const fq = pairs.map(([q]) => framed(q)), fr = pairs.map(([, r]) => framed(r));
const tcpBytes = bytes + 4 * n;

measure('TCP, a message per chunk', tcpBytes, 2 * n, (ctx) => {
  const d = DNS.stream!(ctx, lim);
  for (let i = 0; i < n; i++) {
    const q = fq[i & 4095]!, r = fr[i & 4095]!;
    d.data(0, q, 0, q.length, 1000 + (i >> 10), i & 1023);
    d.data(1, r, 0, r.length, 1000 + (i >> 10), (i & 1023) + 500_000);
  }
  d.finish(2000, 0);
});

// each side one long stream cut every 100 bytes (across messages); the queries run three ahead, so a chunk
// that completes a response never comes before its query
const qs = Buffer.concat(fq.map((b) => Buffer.from(b))), rs = Buffer.concat(fr.map((b) => Buffer.from(b)));
const qEnds = new Int32Array(4096), rEnds = new Int32Array(4096);
for (let i = 0, q = 0, r = 0; i < 4096; i++) {
  qEnds[i] = q += fq[i]!.length;
  rEnds[i] = r += fr[i]!.length;
}
measure('TCP, 100-byte chunks', tcpBytes, 2 * n, (ctx) => {
  const d = DNS.stream!(ctx, lim);
  let qo = 0, ro = 0;
  for (let i = 0; i < n; i++) {
    const k = i & 4095;
    if (k === 0 && i > 0) qo = ro = 0; // the next round of the same 4096 pairs
    const sec = 1000 + (i >> 10);
    const lead = Math.min(3, n - 1 - i);
    const qTarget = k + lead < 4096 ? qEnds[k + lead]! : qs.length;
    // the round that holds the last pair ends its query stream there
    const qStop = n - 1 - i < 4096 - k ? qEnds[(n - 1) & 4095]! : qs.length;
    while (qo < qTarget) {
      const c = Math.min(100, qStop - qo);
      d.data(0, qs, qo, c, sec, 0);
      qo += c;
    }
    while (ro < rEnds[k]!) {
      const c = Math.min(100, rs.length - ro);
      d.data(1, rs, ro, c, sec, 1);
      ro += c;
    }
  }
  d.finish(3000, 0);
});
