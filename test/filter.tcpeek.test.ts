import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter, parseFilters, parseLocal, direction, DEFAULT_FILTERS } from '../src/filter/tcpeek.js';
import { UsageError } from '../src/util/errors.js';
import type { RecordValues } from '../src/records/schema.js';
import fc from 'fast-check';
import { type AddrWords, cidrContains, makeCidr, parseAddrFast } from '../src/filter/cidr.js';
import { formatIPv6, parseAddr } from '../src/util/ip.js';

const conn = (orig_h: string, resp_h: string, resp_p: number, proto = 'tcp'): RecordValues => ({ proto, orig_h, orig_p: 40000, resp_h, resp_p });

/** The match of one filter spec against a record, without --local (everything is TX). */
const hit = (spec: string, r: RecordValues): boolean => parseFilters([spec]).match(r).length > 0;

function syntaxError(spec: string, message: string, column: number): void {
  assert.throws(
    () => parseFilters([spec]),
    (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.deepEqual({ code: e.code, message: e.message, context: e.context, exitCode: e.exitCode }, { code: 'FILTER_SYNTAX', message, context: { column }, exitCode: 2 });
      return true;
    },
  );
}

test('a named IPv4 filter parses into its name, direction, CIDR and port', () => {
  const f = parseFilter('http:TX@10.0.0.0/8:80');
  assert.deepEqual(f, {
    name: 'http',
    dir: 'TX',
    spec: 'http:TX@10.0.0.0/8:80',
    groups: [{ cidr: { version: 4, prefix: 8, net: [0x0a000000, 0, 0, 0], mask: [0xff000000, 0, 0, 0] }, ports: [80] }],
  });
});

test('a host address without a prefix is a /32 and "*" and "%" ports mean any port', () => {
  assert.deepEqual(parseFilter('a:TX@192.0.2.1:*').groups, [{ cidr: { version: 4, prefix: 32, net: [0xc0000201, 0, 0, 0], mask: [0xffffffff, 0, 0, 0] }, ports: null }]);
  assert.deepEqual(parseFilter('a:TX@%:%').groups, [{ cidr: null, ports: null }]);
  assert.deepEqual(parseFilter('a:RX@*:22').groups, [{ cidr: null, ports: [22] }]);
});

test('several ports and several address groups are all kept in order', () => {
  const f = parseFilter('web:TX@10.0.0.0/8:80:443:8080,*:8443');
  assert.deepEqual(
    f.groups.map((g) => [g.cidr?.prefix ?? null, g.ports]),
    [
      [8, [80, 443, 8080]],
      [null, [8443]],
    ],
  );
});

test('an IPv6 address in brackets, with and without a prefix, parses to its words', () => {
  assert.deepEqual(parseFilter('v6:TX@[2001:db8::1]:443').groups, [
    { cidr: { version: 6, prefix: 128, net: [0x20010db8, 0, 0, 1], mask: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff] }, ports: [443] },
  ]);
  assert.deepEqual(parseFilter('v6:TX@[2001:db8::]/32:443').groups, [{ cidr: { version: 6, prefix: 32, net: [0x20010db8, 0, 0, 0], mask: [0xffffffff, 0, 0, 0] }, ports: [443] }]);
});

test('an unbracketed IPv6 address ending at its prefix parses like the bracketed form', () => {
  assert.deepEqual(parseFilter('v6:TX@2001:db8::/32:443:80').groups, parseFilter('v6:TX@[2001:db8::]/32:443:80').groups);
  assert.deepEqual(parseFilter('v6:TX@2001:db8::/33:443').groups[0]!.cidr!.mask, [0xffffffff, 0x80000000, 0, 0]);
});

test('a filter matches the responder address and port, not the originator', () => {
  assert.equal(hit('h:TX@10.1.0.0/16:80', conn('192.0.2.1', '10.1.2.3', 80)), true);
  assert.equal(hit('h:TX@10.1.0.0/16:80', conn('10.1.2.3', '192.0.2.1', 80)), false);
  assert.equal(hit('h:TX@10.1.0.0/16:80', conn('192.0.2.1', '10.1.2.3', 8080)), false);
  assert.equal(hit('h:TX@10.1.0.0/16:80', conn('192.0.2.1', '10.2.2.3', 80)), false);
});

