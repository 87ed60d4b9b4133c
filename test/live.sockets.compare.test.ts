/**
 * The allocation-free change detection of the sockets saver
 * (src/live/sockets/raw-compare.ts) answers what tcp-info's Compare
 * (src/tcpinfo/compare.ts on ArchivalRecords) answers: on tcp-info's own
 * three recorded polls (Go golden), and on random pairs of payloads built
 * from the same attributes with random differences (fast-check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compareRaw, newAttrTable, parseAttrTable, attrCount } from '../src/live/sockets/raw-compare.js';
import { compareRecords, CHANGE_NAMES } from '../src/tcpinfo/compare.js';
import { makeArchivalRecord, parseRouteAttrs, type NetlinkMessage } from '../src/tcpinfo/netlink.js';
import { RAW_MESSAGES, TCPINFO_FIX, cookieHex } from './_sockets-helpers.js';

function rawChange(cur: Uint8Array, prev: Uint8Array): number {
  const ct = newAttrTable();
  const pt = newAttrTable();
  assert.ok(parseAttrTable(cur, 0, cur.length, ct) && parseAttrTable(prev, 0, prev.length, pt));
  return compareRaw(cur, 0, ct, prev, 0, pt);
}

const msg = (data: Uint8Array): NetlinkMessage => ({ len: data.length + 16, type: 20, flags: 0, seq: 0, pid: 0, data });

test("on tcp-info's three recorded polls every socket gets the Go Compare result", () => {
  const golden = readFileSync(join(TCPINFO_FIX, 'harness', 'compare', 'compare-testdata.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('cycle=') && !l.startsWith('cycle=0'));
  const lines: string[] = [];
  for (let cycle = 1; cycle < 3; cycle++) {
    for (let i = cycle * 140; i < cycle * 140 + 140; i++) {
      const prev = RAW_MESSAGES.slice((cycle - 1) * 140, cycle * 140).find((m) => cookieHex(m) === cookieHex(RAW_MESSAGES[i]!))!;
      const change = rawChange(RAW_MESSAGES[i]!.data, prev.data);
      lines.push(`cycle=${cycle} index=${i} cookie=${cookieHex(RAW_MESSAGES[i]!)} change=${change} ${CHANGE_NAMES[change]}`);
    }
  }
  assert.deepEqual(lines, golden);
});

/** A payload: struct inet_diag_msg (with `state`) then the attributes in order. */
function payload(state: number, attrs: [number, Uint8Array][]): Uint8Array {
  const parts: Buffer[] = [];
  const idm = Buffer.alloc(72);
  idm[0] = 2;
  idm[1] = state;
  idm[44] = 7;
  parts.push(idm);
  for (const [type, value] of attrs) {
    const a = Buffer.alloc((4 + value.length + 3) & ~3);
    a.writeUInt16LE(4 + value.length, 0);
    a.writeUInt16LE(type, 2);
    Buffer.from(value).copy(a, 4);
    parts.push(a);
  }
  return Uint8Array.from(Buffer.concat(parts));
}

// Base values: a real record's attributes (tcp_info of 224 bytes) plus a few extra types.
const BASE: Map<number, Uint8Array> = (() => {
  const r = makeArchivalRecord(RAW_MESSAGES[0]!)!;
  const m = new Map<number, Uint8Array>();
  r.attributes!.forEach((a, t) => a && m.set(t, a));
  const info = new Uint8Array(224);
  info.set(m.get(2)!.subarray(0, Math.min(224, m.get(2)!.length)));
  m.set(2, info);
  m.set(0, Uint8Array.of(1, 2, 3, 4));
  m.set(17, Uint8Array.of(9, 0, 0, 0));
  m.set(21, new Uint8Array(8));
  m.set(40, Uint8Array.of(5));
  return m;
})();
const TYPES = [...BASE.keys()].sort((a, b) => a - b);

