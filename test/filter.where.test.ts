import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { WHERE_FIELDS, compileWhere } from '../src/filter/where.js';

/** The conn fields without their value lists: the comparison semantics on any string, not only known values. */
const ANY_VALUES = WHERE_FIELDS.map(({ values: _values, ...f }) => f);
import type { RecordValues } from '../src/records/schema.js';

const base: RecordValues = {
  proto: 'tcp',
  orig_p: 40000,
  resp_p: 80,
  conn_state: 'REJ',
  handshake: 'timeout',
  rtt_ms: 120.5,
  orig_retransmission: 0,
  resp_retransmission: 2,
  sack: true,
  service: null,
  ts: '1700000000.000000001',
};
const rec = (over: RecordValues = {}): RecordValues => ({ ...base, ...over });

/** The predicate's verdict on each record. */
const verdicts = (expr: string, records: RecordValues[]): boolean[] => {
  const p = compileWhere(expr);
  return records.map((r) => p(r));
};

test('string fields compare with bare words and quoted strings alike', () => {
  assert.deepEqual(
    ['conn_state=REJ', 'conn_state="REJ"', "conn_state='REJ'", 'REJ=conn_state', 'handshake=timeout', 'handshake!=success', 'service=http', 'conn_state="S0"'].map((e) => compileWhere(e)(base)),
    [true, true, true, true, true, true, false, false],
  );
});

test("the name of a bool field compared with a string field is a word (tcpeek's handshake values beside Zeek's success field)", () => {
  const r = rec({ handshake: 'success', success: false });
  assert.deepEqual(['handshake=success', 'success=handshake', 'handshake!=success', 'success=false', 'success'].map((e) => compileWhere(e)(r)), [true, true, false, true, false]);
});

test('bare words that are not names (addresses) are strings against string fields', () => {
  const r = rec({ orig_h: '10.0.0.1', resp_h: '2001:db8::1' });
  assert.deepEqual(['orig_h = 10.0.0.1', 'resp_h=2001:db8::1', 'resp_h = ::1', '10.0.0.1 = orig_h', 'orig_h != 10.0.0.2'].map((e) => compileWhere(e)(r)), [true, true, false, true, true]);
});

test('numeric comparisons cover all six operators', () => {
  assert.deepEqual(
    ['rtt_ms>=100', 'rtt_ms>120.5', 'rtt_ms<=120.5', 'rtt_ms<1e3', 'rtt_ms=120.5', 'rtt_ms!=120.5', 'resp_p = 80', 'orig_p < .5'].map((e) => compileWhere(e)(base)),
    [true, false, true, true, true, false, true, false],
  );
});

test('arithmetic adds and subtracts numeric fields, left to right, with unary minus', () => {
  const r = rec({ orig_retransmission: 2, resp_retransmission: 1 });
  assert.deepEqual(
    [
      'orig_retransmission+resp_retransmission>0',
      'orig_retransmission + resp_retransmission = 3',
      'orig_retransmission - resp_retransmission - 1 = 0',
      'orig_retransmission - (resp_retransmission - 1) = 2',
      '-orig_retransmission = -2',
      '(orig_retransmission+resp_retransmission)>=3',
      'resp_p - orig_p < 0',
    ].map((e) => compileWhere(e)(r)),
    [true, true, true, true, true, true, true],
  );
});

test('"and" binds tighter than "or", "not" tighter than "and", and parentheses override both', () => {
  const rs = [rec({ conn_state: 'SF', rtt_ms: 1 }), rec({ conn_state: 'REJ', rtt_ms: 1 }), rec({ conn_state: 'SF', rtt_ms: 500 })];
  // a or b and c  ==  a or (b and c)
  assert.deepEqual(verdicts('conn_state=REJ or rtt_ms>100 and handshake=success', rs), [false, true, false]);
  assert.deepEqual(verdicts('(conn_state=REJ or rtt_ms>100) and handshake=timeout', rs), [false, true, true]);
  // not a and b  ==  (not a) and b
  assert.deepEqual(verdicts('not conn_state=REJ and rtt_ms>100', rs), [false, false, true]);
  assert.deepEqual(verdicts('not (conn_state=REJ and rtt_ms>100)', rs), [true, true, true]);
  assert.deepEqual(verdicts('not not conn_state=REJ', rs), [false, true, false]);
  assert.deepEqual(verdicts('conn_state=SF AND rtt_ms<2 Or NOT sack', rs), [true, false, false]);
});

