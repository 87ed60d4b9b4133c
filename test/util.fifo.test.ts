import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Fifo } from '../src/util/fifo.js';

test('Fifo behaves like an array with push and shift, across front drops', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.constant(-1)), { maxLength: 400 }), (minDrop, ops) => {
      const q = new Fifo<number>(minDrop);
      const model: number[] = [];
      for (const op of ops) {
        if (op >= 0) {
          q.push(op);
          model.push(op);
        } else {
          assert.equal(q.peek(), model[0]);
          assert.equal(q.shift(), model.shift());
        }
        assert.equal(q.length, model.length);
      }
      while (model.length > 0) assert.equal(q.shift(), model.shift());
      assert.equal(q.shift(), undefined);
      assert.equal(q.peek(), undefined);
    }),
    { numRuns: 500 },
  );
});
