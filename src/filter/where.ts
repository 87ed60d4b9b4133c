/**
 * The `--where` predicate language over records (see docs/filters.md):
 *
 *   expr       = or
 *   or         = and { "or" and }
 *   and        = not { "and" not }
 *   not        = "not" not | comparison
 *   comparison = sum [ ( "=" | "!=" | "<" | "<=" | ">" | ">=" ) sum ]
 *   sum        = unary { ( "+" | "-" ) unary }
 *   unary      = "-" unary | primary
 *   primary    = number | string | "null" | "true" | "false" | field | bare-word | "(" expr ")"
 *
 * A hand-written tokenizer and recursive-descent parser build a small tree
 * that is compiled once into nested closures; user text is never evaluated.
 */
import { ALL_FIELDS } from '../records/index.js';
import type { FieldDef, FieldType, RecordValue, RecordValues } from '../records/schema.js';
import { CONN_ALIASES } from '../records/conn.js';
import { UsageError } from '../util/errors.js';

export type Predicate = (record: RecordValues) => boolean;
type Scalar = string | number | boolean | null;
type Getter = (record: RecordValues) => Scalar;

/** Fields known to `--where` by default: those of every record kind (a record without the field reads it as null). */
export const WHERE_FIELDS: readonly FieldDef[] = ALL_FIELDS;

// ---------------------------------------------------------------- tokens

type TokKind = 'num' | 'str' | 'ident' | 'word' | 'op' | '(' | ')' | 'eof';
interface Tok {
  kind: TokKind;
  text: string;
  /** 0-based start and end (exclusive). */
  start: number;
  end: number;
  num?: number;
  str?: string;
}

const OPS = ['<=', '>=', '!=', '=', '<', '>', '+', '-'];

function fail(expr: string, message: string, at: number): never {
  const column = at + 1;
  throw new UsageError('WHERE_SYNTAX', `--where "${expr}": ${message} at column ${column}`, { column });
}

function tokenize(expr: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let lastEnd = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (c === '(' || c === ')') {
      toks.push({ kind: c, text: c, start, end: ++i });
    } else if (c === '"' || c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= expr.length) fail(expr, `unclosed string (no closing ${c})`, start);
        const d = expr[i]!;
        if (d === '\\' && i + 1 < expr.length) {
          s += expr[i + 1];
          i += 2;
        } else if (d === c) {
          i++;
          break;
        } else {
          s += d;
          i++;
        }
      }
      toks.push({ kind: 'str', text: expr.slice(start, i), start, end: i, str: s });
    } else if (/[A-Za-z0-9_.:]/.test(c)) {
      // A number, a name, or a bare word such as 10.0.0.1 or 2001:db8::1.
      const num = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(expr.slice(i));
      if (num && !/[A-Za-z0-9_.:]/.test(expr[i + num[0].length] ?? '')) {
        i += num[0].length;
        toks.push({ kind: 'num', text: num[0], start, end: i, num: Number(num[0]) });
      } else {
        while (i < expr.length && /[A-Za-z0-9_.:]/.test(expr[i]!)) i++;
        const text = expr.slice(start, i);
        toks.push({ kind: /^[A-Za-z_][A-Za-z0-9_]*$/.test(text) ? 'ident' : 'word', text, start, end: i });
      }
    } else {
      const op = OPS.find((o) => expr.startsWith(o, i));
      if (op === undefined) fail(expr, `unexpected "${c}"`, i);
      i += op.length;
      toks.push({ kind: 'op', text: op, start, end: i });
    }
    lastEnd = i;
  }
  toks.push({ kind: 'eof', text: '', start: lastEnd, end: lastEnd });
  return toks;
}

// ---------------------------------------------------------------- tree

type StaticType = 'number' | 'string' | 'bool' | 'null';

