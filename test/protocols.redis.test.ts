/**
 * The Redis decoder on crafted conversations: pipelining, inline commands
 * and Redis's quoting rules, MULTI/EXEC, pub/sub in RESP2 and RESP3, CLIENT
 * REPLY OFF/ON/SKIP, RESP3 types and attributes, errors; capture gaps;
 * bounds (pending commands, huge bulk strings, deep nesting, length lies)
 * and the sniff (strict on both sides, no false positives on random bytes
 * or other protocols' openings).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER, Sniff, type AppContext, type DecoderLimits, type Side } from '../src/protocols/decoder.js';
import type { RecordValues } from '../src/records/schema.js';
import { REDIS } from '../src/protocols/redis.js';
import { keyPattern } from '../src/protocols/redis-commands.js';
import { seeded } from './_l7-helpers.js';

interface Run {
  records: RecordValues[];
  failed: boolean[];
  stops: string[];
  weird: string[];
  confirmed: boolean;
}

type Step = { side: Side; bytes: string | Uint8Array; t?: number } | { side: Side; gap: number };

/** Feeds the steps (each at its own millisecond unless `t` says) and ends the connection. */
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
  const d = REDIS.stream!(ctx, { ...DEFAULT_DECODER_LIMITS, ...limits });
  let ms = 0;
  for (const s of steps) {
    ms++;
    if ('gap' in s) d.gap(s.side, s.gap, 1000, ms * 1e6);
    else {
      const b = typeof s.bytes === 'string' ? Buffer.from(s.bytes, 'latin1') : s.bytes;
      const t = s.t ?? ms;
      d.data(s.side, b, 0, b.length, 1000 + Math.floor(t / 1000), (t % 1000) * 1e6);
    }
  }
  d.end(CLIENT, 1001, 0);
  d.end(SERVER, 1001, 0);
  d.finish(1001, 0);
  return out;
}

/** A command as a RESP array of bulk strings. */
const cmd = (...words: string[]): string => `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`;
const c = (bytes: string | Uint8Array, t?: number): Step => ({ side: CLIENT, bytes, ...(t !== undefined ? { t } : {}) });
const s = (bytes: string | Uint8Array, t?: number): Step => ({ side: SERVER, bytes, ...(t !== undefined ? { t } : {}) });
const pick = (r: RecordValues, ...f: string[]): unknown[] => f.map((k) => r[k]);

test('pipelined commands pair with their replies in order, timed from the end of each command', () => {
  const r = run([c(cmd('SET', 'user:123:cart', 'x') + cmd('GET', 'user:123:cart') + cmd('INCR', 'n'), 10), s('+OK\r\n$1\r\nx\r\n:5\r\n', 25)]);
  assert.deepEqual(r.records.map((x) => pick(x, 'trans_depth', 'cmd_name', 'cmd_key', 'cmd_value', 'reply_value', 'reply_type', 'state')), [
    [1, 'SET', 'user:123:cart', 'x', 'OK', 'simple_string', 'complete'],
    [2, 'GET', 'user:123:cart', null, 'x', 'bulk_string', 'complete'],
    [3, 'INCR', 'n', null, '5', 'integer', 'complete'],
  ]);
  assert.equal(r.records[0]!['key_pattern'], 'user:?:cart');
  assert.equal(r.records[0]!['args'], 2);
  assert.equal(r.records[0]!['request_bytes'], cmd('SET', 'user:123:cart', 'x').length);
  assert.equal(r.records[0]!['latency_ms'], 15);
  assert.equal(r.records[1]!['reply_bytes'], 7);
  assert.ok(r.confirmed);
  assert.deepEqual(r.failed, [false, false, false]);
});

test('an error reply fails its command, with its prefix; a command without reply fails as unanswered', () => {
  const r = run([c(cmd('LPUSH', 'k', 'v') + cmd('GET', 'k') + cmd('PING')), s('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:1\r\n')]);
  assert.deepEqual(r.records.map((x) => pick(x, 'cmd_name', 'cmd_success', 'error_prefix', 'state')), [
    ['LPUSH', false, 'WRONGTYPE', 'complete'],
    ['GET', true, null, 'complete'],
    ['PING', null, null, 'unanswered'],
  ]);
  assert.deepEqual(r.failed, [true, false, true]);
  assert.equal(r.records[0]!['reply_value'], 'WRONGTYPE Operation against a key holding the wrong kind of value');
});

