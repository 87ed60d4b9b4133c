/**
 * The ClickHouse section of `npm run bench`, on a single local server
 * started here (Debian's clickhouse-server, its own config on free ports):
 * - tcpload end to end (process start, table check, batches, count check)
 *   over the bench capture's conn records: rows/s, median of `runs`, each
 *   into a new database;
 * - the batch format, measured: the same rows as one INSERT body in
 *   TabSeparated (what tcpload sends, built by its encoder) and in
 *   JSONEachRow (the NDJSON lines as they are), into a `Null` table (the
 *   server's parsing alone) and into tcpload's ReplacingMergeTree; minimum
 *   of `runs` seconds per case.
 * Skipped with a reason when clickhouse-server is not installed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { REPO_ROOT, fmtNum, median, table } from './_util.js';
import { CLICKHOUSE_SERVER, ClickHouseServer } from './_clickhouse-server.js';
import { CONN_SCHEMA } from '../src/records/index.js';
import { recordTable } from '../src/records/ddl.js';
import { clickhouseColumns, clickhouseCreateTable, SOURCE_COLUMN } from '../src/records/ddl-clickhouse.js';
import { ByteBuilder, TsvEncoder } from '../src/output/clickhouse-tsv.js';

const TCPANALYZE_JS = join(REPO_ROOT, 'dist', 'cli', 'tcpanalyze.js');
const TCPLOAD_JS = join(REPO_ROOT, 'dist', 'cli', 'tcpload.js');

export interface ClickHouseBenchGoal {
  goal: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

/** POSTs one body to the server; resolves with the seconds it took (throws with the server's message). */
function post(port: number, query: string, body: Buffer, settings: Record<string, string> = {}): Promise<number> {
  const params = new URLSearchParams({ ...settings, query });
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/?' + params.toString(), agent: false, headers: { 'Content-Length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`${query.slice(0, 60)}: ${Buffer.concat(chunks).toString().trim().slice(0, 300)}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function runClickHouseBench(o: { capture: string; outDir: string; runs: number }): Promise<ClickHouseBenchGoal[]> {
  console.log('\n== ClickHouse (tcpload, single local server) ==');
  if (CLICKHOUSE_SERVER === null) {
    console.log('  skipped: clickhouse-server is not installed (apt-get install clickhouse-server)');
    return [{ goal: 'ClickHouse load', status: 'SKIP', detail: 'clickhouse-server not installed' }];
  }
  const one = join(o.outDir, 'query-conns-1x.jsonl');
  if (!existsSync(one) || statSync(one).mtimeMs < statSync(o.capture).mtimeMs) {
    const r = spawnSync(process.execPath, [TCPANALYZE_JS, '--format', 'ndjson', '-o', one, o.capture], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error('tcpanalyze failed on the bench capture');
  }
  const text = readFileSync(one, 'utf8');
  const lines = text.split('\n').filter((l) => l !== '');
  const mb = Buffer.byteLength(text) / 1e6;
  console.log(`  records: ${fmtNum(lines.length)} conn records, ${fmtNum(mb, 1)} MB of NDJSON`);

  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-bench-ch-'));
  const server = await ClickHouseServer.start(join(dir, 'ch'));
  const port = server.ports.http;
  try {
    // tcpload end to end
    const loads: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [TCPLOAD_JS, '--create', '-q', `${server.url}/bench${i}`, one], { cwd: dir, maxBuffer: 1 << 24 });
      const s = (performance.now() - t0) / 1000;
      if (r.status !== 0) throw new Error(`tcpload failed: ${r.stderr.toString()}`);
      if (!/count: bench\d+\.conns: \d+ rows, as expected/.test(r.stdout.toString())) throw new Error(`tcpload's count check: ${r.stdout.toString()}`);
      loads.push(s);
    }
    const loadS = median(loads);

    // the batch format: one body per format, the same rows
    const def = recordTable(CONN_SCHEMA);
    const columns = [...CONN_SCHEMA.fields.map((f) => f.name), SOURCE_COLUMN];
    const enc = new TsvEncoder(CONN_SCHEMA, columns);
    const tsvOut = new ByteBuilder(1 << 24);
    const buf = Buffer.from(text);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      if (nl > start) enc.jsonLine(buf, start, nl, one, tsvOut);
      start = nl + 1;
    }
    const tsv = Buffer.from(tsvOut.view());
    const json = buf;
    await server.query('CREATE DATABASE IF NOT EXISTS fmt');
    const nullCols = clickhouseColumns(def)
      .filter((c) => c.materialized === undefined)
      .map((c) => `${c.name} ${c.type}`)
      .join(', ');
    await server.query(`CREATE TABLE fmt.nul (${nullCols}) ENGINE = Null`);
    const cases: { what: string; sql: string; body: Buffer; settings: Record<string, string>; setup?: () => Promise<void> }[] = [];
    const colList = columns.join(', ');
    for (const target of ['nul', 'rmt']) {
      cases.push({ what: `TabSeparated into ${target === 'nul' ? 'a Null table (parsing)' : 'the ReplacingMergeTree'}`, sql: `INSERT INTO fmt.${target} (${colList}) FORMAT TabSeparated`, body: tsv, settings: {} });
      cases.push({ what: `JSONEachRow into ${target === 'nul' ? 'a Null table (parsing)' : 'the ReplacingMergeTree'}`, sql: `INSERT INTO fmt.${target} FORMAT JSONEachRow`, body: json, settings: { input_format_skip_unknown_fields: '1' } });
    }
    const results: { what: string; secs: number; bytes: number }[] = [];
    for (const c of cases) {
      const times: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        if (c.sql.includes('fmt.rmt')) {
          await server.query('DROP TABLE IF EXISTS fmt.rmt');
          await server.query(clickhouseCreateTable(def, { table: 'fmt.rmt', comments: false }));
        }
        times.push(await post(port, c.sql, c.body, c.settings));
      }
      results.push({ what: c.what, secs: Math.min(...times), bytes: c.body.length });
    }
    console.log(
      table(
        ['what', 'seconds', 'rows/s', 'body MB'],
        [
          [`tcpload end to end (median of ${o.runs}, process start and count check included)`, fmtNum(loadS, 2), fmtNum(lines.length / loadS), fmtNum(mb, 1)],
          ...results.map((r) => [`one INSERT, ${r.what} (min of ${o.runs})`, fmtNum(r.secs, 2), fmtNum(lines.length / r.secs), fmtNum(r.bytes / 1e6, 1)]),
        ],
      ),
    );
    const tsvR = results.find((r) => r.what.startsWith('TabSeparated into the R'))!;
    const jsonR = results.find((r) => r.what.startsWith('JSONEachRow into the R'))!;
    return [
      { goal: 'ClickHouse load (tcpload, single node)', status: 'PASS', detail: `${fmtNum(lines.length / loadS)} rows/s end to end` },
      { goal: 'ClickHouse batch format', status: tsvR.secs <= jsonR.secs ? 'PASS' : 'FAIL', detail: `TabSeparated ${fmtNum(tsvR.secs, 2)} s, JSONEachRow ${fmtNum(jsonR.secs, 2)} s for the same rows into the ReplacingMergeTree` },
    ];
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