test('null fields compare false, except with = null and != null', () => {
  const r = rec({ rtt_ms: null, service: null, handshake: null });
  assert.deepEqual(
    ['rtt_ms>=0', 'rtt_ms<0', 'rtt_ms=0', 'rtt_ms!=0', 'service!=http', 'rtt_ms=null', 'rtt_ms!=null', 'null=rtt_ms', 'handshake=null', 'conn_state!=null', 'rtt_ms+1>0', 'not rtt_ms>0', 'missing_field=null'].map((e) => {
      try {
        return compileWhere(e)(r);
      } catch {
        return 'error';
      }
    }),
    [false, false, false, false, false, true, false, true, true, true, false, true, 'error'],
  );
  assert.equal(compileWhere('rtt_ms=null')({}), true, 'an absent field is null');
});

test('strings and numbers meet as the number a string spells, else they are unequal and unordered', () => {
  const r = rec({ conn_state: '10' });
  assert.deepEqual(
    ['resp_p="80"', 'resp_p<"81"', 'resp_p="http"', 'resp_p!="http"', 'resp_p<"http"', 'conn_state=10', 'conn_state<9', 'conn_state>9', 'conn_state="10"', 'conn_state<"9"'].map((e) => compileWhere(e, ANY_VALUES)(r)),
    [true, true, false, true, false, true, false, true, true, true],
  );
  // time fields carried as text compare as numbers
  assert.deepEqual(['ts>1699999999.5', 'ts<1700000000.5'].map((e) => compileWhere(e)(base)), [true, true]);
});

test('bool fields are conditions by themselves and compare with true and false', () => {
  const rs = [rec({ sack: true }), rec({ sack: false }), rec({ sack: null })];
  assert.deepEqual(
    ['sack', 'not sack', 'sack=true', 'sack!=true', 'sack=false', 'true', 'false or sack'].map((e) => verdicts(e, rs)),
    [
      [true, false, false],
      [false, true, true],
      [true, false, false],
      [false, true, false],
      [false, true, false],
      [true, true, true],
      [true, false, false],
    ],
  );
});

test('a custom field list replaces the conn fields', () => {
  const p = compileWhere('n > 1 and s = x', [
    { name: 'n', type: 'int', vocab: 'tcpkit', doc: '' },
    { name: 's', type: 'string', vocab: 'tcpkit', doc: '' },
  ]);
  assert.deepEqual([p({ n: 2, s: 'x' }), p({ n: 1, s: 'x' })], [true, false]);
  assert.throws(() => compileWhere('rtt_ms > 1', [{ name: 'n', type: 'int', vocab: 'tcpkit', doc: '' }]), { message: '--where "rtt_ms > 1": unknown field "rtt_ms" (nearest field: "n"; quote string values) at column 1' });
});

