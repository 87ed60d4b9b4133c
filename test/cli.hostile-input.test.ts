/**
 * Hostile inputs, small versions of the big ones (those are in
 * scripts/soak-hostile.mjs): records of zeros in a pcap, one rule for empty
 * inputs, over-long lines and runs of empty lines in record input, forged
 * values in records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress } from './_zstd.js';
import { run } from './_cli.js';
import { FIX } from './_fixtures.js';
import { readPcap, writePcap } from './_capture-helpers.js';

const CAP = join(FIX, 'recorded', 'http-clean-v4.pcap');

function inDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-hostile-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a pcap whose tail is zeros: the packets before are analysed, the records of zeros counted as damage on one line (exit 0); --strict stops at the first, exit 1', () =>
  inDir((dir) => {
    const p = readPcap(readFileSync(CAP));
    const good = writePcap(p.records, p.header);
    const path = join(dir, 'zeros.pcap');
    writeFileSync(path, Buffer.concat([good, Buffer.alloc(16 * 100_003)]));
    const clean = run('tcpanalyze', [CAP]);
    const r = run('tcpanalyze', [path]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, clean.stdout);
    assert.match(r.stderr, /; 100003 zero-length records with zero timestamps \(zeros where records should be: damage\)\n$/);
    const s = run('tcpanalyze', ['--strict', path]);
    assert.equal(s.status, 1);
    assert.equal(s.stdout, clean.stdout);
    assert.equal(s.errLines[0], `tcpanalyze: ${path}: packet ${p.records.length + 1} (offset ${good.length} = 0x${good.length.toString(16)}): a record of zeros (length 0, timestamp 0): zeros where records should be (damage) [PCAP_ZERO_RECORDS]`);
    assert.equal(s.stderr, s.errLines[0] + '\n' + clean.stderr, 'then the usual line of packets not analysed');
  }));

test('empty input, one rule: an empty set of records for csvtool, tcpfilter and tcpsummary (exit 0); not a capture where one is needed (CAPTURE_EMPTY, exit 1, no file written)', () =>
  inDir((dir) => {
    const empty = join(dir, 'empty.pcap');
    writeFileSync(empty, '');
    const skippable = join(dir, 'skippable.zst');
    writeFileSync(skippable, Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]));
    for (const f of [empty, skippable]) {
      const a = run('tcpanalyze', [f]);
      assert.equal(a.status, 1);
      assert.match(a.stderr, /empty input \(0 bytes\): not a capture \[CAPTURE_EMPTY\]\n$/);
      for (const w of [['-w', join(dir, 'x.pcap')], ['-o', join(dir, 'x.pcapng')], ['--kind', 'capture']]) {
        const t = run('tcpfilter', ['TX@*:*', f, ...w]);
        assert.equal(t.status, 1, `${f} ${w.join(' ')}`);
        assert.equal(t.stderr, `tcpfilter: ${f} (offset 0 = 0x0): empty input (0 bytes): not a capture [CAPTURE_EMPTY]\n`);
      }
      assert.equal(existsSync(join(dir, 'x.pcap')) || existsSync(join(dir, 'x.pcapng')), false, 'no capture file written');
      const t = run('tcpfilter', ['TX@*:*', f]);
      assert.deepEqual([t.status, t.stdout, t.stderr], [0, '', '']);
      const s = run('tcpsummary', ['-f', 'json', f]);
      assert.equal(s.status, 0);
      assert.equal((JSON.parse(s.stdout) as { summary: { records: number } }).summary.records, 0);
      const c = run('csvtool', [f]);
      assert.equal(c.status, 0);
      assert.equal(c.stdout.split('\n').length, 2, 'the header only');
    }
  }));

const records = run('tcpanalyze', [CAP]).stdout.trim().split('\n');

test('tcpsummary and tcpfilter on a record line longer than --max-line: counted as a bad line, the others summarised (exit 1)', () => {
  const input = [records[0], `{"record":"conn","uid":"${'x'.repeat(2 << 20)}"}`, ...records.slice(1)].join('\n') + '\n';
  const s = run('tcpsummary', ['-f', 'json', '-'], { input });
  assert.equal(s.status, 1);
  assert.equal((JSON.parse(s.stdout) as { summary: { records: number; skipped_lines: number } }).summary.records, records.length);
  assert.match(s.stderr, /line 2 \(offset \d+ = 0x[0-9a-f]+\): line longer than the 1048576-byte limit \(--max-line\)/);
  const f = run('tcpfilter', ['--where', 'orig_pkts>0', '-'], { input });
  assert.equal(f.status, 1);
  assert.equal(f.stdout, records.filter((l) => (JSON.parse(l) as { orig_pkts: number }).orig_pkts > 0).join('\n') + '\n');
  const big = run('tcpsummary', ['-f', 'json', '--max-line', '4m', '-'], { input });
  assert.equal((JSON.parse(big.stdout) as { summary: { records: number } }).summary.records, records.length + 1, 'held under a 4 MiB limit');
});

test('tcpsummary: a run of more than 65,536 empty lines is damage: the records before are summarised, one INPUT_EMPTY_RUN line, exit 1', () => {
  const input = compress(Buffer.from(records.slice(0, 3).join('\n') + '\n' + '\n'.repeat(200_000) + records.slice(3).join('\n') + '\n'));
  const s = run('tcpsummary', ['-f', 'json', '-'], { input });
  assert.equal(s.status, 1);
  assert.equal((JSON.parse(s.stdout) as { summary: { records: number } }).summary.records, 3);
  assert.match(s.stderr, /tcpsummary: <stdin>: line 65540 \(offset \d+ = 0x[0-9a-f]+\): more than 65536 empty lines in a row: blank space where records should be \(damage\); the rest is not read \[INPUT_EMPTY_RUN\]\n$/);
});

test('tcpsummary rejects records with values no record can have (2^64 packets, an RTT of 1e308 ms, a string for a count): counted as skipped lines, never Infinity', () => {
  const r = JSON.parse(records[0]!) as Record<string, unknown>;
  const bad = [
    { ...r, orig_pkts: 18446744073709551616 },
    { ...r, rtt_ms: 1e308 },
    { ...r, resp_pkts: '12' },
    { ...r, ts: -5 },
  ];
  const input = [...bad.map((x) => JSON.stringify(x)), ...records].join('\n') + '\n';
  const s = run('tcpsummary', ['-f', 'json', '-'], { input });
  assert.equal(s.status, 1);
  const j = JSON.parse(s.stdout) as { summary: { records: number; skipped_lines: number }; filters: { all: { packets: { orig: number } } } };
  assert.equal(j.summary.skipped_lines, 4);
  assert.equal(j.summary.records, records.length);
  const clean = JSON.parse(run('tcpsummary', ['-f', 'json', '-'], { input: records.join('\n') + '\n' }).stdout) as typeof j;
  assert.deepEqual(j.filters, clean.filters);
  assert.deepEqual(
    s.errLines.slice(0, 3).map((l) => l.replace(/^.*\): /, '')),
    ['orig_pkts: 18446744073709552000 is not a whole number from 0 to 2^53 - 1 [RECORD_BAD_VALUE]', 'rtt_ms: 1e+308 is not a finite number of milliseconds below 10^12 [RECORD_BAD_VALUE]', 'resp_pkts: "12" is not a whole number from 0 to 2^53 - 1 [RECORD_BAD_VALUE]'],
  );
  const table = run('tcpsummary', ['-f', 'table', '-'], { input });
  assert.doesNotMatch(table.stdout, /Infinity|NaN/);
});
