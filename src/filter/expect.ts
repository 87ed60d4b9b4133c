/**
 * tcpcheck's expectations: aggregates over records compared with a bound,
 * as a test runner asserts.
 *
 *   expectation := [KIND ':'] value CMP value
 *   value       := term (('+' | '-') term)*
 *   term        := factor (('*' | '/') factor)*
 *   factor      := NUMBER | '(' value ')' | '-' factor | AGG '(' [args] ')'
 *   AGG         := count | sum | min | max | mean | avg | p50 | p90 | p95 | p99 | pNN (1..100)
 *
 * `count()` counts the records; `count(PREDICATE)` those for which a
 * `--where` predicate holds (docs/filters.md). The other aggregates take a
 * per-record arithmetic expression over numeric fields (+ - * /, numbers,
 * parentheses): `sum(orig_retransmission + resp_retransmission)`. A record
 * whose expression has no value (a field it does not have, or null) does
 * not count in min, max, mean and the percentiles (nearest rank, as
 * tcpsummary computes them) and adds nothing to sum.
 *
 * Which records: those of the kind named before a colon (`http: p99(latency_ms)
 * < 200`), else of the kind that has every field the expectation names
 * (conn first), conn when it names none.
 *
 * Each aggregate keeps its worst offenders (the records that matched a
 * count, or the largest values of the others; the smallest for min), so a
 * failed expectation can name the connections to look at.
 */
import type { FieldDef, RecordSchema, RecordValues } from '../records/schema.js';
import { SCHEMAS } from '../records/index.js';
import { UsageError } from '../util/errors.js';
import { compileWhere, type CmpOp } from './where.js';

export type AggName = 'count' | 'sum' | 'min' | 'max' | 'mean' | 'p';

type RecExpr = (r: RecordValues) => number | null;

export type ValueNode =
  | { k: 'num'; v: number }
  | { k: 'agg'; fn: AggName; pct: number; pred: ((r: RecordValues) => boolean) | null; expr: RecExpr | null; text: string; slot: number }
  | { k: 'bin'; op: '+' | '-' | '*' | '/'; a: ValueNode; b: ValueNode }
  | { k: 'neg'; a: ValueNode };

export interface Expectation {
  /** As written. */
  text: string;
  /** The record kind it is checked on. */
  kind: string;
  lhs: ValueNode;
  op: CmpOp;
  rhs: ValueNode;
  /** Aggregates in evaluation order (slots of an ExpectState). */
  aggs: Extract<ValueNode, { k: 'agg' }>[];
}

/** A record that weighed on an aggregate. */
export interface Offender {
  uid: string | null;
  tuple: string;
  value: number | null;
}

const OFFENDERS = 5;

function usage(text: string, message: string, at: number): never {
  throw new UsageError('EXPECT_SYNTAX', `--expect "${text}": ${message} at column ${at + 1}`, { column: at + 1 });
}

const CMP_OPS: readonly CmpOp[] = ['<=', '>=', '!=', '==' as CmpOp, '=', '<', '>'];

function fieldsOf(kind: string): Map<string, FieldDef> {
  return new Map((SCHEMAS.get(kind)?.fields ?? []).map((f) => [f.name, f]));
}

/** Every field of every kind, for parsing before the kind is known. */
function allFields(): Map<string, FieldDef> {
  const m = new Map<string, FieldDef>();
  for (const s of SCHEMAS.values()) for (const f of s.fields) if (!m.has(f.name)) m.set(f.name, f);
  return m;
}

const NUMERIC = new Set(['int', 'float', 'seconds', 'time']);

class Parser {
  private i = 0;
  readonly aggs: Extract<ValueNode, { k: 'agg' }>[] = [];
  readonly named = new Set<string>();

  constructor(
    private readonly text: string,
    start: number,
    private readonly end: number,
    private readonly fields: Map<string, FieldDef>,
  ) {
    this.i = start;
  }

  private ws(): void {
    while (this.i < this.end && /\s/.test(this.text[this.i]!)) this.i++;
  }

  private fail(message: string, at = this.i): never {
    return usage(this.text, message, at);
  }

  atEnd(): boolean {
    this.ws();
    return this.i >= this.end;
  }

  cmp(): CmpOp {
    this.ws();
    for (const op of CMP_OPS) {
      if (this.text.startsWith(op, this.i)) {
        this.i += op.length;
        return (op === ('==' as CmpOp) ? '=' : op) as CmpOp;
      }
    }
    return this.fail(`expected a comparison (<, <=, >, >=, ==, !=)${this.found()}`);
  }