test('several ports match any one of them and several groups match any one of them', () => {
  const set = parseFilters(['web:TX@10.0.0.0/8:80:443,192.0.2.0/24:8443']);
  assert.deepEqual(
    [conn('1.1.1.1', '10.9.9.9', 443), conn('1.1.1.1', '10.9.9.9', 8443), conn('1.1.1.1', '192.0.2.7', 8443), conn('1.1.1.1', '192.0.2.7', 80)].map((r) => set.match(r)),
    [['web'], [], ['web'], []],
  );
});

test('IPv6 filters match IPv6 responders inside the prefix and never IPv4 ones', () => {
  const set = parseFilters(['v6:TX@[2001:db8::]/32:443']);
  assert.deepEqual(
    [conn('2001:db8::5', '2001:db8:ffff::1', 443), conn('2001:db8::5', '2001:db9::1', 443), conn('10.0.0.1', '32.1.13.184', 443)].map((r) => set.match(r)),
    [['v6'], [], []],
  );
  assert.deepEqual(parseFilters(['one:TX@[2001:db8::1]:443']).match(conn('::1', '2001:0db8:0:0:0:0:0:1', 443)), ['one']);
});

test('a wildcard address matches IPv4 and IPv6 responders alike', () => {
  const set = parseFilters(['all:TX@*:443']);
  assert.deepEqual([set.match(conn('::1', '2001:db8::1', 443)), set.match(conn('10.0.0.1', '10.0.0.2', 443))], [['all'], ['all']]);
});

test('a connection that matches several filters counts in each, in filter order', () => {
  const set = parseFilters(['any:TX@*:*', 'ssh:TX@*:22', 'web:TX@*:80']);
  assert.deepEqual(set.match(conn('10.0.0.1', '10.0.0.2', 22)), ['any', 'ssh']);
});

test('an unnamed filter excludes matching connections from every filter', () => {
  const set = parseFilters(['any:TX@*:*', 'ssh:TX@*:22', ':TX@10.0.0.0/8:22']);
  assert.deepEqual(
    [set.match(conn('192.0.2.1', '10.0.0.2', 22)), set.match(conn('192.0.2.1', '192.0.2.2', 22)), set.match(conn('192.0.2.1', '10.0.0.2', 80))],
    [[], ['any', 'ssh'], ['any']],
  );
  assert.deepEqual(set.exclusions.map((f) => f.spec), [':TX@10.0.0.0/8:22']);
});

test("without a named filter tcpeek's RX and TX defaults are used, and exclusions still apply", () => {
  assert.deepEqual(DEFAULT_FILTERS, ['RX:RX@*:*', 'TX:TX@*:*']);
  assert.deepEqual(parseFilters([]).filters.map((f) => f.spec), ['RX:RX@*:*', 'TX:TX@*:*']);
  const set = parseFilters([':TX@*:22']);
  assert.deepEqual(set.filters.map((f) => f.name), ['RX', 'TX']);
  assert.deepEqual([set.match(conn('10.0.0.1', '10.0.0.2', 22)), set.match(conn('10.0.0.1', '10.0.0.2', 80))], [[], ['TX']]);
});

test('without --local every connection is TX, so RX filters never match', () => {
  const set = parseFilters([]);
  assert.deepEqual(set.match(conn('10.0.0.1', '10.0.0.2', 80)), ['TX']);
  assert.deepEqual(set.match(conn('10.0.0.1', '10.0.0.2', 80), null), ['TX']);
});

test('with --local, TX matches connections a local address originated and RX those a local address accepted', () => {
  const set = parseFilters([]);
  const local = parseLocal('10.0.0.0/8,2001:db8::/32');
  assert.deepEqual(
    [
      set.match(conn('10.0.0.1', '192.0.2.1', 80), local),
      set.match(conn('192.0.2.1', '10.0.0.1', 80), local),
      set.match(conn('10.0.0.1', '10.0.0.2', 80), local),
      set.match(conn('192.0.2.1', '198.51.100.1', 80), local),
      set.match(conn('2001:db8::1', '2001:db9::1', 443), local),
    ],
    [['TX'], ['RX'], ['RX', 'TX'], [], ['TX']],
  );
});

test('only TCP records match; records without a proto are taken as TCP', () => {
  const set = parseFilters(['all:TX@*:*']);
  assert.deepEqual(
    [set.match(conn('10.0.0.1', '10.0.0.2', 53, 'udp')), set.match(conn('10.0.0.1', '10.0.0.2', 0, 'icmp')), set.match({ orig_h: '10.0.0.1', resp_h: '10.0.0.2', resp_p: 1 })],
    [[], [], ['all']],
  );
});

