/**
 * tcpquery (DuckDB embedded), the Parquet outputs and the schema printer:
 * answers equal values computed here from the NDJSON records; every view has
 * the schema's types; Parquet written by tcpanalyze, tcpfilter and csvtool
 * reads back through DuckDB as exactly the NDJSON records (64-bit counters,
 * nanosecond times); the DDL of every kind loads records in DuckDB; errors
 * are one line with exit 2 (SQL) or 1 (data); Parquet output keeps memory
 * bounded on a generated capture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './_fixtures.js';
import { GOLDEN, bin, run } from './_cli.js';
import { SCHEMAS } from '../src/records/index.js';
import { DIALECTS, duckdbType, recordTable, renderDdl } from '../src/records/ddl.js';
import { queryTables } from '../src/query/engine.js';
import { generateCapture } from '../bench/gen-capture.js';

const TCPQUERY = join(ROOT, 'dist', 'cli', 'tcpquery.js');
const hasDuckDB = existsSync(join(ROOT, 'node_modules', '@duckdb', 'node-api'));
const skip = hasDuckDB ? false : 'the optional package @duckdb/node-api is not installed';

function tq(args: readonly string[], input = ''): { status: number | null; stdout: string; errLines: string[] } {
  const r = spawnSync(process.execPath, [TCPQUERY, ...args], { input, timeout: 120_000, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString('utf8'), errLines: r.stderr.toString('utf8').split('\n').filter((l) => l !== '') };
}

const rows = (out: string): Record<string, unknown>[] => out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

const CONN_GOLDEN = readdirSync(join(GOLDEN, 'tcpanalyze')).filter((f) => f.endsWith('.ndjson')).map((f) => join(GOLDEN, 'tcpanalyze', f));
const L7_GOLDEN = readdirSync(join(GOLDEN, 'l7')).filter((f) => f.endsWith('.ndjson')).map((f) => join(GOLDEN, 'l7', f));
const FIXTURES = join(ROOT, 'fixtures');
const TCPINFO_ARCHIVE = join(FIXTURES, 'tcpinfo', 'repo', 'ndt-7hhhv_1559749627_0000000000062D84.00000.jsonl.zst');

function quantileCont(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

test('group counts, sums and quantiles equal those computed from the NDJSON records', { skip }, () => {
  const recs = CONN_GOLDEN.flatMap((f) => rows(readFileSync(f, 'utf8'))).filter((r) => r['record'] === 'conn');
  assert.ok(recs.length > 1000);
  const r = tq(['SELECT proto, resp_p, count(*) AS n, sum(orig_pkts) AS pkts, quantile_cont(orig_ip_bytes, 0.9) AS q90 FROM conns GROUP BY ALL ORDER BY proto, resp_p', ...CONN_GOLDEN]);
  assert.equal(r.status, 0, r.errLines.join('\n'));
  const want = new Map<string, { n: number; pkts: number; bytes: number[] }>();
  for (const c of recs) {
    const k = `${String(c['proto'])}/${String(c['resp_p'])}`;
    const g = want.get(k) ?? { n: 0, pkts: 0, bytes: [] };
    g.n++;
    g.pkts += c['orig_pkts'] as number;
    g.bytes.push(c['orig_ip_bytes'] as number);
    want.set(k, g);
  }
  const got = rows(r.stdout);
  assert.equal(got.length, want.size);
  for (const g of got) {
    const w = want.get(`${String(g['proto'])}/${String(g['resp_p'])}`)!;
    assert.ok(w, JSON.stringify(g));
    assert.equal(g['n'], w.n);
    assert.equal(g['pkts'], w.pkts);
    assert.ok(Math.abs((g['q90'] as number) - quantileCont(w.bytes, 0.9)) < 1e-9, `${JSON.stringify(g)} vs ${quantileCont(w.bytes, 0.9)}`);
  }
});

test('SELECT * gives back the NDJSON records byte for byte, of every kind (exact times, durations, lists)', { skip }, () => {
  for (const kind of ['conn', 'http', 'dns', 'ssl']) {
    const files = kind === 'conn' ? CONN_GOLDEN : L7_GOLDEN;
    const want = files.flatMap((f) => readFileSync(f, 'utf8').split('\n')).filter((l) => l.startsWith(`{"record":"${kind}",`));
    assert.ok(want.length > 0, kind);
    const table = recordTable(SCHEMAS.get(kind)!).table;
    const r = tq([`SELECT * FROM ${table}`, ...files]);
    assert.equal(r.status, 0, r.errLines.join('\n'));
    const got = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(got.length, want.length, kind);
    // goldens written before a field was added lack it: the view has it as null
    got.forEach((g, i) => {
      const w = want[i]!;
      assert.equal(w === g ? g : g.replace(/,"(\w+)":null/g, (m, k: string) => (w.includes(`"${k}":`) ? m : '')), w, `${kind} line ${i + 1}`);
    });
  }
});

test('every view has the types of the schema (TIMESTAMP_NS times, BIGINT counters, DECIMAL durations, typed lists)', { skip }, () => {
  const r = tq(["SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name NOT LIKE '\\_tcpkit%' ESCAPE '\\' ORDER BY table_name, ordinal_position"]);
  assert.equal(r.status, 0, r.errLines.join('\n'));
  const got = rows(r.stdout);
  for (const t of queryTables()) {
    const cols = got.filter((g) => g['table_name'] === t.table);
    assert.deepEqual(
      cols.map((c) => [c['column_name'], c['data_type']]),
      t.columns.map((c) => [c.name, duckdbType(c.type)]),
      t.table,
    );
  }
  assert.deepEqual(new Set(got.map((g) => g['table_name'])), new Set(['conns', 'flows', 'http', 'dns', 'ssl', 'tunnels', 'redis', 'mongodb', 'mysql', 'postgresql', 'tcpinfo']));
});

test('Parquet from tcpanalyze, tcpfilter and csvtool reads back as exactly the NDJSON (64-bit counters, ns timestamps)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpquery-pq-'));
  try {
    // a record whose counter needs 64 bits and whose times need nanoseconds
    const line0 = readFileSync(CONN_GOLDEN[0]!, 'utf8').split('\n')[0]!;
    const big = line0
      .replace(/"ts":[0-9.]+/, '"ts":1710252000.123456789')
      .replace(/"orig_bytes":\d+/, '"orig_bytes":9007199254740993')
      .replace(/"resp_ip_bytes":\d+/, '"resp_ip_bytes":9223372036854775807');
    const src = join(dir, 'in.jsonl');
    writeFileSync(src, big + '\n' + readFileSync(CONN_GOLDEN[0]!, 'utf8'));
    const pq = join(dir, 'out.parquet');
    const f = run('tcpfilter', ['-o', pq, src]);
    assert.equal(f.status, 0, f.stderr);
    const back = tq(['SELECT * FROM conns', pq]);
    assert.equal(back.status, 0, back.errLines.join('\n'));
    assert.equal(back.stdout, readFileSync(src, 'utf8'));
    const exact = tq(['SELECT epoch_ns(ts) AS ns, orig_bytes, resp_ip_bytes FROM conns LIMIT 1', pq]);
    assert.equal(exact.stdout, '{"ns":1710252000123456789,"orig_bytes":9007199254740993,"resp_ip_bytes":9223372036854775807}\n');

    // tcpanalyze --format parquet with --decode: one file per kind in a directory
    const cap = join(FIXTURES, 'pcaps', 'deepflow__http-httpv1.pcap');
    if (existsSync(cap)) {
      const out = join(dir, 'kinds') + '/';
      const a = run('tcpanalyze', ['--decode', 'http', '--format', 'parquet', '-o', out, cap]);
      assert.equal(a.status, 0, a.stderr);
      const nd = run('tcpanalyze', ['--decode', 'http', '--format', 'ndjson', cap]).stdout;
      for (const [kind, table] of [['conn', 'conns'], ['http', 'http']] as const) {
        const r = tq([`SELECT * FROM ${table}`, join(out, `${kind}.parquet`)]);
        assert.equal(r.stdout, nd.split('\n').filter((l) => l.startsWith(`{"record":"${kind}",`)).map((l) => l + '\n').join(''), kind);
      }
    }

    // csvtool: tcp-info snapshots as Parquet equal the archive read directly
    const ti = join(dir, 'ti.parquet');
    const c = run('csvtool', ['-o', ti, TCPINFO_ARCHIVE]);
    assert.equal(c.status, 0, c.stderr);
    const direct = tq(['SELECT * FROM tcpinfo', TCPINFO_ARCHIVE]);
    const viaParquet = tq(['SELECT * FROM tcpinfo', ti]);
    assert.equal(direct.status, 0, direct.errLines.join('\n'));
    assert.equal(viaParquet.stdout, direct.stdout);
    // the CSV row count minus the header and the metadata line
    assert.equal(rows(direct.stdout).length, run('csvtool', [TCPINFO_ARCHIVE]).stdout.split('\n').filter((l) => l !== '').length - 2);
    const one = rows(direct.stdout)[0]!;
    assert.equal(one['UUID'], 'ndt-7hhhv_1559749627_0000000000062D84');
    assert.equal(one['IDM.SockID.Cookie'], '62D84');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the tcp-info view has csvtool\'s cells, typed', { skip }, () => {
  const csv = run('csvtool', [TCPINFO_ARCHIVE]).stdout.split('\n');
  const header = csv[0]!.split(',');
  const row = csv[2]!.split(','); // line 1 is the metadata line
  const r = rows(tq(['SELECT * FROM tcpinfo LIMIT 1', TCPINFO_ARCHIVE]).stdout)[0]!;
  header.forEach((h, i) => {
    if (h === 'Timestamp' || (h === 'TCP.LastDataRecv' && i === header.lastIndexOf(h))) return;
    assert.equal(r[h] === null ? '' : String(r[h]), row[i], h);
  });
  assert.equal(String(r['TCP.LastAckRecv']), row[header.lastIndexOf('TCP.LastDataRecv')]);
});

test('the DDL of every kind creates a table in DuckDB that loads the records; every dialect prints every kind', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpquery-ddl-'));
  try {
    for (const d of DIALECTS.keys()) {
      const r = tq(['--schema', 'conns', '--dialect', d]);
      assert.equal(r.status, 0, d);
      assert.equal(r.stdout, renderDdl(queryTables()[0]!, d));
    }
    for (const t of queryTables()) {
      for (const d of DIALECTS.keys()) {
        const text = renderDdl(t, d);
        for (const c of t.columns) assert.ok(text.includes(c.name), `${t.kind} ${d} ${c.name}`);
      }
      const js = JSON.parse(renderDdl(t, 'json-schema')) as { properties: Record<string, unknown> };
      assert.equal(Object.keys(js.properties).length, t.columns.length + (t.kind === 'tcpinfo' ? 0 : 1));
    }
    // records through the DuckDB DDL: a table made from it, filled from tcpkit's Parquet, equals the view
    const src = join(dir, 'l7.jsonl');
    writeFileSync(src, L7_GOLDEN.map((f) => readFileSync(f, 'utf8')).join(''));
    for (const kind of ['conn', 'http', 'dns', 'ssl']) {
      const pq = join(dir, `${kind}.parquet`);
      assert.equal(tq([`SELECT * FROM ${recordTable(SCHEMAS.get(kind)!).table}`, src, '-o', pq]).status, 0);
      const ddl = renderDdl(recordTable(SCHEMAS.get(kind)!), 'duckdb', { table: 'loaded' });
      const sql = 'SELECT * FROM loaded';
      const script = `${ddl} INSERT INTO loaded SELECT * FROM read_parquet('${pq}'); ${sql}`;
      const r = tq(['--', script]);
      assert.equal(r.status, 0, r.errLines.join('\n'));
      assert.equal(r.stdout.split('\n').filter((l) => l !== '').length, readFileSync(src, 'utf8').split('\n').filter((l) => l.startsWith(`{"record":"${kind}",`)).length, kind);
    }
    // the JSON Schema accepts every record line (types checked here)
    for (const kind of ['conn', 'http', 'dns', 'ssl']) {
      const js = JSON.parse(renderDdl(recordTable(SCHEMAS.get(kind)!), 'json-schema')) as { properties: Record<string, { type?: string[]; items?: { type: string } }> };
      for (const line of readFileSync(src, 'utf8').split('\n').filter((l) => l.startsWith(`{"record":"${kind}",`))) {
        const rec = JSON.parse(line) as Record<string, unknown>;
        for (const [k, v] of Object.entries(rec)) {
          const p = js.properties[k];
          assert.ok(p, `${kind}.${k} not in the schema`);
          if (!p.type) continue;
          const t = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) && p.type.includes('integer') ? 'integer' : 'number') : typeof v === 'boolean' ? 'boolean' : 'string';
          assert.ok(p.type.includes(t) || (t === 'integer' && p.type.includes('number')), `${kind}.${k}: ${t} not in ${p.type.join(',')}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors are one line: exit 2 for SQL, exit 1 for data', { skip }, () => {
  const syntax = tq(['SELEC 1']);
  assert.equal(syntax.status, 2);
  assert.equal(syntax.errLines.length, 1);
  assert.match(syntax.errLines[0]!, /^tcpquery: SQL: Parser Error: syntax error at or near "SELEC" .*\[QUERY_SQL_ERROR\]$/);
  const column = tq(['SELECT nope FROM conns']);
  assert.equal(column.status, 2);
  assert.equal(column.errLines.length, 1);
  assert.match(column.errLines[0]!, /Binder Error: Referenced column "nope" not found/);
  const conv = tq(["SELECT CAST('x' AS INTEGER)"]);
  assert.equal(conv.status, 1);
  assert.equal(conv.errLines.length, 1);
  assert.match(conv.errLines[0]!, /Conversion Error.*\[QUERY_DATA_ERROR\]$/);
  const missing = tq(['SELECT 1', '/nonexistent/x.jsonl']);
  assert.notEqual(missing.status, 0);
  assert.equal(missing.errLines.length, 1);
  const bad = tq(['SELECT count(*) AS n FROM conns', '-'], readFileSync(CONN_GOLDEN[0]!, 'utf8') + 'not json\n');
  assert.equal(bad.status, 1);
  assert.deepEqual(rows(bad.stdout), [{ n: readFileSync(CONN_GOLDEN[0]!, 'utf8').split('\n').filter((l) => l !== '').length }]);
  assert.ok(bad.errLines.some((l) => /1 input line skipped/.test(l)), bad.errLines.join('\n'));
  const cap = tq(['SELECT 1', join(FIXTURES, 'pcaps', readdirSync(join(FIXTURES, 'pcaps')).find((f) => f.endsWith('.pcap'))!)]);
  assert.equal(cap.status, 2);
  assert.match(cap.errLines[0]!, /a packet capture: tcpquery reads records/);
});

test('CSV and table outputs, --explain, and records through a pipe', { skip }, () => {
  const nd = readFileSync(CONN_GOLDEN[0]!, 'utf8');
  const csv = tq(['--format', 'csv', 'SELECT uid, ts, duration FROM conns ORDER BY ts, uid LIMIT 2', '-'], nd);
  assert.equal(csv.status, 0);
  assert.equal(csv.stdout.split('\n')[0], 'uid,ts,duration');
  const table = tq(['--format', 'table', 'SELECT uid, orig_bytes FROM conns LIMIT 1', '-'], nd);
  assert.match(table.stdout, /^uid\s+orig_bytes\n/);
  const plan = tq(['--explain', 'SELECT resp_p, count(*) FROM conns GROUP BY 1', '-'], nd);
  assert.equal(plan.status, 0);
  assert.match(plan.stdout, /HASH_GROUP_BY|PERFECT_HASH_GROUP_BY/);
});

test('Parquet output keeps memory bounded: peak RSS no more than NDJSON output on a generated capture', { skip: existsSync('/usr/bin/time') ? false : '/usr/bin/time is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-pqmem-'));
  try {
    const path = join(dir, 'busy.pcap');
    await generateCapture(path, { packets: 300_000, seed: 11 });
    const peak = (args: string[]): number => {
      const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin('tcpanalyze'), ...args], { timeout: 300_000 });
      assert.equal(r.status, 0, r.stderr.toString());
      return Number(r.stderr.toString().trim().split('\n').pop()) / 1024;
    };
    const nd = peak(['--format', 'ndjson', '-o', join(dir, 'c.jsonl'), path]);
    const pq = peak(['-o', join(dir, 'c.parquet'), path]);
    assert.ok(pq <= nd * 1.25 + 40, `parquet ${pq.toFixed(0)} MB vs ndjson ${nd.toFixed(0)} MB`);
    const n = tq(['SELECT count(*) AS n FROM conns', join(dir, 'c.parquet')]);
    assert.deepEqual(rows(n.stdout), [{ n: readFileSync(join(dir, 'c.jsonl'), 'utf8').split('\n').filter((l) => l !== '').length }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
