#!/usr/bin/env node
/**
 * Micro-benchmark of the MongoDB decoder (src/protocols/mongodb.ts,
 * mongodb-message.ts, bson.ts):
 *
 *   node dist/bench/l7-mongodb.js [--conns N]
 *
 * Stream bytes go to the decoder as the application layer hands them over
 * (1448-byte pieces), N connections of 8 OP_MSG request/reply pairs each, as
 * a driver writes them: finds with nested filters answered by a batch of 20
 * documents, an insert of 10 documents in a document sequence, an update,
 * an aggregate with a 3-stage pipeline, a getMore, a failing command, one
 * zlib-compressed find. Every pair gives one mongodb record (built, not
 * serialised). Prints MB/s of stream bytes and requests/s.
 */
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import type { AppContext } from '../src/protocols/decoder.js';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER } from '../src/protocols/decoder.js';
import { MONGODB } from '../src/protocols/mongodb.js';

type V = string | number | boolean | null | V[] | { [k: string]: V };
const cstr = (s: string): Buffer => Buffer.from(s + '\0');
const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};
function el(k: string, v: V): Buffer {
  if (typeof v === 'string') return Buffer.concat([Buffer.from([2]), cstr(k), i32(Buffer.byteLength(v) + 1), cstr(v)]);
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return Buffer.concat([Buffer.from([0x10]), cstr(k), i32(v)]);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return Buffer.concat([Buffer.from([1]), cstr(k), b]);
  }
  if (typeof v === 'boolean') return Buffer.concat([Buffer.from([8]), cstr(k), Buffer.from([v ? 1 : 0])]);
  if (v === null) return Buffer.concat([Buffer.from([10]), cstr(k)]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from([4]), cstr(k), doc(Object.fromEntries(v.map((x, i) => [String(i), x])))]);
  return Buffer.concat([Buffer.from([3]), cstr(k), doc(v)]);
}
function doc(o: { [k: string]: V }): Buffer {
  const body = Buffer.concat(Object.entries(o).map(([k, v]) => el(k, v)));
  return Buffer.concat([i32(body.length + 5), body, Buffer.from([0])]);
}
function msg(id: number, to: number, d: { [k: string]: V }, seq?: [string, { [k: string]: V }[]]): Buffer {
  const parts = [i32(0), Buffer.from([0]), doc(d)];
  if (seq) {
    const payload = Buffer.concat([cstr(seq[0]), ...seq[1].map(doc)]);
    parts.push(Buffer.from([1]), i32(payload.length + 4), payload);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([i32(body.length + 16), i32(id), i32(to), i32(2013), body]);
}
function zlibbed(m: Buffer): Buffer {
  const z = deflateSync(m.subarray(16));
  const body = Buffer.concat([i32(2013), i32(m.length - 16), Buffer.from([2]), z]);
  return Buffer.concat([i32(body.length + 16), m.subarray(4, 12), i32(2012), body]);
}

function pairs(): [Buffer, Buffer][] {
  const user = (i: number): { [k: string]: V } => ({ _id: i, name: `user-${i}`, email: `user${i}@example.com`, age: 20 + (i % 50), tags: ['a', 'b', 'c'], address: { city: 'Lyon', zip: '69001' }, score: i * 1.5 });
  const batch = Array.from({ length: 20 }, (_, i) => user(i));
  const ok = { ok: 1, $clusterTime: { clusterTime: 1, signature: { keyId: 7 } }, operationTime: 1 };
  const out: [Buffer, Buffer][] = [];
  let id = 1;
  const add = (req: { [k: string]: V }, rep: { [k: string]: V }, seq?: [string, { [k: string]: V }[]], z = false): void => {
    const q = msg(id, 0, { ...req, lsid: { id: 'x'.repeat(16) }, $db: 'shop' }, seq);
    const r = msg(id + 1000, id, { ...rep, ...ok });
    out.push(z ? [zlibbed(q), zlibbed(r)] : [q, r]);
    id++;
  };
  add({ find: 'users', filter: { age: { $gt: 30, $lt: 60 }, 'address.city': 'Lyon', tags: { $in: ['a', 'z'] } }, limit: 20 }, { cursor: { firstBatch: batch, id: 0, ns: 'shop.users' } });
  add({ insert: 'users', ordered: true }, { n: 10 }, ['documents', batch.slice(0, 10)]);
  add({ update: 'users', updates: [{ q: { _id: 5 }, u: { $set: { age: 31 } } }] }, { n: 1, nModified: 1 });
  add({ aggregate: 'orders', pipeline: [{ $match: { status: 'A' } }, { $group: { _id: '$cust', total: { $sum: '$amount' } } }, { $sort: { total: -1 } }], cursor: {} }, { cursor: { firstBatch: batch.slice(0, 5), id: 0, ns: 'shop.orders' } });
  add({ getMore: 77, collection: 'users', batchSize: 20 }, { cursor: { nextBatch: batch, id: 0, ns: 'shop.users' } });
  add({ replSetGetStatus: 1 }, { ok: 0, errmsg: 'not running with --replSet', code: 76, codeName: 'NoReplicationEnabled' });
  add({ find: 'users', filter: { name: 'user-3' } }, { cursor: { firstBatch: batch.slice(3, 4), id: 0, ns: 'shop.users' } });
  add({ find: 'users', filter: { email: { $regex: 'example' } } }, { cursor: { firstBatch: batch, id: 0, ns: 'shop.users' } }, undefined, true);
  return out;
}

function main(): void {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { conns: { type: 'string' } } });
  const conns = Number(values.conns ?? 10000);
  const script = pairs();
  const bytesPerConn = script.reduce((n, [a, b]) => n + a.length + b.length, 0);
  let records = 0;
  const ctx: AppContext = { emit: () => void records++, confirm: () => {}, weird: () => {}, stop: () => {} };
  const run = (n: number): void => {
    for (let c = 0; c < n; c++) {
      const d = MONGODB.stream!(ctx, DEFAULT_DECODER_LIMITS);
      let t = 0;
      for (const [req, resp] of script) {
        for (const [side, buf] of [[CLIENT, req], [SERVER, resp]] as const) {
          for (let o = 0; o < buf.length; o += 1448) d.data(side, buf, o, Math.min(1448, buf.length - o), 1_700_000_000, (t += 1000));
        }
      }
      d.end(CLIENT, 1_700_000_001, 0);
      d.end(SERVER, 1_700_000_001, 0);
      d.finish(1_700_000_001, 0);
    }
  };
  run(Math.min(1000, conns)); // warm-up
  records = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  run(conns);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const mb = (conns * bytesPerConn) / 1e6;
  process.stdout.write(
    `l7-mongodb: ${conns} connections, ${records} requests, ${mb.toFixed(1)} MB of stream bytes\n` +
      `  wall ${wall.toFixed(2)} s: ${(mb / wall).toFixed(0)} MB/s, ${(records / wall / 1000).toFixed(0)} k requests/s\n` +
      `  cpu  ${cpuS.toFixed(2)} s: ${(mb / cpuS).toFixed(0)} MB/s, ${(records / cpuS / 1000).toFixed(0)} k requests/s\n`,
  );
}

main();