test('every syntax error is a usage error naming the mistake and its 1-based column', () => {
  const cases: [string, string, number][] = [
    ['rtt_ms >= ', 'expected a number, a string or a field', 10],
    ['', 'expected a number, a string or a field', 1],
    ['rtt_ms >= )', 'expected a number, a string or a field, found ")"', 11],
    ['conn_state=REJ and', 'expected a number, a string or a field', 19],
    ['rtt_msec=1', 'unknown field "rtt_msec" (nearest field: "rtt_ms"; quote string values)', 1],
    ['rtt_ms > conn', 'unknown field "conn" (nearest field: "conns"; quote string values)', 10],
    ['handshak = timeout', 'unknown field "handshak" (nearest field: "handshake"; quote string values)', 1],
    ['rtt_ms', 'expected a condition (a comparison or a bool field), found the float field "rtt_ms"', 1],
    ['rtt_ms > 1 and 5', 'expected a condition (a comparison or a bool field), found a number', 16],
    ['(rtt_ms > 1', 'expected ")" to close the "(" of column 1', 12],
    ['rtt_ms > 1)', 'unmatched ")"', 11],
    ['rtt_ms > 1 rtt_ms', 'expected "and", "or" or the end, found "rtt_ms"', 12],
    ['hand b', 'unknown field "hand" (nearest field: "handshake"; quote string values)', 1],
    ['rtt_ms < 1 < 2', 'comparisons do not chain; join them with "and"', 12],
    ['not', 'expected a number, a string or a field', 4],
    ['conn_state + 1 > 0', '"+" needs numbers, found the string field "conn_state"', 1],
    ['rtt_ms < null', 'null can only be compared with = or !=', 8],
    ['rtt_ms == 1', 'expected a number, a string or a field, found "="', 9],
    ['rtt_ms @ 1', 'unexpected "@"', 8],
    ['conn_state = "REJ', 'unclosed string (no closing ")', 14],
    ['rtt_ms = 10.0.0.1', '"10.0.0.1" is neither a number nor a field (a bare word is a string only against a string field; quote it otherwise)', 10],
    ['rtt_ms > 1x', '"1x" is neither a number nor a field (a bare word is a string only against a string field; quote it otherwise)', 10],
    ['resp_h = ::1 or', 'expected a number, a string or a field', 16],
    ['(rtt_ms > 1) + 1 > 0', 'expected a value, found a condition', 1],
  ];
  for (const [expr, message, column] of cases) {
    assert.throws(
      () => compileWhere(expr),
      (e: unknown) => {
        const err = e as { name: string; code: string; message: string; context: object; exitCode: number };
        assert.deepEqual(
          { name: err.name, code: err.code, message: err.message, context: err.context, exitCode: err.exitCode },
          { name: 'UsageError', code: 'WHERE_SYNTAX', message: `--where "${expr}": ${message} at column ${column}`, context: { column }, exitCode: 2 },
        );
        return true;
      },
      expr,
    );
  }
});

