#!/usr/bin/env node
/**
 * Micro-benchmark of the MySQL decoder (src/protocols/mysql.ts):
 *
 *   node dist/bench/l7-mysql.js [--conns N]
 *
 * Stream bytes go to the decoder as the application layer hands them over
 * (1448-byte pieces, command then reply), N connections each with a login
 * and 12 commands: SELECTs answered with result sets of 20 rows of 6
 * columns, INSERTs and UPDATEs answered OK, a prepared statement executed
 * with binary rows, an error, a ping; and the same traffic over the
 * compressed protocol (zlib frames of up to 16 KiB). Every command gives
 * one mysql record (built, not serialised). Prints MB/s of stream bytes
 * (plain, and compressed bytes on the wire for the compressed case) and
 * records/s, in wall and CPU time.
 */
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import type { AppContext } from '../src/protocols/decoder.js';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER } from '../src/protocols/decoder.js';
import { MYSQL } from '../src/protocols/mysql.js';

function pkt(seq: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(payload.length, 0, 3);
  h[3] = seq & 0xff;
  return Buffer.concat([h, payload]);
}
const lenstr = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const ok = (seq: number, affected = 0, header = 0): Buffer => pkt(seq, Buffer.from([header, affected, 0, 2, 0, 0, 0]));
const eof = (seq: number): Buffer => pkt(seq, Buffer.from([0xfe, 0, 0, 2, 0]));
const coldef = (seq: number, name: string): Buffer => pkt(seq, Buffer.concat([lenstr('def'), lenstr('shop'), lenstr('orders'), lenstr('orders'), lenstr(name), lenstr(name), Buffer.from([0x0c, 0x21, 0, 0xff, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0])]));
const command = (code: number, arg: string): Buffer => pkt(0, Buffer.concat([Buffer.from([code]), Buffer.from(arg)]));

const COLUMNS = ['id', 'customer', 'status', 'total', 'created_at', 'note'];

function resultSet(deprecate: boolean, binary: boolean): Buffer {
  let seq = 1;
  const parts = [pkt(seq++, Buffer.from([COLUMNS.length])), ...COLUMNS.map((c) => coldef(seq++, c))];
  if (!deprecate) parts.push(eof(seq++));
  for (let r = 0; r < 20; r++) {
    const vals = [String(1000 + r), `customer-${r}@example.com`, r % 3 ? 'shipped' : 'pending', (r * 17.5).toFixed(2), '2024-05-01 12:00:00', 'priority delivery, leave at the door'];
    parts.push(pkt(seq++, binary ? Buffer.concat([Buffer.from([0, 0]), ...vals.map(lenstr)]) : Buffer.concat(vals.map(lenstr))));
  }
  parts.push(deprecate ? ok(seq++, 0, 0xfe) : eof(seq++));
  return Buffer.concat(parts);
}

function conversation(deprecate: boolean): [number, Buffer][] {
  const caps = 0x1 | 0x8 | 0x200 | 0x8000 | 0x80000 | 0x200000 | (deprecate ? 0x1000000 : 0);
  const greet = Buffer.concat([Buffer.from([10]), Buffer.from('8.0.36\0'), Buffer.alloc(4), Buffer.alloc(8, 0x41), Buffer.from([0, caps & 0xff, (caps >> 8) & 0xff, 0x21, 2, 0, (caps >>> 16) & 0xff, (caps >>> 24) & 0xff, 21]), Buffer.alloc(10), Buffer.alloc(13, 0x41), Buffer.from('mysql_native_password\0')]);
  const hr = Buffer.alloc(32);
  hr.writeUInt32LE(caps >>> 0, 0);
  const out: [number, Buffer][] = [
    [SERVER, pkt(0, greet)],
    [CLIENT, pkt(1, Buffer.concat([hr, Buffer.from('app\0'), Buffer.from([20]), Buffer.alloc(20, 0x42), Buffer.from('shop\0mysql_native_password\0')]))],
    [SERVER, ok(2)],
  ];
  const prepOk = Buffer.alloc(12);
  prepOk.writeUInt32LE(1, 1);
  prepOk.writeUInt16LE(COLUMNS.length, 5);
  prepOk.writeUInt16LE(1, 7);
  const prep = [pkt(1, prepOk), coldef(2, '?'), ...(deprecate ? [] : [eof(3)]), ...COLUMNS.map((c, i) => coldef((deprecate ? 3 : 4) + i, c)), ...(deprecate ? [] : [eof(4 + COLUMNS.length)])];
  const exec = Buffer.alloc(10 + 1 + 1 + 2 + 8);
  exec[0] = 0x17;
  exec.writeUInt32LE(1, 1);
  exec.writeUInt32LE(1, 6);
  exec[11] = 1;
  exec[12] = 8;
  for (let i = 0; i < 3; i++) {
    out.push([CLIENT, command(3, `SELECT id, customer, status, total, created_at, note FROM orders WHERE customer_id = ${4000 + i} ORDER BY created_at DESC LIMIT 20`)], [SERVER, resultSet(deprecate, false)]);
    out.push([CLIENT, command(3, `INSERT INTO order_events (order_id, kind, at) VALUES (${1000 + i}, 'viewed', NOW())`)], [SERVER, ok(1, 1)]);
  }
  out.push([CLIENT, command(0x16, 'SELECT id, customer, status, total, created_at, note FROM orders WHERE id = ?')], [SERVER, Buffer.concat(prep)]);
  out.push([CLIENT, pkt(0, exec)], [SERVER, resultSet(deprecate, true)]);
  out.push([CLIENT, command(3, "UPDATE orders SET status = 'paid' WHERE id IN (1001, 1002, 1003)")], [SERVER, ok(1, 3)]);
  out.push([CLIENT, command(3, 'SELECT * FROM missing_table')], [SERVER, pkt(1, Buffer.concat([Buffer.from([0xff, 0x7a, 0x04]), Buffer.from("#42S02Table 'shop.missing_table' doesn't exist")]))]);
  out.push([CLIENT, command(14, '')], [SERVER, ok(1)]);
  out.push([CLIENT, command(1, '')]);
  return out;
}

