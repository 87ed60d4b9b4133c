/**
 * tcpload against a real ClickHouse server started by the test (Debian's
 * clickhouse-server, on free ports, in a temporary directory): every row
 * loaded equals its record, value for value (64-bit integers and 9-digit
 * times exact); loading again, a server killed with -9 and restarted
 * mid-load, and tcpload itself killed and run again all end with each
 * record once; captures analysed on the fly load what tcpanalyze writes;
 * tcpcapture's interim records are replaced by their final record.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './_fixtures.js';
import { run } from './_cli.js';
import { ClickHouseServer, LOADER_USER, clickhouseSkip, freePort } from './_clickhouse.js';
import { kindOf, nanos, rawValue, runAsync, sleep, sumInt, sumNanos } from './_load-helpers.js';
import { generateCapture } from '../bench/gen-capture.js';
import { SCHEMAS, type FieldDef, type RecordSchema } from '../src/records/index.js';
import { renderDdl, tableName } from '../src/records/ddl.js';
import { queryTables } from '../src/query/engine.js';

const L7 = join(ROOT, 'fixtures', 'pcaps', 'l7');
/** Decoded captures from a few months (each month is a partition: an INSERT writes a part per partition). */
const L7_CAPTURES = [
  'zeek__http-methods.pcap',
  'zeek__http-pipelined-requests.pcap',
  'zeek__http-version-mismatch.pcap',
  'zeek__dns-edns-ecs.pcap',
  'zeek__tls-hrr.pcap',
  'zeek__tls-tls13_psk_succesfull.pcap',
  'zeek__tls-tls13-ech.pcap',
].map((f) => join(L7, f));

let dir = '';
let server: ClickHouseServer | null = null;
let genPcap = '';
/** NDJSON lines: decoded fixtures, the generated capture's records, and crafted extremes. */
let lines: string[] = [];
let allFile = '';

/** A conn line with values at the ends of their types, and a string needing every escape. */
function craftedLines(template: string): string[] {
  const set = (l: string, key: string, raw: string): string => {
    const re = new RegExp(`([{,]"${key}":)(?:"(?:[^"\\\\]|\\\\.)*"|[^,}]*)`);
    assert.match(l, re, `template has ${key}`);
    return l.replace(re, (_m, p: string) => p + raw);
  };
  let a = set(template, 'uid', '"CbigValues00000001"');
  a = set(a, 'ts', '1710252000.123456789');
  a = set(a, 'orig_bytes', '9007199254740993');
  a = set(a, 'resp_bytes', '9223372036854775807');
  a = set(a, 'orig_ip_bytes', '-9223372036854775808');
  a = set(a, 'duration', '1340954905.000000001');
  a = set(a, 'encap', '"tab\\there\\nnew line \\\\ back \\"quote\\" \'apos\' \\u00e9\\ud83d\\ude00 \\u0001"');
  let b = set(template, 'uid', '"CbigValues00000002"');
  b = set(b, 'ts', '1710252000.000000001');
  b = set(b, 'duration', '-0.000000001');
  b = set(b, 'history', 'null');
  return [a, b];
}

