/**
 * tcpsummary: golden summaries (JSON, table, --by) of records from the
 * recorded captures, whose handshakes succeed, are refused, time out and get
 * ICMP unreachables; its tcpeek counts checked against tcpanalyze's own
 * handshake summary (a separate code path: handshake events, not records);
 * percentiles against the records; --since against the summary of the
 * difference.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIX } from './_fixtures.js';
import { makeTempDir } from './_capture-helpers.js';
import { expectGolden, run } from './_cli.js';

let dir = '';
let cleanup = (): void => {};
let all = '';
const REC = join(FIX, 'recorded');
const CAPTURES = [...readdirSync(REC).filter((n) => n.endsWith('.pcap')).map((n) => join(REC, n)), join(FIX, 'tcpreplay__test.pcap'), join(FIX, 'zeek__tcp-ssh-dups.pcap')];
const FILTERS = ['--local', '192.0.2.0/24,2001:db8::/32,172.16.0.0/12', 'web:TX@%:80:8080', 'refused:TX@192.0.2.2:9:9998:9999,[2001:db8::2]:9', ':TX@%:22'];

function lines(s: string): string[] {
  return s === '' ? [] : s.replace(/\n$/, '').split('\n');
}

/** The summary JSON without the fields that name the tool version. */
function stable(json: string): string {
  const v = JSON.parse(json) as { summary: Record<string, unknown> };
  delete v.summary['version'];
  return JSON.stringify(v, null, 2) + '\n';
}

before(() => {
  ({ dir, cleanup } = makeTempDir('tcpsummary-'));
  for (const c of CAPTURES) {
    const r = run('tcpanalyze', ['-q', '--format', 'ndjson', c]);
    assert.equal(r.status, 0, r.stderr);
    all += r.stdout;
  }
  writeFileSync(join(dir, 'all.ndjson'), all);
});
after(() => cleanup());

