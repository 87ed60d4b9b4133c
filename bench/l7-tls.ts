#!/usr/bin/env node
/**
 * Micro-benchmark of the TLS decoder (src/protocols/tls.ts):
 *
 *   node dist/bench/l7-tls.js [--conns N] [--bulk-mb M]
 *
 * Stream bytes go to the decoder as the reassembler would hand them over
 * (1448-byte pieces, each side in turn), and every connection ends with
 * finish() (one ssl record each). Cases:
 * - handshakes: N short TLS 1.3 connections (a Chrome-like
 *   ClientHello with GREASE, SNI, ALPN, key shares; ServerHello, CCS, 3 KB
 *   of encrypted handshake; the client's CCS and Finished; 2 KB of
 *   application data each way): parsing, fingerprints and the record;
 * - bulk: one TLS 1.2 connection carrying M MB of 16 KB application-data
 *   records each way: the record-header-only path after encryption.
 * Prints MB/s of stream bytes and connections/s.
 */
import { parseArgs } from 'node:util';
import type { AppContext } from '../src/protocols/decoder.js';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER } from '../src/protocols/decoder.js';
import { TLS } from '../src/protocols/tls.js';

const u16 = (v: number): number[] => [v >> 8, v & 0xff];
const u24 = (v: number): number[] => [v >> 16, (v >> 8) & 0xff, v & 0xff];
const rec = (type: number, body: number[]): number[] => [type, 3, 3, ...u16(body.length), ...body];
const hs = (type: number, body: number[]): number[] => [type, ...u24(body.length), ...body];
const ext = (type: number, data: number[]): number[] => [...u16(type), ...u16(data.length), ...data];
const fill = (n: number, v: number): number[] => new Array<number>(n).fill(v);

function clientHello(): number[] {
  const ciphers = [0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035].flatMap(u16);
  const name = [...Buffer.from('www.example.com')];
  const exts = [
    ...ext(0x0a0a, []),
    ...ext(0, [...u16(name.length + 3), 0, ...u16(name.length), ...name]),
    ...ext(23, []),
    ...ext(0xff01, [0]),
    ...ext(10, [...u16(8), ...[0x3a3a, 29, 23, 24].flatMap(u16)]),
    ...ext(11, [1, 0]),
    ...ext(35, []),
    ...ext(16, [0, 12, 2, ...Buffer.from('h2'), 8, ...Buffer.from('http/1.1')]),
    ...ext(5, [1, 0, 0, 0, 0]),
    ...ext(13, [...u16(16), ...[0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601].flatMap(u16)]),
    ...ext(18, []),
    ...ext(51, [...u16(41), ...u16(0x3a3a), ...u16(1), 0, ...u16(29), ...u16(32), ...fill(32, 7)]),
    ...ext(45, [1, 1]),
    ...ext(43, [6, ...[0x7a7a, 0x0304, 0x0303].flatMap(u16)]),
    ...ext(27, [2, 0, 2]),
    ...ext(0x1a1a, [0]),
  ];
  const body = [...u16(0x0303), ...fill(32, 1), 32, ...fill(32, 2), ...u16(ciphers.length), ...ciphers, 1, 0, ...u16(exts.length), ...exts];
  return rec(22, hs(1, body));
}

function serverFlight(): number[] {
  const sh = hs(2, [...u16(0x0303), ...fill(32, 3), 32, ...fill(32, 2), 0x13, 0x01, 0, ...u16(46), ...ext(43, u16(0x0304)), ...ext(51, [...u16(29), ...u16(32), ...fill(32, 9)])]);
  return [...rec(22, sh), ...rec(20, [1]), ...rec(23, fill(3000, 0x55))];
}

function pieces(bytes: number[]): Uint8Array[] {
  const b = Uint8Array.from(bytes);
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += 1448) out.push(b.subarray(i, Math.min(b.length, i + 1448)));
  return out;
}

function shortConn(): [Uint8Array[], Uint8Array[]][] {
  return [
    [pieces(clientHello()), []],
    [[], pieces(serverFlight())],
    [pieces([...rec(20, [1]), ...rec(23, fill(53, 0x66)), ...rec(23, fill(2048, 0x67))]), []],
    [[], pieces(rec(23, fill(2048, 0x68)))],
  ];
}

function bulkConn(mb: number): [Uint8Array[], Uint8Array[]][] {
  const ch = clientHello();
  const sh = hs(2, [...u16(0x0303), ...fill(32, 3), 0, 0xc0, 0x2f, 0, ...u16(0)]);
  const steps: [Uint8Array[], Uint8Array[]][] = [
    [pieces(ch), []],
    [[], pieces([...rec(22, [...sh, ...hs(11, [...u24(2000 - 3), ...fill(1997, 0x30)]), ...hs(14, [])])])],
    [pieces([...rec(22, hs(16, [0, 65, ...fill(65, 4)])), ...rec(20, [1]), ...rec(22, fill(40, 5))]), []],
    [[], pieces([...rec(20, [1]), ...rec(22, fill(40, 6))])],
  ];
  const chunk = pieces(Array.from({ length: 16 }, () => rec(23, fill(16384, 0x77))).flat());
  const per = 16 * 16389;
  for (let done = 0; done < mb * 1024 * 1024; done += per) steps.push([chunk, chunk]);
  return steps;
}

function size(steps: [Uint8Array[], Uint8Array[]][]): number {
  let n = 0;
  for (const [c, s] of steps) for (const p of [...c, ...s]) n += p.length;
  return n;
}

let records = 0;
let last: Record<string, unknown> = {};
const ctx: AppContext = {
  emit: (_s, r) => {
    records++;
    last = r;
  },
  confirm: () => {},
  weird: () => {},
  stop: () => {},
};

function feed(steps: [Uint8Array[], Uint8Array[]][]): void {
  const d = TLS.stream!(ctx, DEFAULT_DECODER_LIMITS);
  let t = 0;
  for (const [c, s] of steps) {
    t++;
    for (const p of c) d.data(CLIENT, p, 0, p.length, t, 0);
    for (const p of s) d.data(SERVER, p, 0, p.length, t, 0);
  }
  d.end(CLIENT, t, 0);
  d.end(SERVER, t, 0);
  d.finish(t, 0);
}

function time(name: string, bytes: number, conns: number, fn: () => void): void {
  fn(); // warm-up
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  runs.sort((a, b) => a - b);
  const s = runs[2]!;
  console.log(`${name.padEnd(12)} ${(bytes / 1e6 / s).toFixed(1).padStart(8)} MB/s  ${(conns / s).toFixed(0).padStart(8)} conns/s  (${(bytes / 1e6).toFixed(1)} MB, ${conns} connections, median of 5: ${(s * 1000).toFixed(1)} ms)`);
}

const { values } = parseArgs({ options: { conns: { type: 'string', default: '20000' }, 'bulk-mb': { type: 'string', default: '200' } } });
const n = Number(values.conns);
const mb = Number(values['bulk-mb']);
const short = shortConn();
const shortBytes = size(short);
time('handshakes', shortBytes * n, n, () => {
  for (let i = 0; i < n; i++) feed(short);
});
console.log(`  each: ${last['version']} ${last['cipher']} ${last['server_name']} ${last['ja4']} state ${last['state']} ${last['problem'] ?? ''}`);
const bulk = bulkConn(mb);
time('bulk', size(bulk), 1, () => feed(bulk));
console.log(`  ${last['version']} ${last['cipher']} state ${last['state']}, ${last['client_records']} + ${last['server_records']} records (only their headers are read)`);
console.log(`(${records} ssl records written)`);
