import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptyRecord, floatText, toJsonLine, type FieldType, type RecordSchema, type RecordValues } from '../src/records/schema.js';
import { formatIPv4 } from '../src/util/ip.js';

// 19 fields: two full groups of 8 and a short one, every value type.
const TYPES: FieldType[] = ['string', 'int', 'float', 'bool', 'time', 'seconds'];
const SCHEMA: RecordSchema = {
  kind: 'probe',
  doc: 'test schema',
  fields: Array.from({ length: 19 }, (_, i) => ({ name: `f${i}`, type: TYPES[i % TYPES.length]!, doc: '', vocab: 'tcpkit' as const })),
};

/** The line as JSON.stringify would write it, with time and seconds values (decimal text) unquoted. */
function reference(r: RecordValues): string {
  const parts = SCHEMA.fields.map((f) => {
    const v = r[f.name];
    const text = v === null || v === undefined ? 'null' : f.type === 'string' ? JSON.stringify(String(v)) : f.type === 'bool' ? String(Boolean(v)) : String(v);
    return `"${f.name}":${text}`;
  });
  return `{"record":"probe",${parts.join(',')}}`;
}

const value = (t: FieldType): fc.Arbitrary<string | number | boolean | null> => {
  const v =
    t === 'string'
      ? fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', '\n', '\u0000', '\u007f', 'é', '\u2028', '\ud800'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) })
      : t === 'bool'
        ? fc.boolean()
        : t === 'int'
          ? fc.integer()
          : t === 'float'
            ? fc.double({ noNaN: true, noDefaultInfinity: true })
            : fc.nat().map((s) => `${s}.000000001`);
  return fc.oneof(fc.constant(null), v);
};

test('NDJSON lines equal the reference for any mix of nulls and values, escapes included', () => {
  fc.assert(
    fc.property(fc.tuple(...SCHEMA.fields.map((f) => value(f.type))), (values) => {
      const r = emptyRecord(SCHEMA);
      SCHEMA.fields.forEach((f, i) => (r[f.name] = values[i]!));
      const line = toJsonLine(SCHEMA, r);
      assert.equal(line, reference(r));
      assert.doesNotThrow(() => JSON.parse(line));
    }),
    { numRuns: 2000 },
  );
});

test('a group of nulls, a group with one value and an undefined value are written in full', () => {
  const r = emptyRecord(SCHEMA);
  r['f12'] = 'x"y';
  r['f18'] = undefined as unknown as null;
  const line = toJsonLine(SCHEMA, r);
  assert.equal(line, reference(r));
  assert.match(line, /"f0":null,"f1":null/);
  assert.match(line, /"f12":"x\\"y"/);
  assert.match(line, /"f18":null\}$/);
});

test('IPv4 text for the corner addresses', () => {
  assert.equal(formatIPv4(0), '0.0.0.0');
  assert.equal(formatIPv4(0xffffffff), '255.255.255.255');
  assert.equal(formatIPv4(-1), '255.255.255.255');
  assert.equal(formatIPv4(0xc0a80001 | 0), '192.168.0.1');
});

test('floatText gives the text String() gives: 6-decimal values (fast path) and any other number', () => {
  const edge = [0, -0, 1e-6, -1e-6, 0.1, 0.5, 1, 27.892, 2.17225, 1e-7, 123456.000001, 2147483647.999999, 2147483648, -2147483648.5, 1e21, 1e300, 5e-324, NaN, Infinity, -Infinity];
  for (const v of edge) assert.equal(floatText(v), String(v), `value ${v}`);
  // m / 10^6 for integers m up to 2^31 * 10^6 in magnitude (the fast path), and near its bound
  const six = fc.oneof(fc.integer({ min: -1e9, max: 1e9 }), fc.double({ min: -2147483648e6, max: 2147483648e6, noNaN: true }).map(Math.round));
  fc.assert(
    fc.property(six, (m) => {
      const v = Math.round(m) / 1e6;
      assert.equal(floatText(v), String(v));
    }),
    { numRuns: 20000 },
  );
  fc.assert(
    fc.property(fc.double(), (v) => {
      assert.equal(floatText(v), String(v));
    }),
    { numRuns: 20000 },
  );
});