test('every --where example of docs/filters.md compiles', () => {
  const doc = readFileSync(new URL('../../docs/filters.md', import.meta.url), 'utf8');
  const block = /Examples:\n\n```\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/filters.md has the --where examples block');
  const examples = block[1]!.trim().split('\n');
  assert.equal(examples.length, 8);
  for (const e of examples) assert.equal(typeof compileWhere(e)(base), 'boolean', e);
});

// ---------------------------------------------------------------- property test

type NumE = { t: 'field'; name: string } | { t: 'num'; v: number } | { t: 'arith'; op: '+' | '-'; a: NumE; b: NumE } | { t: 'neg'; a: NumE };
type Op = '=' | '!=' | '<' | '<=' | '>' | '>=';
type Operand = { t: 'num'; e: NumE } | { t: 'strfield'; name: string } | { t: 'str'; v: string; bare: boolean } | { t: 'null' } | { t: 'boolfield'; name: string } | { t: 'bool'; v: boolean };
type BoolE =
  | { t: 'cmp'; op: Op; l: Operand; r: Operand; paren: boolean }
  | { t: 'truth'; name: string }
  | { t: 'and' | 'or'; a: BoolE; b: BoolE; paren: boolean }
  | { t: 'not'; a: BoolE };

const NUM_FIELDS = ['orig_p', 'orig_retransmission', 'resp_retransmission', 'rtt_ms'];
const STR_FIELDS = ['conn_state', 'handshake'];
const OPS: Op[] = ['=', '!=', '<', '<=', '>', '>='];

const numE: fc.Arbitrary<NumE> = fc.letrec<{ n: NumE }>((tie) => ({
  n: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('field' as const), name: fc.constantFrom(...NUM_FIELDS) }),
    fc.record({ t: fc.constant('num' as const), v: fc.constantFrom(0, 1, 2, 0.5, 100, -1) }),
    fc.record({ t: fc.constant('arith' as const), op: fc.constantFrom('+' as const, '-' as const), a: tie('n'), b: tie('n') }),
    fc.record({ t: fc.constant('neg' as const), a: tie('n') }),
  ),
})).n;

const strLit = fc.oneof(
  fc.record({ t: fc.constant('str' as const), v: fc.constantFrom('SF', 'REJ', 'timeout'), bare: fc.boolean() }),
  fc.record({ t: fc.constant('str' as const), v: fc.constantFrom('10', '', ' 2 ', 'a b', 'x"y'), bare: fc.constant(false) }),
);

const cmpE: fc.Arbitrary<BoolE> = fc.oneof(
  // number op number
  fc.record({ t: fc.constant('cmp' as const), op: fc.constantFrom(...OPS), l: numE.map((e) => ({ t: 'num' as const, e })), r: numE.map((e) => ({ t: 'num' as const, e })), paren: fc.boolean() }),
  // string field op string literal or string field
  fc.record({
    t: fc.constant('cmp' as const),
    op: fc.constantFrom(...OPS),
    l: fc.constantFrom(...STR_FIELDS).map((name) => ({ t: 'strfield' as const, name })),
    r: fc.oneof(strLit, fc.constantFrom(...STR_FIELDS).map((name) => ({ t: 'strfield' as const, name }))),
    paren: fc.boolean(),
  }),
  // mixed: number against a quoted string, string field against a number
  fc.record({
    t: fc.constant('cmp' as const),
    op: fc.constantFrom(...OPS),
    l: fc.oneof(numE.map((e) => ({ t: 'num' as const, e })), fc.constantFrom(...STR_FIELDS).map((name) => ({ t: 'strfield' as const, name }))),
    r: fc.oneof(
      fc.constantFrom('10', '2', 'x', '').map((v) => ({ t: 'str' as const, v, bare: false })),
      numE.map((e) => ({ t: 'num' as const, e })),
    ),
    paren: fc.boolean(),
  }),
  // null tests on any field
  fc.record({
    t: fc.constant('cmp' as const),
    op: fc.constantFrom('=' as const, '!=' as const),
    l: fc.oneof(
      fc.constantFrom(...NUM_FIELDS).map((name) => ({ t: 'num' as const, e: { t: 'field' as const, name } })),
      fc.constantFrom(...STR_FIELDS).map((name) => ({ t: 'strfield' as const, name })),
      fc.constant({ t: 'boolfield' as const, name: 'sack' }),
    ),
    r: fc.constant({ t: 'null' as const }),
    paren: fc.boolean(),
  }),
  // bool field against true / false
  fc.record({
    t: fc.constant('cmp' as const),
    op: fc.constantFrom('=' as const, '!=' as const),
    l: fc.constant({ t: 'boolfield' as const, name: 'sack' }),
    r: fc.boolean().map((v) => ({ t: 'bool' as const, v })),
    paren: fc.boolean(),
  }),
  fc.constant({ t: 'truth' as const, name: 'sack' }),
);

const boolE: fc.Arbitrary<BoolE> = fc.letrec<{ b: BoolE }>((tie) => ({
  b: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    cmpE,
    fc.record({ t: fc.constantFrom('and' as const, 'or' as const), a: tie('b'), b: tie('b'), paren: fc.boolean() }),
    fc.record({ t: fc.constant('not' as const), a: tie('b') }),
  ),
})).b;

const record: fc.Arbitrary<RecordValues> = fc.record({
  orig_p: fc.option(fc.constantFrom(0, 1, 2, 80, -1), { nil: null }),
  orig_retransmission: fc.option(fc.integer({ min: -2, max: 3 }), { nil: null }),
  resp_retransmission: fc.option(fc.integer({ min: -2, max: 3 }), { nil: null }),
  rtt_ms: fc.option(fc.constantFrom(0, 0.5, 1, 2.5, 100, 101.25), { nil: null }),
  conn_state: fc.option(fc.constantFrom('SF', 'REJ', '10', '', ' 2 ', 'x"y'), { nil: null }),
  handshake: fc.option(fc.constantFrom('timeout', 'success', 'SF'), { nil: null }),
  sack: fc.option(fc.boolean(), { nil: null }),
});

// printing: minimal parentheses from the precedence, plus the generated extra ones
function printNum(e: NumE, child = false): string {
  switch (e.t) {
    case 'field':
      return e.name;
    case 'num':
      return String(e.v);
    case 'neg':
      return `-${e.a.t === 'arith' ? `(${printNum(e.a)})` : printNum(e.a, true)}`;
    case 'arith': {
      const s = `${printNum(e.a)} ${e.op} ${e.b.t === 'arith' ? `(${printNum(e.b)})` : printNum(e.b, true)}`;
      return child ? `(${s})` : s;
    }
  }
}
function printOperand(o: Operand): string {
  switch (o.t) {
    case 'num':
      return printNum(o.e);
    case 'strfield':
    case 'boolfield':
      return o.name;
    case 'str':
      return o.bare ? o.v : `"${o.v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    case 'null':
      return 'null';
    case 'bool':
      return String(o.v);
  }
}
const LEVEL = { or: 1, and: 2, not: 3, cmp: 4, truth: 4 } as const;
function printBool(e: BoolE, min = 0): string {
  let s: string;
  switch (e.t) {
    case 'cmp':
      s = `${printOperand(e.l)} ${e.op} ${printOperand(e.r)}`;
      if (e.paren) s = `(${s})`;
      break;
    case 'truth':
      s = e.name;
      break;
    case 'not':
      s = `not ${printBool(e.a, LEVEL.not)}`;
      break;
    case 'and':
    case 'or':
      s = `${printBool(e.a, LEVEL[e.t])} ${e.t} ${printBool(e.b, LEVEL[e.t] + 1)}`;
      if (e.paren) s = `(${s})`;
      break;
  }
  return LEVEL[e.t] < min && !s.startsWith('(') ? `(${s})` : LEVEL[e.t] < min ? `(${s})` : s;
}

