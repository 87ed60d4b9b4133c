/**
 * Recorded ground truth for the MySQL decoder: as root, a real MariaDB
 * server (Debian's mariadb-server, a throw-away data directory made with
 * mariadb-install-db) in a network namespace, tcpdump on its interface, and
 * the mysql2 client in a second namespace making three connections: one
 * running text queries (a table created, three rows inserted, read back,
 * a multi-statement transaction, an unknown table's error, SELECT SLEEP(0.2))
 * and prepared statements (prepare, execute twice, close); one with the
 * compressed protocol; one with a wrong password. The client logs what it
 * sent and what it got (rows, affected rows, insert id, error code and SQL
 * state, the time it waited); the mysql records must say the same, and the
 * sleep's latency must be at least 200 ms and at most what the client
 * waited. Skipped, with the reason, when not root or when mariadbd,
 * mariadb-install-db, ip or tcpdump is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MYSQL } from '../src/protocols/mysql.js';
import type { RecordValues } from '../src/records/schema.js';
import { makeTempDir } from './_capture-helpers.js';
import { decodeCapture } from './_l7-helpers.js';
import { NetnsPair, SERVER_V4 } from './_netns.js';

let net: NetnsPair | null = null;
let SKIP: string | false = false;
let tmp = '';
let cleanupDir = (): void => {};

before(async () => {
  ({ dir: tmp, cleanup: cleanupDir } = makeTempDir('tcpkit-mysql-netns-'));
  net = new NetnsPair('my', ['mariadbd', 'mariadb-install-db', 'mariadb']);
  SKIP = net.skip;
  if (SKIP) return;
  const data = join(tmp, 'data');
  mkdirSync(data);
  const init = net.exec(net.server, ['mariadb-install-db', '--no-defaults', '--user=root', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], undefined, 120_000);
  if (init.status !== 0) throw new Error(`mariadb-install-db: ${init.stderr}`);
  await net.start(
    net.server,
    ['mariadbd', '--no-defaults', '--user=root', `--datadir=${data}`, `--socket=${join(tmp, 'sock')}`, `--pid-file=${join(tmp, 'pid')}`, '--bind-address=0.0.0.0', '--port=3306', '--skip-name-resolve', '--innodb-buffer-pool-size=16M'],
    /ready for connections/,
    60_000,
  );
  const sql = "CREATE USER 'app'@'%' IDENTIFIED BY 'secret'; GRANT ALL ON *.* TO 'app'@'%'; CREATE DATABASE shop;";
  const r = net.exec(net.server, ['mariadb', '--no-defaults', `--socket=${join(tmp, 'sock')}`, '-uroot', '-e', sql]);
  if (r.status !== 0) throw new Error(`mariadb: ${r.stderr}`);
});

after(() => {
  net?.close();
  cleanupDir();
});

/** The client: each step logs what it sent and got, one JSON line each. */
const CLIENT_JS = `
const mysql = require('mysql2');
const out = [];
function conn(o) {
  return new Promise((resolve) => {
    const c = mysql.createConnection({ host: '${SERVER_V4}', user: 'app', password: 'secret', database: 'shop', ...o });
    c.connect((err) => resolve([c, err]));
  });
}
function step(c, kind, sql, values) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const cb = (err, res) => {
      const ms = performance.now() - t0;
      const r = { port: c.stream ? c.stream.localPort : null, kind, sql, ms };
      if (err) Object.assign(r, { error: err.errno, sqlState: err.sqlState });
      else if (Array.isArray(res)) r.rows = res.length;
      else Object.assign(r, { affected: res.affectedRows, insertId: res.insertId });
      out.push(r);
      resolve();
    };
    if (kind === 'execute') c.execute(sql, values, cb); else c.query(sql, cb);
  });
}
(async () => {
  const [a, aerr] = await conn({});
  if (aerr) throw aerr;
  out.push({ port: a.stream.localPort, kind: 'login' });
  await step(a, 'query', 'CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20))');
  await step(a, 'query', "INSERT INTO t (name) VALUES ('ann'), ('bob'), ('cy')");
  await step(a, 'query', 'SELECT id, name FROM t');
  await step(a, 'execute', 'SELECT name FROM t WHERE id = ?', [2]);
  await step(a, 'execute', 'SELECT name FROM t WHERE id = ?', [3]);
  a.unprepare('SELECT name FROM t WHERE id = ?');
  await step(a, 'query', 'SELECT * FROM nope');
  await step(a, 'query', 'BEGIN');
  await step(a, 'query', "UPDATE t SET name = 'dee' WHERE id = 1");
  await step(a, 'query', "INSERT INTO t (name) VALUES ('eve')");
  await step(a, 'query', 'COMMIT');
  await step(a, 'query', 'SELECT SLEEP(0.2)');
  await new Promise((r) => a.end(r));
  const [b, berr] = await conn({ compress: true });
  if (berr) throw berr;
  out.push({ port: b.stream.localPort, kind: 'login', compress: true });
  await step(b, 'query', 'SELECT id, name FROM t ORDER BY id');
  await step(b, 'query', "INSERT INTO t (name) VALUES ('fay')");
  await new Promise((r) => b.end(r));
  const [c, cerr] = await conn({ password: 'wrong' });
  out.push({ port: c.stream ? c.stream.localPort : null, kind: 'login', error: cerr ? cerr.errno : null, sqlState: cerr ? cerr.sqlState : null });
  for (const x of out) console.log(JSON.stringify(x));
})().catch((e) => { console.error(e); process.exit(1); });
`;

