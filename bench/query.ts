/**
 * The SQL and Parquet section of `npm run bench`: the bench capture's conn
 * records (tcpanalyze's NDJSON, repeated `copies` times) through
 * - tcpquery: a group-by with a quantile (load + query, wall time, rows/s);
 * - Parquet writers on the same rows: tcpkit's streaming writer
 *   (src/output/parquet.ts) and DuckDB's COPY ... (FORMAT PARQUET, zstd) from
 *   a loaded table: rows/s, MB/s of Parquet written, file size.
 * Skipped with a reason when the optional DuckDB package is not installed.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT, fmtNum, table } from './_util.js';
import { ParquetWriter } from '../src/output/parquet.js';
import { CONN_SCHEMA } from '../src/records/index.js';
import { recordTable } from '../src/records/ddl.js';
import { recordRow } from '../src/output/parquet-rows.js';

const TCPANALYZE_JS = join(REPO_ROOT, 'dist', 'cli', 'tcpanalyze.js');
const TCPQUERY_JS = join(REPO_ROOT, 'dist', 'cli', 'tcpquery.js');

export interface QueryBenchGoal {
  goal: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

export async function runQueryBench(o: { capture: string; outDir: string; copies: number }): Promise<QueryBenchGoal[]> {
  console.log('\n== SQL (tcpquery) and Parquet ==');
  if (!existsSync(join(REPO_ROOT, 'node_modules', '@duckdb', 'node-api'))) {
    console.log('  skipped: the optional package @duckdb/node-api is not installed');
    return [{ goal: 'tcpquery group-by', status: 'SKIP', detail: '@duckdb/node-api not installed' }];
  }
  const one = join(o.outDir, 'query-conns-1x.jsonl');
  if (!existsSync(one) || statSync(one).mtimeMs < statSync(o.capture).mtimeMs) {
    const r = spawnSync(process.execPath, [TCPANALYZE_JS, '--format', 'ndjson', '-o', one, o.capture], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error('tcpanalyze failed on the bench capture');
  }
  const text = readFileSync(one, 'utf8');
  const recs = join(o.outDir, `query-conns-${o.copies}x.jsonl`);
  writeFileSync(recs, '');
  for (let c = 0; c < o.copies; c++) appendFileSync(recs, text);
  const lines = text.split('\n').filter((l) => l !== '').length * o.copies;
  const mb = statSync(recs).size / 1e6;
  console.log(`  records: ${fmtNum(lines)} conn records (${o.copies} copies of the bench capture's), ${fmtNum(mb, 1)} MB of NDJSON`);

  // tcpquery: load + group-by, wall time
  const sql = 'SELECT resp_p, conn_state, count(*), quantile_cont(handshake_ms, 0.99), sum(orig_bytes) FROM conns GROUP BY ALL';
  const t0 = performance.now();
  const q = spawnSync(process.execPath, [TCPQUERY_JS, sql, recs], { maxBuffer: 1 << 26 });
  const qs = (performance.now() - t0) / 1000;
  if (q.status !== 0) throw new Error(`tcpquery failed: ${q.stderr.toString()}`);
  const pq0 = join(o.outDir, 'query-conns.parquet');
  spawnSync(process.execPath, [TCPQUERY_JS, 'SELECT * FROM conns', recs, '-o', pq0]);
  const t1 = performance.now();
  const q2 = spawnSync(process.execPath, [TCPQUERY_JS, sql, pq0], { maxBuffer: 1 << 26 });
  const qs2 = (performance.now() - t1) / 1000;
  if (q2.status !== 0) throw new Error(`tcpquery failed: ${q2.stderr.toString()}`);

  // Parquet writers on parsed rows (the parse is outside the timing)
  const cols = recordTable(CONN_SCHEMA).columns;
  const rows = text.split('\n').filter((l) => l !== '').map((l) => recordRow(recordTable(CONN_SCHEMA), JSON.parse(l) as Record<string, unknown>, l));
  let bytes = 0;
  const t2 = performance.now();
  const w = new ParquetWriter((b) => void (bytes += b.length), cols, {});
  for (let c = 0; c < o.copies; c++) for (const r of rows) w.write(r);
  w.end();
  const ws = (performance.now() - t2) / 1000;
  const t3 = performance.now();
  const pq1 = join(o.outDir, 'query-conns-copy.parquet');
  const d = spawnSync(process.execPath, [TCPQUERY_JS, 'SELECT * FROM conns', pq0, '-o', pq1]);
  const ds = (performance.now() - t3) / 1000;
  if (d.status !== 0) throw new Error(`DuckDB COPY failed: ${d.stderr.toString()}`);
  console.log(
    table(
      ['what', 'seconds', 'rows/s', 'MB/s', 'file MB'],
      [
        ['tcpquery group-by over NDJSON (load + query)', fmtNum(qs, 2), fmtNum(lines / qs), fmtNum(mb / qs, 1), ''],
        ['tcpquery group-by over Parquet', fmtNum(qs2, 2), fmtNum(lines / qs2), '', fmtNum(statSync(pq0).size / 1e6, 1)],
        ['Parquet write, tcpkit writer (zstd)', fmtNum(ws, 2), fmtNum(lines / ws), fmtNum(bytes / 1e6 / ws, 1), fmtNum(bytes / 1e6, 1)],
        ['Parquet write, DuckDB COPY from Parquet (process incl.)', fmtNum(ds, 2), fmtNum(lines / ds), fmtNum(statSync(pq1).size / 1e6 / ds, 1), fmtNum(statSync(pq1).size / 1e6, 1)],
      ],
    ),
  );
  for (const p of [recs, pq0, pq1]) rmSync(p, { force: true });
  return [
    { goal: 'tcpquery group-by over the bench records', status: 'PASS', detail: `${fmtNum(lines / qs)} rows/s from NDJSON, ${fmtNum(lines / qs2)} rows/s from Parquet` },
    { goal: 'Parquet write', status: 'PASS', detail: `${fmtNum(lines / ws)} rows/s, ${fmtNum(bytes / 1e6 / ws, 1)} MB/s of Parquet` },
  ];
}