// the naive reference evaluator, straight from the documented semantics
type V = number | string | boolean | null;
function refNum(e: NumE, r: RecordValues): number | null {
  switch (e.t) {
    case 'field':
      return (r[e.name] as number | null) ?? null;
    case 'num':
      return e.v;
    case 'neg': {
      const a = refNum(e.a, r);
      return a === null ? null : -a;
    }
    case 'arith': {
      const a = refNum(e.a, r), b = refNum(e.b, r);
      if (a === null || b === null) return null;
      return e.op === '+' ? a + b : a - b;
    }
  }
}
function refOperand(o: Operand, r: RecordValues): V {
  switch (o.t) {
    case 'num':
      return refNum(o.e, r);
    case 'strfield':
    case 'boolfield':
      return (r[o.name] ?? null) as V;
    case 'str':
    case 'bool':
      return o.v;
    case 'null':
      return null;
  }
}
function refCmp(op: Op, x: V, y: V, nullTest: boolean): boolean {
  if (nullTest) return op === '=' ? x === null : x !== null;
  if (x === null || y === null) return false;
  if (typeof x === 'number' && typeof y === 'string') y = y.trim() === '' || Number.isNaN(Number(y)) ? null : Number(y);
  else if (typeof x === 'string' && typeof y === 'number') x = x.trim() === '' || Number.isNaN(Number(x)) ? null : Number(x);
  else if (typeof x !== typeof y) return op === '!=';
  if (x === null || y === null) return op === '!=';
  if (typeof x === 'boolean') return op === '=' ? x === y : op === '!=' ? x !== y : false;
  if (op === '=') return x === y;
  if (op === '!=') return x !== y;
  if (op === '<') return x < y;
  if (op === '<=') return x <= y;
  if (op === '>') return x > y;
  return x >= y;
}
function refBool(e: BoolE, r: RecordValues): boolean {
  switch (e.t) {
    case 'cmp':
      return refCmp(e.op, refOperand(e.l, r), refOperand(e.r, r), e.r.t === 'null');
    case 'truth':
      return r[e.name] === true;
    case 'not':
      return !refBool(e.a, r);
    case 'and':
      return refBool(e.a, r) && refBool(e.b, r);
    case 'or':
      return refBool(e.a, r) || refBool(e.b, r);
  }
}