test("direction() gives DataDog's outgoing, incoming, local and none", () => {
  const local = parseLocal(['10.0.0.0/8', '::1']);
  assert.deepEqual(
    [
      direction(conn('10.0.0.1', '8.8.8.8', 53), local),
      direction(conn('8.8.8.8', '10.0.0.1', 22), local),
      direction(conn('10.0.0.1', '10.0.0.2', 22), local),
      direction(conn('8.8.8.8', '1.1.1.1', 22), local),
      direction(conn('::1', '::1', 22), local),
      direction({ orig_h: null, resp_h: '10.0.0.1' }, local),
    ],
    ['outgoing', 'incoming', 'local', 'none', 'local', 'incoming'],
  );
});

test('without a local list direction() calls every connection outgoing, as TX', () => {
  assert.deepEqual([direction(conn('10.0.0.1', '8.8.8.8', 53)), direction(conn('8.8.8.8', '10.0.0.1', 22), null)], ['outgoing', 'outgoing']);
});

test('a bad --local entry is a usage error naming the entry and its column', () => {
  assert.throws(() => parseLocal('10.0.0.0/8,10.0.0.0/40'), {
    name: 'UsageError',
    code: 'FILTER_SYNTAX',
    message: '--local "10.0.0.0/8,10.0.0.0/40": "10.0.0.0/40" is not an address or CIDR at column 12',
  });
});

test('a prefix longer than the address is an error pointing at the prefix', () => {
  syntaxError('http:RX@10.0.0.0/33:80', 'filter "http:RX@10.0.0.0/33:80": prefix /33 is longer than 32 at column 18', 18);
  syntaxError('v6:RX@[::]/129:80', 'filter "v6:RX@[::]/129:80": prefix /129 is longer than 128 at column 12', 12);
});

test('every other syntax error names its mistake and column', () => {
  const cases: [string, string, number][] = [
    ['http', 'expected "name:" before the direction', 5],
    ['ht tp:RX@*:80', '" " is not allowed in a filter name (letters, digits, "_", "." and "-")', 3],
    ['http:XX@*:80', 'expected the direction RX or TX', 6],
    ['http:RX*:80', 'expected "@" after the direction, found "*"', 8],
    ['http:RX@', 'expected an address, found the end', 9],
    ['http:RX@host:80', 'expected an address, found "h"', 9],
    ['http:RX@10.0.0.256:80', '"10.0.0.256" is not an address', 9],
    ['http:RX@2001:db8::1:80', 'an IPv6 address must be written in brackets or end at its /prefix', 9],
    ['http:RX@[2001:db8::1:80', 'unclosed "[" of an IPv6 address', 9],
    ['http:RX@[10.0.0.1]:80', '"10.0.0.1" is not an IPv6 address', 10],
    ['http:RX@*/8:80', 'a wildcard address takes no prefix', 10],
    ['http:RX@10.0.0.0/:80', 'expected a prefix length, found ":"', 18],
    ['http:RX@10.0.0.0', 'expected ":" and a port, found the end', 17],
    ['http:RX@10.0.0.0:', 'expected a port, found the end', 18],
    ['http:RX@10.0.0.0:80:x', 'expected a port, found "x"', 21],
    ['http:RX@10.0.0.0:65536', 'port 65536 is larger than 65535', 18],
    ['http:RX@10.0.0.0:80,', 'expected an address, found the end', 21],
    ['http:RX@10.0.0.0:80 ', 'unexpected " "', 20],
  ];
  for (const [spec, message, column] of cases) syntaxError(spec, `filter "${spec}": ${message} at column ${column}`, column);
});

test('two filters with the same name are an error', () => {
  assert.throws(() => parseFilters(['a:TX@*:80', 'a:RX@*:80']), { code: 'FILTER_SYNTAX', message: 'filter "a:RX@*:80": the name "a" is used by an earlier filter at column 1' });
});

test('the fast address parser agrees with parseAddr on random dotted and colon text', () => {
  const piece = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('', '01', '0', 'a', '1e1', '-1', ' 1'));
  const text = fc.oneof(
    fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join('.')),
    fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }).map((w) => formatIPv6(w[0]!, w[1]!, w[2]!, w[3]!)),
    fc
      .array(fc.oneof(fc.constantFrom('', '0', 'ffff', 'FfFf', '12345', 'g', '1.2.3.4', '01.2.3.255', '256.1.1.1', '1.2.3'), fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 1, maxLength: 5 })), { minLength: 1, maxLength: 10 })
      .map((p) => p.join(':')),
    fc.string(),
  );
  const out: AddrWords = { version: 0, w: [0, 0, 0, 0] };
  fc.assert(
    fc.property(text, (t) => {
      const want = parseAddr(t);
      const got = parseAddrFast(t, out);
      assert.deepEqual(got.version === 0 ? null : { version: got.version, w: [...got.w] }, want && { version: want.version, w: [...want.w] }, t);
    }),
    { numRuns: 20000 },
  );
});

