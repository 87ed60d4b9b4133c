/**
 * formatIso: RFC 3339 with nanoseconds for any whole number of seconds,
 * equal to Date's toISOString wherever Date reaches, and in ISO 8601's
 * expanded-year form beyond it (a capture can hold any timestamp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIso, isoFromEpochText } from '../src/util/time.js';

test('formatIso agrees with Date.toISOString (plus the nanoseconds) over Date\'s whole range', () => {
  fc.assert(
    fc.property(fc.integer({ min: -8_640_000_000_000, max: 8_640_000_000_000 }), fc.integer({ min: 0, max: 999_999_999 }), (sec, nsec) => {
      const d = new Date(sec * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z or ±YYYYYY-...
      assert.equal(formatIso(sec, nsec), `${d.slice(0, -5)}.${String(nsec).padStart(9, '0')}Z`);
    }),
    { numRuns: 2000 },
  );
  assert.equal(formatIso(1418145369, 924505488), '2014-12-09T17:16:09.924505488Z');
  assert.equal(isoFromEpochText('1418145369.924505488'), '2014-12-09T17:16:09.924505488Z');
});

test('beyond Date\'s range the year is written with a sign and six or more digits, and nothing throws', () => {
  assert.equal(formatIso(8_640_000_000_000 + 86400, 0), '+275760-09-14T00:00:00.000000000Z');
  const far = formatIso(2 ** 52, 1);
  assert.match(far, /^\+\d{6,}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000001Z$/);
  assert.match(formatIso(-(2 ** 50), 0), /^-\d{6,}-/);
});