const side = fc.record({
  state: fc.constantFrom(1, 1, 1, 8),
  present: fc.array(fc.boolean(), { minLength: TYPES.length, maxLength: TYPES.length }),
  // [type index, byte position, new value] changes; positions spread over the tcp_info ranges.
  flips: fc.array(fc.tuple(fc.nat(TYPES.length - 1), fc.nat(239), fc.nat(255)), { maxLength: 3 }),
  cut: fc.option(fc.tuple(fc.nat(TYPES.length - 1), fc.nat(240)), { nil: null }),
  reversed: fc.boolean(),
  duplicate: fc.boolean(),
});

type Side = { state: number; present: boolean[]; flips: [number, number, number][]; cut: [number, number] | null; reversed: boolean; duplicate: boolean };

/** Pairs: unrelated, identical, or the same attributes with a few changed bytes. */
const pair = fc.oneof(
  fc.tuple(side, side),
  side.map((a): [Side, Side] => [a, a]),
  side.chain((a) =>
    fc.array(fc.tuple(fc.nat(TYPES.length - 1), fc.nat(239), fc.nat(255)), { minLength: 1, maxLength: 2 }).map((more): [Side, Side] => [a, { ...a, flips: [...a.flips, ...more] }]),
  ),
);

function build(s: Side): Uint8Array {
  const attrs: [number, Uint8Array][] = [];
  TYPES.forEach((t, i) => {
    if (!s.present[i]) return;
    let v = Uint8Array.from(BASE.get(t)!);
    for (const [ti, pos, val] of s.flips) if (ti === i && pos < v.length) v[pos] = val;
    if (s.cut && s.cut[0] === i) v = v.subarray(0, Math.min(v.length, s.cut[1]));
    attrs.push([t, v]);
  });
  if (s.reversed) attrs.reverse();
  if (s.duplicate && attrs.length > 0) attrs.push([attrs[0]![0], Uint8Array.of(42)]);
  return payload(s.state, attrs);
}

test('on random payload pairs (attributes present or not, changed bytes, cut values, duplicates, types past 38) raw and record comparisons agree', () => {
  const seen = new Set<number>();
  fc.assert(
    fc.property(pair, ([a, b]) => {
      const cur = build(a);
      const prev = build(b);
      const expected = compareRecords(makeArchivalRecord(msg(cur))!, makeArchivalRecord(msg(prev))!);
      assert.equal(rawChange(cur, prev), expected);
      seen.add(expected);
      // The table's length is Go's Attributes length.
      const t = newAttrTable();
      parseAttrTable(cur, 0, cur.length, t);
      assert.equal(attrCount(t), makeArchivalRecord(msg(cur))!.attributes!.length);
    }),
    { numRuns: 3000, seed: 20240601 },
  );
  // Every outcome Compare can give (PacketCountChange is never returned, PreviousWasNil needs no previous record).
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5, 6, 9]);
});

test('a malformed attribute is rejected by the table exactly when parseRouteAttrs rejects it', () => {
  const ok = payload(1, [[4, Uint8Array.of(99, 117, 98, 105, 99, 0)]]);
  const cases: Uint8Array[] = [ok, ok.subarray(0, ok.length - 1), ok.subarray(0, ok.length - 3), ok.subarray(0, 74), ok.subarray(0, 72)];
  const bad = Uint8Array.from(ok);
  bad[72] = 3; // rta_len 3 < 4
  cases.push(bad);
  const long = Uint8Array.from(ok);
  long[72] = 200; // rta_len past the end
  cases.push(long);
  const got = cases.map((c) => parseAttrTable(c, 0, c.length, newAttrTable()));
  const want = cases.map((c) => {
    try {
      parseRouteAttrs(c.subarray(72));
      return true;
    } catch {
      return false;
    }
  });
  assert.deepEqual(got, want);
  assert.deepEqual(got, [true, true, false, true, true, false, false]);
});
