#!/usr/bin/env node
/**
 * Micro-benchmark of the HTTP decoder (src/protocols/http.ts):
 *
 *   node dist/bench/l7-http.js [--conns N]
 *
 * Stream bytes go to the decoder as the application layer hands them over
 * (1448-byte pieces, request then response), N keep-alive connections of 8
 * request/response pairs each: GETs with browser-like headers and POSTs with
 * JSON bodies, answered with Content-Length JSON, chunked HTML, 304s and
 * gzip bodies (counted uncompressed by the inflater). Every pair gives one
 * http record (built, not serialised). Prints MB/s of stream bytes,
 * transactions/s and the share of garbage-collection-free CPU time.
 */
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { AppContext } from '../src/protocols/decoder.js';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER } from '../src/protocols/decoder.js';
import { HTTP } from '../src/protocols/http.js';

function pairs(): [Buffer, Buffer][] {
  const out: [Buffer, Buffer][] = [];
  const json = Buffer.from(JSON.stringify({ ok: true, items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 3.5 })) }));
  const html = Buffer.alloc(6000, 'x');
  const gz = gzipSync(Buffer.alloc(20000, 'y'));
  for (let i = 0; i < 8; i++) {
    const post = i % 4 === 3;
    const body = post ? Buffer.from(JSON.stringify({ order: i, qty: 2 })) : Buffer.alloc(0);
    const req = Buffer.concat([
      Buffer.from(
        `${post ? 'POST' : 'GET'} /api/v1/users/${1000 + i}/orders?page=${i} HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n` +
          `Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\nReferer: https://shop.example.com/cart\r\nCookie: session=0123456789abcdef0123456789abcdef\r\n` +
          (post ? `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` : '') +
          '\r\n',
      ),
      body,
    ]);
    let resp: Buffer;
    switch (i % 4) {
      case 0:
        resp = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`), json]);
        break;
      case 1:
        resp = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n${(3000).toString(16)}\r\n`), html.subarray(0, 3000), Buffer.from(`\r\n${(3000).toString(16)}\r\n`), html.subarray(0, 3000), Buffer.from('\r\n0\r\n\r\n')]);
        break;
      case 2:
        resp = Buffer.from('HTTP/1.1 304 Not Modified\r\nETag: "abc123"\r\n\r\n');
        break;
      default:
        resp = Buffer.concat([Buffer.from(`HTTP/1.1 201 Created\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`), gz]);
    }
    out.push([req, resp]);
  }
  return out;
}

function main(): void {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { conns: { type: 'string' } } });
  const conns = Number(values.conns ?? 20000);
  const script = pairs();
  const bytesPerConn = script.reduce((n, [a, b]) => n + a.length + b.length, 0);
  let records = 0;
  const ctx: AppContext = { emit: () => void records++, confirm: () => {}, weird: () => {}, stop: () => {} };
  const run = (n: number): void => {
    for (let c = 0; c < n; c++) {
      const d = HTTP.stream!(ctx, DEFAULT_DECODER_LIMITS);
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
  run(Math.min(2000, conns)); // warm-up
  records = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  run(conns);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const mb = (conns * bytesPerConn) / 1e6;
  process.stdout.write(
    `l7-http: ${conns} connections, ${records} transactions, ${mb.toFixed(1)} MB of stream bytes\n` +
      `  wall ${wall.toFixed(2)} s: ${(mb / wall).toFixed(0)} MB/s, ${(records / wall / 1000).toFixed(0)} k transactions/s\n` +
      `  cpu  ${cpuS.toFixed(2)} s: ${(mb / cpuS).toFixed(0)} MB/s, ${(records / cpuS / 1000).toFixed(0)} k transactions/s\n`,
  );
}

main();