type Val =
  | { k: 'num'; v: number; at: number }
  | { k: 'str'; v: string; at: number }
  | { k: 'bool'; v: boolean; at: number }
  | { k: 'null'; at: number }
  | { k: 'field'; name: string; type: FieldType; at: number; values?: readonly string[]; alt?: string }
  | { k: 'bare'; text: string; at: number; word?: boolean }
  | { k: 'arith'; op: '+' | '-'; a: Val; b: Val; at: number }
  | { k: 'neg'; a: Val; at: number };

type Pred =
  | { k: 'or' | 'and'; a: Pred; b: Pred }
  | { k: 'not'; a: Pred }
  | { k: 'cmp'; op: CmpOp; l: Val; r: Val }
  | { k: 'truth'; v: Val }
  | { k: 'const'; v: boolean };

export type CmpOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
type Node = { p: Pred; at: number } | { v: Val; at: number };

const NUMERIC: ReadonlySet<FieldType> = new Set<FieldType>(['int', 'float', 'seconds', 'time']);

function staticType(v: Val): StaticType | null {
  switch (v.k) {
    case 'num':
    case 'arith':
    case 'neg':
      return 'number';
    case 'str':
      return 'string';
    case 'bool':
      return 'bool';
    case 'null':
      return 'null';
    case 'field':
      return NUMERIC.has(v.type) ? 'number' : v.type === 'bool' ? 'bool' : 'string';
    case 'bare':
      return null;
  }
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

class Parser {
  private i = 0;
  private readonly toks: Tok[];
  private readonly fields: Map<string, FieldDef>;
  /** Aliases that are also a field of another kind (`state`: transactions' state, conn records' conn_state): a record without the field reads the alias's field. */
  private readonly shadowed = new Map<string, string>();

  constructor(
    private readonly expr: string,
    fields: readonly FieldDef[],
    aliases: Readonly<Record<string, string>>,
  ) {
    this.toks = tokenize(expr);
    this.fields = new Map(fields.map((f) => [f.name, f]));
    // other names of these fields (dst_port = resp_p), where the field exists
    for (const [alias, name] of Object.entries(aliases)) {
      const f = this.fields.get(name);
      if (f === undefined) continue;
      const own = this.fields.get(alias);
      if (own === undefined) this.fields.set(alias, f);
      else if (own.type === f.type) this.shadowed.set(alias, name);
    }
  }

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private isWord(t: Tok, w: string): boolean {
    return t.kind === 'ident' && t.text.toLowerCase() === w;
  }
  private err(message: string, at: number): never {
    return fail(this.expr, message, at);
  }
  private found(t: Tok): string {
    return t.kind === 'eof' ? '' : `, found "${t.text}"`;
  }

  parse(): Pred {
    const n = this.or();
    const t = this.peek();
    if ('v' in n && n.v.k === 'bare') this.unknownField(n.v);
    if (t.kind !== 'eof') this.err(t.kind === ')' ? 'unmatched ")"' : `expected "and", "or" or the end${this.found(t)}`, t.start);
    return this.pred(n);
  }

  /** A node used as a condition. */
  private pred(n: Node): Pred {
    if ('p' in n) return n.p;
    const v = n.v;
    if (v.k === 'bool') return { k: 'const', v: v.v };
    if (v.k === 'field' && v.type === 'bool') return { k: 'truth', v };
    if (v.k === 'bare') this.unknownField(v);
    return this.err(`expected a condition (a comparison or a bool field), found ${this.describe(v)}`, n.at);
  }

  /** A node used as a value. */
  private val(n: Node): Val {
    if ('v' in n) return n.v;
    return this.err('expected a value, found a condition', n.at);
  }

  private describe(v: Val): string {
    if (v.k === 'field') return `the ${v.type} field "${v.name}"`;
    if (v.k === 'num' || v.k === 'arith' || v.k === 'neg') return 'a number';
    if (v.k === 'str') return 'a string';
    return 'null';
  }

  private unknownField(v: { text: string; at: number; word?: boolean }): never {
    if (v.word) this.err(`"${v.text}" is neither a number nor a field (a bare word is a string only against a string field; quote it otherwise)`, v.at);
    let best = '';
    let bestD = Infinity;
    for (const name of this.fields.keys()) {
      // Prefer names that start with, then contain, the word; then edit distance.
      const w = v.text.toLowerCase();
      const d = name.startsWith(w) ? (name.length - w.length) / 1000 : name.includes(w) ? 0.5 + (name.length - w.length) / 1000 : distance(w, name);
      if (d < bestD) {
        bestD = d;
        best = name;
      }
    }
    return this.err(`unknown field "${v.text}" (nearest field: "${best}"; quote string values)`, v.at);
  }

  private or(): Node {
    let n = this.and();
    while (this.isWord(this.peek(), 'or')) {
      this.i++;
      const b = this.and();
      n = { p: { k: 'or', a: this.pred(n), b: this.pred(b) }, at: n.at };
    }
    return n;
  }

  private and(): Node {
    let n = this.not();
    while (this.isWord(this.peek(), 'and')) {
      this.i++;
      const b = this.not();
      n = { p: { k: 'and', a: this.pred(n), b: this.pred(b) }, at: n.at };
    }
    return n;
  }

  private not(): Node {
    const t = this.peek();
    if (this.isWord(t, 'not')) {
      this.i++;
      const a = this.not();
      return { p: { k: 'not', a: this.pred(a) }, at: t.start };
    }
    return this.comparison();
  }

  private comparison(): Node {
    const l = this.sum();
    const t = this.peek();
    if (t.kind !== 'op' || t.text === '+' || t.text === '-') return l;
    this.i++;
    const r = this.sum();
    const next = this.peek();
    if (next.kind === 'op' && next.text !== '+' && next.text !== '-') this.err('comparisons do not chain; join them with "and"', next.start);
    const op = t.text as CmpOp;
    let lv = this.val(l);
    let rv = this.val(r);
    // A name of a bool field compared with a string field is a word: tcpeek's `handshake!=success`
    // keeps its meaning beside Zeek's bool `success` of the mysql and postgresql records.
    if (rv.k === 'field' && rv.type === 'bool' && staticType(lv) === 'string') rv = { k: 'str', v: rv.name, at: rv.at };
    if (lv.k === 'field' && lv.type === 'bool' && staticType(rv) === 'string') lv = { k: 'str', v: lv.name, at: lv.at };
    // A bare word is a string when the other side is a string.
    if (lv.k === 'bare' && rv.k === 'bare') this.unknownField(lv);
    if (rv.k === 'bare') rv = staticType(lv) === 'string' ? { k: 'str', v: rv.text, at: rv.at } : this.unknownField(rv);
    if (lv.k === 'bare') lv = staticType(rv) === 'string' ? { k: 'str', v: lv.text, at: lv.at } : this.unknownField(lv);
    if ((lv.k === 'null' || rv.k === 'null') && op !== '=' && op !== '!=') this.err(`null can only be compared with = or !=`, t.start);
    this.checkValue(lv, rv);
    this.checkValue(rv, lv);
    return { p: { k: 'cmp', op, l: lv, r: rv }, at: l.at };
  }

  /** A string constant compared with a field of known values must be one of them (or empty). */
  private checkValue(field: Val, c: Val): void {
    if (field.k !== 'field' || field.values === undefined || c.k !== 'str' || c.v === '' || field.values.includes(c.v)) return;
    const same = field.values.find((v) => v.toLowerCase() === c.v.toLowerCase());
    const hint = same !== undefined ? `; did you mean "${same}"? (values are case-sensitive)` : '';
    this.err(`${field.name} has no such value "${c.v}"; known: ${field.values.join(', ')}${hint}`, c.at);
  }

  private sum(): Node {
    let n = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || (t.text !== '+' && t.text !== '-')) return n;
      this.i++;
      const b = this.unary();
      n = { v: { k: 'arith', op: t.text, a: this.num(n, t.text), b: this.num(b, t.text), at: n.at }, at: n.at };
    }
  }

  /** An arithmetic operand: must be numeric. */
  private num(n: Node, op: string): Val {
    const v = this.val(n);
    if (v.k === 'bare') this.unknownField(v);
    if (staticType(v) !== 'number') this.err(`"${op}" needs numbers, found ${this.describe(v)}`, n.at);
    return v;
  }

  private unary(): Node {
    const t = this.peek();
    if (t.kind === 'op' && t.text === '-') {
      this.i++;
      const a = this.unary();
      const v = this.num(a, '-');
      return { v: v.k === 'num' ? { k: 'num', v: -v.v, at: t.start } : { k: 'neg', a: v, at: t.start }, at: t.start };
    }
    return this.primary();
  }

  private primary(): Node {
    const t = this.peek();
    const at = t.start;
    switch (t.kind) {
      case 'num':
        this.i++;
        return { v: { k: 'num', v: t.num!, at }, at };
      case 'str':
        this.i++;
        return { v: { k: 'str', v: t.str!, at }, at };
      case '(': {
        this.i++;
        const n = this.or();
        const c = this.peek();
        if (c.kind !== ')') this.err(`expected ")" to close the "(" of column ${at + 1}${this.found(c)}`, c.start);
        this.i++;
        return { ...n, at } as Node;
      }
      case 'ident': {
        const w = t.text.toLowerCase();
        if (w === 'and' || w === 'or' || w === 'not') break;
        this.i++;
        if (w === 'null') return { v: { k: 'null', at }, at };
        if (w === 'true' || w === 'false') return { v: { k: 'bool', v: w === 'true', at }, at };
        const f = this.fields.get(t.text);
        const alt = this.shadowed.get(t.text);
        if (f && alt !== undefined) return { v: { k: 'field', name: f.name, type: f.type, at, alt }, at };
        if (f) return { v: { k: 'field', name: f.name, type: f.type, at, ...(f.values ? { values: f.values } : {}) }, at };
        return { v: { k: 'bare', text: t.text, at }, at };
      }
      case 'word':
        this.i++;
        return { v: { k: 'bare', text: t.text, at, word: true }, at };
      default:
        break;
    }
    return this.err(`expected a number, a string or a field${this.found(t)}`, t.start);
  }
}

