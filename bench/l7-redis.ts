#!/usr/bin/env node
/**
 * Micro-benchmark of the Redis decoder (src/protocols/redis.ts, resp.ts):
 *
 *   node dist/bench/l7-redis.js [--conns N]
 *
 * Stream bytes go to the decoder as the application layer hands them over
 * (1448-byte pieces), N connections each sending a cache-like mix: 10
 * commands pipelined in one write (GET, SET with a 200-byte value, HGETALL,
 * INCR, MGET of 5 keys, EXPIRE, LRANGE, DEL, an unknown command, PING) and
 * their replies (bulk strings, a 10-field map as an array, integers, a
 * 20-element array, an error), four rounds per connection, then one
 * 64 KiB bulk GET (counted, skipped). Every command gives one redis record
 * (built, not serialised). Prints MB/s of stream bytes and commands/s.
 */
import { parseArgs } from 'node:util';
import type { AppContext } from '../src/protocols/decoder.js';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER } from '../src/protocols/decoder.js';
import { REDIS } from '../src/protocols/redis.js';

const cmd = (...w: string[]): string => `*${w.length}\r\n${w.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
const bulk = (s: string): string => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

function rounds(): [Buffer, Buffer][] {
  const out: [Buffer, Buffer][] = [];
  const value = 'v'.repeat(200);
  for (let r = 0; r < 4; r++) {
    const u = 1000 + r;
    const req = [
      cmd('GET', `user:${u}:profile`), cmd('SET', `session:${u}:token`, value, 'EX', '3600'), cmd('HGETALL', `cart:${u}`), cmd('INCR', `counter:${u}`),
      cmd('MGET', 'a:1', 'a:2', 'a:3', 'a:4', 'a:5'), cmd('EXPIRE', `cart:${u}`, '600'), cmd('LRANGE', `feed:${u}`, '0', '19'), cmd('DEL', `tmp:${u}`),
      cmd('FOO', 'bar'), cmd('PING'),
    ].join('');
    const resp = [
      bulk(value), '+OK\r\n', `*20\r\n${Array.from({ length: 20 }, (_, i) => bulk(i % 2 ? `v${i}` : `f${i}`)).join('')}`, `:${r + 1}\r\n`,
      `*5\r\n${bulk('x')}$-1\r\n${bulk('y')}${bulk('z')}$-1\r\n`, ':1\r\n', `*20\r\n${Array.from({ length: 20 }, (_, i) => bulk(`item-${i}-${'p'.repeat(40)}`)).join('')}`, ':0\r\n',
      "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n", '+PONG\r\n',
    ].join('');
    out.push([Buffer.from(req), Buffer.from(resp)]);
  }
  out.push([Buffer.from(cmd('GET', 'blob:1')), Buffer.from(bulk('b'.repeat(65536)))]);
  return out;
}

function main(): void {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { conns: { type: 'string' } } });
  const conns = Number(values.conns ?? 20000);
  const script = rounds();
  const bytesPerConn = script.reduce((n, [a, b]) => n + a.length + b.length, 0);
  let records = 0;
  const ctx: AppContext = { emit: () => void records++, confirm: () => {}, weird: () => {}, stop: () => {} };
  const run = (n: number): void => {
    for (let c = 0; c < n; c++) {
      const d = REDIS.stream!(ctx, DEFAULT_DECODER_LIMITS);
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
  const small = (conns * (bytesPerConn - script[script.length - 1]![1].length)) / 1e6;
  process.stdout.write(
    `l7-redis: ${conns} connections, ${records} commands, ${mb.toFixed(1)} MB of stream bytes (${small.toFixed(1)} MB without the 64 KiB replies)\n` +
      `  wall ${wall.toFixed(2)} s: ${(mb / wall).toFixed(0)} MB/s, ${(records / wall / 1000).toFixed(0)} k commands/s\n` +
      `  cpu  ${cpuS.toFixed(2)} s: ${(mb / cpuS).toFixed(0)} MB/s, ${(records / cpuS / 1000).toFixed(0)} k commands/s\n`,
  );
}

main();
