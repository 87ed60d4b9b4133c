/**
 * Ground truth for the Redis decoder: a real redis-server (Debian's) in one
 * network namespace, a Node client of the test's own (net, its own RESP
 * reader) in another, tcpdump on the wire. The client logs each command it
 * sent and each reply it got (type, value as text, when it sent the
 * command's last byte and when the reply's first byte came), and each
 * message pushed to its subscribed connection:
 * - one connection: PING, SET, GET, INCR, an error reply (INCR of a
 *   string), MULTI/SET/INCR/EXEC, five commands pipelined in one write, an
 *   inline PING, DEBUG SLEEP 0.2 (enabled on this server) and BLPOP with a
 *   0.3 s timeout (known server-side delays), PUBLISH, then HELLO 3 and a
 *   RESP3 map reply;
 * - a second connection: SUBSCRIBE of two channels, the published message,
 *   UNSUBSCRIBE;
 * - a third, to the same server on port 7379 (found by its bytes).
 * The decoded records must equal the log: command, argument count, reply
 * type and value, success, the messages with their channel; latency at
 * least the known delay and no more than the client waited. Skipped, with
 * the reason, when not root or when ip, tcpdump or redis-server is missing
 * (.ci/run installs them).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeTempDir } from './_capture-helpers.js';
import { run } from './_cli.js';
import { NetnsPair, SERVER_V4 } from './_netns.js';

const CLIENT = String.raw`
const net = require('node:net');
const now = () => Number(process.hrtime.bigint()) / 1e6;
const log = (o) => process.stdout.write(JSON.stringify(o) + '\n');
// a RESP reader of its own: values as { t: type byte, v: value }
function parse(buf, p) {
  const nl = buf.indexOf('\r\n', p, 'latin1');
  if (nl < 0) return null;
  const t = String.fromCharCode(buf[p]);
  const line = buf.toString('latin1', p + 1, nl);
  let q = nl + 2;
  if ('+-:,(_#'.includes(t)) return { val: { t, v: line }, end: q };
  if (t === '$' || t === '!' || t === '=') {
    const n = Number(line);
    if (n < 0) return { val: { t, v: null }, end: q };
    if (buf.length < q + n + 2) return null;
    return { val: { t, v: buf.toString('utf8', q, q + n) }, end: q + n + 2 };
  }
  if ('*%~>'.includes(t)) {
    const n = Number(line);
    if (n < 0) return { val: { t, v: null }, end: q };
    const items = [];
    for (let i = 0; i < (t === '%' ? 2 * n : n); i++) {
      const r = parse(buf, q);
      if (r === null) return null;
      items.push(r.val);
      q = r.end;
    }
    return { val: { t, v: items }, end: q };
  }
  throw new Error('bad type ' + t);
}
// the value as the redis record writes reply_value
function text(x) {
  if (x.v === null) return '';
  if (Array.isArray(x.v)) {
    if (x.t === '%') { const kv = []; for (let i = 0; i < x.v.length; i += 2) kv.push(text(x.v[i]) + ': ' + text(x.v[i + 1])); return '{' + kv.join(', ') + '}'; }
    return (x.t === '~' ? '{' : '[') + x.v.map(text).join(', ') + (x.t === '~' ? '}' : ']');
  }
  return x.t === '#' ? (x.v === 't' ? 'T' : 'F') : x.v;
}
const TYPES = { '+': 'simple_string', '-': 'error', ':': 'integer', '$': 'bulk_string', '*': 'array', '%': 'map', '_': 'null', '>': 'push', '~': 'set', ',': 'double', '#': 'boolean' };
function typeName(x) { return x.v === null && x.t === '$' ? 'null_bulk_string' : x.v === null && x.t === '*' ? 'null_array' : TYPES[x.t]; }
const enc = (words) => '*' + words.length + '\r\n' + words.map((w) => '$' + Buffer.byteLength(w) + '\r\n' + w + '\r\n').join('');
function connect(port, conn) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '${SERVER_V4}', port }, () => {
      let buf = Buffer.alloc(0);
      const waiting = [];
      let chunkAt = 0;
      let start = -1;
      s.on('data', (d) => {
        chunkAt = now();
        buf = Buffer.concat([buf, d]);
        for (;;) {
          if (buf.length === 0) break;
          if (start < 0) start = chunkAt;
          const r = parse(buf, 0);
          if (r === null) break;
          buf = buf.subarray(r.end);
          const first = start;
          start = -1;
          const x = r.val;
          const isMsg = (x.t === '>' || (x.t === '*' && sub.on)) && Array.isArray(x.v) && ['message', 'pmessage'].includes(String(x.v[0] && x.v[0].v));
          if (isMsg) { log({ conn, port: s.localPort, kind: 'message', channel: x.v[1].v, value: text(x), type: typeName(x) }); continue; }
          const w = waiting.shift();
          if (w) w(x, first);
        }
      });
      const sub = { on: false };
      const send = (raw, cmds) => new Promise((res) => {
        const sent = now();
        s.write(raw);
        let left = cmds.length;
        for (const c of cmds) waiting.push((x, first) => {
          log({ conn, port: s.localPort, kind: 'command', cmd: c[0].toUpperCase(), args: c.length - 1, type: typeName(x), value: text(x), success: x.t !== '-' && x.t !== '!', sentMs: sent, firstByteMs: first, delay: c.delay || 0 });
          if (--left === 0) res();
        });
      });
      resolve({ s, send, sub, cmd: (...words) => send(enc(words), [words]) });
    });
  });
}
(async () => {
  const a = await connect(6379, 'main');
  const b = await connect(6379, 'sub');
  await a.cmd('PING');
  await a.cmd('SET', 'user:1001:name', 'ada');
  await a.cmd('GET', 'user:1001:name');
  await a.cmd('INCR', 'visits');
  await a.cmd('INCR', 'user:1001:name');
  await a.send(enc(['MULTI']) + enc(['SET', 'k', '1']) + enc(['INCR', 'k']) + enc(['EXEC']), [['MULTI'], ['SET', 'k', '1'], ['INCR', 'k'], ['EXEC']]);
  const pipe = [['SET', 'p:1', 'a'], ['SET', 'p:2', 'b'], ['MGET', 'p:1', 'p:2', 'p:3'], ['DEL', 'p:1'], ['EXISTS', 'p:1', 'p:2']];
  await a.send(pipe.map(enc).join(''), pipe);
  await a.send('PING\r\n', [['PING']]);
  const sleep = ['DEBUG', 'SLEEP', '0.2'];
  sleep.delay = 200;
  await a.send(enc(sleep), [sleep]);
  const blpop = ['BLPOP', 'empty:list', '0.3'];
  blpop.delay = 300;
  await a.send(enc(blpop), [blpop]);
  // the subscriber: two channels, two confirmations for one command
  const subscribed = new Promise((res) => { b.send(enc(['SUBSCRIBE', 'news', 'sport']), [['SUBSCRIBE', 'news', 'sport']]).then(res); });
  b.sub.on = true;
  await subscribed;
  await a.cmd('PUBLISH', 'news', 'hello subscribers');
  await new Promise((r) => setTimeout(r, 100));
  await b.send(enc(['UNSUBSCRIBE', 'news', 'sport']), [['UNSUBSCRIBE', 'news', 'sport']]);
  b.sub.on = false;
  await a.cmd('HELLO', '3');
  await a.cmd('HGETALL', 'nohash');
  await a.cmd('HSET', 'h', 'f', 'v');
  await a.cmd('HGETALL', 'h');
  const c = await connect(7379, 'otherport');
  await c.cmd('GET', 'user:1001:name');
  for (const x of [a, b, c]) x.s.end();
  await new Promise((r) => setTimeout(r, 200));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const net = new NetnsPair('r', ['redis-server']);
let tmp = '';
let cleanup = (): void => {};

before(() => {
  ({ dir: tmp, cleanup } = makeTempDir('netns-redis-'));
});

after(() => {
  net.close();
  cleanup();
});

interface Logged {
  conn: string;
  port: number;
  kind: 'command' | 'message';
  cmd?: string;
  args?: number;
  type: string;
  value: string;
  success?: boolean;
  channel?: string;
  sentMs?: number;
  firstByteMs?: number;
  delay?: number;
}

test('Redis decoded from a real redis-server and client equals the client\'s log: commands, replies, errors, MULTI/EXEC, pipelining, pub/sub, RESP3, and the server\'s delays as latencies', async (t) => {
  if (net.skip) return t.skip(net.skip);
  const pcap = join(tmp, 'redis.pcap');
  const common = ['--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes', '--bind', SERVER_V4, '--protected-mode', 'no', '--dir', tmp];
  await net.start(net.server, ['redis-server', '--port', '6379', ...common], /Ready to accept connections/);
  await net.start(net.server, ['redis-server', '--port', '7379', '--dbfilename', 'other.rdb', ...common], /Ready to accept connections/);
  const stop = await net.capture(pcap, ['tcp']);
  const c = net.exec(net.client, [process.execPath, '-e', CLIENT]);
  await stop();
  assert.equal(c.status, 0, c.stderr);
  const logged = c.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Logged);
  assert.equal(logged.filter((l) => l.kind === 'command').length, 25, c.stdout + c.stderr);

  const r = run('tcpanalyze', ['--decode', 'redis', '--format', 'ndjson', pcap]);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const redis = recs.filter((x) => x['record'] === 'redis');
  const commands = redis.filter((x) => x['trans_depth'] !== null);
  const messages = redis.filter((x) => x['state'] === 'message');
  assert.equal(commands.length, logged.filter((l) => l.kind === 'command').length);
  assert.deepEqual(
    messages.map((m) => [m['orig_p'], m['channel'], m['reply_value']]),
    logged.filter((l) => l.kind === 'message').map((l) => [l.port, l.channel, l.value]),
  );
  const byPort = new Map<number, Record<string, unknown>[]>();
  for (const h of commands) byPort.set(Number(h['orig_p']), [...(byPort.get(Number(h['orig_p'])) ?? []), h]);
  for (const l of byPort.values()) l.sort((x, y) => (x['trans_depth'] as number) - (y['trans_depth'] as number));
  const seen = new Map<number, number>();
  for (const l of logged.filter((x) => x.kind === 'command')) {
    const k = seen.get(l.port) ?? 0;
    seen.set(l.port, k + 1);
    const h = byPort.get(l.port)?.[k];
    const what = `${l.conn} ${l.cmd} (#${k + 1})`;
    assert.ok(h, `no record for ${what}`);
    assert.deepEqual([h['cmd_name'], h['args'], h['reply_type'], h['reply_value'], h['cmd_success'], h['state'], h['failed']], [l.cmd, l.args, l.type, l.value, l.success, 'complete', !l.success], what);
    const lat = h['latency_ms'] as number;
    if (l.delay) t.diagnostic(`${what}: latency ${lat} ms, the client waited ${(l.firstByteMs! - l.sentMs!).toFixed(3)} ms, the server's delay ${l.delay} ms`);
    assert.ok(lat >= (l.delay ?? 0), `${what}: latency ${lat} ms < the server's ${l.delay} ms`);
    assert.ok(lat <= l.firstByteMs! - l.sentMs! + 1, `${what}: latency ${lat} ms > the ${(l.firstByteMs! - l.sentMs!).toFixed(3)} ms the client waited`);
  }
  const main = byPort.get(logged.find((l) => l.conn === 'main')!.port)!;
  assert.deepEqual(main.filter((x) => x['queued']).map((x) => x['cmd_name']), ['SET', 'INCR']);
  assert.equal(main.find((x) => x['cmd_name'] === 'INCR' && x['cmd_success'] === false)!['error_prefix'], 'ERR');
  assert.equal(main.find((x) => x['cmd_name'] === 'GET')!['key_pattern'], 'user:?:name');
  assert.equal(main.find((x) => x['inline'] === true)!['cmd_name'], 'PING');
  const sub = byPort.get(logged.find((l) => l.conn === 'sub')!.port)!;
  assert.deepEqual(sub.map((x) => x['replies']), [2, 2]);
  // the connection to port 7379 was recognised by its bytes
  const other = recs.find((x) => x['record'] === 'conn' && x['resp_p'] === 7379)!;
  assert.deepEqual([other['service'], other['transactions']], ['redis', 1]);
});
