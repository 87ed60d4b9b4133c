/**
 * tcpeek's views of tcpanalyze on a recorded capture with a refused port,
 * a dropped SYN and ICMP unreachables (fixtures/pcaps/recorded/
 * refused-timeout-unreach.pcap): the per-handshake lines and the per-filter
 * summary, whole outputs compared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, FIX } from './_fixtures.js';

const CAP = join(FIX, 'recorded/refused-timeout-unreach.pcap');
const run = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/tcpanalyze.js'), ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

test('--handshakes prints tcpeek\'s header and one line per handshake with its result and duplicate counts', () => {
  const r = run(['--handshakes', CAP]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout,
    ' TIME(s) |       TIMESTAMP       |      SRC IP:PORT            DST IP:PORT     |      RESULTS      | DUP SYN  DUP S/A\n' +
      '----------------------------------------------------------------------------------------------------------------------\n' +
      '   0.000 | 26-11-23 17:16:49.045 |       192.0.2.1:36764   192.0.2.2:9       | failure (reject)  |       0        0\n' +
      '   0.000 | 26-11-23 17:16:49.374 |     2001:db8::1:51806   2001:db8::2:9     | failure (reject)  |       0        0\n' +
      '   0.000 | 26-11-23 17:16:53.538 |       192.0.2.1:53488   192.0.2.2:9998    | failure (unreach) |       0        0\n' +
      '   0.000 | 26-11-23 17:16:53.860 |     2001:db8::1:37124   2001:db8::2:9998  | failure (unreach) |       0        0\n' +
      '   0.000 | 26-11-23 17:16:55.193 |       192.0.2.1:55776   192.0.2.2:9997    | failure (unreach) |       0        0\n' +
      '   3.053 | 26-11-23 17:16:49.705 |       192.0.2.1:54614   192.0.2.2:9999    | failure (timeout) |       3        0\n',
  );
});

test('--format summary without filters uses tcpeek\'s RX and TX defaults, and without --local every handshake is TX', () => {
  const r = run(['--format', 'summary', CAP]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [
    { RX: { success: { total: 0, dupsyn: 0, dupsynack: 0 }, failure: { total: 0, timeout: 0, reject: 0, unreach: 0, abort: 0 } } },
    { TX: { success: { total: 0, dupsyn: 0, dupsynack: 0 }, failure: { total: 6, timeout: 1, reject: 2, unreach: 3, abort: 0 } } },
  ]);
});

test('--format summary counts each handshake in every matching named filter, RX by --local, and drops what an unnamed filter matches', () => {
  const r = run(['--format', 'summary', '--local', '192.0.2.2/32', '-F', 'srv:RX@%:9:9998', '-F', 'v4in:RX@192.0.2.0/24:%', '-F', 'out:TX@*:*', '-F', ':RX@%:9997', CAP]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [
    { srv: { success: { total: 0, dupsyn: 0, dupsynack: 0 }, failure: { total: 2, timeout: 0, reject: 1, unreach: 1, abort: 0 } } },
    { v4in: { success: { total: 0, dupsyn: 0, dupsynack: 0 }, failure: { total: 3, timeout: 1, reject: 1, unreach: 1, abort: 0 } } },
    { out: { success: { total: 0, dupsyn: 0, dupsynack: 0 }, failure: { total: 0, timeout: 0, reject: 0, unreach: 0, abort: 0 } } },
  ]);
});

test('a malformed filter is a usage error naming the column', () => {
  const r = run(['--format', 'summary', '-F', 'bad:XX@%:1', CAP]);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tcpanalyze: filter "bad:XX@%:1": expected the direction RX or TX at column 5 \[FILTER_SYNTAX\]\n$/);
});

test('--max-flows bounds the flows held at once: the least recently active are written early as evicted, and stderr says how many', () => {
  const scan = join(FIX, 'ndpi__synscan.pcap');
  const r = run(['--max-flows', '100', scan]);
  assert.equal(r.status, 0);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { end_reason: string });
  const evicted = recs.filter((x) => x.end_reason === 'evicted').length;
  assert.ok(evicted > 1000, `evicted ${evicted}`);
  assert.equal(r.stderr, `tcpanalyze: ${evicted} flows written early (end_reason evicted): ${evicted} at --max-flows 100\n`);
  const bad = run(['--max-flows', '0', scan]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--max-flows: "0" is not a positive whole number \[USAGE_BAD_NUMBER\]/);
});

test('a SYN followed by its own sender\'s RST is handshake=abort (the client gave up), a failure in tcpeek\'s counts under failure.abort', () => {
  const cap = join(FIX, 'zeek__tcp-syn-then-rst.pcap');
  const rec = JSON.parse(run(['--format', 'ndjson', cap]).stdout) as Record<string, unknown>;
  assert.deepEqual([rec['handshake'], rec['conn_state'], rec['history'], rec['handshake_ms'], rec['connect_ms']], ['abort', 'RSTOS0', 'SR', null, null]);
  const lines = run(['--handshakes', cap]).stdout.split('\n');
  assert.match(lines[2]!, /\| {2}failure \(abort\) {2}\|/);
  assert.deepEqual(JSON.parse(run(['--format', 'summary', cap]).stdout), [
    { RX: { success: { total: 0, dupsyn: 0, dupsynack: 0 }, failure: { total: 0, timeout: 0, reject: 0, unreach: 0, abort: 0 } } },
    { TX: { success: { total: 0, dupsyn: 0, dupsynack: 0 }, failure: { total: 1, timeout: 0, reject: 0, unreach: 0, abort: 1 } } },
  ]);
});