// ---------------------------------------------------------------- compile

function numeric(v: RecordValue | undefined): number | null {
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isNaN(n) ? null : n;
  }
  return null;
}

function getter(v: Val): Getter {
  switch (v.k) {
    case 'num':
    case 'str':
    case 'bool': {
      const c = v.v;
      return () => c;
    }
    case 'null':
    case 'bare':
      return () => null;
    case 'field': {
      const name = v.name;
      const alt = v.alt;
      if (alt !== undefined) {
        return (r) => {
          const x = r[name] !== undefined ? r[name] : r[alt];
          return x === undefined || x === null ? null : typeof x === 'string' ? x : String(x);
        };
      }
      if (NUMERIC.has(v.type)) return (r) => numeric(r[name]);
      if (v.type === 'bool')
        return (r) => {
          const x = r[name];
          return typeof x === 'boolean' ? x : x === 'true' ? true : x === 'false' ? false : null;
        };
      return (r) => {
        const x = r[name];
        return x === undefined || x === null ? null : typeof x === 'string' ? x : String(x);
      };
    }
    case 'arith': {
      const a = getter(v.a), b = getter(v.b);
      const sub = v.op === '-';
      return (r) => {
        const x = a(r), y = b(r);
        if (typeof x !== 'number' || typeof y !== 'number') return null;
        return sub ? x - y : x + y;
      };
    }
    case 'neg': {
      const a = getter(v.a);
      return (r) => {
        const x = a(r);
        return typeof x === 'number' ? -x : null;
      };
    }
  }
}

