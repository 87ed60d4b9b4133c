/**
 * tcpcheck and tcpdiff as a CI job uses them: a recorded run passes its
 * expectations; the same run with packets lost (two of the server's data
 * segments removed from the capture) fails them with the expected lines,
 * JUnit file, GitHub annotations and step summary; tcpdiff names the
 * connection that changed. The commands are those of the documented
 * workflow (docs/ci/github-actions.yml), run step by step as written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeTempDir, readPcap, writePcap, shq } from './_capture-helpers.js';
import { bin, run } from './_cli.js';
import { FIX, ROOT } from './_fixtures.js';
import { L7 } from './_l7-helpers.js';

const CLEAN = join(FIX, 'recorded', 'http-clean-v4.pcap');
let dir = '';
let cleanup = (): void => {};
let lossy = '';

/** The capture with two of the server's data segments left out (a capture that lost them). */
function dropServerSegments(src: string, dst: string): void {
  const p = readPcap(readFileSync(src));
  let seen = 0;
  const kept = p.records.filter((r) => {
    // Ethernet + IPv4: TCP source port 8080 and a payload
    const ihl = (r.data[14]! & 0x0f) * 4;
    const tcp = 14 + ihl;
    const sport = r.data.readUInt16BE(tcp);
    const payload = r.data.readUInt16BE(16) - ihl - (r.data[tcp + 12]! >> 4) * 4;
    if (sport === 8080 && payload > 0 && ++seen >= 3 && seen <= 4) return false;
    return true;
  });
  writeFileSync(dst, writePcap(kept, { ...p.header }));
}

/**
 * The capture with a slowed server: each first response segment after a
 * request (and everything after it) arrives 80 ms later, so every HTTP
 * response takes 80 ms more and the file stays in time order.
 */
function slowServer(src: string, dst: string): void {
  const p = readPcap(readFileSync(src));
  let shift = 0n;
  const requestPending = new Set<number>();
  const kept = p.records.map((r) => {
    if (r.data.readUInt16BE(12) === 0x0800) {
      const ihl = (r.data[14]! & 0x0f) * 4;
      const tcp = 14 + ihl;
      const sport = r.data.readUInt16BE(tcp), dport = r.data.readUInt16BE(tcp + 2);
      const payload = r.data.readUInt16BE(16) - ihl - (r.data[tcp + 12]! >> 4) * 4;
      if (payload > 0 && dport === 8080) requestPending.add(sport);
      if (payload > 0 && sport === 8080 && requestPending.delete(dport)) shift += 80_000_000n;
    }
    return { ...r, ts: r.ts + shift };
  });
  writeFileSync(dst, writePcap(kept, { ...p.header }));
}

before(() => {
  ({ dir, cleanup } = makeTempDir('tcpcheck-'));
  lossy = join(dir, 'lossy.pcap');
  dropServerSegments(CLEAN, lossy);
});

after(() => cleanup());

const EXPECT = ['--expect', 'count(handshake=reject) == 0', '--expect', 'p99(handshake_ms) < 50', '--expect', 'sum(orig_lost_segment + resp_lost_segment) == 0'];

test('the issue\'s command works as written; a clean run passes every expectation, exit 0', () => {
  const r = run('tcpcheck', [CLEAN, '--expect', 'count(handshake=reject) == 0', '--expect', 'p99(handshake_ms) < 50', '--expect', 'sum(orig_retransmission + resp_retransmission) / sum(orig_pkts + resp_pkts) < 0.001', '--junit', join(dir, 'ok.xml')]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^PASS {2}count\(handshake=reject\) == 0: 0$/m);
  assert.match(r.stdout, /^PASS {2}p99\(handshake_ms\) < 50: \d/m);
  assert.match(r.stdout, /^PASS {2}sum\(orig_retransmission \+ resp_retransmission\) \/ sum\(orig_pkts \+ resp_pkts\) < 0\.001: 0$/m);
  assert.match(r.stdout, /^3 passed, 0 failed$/m);
  const xml = readFileSync(join(dir, 'ok.xml'), 'utf8');
  assert.match(xml, /<testsuite name="tcpcheck" tests="3" failures="0"/);
});

