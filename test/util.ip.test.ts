import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIPv6, formatIPv4, parseAddr } from '../src/util/ip.js';

// An independent oracle for RFC 5952 text: the WHATWG URL serializer (RFC 5952
// section 4: lowercase, no leading zeros, the longest run of two or more zero
// groups as "::", the first one on ties). It writes IPv4-mapped addresses in
// hex, so those are checked apart.
const urlText = (w: number[]): string => {
  const groups = w.flatMap((x) => [(x >>> 16).toString(16), (x & 0xffff).toString(16)]);
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
};

// words biased towards zero groups, so runs of every length and position occur
const word = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 0xffff }),
  fc.integer({ min: 1, max: 0xffff }).map((x) => (x << 16) >>> 0),
  fc.integer({ min: 0, max: 0xffffffff }),
);

test('IPv6 text follows RFC 5952 as the URL serializer writes it', () => {
  fc.assert(
    fc.property(fc.array(word, { minLength: 4, maxLength: 4 }), (w) => {
      fc.pre(!(w[0] === 0 && w[1] === 0 && w[2] === 0xffff));
      assert.equal(formatIPv6(w[0]!, w[1]!, w[2]!, w[3]!), urlText(w));
    }),
    { numRuns: 20000 },
  );
});

test('IPv6 text: fixed cases, IPv4-mapped addresses and signed words', () => {
  assert.equal(formatIPv6(0, 0, 0, 0), '::');
  assert.equal(formatIPv6(0, 0, 0, 1), '::1');
  assert.equal(formatIPv6(0x20010db8, 0, 0x00010000, 1), '2001:db8::1:0:0:1');
  assert.equal(formatIPv6(0x00010000, 0, 0x20000, 0), '1::2:0:0:0');
  assert.equal(formatIPv6(0x20010db8, 0x00010001, 0x00010001, 0x00010001), '2001:db8:1:1:1:1:1:1');
  assert.equal(formatIPv6(0, 0, 0xffff, 0x01020304), '::ffff:1.2.3.4');
  // words arrive signed from Int32 views
  assert.equal(formatIPv6(0xfe800000 | 0, 0, 0x0a0b0c0d, 0xffffffff | 0), 'fe80::a0b:c0d:ffff:ffff');
  assert.equal(formatIPv4(0xc0a80001), '192.168.0.1');
});

test('IPv6 text parses back to the same words', () => {
  fc.assert(
    fc.property(fc.array(word, { minLength: 4, maxLength: 4 }), (w) => {
      const p = parseAddr(formatIPv6(w[0]!, w[1]!, w[2]!, w[3]!));
      assert.ok(p !== null && p.version === 6);
      assert.deepEqual(p.w.map((x) => x >>> 0), w.map((x) => x >>> 0));
    }),
    { numRuns: 5000 },
  );
});
