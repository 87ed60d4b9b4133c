/**
 * The MongoDB decoder on crafted conversations: OP_MSG commands and replies
 * (filter shapes, document sequences, the checksum flag, errors, write
 * errors, cursors, moreToCome), legacy opcodes, OP_COMPRESSED with each
 * compressor, out-of-order replies, orphans; and hostile input: BSON length
 * lies, a 48 MB message, a compression bomb, a declared size over the
 * limit, capture gaps inside and across messages, random bytes; the sniff
 * (no false positives on random bytes and other protocols' openings); the
 * BSON reader against the `bson` package when it is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER, Sniff, type AppContext, type DecoderLimits, type Side } from '../src/protocols/decoder.js';
import type { RecordValues } from '../src/records/schema.js';
import { MONGODB } from '../src/protocols/mongodb.js';
import { shape, walk, WALK_MALFORMED, WALK_OK, WALK_TRUNCATED } from '../src/protocols/bson.js';
import { snappyUncompress } from '../src/protocols/snappy.js';
import { seeded } from './_l7-helpers.js';
import { NODE_HAS_ZSTD, bson, compressed, message, opInsert, opMsg, opQuery, opReply, snappyLiteral } from './_mongo-helpers.js';

interface Run {
  records: RecordValues[];
  failed: boolean[];
  stops: string[];
  weird: string[];
  confirmed: boolean;
}

type Step = { side: Side; bytes: Uint8Array } | { side: Side; gap: number };

function run(steps: Step[], limits: Partial<DecoderLimits> = {}): Run {
  const out: Run = { records: [], failed: [], stops: [], weird: [], confirmed: false };
  const ctx: AppContext = {
    emit: (_s, r, f) => {
      out.records.push(r);
      out.failed.push(f);
    },
    confirm: () => void (out.confirmed = true),
    weird: (n) => void out.weird.push(n),
    stop: (w) => void out.stops.push(w),
  };
  const d = MONGODB.stream!(ctx, { ...DEFAULT_DECODER_LIMITS, ...limits });
  let ms = 0;
  for (const s of steps) {
    ms++;
    if ('gap' in s) d.gap(s.side, s.gap, 1000, ms * 1e6);
    else d.data(s.side, s.bytes, 0, s.bytes.length, 1000, ms * 1e6);
  }
  d.end(CLIENT, 1001, 0);
  d.end(SERVER, 1001, 0);
  d.finish(1001, 0);
  return out;
}

const c = (bytes: Uint8Array): Step => ({ side: CLIENT, bytes });
const s = (bytes: Uint8Array): Step => ({ side: SERVER, bytes });
const pick = (r: RecordValues, ...f: string[]): unknown[] => f.map((k) => r[k]);

test('OP_MSG find: command, database, collection, filter shape, fingerprint, cursor batch, timing', () => {
  const r = run([
    c(opMsg(7, 0, { find: 'users', filter: { name: 'ada', age: { $gt: 30 }, tags: { $in: ['a', 'b'] } }, limit: 10, $db: 'shop' })),
    s(opMsg(900, 7, { cursor: { firstBatch: [{ _id: 1 }, { _id: 2 }, { _id: 3 }], id: 12345678901234n, ns: 'shop.users' }, ok: 1 })),
  ]);
  assert.equal(r.records.length, 1);
  assert.deepEqual(pick(r.records[0]!, 'request_id', 'response_to', 'opcode_name', 'reply_opcode_name', 'command', 'database', 'collection', 'filter_shape', 'fingerprint', 'ok', 'docs_returned', 'cursor_id', 'state', 'latency_ms'), [
    7, 7, 'OP_MSG', 'OP_MSG', 'find', 'shop', 'users', '{name: ?, age: {$gt: ?}, tags: {$in: [?]}}', 'shop.users.find {name: ?, age: {$gt: ?}, tags: {$in: [?]}}', 1, 3, '12345678901234', 'complete', 1,
  ]);
  assert.deepEqual(r.failed, [false]);
  assert.ok(r.confirmed);
});

test('replies pair by responseTo in any order; a reply for no request is an orphan; a request without reply is unanswered', () => {
  const r = run([
    c(Buffer.concat([opMsg(1, 0, { ping: 1, $db: 'admin' }), opMsg(2, 0, { count: 'c', query: { x: 1 }, $db: 'd' })])),
    s(Buffer.concat([opMsg(11, 2, { n: 5, ok: 1 }), opMsg(10, 1, { ok: 1 }), opMsg(12, 99, { ok: 1 })])),
    c(opMsg(3, 0, { hello: 1, $db: 'admin' })),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'command', 'request_id', 'response_to', 'n', 'state')), [
    ['count', 2, 2, 5, 'complete'],
    ['ping', 1, 1, null, 'complete'],
    [null, 12, 99, null, 'orphan'],
    ['hello', 3, null, null, 'unanswered'],
  ]);
  assert.deepEqual(r.failed, [false, false, false, true]);
});

test('errors: ok 0 with code, codeName and errmsg; write errors; a legacy query failure', () => {
  const r = run([
    c(Buffer.concat([opMsg(1, 0, { insert: 'c', $db: 'd' }, { sequences: [['documents', [{ _id: 1 }, { _id: 1 }]]] }), opMsg(2, 0, { replSetGetStatus: 1, $db: 'admin' })])),
    s(opMsg(20, 1, { n: 1, writeErrors: [{ index: 1, code: 11000, codeName: 'DuplicateKey', errmsg: 'E11000 duplicate key error' }], ok: 1 })),
    s(opMsg(21, 2, { ok: 0, errmsg: 'not running with --replSet', code: 76, codeName: 'NoReplicationEnabled' })),
    c(opQuery(3, 'd.c', { $query: { a: 1 } })),
    s(opReply(22, 3, [{ $err: 'bad query', code: 2 }], 2)),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'command', 'request_docs', 'ok', 'error_code', 'error_name', 'error_msg', 'write_errors', 'n', 'filter_shape')), [
    ['insert', 2, 1, 11000, 'DuplicateKey', 'E11000 duplicate key error', 1, 1, null],
    ['replSetGetStatus', null, 0, 76, 'NoReplicationEnabled', 'not running with --replSet', null, null, null],
    ['find', null, null, 2, null, 'bad query', null, null, '{a: ?}'],
  ]);
  assert.deepEqual(r.failed, [true, true, true]);
});

test('the checksum flag, moreToCome requests (no reply due), legacy writes, update and delete statements', () => {
  const r = run([
    c(opMsg(1, 0, { update: 'c', $db: 'd' }, { flags: 1, sequences: [['updates', [{ q: { _id: 5 }, u: { $set: { a: 1 } } }]]] })),
    c(opMsg(2, 0, { delete: 'c', deletes: [{ q: { a: { $lt: 3 } }, limit: 0 }], $db: 'd' }, { flags: 2 })),
    c(opInsert(3, 'd.c', [{ a: 1 }, { a: 2 }, { a: 3 }])),
    s(opMsg(30, 1, { n: 1, nModified: 1, ok: 1 })),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'command', 'opcode_name', 'checksum', 'request_docs', 'filter_shape', 'state')), [
    ['delete', 'OP_MSG', false, 1, '{a: {$lt: ?}}', 'no_reply'],
    ['insert', 'OP_INSERT', null, 3, null, 'no_reply'],
    ['update', 'OP_MSG', true, 1, '{_id: ?}', 'complete'],
  ]);
});

test('an aggregate pipeline\'s shape; OP_QUERY to $cmd; OP_REPLY counts', () => {
  const r = run([
    c(opMsg(1, 0, { aggregate: 'orders', pipeline: [{ $match: { status: 'A' } }, { $group: { _id: '$cust', total: { $sum: '$amount' } } }], cursor: {}, $db: 'shop' })),
    s(opMsg(40, 1, { cursor: { firstBatch: [], id: 0n, ns: 'shop.orders' }, ok: 1 })),
    c(opQuery(2, 'admin.$cmd', { isMaster: 1 })),
    s(opReply(41, 2, [{ ismaster: true, ok: 1 }])),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'command', 'database', 'collection', 'filter_shape', 'docs_returned', 'cursor_id', 'opcode_name', 'reply_opcode_name')), [
    ['aggregate', 'shop', 'orders', '[{$match: {status: ?}}, {$group: {_id: ?, total: {$sum: ?}}}]', 0, null, 'OP_MSG', 'OP_MSG'],
    ['isMaster', 'admin', null, null, 1, null, 'OP_QUERY', 'OP_REPLY'],
  ]);
});

test('OP_COMPRESSED: noop, snappy, zlib and zstd requests and replies are read through', () => {
  for (const comp of ['noop', 'snappy', 'zlib', 'zstd'] as const) {
    // a plain ping first: it confirms MongoDB, so a message that cannot be read is still written
    const all = run([
      c(opMsg(1, 0, { ping: 1, $db: 'admin' })),
      s(opMsg(10, 1, { ok: 1 })),
      c(compressed(opMsg(5, 0, { find: 'c', filter: { k: 'v'.repeat(300) }, $db: 'd' }), comp)),
      s(compressed(opMsg(50, 5, { cursor: { firstBatch: [{ a: 1 }], id: 0n, ns: 'd.c' }, ok: 1 }), comp)),
    ]);
    assert.equal(all.records.length, 2, comp);
    const r = { records: all.records.slice(1) };
    if (comp === 'zstd' && !NODE_HAS_ZSTD) {
      // Node.js before 22.15 has no zstd: the compressor is named, the message is not read
      assert.equal(r.records[0]!['compressor'], 'zstd');
      assert.match(String(r.records[0]!['problem']), /zstd.*not decompressed/);
      continue;
    }
    assert.deepEqual(pick(r.records[0]!, 'command', 'filter_shape', 'docs_returned', 'ok', 'compressor', 'opcode_name', 'state', 'problem'), ['find', '{k: ?}', 1, 1, comp, 'OP_MSG', 'complete', null], comp);
  }
});

test('compression bombs and lies: an inflated size other than stated, a stated size over 16 MiB, a snappy length over the limit', () => {
  const req = opMsg(5, 0, { ping: 1, $db: 'admin' });
  // zlib data that inflates to 64 MiB, said to be 30 bytes
  const bomb = deflateSync(Buffer.alloc(64 << 20));
  const zb = message(5, 0, 2012, Buffer.concat([Buffer.from([0xdd, 0x07, 0, 0]), Buffer.from([30, 0, 0, 0]), Buffer.from([2]), bomb]));
  const t0 = Date.now();
  const r = run([c(zb), s(opMsg(60, 5, { ok: 1 }))]);
  assert.ok(Date.now() - t0 < 3000);
  assert.equal(r.records[0]!['state'], 'invalid');
  assert.match(String(r.records[0]!['problem']), /zlib data corrupt/);
  const big = run([c(compressed(req, 'zlib', 100 << 20)), s(opMsg(60, 5, { ok: 1 }))]);
  assert.match(String(big.records[0]!['problem']), /uncompressed size 104857600 over 16777216: not decompressed/);
  assert.equal(snappyUncompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 0, 5, 1 << 24), 'snappy block of 4294967295 bytes over the 16777216-byte limit');
  assert.equal(snappyUncompress(Buffer.from([10, 0x01 | (2 << 2), 5]), 0, 3, 100), 'snappy copy out of range');
  assert.deepEqual(Buffer.from(snappyUncompress(snappyLiteral(Buffer.from('hello')), 0, 7, 100) as Uint8Array).toString(), 'hello');
});

test('BSON length lies: a document claiming 2 GB, a string longer than its document, a negative length; never throw', () => {
  const doc = bson({ find: 'c', $db: 'd' });
  const lie = Buffer.from(doc);
  lie.writeInt32LE(0x7fffffff, 0);
  const r1 = run([c(message(1, 0, 2013, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), lie]))), s(opMsg(2, 1, { ok: 1 }))]);
  assert.equal(r1.records[0]!['state'], 'invalid');
  const str = Buffer.from(doc);
  str.writeInt32LE(1000, 4 + 1 + 5); // "find" string length
  assert.equal(walk(str, 0, str.length, () => true), WALK_MALFORMED);
  const neg = Buffer.from(doc);
  neg.writeInt32LE(-5, 4 + 1 + 5);
  assert.equal(walk(neg, 0, neg.length, () => true), WALK_MALFORMED);
  assert.equal(walk(doc, 0, doc.length, () => true), WALK_OK);
  assert.equal(walk(doc, 0, doc.length - 3, () => true), WALK_TRUNCATED);
  // 1,000 nested documents: the shape stops at its depth
  let deep: { [k: string]: unknown } = { x: 1 };
  for (let i = 0; i < 1000; i++) deep = { a: deep };
  const db = bson(deep as never);
  assert.equal(shape(db, 0, db.length, 8, 8192), '{a: {a: {a: {a: {a: {a: {a: {a: {…}}}}}}}}}');
});

test('a 48 MB message costs 1 MiB: its first MiB is read, the rest counted', () => {
  const filler = Buffer.alloc(3 << 20, 0x61);
  const req = opMsg(9, 0, { insert: 'c', $db: 'd' }, { sequences: [['documents', [{ blob: filler.toString('latin1') }, { b: 1 }]]] });
  const r = run([c(req), s(opMsg(90, 9, { n: 2, ok: 1 }))]);
  assert.deepEqual(pick(r.records[0]!, 'command', 'database', 'request_bytes', 'n', 'state'), ['insert', 'd', req.length, 2, 'complete']);
  assert.match(String(r.records[0]!['problem']), /^message of \d+ bytes: read its first 1048592$/);
});

test('capture gaps: inside a message the framing holds; across a header the side hunts for the next message', () => {
  const a = opMsg(1, 0, { find: 'c', filter: { a: 1 }, comment: 'x'.repeat(200), $db: 'd' });
  const b = opMsg(2, 0, { find: 'c2', $db: 'd' });
  const ra = opMsg(10, 1, { cursor: { firstBatch: [], id: 0n, ns: 'd.c' }, ok: 1 });
  const rb = opMsg(11, 2, { cursor: { firstBatch: [{}], id: 0n, ns: 'd.c2' }, ok: 1 });
  const r = run([
    c(a.subarray(0, 100)), { side: CLIENT, gap: 50 }, c(a.subarray(150)),
    c(b),
    s(ra.subarray(0, 10)), { side: SERVER, gap: 30 }, s(ra.subarray(40)),
    s(rb),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'request_id', 'command', 'collection', 'state')), [
    [2, 'find', 'c2', 'complete'],
    [1, 'find', 'c', 'incomplete'],
  ]);
});

test('bytes that are not MongoDB stop the decoder without records', () => {
  const r = run([c(Buffer.from('GET / HTTP/1.1\r\nHost: example.org\r\n\r\n')), s(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))]);
  assert.equal(r.records.length, 0);
  assert.equal(r.stops.length, 1);
});

test('random bytes and random cuts of real messages never throw', () => {
  const rnd = seeded(3);
  const msgs = [opMsg(1, 0, { find: 'c', filter: { a: { $gt: 1 } }, $db: 'd' }), opMsg(2, 1, { ok: 0, errmsg: 'x', code: 1 }), compressed(opMsg(3, 0, { ping: 1 }), 'snappy')];
  for (let k = 0; k < 300; k++) {
    const steps: Step[] = [];
    for (let i = 0; i < 12; i++) {
      const m = Buffer.from(msgs[Math.floor(rnd() * msgs.length)]!);
      // flip a few bytes
      for (let j = 0; j < 3; j++) if (rnd() < 0.5) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
      steps.push(rnd() < 0.1 ? { side: rnd() < 0.5 ? CLIENT : SERVER, gap: 1 + Math.floor(rnd() * 60) } : { side: rnd() < 0.5 ? CLIENT : SERVER, bytes: m });
    }
    run(steps, { maxPending: 20 });
  }
});

const sniff = (b: Uint8Array): number => MONGODB.sniff!(b, 0, Math.min(b.length, 64));

test('the sniff recognises requests and replies of every kind and refuses other bytes', () => {
  assert.equal(sniff(opMsg(1, 0, { ping: 1, $db: 'admin' })), Sniff.CLIENT);
  assert.equal(sniff(opMsg(2, 1, { ok: 1 })), Sniff.SERVER);
  assert.equal(sniff(opQuery(1, 'admin.$cmd', { isMaster: 1 })), Sniff.CLIENT);
  assert.equal(sniff(opReply(1, 0, [{ ok: 1 }])), Sniff.SERVER);
  assert.equal(sniff(opInsert(1, 'd.c', [{ a: 1 }])), Sniff.CLIENT);
  assert.equal(sniff(compressed(opMsg(1, 0, { ping: 1 }), 'zlib')), Sniff.CLIENT);
  assert.equal(sniff(opMsg(1, 0, { ping: 1 }).subarray(0, 10)), Sniff.MORE);
  for (const x of ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', '*2\r\n$3\r\nGET\r\n$10\r\nuser:1:cart\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + 'x'.repeat(40), 'SSH-2.0-OpenSSH_9.2\r\n']) {
    assert.equal(sniff(Buffer.from(x, 'latin1')), Sniff.NO, JSON.stringify(x));
  }
  const rnd = seeded(27017);
  let hits = 0;
  for (let i = 0; i < 20000; i++) {
    const b = new Uint8Array(64);
    for (let k = 0; k < 64; k++) b[k] = Math.floor(rnd() * 256);
    const v = sniff(b);
    if (v === Sniff.CLIENT || v === Sniff.SERVER) hits++;
  }
  assert.equal(hits, 0);
});

test('the BSON reader agrees with the bson package on the values it reads', async (t) => {
  let B: typeof import('bson');
  try {
    B = await import('bson');
  } catch {
    return t.skip('the bson package is not installed (npm ci installs it as a devDependency)');
  }
  const doc = B.serialize({ s: 'héllo', d: 1.5, i: 42, l: B.Long.fromString('9007199254740993'), b: true, n: null, o: { x: [1, 'two', { y: 3 }] }, bin: new B.Binary(Buffer.from([1, 2, 3])), oid: new B.ObjectId(), re: /a+b/i, dt: new Date(0) });
  const names: string[] = [];
  assert.equal(
    walk(doc, 0, doc.length, (e) => {
      names.push(Buffer.from(doc.subarray(e.nameStart, e.nameEnd)).toString());
      return true;
    }),
    WALK_OK,
  );
  assert.deepEqual(names, ['s', 'd', 'i', 'l', 'b', 'n', 'o', 'bin', 'oid', 're', 'dt']);
  assert.equal(shape(doc, 0, doc.length, 8, 8192), '{s: ?, d: ?, i: ?, l: ?, b: ?, n: ?, o: {x: [?, {y: ?}]}, bin: ?, oid: ?, re: ?, dt: ?}');
});
