/**
 * A two-shard ClickHouse cluster started by the test (two local
 * clickhouse-server processes, each with `remote_servers` naming both; no
 * ZooKeeper): a day of captures loaded by tcpload processes running in
 * parallel, one per file, through the Distributed tables, half of them
 * through each server. The cluster's answers to the same questions equal
 * tcpquery's (DuckDB) over tcpanalyze's records of the same files, and every
 * record sits on exactly one shard (the shards' local tables add up).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './_fixtures.js';
import { run } from './_cli.js';
import { ClickHouseServer, allocPorts, clickhouseSkip } from './_clickhouse.js';
import { kindOf, nanos, runAsync } from './_load-helpers.js';
import { generateCapture } from '../bench/gen-capture.js';

const TCPQUERY = join(ROOT, 'dist', 'cli', 'tcpquery.js');
const hasDuckDB = existsSync(join(ROOT, 'node_modules', '@duckdb', 'node-api'));
const skip = clickhouseSkip || (hasDuckDB ? false : 'the optional package @duckdb/node-api (tcpquery) is not installed');

const L7 = join(ROOT, 'fixtures', 'pcaps', 'l7');
const CLUSTER = 'tk';
/** 2024-03-12 00:00 UTC: the generated captures are three parts of that day. */
const DAY = 1710201600;

let dir = '';
const shards: ClickHouseServer[] = [];
let captures: string[] = [];
let recordFiles: string[] = [];

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'tcpkit-cluster-'));
  const ports = [await allocPorts(), await allocPorts()];
  const cluster = { name: CLUSTER, shards: ports };
  shards.push(...(await Promise.all(ports.map((p, i) => ClickHouseServer.start(join(dir, `shard${i + 1}`), p, cluster)))));
  const generated = [0, 1, 2].map((i) => join(dir, `day-part${i + 1}.pcap`));
  for (const [i, f] of generated.entries()) await generateCapture(f, { packets: 12_000, seed: 21 + i, startTime: DAY + i * 8 * 3600, quiet: true });
  captures = [...generated, ...['zeek__http-pipelined-requests.pcap', 'zeek__dns-edns-ecs.pcap', 'zeek__tls-tls13_psk_succesfull.pcap'].map((f) => join(L7, f))];
  // tcpquery's side: tcpanalyze's records of each file, as each tcpload process analyses it
  recordFiles = captures.map((c, i) => {
    const r = run('tcpanalyze', ['--decode', 'all', c]);
    assert.equal(r.status, 0, r.stderr);
    const out = join(dir, `records-${i}.ndjson`);
    writeFileSync(out, r.stdout);
    return out;
  });
});

after(async () => {
  for (const s of shards) await s.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function tcpquery(sql: string): Record<string, unknown>[] {
  const r = spawnSync(process.execPath, [TCPQUERY, '--format', 'ndjson', sql, ...recordFiles], { timeout: 180_000, maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr.toString('utf8'));
  return r.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A value compared between the engines: integers as decimal text (ClickHouse quotes 64-bit ones), other numbers to 15 significant digits. */
function norm(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v).toString() : Number(v.toPrecision(15));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v).toString();
  return v;
}
const normRows = (rows: Record<string, unknown>[]): string[] => rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, norm(v)]))));

/** The same question in each engine's SQL (tables: tcpquery's views, tcpload's Distributed tables of the same names). */
const QUESTIONS: { what: string; duckdb: string; clickhouse: string }[] = [
  {
    what: 'connections per conn_state: count, distinct uids, exact byte sums',
    duckdb: 'SELECT conn_state AS k, count(*) AS n, count(DISTINCT uid) AS u, CAST(sum(orig_bytes) AS VARCHAR) AS ob, CAST(sum(resp_bytes) AS VARCHAR) AS rb FROM conns GROUP BY 1 ORDER BY 1',
    clickhouse: 'SELECT conn_state AS k, count() AS n, uniqExact(uid) AS u, toString(sum(orig_bytes)) AS ob, toString(sum(resp_bytes)) AS rb FROM lt.conns GROUP BY k ORDER BY k',
  },
  {
    what: 'per UTC day and server port: connections, min and max handshake time, retransmissions',
    duckdb: 'SELECT CAST(CAST(ts AS DATE) AS VARCHAR) AS d, resp_p AS p, count(*) AS n, min(handshake_ms) AS lo, max(handshake_ms) AS hi, CAST(sum(orig_retransmission) AS VARCHAR) AS rx FROM conns GROUP BY 1, 2 ORDER BY 1, 2',
    clickhouse: 'SELECT toString(toDate(toDateTime(toUInt32(ts)))) AS d, resp_p AS p, count() AS n, min(handshake_ms) AS lo, max(handshake_ms) AS hi, toString(sum(orig_retransmission)) AS rx FROM lt.conns GROUP BY d, p ORDER BY d, p',
  },
  {
    what: 'HTTP transactions per status: count and response body bytes',
    duckdb: 'SELECT status_code AS s, count(*) AS n, CAST(sum(response_body_len) AS VARCHAR) AS b FROM http GROUP BY 1 ORDER BY 1',
    clickhouse: 'SELECT status_code AS s, count() AS n, toString(sum(response_body_len)) AS b FROM lt.http GROUP BY s ORDER BY s',
  },
  {
    what: 'DNS transactions per query type and response code',
    duckdb: 'SELECT qtype_name AS q, rcode_name AS r, count(*) AS n FROM dns GROUP BY 1, 2 ORDER BY 1, 2',
    clickhouse: 'SELECT qtype_name AS q, rcode_name AS r, count() AS n FROM lt.dns GROUP BY q, r ORDER BY q, r',
  },
  {
    what: 'TLS handshakes per version and server name',
    duckdb: 'SELECT CAST(version AS VARCHAR) AS v, server_name AS sn, count(*) AS n FROM ssl GROUP BY 1, 2 ORDER BY 1, 2',
    clickhouse: 'SELECT toString(version) AS v, server_name AS sn, count() AS n FROM lt.ssl GROUP BY v, sn ORDER BY v, sn',
  },
];

