/**
 * tcpsummary on transaction records: golden summaries (JSON and table,
 * grouped by host and route) of the HTTP fixtures decoded by tcpanalyze,
 * and the figures checked against the records themselves (counts, failures,
 * nearest-rank latency percentiles).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expectGolden, run } from './_cli.js';
import { L7 } from './_l7-helpers.js';

let records = '';
const CAPTURES = readdirSync(L7).filter((n) => /^(zeek|deepflow)__http-.*\.pcap$/.test(n)).sort().map((n) => join(L7, n));

before(() => {
  const r = run('tcpanalyze', ['-q', '--decode', 'http', '--decode-port', 'http:1234,9080,20880', '--format', 'ndjson', ...CAPTURES]);
  assert.equal(r.status, 0, r.stderr);
  records = r.stdout;
});

function stable(json: string): string {
  const v = JSON.parse(json) as { summary: Record<string, unknown> };
  delete v.summary['version'];
  v.summary['inputs'] = ['<stdin>'];
  return JSON.stringify(v, null, 2) + '\n';
}

test('a summary of HTTP transactions grouped by host and route equals its golden files (JSON and table)', () => {
  const j = run('tcpsummary', ['--by', 'host,route', '--format', 'json'], { input: records });
  assert.equal(j.status, 0, j.stderr);
  expectGolden('tcpsummary/l7-http-by-host-route.json', stable(j.stdout));
  const t = run('tcpsummary', ['--by', 'host,route', '--format', 'table'], { input: records });
  assert.equal(t.status, 0, t.stderr);
  expectGolden('tcpsummary/l7-http-by-host-route.txt', t.stdout);
});

test('per kind: count, failures and nearest-rank latency percentiles are those of the records', () => {
  const rs = records.split('\n').filter((l) => l.startsWith('{"record":"http"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const s = JSON.parse(run('tcpsummary', ['--format', 'json'], { input: records }).stdout) as { transactions: { http: Record<string, unknown> } };
  const h = s.transactions.http;
  assert.equal(h['count'], rs.length);
  assert.equal(h['failed'], rs.filter((r) => r['failed'] === true).length);
  const lat = rs.map((r) => r['latency_ms']).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  const rank = (p: number): number => Math.round(lat[Math.max(0, Math.ceil((p / 100) * lat.length) - 1)]! * 1000) / 1000;
  const l = h['latency_ms'] as Record<string, number>;
  assert.deepEqual([l['count'], l['p50'], l['p90'], l['p99'], l['max']], [lat.length, rank(50), rank(90), rank(99), rank(100)]);
  const statusClasses: Record<string, number> = {};
  for (const r of rs) if (typeof r['status_code'] === 'number') statusClasses[`${Math.floor(r['status_code'] / 100)}xx`] = (statusClasses[`${Math.floor(r['status_code'] / 100)}xx`] ?? 0) + 1;
  assert.deepEqual(h['outcomes'], Object.fromEntries(Object.entries(statusClasses).sort()));
  // connection records still count as connections, separately
  const conns = records.split('\n').filter((l) => l.startsWith('{"record":"conn"')).length;
  assert.equal((s as unknown as { filters: { all: { connections: number } } }).filters.all.connections, conns);
});

test('--by with a field no record has is a usage error; with a transaction field, conn records are not grouped', () => {
  const bad = run('tcpsummary', ['--by', 'hots']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--by: unknown field "hots"/);
  const s = JSON.parse(run('tcpsummary', ['--by', 'method', '--format', 'json'], { input: records }).stdout) as Record<string, unknown>;
  assert.equal(s['by'], undefined);
  const groups = (s['transactions_by'] as { groups: { kind: string; key: string; count: number; total_time_ms: number; time_share: number }[] }).groups;
  // ranked by the time spent (pt-query-digest's order), each with its share of the kind's total
  assert.ok(groups.every((g) => g.kind === 'http'));
  assert.ok(['GET', 'POST'].every((m) => groups.some((g) => g.key === m)));
  for (let i = 1; i < groups.length; i++) assert.ok(groups[i - 1]!.total_time_ms >= groups[i]!.total_time_ms, 'ranked by total time');
  const shares = groups.reduce((a, g) => a + g.time_share, 0);
  assert.ok(Math.abs(shares - 1) < 1e-3, `shares sum to ${shares}`);
});

test('--by fingerprint over MySQL, PostgreSQL and MongoDB records: rows and bytes returned per group are the sums of the records (result_rows, rows, docs_returned; response_bytes, reply_bytes)', () => {
  const db = readdirSync(L7).filter((n) => /^(zeek|deepflow)__(mysql|postgre|mongo)/.test(n) && /\.pcapn?g?$/.test(n)).sort().map((n) => join(L7, n));
  assert.ok(db.length >= 10, `${db.length} database captures`);
  const r = run('tcpanalyze', ['-q', '--decode', 'mysql,postgresql,mongodb', '--records', 'mysql,postgresql,mongodb', '--format', 'ndjson', ...db]);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  const recs = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const FIELDS: Record<string, [string, string]> = { mysql: ['result_rows', 'response_bytes'], postgresql: ['rows', 'response_bytes'], mongodb: ['docs_returned', 'reply_bytes'] };
  const want = new Map<string, { rows: number; bytes: number; count: number }>();
  for (const x of recs) {
    const [rf, bf] = FIELDS[String(x['record'])]!;
    const key = `${String(x['record'])} ${x['fingerprint'] === null ? '' : String(x['fingerprint'])}`;
    const w = want.get(key) ?? { rows: 0, bytes: 0, count: 0 };
    w.rows += typeof x[rf] === 'number' ? (x[rf] as number) : 0;
    w.bytes += typeof x[bf] === 'number' ? (x[bf] as number) : 0;
    w.count++;
    want.set(key, w);
  }
  const s = run('tcpsummary', ['--by', 'fingerprint', '--top', '0', '--format', 'json'], { input: r.stdout });
  assert.equal(s.status, 0, s.stderr);
  const groups = (JSON.parse(s.stdout) as { transactions_by: { groups: { kind: string; key: string; count: number; rows_returned: number; bytes_returned: number }[] } }).transactions_by.groups;
  const got = new Map(groups.map((g) => [`${g.kind} ${g.key}`, { rows: g.rows_returned, bytes: g.bytes_returned, count: g.count }]));
  assert.deepEqual(got, want);
  assert.ok([...want.values()].some((w) => w.rows > 0) && [...want.values()].some((w) => w.bytes > 0));
});