test('MariaDB: the mysql records equal what the mysql2 client sent and got, and the sleep is timed right', async (t) => {
  if (SKIP || net === null) return t.skip(String(SKIP));
  const file = join(tmp, 'mysql.pcap');
  const stop = await net.capture(file, ['tcp', 'port', '3306']);
  const run = net.exec(net.client, [process.execPath, '-e', CLIENT_JS], undefined, 60_000);
  await stop();
  assert.equal(run.status, 0, run.stderr);
  const log = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const { transactions } = await decodeCapture(file, [MYSQL]);
  const byPort = (p: unknown): RecordValues[] => transactions.filter((r) => r['orig_p'] === p);

  // connection 1: text queries and prepared statements
  const first = log.filter((x) => x['port'] === log[0]!['port']);
  const recs = byPort(log[0]!['port']);
  const want: [string, string | null][] = [
    ['login', 'app'],
    ['query', 'CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20))'],
    ['query', "INSERT INTO t (name) VALUES ('ann'), ('bob'), ('cy')"],
    ['query', 'SELECT id, name FROM t'],
    ['stmt_prepare', 'SELECT name FROM t WHERE id = ?'],
    ['stmt_execute', 'SELECT name FROM t WHERE id = ?'],
    ['stmt_execute', 'SELECT name FROM t WHERE id = ?'],
    ['stmt_close', 'SELECT name FROM t WHERE id = ?'],
    // mysql2's unprepare() sends COM_STMT_CLOSE twice; the statement's text is forgotten at the first
    ['stmt_close', ''],
    ['query', 'SELECT * FROM nope'],
    ['query', 'BEGIN'],
    ['query', "UPDATE t SET name = 'dee' WHERE id = 1"],
    ['query', "INSERT INTO t (name) VALUES ('eve')"],
    ['query', 'COMMIT'],
    ['query', 'SELECT SLEEP(0.2)'],
    ['quit', ''],
  ];
  assert.deepEqual(recs.map((r) => [r['cmd'], r['arg']]), want);
  const rec = (cmd: string, arg: string, nth = 0): RecordValues => recs.filter((r) => r['cmd'] === cmd && r['arg'] === arg)[nth]!;
  const logged = (sql: string, nth = 0): Record<string, unknown> => first.filter((x) => x['sql'] === sql)[nth]!;
  assert.equal(rec('query', "INSERT INTO t (name) VALUES ('ann'), ('bob'), ('cy')")['rows'], logged("INSERT INTO t (name) VALUES ('ann'), ('bob'), ('cy')")['affected']);
  assert.equal(rec('query', "INSERT INTO t (name) VALUES ('ann'), ('bob'), ('cy')")['insert_id'], logged("INSERT INTO t (name) VALUES ('ann'), ('bob'), ('cy')")['insertId']);
  assert.equal(rec('query', 'SELECT id, name FROM t')['result_rows'], logged('SELECT id, name FROM t')['rows']);
  assert.equal(rec('query', "UPDATE t SET name = 'dee' WHERE id = 1")['rows'], logged("UPDATE t SET name = 'dee' WHERE id = 1")['affected']);
  const prep = rec('stmt_prepare', 'SELECT name FROM t WHERE id = ?');
  assert.equal(prep['params'], 1);
  for (const n of [0, 1]) {
    const e = rec('stmt_execute', 'SELECT name FROM t WHERE id = ?', n);
    assert.equal(e['statement_id'], prep['statement_id']);
    assert.equal(e['result_rows'], logged('SELECT name FROM t WHERE id = ?', n)['rows']);
  }
  const closes = recs.filter((r) => r['cmd'] === 'stmt_close');
  assert.deepEqual(closes.map((r) => r['statement_id']), [prep['statement_id'], prep['statement_id']]);
  const bad = rec('query', 'SELECT * FROM nope');
  assert.deepEqual([bad['success'], bad['error_code'], bad['sql_state'], bad['failed']], [false, logged('SELECT * FROM nope')['error'], logged('SELECT * FROM nope')['sqlState'], true]);
  const sleep = rec('query', 'SELECT SLEEP(0.2)');
  const waited = Number(logged('SELECT SLEEP(0.2)')['ms']);
  t.diagnostic(`SELECT SLEEP(0.2): latency ${sleep['latency_ms']} ms, the client waited ${waited.toFixed(3)} ms`);
  assert.ok(Number(sleep['latency_ms']) >= 200, `latency ${sleep['latency_ms']} ms`);
  assert.ok(Number(sleep['latency_ms']) <= waited, `latency ${sleep['latency_ms']} ms, the client waited ${waited} ms`);
  for (const r of recs) if (r['cmd'] !== 'quit' && r['cmd'] !== 'stmt_close') assert.equal(r['state'], 'complete', String(r['arg']));
  assert.match(String(recs[0]!['db_version']), /MariaDB/);
  assert.equal(recs[0]!['database'], 'shop');

  // connection 2: the compressed protocol
  const second = log.find((x) => x['compress'] === true)!;
  const comp = byPort(second['port']);
  assert.deepEqual(comp.map((r) => [r['cmd'], r['compressed'], r['state']]), [
    ['login', true, 'complete'],
    ['query', true, 'complete'],
    ['query', true, 'complete'],
    ['quit', true, 'complete'],
  ]);
  assert.equal(comp[1]!['result_rows'], log.find((x) => x['sql'] === 'SELECT id, name FROM t ORDER BY id')!['rows']);
  assert.equal(comp[2]!['rows'], 1);

  // connection 3: the wrong password
  const third = log[log.length - 1]!;
  const deny = byPort(third['port']);
  assert.deepEqual(deny.map((r) => [r['cmd'], r['success'], r['error_code'], r['sql_state'], r['failed']]), [['login', false, third['error'], third['sqlState'], true]]);
});
