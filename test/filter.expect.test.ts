/**
 * tcpcheck's expectation language: parsing (kinds, aggregates, errors with
 * their column), evaluation against values computed independently from the
 * records, offenders, and the YAML subset of expectation files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExpectState, parseExpectation } from '../src/filter/expect.js';
import { parseYamlLite, YamlError } from '../src/util/yaml-lite.js';
import { UsageError } from '../src/util/errors.js';
import type { RecordValues } from '../src/records/schema.js';

const conn = (i: number, o: Partial<RecordValues>): RecordValues => ({ record: 'conn', uid: `C${i}`, proto: 'tcp', orig_h: '10.0.0.1', orig_p: 1000 + i, resp_h: '10.0.0.2', resp_p: 443, ...o });

function run(text: string, recs: RecordValues[]): ReturnType<ExpectState['result']> {
  const s = new ExpectState(parseExpectation(text));
  for (const r of recs) s.add(r);
  return s.result();
}

test('the kind comes from the prefix, else from the fields named (conn first), conn for count()', () => {
  assert.equal(parseExpectation('count() > 0').kind, 'conn');
  assert.equal(parseExpectation('p99(handshake_ms) < 50').kind, 'conn');
  assert.equal(parseExpectation('count(status_code >= 500) == 0').kind, 'http');
  assert.equal(parseExpectation('http: count() > 0').kind, 'http');
  assert.equal(parseExpectation('dns: mean(latency_ms) < 20').kind, 'dns');
});

test('syntax errors are usage errors naming the column, inside count() predicates too', () => {
  const cases: [string, RegExp, number][] = [
    ['count() >', /expected a number or an aggregate/, 10],
    ['p99(rtt_ms) <> 5', /expected a number or an aggregate, found ">/, 14],
    ['p99(rtt_ms) 5', /expected a comparison/, 13],
    ['count(handshake=) == 0', /expected a number, a string or a field/, 17],
    ['sum(proto) > 1', /"proto" is a string field/, 5],
    ['rtt_ms < 5', /a field \("rtt_ms"\) outside an aggregate/, 1],
    ['median(rtt_ms) < 5', /unknown aggregate "median"/, 1],
    ['p99(rtt_ms < 5', /expected "\)" to close p99\(/, 4],
    ['1 < 2', /no aggregate/, 1],
  ];
  for (const [text, re, col] of cases) {
    assert.throws(
      () => parseExpectation(text),
      (e: unknown) => e instanceof UsageError && e.code === 'EXPECT_SYNTAX' && re.test(e.message) && e.context.column === col,
      `${text}: ${(() => { try { parseExpectation(text); return 'no error'; } catch (e) { return (e as Error).message; } })()}`,
    );
  }
});

test('aggregates equal the values computed from the records (random records, property)', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ a: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }), b: fc.integer({ min: 1, max: 50 }), st: fc.constantFrom('REJ', 'SF', 'S0') }), { minLength: 0, maxLength: 60 }), (rows) => {
      const recs = rows.map((x, i) => conn(i, { orig_retransmission: x.a, orig_pkts: x.b, conn_state: x.st }));
      const vals = rows.map((x) => x.a).filter((v): v is number => v !== null).sort((p, q) => p - q);
      const rank = (p: number): number | null => (vals.length === 0 ? null : vals[Math.max(0, Math.ceil((p / 100) * vals.length) - 1)]!);
      const sum = vals.reduce((x, y) => x + y, 0);
      assert.equal(run('count() >= 0', recs).measured, rows.length);
      assert.equal(run("count(conn_state=REJ) >= 0", recs).measured, rows.filter((x) => x.st === 'REJ').length);
      assert.equal(run('sum(orig_retransmission) >= 0', recs).measured, sum);
      assert.equal(run('max(orig_retransmission) >= 0', recs).measured, vals.length ? vals[vals.length - 1] : null);
      assert.equal(run('min(orig_retransmission) >= 0', recs).measured, vals.length ? vals[0] : null);
      assert.equal(run('p90(orig_retransmission) >= 0', recs).measured, rank(90));
      const total = rows.reduce((x, y) => x + y.b, 0);
      const ratio = run('sum(orig_retransmission) / sum(orig_pkts) < 1000', recs).measured;
      assert.equal(ratio, total === 0 ? null : sum / total);
    }),
    { numRuns: 200 },
  );
});

test('a comparison with no value (an empty set, a division by zero) fails; arithmetic and precedence as written', () => {
  assert.equal(run('p99(rtt_ms) < 5', []).pass, false);
  assert.equal(run('sum(orig_pkts) / sum(resp_pkts) < 5', [conn(1, { orig_pkts: 3, resp_pkts: 0 })]).pass, false);
  assert.equal(run('count() == 0', []).pass, true);
  const recs = [conn(1, { orig_pkts: 2, resp_pkts: 4 }), conn(2, { orig_pkts: 6, resp_pkts: 8 })];
  assert.equal(run('sum(orig_pkts) + sum(resp_pkts) * 2 == 32', recs).pass, true);
  assert.equal(run('(sum(orig_pkts) + sum(resp_pkts)) * 2 == 40', recs).pass, true);
  assert.equal(run('sum(orig_pkts * 2 - resp_pkts) == 4', recs).pass, true);
  assert.equal(run('-count() < 0', recs).pass, true);
});

test('a failed expectation names its worst offenders: the matching records of a count, the largest values otherwise', () => {
  const recs = Array.from({ length: 10 }, (_, i) => conn(i, { handshake: i % 3 === 0 ? 'reject' : 'success', rtt_ms: i * 10 }));
  const c = run('count(handshake=reject) == 0', recs);
  assert.deepEqual(c.offenders.map((x) => x.uid), ['C0', 'C3', 'C6', 'C9']);
  const m = run('max(rtt_ms) < 50', recs);
  assert.deepEqual(m.offenders.map((x) => [x.uid, x.value]), [['C9', 90], ['C8', 80], ['C7', 70], ['C6', 60], ['C5', 50]]);
  assert.equal(m.offenders[0]!.tuple, 'tcp 10.0.0.1:1009 -> 10.0.0.2:443');
  assert.deepEqual(run('max(rtt_ms) < 500', recs).offenders, []);
});

test('the YAML subset: lists, nested mappings, quotes, comments, flow lists; anything else is refused with its line', () => {
  assert.deepEqual(parseYamlLite("expect:\n  - count() > 0  # comment\n  - 'a: b'\ngroups:\n  - by: [resp_p, orig_h]\n    expect:\n      - \"x # not a comment\"\n"), {
    expect: ['count() > 0', 'a: b'],
    groups: [{ by: ['resp_p', 'orig_h'], expect: ['x # not a comment'] }],
  });
  for (const [bad, line] of [['a:\n\t- x', 2], ['a: &anchor x', 1], ['a:\n  - x\n   - y', 3], ["a: 'open", 1], ['a: 1\na: 2', 2]] as const) {
    assert.throws(() => parseYamlLite(bad), (e: unknown) => e instanceof YamlError && e.line === line, bad);
  }
});