test('inline commands are split as Redis splits them; an unbalanced quote is a protocol error', () => {
  const r = run([
    c('PING\r\nSET k "a \\"b\\" \\x41\\n" \r\nSET k2 \'it\\\'s\'\r\n  \r\nECHO "x"y\r\nGET k\n'),
    s('+PONG\r\n+OK\r\n+OK\r\n-ERR Protocol error: unbalanced quotes in request\r\n'),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'cmd_name', 'cmd_value', 'inline', 'args', 'state', 'problem')), [
    ['PING', null, true, 0, 'complete', null],
    ['SET', 'a "b" A\n', true, 2, 'complete', null],
    ['SET', "it's", true, 2, 'complete', null],
    ['ECHO', null, true, 1, 'invalid', 'unbalanced quotes in inline command'],
    ['GET', null, true, 1, 'unanswered', 'no reply before the connection ended'],
  ]);
  assert.equal(r.records[1]!['cmd_key'], 'k');
  assert.deepEqual(r.failed, [false, false, false, true, true]);
});

test('MULTI ... EXEC: the commands between are queued, EXEC gets the array of their results', () => {
  const r = run([c(cmd('MULTI') + cmd('INCR', 'a') + cmd('GET', 'b') + cmd('EXEC')), s('+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n$-1\r\n')]);
  assert.deepEqual(r.records.map((x) => pick(x, 'cmd_name', 'queued', 'reply_value', 'reply_elements')), [
    ['MULTI', false, 'OK', null],
    ['INCR', true, 'QUEUED', null],
    ['GET', true, 'QUEUED', null],
    ['EXEC', false, '[1, ]', 2],
  ]);
});

test('RESP2 pub/sub: confirmations answer SUBSCRIBE, messages are messages, PING still pairs', () => {
  const r = run([
    c(cmd('SUBSCRIBE', 'news', 'sport')),
    s('*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n'),
    s('*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n'),
    c(cmd('PSUBSCRIBE', 'n*')),
    s('*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n'),
    c(cmd('PING')),
    s('*2\r\n$4\r\npong\r\n$0\r\n\r\n'),
    c(cmd('UNSUBSCRIBE')),
    s('*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$5\r\nsport\r\n:1\r\n'),
    c(cmd('PUNSUBSCRIBE')),
    s('*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:0\r\n'),
    c(cmd('LRANGE', 'l', '0', '-1')),
    s('*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n'),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'cmd_name', 'state', 'replies', 'channel', 'reply_value')), [
    ['SUBSCRIBE', 'complete', 2, null, '[subscribe, news, 1]'],
    [null, 'message', null, 'news', '[message, news, hello]'],
    ['PSUBSCRIBE', 'complete', 1, null, '[psubscribe, n*, 3]'],
    [null, 'message', null, 'news', '[pmessage, n*, news, hi]'],
    ['PING', 'complete', 1, null, '[pong, ]'],
    ['UNSUBSCRIBE', 'complete', 2, null, '[unsubscribe, news, 2]'],
    ['PUNSUBSCRIBE', 'complete', 1, null, '[punsubscribe, n*, 0]'],
    ['LRANGE', 'complete', 1, null, '[message, a, b]'],
  ]);
  assert.ok(r.failed.every((f) => !f));
});

test('RESP3: HELLO 3, pushes between replies, attributes, maps, sets, doubles, booleans, nulls, big numbers', () => {
  const r = run([
    c(cmd('HELLO', '3') + cmd('SUBSCRIBE', 'c') + cmd('GET', 'x') + cmd('HGETALL', 'h') + cmd('SMEMBERS', 's') + cmd('X')),
    s('%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n'),
    s('>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n|1\r\n+ttl\r\n:5\r\n_\r\n'),
    s('%2\r\n+a\r\n,1.5\r\n+b\r\n#t\r\n~2\r\n(12345678901234567890\r\n=7\r\ntxt:abc\r\n!9\r\nERR boom!\r\n'),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'cmd_name', 'state', 'reply_type', 'reply_value', 'reply_elements')), [
    ['HELLO', 'complete', 'map', '{server: redis, proto: 3}', 2],
    ['SUBSCRIBE', 'complete', 'push', '[subscribe, c, 1]', 3],
    [null, 'message', 'push', '[message, c, hi]', 3],
    ['GET', 'complete', 'null', '', null],
    ['HGETALL', 'complete', 'map', '{a: 1.5, b: T}', 2],
    ['SMEMBERS', 'complete', 'set', '{12345678901234567890, txt:abc}', 2],
    ['X', 'complete', 'bulk_error', 'ERR boom!', null],
  ]);
  assert.equal(r.records[6]!['error_prefix'], 'ERR');
  assert.equal(r.records[6]!['cmd_success'], false);
});