/** Number text as a number, or null ("80" -> 80, "abc" -> null). */
function numberText(s: string): number | null {
  if (s.trim() === '') return null;
  const n = Number(s);
  return Number.isNaN(n) ? null : n;
}

/**
 * The comparison semantics (shared with the docs): null compares false;
 * numbers and strings compare as themselves; a string meets a number as the
 * number it spells, else they are unequal and unordered; booleans only equal.
 */
export function compare(op: CmpOp, x: Scalar, y: Scalar): boolean {
  if (x === null || y === null) return false;
  if (typeof x !== typeof y) {
    let nx: number | null = null, ny: number | null = null;
    if (typeof x === 'number' && typeof y === 'string') (nx = x), (ny = numberText(y));
    else if (typeof x === 'string' && typeof y === 'number') (nx = numberText(x)), (ny = y);
    if (nx === null || ny === null) return op === '!=';
    x = nx;
    y = ny;
  }
  if (typeof x === 'boolean') return op === '=' ? x === y : op === '!=' ? x !== y : false;
  switch (op) {
    case '=':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y!;
    case '<=':
      return x <= y!;
    case '>':
      return x > y!;
    case '>=':
      return x >= y!;
  }
}

function compileCmp(op: CmpOp, l: Val, r: Val): Predicate {
  if (r.k === 'null' || l.k === 'null') {
    if (r.k === 'null' && l.k === 'null') return () => op === '=';
    const g = getter(r.k === 'null' ? l : r);
    return op === '=' ? (rec) => g(rec) === null : (rec) => g(rec) !== null;
  }
  const a = getter(l);
  // Fast paths: a numeric value against a number constant.
  if (r.k === 'num' && staticType(l) === 'number') {
    const c = r.v;
    switch (op) {
      case '=':
        return (rec) => a(rec) === c;
      case '!=':
        return (rec) => {
          const x = a(rec);
          return x !== null && x !== c;
        };
      case '<':
        return (rec) => {
          const x = a(rec);
          return x !== null && (x as number) < c;
        };
      case '<=':
        return (rec) => {
          const x = a(rec);
          return x !== null && (x as number) <= c;
        };
      case '>':
        return (rec) => {
          const x = a(rec);
          return x !== null && (x as number) > c;
        };
      case '>=':
        return (rec) => {
          const x = a(rec);
          return x !== null && (x as number) >= c;
        };
    }
  }
  if (r.k === 'str' && staticType(l) === 'string' && (op === '=' || op === '!=')) {
    const c = r.v;
    return op === '=' ? (rec) => a(rec) === c : (rec) => {
      const x = a(rec);
      return x !== null && x !== c;
    };
  }
  const b = getter(r);
  return (rec) => compare(op, a(rec), b(rec));
}

