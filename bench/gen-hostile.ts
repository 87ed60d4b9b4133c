#!/usr/bin/env node
/**
 * Hostile-traffic capture generator for the benchmark's hostile section.
 *
 *   node dist/bench/gen-hostile.js synflood  [--count N] [--rate PPS] [--seed S] OUT.pcap
 *   node dist/bench/gen-hostile.js longlived [--conns C] [--packets N] [--seed S] OUT.pcap
 *   node dist/bench/gen-hostile.js fragments [--count N] [--rate PPS] [--seed S] OUT.pcap
 *
 * synflood: N SYNs to 10.0.0.1:80 from random IPv4 sources and ports (a
 *   spoofed-source flood: nothing answers), `rate` SYNs per second of capture
 *   time.
 * longlived: C connections that all open first (SYN, SYN/ACK, ACK), then
 *   exchange requests and ACKs in rounds, each round visiting every
 *   connection in a new random order, and close with FIN/ACK, FIN/ACK, ACK:
 *   C connections open at once for the whole capture, about N packets in all
 *   (12 per connection by default). The capture lasts 200 s, inside the
 *   default 5-minute idle timeout.
 * fragments: N first fragments of IPv4 datagrams (offset 0, more fragments
 *   set, a new IP ID each) whose other fragments never come.
 *
 * Classic pcap, little-endian, microsecond timestamps, Ethernet. IPv4 header
 * checksums are correct; TCP checksums are left 0 (the analysis does not
 * check them). Deterministic for a given seed.
 */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** xorshift32: small, fast, deterministic. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed * 2654435761) >>> 0 || 1;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
}

const START = 1_733_600_000; // 2024-12-07 19:33:20 UTC
const FIN = 1, SYN = 2, PSH = 8, ACK = 16;

/** Buffered pcap writer: one 8 MB buffer, written with writeSync when full. */
class PcapOut {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(8 << 20);
  private pos = 0;
  packets = 0;
  bytes = 24;