test('CLIENT REPLY OFF, ON and SKIP: commands that get no reply do not shift the pairing', () => {
  const r = run([
    c(cmd('PING') + cmd('CLIENT', 'REPLY', 'OFF') + cmd('SET', 'a', '1') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('CLIENT', 'REPLY', 'ON')),
    c(cmd('GET', 'a') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('GET', 'b') + cmd('GET', 'c')),
    s('+PONG\r\n+OK\r\n$1\r\n1\r\n$1\r\nc\r\n'),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'cmd_name', 'cmd_key', 'state', 'reply_value')), [
    ['PING', null, 'complete', 'PONG'],
    ['CLIENT', null, 'no_reply', null],
    ['SET', 'a', 'no_reply', null],
    ['CLIENT', null, 'no_reply', null],
    ['CLIENT', null, 'complete', 'OK'],
    ['GET', 'a', 'complete', '1'],
    ['CLIENT', null, 'no_reply', null],
    ['GET', 'b', 'no_reply', null],
    ['GET', 'c', 'complete', 'c'],
  ]);
  assert.ok(r.failed.every((f) => !f));
});

test('a 2^63 bulk length is invalid; a 500 MB bulk string is counted, never kept; its text is cut', () => {
  const r = run([c(cmd('GET', 'big') + cmd('GET', 'bad')), s('$500000000\r\n'), s(new Uint8Array(1 << 20).fill(0x61)), { side: SERVER, gap: 500000000 - (1 << 20) }, s('\r\n$9223372036854775808\r\n')]);
  assert.deepEqual(r.records.map((x) => pick(x, 'cmd_name', 'state', 'reply_bytes')), [
    ['GET', 'incomplete', 500000014],
    ['GET', 'invalid', null],
  ]);
  assert.equal((r.records[0]!['reply_value'] as string).length, 8192);
  assert.equal(r.records[1]!['problem'], 'reply: bulk length out of range');
  // with the whole payload seen, the value is complete
  const big = run([c(cmd('GET', 'big')), s(`$${3 << 20}\r\n`), s(new Uint8Array(3 << 20).fill(0x62)), s('\r\n')]);
  assert.equal(big.records[0]!['state'], 'complete');
  assert.equal(big.records[0]!['reply_bytes'], (3 << 20) + 12);
});

test('a million nested arrays cost nothing: past 64 levels the reply is invalid', () => {
  const deep = '*1\r\n'.repeat(1_000_000);
  const t0 = process.hrtime.bigint();
  const r = run([c(cmd('GET', 'x') + cmd('PING')), s(deep + ':1\r\n'), s('+PONG\r\n')]);
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 2000);
  // the rest of the nesting is hunted through: what follows may pair wrongly, but costs nothing
  assert.deepEqual(pick(r.records[0]!, 'cmd_name', 'state', 'problem'), ['GET', 'invalid', 'reply: aggregates nested over 64 deep']);
  assert.ok(r.records.length <= 3);
});

test('over maxPending waiting commands the oldest is written without its reply, and the pairing stays in step', () => {
  const many = Array.from({ length: 12 }, (_, i) => cmd('GET', `k${i}`)).join('');
  const replies = Array.from({ length: 12 }, (_, i) => `$${String(i).length}\r\n${i}\r\n`).join('');
  const r = run([c(many), s(replies)], { maxPending: 5 });
  assert.equal(r.records.length, 12);
  const byKey = new Map(r.records.map((x) => [x['cmd_key'], x]));
  for (let i = 0; i < 7; i++) assert.equal(byKey.get(`k${i}`)!['state'], 'incomplete');
  for (let i = 7; i < 12; i++) assert.deepEqual(pick(byKey.get(`k${i}`)!, 'state', 'reply_value'), ['complete', String(i)]);
  assert.ok(r.weird.includes('excessive pipelining'));
});

test('capture gaps: inside a bulk string the pairing holds; between messages one command or reply is taken as lost', () => {
  const r = run([
    c(cmd('SET', 'a', 'x'.repeat(100)).slice(0, 30)),
    { side: CLIENT, gap: 50 },
    c(cmd('SET', 'a', 'x'.repeat(100)).slice(80)),
    c(cmd('GET', 'a')),
    { side: CLIENT, gap: 20 },
    c(cmd('GET', 'c')),
    s('+OK\r\n'),
    { side: SERVER, gap: 7 },
    s('$1\r\nc\r\n'),
  ]);
  assert.deepEqual(r.records.map((x) => pick(x, 'trans_depth', 'cmd_name', 'state', 'problem', 'reply_value')), [
    [1, 'SET', 'incomplete', null, 'OK'],
    [2, 'GET', 'incomplete', 'reply lost in a capture gap', null],
    [3, null, 'incomplete', 'command lost in a capture gap', 'c'],
    [4, 'GET', 'unanswered', 'no reply before the connection ended', null],
  ]);
});