test('CIDR containment agrees with a BigInt reference for random addresses and prefixes', () => {
  const toBig = (w: readonly number[]): bigint => w.reduce((acc, x) => (acc << 32n) | BigInt(x >>> 0), 0n);
  const word = fc.integer({ min: 0, max: 0xffffffff });
  fc.assert(
    fc.property(fc.boolean(), fc.tuple(word, word, word, word), fc.tuple(word, word, word, word), fc.integer({ min: 0, max: 128 }), (v6, a, b, p) => {
      const bits = v6 ? 128 : 32;
      const prefix = p % (bits + 1);
      const net = v6 ? a : ([a[0], 0, 0, 0] as const);
      // half the time, the address shares the network's first words
      const addr = v6 ? ([a[0], a[1], b[2], b[3]] as const) : ([(a[0] & 0xffff0000) | (b[0] & 0xffff), 0, 0, 0] as const);
      const c = makeCidr(v6 ? 6 : 4, net, prefix);
      const big = (w: readonly number[]): bigint => (v6 ? toBig(w) : BigInt(w[0]! >>> 0));
      const shift = BigInt(bits - prefix);
      const want = big(addr) >> shift === big(net) >> shift;
      assert.equal(cidrContains(c, { version: v6 ? 6 : 4, w: [addr[0] >>> 0, addr[1] >>> 0, addr[2] >>> 0, addr[3] >>> 0] }), want);
      // signed words (as the analysis stores them) give the same answer
      assert.equal(cidrContains(c, { version: v6 ? 6 : 4, w: [addr[0] | 0, addr[1] | 0, addr[2] | 0, addr[3] | 0] }), want);
    }),
    { numRuns: 3000 },
  );
});

// ---------------------------------------------------------------- property test: random filter sets against a naive reference

interface GenGroup {
  addr: { kind: 'any'; ch: '*' | '%' } | { kind: 'v4' | 'v6'; text: string; prefix: number | null; bracket: boolean };
  ports: number[] | null;
  anyCh: '*' | '%';
}
interface GenFilter {
  name: string;
  dir: 'RX' | 'TX';
  groups: GenGroup[];
}

