/**
 * Outputs meant to be compared and kept: `--fields` (a chosen subset of each
 * kind's fields, in the order named), `--sort` (records in a stated order
 * rather than as connections end), `schema_version` in archives, and the
 * same bytes from two runs over the same captures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { ROOT } from './_fixtures.js';
import { makeTempDir } from './_capture-helpers.js';
import { bin, run } from './_cli.js';
import { L7 } from './_l7-helpers.js';
import { SCHEMA_VERSION } from '../src/records/index.js';

const PCAPS = join(ROOT, 'fixtures', 'pcaps');
const SOME = readdirSync(PCAPS)
  .filter((f) => /\.(pcap|pcapng)$/.test(f))
  .sort()
  .slice(0, 12)
  .map((f) => join(PCAPS, f));
const HTTP = [join(L7, 'zeek__http-methods.pcap'), join(PCAPS, 'ndpi__ipp.pcap')];

const lines = (s: string): Record<string, unknown>[] =>
  s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('--fields: each record holds exactly the named fields it has, in the order named, with the values of the full record', () => {
  const full = lines(run('tcpanalyze', ['--format', 'ndjson', '--decode', 'http', ...HTTP]).stdout);
  const r = run('tcpanalyze', ['--format', 'ndjson', '--decode', 'http', '--fields', 'status_code,uid,duration,method', ...HTTP]);
  assert.equal(r.status, 0, r.stderr);
  const cut = lines(r.stdout);
  assert.equal(cut.length, full.length);
  assert.ok(full.some((x) => x['record'] === 'http') && full.some((x) => x['record'] === 'conn'));
  cut.forEach((c, i) => {
    const f = full[i]!;
    const want = f['record'] === 'conn' ? ['record', 'uid', 'duration'] : ['record', 'status_code', 'uid', 'method'];
    assert.deepEqual(Object.keys(c), want, `record ${i}`);
    for (const k of want) assert.deepEqual(c[k], f[k], `record ${i} ${k}`);
  });
});

test('--fields in CSV and in a table: the header is the named fields', () => {
  const csv = run('tcpanalyze', ['--format', 'csv', '--fields', 'uid,orig_bytes,resp_bytes,history', ...SOME]);
  assert.equal(csv.status, 0, csv.stderr);
  const rows = csv.stdout.trimEnd().split('\n');
  assert.equal(rows[0], 'uid,orig_bytes,resp_bytes,history');
  assert.ok(rows.length > 10);
  for (const row of rows.slice(1)) assert.equal(row.split(',').length, 4, row);
  const table = run('tcpanalyze', ['--format', 'table', '--fields', 'uid,orig_bytes,history', ...SOME]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout.split('\n')[0]!, /^uid\s+orig_bytes\s+history$/);
});

test('--fields and --sort with a field no record kind has: one line, exit 2', () => {
  for (const [args, re] of [
    [['--fields', 'uid,nonesuch'], /--fields: "nonesuch" is not a field of conn records/],
    [['--fields', 'method', '--decode', 'http'], /--fields: conn records have none of method \(leave the kind out with --records\)/],
    [['--sort', 'nonesuch'], /--sort: "nonesuch" is not a field of the records written/],
    [['--fields', 'uid', '--sort', 'duration'], /--sort: "duration" is not a field of the records written/],
  ] as [string[], RegExp][]) {
    const r = run('tcpanalyze', [...args, HTTP[0]!]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.errLines.length, 1, r.stderr);
  }
});

test('--sort: the same records, ordered by the fields (numbers by value, then text), ties in their written order', () => {
  const plain = lines(run('tcpanalyze', ['--format', 'ndjson', ...SOME]).stdout);
  const r = run('tcpanalyze', ['--format', 'ndjson', '--sort', 'proto,duration', ...SOME]);
  assert.equal(r.status, 0, r.stderr);
  const sorted = lines(r.stdout);
  const key = (x: Record<string, unknown>): string => JSON.stringify(x);
  assert.deepEqual(sorted.map(key).sort(), plain.map(key).sort(), 'a permutation of the records');
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!, b = sorted[i]!;
    const pa = String(a['proto']), pb = String(b['proto']);
    assert.ok(pa <= pb, `proto order at ${i}`);
    if (pa === pb) {
      const da = a['duration'] as number | null, db = b['duration'] as number | null;
      assert.ok(da === null || (db !== null && da <= db), `duration order at ${i}: ${da} then ${db}`);
      if (da === db) assert.ok(plain.findIndex((x) => key(x) === key(a)) < plain.findIndex((x) => key(x) === key(b)), `stable at ${i}`);
    }
  }
});

test('archives state the schema version; two runs over the same captures write the same bytes', () => {
  const { dir, cleanup } = makeTempDir('fields-');
  try {
    const out = join(dir, 'run.jsonl.zst');
    assert.equal(run('tcpanalyze', ['--decode', 'all', ...HTTP, '-o', out]).status, 0);
    const meta = JSON.parse(execFileSync('zstd', ['-dc', out], { encoding: 'utf8' }).split('\n')[0]!) as { tcpkit: { schema_version: number } };
    assert.equal(meta.tcpkit.schema_version, SCHEMA_VERSION);
    assert.ok(Number.isInteger(SCHEMA_VERSION) && SCHEMA_VERSION >= 1);
    const a = run('tcpanalyze', ['--format', 'ndjson', '--decode', 'all', ...SOME, ...HTTP]);
    const b = run('tcpanalyze', ['--format', 'ndjson', '--decode', 'all', ...SOME, ...HTTP]);
    assert.equal(a.status, b.status);
    assert.ok(a.stdout.length > 1000);
    assert.ok(a.stdoutBuf.equals(b.stdoutBuf), 'two runs differ');
    // another machine: another time zone and locale, a table as well
    for (const format of ['ndjson', 'table', 'csv']) {
      const args = [bin('tcpanalyze'), '--format', format, '--records', 'conn', ...SOME, ...HTTP];
      const here = spawnSync(process.execPath, args, { env: { ...process.env, TZ: 'UTC', LANG: 'C', LC_ALL: 'C' } });
      const there = spawnSync(process.execPath, args, { env: { ...process.env, TZ: 'Pacific/Chatham', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' } });
      assert.ok(here.stdout.length > 1000, format);
      assert.ok(here.stdout.equals(there.stdout), `${format}: time zone or locale changed the output`);
    }
  } finally {
    cleanup();
  }
});
