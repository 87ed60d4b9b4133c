/**
 * Ground truth for the MongoDB decoder. No MongoDB server can be installed
 * here (no Debian package; mongodb-memory-server downloads the server at
 * run time), so the server is a small fake written in this test with the
 * `bson` package: it speaks OP_MSG and the legacy OP_QUERY/OP_REPLY
 * handshake, keeps documents in memory, answers hello, insert (with a
 * duplicate-key write error), find with batchSize (a cursor) and getMore,
 * update, delete, aggregate (countDocuments), a failing replSetGetStatus,
 * and a find on the collection "slow" 200 ms late; it speaks zlib
 * OP_COMPRESSED when the client asks for it. The client is the real
 * `mongodb` driver (devDependency), in another network namespace, with
 * command monitoring on: it logs each command it sent (the wire requestID,
 * name, database) and each reply (ok, n, batch size, error code and
 * message, the duration it measured). One client talks to port 27017, a
 * second with compressors=zlib to port 4000 (found by its bytes).
 *
 * The decoded records must hold every logged command under its requestID
 * with the same name, database, ok, n, batch size, error code and message,
 * failed as the driver saw it; the slow find's latency at least 200 ms and
 * no more than the duration the driver measured. Skipped, with the reason,
 * when not root, when ip or tcpdump is missing, or when the mongodb and
 * bson packages are not installed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './_capture-helpers.js';
import { run } from './_cli.js';
import { ROOT } from './_fixtures.js';
import { NetnsPair, SERVER_V4 } from './_netns.js';

const BSON_PATH = join(ROOT, 'node_modules/bson');
const DRIVER_PATH = join(ROOT, 'node_modules/mongodb');

const SERVER = String.raw`
const net = require('node:net');
const zlib = require('node:zlib');
const { BSON, Long } = require(${JSON.stringify(BSON_PATH)});
const store = new Map();
const coll = (ns) => { if (!store.has(ns)) store.set(ns, []); return store.get(ns); };
const cursors = new Map();
let nextCursor = 42n;
const matches = (d, f) => Object.entries(f || {}).every(([k, v]) => typeof v === 'object' && v !== null ? true : d[k] === v);
function respond(cmd) {
  const name = Object.keys(cmd)[0];
  const db = cmd.$db || 'admin';
  const ns = db + '.' + cmd[name];
  switch (name.toLowerCase()) {
    case 'hello': case 'ismaster': {
      const r = { helloOk: true, ismaster: true, maxBsonObjectSize: 16777216, maxMessageSizeBytes: 48000000, maxWriteBatchSize: 100000, localTime: new Date(), logicalSessionTimeoutMinutes: 30, connectionId: 1, minWireVersion: 0, maxWireVersion: 21, readOnly: false, ok: 1 };
      if (Array.isArray(cmd.compression) && cmd.compression.includes('zlib')) r.compression = ['zlib'];
      return r;
    }
    case 'ping': case 'endsessions': return { ok: 1 };
    case 'insert': {
      const docs = coll(ns);
      const writeErrors = [];
      let n = 0;
      cmd.documents.forEach((d, i) => {
        if (docs.some((x) => String(x._id) === String(d._id))) writeErrors.push({ index: i, code: 11000, errmsg: 'E11000 duplicate key error collection: ' + ns + ' index: _id_' });
        else { docs.push(d); n++; }
      });
      return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
    }
    case 'find': {
      const all = coll(ns).filter((d) => matches(d, cmd.filter));
      const size = cmd.batchSize ?? 101;
      let id = 0n;
      if (all.length > size) { id = nextCursor++; cursors.set(id, { ns, rest: all.slice(size) }); }
      return { cursor: { firstBatch: all.slice(0, size), id: Long.fromBigInt(id), ns }, ok: 1 };
    }
    case 'getmore': {
      const id = BigInt(cmd.getMore.toString());
      const c = cursors.get(id);
      cursors.delete(id);
      return { cursor: { nextBatch: c ? c.rest : [], id: Long.fromBigInt(0n), ns: c ? c.ns : db + '.' + cmd.collection }, ok: 1 };
    }
    case 'update': {
      let n = 0;
      for (const u of cmd.updates) for (const d of coll(ns)) if (matches(d, u.q)) { Object.assign(d, u.u.$set || {}); n++; if (!u.multi) break; }
      return { n, nModified: n, ok: 1 };
    }
    case 'delete': {
      let n = 0;
      for (const q of cmd.deletes) { const docs = coll(ns); for (let i = docs.length - 1; i >= 0; i--) if (matches(docs[i], q.q)) { docs.splice(i, 1); n++; } }
      return { n, ok: 1 };
    }
    case 'aggregate': {
      const m = (cmd.pipeline.find((s) => s.$match) || {}).$match;
      return { cursor: { firstBatch: [{ _id: 1, n: coll(ns).filter((d) => matches(d, m)).length }], id: Long.fromBigInt(0n), ns }, ok: 1 };
    }
    case 'replsetgetstatus': return { ok: 0, errmsg: 'not running with --replSet', code: 76, codeName: 'NoReplicationEnabled' };
    default: return { ok: 0, errmsg: "no such command: '" + name + "'", code: 59, codeName: 'CommandNotFound' };
  }
}
let replyId = 1000;
function header(len, id, to, op) { const h = Buffer.alloc(16); h.writeInt32LE(len, 0); h.writeInt32LE(id, 4); h.writeInt32LE(to, 8); h.writeInt32LE(op, 12); return h; }
function send(sock, to, op, body, compress) {
  const id = replyId++;
  if (compress) {
    const z = zlib.deflateSync(body);
    const cb = Buffer.concat([Buffer.from(new Int32Array([op]).buffer), Buffer.from(new Int32Array([body.length]).buffer), Buffer.from([2]), z]);
    sock.write(Buffer.concat([header(16 + cb.length, id, to, 2012), cb]));
  } else sock.write(Buffer.concat([header(16 + body.length, id, to, op), body]));
}
function handle(sock, id, op, body) {
  let compressedReq = false;
  if (op === 2012) {
    const orig = body.readInt32LE(0), cid = body[8];
    body = cid === 2 ? zlib.inflateSync(body.subarray(9)) : body.subarray(9);
    op = orig;
    compressedReq = true;
  }
  if (op === 2004) {
    const z = body.indexOf(0, 4);
    const doc = BSON.deserialize(body.subarray(z + 9));
    const q = doc.$query || doc;
    const r = BSON.serialize(respond(q));
    const rb = Buffer.alloc(20);
    rb.writeInt32LE(1, 16);
    return send(sock, id, 1, Buffer.concat([rb, r]), false);
  }
  if (op !== 2013) return;
  const flags = body.readUInt32LE(0);
  const end = body.length - (flags & 1 ? 4 : 0);
  let p = 4, cmd = null;
  const seqs = {};
  while (p < end) {
    const kind = body[p++];
    const size = body.readInt32LE(p);
    if (kind === 0) { cmd = BSON.deserialize(body.subarray(p, p + size)); p += size; continue; }
    const z = body.indexOf(0, p + 4);
    const idt = body.toString('utf8', p + 4, z);
    const docs = [];
    for (let q = z + 1; q < p + size; ) { const l = body.readInt32LE(q); docs.push(BSON.deserialize(body.subarray(q, q + l))); q += l; }
    seqs[idt] = docs;
    p += size;
  }
  Object.assign(cmd, seqs);
  // moreToCome: the client wants no reply (endSessions)
  if (flags & 2) return;
  const reply = Buffer.concat([Buffer.alloc(4), Buffer.from([0]), BSON.serialize(respond(cmd))]);
  const slow = cmd.find === 'slow';
  // a timer may fire a fraction of a millisecond early: wait until 200 ms have passed by the clock
  const due = process.hrtime.bigint() + (slow ? 200_000_000n : 0n);
  const later = () => {
    const left = Number(due - process.hrtime.bigint()) / 1e6;
    if (left > 0) setTimeout(later, Math.ceil(left));
    else send(sock, id, 2013, reply, compressedReq);
  };
  later();
}
for (const port of [27017, 4000]) {
  net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 16 && buf.length >= buf.readInt32LE(0)) {
        const len = buf.readInt32LE(0);
        handle(sock, buf.readInt32LE(4), buf.readInt32LE(12), buf.subarray(16, len));
        buf = buf.subarray(len);
      }
    });
    sock.on('error', () => {});
  }).listen(port, '${SERVER_V4}', () => { if (port === 4000) console.log('listening'); });
}
`;

const CLIENT = String.raw`
const { MongoClient } = require(${JSON.stringify(DRIVER_PATH)});
const log = (o) => process.stdout.write(JSON.stringify(o) + '\n');
function watch(client, conn) {
  client.on('commandSucceeded', (e) => {
    const c = e.reply.cursor;
    log({ conn, requestId: e.requestId, command: e.commandName, db: e.databaseName, ok: e.reply.ok, n: e.reply.n ?? null, batch: c ? (c.firstBatch ?? c.nextBatch).length : null, writeErrors: e.reply.writeErrors ? e.reply.writeErrors.length : null, code: e.reply.writeErrors ? e.reply.writeErrors[0].code : null, errmsg: e.reply.writeErrors ? e.reply.writeErrors[0].errmsg : null, failed: !!e.reply.writeErrors, durationMs: e.duration });
  });
  client.on('commandFailed', (e) => {
    log({ conn, requestId: e.requestId, command: e.commandName, db: e.databaseName, ok: 0, n: null, batch: null, writeErrors: null, code: e.failure.code ?? null, errmsg: e.failure.message, failed: true, durationMs: e.duration });
  });
}
const opts = '/?directConnection=true&serverMonitoringMode=poll&heartbeatFrequencyMS=60000&serverSelectionTimeoutMS=5000';
(async () => {
  const a = new MongoClient('mongodb://${SERVER_V4}:27017' + opts, { monitorCommands: true });
  watch(a, 'plain');
  await a.connect();
  const db = a.db('shop');
  const users = db.collection('users');
  await users.insertOne({ _id: 1, name: 'ada', age: 36 });
  await users.insertMany([{ _id: 2, name: 'bob', age: 41 }, { _id: 3, name: 'cy', age: 29 }, { _id: 4, name: 'di', age: 52 }]);
  await users.insertOne({ _id: 1, name: 'dup' }).catch(() => {});
  await users.find({ name: 'ada' }).toArray();
  await users.find({}, { batchSize: 2 }).toArray();
  await users.updateOne({ _id: 2 }, { $set: { age: 42 } });
  await users.countDocuments({ age: 29 });
  await users.deleteMany({ name: 'cy' });
  await db.collection('slow').find({ k: 1 }).toArray();
  await a.db('admin').command({ replSetGetStatus: 1 }).catch(() => {});
  await a.close();
  const b = new MongoClient('mongodb://${SERVER_V4}:4000' + opts + '&compressors=zlib', { monitorCommands: true });
  watch(b, 'zlib');
  await b.connect();
  await b.db('inv').collection('items').insertOne({ _id: 'x', qty: 5 });
  await b.db('inv').collection('items').find({ qty: 5 }).toArray();
  await b.close();
})().catch((e) => { console.error(e); process.exit(1); });
`;

const net = new NetnsPair('m');
const SKIP = !existsSync(BSON_PATH) || !existsSync(DRIVER_PATH) ? 'needs the mongodb and bson packages (npm ci installs them as devDependencies)' : net.skip;
let tmp = '';
let cleanup = (): void => {};

before(() => {
  ({ dir: tmp, cleanup } = makeTempDir('netns-mongo-'));
});

after(() => {
  net.close();
  cleanup();
});

interface Logged {
  conn: string;
  requestId: number;
  command: string;
  db: string;
  ok: number;
  n: number | null;
  batch: number | null;
  writeErrors: number | null;
  code: number | null;
  errmsg: string | null;
  failed: boolean;
  durationMs: number;
}

test('MongoDB decoded from the real mongodb driver and a fake server equals the driver\'s command log: names, databases, ok, counts, errors, a cursor, zlib compression, and a known delay as latency', async (t) => {
  if (SKIP) return t.skip(SKIP);
  const pcap = join(tmp, 'mongo.pcap');
  await net.start(net.server, [process.execPath, '-e', SERVER], /listening/);
  const stop = await net.capture(pcap, ['tcp']);
  const c = net.exec(net.client, [process.execPath, '-e', CLIENT], undefined, 120_000);
  await stop();
  assert.equal(c.status, 0, c.stderr);
  const logged = c.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Logged);
  assert.ok(logged.length >= 12, c.stdout + c.stderr);

  const r = run('tcpanalyze', ['--decode', 'mongodb', '--format', 'ndjson', pcap]);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const mongo = recs.filter((x) => x['record'] === 'mongodb');
  for (const l of logged) {
    const m = mongo.find((x) => x['request_id'] === l.requestId && x['command'] === l.command);
    const what = `${l.conn} ${l.command} #${l.requestId}`;
    assert.ok(m, `no record for ${what}`);
    if (m['state'] === 'no_reply') {
      // sent with moreToCome (endSessions): the driver reports a reply it never got
      assert.deepEqual([m['database'], m['opcode_name']], [l.db, 'OP_MSG'], what);
      continue;
    }
    assert.deepEqual(
      [m['database'], m['ok'], m['n'], m['docs_returned'], m['write_errors'], m['error_code'], m['error_msg'], m['failed'], m['state']],
      [l.db, l.ok, l.n, l.batch, l.writeErrors, l.code, l.errmsg, l.failed, 'complete'],
      what,
    );
    if (l.conn === 'zlib') assert.equal(m['compressor'], 'zlib', what);
    const lat = m['latency_ms'] as number;
    assert.ok(lat <= l.durationMs + 1, `${what}: latency ${lat} ms > the ${l.durationMs} ms the driver measured`);
    if (m['collection'] === 'slow') {
      t.diagnostic(`${what}: latency ${lat} ms, the driver measured ${l.durationMs} ms, the server's delay 200 ms`);
      assert.ok(lat >= 200, `${what}: latency ${lat} ms < 200 ms`);
    }
  }
  // the cursor: a find of batchSize 2 and its getMore
  const getMore = mongo.find((x) => x['command'] === 'getMore')!;
  assert.deepEqual([getMore['collection'], getMore['docs_returned']], ['users', 2]);
  assert.ok(mongo.some((x) => x['command'] === 'find' && x['cursor_id'] === '42'));
  assert.ok(mongo.some((x) => x['fingerprint'] === 'shop.users.find {name: ?}'));
  // the handshake the driver does not log is decoded too; port 4000 was found by its bytes
  t.diagnostic(`commands decoded: ${[...new Set(mongo.map((x) => x['command']))].join(', ')}`);
  assert.deepEqual(mongo.filter((y) => y['state'] === 'orphan' || y['command'] === null), []);
  assert.ok(mongo.some((x) => /^(hello|ismaster)$/i.test(String(x['command']))));
  const other = recs.find((x) => x['record'] === 'conn' && x['resp_p'] === 4000)!;
  assert.equal(other['service'], 'mongodb');
});