/** The same conversation with everything after the login in compressed frames (zlib, 16 KiB at most per frame). */
function compressedConversation(): [number, Buffer][] {
  const plain = conversation(true);
  // the login negotiates CLIENT_COMPRESS on both sides
  const setCompress = (b: Buffer, at: number): Buffer => {
    const c = Buffer.from(b);
    c[at] = c[at]! | 0x20;
    return c;
  };
  const out: [number, Buffer][] = [[SERVER, setCompress(plain[0]![1], 4 + 1 + 7 + 4 + 8 + 1)], [CLIENT, setCompress(plain[1]![1], 4)], plain[2]!];
  let seq = 0;
  for (const [side, bytes] of plain.slice(3)) {
    if (side === CLIENT) seq = 0;
    const frames: Buffer[] = [];
    for (let o = 0; o < bytes.length; o += 16384) {
      const part = bytes.subarray(o, Math.min(bytes.length, o + 16384));
      const z = deflateSync(part);
      const h = Buffer.alloc(7);
      h.writeUIntLE(z.length, 0, 3);
      h[3] = seq++ & 0xff;
      h.writeUIntLE(part.length, 4, 3);
      frames.push(h, z);
    }
    out.push([side, Buffer.concat(frames)]);
  }
  return out;
}

function bench(name: string, script: [number, Buffer][], conns: number): void {
  const bytesPerConn = script.reduce((n, [, b]) => n + b.length, 0);
  let records = 0;
  let bad = 0;
  const ctx: AppContext = {
    emit: (_s, r) => {
      records++;
      if (r['state'] !== 'complete') bad++;
    },
    confirm: () => {},
    weird: () => {},
    stop: () => {},
  };
  const run = (n: number): void => {
    for (let c = 0; c < n; c++) {
      const d = MYSQL.stream!(ctx, DEFAULT_DECODER_LIMITS);
      let t = 0;
      for (const [side, buf] of script) {
        for (let o = 0; o < buf.length; o += 1448) d.data(side as 0 | 1, buf, o, Math.min(1448, buf.length - o), 1_700_000_000, (t += 1000));
      }
      d.end(CLIENT, 1_700_000_001, 0);
      d.end(SERVER, 1_700_000_001, 0);
      d.finish(1_700_000_001, 0);
    }
  };
  run(Math.min(2000, conns)); // warm-up
  if (bad > 0 || records !== Math.min(2000, conns) * (script.filter(([side]) => side === CLIENT).length)) throw new Error(`l7-mysql ${name}: the conversation does not decode as built (${bad} records not complete)`);
  records = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  run(conns);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const mb = (conns * bytesPerConn) / 1e6;
  process.stdout.write(
    `l7-mysql ${name}: ${conns} connections, ${records} records, ${mb.toFixed(1)} MB of stream bytes\n` +
      `  wall ${wall.toFixed(2)} s: ${(mb / wall).toFixed(0)} MB/s, ${(records / wall / 1000).toFixed(0)} k records/s\n` +
      `  cpu  ${cpuS.toFixed(2)} s: ${(mb / cpuS).toFixed(0)} MB/s, ${(records / cpuS / 1000).toFixed(0)} k records/s\n`,
  );
}

function main(): void {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { conns: { type: 'string' } } });
  const conns = Number(values.conns ?? 20000);
  bench('(EOF packets)', conversation(false), conns);
  bench('(deprecated EOF)', conversation(true), conns);
  bench('(compressed protocol)', compressedConversation(), Math.max(1, Math.floor(conns / 4)));
}

main();