function compilePred(p: Pred): Predicate {
  switch (p.k) {
    case 'const': {
      const c = p.v;
      return () => c;
    }
    case 'truth': {
      const g = getter(p.v);
      return (r) => g(r) === true;
    }
    case 'not': {
      const a = compilePred(p.a);
      return (r) => !a(r);
    }
    case 'and': {
      const a = compilePred(p.a), b = compilePred(p.b);
      return (r) => a(r) && b(r);
    }
    case 'or': {
      const a = compilePred(p.a), b = compilePred(p.b);
      return (r) => a(r) || b(r);
    }
    case 'cmp':
      return compileCmp(p.op, p.l, p.r);
  }
}

/**
 * Compiles a `--where` expression once into a predicate over records.
 * Fields may be named by their aliases (CONN_ALIASES: dst_port = resp_p);
 * a string compared with a field of enumerated values must be one of them.
 * Throws UsageError WHERE_SYNTAX naming the 1-based column of the mistake.
 */
export function compileWhere(expr: string, fields: readonly FieldDef[] = WHERE_FIELDS, aliases: Readonly<Record<string, string>> = CONN_ALIASES): Predicate {
  if (expr.trim() === '') fail(expr, 'expected a number, a string or a field', expr.length);
  return compilePred(new Parser(expr, fields, aliases).parse());
}
