/**
 * `tcpanalyze --threads 2` (the analysis on a second thread, fed through a
 * shared ring) must write exactly what `--threads 1` writes: same records,
 * same order, same messages and exit status, for every fixture capture at
 * once, with record selection and CSV, with idle expiry and eviction, and on
 * a generated capture large enough to wrap the ring many times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './_fixtures.js';
import { run } from './_cli.js';
import { generateCapture } from '../bench/gen-capture.js';

const PCAPS = join(ROOT, 'fixtures', 'pcaps');
const captures = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
    .sort()
    .map((f) => join(dir, f));
const ALL = [...captures(PCAPS), ...captures(join(PCAPS, 'recorded')), ...captures(join(PCAPS, 'crafted'))];

function same(args: readonly string[], what: string): string {
  const one = run('tcpanalyze', ['--threads', '1', ...args]);
  const two = run('tcpanalyze', ['--threads', '2', ...args]);
  assert.equal(two.stderr, one.stderr, `${what}: messages`);
  assert.equal(two.status, one.status, `${what}: exit status`);
  assert.ok(one.stdoutBuf.equals(two.stdoutBuf), `${what}: output differs`);
  return one.stdout;
}

test('every fixture capture, merged: the same records, messages and status with the analysis on a second thread', () => {
  assert.ok(ALL.length > 60, 'fixture captures found');
  const out = same(['--format', 'ndjson', ...ALL], 'all fixtures');
  assert.ok(out.split('\n').length > 500, 'records were written');
});

test('CSV with --where, and short idle timeouts with eviction: the same with two threads', () => {
  const some = ALL.filter((f) => /recorded|zeek__tcp|deepflow/.test(f));
  same(['--format', 'csv', '--where', 'conn_state!=SF or orig_retransmission>0', ...some], 'csv --where');
  same(['--idle-timeout', '50ms', '--close-linger', '10ms', '--syn-timeout', '100ms', '--max-flows', '5', ...some], 'timeouts and eviction');
});

test('a generated busy capture (the ring wraps many times): the same with two threads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-threads-'));
  try {
    const path = join(dir, 'busy.pcap');
    await generateCapture(path, { packets: 150_000, seed: 7 });
    const out = same([path], 'generated capture');
    assert.ok(out.split('\n').length > 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--threads takes auto or a positive whole number', () => {
  for (const bad of ['0', 'two', '1.5']) {
    const r = run('tcpanalyze', ['--threads', bad, ALL[0]!]);
    assert.equal(r.status, 2, bad);
    assert.deepEqual(r.errLines, [`tcpanalyze: --threads: "${bad}" is not auto or a positive whole number [USAGE_BAD_NUMBER]`]);
  }
});
