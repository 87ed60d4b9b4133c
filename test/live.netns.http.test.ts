/**
 * HTTP ground truth: a real HTTP server (Node's http module, llhttp) and a
 * client in two network namespaces, captured with tcpdump on the wire; the
 * client logs each request it sent and each response it got (its own
 * parser: Node's http client, and for the pipelined connection the byte
 * counts of responses whose length the client knows). `tcpanalyze --decode
 * http` on the capture must give the same requests, status codes and body
 * sizes in the same order, the server's injected delays as latencies, and
 * the 100 Continue, HEAD, chunked, gzip, error, pipelined and
 * non-standard-port cases right. Skipped, with the reason, when not root or
 * without ip and tcpdump.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeTempDir } from './_capture-helpers.js';
import { run } from './_cli.js';
import { NetnsPair, SERVER_V4 } from './_netns.js';

const SERVER = `
const http = require('http'), zlib = require('zlib');
const handler = (q, r) => {
  const u = new URL(q.url, 'http://x');
  let n = 0;
  q.on('data', (c) => (n += c.length));
  q.on('end', () => setTimeout(() => {
    const send = (code, body, headers = {}) => { r.writeHead(code, { 'content-length': body.length, ...headers }); r.end(q.method === 'HEAD' ? undefined : body); };
    switch (u.pathname) {
      case '/chunked': r.writeHead(200, { 'content-type': 'text/plain' }); for (let i = 0; i < 5; i++) r.write('x'.repeat(1000)); r.end(); return;
      case '/gzip': return send(200, zlib.gzipSync(Buffer.alloc(20000, 121)), { 'content-encoding': 'gzip' });
      case '/err': return send(503, Buffer.from('busy'));
      case '/missing': return send(404, Buffer.alloc(0));
      case '/big': return send(200, Buffer.alloc(300000, 97));
      default: return send(200, Buffer.from('ok:' + n));
    }
  }, Number(u.searchParams.get('delay') ?? 0)));
};
let up = 0;
for (const port of [8080, 5000]) http.createServer(handler).listen(port, '0.0.0.0', () => { if (++up === 2) console.log('listening'); });
`;

/** Logs {conn, port, method, path, status, info, bodyLen, sentMs, firstByteMs, delay} per request, as JSON lines. */
const CLIENT = `
const http = require('http'), net = require('net'), zlib = require('zlib');
const log = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const now = () => Number(process.hrtime.bigint()) / 1e6;
async function keepAlive() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const reqs = [['GET', '/fast'], ['GET', '/slow?delay=200'], ['GET', '/chunked'], ['GET', '/gzip'], ['GET', '/err'], ['GET', '/missing'], ['HEAD', '/fast'], ['POST', '/upload', 1234], ['GET', '/big'], ['GET', '/slow?delay=120']];
  for (const [method, path, bodyLen] of reqs) {
    await new Promise((resolve, reject) => {
      const headers = bodyLen ? { 'content-length': bodyLen, expect: '100-continue' } : {};
      const q = http.request({ host: '${SERVER_V4}', port: 8080, method, path, agent, headers });
      // sent: when the last byte was handed to the socket (an upper bound for the wire latency)
      let sent = 0, info = null, first = 0;
      q.on('continue', () => { info = 100; sent = now(); q.end(Buffer.alloc(bodyLen, 122)); });
      q.on('response', (r) => {
        first = now();
        const port = r.socket.localPort;
        const parts = [];
        r.on('data', (c) => parts.push(c));
        r.on('end', () => {
          let b = Buffer.concat(parts);
          if (r.headers['content-encoding'] === 'gzip') b = zlib.gunzipSync(b);
          log({ conn: 'keepalive', port, method, path, status: r.statusCode, info, bodyLen: b.length, sentMs: sent, firstByteMs: first, delay: Number(new URL(path, 'http://x').searchParams.get('delay') ?? 0) });
          resolve();
        });
      });
      q.on('error', reject);
      if (!bodyLen) { sent = now(); q.end(); }
    });
  }
  agent.destroy();
}
async function pipelined() {
  // five requests written at once; each response is Content-Length framed, so its end is known
  const paths = ['/p1?delay=30', '/p2', '/p3?delay=60', '/err', '/p5'];
  const s = net.connect(8080, '${SERVER_V4}');
  await new Promise((r) => s.once('connect', r));
  const t0 = now();
  s.write(paths.map((p) => 'GET ' + p + ' HTTP/1.1\\r\\nHost: ${SERVER_V4}\\r\\n\\r\\n').join(''));
  let buf = Buffer.alloc(0), i = 0;
  await new Promise((resolve) => {
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const he = buf.indexOf('\\r\\n\\r\\n');
        if (he < 0) return;
        const head = buf.subarray(0, he).toString('latin1');
        const len = Number(/content-length: (\\d+)/i.exec(head)[1]);
        if (buf.length < he + 4 + len) return;
        log({ conn: 'pipelined', port: s.localPort, method: 'GET', path: paths[i], status: Number(head.split(' ')[1]), info: null, bodyLen: len, sentMs: t0, firstByteMs: now(), delay: Number(new URL(paths[i], 'http://x').searchParams.get('delay') ?? 0) });
        buf = buf.subarray(he + 4 + len);
        if (++i === paths.length) { s.end(); resolve(); return; }
      }
    });
  });
}
async function otherPort() {
  await new Promise((resolve) => http.get({ host: '${SERVER_V4}', port: 5000, path: '/elsewhere' }, (r) => { const t = now(); const port = r.socket.localPort; let n = 0; r.on('data', (c) => (n += c.length)); r.on('end', () => { log({ conn: 'port5000', port, method: 'GET', path: '/elsewhere', status: r.statusCode, info: null, bodyLen: n, sentMs: t, firstByteMs: t, delay: 0 }); resolve(); }); }));
}
(async () => { await keepAlive(); await pipelined(); await otherPort(); })().catch((e) => { console.error(e); process.exit(1); });
`;