test('JSON summary with tcpeek filters and an exclusion equals its golden file.', () => {
  const r = run('tcpsummary', [...FILTERS, join(dir, 'all.ndjson')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  expectGolden('tcpsummary/recorded-filters.json', stable(r.stdout).replaceAll(dir, '<dir>'));
});

test('--format table and --by dst_port equal their golden file.', () => {
  const r = run('tcpsummary', ['--format', 'table', '--by', 'dst_port'], { input: all });
  assert.equal(r.status, 0, r.stderr);
  expectGolden('tcpsummary/recorded-by-dst-port.txt', r.stdout);
});

test("tcpeek counts equal tcpanalyze --format summary's (handshake events) for the same captures and filters.", () => {
  for (const c of CAPTURES) {
    const a = run('tcpanalyze', ['-q', '--format', 'summary', ...FILTERS.slice(0, 2), ...FILTERS.slice(2).flatMap((f) => ['-F', f]), c]);
    assert.equal(a.status, 0, a.stderr);
    const tcpeek = JSON.parse(a.stdout) as Record<string, unknown>[];
    const s = run('tcpsummary', [...FILTERS], { input: run('tcpanalyze', ['-q', c]).stdout });
    const mine = JSON.parse(s.stdout) as { filters: Record<string, { success: unknown; failure: unknown }> };
    for (const entry of tcpeek) {
      const [name, counts] = Object.entries(entry)[0]!;
      assert.deepEqual({ success: mine.filters[name]!.success, failure: mine.filters[name]!.failure }, counts, `${c}: filter ${name}`);
    }
  }
});

test('RTT percentiles are the nearest-rank percentiles of the records\' rtt_ms; counters are sums of the record fields.', () => {
  const recs = lines(all).map((l) => JSON.parse(l) as Record<string, unknown>);
  const s = JSON.parse(run('tcpsummary', ['-f', 'json'], { input: all }).stdout) as { filters: { all: Record<string, any> } };
  const rtts = recs.map((r) => r['rtt_ms']).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  const rank = (p: number): number => rtts[Math.ceil((p / 100) * rtts.length) - 1]!;
  const f = s.filters.all;
  assert.equal(f['rtt_ms'].count, rtts.length);
  assert.deepEqual([f['rtt_ms'].p50, f['rtt_ms'].p90, f['rtt_ms'].p99, f['rtt_ms'].min, f['rtt_ms'].max], [rank(50), rank(90), rank(99), rtts[0], rtts.at(-1)]);
  const sum = (k: string): number => recs.reduce((a, r) => a + (typeof r[k] === 'number' ? (r[k] as number) : 0), 0);
  assert.deepEqual(f['packets'], { orig: sum('orig_pkts'), resp: sum('resp_pkts') });
  assert.deepEqual(f['ip_bytes'], { orig: sum('orig_ip_bytes'), resp: sum('resp_ip_bytes') });
  assert.equal(f['connections'], recs.length);
  assert.deepEqual(f['retransmissions'], { orig: sum('orig_retransmission'), resp: sum('resp_retransmission') });
});

test('--since: the summary of A+B since the summary of A has the counters of the summary of B.', () => {
  const l = lines(all);
  const half = Math.floor(l.length / 2);
  const a = l.slice(0, half).join('\n') + '\n', b = l.slice(half).join('\n') + '\n';
  const sa = run('tcpsummary', ['-f', 'json', '--by', 'conn_state', ...FILTERS], { input: a });
  writeFileSync(join(dir, 'a.json'), sa.stdout);
  const delta = JSON.parse(run('tcpsummary', ['-f', 'json', '--by', 'conn_state', ...FILTERS, '--since', join(dir, 'a.json')], { input: all }).stdout) as { filters: unknown; by: { groups: Record<string, unknown>[] } };
  const sb = JSON.parse(run('tcpsummary', ['-f', 'json', '--by', 'conn_state', ...FILTERS], { input: b }).stdout) as { filters: Record<string, Record<string, unknown>>; by: { groups: Record<string, unknown>[] } };
  for (const f of Object.values(sb.filters)) {
    delete f['rtt_ms'];
    delete f['top_talkers'];
  }
  // a conn_state that only A had is 0 in the delta
  for (const f of Object.values(delta.filters as Record<string, Record<string, Record<string, number>>>)) {
    for (const [k, v] of Object.entries(f['conn_state']!)) if (v === 0) delete f['conn_state']![k];
  }
  assert.deepEqual(delta.filters, sb.filters);
  // groups: those of B, plus zero rows for values only A had
  const byKey = (g: Record<string, unknown>[]): Map<unknown, Record<string, unknown>> => new Map(g.map((x) => [x['key'], x]));
  const db = byKey(delta.by.groups);
  for (const g of sb.by.groups) {
    delete g['rtt_ms'];
    assert.deepEqual(db.get(g['key']), g);
  }
});

test("tcpcapture's interim records are read but not counted (the connection's final record is).", () => {
  const l = lines(all);
  const first = JSON.parse(l[0]!) as Record<string, unknown>;
  const interim = JSON.stringify({ ...first, end_reason: 'interim' });
  const plain = JSON.parse(run('tcpsummary', ['-f', 'json'], { input: all }).stdout) as { summary: Record<string, unknown>; filters: unknown };
  const withInterim = JSON.parse(run('tcpsummary', ['-f', 'json'], { input: interim + '\n' + all }).stdout) as { summary: Record<string, unknown>; filters: unknown };
  assert.deepEqual(withInterim.filters, plain.filters);
  assert.equal(withInterim.summary['records'], l.length + 1);
  assert.equal(withInterim.summary['interim_records'], 1);
});

test('A corrupt middle record is skipped and counted (exit 1); the summary counts every other record.', () => {
  const l = lines(all);
  const bad = [...l.slice(0, 5), '{"record":"conn",', ...l.slice(5)].join('\n') + '\n';
  const r = run('tcpsummary', ['-f', 'json'], { input: bad });
  assert.equal(r.status, 1);
  const s = JSON.parse(r.stdout) as { summary: { records: number; skipped_lines: number } };
  assert.equal(s.summary.records, l.length);
  assert.equal(s.summary.skipped_lines, 1);
  assert.match(r.errLines[0]!, /^tcpsummary: skipped: <stdin>: line 6 \(offset \d+ = 0x[0-9a-f]+\): invalid JSON: .*\[RECORD_BAD_JSON\]$/);
  assert.equal(r.errLines.at(-1), 'tcpsummary: 1 unreadable lines skipped (not counted in the summary)');
});

test('Empty input: a summary of zero records, exit 0; a tcp-info archive or a bad --by field: exit 2.', () => {
  const r = run('tcpsummary', ['-f', 'json'], { input: '' });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { summary: { records: number }; filters: { all: { connections: number; rtt_ms: unknown } } };
  assert.equal(s.summary.records, 0);
  assert.equal(s.filters.all.connections, 0);
  assert.equal(s.filters.all.rtt_ms, null);
  const t = run('tcpsummary', [], { input: '{"Timestamp":"2019-01-01T00:00:00Z","RawIDM":"AA=="}\n' });
  assert.equal(t.status, 2);
  assert.deepEqual(t.errLines, ['tcpsummary: <stdin>: an m-lab tcp-info archive (JSONL), not tcpkit records (NDJSON): csvtool converts it to CSV, tcpfilter selects its sockets [INPUT_WRONG_KIND]']);
  const b = run('tcpsummary', ['--by', 'nope'], { input: '' });
  assert.equal(b.status, 2);
  assert.match(b.stderr, /--by: unknown field "nope"/);
});
