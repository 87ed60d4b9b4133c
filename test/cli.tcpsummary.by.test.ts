/**
 * tcpsummary --by: groups ordered by connections, ties by protocol and then
 * by value, numbers numerically (1, 4, 80, 100, 1000 rather than 1, 100,
 * 1000, 4, 80); port groups kept apart per protocol (TCP port 3 is not ICMP
 * type 3); --top N lists N groups and sums the rest into one, checked
 * against the records summed here.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIX, fixtureCaptures } from './_fixtures.js';
import { run } from './_cli.js';

type Rec = Record<string, unknown>;
type Group = Rec & { key: string; proto?: string; connections: number };
let text = '';
let recs: Rec[] = [];

before(() => {
  text = fixtureCaptures()
    .filter((c) => !c.includes('empty'))
    .map((c) => run('tcpanalyze', ['-q', '--format', 'ndjson', join(FIX, c)]).stdout)
    .join('');
  recs = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
});

function by(args: string[]): { field: string; per_protocol?: boolean; groups: Group[]; rest?: Rec & { groups: number; connections: number } } {
  const r = run('tcpsummary', ['-f', 'json', ...args], { input: text });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { by: ReturnType<typeof by> }).by;
}

const PROTO = ['tcp', 'udp', 'icmp'];

test('port groups are per protocol and ordered by connections, then protocol, then port number', () => {
  const b = by(['--by', 'dst_port', '--top', '0']);
  assert.equal(b.per_protocol, true);
  const want = new Map<string, number>();
  for (const r of recs) want.set(`${r['proto']}/${r['resp_p']}`, (want.get(`${r['proto']}/${r['resp_p']}`) ?? 0) + 1);
  assert.deepEqual(new Map(b.groups.map((g) => [`${g.proto}/${g.key}`, g.connections])), want);
  for (let i = 1; i < b.groups.length; i++) {
    const [x, y] = [b.groups[i - 1]!, b.groups[i]!];
    const order = y.connections - x.connections || PROTO.indexOf(x.proto!) - PROTO.indexOf(y.proto!) || Number(x.key) - Number(y.key);
    assert.ok(order < 0, `${x.proto}/${x.key} (${x.connections}) before ${y.proto}/${y.key} (${y.connections})`);
  }
  // the same number as a TCP port and an ICMP type: two groups
  const numbers = new Set(b.groups.filter((g) => g.proto === 'tcp').map((g) => g.key));
  assert.ok(b.groups.some((g) => g.proto === 'icmp' && numbers.has(g.key)) || b.groups.some((g) => g.proto === 'udp' && numbers.has(g.key)), 'a port number shared by two protocols');
});

test('--top N lists the first N groups and sums every other group into rest', () => {
  const all = by(['--by', 'resp_p', '--top', '0']);
  const top = by(['--by', 'resp_p', '--top', '5']);
  assert.deepEqual(top.groups, all.groups.slice(0, 5));
  const others = new Set(all.groups.slice(5).map((g) => `${g.proto}/${g.key}`));
  const rest = recs.filter((r) => others.has(`${r['proto']}/${r['resp_p']}`));
  const sum = (k: string): number => rest.reduce((a, r) => a + (typeof r[k] === 'number' ? (r[k] as number) : 0), 0);
  assert.equal(top.rest!.groups, all.groups.length - 5);
  assert.equal(top.rest!.connections, rest.length);
  assert.deepEqual(top.rest!['packets'], { orig: sum('orig_pkts'), resp: sum('resp_pkts') });
  assert.deepEqual(top.rest!['retransmissions'], { orig: sum('orig_retransmission'), resp: sum('resp_retransmission') });
  assert.equal(all.rest, undefined);
  // the default is the top 20
  assert.equal(by(['--by', 'resp_p']).groups.length, 20);
});

test('non-port fields sort ties by value, numbers numerically, and are not split by protocol', () => {
  const b = by(['--by', 'orig_pkts', '--top', '0']);
  assert.equal(b.per_protocol, undefined);
  for (let i = 1; i < b.groups.length; i++) {
    const [x, y] = [b.groups[i - 1]!, b.groups[i]!];
    if (x.connections === y.connections) assert.ok(Number(x.key) < Number(y.key), `${x.key} before ${y.key}`);
  }
  const r = run('tcpsummary', ['--top', '3', '-']); // refused before reading
  assert.deepEqual([r.status, r.errLines], [2, ['tcpsummary: --top applies to the groups of --by [USAGE_CONFLICT]']]);
});