  private found(): string {
    this.ws();
    return this.i >= this.end ? ', found the end' : `, found "${this.text.slice(this.i, Math.min(this.end, this.i + 12))}"`;
  }

  value(): ValueNode {
    let a = this.term();
    for (;;) {
      this.ws();
      const c = this.text[this.i];
      if (this.i < this.end && (c === '+' || c === '-')) {
        this.i++;
        a = { k: 'bin', op: c, a, b: this.term() };
      } else return a;
    }
  }

  private term(): ValueNode {
    let a = this.factor();
    for (;;) {
      this.ws();
      const c = this.text[this.i];
      if (this.i < this.end && (c === '*' || c === '/')) {
        this.i++;
        a = { k: 'bin', op: c, a, b: this.factor() };
      } else return a;
    }
  }

  private factor(): ValueNode {
    this.ws();
    const at = this.i;
    const c = this.text[this.i];
    if (this.i >= this.end) return this.fail('expected a number or an aggregate such as count(), sum(...), p99(...)');
    if (c === '(') {
      this.i++;
      const v = this.value();
      this.ws();
      if (this.text[this.i] !== ')') this.fail(`expected ")" to close the "(" of column ${at + 1}${this.found()}`);
      this.i++;
      return v;
    }
    if (c === '-') {
      this.i++;
      return { k: 'neg', a: this.factor() };
    }
    const num = /^\d+(\.\d+)?(e[+-]?\d+)?/i.exec(this.text.slice(this.i, this.end));
    if (num) {
      this.i += num[0].length;
      return { k: 'num', v: Number(num[0]) };
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.i, this.end));
    if (!word) return this.fail(`expected a number or an aggregate${this.found()}`);
    const name = word[0].toLowerCase();
    this.i += word[0].length;
    this.ws();
    if (this.text[this.i] !== '(') {
      if (this.fields.has(word[0])) this.fail(`a field ("${word[0]}") outside an aggregate: write sum(${word[0]}), max(${word[0]}), p99(${word[0]}) ...`, at);
      this.fail(`unknown word "${word[0]}" (an aggregate is count, sum, min, max, mean, p50, p90, p95, p99 or pNN, followed by parentheses)`, at);
    }
    let fn: AggName;
    let pct = 0;
    if (name === 'count' || name === 'sum' || name === 'min' || name === 'max' || name === 'mean') fn = name;
    else if (name === 'avg') fn = 'mean';
    else if (/^p\d{1,3}$/.test(name) && Number(name.slice(1)) >= 1 && Number(name.slice(1)) <= 100) {
      fn = 'p';
      pct = Number(name.slice(1));
    } else return this.fail(`unknown aggregate "${word[0]}" (count, sum, min, max, mean, p50, p90, p95, p99 or pNN)`, at);
    // the argument: up to the matching parenthesis
    const open = this.i;
    let depth = 0, j = open;
    for (; j < this.end; j++) {
      const ch = this.text[j];
      if (ch === '"' || ch === "'") {
        const q = this.text.indexOf(ch, j + 1);
        if (q < 0 || q >= this.end) break;
        j = q;
      } else if (ch === '(') depth++;
      else if (ch === ')' && --depth === 0) break;
    }
    if (j >= this.end || this.text[j] !== ')') this.fail(`expected ")" to close ${word[0]}(`, open);
    const inner = this.text.slice(open + 1, j);
    this.i = j + 1;
    const node: Extract<ValueNode, { k: 'agg' }> = { k: 'agg', fn, pct, pred: null, expr: null, text: this.text.slice(at, j + 1), slot: this.aggs.length };
    if (fn === 'count') {
      if (inner.trim() !== '') node.pred = this.predicate(inner, open + 1);
    } else {
      if (inner.trim() === '') this.fail(`${word[0]}() needs an expression over numeric fields, e.g. ${word[0]}(rtt_ms)`, open + 1);
      node.expr = new RecParser(this.text, open + 1, j, this.fields, this.named).parse();
    }
    this.aggs.push(node);
    return node;
  }

  /** A --where predicate, with its errors located in the whole expectation. */
  private predicate(inner: string, offset: number): (r: RecordValues) => boolean {
    for (const m of inner.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) if (this.fields.has(m[0])) this.named.add(m[0]);
    try {
      return compileWhere(inner, [...this.fields.values()]);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      const col = typeof e.context?.column === 'number' ? e.context.column : 1;
      const msg = e.message.replace(/^--where "[^]*?": /, '').replace(/ at column \d+$/, '');
      return usage(this.text, msg, offset + col - 1);
    }
  }
}

