/**
 * Recorded ground truth for the PostgreSQL decoder: as root, a real
 * PostgreSQL server (Debian's postgresql 15, a throw-away cluster made with
 * initdb, SCRAM passwords over TCP) in a network namespace, tcpdump on its
 * interface, and the pg client in a second namespace making three
 * connections: one running simple queries (a table created, a
 * multi-statement transaction, an unknown table's error, SELECT
 * pg_sleep(0.2)) and extended queries (an INSERT with parameters through
 * the unnamed statement, a named prepared statement run twice); one asking
 * for SSL, which this server refuses; one with a wrong password. The client
 * logs what it sent and got (row count, rows, error code, the time it
 * waited); the postgresql records must say the same, and the sleep's
 * latency must be at least 200 ms and at most what the client waited.
 * Skipped, with the reason, when not root or when postgres, initdb,
 * runuser, ip or tcpdump is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { POSTGRESQL } from '../src/protocols/postgresql.js';
import type { RecordValues } from '../src/records/schema.js';
import { makeTempDir } from './_capture-helpers.js';
import { decodeCapture } from './_l7-helpers.js';
import { NetnsPair, SERVER_V4, has } from './_netns.js';

/** Debian keeps the server programs out of PATH. */
function pgBin(): string | null {
  for (const v of ['17', '16', '15', '14', '13']) {
    const d = `/usr/lib/postgresql/${v}/bin`;
    if (spawnSync('test', ['-x', `${d}/postgres`]).status === 0) return d;
  }
  return has('postgres') && has('initdb') ? '' : null;
}

let net: NetnsPair | null = null;
let SKIP: string | false = false;
let tmp = '';
let cleanupDir = (): void => {};

