import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlowTable } from '../src/tcp/table.js';
import type { Conn } from '../src/tcp/conn.js';

interface Key { proto: number; s: number[]; sp: number; d: number[]; dp: number }

function hashOf(k: Key): number {
  return FlowTable.keyHash(k.proto, k.s[0]!, k.s[1]!, k.s[2]!, k.s[3]!, k.sp, k.d[0]!, k.d[1]!, k.d[2]!, k.d[3]!, k.dp);
}
function find(t: FlowTable, k: Key, reverse = false): Conn | null {
  const [s, sp, d, dp] = reverse ? [k.d, k.dp, k.s, k.sp] : [k.s, k.sp, k.d, k.dp];
  const h = FlowTable.keyHash(k.proto, s[0]!, s[1]!, s[2]!, s[3]!, sp, d[0]!, d[1]!, d[2]!, d[3]!, dp);
  return t.lookup(h, k.proto, s[0]!, s[1]!, s[2]!, s[3]!, sp, d[0]!, d[1]!, d[2]!, d[3]!, dp);
}
const keyStr = (k: Key): string => `${k.proto}|${k.s.join('.')}:${k.sp}|${k.d.join('.')}:${k.dp}`;
const canon = (k: Key): string => {
  const a = keyStr(k), b = keyStr({ proto: k.proto, s: k.d, sp: k.dp, d: k.s, dp: k.sp });
  return a < b ? a : b;
};

// Small value ranges force hash collisions, cluster wrap-around and reverse-direction hits.
const keyArb = fc.record({
  proto: fc.constantFrom(6, 17),
  s: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 1 })).map((t) => [...t]),
  sp: fc.integer({ min: 0, max: 5 }),
  d: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 1 })).map((t) => [...t]),
  dp: fc.integer({ min: 0, max: 5 }),
});

test('the flow table agrees with a Map model under random inserts, lookups in both directions and removals', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('add', 'del', 'get'), keyArb), { maxLength: 400 }), (ops) => {
      const t = new FlowTable(8); // tiny: exercises growth and probing
      const model = new Map<string, Conn>();
      for (const [op, k] of ops) {
        const c = canon(k);
        if (op === 'add') {
          if (model.has(c)) continue;
          const conn = t.insert(hashOf(k), k.proto, 4, k.s[0]!, k.s[1]!, k.s[2]!, k.s[3]!, k.sp, k.d[0]!, k.d[1]!, k.d[2]!, k.d[3]!, k.dp);
          model.set(c, conn);
        } else if (op === 'del') {
          const conn = model.get(c);
          if (!conn) continue;
          t.remove(conn);
          model.delete(c);
        } else {
          const fwd = find(t, k);
          const rev = find(t, k, true);
          assert.equal(fwd, model.get(c) ?? null);
          assert.equal(rev, model.get(c) ?? null);
        }
        assert.equal(t.size, model.size);
      }
      for (const [c, conn] of model) {
        assert.ok(conn.id >= 0, `live flow ${c} keeps its id`);
      }
    }),
    { numRuns: 400 },
  );
});

test('lookup reports the direction of the packet relative to the first packet', () => {
  const t = new FlowTable(16);
  const k: Key = { proto: 6, s: [0x0a000001, 0, 0, 0], sp: 40000, d: [0x0a000002, 0, 0, 0], dp: 80 };
  const c = t.insert(hashOf(k), 6, 4, k.s[0]!, 0, 0, 0, k.sp, k.d[0]!, 0, 0, 0, k.dp);
  assert.equal(find(t, k), c);
  assert.equal(t.fromA, true);
  assert.equal(find(t, k, true), c);
  assert.equal(t.fromA, false);
  assert.equal(find(t, { ...k, dp: 81 }), null);
});
