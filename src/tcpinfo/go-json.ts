/**
 * A JSON reader with Go `encoding/json` (1.19) semantics, for the slow path
 * of archive decoding (anything the fixed-shape scanner does not recognise).
 *
 * `parseGoJson()` validates the whole value the way Go's `checkValid` does
 * (same grammar, same "invalid character 'x' after object key" wording,
 * depth limit 10000) and returns a tree of nodes that keep their raw byte
 * spans: Go hands the raw bytes of a value to `time.Time.UnmarshalJSON` and
 * parses numbers from their literal text, so values are not converted here.
 * `unquoteGo()` decodes a string's escapes like Go's `unquoteBytes`
 * (invalid UTF-8 and lone surrogates become U+FFFD).
 */

export const J_OBJECT = 1;
export const J_ARRAY = 2;
export const J_STRING = 3;
export const J_NUMBER = 4;
export const J_TRUE = 5;
export const J_FALSE = 6;
export const J_NULL = 7;

export const J_TYPE_NAMES = ['', 'object', 'array', 'string', 'number', 'bool', 'bool', 'null'] as const;

export interface JNode {
  type: number;
  /** Raw span in the buffer (strings include their quotes). */
  start: number;
  end: number;
  /** Object members in input order (duplicates kept). */
  entries: JEntry[] | null;
  /** Array elements. */
  items: JNode[] | null;
  /** String contains a backslash escape. */
  escaped: boolean;
}

export interface JEntry {
  key: JNode;
  value: JNode;
}

