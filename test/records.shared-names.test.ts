/**
 * ALL_FIELDS (what --where and --by accept) takes a field's type from the
 * first kind that defines the name: kinds that share a name must share its
 * type, or a predicate on it would read one kind's values with the other's
 * type.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCHEMAS } from '../src/records/index.js';

test('fields that several record kinds share have one type', () => {
  const seen = new Map<string, { kind: string; type: string }>();
  const conflicts: string[] = [];
  for (const s of SCHEMAS.values()) {
    for (const f of s.fields) {
      const o = seen.get(f.name);
      if (o === undefined) seen.set(f.name, { kind: s.kind, type: f.type });
      else if (o.type !== f.type) conflicts.push(`${f.name}: ${o.kind} ${o.type}, ${s.kind} ${f.type}`);
    }
  }
  assert.deepEqual(conflicts, []);
});