/** A per-record arithmetic expression: numeric fields, numbers, + - * /, parentheses. */
class RecParser {
  private i: number;
  constructor(
    private readonly text: string,
    start: number,
    private readonly end: number,
    private readonly fields: Map<string, FieldDef>,
    private readonly named: Set<string>,
  ) {
    this.i = start;
  }

  private ws(): void {
    while (this.i < this.end && /\s/.test(this.text[this.i]!)) this.i++;
  }

  parse(): RecExpr {
    const e = this.sum();
    this.ws();
    if (this.i < this.end) usage(this.text, `expected + - * / or ")", found "${this.text.slice(this.i, Math.min(this.end, this.i + 12))}"`, this.i);
    return e;
  }

  private sum(): RecExpr {
    let a = this.prod();
    for (;;) {
      this.ws();
      const c = this.text[this.i];
      if (this.i >= this.end || (c !== '+' && c !== '-')) return a;
      this.i++;
      const x = a, y = this.prod();
      a = c === '+' ? (r) => add(x(r), y(r)) : (r) => add(x(r), neg(y(r)));
    }
  }

  private prod(): RecExpr {
    let a = this.atom();
    for (;;) {
      this.ws();
      const c = this.text[this.i];
      if (this.i >= this.end || (c !== '*' && c !== '/')) return a;
      this.i++;
      const x = a, y = this.atom();
      a = c === '*' ? (r) => mul(x(r), y(r)) : (r) => div(x(r), y(r));
    }
  }

  private atom(): RecExpr {
    this.ws();
    const at = this.i;
    if (this.i >= this.end) return usage(this.text, 'expected a field or a number', at);
    const c = this.text[this.i];
    if (c === '(') {
      this.i++;
      const e = this.sum();
      this.ws();
      if (this.text[this.i] !== ')') usage(this.text, `expected ")" to close the "(" of column ${at + 1}`, this.i);
      this.i++;
      return e;
    }
    if (c === '-') {
      this.i++;
      const e = this.atom();
      return (r) => neg(e(r));
    }
    const num = /^\d+(\.\d+)?(e[+-]?\d+)?/i.exec(this.text.slice(this.i, this.end));
    if (num) {
      this.i += num[0].length;
      const v = Number(num[0]);
      return () => v;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.i, this.end));
    if (!word) return usage(this.text, `expected a field or a number, found "${this.text.slice(this.i, Math.min(this.end, this.i + 12))}"`, at);
    this.i += word[0].length;
    const f = this.fields.get(word[0]);
    if (f === undefined) return usage(this.text, `unknown field "${word[0]}"`, at);
    if (!NUMERIC.has(f.type) && f.type !== 'bool') return usage(this.text, `"${f.name}" is a ${f.type} field: only numeric and bool fields (true = 1) can be summed, averaged or ranked`, at);
    this.named.add(f.name);
    const name = f.name;
    return (r) => {
      const v = r[name];
      if (typeof v === 'number') return Number.isFinite(v) ? v : null;
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'string' && v !== '') {
        const n = Number(v);
        return Number.isFinite(n) ? n : null;
      }
      return null;
    };
  }
}

const add = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a + b);
const neg = (a: number | null): number | null => (a === null ? null : -a);
const mul = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a * b);
const div = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);

/** Parses an expectation; throws UsageError EXPECT_SYNTAX naming the column. */
export function parseExpectation(text: string, kinds: ReadonlyMap<string, RecordSchema> = SCHEMAS): Expectation {
  let start = 0;
  let kind: string | null = null;
  const prefix = /^\s*([a-z][a-z0-9_]*)\s*:(?![=:])/.exec(text);
  if (prefix && kinds.has(prefix[1]!)) {
    kind = prefix[1]!;
    start = prefix[0].length;
  }
  const fields = kind !== null ? fieldsOf(kind) : allFields();
  const p = new Parser(text, start, text.length, fields);
  const lhs = p.value();
  const op = p.cmp();
  const rhs = p.value();
  if (!p.atEnd()) usage(text, 'expected the end after the comparison', text.length - 1);
  if (p.aggs.length === 0) usage(text, 'no aggregate: an expectation compares count(), sum(...), p99(...) and the like with a bound', start);
  if (kind === null) {
    const named = [...p.named];
    const fits = (k: string): boolean => {
      const fs = fieldsOf(k);
      return named.every((n) => fs.has(n));
    };
    if (named.length === 0 || fits('conn')) kind = 'conn';
    else {
      kind = [...kinds.keys()].find((k) => k !== 'flow' && fits(k)) ?? null;
      if (kind === null) usage(text, `no record kind has all of ${named.join(', ')}; name the kind first (e.g. "http: ...")`, start);
    }
  }
  return { text, kind: kind!, lhs, op, rhs, aggs: p.aggs };
}