const net = new NetnsPair('h');
let tmp = '';
let cleanup = (): void => {};

before(() => {
  ({ dir: tmp, cleanup } = makeTempDir('netns-http-'));
});

after(() => {
  net.close();
  cleanup();
});

interface Logged {
  conn: string;
  port: number;
  method: string;
  path: string;
  status: number;
  info: number | null;
  bodyLen: number;
  sentMs: number;
  firstByteMs: number;
  delay: number;
}

test('HTTP decoded from a real server and client equals the client\'s own log: requests, status codes, body sizes, 100 Continue, pipelining, a non-standard port, and the server\'s delays as latencies', async (t) => {
  if (net.skip) return t.skip(net.skip);
  const pcap = join(tmp, 'http.pcap');
  await net.start(net.server, [process.execPath, '-e', SERVER], /listening/);
  const stop = await net.capture(pcap, ['tcp']);
  const c = net.exec(net.client, [process.execPath, '-e', CLIENT]);
  await stop();
  assert.equal(c.status, 0, c.stderr);
  const logged = c.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Logged);
  assert.equal(logged.length, 16, c.stdout + c.stderr);

  const r = run('tcpanalyze', ['--decode', 'http', '--format', 'ndjson', pcap]);
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const http = recs.filter((x) => x['record'] === 'http');
  assert.equal(http.length, logged.length);

  const byPort = new Map<number, Record<string, unknown>[]>();
  for (const h of http) byPort.set(Number(h['orig_p']), [...(byPort.get(Number(h['orig_p'])) ?? []), h]);
  const seen = new Map<number, number>();
  for (const l of logged) {
    const k = seen.get(l.port) ?? 0;
    seen.set(l.port, k + 1);
    const h = byPort.get(l.port)?.[k];
    assert.ok(h, `no record for ${l.conn} ${l.method} ${l.path}`);
    const what = `${l.conn} ${l.method} ${l.path}`;
    assert.deepEqual(
      [h['method'], h['request_uri'], h['status_code'], h['info_code'], h['response_body_len'], h['state'], h['failed']],
      [l.method, l.path, l.status, l.info, l.bodyLen, 'complete', l.status >= 400],
      what,
    );
    if (l.method === 'POST') assert.equal(h['request_body_len'], 1234, what);
    // the server's delay is in the latency, and the latency is no more than the client waited (no upper
    // bound of its own: on a busy machine the server may answer late)
    const lat = h['latency_ms'] as number;
    assert.ok(lat >= l.delay, `${what}: latency ${lat} ms < injected ${l.delay} ms`);
    if (l.conn === 'keepalive') assert.ok(lat <= l.firstByteMs - l.sentMs + 1, `${what}: latency ${lat} ms > the ${(l.firstByteMs - l.sentMs).toFixed(3)} ms the client waited`);
  }
  // the pipelined requests all started before the first response
  const pipe = byPort.get(logged.find((l) => l.conn === 'pipelined')!.port)!;
  assert.ok(pipe.every((p) => String(p['ts']) < String(pipe[0]!['response_ts'])));
  // the connection on port 5000 was recognised by its bytes
  const other = recs.find((x) => x['record'] === 'conn' && x['resp_p'] === 5000)!;
  assert.deepEqual([other['service'], other['transactions']], ['http', 1]);
});
