/**
 * MemoryBudget: accounts add up into the budget, caps are per account,
 * charging never evicts by itself, and relieve() runs the reclaimers until
 * the charges fit (or nothing more can be freed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBudget } from '../src/util/memory-budget.js';

test('accounts charge into the budget and keep their own use, peak and cap', () => {
  const b = new MemoryBudget(1000);
  const flows = b.account('flows');
  const pool = b.account('reassembly', b.share(1 / 4));
  assert.equal(pool.cap, 250);
  assert.equal(flows.cap, 1000);
  flows.charge(600);
  pool.charge(200);
  assert.equal(b.used, 800);
  assert.equal(pool.wouldExceed(50), false);
  assert.equal(pool.wouldExceed(51), true);
  pool.release(200);
  assert.equal(b.used, 600);
  assert.equal(b.peak, 800);
  assert.equal(pool.peak, 200);
  assert.deepEqual(b.accounts.map((a) => a.name), ['flows', 'reassembly']);
});

test('charging past the limit only marks the budget over; relieve() frees through the reclaimers, in order', () => {
  const b = new MemoryBudget(100);
  const a = b.account('state');
  const held = [40, 40, 40];
  for (const x of held) a.charge(x);
  assert.equal(b.over, true);
  assert.equal(b.used, 120, 'nothing was freed by charging');
  const calls: string[] = [];
  b.onReclaim(() => {
    calls.push('first');
    const x = held.shift();
    if (x === undefined) return false;
    a.release(x);
    return true;
  });
  b.onReclaim(() => {
    calls.push('second');
    return false;
  });
  assert.equal(b.relieve(), true);
  assert.equal(b.used, 80);
  assert.deepEqual(calls, ['first']);
  // room for 30 more: one more item goes
  assert.equal(b.relieve(30), true);
  assert.equal(b.used, 40);
  // nothing can make room for 200: every reclaimer is asked, the answer is false
  calls.length = 0;
  assert.equal(b.relieve(200), false);
  assert.deepEqual(calls, ['first', 'first', 'second']);
  assert.equal(b.used, 0);
});

test('a budget must be positive', () => {
  assert.throws(() => new MemoryBudget(0), RangeError);
  assert.throws(() => new MemoryBudget(Number.NaN), RangeError);
});