/** Running totals of one aggregate. */
class AggState {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  values: number[] = [];
  /** Worst offenders: [value, record] kept sorted by badness, at most OFFENDERS. */
  worst: [number, RecordValues][] = [];
}

/** The state of one expectation over one group of records. */
export class ExpectState {
  readonly aggs: AggState[];
  records = 0;

  constructor(readonly e: Expectation) {
    this.aggs = e.aggs.map(() => new AggState());
  }

  add(r: RecordValues): void {
    this.records++;
    for (let i = 0; i < this.e.aggs.length; i++) {
      const a = this.e.aggs[i]!;
      const s = this.aggs[i]!;
      if (a.fn === 'count') {
        if (a.pred === null || a.pred(r)) {
          s.count++;
          if (a.pred !== null && s.worst.length < OFFENDERS) s.worst.push([1, r]);
        }
        continue;
      }
      const v = a.expr!(r);
      if (v === null) continue;
      s.count++;
      s.sum += v;
      if (v < s.min) s.min = v;
      if (v > s.max) s.max = v;
      if (a.fn === 'p' || a.fn === 'mean') s.values.push(v);
      // the largest values weigh most, except for min
      const bad = a.fn === 'min' ? -v : v;
      if (s.worst.length < OFFENDERS || bad > s.worst[s.worst.length - 1]![0]) {
        s.worst.push([bad, r]);
        s.worst.sort((x, y) => y[0] - x[0]);
        if (s.worst.length > OFFENDERS) s.worst.pop();
      }
    }
  }

  private agg(n: Extract<ValueNode, { k: 'agg' }>): number | null {
    const s = this.aggs[n.slot]!;
    switch (n.fn) {
      case 'count':
        return s.count;
      case 'sum':
        return s.sum;
      case 'min':
        return s.count > 0 ? s.min : null;
      case 'max':
        return s.count > 0 ? s.max : null;
      case 'mean':
        return s.count > 0 ? s.sum / s.count : null;
      case 'p': {
        if (s.values.length === 0) return null;
        const v = [...s.values].sort((a, b) => a - b);
        return v[Math.max(0, Math.ceil((n.pct / 100) * v.length) - 1)]!;
      }
    }
  }

  value(n: ValueNode): number | null {
    switch (n.k) {
      case 'num':
        return n.v;
      case 'agg':
        return this.agg(n);
      case 'neg':
        return neg(this.value(n.a));
      case 'bin': {
        const a = this.value(n.a), b = this.value(n.b);
        return n.op === '+' ? add(a, b) : n.op === '-' ? add(a, neg(b)) : n.op === '*' ? mul(a, b) : div(a, b);
      }
    }
  }

  /** The outcome: pass, the measured value (left side) and the bound (right side); null values fail. */
  result(): { pass: boolean; measured: number | null; bound: number | null; offenders: Offender[] } {
    const measured = this.value(this.e.lhs), bound = this.value(this.e.rhs);
    let pass = false;
    if (measured !== null && bound !== null) {
      switch (this.e.op) {
        case '<': pass = measured < bound; break;
        case '<=': pass = measured <= bound; break;
        case '>': pass = measured > bound; break;
        case '>=': pass = measured >= bound; break;
        case '=': pass = measured === bound; break;
        case '!=': pass = measured !== bound; break;
      }
    }
    const offenders: Offender[] = [];
    if (!pass) {
      // the records that weighed most on the first aggregate (the numerator of a ratio); the next when it has none
      for (const a of this.e.aggs) {
        if (offenders.length > 0) break;
        for (const [bad, r] of this.aggs[a.slot]!.worst) {
          if (offenders.length >= OFFENDERS) break;
          if (offenders.some((o) => o.uid === r['uid'] && o.tuple === tupleOf(r))) continue;
          offenders.push({ uid: typeof r['uid'] === 'string' ? r['uid'] : null, tuple: tupleOf(r), value: a.fn === 'count' ? null : a.fn === 'min' ? -bad : bad });
        }
      }
    }
    return { pass, measured, bound, offenders };
  }
}

function tupleOf(r: RecordValues): string {
  const ep = (h: unknown, p: unknown): string => (String(h).includes(':') ? `[${String(h)}]:${String(p)}` : `${String(h)}:${String(p)}`);
  return `${String(r['proto'] ?? 'tcp')} ${ep(r['orig_h'], r['orig_p'])} -> ${ep(r['resp_h'], r['resp_p'])}`;
}