test('a day of captures loaded in parallel into a two-shard cluster: the Distributed tables answer as tcpquery does over the same files, each record on one shard', { skip }, async () => {
  // the tables on each server: <kind>_local, and the Distributed <kind> over the cluster
  for (const s of shards) {
    const r = run('tcpload', ['--create', '--cluster', CLUSTER, `${s.url}/lt`], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
  }
  // one tcpload per capture, all at once, through alternate servers
  const loads = captures.map((c, i) => runAsync('tcpload', ['--cluster', CLUSTER, '--decode', 'all', '--batch-rows', '2000', '--state', join(dir, `load-${i}.state`), `${shards[i % 2]!.url}/lt`, c], { cwd: dir }));
  const results = await Promise.all(loads.map((l) => l.done));
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 0, `${captures[i]}: ${r.stderr}`);
    assert.match(r.stdout, /^count: lt\.conns: \d+ rows, as expected$/m, r.stdout);
  }

  // every record once across the shards: the local tables add up to tcpanalyze's record counts
  const records = recordFiles.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
  for (const kind of ['conn', 'http', 'dns', 'ssl']) {
    const table = kind === 'conn' ? 'conns' : kind;
    const per = await Promise.all(shards.map(async (s) => Number((await s.query(`SELECT count() FROM lt.${table}_local FINAL FORMAT TSV`)).trim())));
    const want = records.filter((l) => kindOf(l) === kind).length;
    assert.ok(want > 0, `the captures have ${kind} records`);
    if (per[0]! + per[1]! !== want) {
      const bySource = await Promise.all(shards.map((s) => s.query(`SELECT _source, count() FROM lt.${table}_local FINAL GROUP BY _source ORDER BY _source FORMAT TSV`)));
      const byFile = recordFiles.map((f, i) => `${captures[i]}\t${readFileSync(f, 'utf8').split('\n').filter((l) => kindOf(l) === kind).length}`);
      assert.fail(`${kind}: rows on the shards (${per.join(' + ')}) are not the ${want} records:\n${bySource.join('')}records:\n${byFile.join('\n')}`);
    }
    if (kind === 'conn') assert.ok(per[0]! > 0 && per[1]! > 0, `both shards hold connections (${per.join(', ')})`);
  }
  // a connection's records sit on one shard: no uid of an http record is on the other shard's conns
  const misplaced = await shards[0]!.query(`SELECT count() FROM lt.http_local WHERE uid NOT IN (SELECT uid FROM lt.conns_local) FORMAT TSV`);
  assert.equal(misplaced.trim(), '0', 'http records are on their connection\'s shard');

  // the questions, both engines
  for (const q of QUESTIONS) {
    const want = tcpquery(q.duckdb);
    assert.ok(want.length > 0, `${q.what}: tcpquery has rows`);
    const got = await shards[1]!.rows(q.clickhouse);
    assert.deepEqual(normRows(got), normRows(want), q.what);
  }
  // time sums to the nanosecond, through the other server
  const dsum = tcpquery('SELECT CAST(sum(epoch_ns(ts)) AS VARCHAR) AS s FROM conns')[0]!['s'] as string;
  const csum = (await shards[0]!.query('SELECT toString(sum(ts)) FROM lt.conns FORMAT TSV')).trim();
  assert.equal(nanos(csum).toString(), dsum, 'sum of ts in nanoseconds');
});
