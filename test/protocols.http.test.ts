/**
 * The HTTP decoder on hand-made conversations: pairing (keep-alive,
 * pipelining, 1xx, orphans), body framing (Content-Length, chunked, to the
 * end, HEAD/204/304, CONNECT and 101 tunnels, HTTP/0.9), content-coding
 * counts, gaps, and hostile input (bounded memory, no throw).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, deflateSync } from 'node:zlib';
import { HttpDecoder, unescapeUri } from '../src/protocols/http.js';
import { CLIENT, SERVER, DEFAULT_DECODER_LIMITS, type AppContext, type DecoderLimits, type StreamDecoder } from '../src/protocols/decoder.js';
import type { RecordValues } from '../src/records/schema.js';

type Step = [side: 0 | 1, what: string | Uint8Array | { gap: number } | 'end', ms: number];

function run(steps: Step[], limits: Partial<DecoderLimits> = {}): { records: RecordValues[]; weird: string[]; failed: boolean[]; confirmed: boolean } {
  const records: RecordValues[] = [];
  const weird: string[] = [];
  const failed: boolean[] = [];
  let confirmed = false;
  const ctx: AppContext = {
    emit: (_s, r, f) => {
      records.push(r);
      failed.push(f);
    },
    confirm: () => void (confirmed = true),
    weird: (w) => void weird.push(w),
    stop: () => {},
  };
  const d: StreamDecoder = new HttpDecoder(ctx, { ...DEFAULT_DECODER_LIMITS, ...limits });
  let last = 0;
  for (const [side, what, ms] of steps) {
    const sec = 1000 + Math.floor(ms / 1000), nsec = Math.round((ms % 1000) * 1e6);
    last = ms;
    if (what === 'end') d.end(side, sec, nsec);
    else if (typeof what === 'object' && 'gap' in what) d.gap(side, what.gap, sec, nsec);
    else {
      const b = typeof what === 'string' ? Buffer.from(what, 'latin1') : what;
      d.data(side, b, 0, b.length, sec, nsec);
    }
  }
  d.finish(1000 + Math.floor(last / 1000), 0);
  return { records, weird, failed, confirmed };
}

const pick = (r: RecordValues, ...keys: string[]): Record<string, unknown> => Object.fromEntries(keys.map((k) => [k, r[k]]));

test('pipelined requests are paired in order with their responses, each timed', () => {
  const { records, confirmed } = run([
    [CLIENT, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nPOST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', 0],
    [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc', 10],
    [SERVER, 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnope\r\n0\r\n\r\n', 25],
    [SERVER, 'HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n', 40],
  ]);
  assert.ok(confirmed);
  assert.deepEqual(
    records.map((r) => pick(r, 'trans_depth', 'method', 'uri', 'host', 'status_code', 'status_msg', 'request_body_len', 'response_body_len', 'latency_ms', 'duration_ms', 'state')),
    [
      { trans_depth: 1, method: 'GET', uri: '/a', host: 'x', status_code: 200, status_msg: 'OK', request_body_len: 0, response_body_len: 3, latency_ms: 10, duration_ms: 10, state: 'complete' },
      { trans_depth: 2, method: 'GET', uri: '/b', host: 'x', status_code: 404, status_msg: 'Not Found', request_body_len: 0, response_body_len: 4, latency_ms: 25, duration_ms: 25, state: 'complete' },
      { trans_depth: 3, method: 'POST', uri: '/c', host: 'x', status_code: 503, status_msg: 'Busy', request_body_len: 5, response_body_len: 0, latency_ms: 40, duration_ms: 40, state: 'complete' },
    ],
  );
});

test('failed means status 4xx/5xx or no response', () => {
  const { failed, records } = run([
    [CLIENT, 'GET /ok HTTP/1.1\r\n\r\n', 0],
    [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 1],
    [CLIENT, 'GET /bad HTTP/1.1\r\n\r\n', 2],
    [SERVER, 'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n', 3],
    [CLIENT, 'GET /never HTTP/1.1\r\n\r\n', 4],
  ]);
  assert.deepEqual(failed, [false, true, true]);
  assert.deepEqual(records.map((r) => [r['state'], r['problem']]), [['complete', null], ['complete', null], ['unanswered', 'no response before the connection ended']]);
});

test('100 Continue: info_code and info_msg, the final response pairs with the same request, latency from the end of the body', () => {
  const { records } = run([
    [CLIENT, 'POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n', 0],
    [SERVER, 'HTTP/1.1 100 Continue\r\n\r\n', 5],
    [CLIENT, 'data', 8],
    [SERVER, 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', 20],
  ]);
  assert.deepEqual(records.map((r) => pick(r, 'info_code', 'info_msg', 'status_code', 'request_body_len', 'latency_ms', 'response_ts')), [
    { info_code: 100, info_msg: 'Continue', status_code: 201, request_body_len: 4, latency_ms: 12, response_ts: '1000.020000000' },
  ]);
});

test('responses to HEAD, and 204 and 304, have no body whatever their Content-Length says', () => {
  const { records } = run([
    [CLIENT, 'HEAD /h HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\nGET /m HTTP/1.1\r\n\r\nGET /z HTTP/1.1\r\n\r\n', 0],
    [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nzz', 1],
  ]);
  assert.deepEqual(records.map((r) => [r['uri'], r['status_code'], r['response_body_len'], r['state']]), [
    ['/h', 200, 0, 'complete'], ['/n', 204, 0, 'complete'], ['/m', 304, 0, 'complete'], ['/z', 200, 2, 'complete'],
  ]);
});

test('a response without length is read to the end of the stream (HTTP/1.0)', () => {
  const { records } = run([
    [CLIENT, 'GET / HTTP/1.0\r\n\r\n', 0],
    [SERVER, 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome', 3],
    [SERVER, ' more', 4],
    [SERVER, 'fin', 9],
    [SERVER, 'end', 12],
  ]);
  assert.deepEqual(records.map((r) => pick(r, 'version', 'response_body_len', 'content_type', 'response_end_ts', 'state')), [
    { version: '1.0', response_body_len: 12, content_type: 'text/plain', response_end_ts: '1000.009000000', state: 'complete' },
  ]);
});

test('CONNECT and 101 Switching Protocols turn the connection into a tunnel (upgrade), and nothing after is read as HTTP', () => {
  const c = run([
    [CLIENT, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 0],
    [SERVER, 'HTTP/1.1 200 Connection established\r\n\r\n', 2],
    [CLIENT, '\x16\x03\x01\x02\x00GET / HTTP/1.1\r\n\r\n', 3],
    [SERVER, 'HTTP/1.1 500 not really\r\n\r\n', 4],
  ]);
  assert.deepEqual(c.records.map((r) => [r['method'], r['status_code'], r['upgrade'], r['state']]), [['CONNECT', 200, 'connect', 'upgraded']]);
  const w = run([
    [CLIENT, 'GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 0],
    [SERVER, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello', 2],
    [CLIENT, '\x81\x85abcd1234', 3],
  ]);
  assert.deepEqual(w.records.map((r) => [r['status_code'], r['info_code'], r['upgrade'], r['state']]), [[101, 101, 'websocket', 'upgraded']]);
  const h2c = run([
    [CLIENT, 'GET / HTTP/1.1\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', 0],
    [SERVER, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', 1],
  ]);
  assert.equal(h2c.records[0]!['upgrade'], 'h2c');
});

test('a response without a request waiting is an orphan (the capture began mid-connection)', () => {
  const { records, failed } = run([
    [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi', 0],
    [CLIENT, 'GET /next HTTP/1.1\r\n\r\n', 5],
    [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 7],
  ]);
  assert.deepEqual(records.map((r) => [r['trans_depth'], r['method'], r['status_code'], r['state'], r['latency_ms']]), [
    [1, null, 200, 'orphan', null],
    [2, 'GET', 200, 'complete', 2],
  ]);
  assert.deepEqual(failed, [false, false]);
});

test('HTTP/0.9: a request line without version; the answer without a status line is its body to the end', () => {
  const { records } = run([
    [CLIENT, 'GET /old\r\n', 0],
    [SERVER, '<html>hi</html>', 4],
    [SERVER, '<p/>', 5],
    [SERVER, 'end', 6],
  ]);
  assert.deepEqual(records.map((r) => pick(r, 'method', 'uri', 'request_version', 'version', 'response_body_len', 'latency_ms', 'duration_ms', 'state')), [
    { method: 'GET', uri: '/old', request_version: '0.9', version: '0.9', response_body_len: 19, latency_ms: 4, duration_ms: 5, state: 'complete' },
  ]);
});

test('gzip and deflate bodies count uncompressed bytes (Zeek\'s meaning); a corrupt one counts what was sent', () => {
  const body = Buffer.from('x'.repeat(5000) + 'y'.repeat(3000));
  const gz = gzipSync(body), df = deflateSync(body);
  const mk = (enc: string, b: Buffer): string => `HTTP/1.1 200 OK\r\nContent-Encoding: ${enc}\r\nContent-Length: ${b.length}\r\n\r\n`;
  const bad = Buffer.from(gz);
  bad[20] ^= 0xff;
  const { records } = run([
    [CLIENT, 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n', 0],
    [SERVER, Buffer.concat([Buffer.from(mk('gzip', gz)), gz, Buffer.from(mk('deflate', df)), df, Buffer.from(mk('x-gzip', bad)), bad]), 1],
  ]);
  assert.deepEqual(records.map((r) => [r['content_encoding'], r['response_body_len']]), [['gzip', 8000], ['deflate', 8000], ['x-gzip', bad.length]]);
});

test('Zeek\'s URI unescaping: %XX, %uXXXX, "%%" and a stray % (uri), while request_uri keeps the bytes as sent', () => {
  const u = (s: string): string => unescapeUri(Buffer.from(s, 'latin1'), 0, s.length);
  assert.equal(u('/a%20b'), '/a b');
  assert.equal(u('/%u0041x'), '/Ax');
  assert.equal(u('/%%41'), '/A');
  assert.equal(u('/100%zz'), '/100%zz');
  assert.equal(u('/end%'), '/end%');
  assert.equal(u('/end%4'), '/end%4');
  const { records } = run([[CLIENT, 'GET /caf%C3%A9?q=%41 HTTP/1.1\r\n\r\n', 0], [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 1]]);
  assert.deepEqual([records[0]!['uri'], records[0]!['request_uri']], ['/café?q=A', '/caf%C3%A9?q=%41']);
});

test('Basic authentication gives the user name, never the password', () => {
  const auth = Buffer.from('alice:secret').toString('base64');
  const { records } = run([[CLIENT, `GET / HTTP/1.1\r\nAuthorization: Basic ${auth}\r\n\r\n`, 0], [SERVER, 'HTTP/1.1 401 No\r\nContent-Length: 0\r\n\r\n', 1]]);
  assert.equal(records[0]!['username'], 'alice');
  assert.ok(!JSON.stringify(records).includes('secret'));
});

test('a gap inside a body of known length shortens it: the pair is incomplete, the next one is clean', () => {
  const { records } = run([
    [CLIENT, 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n', 0],
    [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + 'a'.repeat(300), 1],
    [SERVER, { gap: 400 }, 2],
    [SERVER, 'b'.repeat(300) + 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz', 3],
  ]);
  assert.deepEqual(records.map((r) => [r['uri'], r['status_code'], r['response_body_len'], r['state'], r['problem']]), [
    ['/1', 200, 1000, 'incomplete', 'gap in response body'],
    ['/2', 200, 1, 'complete', null],
  ]);
});

test('a gap in a header block resynchronises at the next request line; a gap between responses costs one pair, not the pairing', () => {
  const req = run([
    [CLIENT, 'GET /1 HTTP/1.1\r\nHost: a\r\nX-Long: aaaa', 0],
    [CLIENT, { gap: 50 }, 1],
    [CLIENT, 'aaa\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n', 2],
    [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 201 OK\r\nContent-Length: 0\r\n\r\n', 3],
  ]);
  assert.deepEqual(req.records.map((r) => [r['uri'], r['host'], r['status_code'], r['state']]), [['/1', 'a', 200, 'incomplete'], ['/2', 'b', 201, 'complete']]);
  const resp = run([
    [CLIENT, 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n', 0],
    [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 1],
    [SERVER, { gap: 38 }, 2],
    [SERVER, 'HTTP/1.1 203 OK\r\nContent-Length: 0\r\n\r\n', 3],
  ]);
  assert.deepEqual(resp.records.map((r) => [r['uri'], r['status_code'], r['state']]), [['/1', 200, 'complete'], ['/2', null, 'incomplete'], ['/3', 203, 'complete']]);
  const lostReq = run([
    [CLIENT, 'GET /1 HTTP/1.1\r\n\r\n', 0],
    [CLIENT, { gap: 19 }, 1],
    [CLIENT, 'GET /3 HTTP/1.1\r\n\r\n', 2],
    [SERVER, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 202 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 203 OK\r\nContent-Length: 0\r\n\r\n', 3],
  ]);
  assert.deepEqual(lostReq.records.map((r) => [r['uri'], r['status_code'], r['state'], r['problem']]), [
    ['/1', 200, 'complete', null], [null, 202, 'incomplete', 'request lost in a capture gap'], ['/3', 203, 'complete', null],
  ]);
});

test('hostile: a 4 GB Content-Length, a 2^64 chunk size and an endless header cost bounded memory and give invalid records, never a throw', () => {
  const big = run([[CLIENT, 'POST / HTTP/1.1\r\nContent-Length: 4294967296\r\n\r\n' + 'x'.repeat(1000), 0], [CLIENT, 'end', 1]]);
  assert.deepEqual(big.records.map((r) => [r['request_body_len'], r['state'], r['problem']]), [[1000, 'incomplete', 'stream ended inside a message']]);
  const chunk = run([[CLIENT, 'GET / HTTP/1.1\r\n\r\n', 0], [SERVER, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n', 1]]);
  assert.deepEqual(chunk.records.map((r) => [r['status_code'], r['state'], r['problem']]), [[200, 'invalid', 'bad chunk size']]);
  const limits = { maxHeaderBytes: 4096 };
  const steps: Step[] = [[CLIENT, 'GET / HTTP/1.1\r\nX: ', 0]];
  for (let i = 0; i < 100; i++) steps.push([CLIENT, 'y'.repeat(1000), 1]);
  steps.push([CLIENT, '\r\n\r\nGET /after HTTP/1.1\r\n\r\n', 2]);
  const endless = run(steps, limits);
  assert.deepEqual(endless.records.map((r) => [r['uri'], r['state'], r['problem']]), [['/', 'invalid', 'header block over 4096 bytes'], ['/after', 'unanswered', 'no response before the connection ended']]);
});

test('hostile: requests that are never answered wait at most maxPending; beyond it the oldest are written', () => {
  const steps: Step[] = [];
  for (let i = 0; i < 25; i++) steps.push([CLIENT, `GET /${i} HTTP/1.1\r\n\r\n`, i]);
  const { records, weird } = run(steps, { maxPending: 10 });
  assert.equal(records.length, 25);
  assert.deepEqual(records.slice(0, 15).map((r) => r['uri']), Array.from({ length: 15 }, (_, i) => `/${i}`));
  assert.equal(weird.filter((w) => w === 'excessive pipelining').length, 15);
});

test('hostile: random bytes in both directions never throw and every record has a state', () => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  for (let round = 0; round < 200; round++) {
    const steps: Step[] = [];
    for (let i = 0; i < 20; i++) {
      const n = Math.floor(rnd() * 300);
      const b = new Uint8Array(n);
      for (let k = 0; k < n; k++) b[k] = rnd() < 0.3 ? 'GET /HTP1.\r\n: 0123456789abcdef'.charCodeAt(Math.floor(rnd() * 32)) : Math.floor(rnd() * 256);
      steps.push([rnd() < 0.5 ? CLIENT : SERVER, rnd() < 0.1 ? { gap: Math.floor(rnd() * 1e6) } : b, i]);
    }
    const { records } = run(steps, { maxHeaderBytes: 1024 });
    for (const r of records) assert.ok(['complete', 'incomplete', 'unanswered', 'orphan', 'invalid', 'upgraded'].includes(String(r['state'])));
  }
});