before(async () => {
  if (clickhouseSkip) return;
  dir = mkdtempSync(join(tmpdir(), 'tcpkit-load-'));
  server = await ClickHouseServer.start(join(dir, 'ch'));
  genPcap = join(dir, 'busy.pcap');
  await generateCapture(genPcap, { packets: 60_000, seed: 3, quiet: true });
  const l7 = run('tcpanalyze', ['--decode', 'all', ...L7_CAPTURES]);
  assert.equal(l7.status, 0, l7.stderr);
  const gen = run('tcpanalyze', [genPcap]);
  assert.equal(gen.status, 0, gen.stderr);
  const genLines = gen.stdout.split('\n').filter((l) => l !== '');
  lines = [...l7.stdout.split('\n').filter((l) => l !== ''), ...craftedLines(genLines[0]!), ...genLines];
  allFile = join(dir, 'all.ndjson');
  writeFileSync(allFile, lines.join('\n') + '\n');
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const url = (db: string): string => `${server!.url}/${db}`;

/** A SELECT list that brings every field back in exact text (64-bit integers and decimals as strings). */
function exactSelect(schema: RecordSchema): string {
  return schema.fields
    .map((f) => {
      if (f.type === 'int' || f.type === 'time' || f.type === 'seconds') return `toString(${f.name}) AS ${f.name}`;
      if (f.type === 'list' && f.items === 'int') return `arrayMap(x -> toString(x), ${f.name}) AS ${f.name}`;
      return f.name;
    })
    .join(', ');
}

/** A value normalised for comparison: integers as decimal text, times in nanoseconds, bools 0/1, lists of text. */
function norm(f: FieldDef, v: unknown, raw: string | null): unknown {
  if (f.type === 'list') return ((v as unknown[] | null) ?? []).map((x) => String(x));
  if (v === null || v === undefined) return null;
  if (f.type === 'int') return BigInt(raw ?? (v as string)).toString();
  if (f.type === 'time' || f.type === 'seconds') return nanos(raw ?? (v as string)).toString();
  if (f.type === 'bool') return v === true || v === 1 ? 1 : 0;
  // 18.16 parses Float64 text to within one unit in the last place (a faster, not correctly rounded parser): 15 digits compared
  if (f.type === 'float') return Number(Number(v).toPrecision(15));
  return v;
}

/** The records of a kind, normalised and sorted. */
function expectedRows(schema: RecordSchema, src: readonly string[]): string[] {
  return src
    .filter((l) => kindOf(l) === schema.kind)
    .map((l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify(schema.fields.map((f) => norm(f, o[f.name], f.type === 'int' || f.type === 'time' || f.type === 'seconds' ? rawValue(l, f.name) : null)));
    })
    .sort();
}

async function tableRows(schema: RecordSchema, table: string): Promise<string[]> {
  const rows = await server!.rows(`SELECT ${exactSelect(schema)} FROM ${table} FINAL`);
  return rows.map((r) => JSON.stringify(schema.fields.map((f) => norm(f, r[f.name], null)))).sort();
}

async function scalar(sql: string): Promise<string> {
  return (await server!.query(sql + ' FORMAT TSV')).trim();
}

test('records load into one table per kind created from the schema: every row equals its record, 64-bit integers and 9-digit times exact', { skip: clickhouseSkip }, async () => {
  const r = run('tcpload', ['--create', url('t1'), allFile], { cwd: dir, timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  for (const kind of ['conn', 'http', 'dns', 'ssl']) {
    const n = lines.filter((l) => kindOf(l) === kind).length;
    assert.ok(n > 0, `the input has ${kind} records`);
    assert.match(r.stdout, new RegExp(`^count: t1\\.${tableName(kind)}: ${n} rows, as expected$`, 'm'));
    const schema = SCHEMAS.get(kind)!;
    assert.deepEqual(await tableRows(schema, `t1.${tableName(kind)}`), expectedRows(schema, lines), `${kind}: the rows equal the records`);
  }
  // sums computed independently from the lines' text
  const conns = lines.filter((l) => kindOf(l) === 'conn');
  for (const f of ['orig_bytes', 'resp_bytes', 'orig_ip_bytes', 'orig_pkts', 'resp_payload_bytes']) {
    // summed as Decimal128: an Int64 sum of the crafted extremes would wrap
    assert.equal(await scalar(`SELECT toString(sum(toDecimal128(${f}, 0))) FROM t1.conns FINAL`), sumInt(conns, f).toString(), `sum(${f})`);
  }
  assert.equal(await scalar('SELECT toString(sum(ts)) FROM t1.conns FINAL').then((s) => nanos(s)), sumNanos(conns, 'ts'), 'sum(ts) to the nanosecond');
  assert.equal(await scalar("SELECT toString(resp_bytes), toString(orig_bytes), toString(orig_ip_bytes), toString(ts) FROM t1.conns WHERE uid = 'CbigValues00000001'"), '9223372036854775807\t9007199254740993\t-9223372036854775808\t1710252000.123456789');
  const encap = (await server!.rows("SELECT encap FROM t1.conns WHERE uid = 'CbigValues00000001'"))[0]!['encap'];
  assert.equal(encap, 'tab\there\nnew line \\ back "quote" \'apos\' \u00e9\u{1F600} \u0001', 'escapes, quotes and characters outside ASCII');
  // the rows came from this file
  assert.equal(await scalar(`SELECT uniqExact(_source) FROM t1.conns`), '1');
  assert.equal(await scalar(`SELECT any(_source) FROM t1.conns`), allFile);
});

test('loading the same records again leaves each record once: copies are merged away (FINAL now, OPTIMIZE on disk)', { skip: clickhouseSkip }, async () => {
  for (let i = 0; i < 2; i++) {
    const r = run('tcpload', ['--create', '--batch-rows', '700', url('t2'), allFile], { cwd: dir, timeoutMs: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^count: t2\.conns: \d+ rows, as expected/m);
  }
  const n = lines.filter((l) => kindOf(l) === 'conn').length;
  assert.equal(await scalar('SELECT count() FROM t2.conns FINAL'), String(n));
  await server!.query('OPTIMIZE TABLE t2.conns FINAL');
  assert.equal(await scalar('SELECT count() FROM t2.conns'), String(n), 'after OPTIMIZE ... FINAL the copies are gone from disk');
  const schema = SCHEMAS.get('http')!;
  assert.deepEqual(await tableRows(schema, 't2.http'), expectedRows(schema, lines), 'http: pipelined requests sharing a ts stay apart, copies merge');
});

test('captures analysed on the fly load exactly what tcpanalyze writes for them', { skip: clickhouseSkip }, async () => {
  const r = run('tcpload', ['--create', '--decode', 'all', url('t3'), genPcap, ...L7_CAPTURES], { cwd: dir, timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const ref = run('tcpanalyze', ['--decode', 'all', genPcap, ...L7_CAPTURES]);
  const refLines = ref.stdout.split('\n').filter((l) => l !== '');
  for (const kind of ['conn', 'http', 'dns', 'ssl']) {
    const schema = SCHEMAS.get(kind)!;
    assert.deepEqual(await tableRows(schema, `t3.${tableName(kind)}`), expectedRows(schema, refLines), `${kind} rows equal tcpanalyze's records`);
  }
  assert.match(r.stdout, /^count: t3\.conns: \d+ rows, as expected$/m);
});

test("tcpcapture's interim records are replaced by their connection's final record, in one load or across files", { skip: clickhouseSkip }, async () => {
  const conns = lines.filter((l) => kindOf(l) === 'conn' && /"end_reason":"(fin|rst_orig|rst_resp)"/.test(l)).slice(0, 3);
  assert.equal(conns.length, 3);
  const interim = conns.map((l) =>
    l
      .replace(/"end_reason":"[a-z_]+"/, '"end_reason":"interim"')
      .replace(/"orig_pkts":\d+/, '"orig_pkts":1')
      .replace(/"last_ts":([0-9.]+)/, (_m, t: string) => `"last_ts":${t.split('.')[0]}.000000000`),
  );
  const a = join(dir, 'rot-1.ndjson');
  const b = join(dir, 'rot-2.ndjson');
  writeFileSync(a, interim.join('\n') + '\n' + interim.join('\n') + '\n');
  writeFileSync(b, conns.join('\n') + '\n');
  const r = run('tcpload', ['--create', url('t4'), a, b], { cwd: dir, timeoutMs: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^count: t4\.conns: 3 rows, as expected \(9 records, 6 replaced by a later record of their uid\)/m);
  const got = await server!.rows(`SELECT uid, end_reason, toString(orig_pkts) AS p FROM t4.conns FINAL ORDER BY uid`);
  const want = conns.map((l) => ({ uid: JSON.parse(l).uid as string, end_reason: JSON.parse(l).end_reason as string, p: rawValue(l, 'orig_pkts')! })).sort((x, y) => (x.uid < y.uid ? -1 : 1));
  assert.deepEqual(got, want);
});

test('a server killed with -9 mid-load and restarted: the load retries and ends with every record once', { skip: clickhouseSkip }, async () => {
  const state = join(dir, 'kill-server.state.json');
  const conns = lines.filter((l) => kindOf(l) === 'conn');
  const input = join(dir, 'conns.ndjson');
  writeFileSync(input, conns.join('\n') + '\n');
  assert.equal(run('tcpload', ['--create', url('t5')], { cwd: dir }).status, 0, 'tables created');
  const p = runAsync('tcpload', ['--batch-rows', '60', '--backoff', '100ms', '--max-backoff', '1s', '--retries', '40', '--state', state, url('t5'), input], { cwd: dir });
  // wait for two committed batches, then kill the server and bring it back
  let ended = false;
  void p.done.then(() => (ended = true));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const batches = existsSync(state) ? (JSON.parse(readFileSync(state, 'utf8')) as { inputs: { batches: number }[] }).inputs[0]!.batches : 0;
    if (batches >= 2) break;
    if (ended) assert.fail(`the load ended before the server was killed: ${(await p.done).stderr}`);
    assert.ok(Date.now() < deadline, 'the load committed batches');
    await sleep(20);
  }
  await server!.kill9();
  await sleep(700);
  await server!.restart();
  const res = await p.done;
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stderr, /cannot reach the server: .*; retrying in [\d.]+ s \(attempt 2 of 41\)/);
  assert.match(res.stdout, new RegExp(`^count: t5\\.conns: ${conns.length} rows, as expected`, 'm'));
  const schema = SCHEMAS.get('conn')!;
  assert.deepEqual(await tableRows(schema, 't5.conns'), expectedRows(schema, conns), 'nothing lost, nothing doubled');
  assert.equal(await scalar('SELECT toString(sum(orig_bytes)) FROM t5.conns FINAL'), sumInt(conns, 'orig_bytes').toString());
  assert.ok(!existsSync(state), 'the state file is removed once the load is complete and counted');
});

test('tcpload killed mid-load and run again resumes after what its state file says is committed', { skip: clickhouseSkip }, async () => {
  const state = join(dir, 'kill-load.state.json');
  const conns = lines.filter((l) => kindOf(l) === 'conn');
  const input = join(dir, 'conns.ndjson');
  writeFileSync(input, conns.join('\n') + '\n');
  const args = ['--create', '--batch-rows', '50', '--state', state, url('t6'), input];
  const p = runAsync('tcpload', args, { cwd: dir });
  let ended = false;
  void p.done.then(() => (ended = true));
  const deadline = Date.now() + 120_000;
  let committed = 0;
  for (;;) {
    committed = existsSync(state) ? (JSON.parse(readFileSync(state, 'utf8')) as { inputs: { records: number }[] }).inputs[0]!.records : 0;
    if (committed >= 100) break;
    if (ended) assert.fail(`the load ended before it was killed: ${(await p.done).stderr}`);
    assert.ok(Date.now() < deadline, 'the load committed batches');
    await sleep(10);
  }
  p.kill('SIGKILL');
  await p.done;
  const saved = (JSON.parse(readFileSync(state, 'utf8')) as { inputs: { records: number }[] }).inputs[0]!.records;
  assert.ok(saved >= 100 && saved < conns.length, `killed mid-load (${saved} of ${conns.length} committed)`);
  const r = run('tcpload', args, { cwd: dir, timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`conns\\.ndjson: resuming after ${saved} committed records`));
  assert.match(r.stdout, new RegExp(`^t6\\.conns: ${conns.length - saved} rows sent \\(${conns.length} records read, ${saved} committed by an earlier run\\)$`, 'm'));
  assert.match(r.stdout, new RegExp(`^count: t6\\.conns: ${conns.length} rows, as expected`, 'm'));
  const schema = SCHEMAS.get('conn')!;
  assert.deepEqual(await tableRows(schema, 't6.conns'), expectedRows(schema, conns));
});

test('usage and server errors: one line each, exit 2 for usage, 1 for the server', { skip: clickhouseSkip }, async () => {
  const bad = run('tcpload', ['http://nowhere/a/b', allFile]);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'tcpload: http://nowhere/a/b: expected one path part, DATABASE or DATABASE.TABLE [USAGE_BAD_URL]\n');
  const two = run('tcpload', ['--records', 'conn,http', url('x.y'), allFile]);
  assert.equal(two.status, 2);
  assert.match(two.stderr, /names one table: load one record kind into it \(--records\), or name only the database for one table per kind \[USAGE_ONE_KIND\]/);
  const missing = run('tcpload', [url('nodb.conn'), allFile], { cwd: dir });
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, `tcpload: table nodb.conn does not exist on 127.0.0.1:${server!.ports.http} (add --create to create it from the schema) [LOAD_NO_TABLE]\n`);
  const port = await freePort();
  const down = run('tcpload', ['--retries', '2', '--backoff', '10ms', `clickhouse://127.0.0.1:${port}/x`, allFile], { cwd: dir });
  assert.equal(down.status, 1);
  const errLines = down.stderr.split('\n').filter((l) => l !== '');
  assert.equal(errLines.length, 3, down.stderr);
  assert.match(errLines[0]!, /^tcpload: reading the columns of x\.conns: cannot reach the server: connect ECONNREFUSED 127\.0\.0\.1:\d+; retrying in [\d.]+ s \(attempt 2 of 3\)$/);
  assert.match(errLines[2]!, /^tcpload: reading the columns of x\.conns: cannot reach the server: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(gave up after 3 attempts\) \[CLICKHOUSE_UNREACHABLE\]$/);
});

test("tcpquery's clickhouse dialect is the table tcpload creates, and every kind's statement (tcp-info's too) runs on the server", { skip: clickhouseSkip }, async () => {
  await server!.query('CREATE DATABASE IF NOT EXISTS ddl');
  for (const t of queryTables()) {
    await server!.query(renderDdl(t, 'clickhouse', { table: `ddl.${t.table}` }));
    const cols = await server!.rows(`SELECT name, type FROM system.columns WHERE database = 'ddl' AND table = '${t.table}'`);
    for (const c of t.columns) assert.ok(cols.some((x) => x['name'] === c.name), `${t.kind}: column ${c.name}`);
  }
  // the same statement tcpload --create ran for conns (t1, created by the first test)
  const created = await scalar("SELECT engine_full FROM system.tables WHERE database = 't1' AND name = 'conns'");
  const printed = await scalar("SELECT engine_full FROM system.tables WHERE database = 'ddl' AND name = 'conns'");
  assert.equal(printed, created);
  assert.match(created, /^ReplacingMergeTree\(_version\) PARTITION BY toYYYYMM\(toDate\(toDateTime\(toUInt32\(ts\)\)\)\) ORDER BY \(toDate\(toDateTime\(toUInt32\(ts\)\)\), uid\)/);
  const a = await server!.rows("SELECT name, type FROM system.columns WHERE database = 't1' AND table = 'conns'");
  const b = await server!.rows("SELECT name, type FROM system.columns WHERE database = 'ddl' AND table = 'conns'");
  assert.deepEqual(b, a);
});

test('the count check fails (exit 1, both numbers) when the table holds other rows under an input\'s name, and keeps the state file for a rerun', { skip: clickhouseSkip }, async () => {
  const conns = lines.filter((l) => kindOf(l) === 'conn');
  const input = join(dir, 'renamed.ndjson');
  const state = join(dir, 'renamed.state.json');
  writeFileSync(input, conns.slice(0, 40).join('\n') + '\n');
  assert.equal(run('tcpload', ['--create', '-q', url('t8'), input], { cwd: dir }).status, 0);
  // another file under the same name, of the same time range (other connections: other uids): its 40 records are there, and so are the first file's 40
  writeFileSync(input, conns.slice(0, 40).map((l) => l.replace('"uid":"C', '"uid":"X')).join('\n') + '\n');
  const r = run('tcpload', ['--state', state, url('t8'), input], { cwd: dir });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^count: t8\.conns: 80 rows where 40 were expected: 40 more \(rows of an earlier load from an input of the same name\?\)$/m);
  assert.match(r.stderr, new RegExp(`what was committed is recorded in ${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}; the same command resumes`));
  assert.ok(existsSync(state), 'the state file stays when the check fails');
});

test('a user and password from the URL or the environment; a wrong password is one line (exit 1), and the password is never printed', { skip: clickhouseSkip }, async () => {
  const conns = lines.filter((l) => kindOf(l) === 'conn').slice(0, 20);
  const input = join(dir, 'auth.ndjson');
  writeFileSync(input, conns.join('\n') + '\n');
  const host = `127.0.0.1:${server!.ports.http}`;
  const enc = encodeURIComponent(LOADER_USER.password);
  const ok = run('tcpload', ['--create', `clickhouse://${LOADER_USER.name}:${enc}@${host}/t9`, input], { cwd: dir });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^count: t9\.conns: 20 rows, as expected$/m);
  const { spawnSync } = await import('node:child_process');
  const { bin } = await import('./_cli.js');
  const viaEnv = spawnSync(process.execPath, [bin('tcpload'), `clickhouse://${host}/t9`, input], { cwd: dir, encoding: 'utf8', env: { ...process.env, CLICKHOUSE_USER: LOADER_USER.name, CLICKHOUSE_PASSWORD: LOADER_USER.password } });
  assert.equal(viaEnv.status, 0, viaEnv.stderr);
  const wrong = run('tcpload', [`clickhouse://${LOADER_USER.name}:nope@${host}/t9`, input], { cwd: dir });
  assert.equal(wrong.status, 1);
  assert.equal(wrong.errLines.length, 1, wrong.stderr);
  assert.match(wrong.errLines[0]!, /^tcpload: reading the columns of t9\.conns: the server answered: .*[Pp]assword.* \(code 19[23]\) \[CLICKHOUSE_AUTH\]$/);
  for (const r of [ok, viaEnv, wrong]) assert.ok(!(r.stdout + r.stderr).includes(LOADER_USER.password) && !(r.stdout + r.stderr).includes('nope'), 'no password in the output');
});