export class GoJsonError extends Error {
  /** Offset of the offending byte in the buffer. */
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

const MAX_DEPTH = 10000;

function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x5c: '\\\\' };
  if (named[c] !== undefined) return `'${named[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  if (c >= 0x80 && c < 0xa0) return `'\\u00${c.toString(16)}'`;
  return `'${String.fromCharCode(c)}'`;
}

class Parser {
  constructor(
    readonly b: Uint8Array,
    public i: number,
    readonly end: number,
  ) {}

  eof(): never {
    throw new GoJsonError('unexpected end of JSON input', this.end);
  }

  bad(context: string): never {
    throw new GoJsonError(`invalid character ${quoteChar(this.b[this.i]!)} ${context}`, this.i);
  }

  ws(): void {
    const b = this.b;
    while (this.i < this.end) {
      const c = b[this.i]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.i++;
    }
  }

  /** Parses one value iteratively (an explicit stack: nesting depth is not limited by the JS call stack). */
  value(): JNode {
    const stack: JNode[] = [];
    for (;;) {
      // Expecting a value.
      this.ws();
      if (this.i >= this.end) this.eof();
      const c = this.b[this.i]!;
      let done: JNode | null = null;
      if (c === 0x7b || c === 0x5b) {
        if (stack.length + 1 > MAX_DEPTH) throw new GoJsonError('exceeded max depth', this.i);
        const n: JNode = { type: c === 0x7b ? J_OBJECT : J_ARRAY, start: this.i++, end: -1, entries: null, items: null, escaped: false };
        if (c === 0x7b) n.entries = [];
        else n.items = [];
        this.ws();
        if (this.i >= this.end) this.eof();
        if (this.b[this.i] === (c === 0x7b ? 0x7d : 0x5d)) {
          this.i++;
          n.end = this.i;
          done = n;
        } else {
          stack.push(n);
          if (c === 0x7b) this.key(n);
          continue;
        }
      } else if (c === 0x22) done = this.string();
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) done = this.number();
      else if (c === 0x74) done = this.literal('true', J_TRUE);
      else if (c === 0x66) done = this.literal('false', J_FALSE);
      else if (c === 0x6e) done = this.literal('null', J_NULL);
      else this.bad('looking for beginning of value');
      // A value is complete: attach it to its container, closing containers as they end.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) return done!;
        if (top.type === J_OBJECT) {
          const entries = top.entries!;
          entries[entries.length - 1]!.value = done!;
        } else {
          top.items!.push(done!);
        }
        this.ws();
        if (this.i >= this.end) this.eof();
        const d = this.b[this.i];
        if (d === 0x2c) {
          this.i++;
          if (top.type === J_OBJECT) {
            this.ws();
            this.key(top);
          }
          break;
        }
        if (d === (top.type === J_OBJECT ? 0x7d : 0x5d)) {
          this.i++;
          top.end = this.i;
          stack.pop();
          done = top;
          continue;
        }
        this.bad(top.type === J_OBJECT ? 'after object key:value pair' : 'after array element');
      }
    }
  }

  node(type: number, start: number): JNode {
    return { type, start, end: this.i, entries: null, items: null, escaped: false };
  }

  /** Reads `"key" :` of the next member of `obj` (the value follows). */
  key(obj: JNode): void {
    if (this.i >= this.end) this.eof();
    if (this.b[this.i] !== 0x22) this.bad('looking for beginning of object key string');
    const key = this.string();
    this.ws();
    if (this.i >= this.end) this.eof();
    if (this.b[this.i] !== 0x3a) this.bad('after object key');
    this.i++;
    obj.entries!.push({ key, value: key });
  }

  string(): JNode {
    const b = this.b;
    const start = this.i++;
    let escaped = false;
    for (;;) {
      if (this.i >= this.end) this.eof();
      const c = b[this.i]!;
      if (c === 0x22) {
        this.i++;
        const n = this.node(J_STRING, start);
        n.escaped = escaped;
        return n;
      }
      if (c === 0x5c) {
        escaped = true;
        this.i++;
        if (this.i >= this.end) this.eof();
        const e = b[this.i]!;
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            this.i++;
            if (this.i >= this.end) this.eof();
            if (hexVal(b[this.i]!) < 0) this.bad('in \\u hexadecimal character escape');
          }
          this.i++;
          continue;
        }
        if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          this.i++;
          continue;
        }
        this.bad('in string escape code');
      }
      if (c < 0x20) this.bad('in string literal');
      this.i++;
    }
  }

  number(): JNode {
    const b = this.b;
    const start = this.i;
    const digit = (): boolean => this.i < this.end && b[this.i]! >= 0x30 && b[this.i]! <= 0x39;
    if (b[this.i] === 0x2d) {
      this.i++;
      if (this.i >= this.end) this.eof();
    }
    if (b[this.i] === 0x30) {
      this.i++;
    } else if (digit()) {
      while (digit()) this.i++;
    } else {
      this.bad('in numeric literal');
    }
    if (this.i < this.end && b[this.i] === 0x2e) {
      this.i++;
      if (this.i >= this.end) this.eof();
      if (!digit()) this.bad('after decimal point in numeric literal');
      while (digit()) this.i++;
    }
    if (this.i < this.end && (b[this.i] === 0x65 || b[this.i] === 0x45)) {
      this.i++;
      if (this.i >= this.end) this.eof();
      if (b[this.i] === 0x2b || b[this.i] === 0x2d) this.i++;
      if (this.i >= this.end) this.eof();
      if (!digit()) this.bad('in exponent of numeric literal');
      while (digit()) this.i++;
    }
    return this.node(J_NUMBER, start);
  }

  literal(word: string, type: number): JNode {
    const start = this.i;
    for (let k = 0; k < word.length; k++) {
      if (this.i >= this.end) this.eof();
      if (this.b[this.i] !== word.charCodeAt(k)) this.bad(`in literal ${word} (expecting '${word[k]}')`);
      this.i++;
    }
    return this.node(type, start);
  }
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Parses and validates one JSON value filling `b[start, end)` (Go's rules). */
export function parseGoJson(b: Uint8Array, start: number, end: number): JNode {
  const p = new Parser(b, start, end);
  const v = p.value();
  p.ws();
  if (p.i < end) p.bad('after top-level value');
  return v;
}

/** Raw text of a node (latin1: one char per byte). */
export function rawText(b: Uint8Array, n: JNode): string {
  return Buffer.from(b.buffer, b.byteOffset + n.start, n.end - n.start).toString('latin1');
}

const REPLACEMENT = [0xef, 0xbf, 0xbd];

/** Length of a valid UTF-8 sequence at b[i] (Go's utf8.DecodeRune), or 0 if invalid. */
function utf8Len(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < end && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function pushRune(out: number[], r: number): void {
  const s = Buffer.from(String.fromCodePoint(r), 'utf8');
  for (const x of s) out.push(x);
}

/** The bytes a JSON string node stands for, decoded the way Go does. */
export function unquoteGo(b: Uint8Array, n: JNode): Buffer {
  const start = n.start + 1;
  const end = n.end - 1;
  const out: number[] = [];
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c === 0x5c) {
      const e = b[i + 1]!;
      if (e === 0x75) {
        let r = u4(b, i + 2);
        i += 6;
        if (r >= 0xd800 && r < 0xe000) {
          const r2 = b[i] === 0x5c && b[i + 1] === 0x75 ? u4(b, i + 2) : -1;
          if (r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000) {
            r = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
            i += 6;
          } else {
            r = 0xfffd;
          }
        }
        pushRune(out, r);
        continue;
      }
      const map: Record<number, number> = { 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9 };
      out.push(map[e] ?? e);
      i += 2;
      continue;
    }
    const l = utf8Len(b, i, end);
    if (l === 0) {
      out.push(...REPLACEMENT);
      i++;
    } else {
      for (let k = 0; k < l; k++) out.push(b[i + k]!);
      i += l;
    }
  }
  return Buffer.from(out);
}

function u4(b: Uint8Array, i: number): number {
  return (hexVal(b[i]!) << 12) | (hexVal(b[i + 1]!) << 8) | (hexVal(b[i + 2]!) << 4) | hexVal(b[i + 3]!);
}

/** Go's encoding/json field-name match: exact, else ASCII case folding plus ſ→s and K (Kelvin)→k. */
export function keyMatches(key: Uint8Array, lowerName: string): boolean {
  let i = 0;
  let k = 0;
  while (i < key.length) {
    if (k >= lowerName.length) return false;
    let c = key[i]!;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c === 0xc5 && key[i + 1] === 0xbf) {
      c = 0x73; // ſ U+017F
      i += 2;
    } else if (c === 0xe2 && key[i + 1] === 0x84 && key[i + 2] === 0xaa) {
      c = 0x6b; // K U+212A
      i += 3;
    } else {
      i++;
    }
    if (c !== lowerName.charCodeAt(k)) return false;
    k++;
  }
  return k === lowerName.length;
}