before(async () => {
  ({ dir: tmp, cleanup: cleanupDir } = makeTempDir('tcpkit-pg-netns-'));
  const bin = pgBin();
  net = new NetnsPair('pg', ['runuser']);
  SKIP = net.skip || (bin === null ? 'needs PostgreSQL (postgres and initdb; .ci/run installs postgresql)' : false);
  if (SKIP || bin === null) return;
  const exe = (p: string): string => (bin === '' ? p : join(bin, p));
  // initdb refuses to run as root: the cluster belongs to the postgres user
  chmodSync(tmp, 0o755);
  const data = join(tmp, 'data');
  mkdirSync(data);
  writeFileSync(join(tmp, 'pw'), 'secret\n');
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  chownSync(data, uid, gid);
  chownSync(join(tmp, 'pw'), uid, gid);
  const init = net.exec(net.server, ['runuser', '-u', 'postgres', '--', exe('initdb'), '-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${join(tmp, 'pw')}`], undefined, 120_000);
  if (init.status !== 0) throw new Error(`initdb: ${init.stderr}`);
  appendFileSync(join(data, 'pg_hba.conf'), 'host all all 192.0.2.0/24 scram-sha-256\n');
  await net.start(
    net.server,
    ['runuser', '-u', 'postgres', '--', exe('postgres'), '-D', data, '-c', 'listen_addresses=*', '-c', `unix_socket_directories=${data}`, '-c', 'port=5432', '-c', 'ssl=off', '-c', 'shared_buffers=16MB'],
    /ready to accept connections/,
    60_000,
  );
});

after(() => {
  net?.close();
  cleanupDir();
});

const CLIENT_JS = `
const { Client } = require('pg');
const out = [];
async function step(c, port, q) {
  const t0 = performance.now();
  const r = { port, sql: typeof q === 'string' ? q : q.text, name: q.name || null };
  try {
    const res = await c.query(q);
    // several statements in one simple query: one result each
    const all = Array.isArray(res) ? res : [res];
    const last = all[all.length - 1];
    Object.assign(r, { rowCount: last.rowCount, rows: all.reduce((n, x) => n + x.rows.length, 0), command: last.command, results: all.length });
  } catch (e) {
    Object.assign(r, { error: e.code });
  }
  r.ms = performance.now() - t0;
  out.push(r);
}
(async () => {
  const base = { host: '${SERVER_V4}', user: 'postgres', password: 'secret', database: 'postgres', application_name: 'tcpkit-test' };
  const a = new Client(base);
  await a.connect();
  const pa = a.connection.stream.localPort;
  out.push({ port: pa, kind: 'startup' });
  await step(a, pa, 'CREATE TABLE t (id serial PRIMARY KEY, name text)');
  await step(a, pa, { text: 'INSERT INTO t (name) VALUES ($1), ($2), ($3)', values: ['ann', 'bob', 'cy'] });
  await step(a, pa, { name: 'byid', text: 'SELECT name FROM t WHERE id = $1', values: [2] });
  await step(a, pa, { name: 'byid', text: 'SELECT name FROM t WHERE id = $1', values: [3] });
  await step(a, pa, 'SELECT * FROM nope');
  await step(a, pa, "BEGIN; UPDATE t SET name = 'dee' WHERE id = 1; INSERT INTO t (name) VALUES ('eve'); COMMIT");
  await step(a, pa, 'SELECT id, name FROM t ORDER BY id');
  await step(a, pa, 'SELECT pg_sleep(0.2)');
  await a.end();
  const b = new Client({ ...base, ssl: { rejectUnauthorized: false } });
  let berr = null;
  try { await b.connect(); } catch (e) { berr = e.message; }
  out.push({ port: b.connection.stream.localPort, kind: 'ssl', error: berr });
  const c = new Client({ ...base, password: 'wrong' });
  let cerr = null;
  try { await c.connect(); } catch (e) { cerr = e.code; }
  out.push({ port: c.connection.stream.localPort, kind: 'startup', error: cerr });
  for (const x of out) console.log(JSON.stringify(x));
})().catch((e) => { console.error(e); process.exit(1); });
`;

test('PostgreSQL: the postgresql records equal what the pg client sent and got, and the sleep is timed right', async (t) => {
  if (SKIP || net === null) return t.skip(String(SKIP));
  const file = join(tmp, 'pg.pcap');
  const stop = await net.capture(file, ['tcp', 'port', '5432']);
  const run = net.exec(net.client, [process.execPath, '-e', CLIENT_JS], undefined, 60_000);
  await stop();
  assert.equal(run.status, 0, run.stderr);
  const log = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const { transactions } = await decodeCapture(file, [POSTGRESQL]);
  const byPort = (p: unknown): RecordValues[] => transactions.filter((r) => r['orig_p'] === p);

  const first = log.filter((x) => x['port'] === log[0]!['port'] && x['sql'] !== undefined);
  const recs = byPort(log[0]!['port']);
  assert.deepEqual(
    recs.map((r) => [r['frontend'], r['frontend_arg']]),
    [
      ['startup', null],
      ['simple_query', 'CREATE TABLE t (id serial PRIMARY KEY, name text)'],
      ['extended_query', 'INSERT INTO t (name) VALUES ($1), ($2), ($3)'],
      ['extended_query', 'SELECT name FROM t WHERE id = $1'],
      ['extended_query', 'SELECT name FROM t WHERE id = $1'],
      ['simple_query', 'SELECT * FROM nope'],
      ['simple_query', "BEGIN; UPDATE t SET name = 'dee' WHERE id = 1; INSERT INTO t (name) VALUES ('eve'); COMMIT"],
      ['simple_query', 'SELECT id, name FROM t ORDER BY id'],
      ['simple_query', 'SELECT pg_sleep(0.2)'],
      ['terminate', null],
    ],
  );
  assert.deepEqual([recs[0]!['user'], recs[0]!['database'], recs[0]!['application_name'], recs[0]!['backend'], recs[0]!['backend_arg'], recs[0]!['success']], ['postgres', 'postgres', 'tcpkit-test', 'auth_ok', 'SASL,SASLContinue,SASLFinal', true]);
  // each statement: the rows the client got, the count it was told, the error code
  for (let i = 0; i < first.length; i++) {
    const l = first[i]!;
    const r = recs[i + 1]!;
    if (l['error'] !== undefined) {
      assert.deepEqual([r['sql_state'], r['failed'], r['success']], [l['error'], true, false], String(l['sql']));
      continue;
    }
    assert.equal(r['rows'], l['rows'], `${l['sql']}: rows`);
    if (l['command_code'] === 'INSERT' || l['command_code'] === 'UPDATE' || l['command_code'] === 'SELECT') assert.equal(String(r['tag']).split(' ').pop(), String(l['rowCount']), `${l['sql']}: the tag's count`);
    assert.equal(r['state'], 'complete');
  }
  // the named statement: parsed once, bound twice
  assert.deepEqual([recs[3]!['statement'], recs[4]!['statement'], recs[3]!['params'], recs[4]!['params']], ['byid', 'byid', 1, 1]);
  assert.equal(recs[6]!['commands'], 4);
  const sleep = recs[8]!;
  const waited = Number(first[7]!['ms']);
  t.diagnostic(`SELECT pg_sleep(0.2): latency ${sleep['latency_ms']} ms, the client waited ${waited.toFixed(3)} ms`);
  assert.ok(Number(sleep['latency_ms']) >= 200, `latency ${sleep['latency_ms']} ms`);
  assert.ok(Number(sleep['latency_ms']) <= waited, `latency ${sleep['latency_ms']} ms, the client waited ${waited} ms`);

  // the SSL request refused
  const ssl = byPort(log.find((x) => x['kind'] === 'ssl')!['port']);
  assert.deepEqual(ssl.map((r) => [r['frontend'], r['backend'], r['backend_arg'], r['success']]), [['ssl_request', 'ssl_reply', 'N', false]]);
  // the wrong password
  const deny = log[log.length - 1]!;
  const fail = byPort(deny['port']);
  assert.deepEqual(fail.map((r) => [r['frontend'], r['sql_state'], r['error_severity'], r['success'], r['failed']]), [['startup', deny['error'], 'FATAL', false, true]]);
});