test('after a gap mid-message the side resynchronises at the next message', () => {
  const r = run([c(cmd('SET', 'k', 'v').slice(0, 9)), { side: CLIENT, gap: 5 }, c('v\r\n' + cmd('GET', 'k')), s('+OK\r\n$1\r\nv\r\n')]);
  assert.deepEqual(r.records.map((x) => pick(x, 'cmd_name', 'state', 'reply_value')), [
    [null, 'incomplete', 'OK'],
    ['GET', 'complete', 'v'],
  ]);
});

test('bytes that are not RESP stop the decoder without records', () => {
  const r = run([c('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), s('HTTP/1.1 200 OK\r\n\r\n')]);
  assert.equal(r.records.length, 0);
  assert.ok(!r.confirmed);
  const t = run([c('\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03'), s('\x16\x03\x03\x00\x5d\x02')]);
  assert.equal(t.records.length, 0);
  assert.ok(!t.confirmed);
});

test('key patterns fold runs of digits', () => {
  assert.equal(keyPattern('user:123:cart'), 'user:?:cart');
  assert.equal(keyPattern('session:9f3e:42'), 'session:?f?e:?');
  assert.equal(keyPattern('plain'), 'plain');
  assert.equal(keyPattern(null), null);
});

const sniff = (x: string): number => {
  const b = Buffer.from(x, 'latin1');
  return REDIS.sniff!(b, 0, Math.min(b.length, 64));
};

test('the sniff recognises RESP commands and replies, inline commands, and needs more bytes when cut', () => {
  assert.equal(sniff(cmd('GET', 'k')), Sniff.CLIENT);
  assert.equal(sniff(cmd('JSON.GET', 'k')), Sniff.CLIENT);
  assert.equal(sniff('*2\r\n$3\r\nGE'), Sniff.MORE);
  assert.equal(sniff('PING\r\n'), Sniff.CLIENT);
  assert.equal(sniff('set k v\r\n'), Sniff.CLIENT);
  assert.equal(sniff('+OK\r\n'), Sniff.SERVER);
  assert.equal(sniff('-ERR unknown command\r\n'), Sniff.SERVER);
  assert.equal(sniff(':12\r\n'), Sniff.SERVER);
  assert.equal(sniff('$-1\r\n'), Sniff.SERVER);
  assert.equal(sniff('*2\r\n$1\r\n'), Sniff.MORE);
  assert.equal(sniff('%7\r\n$6\r\nserver'), Sniff.SERVER);
});

test('the sniff refuses other protocols\' openings and random bytes', () => {
  for (const x of [
    'GET / HTTP/1.1\r\nHost: example.org\r\n\r\n', 'HTTP/1.1 200 OK\r\n', '+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n',
    '* OK IMAP4rev1 Service Ready\r\n', '220 smtp.example.org ESMTP\r\n', 'SSH-2.0-OpenSSH_9.2\r\n', 'USER bob\r\n', '-ERR\r\n', '$abc\r\n',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', '*1\r\n$3\r\n\x00\x01\x02\r\n', ':1.5\r\n', '*3\r\nfoo', 'PINGX\r\n', 'PING \x01\r\n',
  ]) assert.equal(sniff(x), Sniff.NO, JSON.stringify(x));
  const rnd = seeded(16);
  let hits = 0;
  for (let i = 0; i < 20000; i++) {
    const b = new Uint8Array(64);
    for (let k = 0; k < 64; k++) b[k] = Math.floor(rnd() * 256);
    const v = REDIS.sniff!(b, 0, 64);
    if (v === Sniff.CLIENT || v === Sniff.SERVER) hits++;
  }
  assert.equal(hits, 0);
});

test('random bytes on both sides never throw and stay bounded', () => {
  const rnd = seeded(7);
  const alphabet = Buffer.from('*$+-:_#,(!=%~>|0123456789\r\n\r\n-1 abcPINGSET"\'\\x');
  for (let k = 0; k < 300; k++) {
    const steps: Step[] = [];
    for (let i = 0; i < 20; i++) {
      const b = new Uint8Array(1 + Math.floor(rnd() * 200));
      for (let j = 0; j < b.length; j++) b[j] = alphabet[Math.floor(rnd() * alphabet.length)]!;
      steps.push(rnd() < 0.1 ? { side: rnd() < 0.5 ? CLIENT : SERVER, gap: 1 + Math.floor(rnd() * 100) } : { side: rnd() < 0.5 ? CLIENT : SERVER, bytes: b });
    }
    const r = run(steps, { maxPending: 50 });
    assert.ok(r.records.length <= 20 * 200);
  }
});