const V4_POOL = ['10.0.0.1', '10.0.1.1', '10.200.0.1', '192.0.2.1', '192.0.2.129', '0.0.0.0', '255.255.255.255'];
const V6_POOL = ['2001:db8::1', '2001:db8:1::1', '2001:db9::1', '::1', 'fe80::1:2', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'];
const PORTS = [22, 80, 443, 8080];

const genGroup: fc.Arbitrary<GenGroup> = fc.record({
  addr: fc.oneof(
    fc.record({ kind: fc.constant('any' as const), ch: fc.constantFrom('*' as const, '%' as const) }),
    fc.record({ kind: fc.constant('v4' as const), text: fc.constantFrom(...V4_POOL), prefix: fc.option(fc.integer({ min: 0, max: 32 }), { nil: null }), bracket: fc.constant(false) }),
    fc.record({ kind: fc.constant('v6' as const), text: fc.constantFrom(...V6_POOL), prefix: fc.option(fc.integer({ min: 0, max: 128 }), { nil: null }), bracket: fc.boolean() }),
  ),
  ports: fc.option(fc.uniqueArray(fc.constantFrom(...PORTS), { minLength: 1, maxLength: 3 }), { nil: null }),
  anyCh: fc.constantFrom('*' as const, '%' as const),
});

const genFilters: fc.Arbitrary<GenFilter[]> = fc
  .array(fc.record({ named: fc.boolean(), dir: fc.constantFrom('RX' as const, 'TX' as const), groups: fc.array(genGroup, { minLength: 1, maxLength: 3 }) }), { maxLength: 4 })
  .map((fs) => fs.map((f, i) => ({ name: f.named ? `f${i}` : '', dir: f.dir, groups: f.groups })));

function printGroup(g: GenGroup): string {
  let a: string;
  if (g.addr.kind === 'any') a = g.addr.ch;
  else {
    const p = g.addr.prefix === null ? '' : `/${g.addr.prefix}`;
    // an unbracketed IPv6 address must end at its prefix
    a = g.addr.kind === 'v6' && (g.addr.bracket || g.addr.prefix === null) ? `[${g.addr.text}]${p}` : `${g.addr.text}${p}`;
  }
  return `${a}:${g.ports === null ? g.anyCh : g.ports.join(':')}`;
}
const printFilter = (f: GenFilter): string => `${f.name}:${f.dir}@${f.groups.map(printGroup).join(',')}`;

const big = (text: string): { v: number; n: bigint } => {
  const a = parseAddr(text)!;
  return { v: a.version, n: a.version === 4 ? BigInt(a.w[0]) : a.w.reduce((acc, x) => (acc << 32n) | BigInt(x >>> 0), 0n) };
};
function inPrefix(addr: string, net: string, prefix: number | null): boolean {
  const a = big(addr), b = big(net);
  if (a.v !== b.v) return false;
  const bits = a.v === 4 ? 32 : 128;
  const shift = BigInt(bits - (prefix ?? bits));
  return a.n >> shift === b.n >> shift;
}
function refMatch(fs: GenFilter[], r: { orig_h: string; resp_h: string; resp_p: number }, local: { net: string; prefix: number }[] | null): string[] {
  const isLocal = (h: string): boolean => local!.some((l) => inPrefix(h, l.net, l.prefix));
  const tx = local === null ? true : isLocal(r.orig_h);
  const rx = local === null ? false : isLocal(r.resp_h);
  const hits = (f: GenFilter): boolean =>
    (f.dir === 'TX' ? tx : rx) &&
    f.groups.some((g) => (g.addr.kind === 'any' || inPrefix(r.resp_h, g.addr.text, g.addr.prefix)) && (g.ports === null || g.ports.includes(r.resp_p)));
  const named = fs.filter((f) => f.name !== '');
  const used: GenFilter[] = named.length > 0 ? named : [{ name: 'RX', dir: 'RX', groups: [{ addr: { kind: 'any', ch: '*' }, ports: null, anyCh: '*' }] }, { name: 'TX', dir: 'TX', groups: [{ addr: { kind: 'any', ch: '*' }, ports: null, anyCh: '*' }] }];
  if (fs.some((f) => f.name === '' && hits(f))) return [];
  return used.filter(hits).map((f) => f.name);
}

test('random filter sets in every grammar form match like a naive BigInt reference, with and without --local', () => {
  const host = fc.constantFrom(...V4_POOL, ...V6_POOL);
  const localGen = fc.option(
    fc.array(
      fc.oneof(
        fc.record({ net: fc.constantFrom(...V4_POOL), prefix: fc.integer({ min: 0, max: 32 }) }),
        fc.record({ net: fc.constantFrom(...V6_POOL), prefix: fc.integer({ min: 0, max: 128 }) }),
      ),
      { minLength: 1, maxLength: 3 },
    ),
    { nil: null },
  );
  fc.assert(
    fc.property(genFilters, localGen, fc.array(fc.record({ orig_h: host, resp_h: host, resp_p: fc.constantFrom(...PORTS, 1) }), { minLength: 1, maxLength: 10 }), (fs, local, records) => {
      const specs = fs.map(printFilter);
      const set = parseFilters(specs);
      const localSet = local === null ? null : parseLocal(local.map((l) => `${l.net}/${l.prefix}`).join(','));
      assert.deepEqual(
        records.map((r) => set.match({ proto: 'tcp', ...r }, localSet)),
        records.map((r) => refMatch(fs, r, local)),
        specs.join(' '),
      );
    }),
    { numRuns: 1500 },
  );
});

test('A filter without "name:" (RX@... or TX@...) is named by its own text and matches as a named filter; a leading ":" still makes an exclusion.', () => {
  const f = parseFilter('RX@%:443');
  assert.deepEqual([f.name, f.dir, f.groups[0]!.cidr, f.groups[0]!.ports], ['RX@%:443', 'RX', null, [443]]);
  const set = parseFilters(['TX@192.0.2.0/24:80', ':TX@192.0.2.9:80']);
  assert.deepEqual(set.filters.map((x) => x.name), ['TX@192.0.2.0/24:80']);
  assert.deepEqual(set.match({ proto: 'tcp', orig_h: '198.51.100.1', orig_p: 40000, resp_h: '192.0.2.8', resp_p: 80 }), ['TX@192.0.2.0/24:80']);
  assert.deepEqual(set.match({ proto: 'tcp', orig_h: '198.51.100.1', orig_p: 40000, resp_h: '192.0.2.9', resp_p: 80 }), []);
});