test('packets lost from the capture fail the lost-segment expectation: the line, the offending connection, JUnit, annotations, step summary', () => {
  const summary = join(dir, 'step-summary.md');
  writeFileSync(summary, '');
  const r = spawnSync(process.execPath, [bin('tcpcheck'), lossy, ...EXPECT, '--junit', join(dir, 'fail.xml')], { encoding: 'utf8', env: { ...process.env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const lost = /^FAIL {2}sum\(orig_lost_segment \+ resp_lost_segment\) == 0: (\d+) \(bound 0, 3 conn records\)$/m.exec(r.stdout);
  assert.ok(lost, r.stdout);
  // the connection the segments were taken from, by uid and 5-tuple, with its count
  const conns = run('tcpanalyze', ['--format', 'ndjson', lossy]).stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const hit = conns.filter((c) => Number(c['orig_lost_segment']) + Number(c['resp_lost_segment']) > 0);
  assert.equal(hit.length, 1);
  assert.equal(Number(lost[1]), Number(hit[0]!['orig_lost_segment']) + Number(hit[0]!['resp_lost_segment']));
  assert.match(r.stdout, new RegExp(`^ {6}${String(hit[0]!['uid'])} {2}tcp 192\\.0\\.2\\.1:${String(hit[0]!['orig_p'])} -> 192\\.0\\.2\\.2:8080 {2}${lost[1]}$`, 'm'));
  assert.match(r.stdout, /^PASS {2}count\(handshake=reject\) == 0: 0$/m);
  assert.match(r.stdout, /^2 passed, 1 failed$/m);
  assert.match(r.stdout, /^::error title=tcpcheck::FAIL {2}sum\(orig_lost_segment/m);
  const xml = readFileSync(join(dir, 'fail.xml'), 'utf8');
  assert.match(xml, /<testsuite name="tcpcheck" tests="3" failures="1"/);
  assert.match(xml, /<failure message="FAIL {2}sum\(orig_lost_segment \+ resp_lost_segment\) == 0:/);
  const md = readFileSync(summary, 'utf8');
  assert.match(md, /^### tcpcheck: 2 passed, 1 failed$/m);
  assert.match(md, /^\| ❌ \| `sum\(orig_lost_segment \+ resp_lost_segment\) == 0` \|/m);
});

test('a slowed server fails the latency expectation with its slowest requests; tcpdiff with a latency tolerance names them', () => {
  const slow = join(dir, 'slow.pcap');
  slowServer(CLEAN, slow);
  const exp = ['--expect', 'http: p99(latency_ms) < 50', '--expect', 'http: count(status_code >= 500) == 0', '--expect', 'sum(orig_lost_segment + resp_lost_segment) == 0'];
  const ok = run('tcpcheck', [CLEAN, ...exp]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const r = run('tcpcheck', [slow, ...exp, '--junit', join(dir, 'slow.xml')]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL {2}http: p99\(latency_ms\) < 50: 8\d\.\d+ \(bound 50, 3 http records\)$/m);
  assert.match(r.stdout, /^PASS {2}http: count\(status_code >= 500\) == 0: 0$/m);
  assert.match(r.stdout, /^PASS {2}sum\(orig_lost_segment \+ resp_lost_segment\) == 0: 0$/m);
  const recs = run('tcpanalyze', ['--decode', 'http', '--records', 'http', '--format', 'ndjson', slow]).stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { uid: string });
  for (const x of recs) assert.ok(r.stdout.includes(x.uid), `offender ${x.uid} named`);
  assert.match(readFileSync(join(dir, 'slow.xml'), 'utf8'), /<testsuite name="tcpcheck" tests="3" failures="1"/);
  const d = run('tcpdiff', ['--records', 'http', '--tolerance', 'latency_ms=50%', CLEAN, slow]);
  assert.equal(d.status, 1, d.stdout + d.stderr);
  assert.match(d.stdout, /latency_ms/);
  const same = run('tcpdiff', ['--records', 'http', '--tolerance', 'latency_ms=50%', CLEAN, CLEAN]);
  assert.equal(same.status, 0, same.stdout + same.stderr);
});

test('tcpdiff of the two runs names the changed connection and its lost segments; the same run twice is no regression', () => {
  const same = run('tcpdiff', ['-f', 'table', CLEAN, CLEAN]);
  assert.equal(same.status, 0, same.stdout);
  assert.match(same.stdout, /^OK: conn records: 3 matched, 0 appeared, 0 disappeared, 0 changed$/m);
  const r = run('tcpdiff', ['-f', 'table', CLEAN, lossy]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^changed {6}tcp 192\.0\.2\.1:\d+ -> 192\.0\.2\.2:8080 C\S+: resp_lost_segment 0 -> [12] \(\+[12]\)$/m);
  assert.match(r.stdout, /^REGRESSED: conn records: 3 matched, 0 appeared, 0 disappeared, \d+ changed$/m);
  const j = JSON.parse(run('tcpdiff', ['-f', 'json', CLEAN, lossy]).stdout) as { regressed: boolean; changes: { field: string }[] };
  assert.equal(j.regressed, true);
  assert.ok(j.changes.some((c) => c.field === 'resp_lost_segment'));
  // timings are not compared unless a tolerance names them
  assert.ok(!j.changes.some((c) => c.field === 'rtt_ms' || c.field === 'duration'));
});

test('tcpdiff by groups, with tolerances, and against a stored tcpsummary summary', () => {
  const byPort = run('tcpdiff', ['-f', 'table', '--by', 'resp_p', '--tolerance', 'resp_lost_segment=5', CLEAN, lossy]);
  assert.ok(!/resp_lost_segment/.test(byPort.stdout), byPort.stdout);
  const sum = join(dir, 'baseline-summary.json');
  writeFileSync(sum, run('tcpsummary', ['--format', 'json', '-'], { input: run('tcpanalyze', ['--format', 'ndjson', CLEAN]).stdout }).stdout);
  const same = run('tcpdiff', ['-f', 'table', sum, CLEAN]);
  assert.equal(same.status, 0, same.stdout + same.stderr);
  const worse = run('tcpdiff', ['-f', 'table', sum, lossy]);
  assert.equal(worse.status, 1);
  assert.match(worse.stdout, /^REGRESSED: summary counters/m);
});

test('records and captures give the same verdicts; transactions are checked by decoding what the expectations name', () => {
  const fromCapture = run('tcpcheck', [lossy, ...EXPECT]);
  const recs = run('tcpanalyze', ['--format', 'ndjson', lossy]).stdout;
  const fromRecords = run('tcpcheck', ['-', ...EXPECT], { input: recs });
  assert.equal(fromRecords.stdout, fromCapture.stdout);
  assert.equal(fromRecords.status, 1);
  const http = run('tcpcheck', [join(L7, 'zeek__http-methods.pcap'), '--expect', 'http: count(status_code >= 500) == 0', '--expect', 'count(status_code >= 400) == 0', '--expect', 'http: p99(latency_ms) < 1000']);
  assert.equal(http.status, 1);
  assert.match(http.stdout, /^PASS {2}http: count\(status_code >= 500\) == 0: 0$/m);
  assert.match(http.stdout, /^FAIL {2}count\(status_code >= 400\) == 0: 4\d \(bound 0, 49 http records\)$/m);
});

test('usage errors: a malformed expectation names its column, no expectation, an unknown group field, a bad file; exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['--expect', 'p99(rtt_ms) <<'], /--expect "p99\(rtt_ms\) <<": expected a number or an aggregate, found "<" at column 14/],
    [[], /no expectation: give --expect EXPR or --expect-file FILE/],
    [['--by', 'resp_port', '--expect', 'count() > 0'], /--by: unknown field "resp_port"/],
    [['--expect-file', join(dir, 'missing.yaml')], /cannot read: ENOENT/],
  ];
  for (const [args, re] of cases) {
    const r = run('tcpcheck', [CLEAN, ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'expect:\n  - count() > 0\n   - p99(rtt_ms) < 5\n');
  const y = run('tcpcheck', [CLEAN, '--expect-file', bad]);
  assert.equal(y.status, 2);
  assert.match(y.stderr, /bad\.yaml: line 3: unexpected indentation/);
});

test('the documented GitHub Actions workflow: its check and compare steps, run as written on a recorded run and a lossy one', () => {
  const wf = readFileSync(join(ROOT, 'docs', 'ci', 'github-actions.yml'), 'utf8');
  const steps = [...wf.matchAll(/^ {8}run: (npx tcp(?:check|diff) .*)$/gm)].map((m) => m[1]!);
  assert.equal(steps.length, 2, 'the workflow has a tcpcheck step and a tcpdiff step');
  copyFileSync(join(ROOT, 'docs', 'ci', 'net-expectations.yaml'), join(dir, 'net-expectations.yaml'));
  copyFileSync(CLEAN, join(dir, 'baseline.pcap'));
  const npx = (s: string): string => s.replace(/^npx (tcpcheck|tcpdiff)/, (_, c: string) => `${shq(process.execPath)} ${shq(bin(c as 'tcpcheck'))}`);
  for (const [traffic, want] of [[CLEAN, 0], [lossy, 1]] as const) {
    copyFileSync(traffic, join(dir, 'traffic.pcap'));
    for (const s of steps) {
      const r = spawnSync('bash', ['-c', npx(s)], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, want, `${s} on ${traffic}: ${r.stdout}${r.stderr}`);
    }
    assert.match(readFileSync(join(dir, 'tcpcheck.xml'), 'utf8'), want === 0 ? /failures="0"/ : /failures="1"/);
    assert.match(readFileSync(join(dir, 'tcpdiff.xml'), 'utf8'), want === 0 ? /failures="0"/ : /failures="[1-9]/);
  }
});