  constructor(readonly path: string) {
    this.fd = openSync(`${path}.tmp`, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(65535, 16);
    h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    writeSync(this.fd, h);
  }

  /** Reserves a record of `len` frame bytes at time `us` (µs since START); returns the frame offset in `buf`. */
  record(us: number, len: number): number {
    if (this.pos + 16 + len > this.buf.length) this.flush();
    const b = this.buf;
    let p = this.pos;
    const sec = START + Math.floor(us / 1e6);
    b.writeUInt32LE(sec, p);
    b.writeUInt32LE(Math.floor(us % 1e6), p + 4);
    b.writeUInt32LE(len, p + 8);
    b.writeUInt32LE(len, p + 12);
    p += 16;
    // Ethernet: dst, src, type IPv4
    b.fill(0, p, p + 14);
    b[p + 0] = 0x02;
    b[p + 6] = 0x02;
    b[p + 11] = 1;
    b[p + 12] = 0x08;
    this.pos = p + len;
    this.packets++;
    this.bytes += 16 + len;
    return p;
  }

  get b(): Buffer {
    return this.buf;
  }

  private flush(): void {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
    renameSync(`${this.path}.tmp`, this.path);
  }
}

/** Writes an IPv4 header at `p` (20 bytes) with a correct checksum. */
function ipv4(b: Buffer, p: number, totalLen: number, id: number, fragField: number, proto: number, src: number, dst: number): void {
  b[p] = 0x45;
  b[p + 1] = 0;
  b.writeUInt16BE(totalLen, p + 2);
  b.writeUInt16BE(id & 0xffff, p + 4);
  b.writeUInt16BE(fragField, p + 6);
  b[p + 8] = 64;
  b[p + 9] = proto;
  b.writeUInt16BE(0, p + 10);
  b.writeUInt32BE(src >>> 0, p + 12);
  b.writeUInt32BE(dst >>> 0, p + 16);
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += b.readUInt16BE(p + i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  b.writeUInt16BE(~s & 0xffff, p + 10);
}

/** One TCP segment (IPv4, 20-byte TCP header, or 24 with an MSS option on SYNs) with `len` payload bytes. */
function tcp(out: PcapOut, us: number, src: number, sp: number, dst: number, dp: number, seq: number, ack: number, flags: number, len: number, id: number): void {
  const opt = flags & SYN ? 4 : 0;
  const ipLen = 20 + 20 + opt + len;
  const p = out.record(us, 14 + ipLen);
  const b = out.b;
  ipv4(b, p + 14, ipLen, id, 0x4000, 6, src, dst);
  const t = p + 34;
  b.writeUInt16BE(sp, t);
  b.writeUInt16BE(dp, t + 2);
  b.writeUInt32BE(seq >>> 0, t + 4);
  b.writeUInt32BE(flags & ACK ? ack >>> 0 : 0, t + 8);
  b[t + 12] = ((20 + opt) / 4) << 4;
  b[t + 13] = flags;
  b.writeUInt16BE(65535, t + 14);
  b.writeUInt32BE(0, t + 16);
  if (opt) b.writeUInt32BE(0x020405b4, t + 20); // MSS 1460
  b.fill(0x61, t + 20 + opt, t + 20 + opt + len);
}

export interface HostileStats {
  packets: number;
  bytes: number;
}

export function synflood(path: string, count: number, rate: number, seed: number): HostileStats {
  const rng = new Rng(seed);
  const out = new PcapOut(path);
  const server = 0x0a000001;
  for (let i = 0; i < count; i++) {
    // random public-looking sources (first octet 1-223, not 10 or 127)
    let a = rng.u32();
    const o1 = 1 + rng.below(223);
    a = ((o1 === 10 || o1 === 127 ? 11 : o1) << 24) | (a & 0xffffff);
    tcp(out, (i * 1e6) / rate, a, 1024 + rng.below(64512), server, 80, rng.u32(), 0, SYN, 0, rng.u32());
  }
  out.close();
  return { packets: out.packets, bytes: out.bytes };
}

export function fragments(path: string, count: number, rate: number, seed: number): HostileStats {
  const rng = new Rng(seed);
  const out = new PcapOut(path);
  const dst = 0x0a000001;
  for (let i = 0; i < count; i++) {
    const src = (11 << 24) | rng.below(1 << 24);
    const len = 64; // a first fragment: 20-byte IP header + 64 bytes, more fragments set
    const p = out.record((i * 1e6) / rate, 14 + 20 + len);
    ipv4(out.b, p + 14, 20 + len, i, 0x2000, 17, src, dst);
    out.b.writeUInt16BE(1024 + (i & 0x7fff), p + 34); // UDP header of the datagram
    out.b.writeUInt16BE(53, p + 36);
    out.b.writeUInt16BE(3000, p + 38);
    out.b.fill(0x62, p + 42, p + 14 + 20 + len);
  }
  out.close();
  return { packets: out.packets, bytes: out.bytes };
}

export function longlived(path: string, conns: number, packets: number, seed: number): HostileStats {
  const rng = new Rng(seed);
  const out = new PcapOut(path);
  const server = 0x0a000001;
  const cli = new Uint32Array(conns);
  const port = new Uint16Array(conns);
  const cseq = new Uint32Array(conns);
  const sseq = new Uint32Array(conns);
  for (let i = 0; i < conns; i++) {
    cli[i] = ((11 + (i >>> 16)) << 24) | ((i & 0xffff) << 8) | 1 + (i % 250);
    port[i] = 1024 + rng.below(64000);
    cseq[i] = rng.u32();
    sseq[i] = rng.u32();
  }
  // 3 handshake + 3 close packets per connection, the rest in request/ACK rounds
  const rounds = Math.max(1, Math.round((packets / conns - 6) / 2));
  const phases = 2 + rounds;
  const span = 200e6; // µs
  const step = span / phases / (conns * 3);
  let us = 0;
  let id = 0;
  const order = new Uint32Array(conns);
  for (let i = 0; i < conns; i++) order[i] = i;
  const shuffle = (): void => {
    for (let i = conns - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  };
  for (let i = 0; i < conns; i++) {
    tcp(out, us, cli[i]!, port[i]!, server, 443, cseq[i]!, 0, SYN, 0, id++);
    us += step;
    tcp(out, us, server, 443, cli[i]!, port[i]!, sseq[i]!, cseq[i]! + 1, SYN | ACK, 0, id++);
    us += step;
    cseq[i] = cseq[i]! + 1;
    sseq[i] = sseq[i]! + 1;
    tcp(out, us, cli[i]!, port[i]!, server, 443, cseq[i]!, sseq[i]!, ACK, 0, id++);
    us += step;
  }
  for (let r = 0; r < rounds; r++) {
    shuffle();
    for (let k = 0; k < conns; k++) {
      const i = order[k]!;
      const len = 40 + rng.below(200);
      tcp(out, us, cli[i]!, port[i]!, server, 443, cseq[i]!, sseq[i]!, PSH | ACK, len, id++);
      us += step;
      cseq[i] = cseq[i]! + len;
      tcp(out, us, server, 443, cli[i]!, port[i]!, sseq[i]!, cseq[i]!, ACK, 0, id++);
      us += step * 2;
    }
  }
  for (let i = 0; i < conns; i++) {
    tcp(out, us, cli[i]!, port[i]!, server, 443, cseq[i]!, sseq[i]!, FIN | ACK, 0, id++);
    us += step;
    tcp(out, us, server, 443, cli[i]!, port[i]!, sseq[i]!, cseq[i]! + 1, FIN | ACK, 0, id++);
    us += step;
    tcp(out, us, cli[i]!, port[i]!, server, 443, cseq[i]! + 1, sseq[i]! + 1, ACK, 0, id++);
    us += step;
  }
  out.close();
  return { packets: out.packets, bytes: out.bytes };
}

function usage(): string {
  return `usage: gen-hostile synflood  [--count N] [--rate PPS] [--seed S] OUT.pcap   (default 5000000 SYNs at 100000/s)
       gen-hostile longlived [--conns C] [--packets N] [--seed S] OUT.pcap   (default 500000 connections, 6000000 packets)
       gen-hostile fragments [--count N] [--rate PPS] [--seed S] OUT.pcap   (default 2000000 fragments at 100000/s)`;
}

function main(argv: string[]): number {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { count: { type: 'string' }, rate: { type: 'string' }, conns: { type: 'string' }, packets: { type: 'string' }, seed: { type: 'string' } },
  });
  if (positionals.length !== 2) {
    process.stderr.write(usage() + '\n');
    return 2;
  }
  const num = (s: string | undefined, def: number): number => (s === undefined ? def : Number(s.replace(/_/g, '')));
  const [kind, path] = positionals as [string, string];
  const seed = num(v.seed, 1);
  let st: HostileStats;
  if (kind === 'synflood') st = synflood(path, num(v.count, 5_000_000), num(v.rate, 100_000), seed);
  else if (kind === 'fragments') st = fragments(path, num(v.count, 2_000_000), num(v.rate, 100_000), seed);
  else if (kind === 'longlived') st = longlived(path, num(v.conns, 500_000), num(v.packets, 6_000_000), seed);
  else {
    process.stderr.write(usage() + '\n');
    return 2;
  }
  process.stderr.write(`${path}: ${st.packets} packets, ${st.bytes} bytes\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
