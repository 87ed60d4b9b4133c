import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExclusions } from '../src/filter/exclusions.js';
import type { RecordValues } from '../src/records/schema.js';

const flow = (proto: string, orig_h: string, orig_p: number, resp_h: string, resp_p: number): RecordValues => ({ proto, orig_h, orig_p, resp_h, resp_p });

test('an exclusion list parses into rules with CIDRs, protocols and port ranges', () => {
  const ex = parseExclusions({ '10.0.0.0/8': ['80', '1000-2000', 'TCP 443', 'udp *'], '*': ['*'] }, 'destination');
  assert.deepEqual(
    ex.rules.map((r) => ({ key: r.key, prefix: r.cidr?.prefix ?? null, ports: r.ports })),
    [
      {
        key: '10.0.0.0/8',
        prefix: 8,
        ports: [
          { proto: null, lo: 80, hi: 80, any: false },
          { proto: null, lo: 1000, hi: 2000, any: false },
          { proto: 'tcp', lo: 443, hi: 443, any: false },
          { proto: 'udp', lo: 0, hi: 65535, any: true },
        ],
      },
      { key: '*', prefix: null, ports: [{ proto: null, lo: 0, hi: 65535, any: true }] },
    ],
  );
});

test('destination exclusions match the responder address, port and protocol', () => {
  const ex = parseExclusions({ '10.0.0.0/8': ['80', '1000-2000', 'TCP 443', 'UDP *'] }, 'destination');
  const flows = [
    flow('tcp', '192.0.2.1', 5000, '10.1.1.1', 80),
    flow('udp', '192.0.2.1', 5000, '10.1.1.1', 80),
    flow('tcp', '192.0.2.1', 5000, '10.1.1.1', 1500),
    flow('tcp', '192.0.2.1', 5000, '10.1.1.1', 2001),
    flow('tcp', '192.0.2.1', 5000, '10.1.1.1', 443),
    flow('udp', '192.0.2.1', 5000, '10.1.1.1', 443),
    flow('tcp', '192.0.2.1', 5000, '10.1.1.1', 444),
    flow('udp', '192.0.2.1', 5000, '10.1.1.1', 53),
    flow('tcp', '192.0.2.1', 5000, '11.1.1.1', 80),
    flow('tcp', '10.1.1.1', 80, '192.0.2.1', 5000),
    flow('icmp', '192.0.2.1', 8, '10.1.1.1', 80),
  ];
  assert.deepEqual(flows.map((f) => ex.excluded(f)), [true, true, true, false, true, true, false, true, false, false, false]);
});

test('source exclusions match the originator address and port', () => {
  const ex = parseExclusions({ '192.0.2.0/24': ['5000'] }, 'source');
  assert.deepEqual([ex.excluded(flow('tcp', '192.0.2.9', 5000, '10.0.0.1', 80)), ex.excluded(flow('tcp', '10.0.0.1', 80, '192.0.2.9', 5000))], [true, false]);
});

test('"*" as key matches every address and "*" as entry every port and protocol', () => {
  const ex = parseExclusions({ '*': ['*'] }, 'destination');
  assert.deepEqual(
    [flow('tcp', '1.1.1.1', 1, '2.2.2.2', 2), flow('icmp', '1.1.1.1', 8, '2001:db8::1', 0), { proto: 'tcp', resp_h: null, resp_p: null }].map((r) => ex.excluded(r)),
    [true, true, true],
  );
  assert.equal(parseExclusions({ '*': ['TCP 22'] }, 'destination').excluded(flow('tcp', '::1', 1, '2001:db8::1', 22)), true);
});

test('IPv6 keys and plain host addresses work as CIDRs', () => {
  const ex = parseExclusions({ '2001:db8::/32': ['443'], '192.0.2.1': ['*'] }, 'destination');
  assert.deepEqual(
    [flow('tcp', '::1', 1, '2001:db8:1::1', 443), flow('tcp', '::1', 1, '2001:db9::1', 443), flow('udp', '1.1.1.1', 1, '192.0.2.1', 9), flow('udp', '1.1.1.1', 1, '192.0.2.2', 9)].map((r) =>
      ex.excluded(r),
    ),
    [true, false, true, false],
  );
});

test('an empty exclusion list excludes nothing', () => {
  assert.equal(parseExclusions({}, 'source').excluded(flow('tcp', '1.1.1.1', 1, '2.2.2.2', 2)), false);
});

test('every malformed list is a usage error naming the key and the bad entry', () => {
  const cases: [unknown, 'source' | 'destination', string][] = [
    [[], 'source', 'source exclusions: expected an object mapping a CIDR or "*" to port entries, found an array'],
    [null, 'source', 'source exclusions: expected an object mapping a CIDR or "*" to port entries, found null'],
    [{ '10.0.0.0/33': ['80'] }, 'destination', 'destination exclusions: key "10.0.0.0/33" is not an address, a CIDR or "*"'],
    [{ 'example.com': ['80'] }, 'destination', 'destination exclusions: key "example.com" is not an address, a CIDR or "*"'],
    [{ '10.0.0.0/8': '80' }, 'destination', 'destination exclusions: "10.0.0.0/8" must map to an array of port entries, found a string'],
    [{ '10.0.0.0/8': [80] }, 'destination', 'destination exclusions: "10.0.0.0/8": bad entry 80 (entries are strings)'],
    [{ '10.0.0.0/8': ['80-'] }, 'source', 'source exclusions: "10.0.0.0/8": bad entry "80-" (expected "*", a port or a LOW-HIGH range, optionally after TCP or UDP)'],
    [{ '*': ['SCTP 80'] }, 'source', 'source exclusions: "*": bad entry "SCTP 80" (expected "*", a port or a LOW-HIGH range, optionally after TCP or UDP)'],
    [{ '*': ['443-80'] }, 'source', 'source exclusions: "*": bad entry "443-80" (the range 443-80 is reversed)'],
    [{ '*': ['70000'] }, 'source', 'source exclusions: "*": bad entry "70000" (a port is larger than 65535)'],
  ];
  for (const [json, which, message] of cases) {
    assert.throws(() => parseExclusions(json, which), { name: 'UsageError', code: 'EXCLUSION_SYNTAX', exitCode: 2, message });
  }
});
