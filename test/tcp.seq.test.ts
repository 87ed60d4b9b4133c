import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { seqDiff, seqLt, seqLte, seqAdd, unwrap } from '../src/tcp/seq.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nearWrap = fc.integer({ min: 0xffffff00, max: 0xffffffff });

test('seqDiff across the wrap: 0xFFFFFFFF is one before 0', () => {
  assert.equal(seqDiff(0xffffffff, 0), 1);
  assert.equal(seqDiff(0, 0xffffffff), -1);
  assert.equal(seqLt(0xffffffff, 0), true);
  assert.equal(seqLt(0, 0xffffffff), false);
  assert.equal(seqLte(0xffffffff, 0xffffffff), true);
  assert.equal(seqAdd(0xffffffff, 1), 0);
  assert.equal(seqAdd(0xfffffc00, 0x500), 0x100);
});

test('seqDiff(a, a + n) is n for every a and every |n| < 2^31', () => {
  fc.assert(
    fc.property(u32, fc.integer({ min: -0x7fffffff, max: 0x7fffffff }), (a, n) => {
      assert.equal(seqDiff(a, seqAdd(a, n)), n);
      assert.equal(seqLt(a, seqAdd(a, n)), n > 0);
    }),
    { numRuns: 20000 },
  );
});

test('seqDiff near 0xFFFFFFFF: every start in the last 256 values and every step up to 4096', () => {
  fc.assert(
    fc.property(nearWrap, fc.integer({ min: 0, max: 4096 }), (a, n) => {
      const b = seqAdd(a, n);
      assert.equal(seqDiff(a, b), n);
      assert.equal(seqLte(a, b), true);
      assert.equal(seqLt(b, a), n > 0 ? false : false);
    }),
    { numRuns: 20000 },
  );
});

test('unwrap counts up across any number of wraps when steps stay below 2^31', () => {
  fc.assert(
    fc.property(u32, fc.array(fc.integer({ min: 0, max: 0x7ffffff0 }), { minLength: 1, maxLength: 40 }), (base, steps) => {
      let off = 0;
      let maxSeen = 0;
      for (const s of steps) {
        off += s;
        const seq = seqAdd(base, off % 4294967296);
        const got = unwrap(base, seq, maxSeen);
        assert.equal(got, off);
        maxSeen = Math.max(maxSeen, got);
      }
    }),
    { numRuns: 3000 },
  );
});

test('unwrap of an old (retransmitted) number just behind the highest offset stays behind it', () => {
  fc.assert(
    fc.property(u32, fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 0x7fffffff }), (base, high, back) => {
      const target = Math.max(0, high - back);
      const seq = seqAdd(base, target % 4294967296);
      assert.equal(unwrap(base, seq, high), target);
    }),
    { numRuns: 20000 },
  );
});

test('unwrap of the byte right before the ISN (relative -1) is -1, not 2^32 - 1', () => {
  assert.equal(unwrap(0, 0xffffffff, 0), -1);
  assert.equal(unwrap(0xffffffff, 0xfffffffe, 0), -1);
  assert.equal(unwrap(0xffffffff, 0, 0), 1);
});