test('a compiled predicate agrees with a naive reference evaluator on random expressions and records', () => {
  fc.assert(
    fc.property(boolE, fc.array(record, { minLength: 1, maxLength: 8 }), (e, records) => {
      const text = printBool(e);
      const p = compileWhere(text, ANY_VALUES);
      assert.deepEqual(
        records.map((r) => p(r)),
        records.map((r) => refBool(e, r)),
        text,
      );
    }),
    { numRuns: 2000 },
  );
});

test('a string compared with a field of known values must be one of them: "no such value; known: ..."', () => {
  const e = (expr: string): unknown => {
    try {
      compileWhere(expr);
    } catch (err) {
      return { code: (err as { code: string }).code, message: (err as Error).message, context: (err as { context: unknown }).context };
    }
    return null;
  };
  assert.deepEqual(e('handshake=rejected'), {
    code: 'WHERE_SYNTAX',
    message: '--where "handshake=rejected": handshake has no such value "rejected"; known: success, reject, timeout, unreach, abort at column 11',
    context: { column: 11 },
  });
  assert.match(String((e('conn_state != rej') as { message: string }).message), /conn_state has no such value "rej"; known: S0, S1, SF, REJ, .*; did you mean "REJ"\? \(values are case-sensitive\) at column 15$/);
  assert.match(String((e("'tcpp' = proto") as { message: string }).message), /proto has no such value "tcpp"; known: tcp, udp, icmp at column 1$/);
  assert.match(String((e('end_reason=closed') as { message: string }).message), /known: fin, rst_orig, rst_resp, idle, eof, interrupted, evicted, interim/);
  // known values, the empty string, and fields without a value list compile
  for (const ok of ['handshake=reject', 'handshake=""', 'handshake=abort', 'conn_state=RSTOS0', 'orig_rule=synack', 'orig_h=10.0.0.1', 'uid=CXYZ']) assert.equal(e(ok), null, ok);
});

test('the conn field aliases tcpsummary --by accepts (dst_port, src_port, dst, src, dst_ip, src_ip, state) work in --where too', () => {
  const records = [rec(), rec({ resp_p: 22, orig_h: '10.0.0.1', resp_h: '10.0.0.2', conn_state: 'SF' })];
  assert.deepEqual(verdicts('dst_port=22', records), verdicts('resp_p=22', records));
  assert.deepEqual(verdicts('dst_port=22', records), [false, true]);
  assert.deepEqual(verdicts('src_port=40000 and state=SF', records), [false, true]);
  assert.deepEqual(verdicts('dst=10.0.0.2 and src_ip=10.0.0.1', records), [false, true]);
  // state is also the transaction records' own field: it reads that where a record has it, and
  // conn_state on conn records; so its values are not checked against conn_state's list
  assert.deepEqual(verdicts('state=complete or state=SF', [rec({ conn_state: 'SF' }), { ...rec({ conn_state: 'SF' }), record: 'http', state: 'complete' }, { ...rec({ conn_state: 'SF' }), record: 'http', state: 'invalid' }]), [true, true, false]);
  assert.throws(() => compileWhere('conn_state=rej'), /conn_state has no such value "rej"/);
});
