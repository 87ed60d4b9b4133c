#!/usr/bin/env node
/**
 * Micro-benchmark of the PostgreSQL decoder (src/protocols/postgresql.ts):
 *
 *   node dist/bench/l7-postgresql.js [--conns N]
 *
 * Stream bytes go to the decoder as the application layer hands them over
 * (1448-byte pieces), N connections each with a startup (MD5
 * authentication, parameter status messages), simple queries answered
 * with 20 rows of 6 columns, extended-query cycles as drivers send them
 * (Parse/Bind/Describe/Execute/Sync, then Bind/Execute/Sync of the named
 * statement), an INSERT, an error and Terminate. Every exchange gives one
 * postgresql record (built, not serialised). Prints MB/s of stream bytes
 * and records/s, in wall and CPU time.
 */
import { parseArgs } from 'node:util';
import type { AppContext } from '../src/protocols/decoder.js';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER } from '../src/protocols/decoder.js';
import { POSTGRESQL } from '../src/protocols/postgresql.js';

const z = (s: string): Buffer => Buffer.from(s + '\0');
const i16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
function msg(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type), i32(body.length + 4), body]);
}
const COLUMNS = ['id', 'customer', 'status', 'total', 'created_at', 'note'];
const rowDesc = (): Buffer => msg('T', i16(COLUMNS.length), ...COLUMNS.map((n) => Buffer.concat([z(n), i32(16384), i16(1), i32(25), i16(-1), i32(-1), i16(0)])));
function rows(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let r = 0; r < n; r++) {
    const vals = [String(1000 + r), `customer-${r}@example.com`, r % 3 ? 'shipped' : 'pending', (r * 17.5).toFixed(2), '2024-05-01 12:00:00+00', 'priority delivery, leave at the door'];
    out.push(msg('D', i16(vals.length), ...vals.map((v) => Buffer.concat([i32(Buffer.byteLength(v)), Buffer.from(v)]))));
  }
  return out;
}
const ready = (s = 'I'): Buffer => msg('Z', Buffer.from(s));

function conversation(): [number, Buffer][] {
  const start = Buffer.concat([i32(0x00030000), z('user'), z('app'), z('database'), z('shop'), z('application_name'), z('orders-api'), Buffer.from([0])]);
  const sel = 'SELECT id, customer, status, total, created_at, note FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20';
  const out: [number, Buffer][] = [
    [CLIENT, Buffer.concat([i32(start.length + 4), start])],
    [SERVER, msg('R', i32(5), Buffer.from('salt'))],
    [CLIENT, msg('p', z('md5' + '0'.repeat(32)))],
    [SERVER, Buffer.concat([msg('R', i32(0)), msg('S', z('server_version'), z('15.8')), msg('S', z('client_encoding'), z('UTF8')), msg('K', i32(42), i32(7)), ready()])],
  ];
  for (let i = 0; i < 3; i++) {
    out.push([CLIENT, msg('Q', z(`SELECT id, customer, status, total, created_at, note FROM orders WHERE customer_id = ${4000 + i} ORDER BY created_at DESC LIMIT 20`))]);
    out.push([SERVER, Buffer.concat([rowDesc(), ...rows(20), msg('C', z('SELECT 20')), ready()])]);
  }
  out.push([CLIENT, Buffer.concat([msg('P', z('s1'), z(sel), i16(1), i32(23)), msg('B', z(''), z('s1'), i16(0), i16(1), i32(4), Buffer.from('4001'), i16(0)), msg('D', Buffer.from('P'), z('')), msg('E', z(''), i32(0)), msg('S')])]);
  out.push([SERVER, Buffer.concat([msg('1'), msg('2'), rowDesc(), ...rows(20), msg('C', z('SELECT 20')), ready()])]);
  for (let i = 0; i < 3; i++) {
    out.push([CLIENT, Buffer.concat([msg('B', z(''), z('s1'), i16(0), i16(1), i32(4), Buffer.from(String(4002 + i)), i16(0)), msg('E', z(''), i32(0)), msg('S')])]);
    out.push([SERVER, Buffer.concat([msg('2'), ...rows(20), msg('C', z('SELECT 20')), ready()])]);
  }
  out.push([CLIENT, Buffer.concat([msg('P', z(''), z("INSERT INTO order_events (order_id, kind, at) VALUES ($1, 'viewed', now())"), i16(0)), msg('B', z(''), z(''), i16(0), i16(1), i32(4), Buffer.from('1001'), i16(0)), msg('E', z(''), i32(0)), msg('S')])]);
  out.push([SERVER, Buffer.concat([msg('1'), msg('2'), msg('C', z('INSERT 0 1')), ready()])]);
  out.push([CLIENT, msg('Q', z('SELECT * FROM missing_table'))]);
  out.push([SERVER, Buffer.concat([msg('E', Buffer.from('SERROR\0VERROR\0C42P01\0Mrelation "missing_table" does not exist\0P15\0Fparse_relation.c\0L1392\0RparserOpenTable\0\0')), ready()])]);
  out.push([CLIENT, msg('X')]);
  return out;
}

function main(): void {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { conns: { type: 'string' } } });
  const conns = Number(values.conns ?? 20000);
  const script = conversation();
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
      const d = POSTGRESQL.stream!(ctx, DEFAULT_DECODER_LIMITS);
      let t = 0;
      for (const [side, buf] of script) {
        for (let o = 0; o < buf.length; o += 1448) d.data(side as 0 | 1, buf, o, Math.min(1448, buf.length - o), 1_700_000_000, (t += 1000));
      }
      d.end(CLIENT, 1_700_000_001, 0);
      d.end(SERVER, 1_700_000_001, 0);
      d.finish(1_700_000_001, 0);
    }
  };
  const warm = Math.min(2000, conns);
  run(warm);
  // the startup, 3 queries, 4 cycles, the INSERT cycle, the error, Terminate
  if (bad > 0 || records !== warm * 11) throw new Error(`l7-postgresql: the conversation does not decode as built (${records / warm} records per connection, ${bad} not complete)`);
  records = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  run(conns);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const mb = (conns * bytesPerConn) / 1e6;
  process.stdout.write(
    `l7-postgresql: ${conns} connections, ${records} records, ${mb.toFixed(1)} MB of stream bytes\n` +
      `  wall ${wall.toFixed(2)} s: ${(mb / wall).toFixed(0)} MB/s, ${(records / wall / 1000).toFixed(0)} k records/s\n` +
      `  cpu  ${cpuS.toFixed(2)} s: ${(mb / cpuS).toFixed(0)} MB/s, ${(records / cpuS / 1000).toFixed(0)} k records/s\n`,
  );
}

main();
