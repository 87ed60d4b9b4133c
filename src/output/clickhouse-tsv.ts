/**
 * Records as ClickHouse TabSeparated rows, for tcpload.
 *
 * Why TabSeparated (bench/clickhouse.ts; Debian's clickhouse-server 18.16,
 * the bench capture's 22,247 conn records in one INSERT, minimum of 5 on two
 * busy cores): parsed into a Null table in 0.07 s against 0.15 s for
 * JSONEachRow of the same rows, into tcpload's ReplacingMergeTree in 0.29 s
 * against 0.38 s, and a body of 12.2 MB against 56.2 MB. Building it here
 * costs less than JSON.parse would.
 *
 * Two sources, one output:
 * - `record()`: a record object (a capture analysed on the fly), its values
 *   written by type;
 * - `jsonLine()`: an NDJSON line, converted without JSON.parse, so numbers
 *   keep their text: exact 64-bit integers and 9-digit times reach the
 *   server as written (a double would round both).
 * Columns are the table's, in the INSERT's order (a subset of the kind's
 * fields plus `_source`); a field the line lacks is `\N` (a list `[]`).
 */
import type { FieldDef, RecordSchema, RecordValues } from '../records/schema.js';
import { SOURCE_COLUMN } from '../records/ddl-clickhouse.js';

/** A growable byte buffer: one batch of rows. */
export class ByteBuilder {
  buf: Buffer;
  len = 0;

  constructor(size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }

  byte(c: number): void {
    if (this.len === this.buf.length) this.ensure(1);
    this.buf[this.len++] = c;
  }

  bytes(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 32) {
      // a loop beats Buffer.copy's native call on short values
      const b = this.buf;
      let o = this.len;
      for (let i = start; i < end; i++) b[o++] = src[i]!;
      this.len = o;
    } else this.len += src.copy(this.buf, this.len, start, end);
  }

  /** Text with no character needing an escape (ASCII digits, signs, dots). */
  ascii(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }

  utf8(s: string): void {
    this.ensure(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  /** The rows so far (a view: valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  reset(): void {
    this.len = 0;
  }
}

/** A line that cannot become a row (the caller counts and skips it). */
export class TsvLineError extends Error {}

const TAB = 0x09;
const LF = 0x0a;
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const APOS = 0x27;

/** Value kinds found in a JSON line. */
const V_NONE = 0;
const V_NULL = 1;
const V_NUMBER = 2;
const V_TRUE = 3;
const V_FALSE = 4;
const V_STRING = 5;
const V_ARRAY = 6;
const V_OTHER = 7;

/** TabSeparated escapes for a string's characters (ClickHouse reads \\ \t \n \r \0 \b \f back). */
function escapeTsv(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\\\t\n\r\0]/.test(s) ? s.replace(/[\\\t\n\r\0]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\0')) : s;
}

/** A quoted string inside an array literal: 'text' with \' and the escapes above. */
function quoteTsv(s: string): string {
  return "'" + escapeTsv(s).replace(/'/g, "\\'") + "'";
}

interface Column {
  name: string;
  field: FieldDef | null;
}

/**
 * Encodes one kind's records as TabSeparated rows for `columns` (the INSERT's
 * column list: names of the kind's fields and `_source`).
 */
export class TsvEncoder {
  readonly columns: readonly string[];
  private readonly cols: Column[];
  /** Field name -> index in `cols`. */
  private readonly index = new Map<string, number>();
  /** Column names as bytes, for comparing keys without making strings. */
  private readonly keyBytes: Buffer[];
  /** Per column of the current line: value kind, start, end. */
  private readonly kind: Uint8Array;
  private readonly vs: Int32Array;
  private readonly ve: Int32Array;
  /** The buffer of the line last scanned (for lineText). */
  private lastBuf: Buffer | null = null;

  constructor(readonly schema: RecordSchema, columns: readonly string[]) {
    this.columns = [...columns];
    this.cols = columns.map((name) => {
      if (name === SOURCE_COLUMN) return { name, field: null };
      const f = schema.fields.find((x) => x.name === name);
      if (f === undefined) throw new Error(`${name} is not a field of ${schema.kind} records`);
      return { name, field: f };
    });
    this.cols.forEach((c, i) => {
      if (c.field !== null) this.index.set(c.name, i);
    });
    this.keyBytes = this.cols.map((c) => Buffer.from(c.field === null ? '' : c.name, 'latin1'));
    this.kind = new Uint8Array(this.cols.length);
    this.vs = new Int32Array(this.cols.length);
    this.ve = new Int32Array(this.cols.length);
  }

  /** One row from a record object. */
  record(r: RecordValues, source: string, out: ByteBuilder): void {
    const cols = this.cols;
    for (let i = 0; i < cols.length; i++) {
      if (i > 0) out.byte(TAB);
      const c = cols[i]!;
      const f = c.field;
      if (f === null) {
        out.utf8(escapeTsv(source));
        continue;
      }
      const v = r[c.name];
      if (v === null || v === undefined) {
        out.ascii(f.type === 'list' ? '[]' : '\\N');
        continue;
      }
      switch (f.type) {
        case 'bool':
          out.byte(v ? 0x31 : 0x30);
          break;
        case 'string':
          out.utf8(escapeTsv(String(v)));
          break;
        case 'list': {
          const a = Array.isArray(v) ? v : [v];
          out.utf8('[' + a.map((x) => (f.items === 'int' ? String(x) : quoteTsv(String(x)))).join(',') + ']');
          break;
        }
        default:
          out.ascii(String(v));
      }
    }
    out.byte(LF);
  }

  /**
   * One row from an NDJSON line `buf[start, end)` (a JSON object). Keys the
   * columns do not name (`record`, fields of a newer schema) are skipped.
   * Throws TsvLineError for a line that is not a flat JSON object.
   *
   * The top level is scanned inline (no JSON.parse, no string per key): a
   * key is first compared byte by byte with the column after the previous
   * key's, since tcpkit writes keys in schema order, and looked up by name
   * only when that guess fails.
   */
  jsonLine(buf: Buffer, start: number, end: number, source: string, out: ByteBuilder): void {
    const kind = this.kind;
    const vsA = this.vs;
    const veA = this.ve;
    const keys = this.keyBytes;
    const n = keys.length;
    kind.fill(V_NONE);
    let i = ws(buf, start, end);
    if (buf[i] !== 0x7b) throw new TsvLineError('not a JSON object');
    i = ws(buf, i + 1, end);
    let guess = 0;
    if (buf[i] === 0x7d) i++;
    else {
      for (;;) {
        if (buf[i] !== QUOTE) throw new TsvLineError(`expected a key at byte ${i - start}`);
        const ks = i + 1;
        i = stringEnd(buf, ks, end);
        const ke = i - 1;
        i = ws(buf, i, end);
        if (buf[i] !== 0x3a) throw new TsvLineError(`expected ":" at byte ${i - start}`);
        i = ws(buf, i + 1, end);
        // which column: the guess, else by name
        let col = -1;
        if (guess < n) {
          const k = keys[guess]!;
          if (k.length === ke - ks) {
            let j = 0;
            while (j < k.length && k[j] === buf[ks + j]) j++;
            if (j === k.length) col = guess;
          }
        }
        if (col < 0) col = this.index.get(buf.toString('latin1', ks, ke)) ?? -1;
        const vs = i;
        const c = buf[i];
        let vk: number;
        if (c === QUOTE) {
          i = stringEnd(buf, i + 1, end);
          vk = V_STRING;
        } else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
          i = numberEnd(buf, i, end);
          vk = V_NUMBER;
        } else if (c === 0x6e && literal(buf, i, end, NULL_BYTES)) {
          i += 4;
          vk = V_NULL;
        } else if (c === 0x74 && literal(buf, i, end, TRUE_BYTES)) {
          i += 4;
          vk = V_TRUE;
        } else if (c === 0x66 && literal(buf, i, end, FALSE_BYTES)) {
          i += 5;
          vk = V_FALSE;
        } else {
          const p = new JsonScan(buf, i, end);
          vk = p.value();
          i = p.pos;
        }
        if (col >= 0) {
          kind[col] = vk;
          vsA[col] = vs;
          veA[col] = i;
          guess = col + 1;
        }
        i = ws(buf, i, end);
        const d = buf[i++];
        if (d === 0x2c) {
          i = ws(buf, i, end);
          continue;
        }
        if (d === 0x7d) break;
        throw new TsvLineError(`expected "," or "}" at byte ${i - 1 - start}`);
      }
    }
    i = ws(buf, i, end);
    if (i < end) throw new TsvLineError(`text after the object at byte ${i - start}`);
    this.lastBuf = buf;
    const mark = out.len;
    try {
      this.writeRow(buf, source, out);
    } catch (e) {
      out.len = mark;
      throw e;
    }
  }

  /** The number text of column `name` in the line last given to jsonLine() (null when absent, null or not a number). */
  lineNumber(name: string): string | null {
    const i = this.index.get(name);
    if (i === undefined || this.kind[i] !== V_NUMBER || this.lastBuf === null) return null;
    return this.lastBuf.toString('latin1', this.vs[i]!, this.ve[i]!);
  }

  /** The string value of column `name` in the line last given to jsonLine() (null when absent, null or not a string). */
  lineText(name: string): string | null {
    const i = this.index.get(name);
    if (i === undefined || this.kind[i] !== V_STRING || this.lastBuf === null) return null;
    const raw = this.lastBuf.toString('utf8', this.vs[i]! + 1, this.ve[i]! - 1);
    return raw.includes('\\') ? (JSON.parse('"' + raw + '"') as string) : raw;
  }

  private writeRow(buf: Buffer, source: string, out: ByteBuilder): void {
    const cols = this.cols;
    for (let i = 0; i < cols.length; i++) {
      if (i > 0) out.byte(TAB);
      const f = cols[i]!.field;
      if (f === null) {
        out.utf8(escapeTsv(source));
        continue;
      }
      const k = this.kind[i]!;
      const s = this.vs[i]!;
      const e = this.ve[i]!;
      if (k === V_NUMBER) out.bytes(buf, s, e);
      else if (k === V_NONE || k === V_NULL) {
        if (f.type === 'list') {
          out.byte(0x5b);
          out.byte(0x5d);
        } else {
          out.byte(BACKSLASH);
          out.byte(0x4e);
        }
      } else if (k === V_TRUE) out.byte(0x31);
      else if (k === V_FALSE) out.byte(0x30);
      else if (k === V_STRING) copyJsonString(buf, s + 1, e - 1, out, false);
      else if (k === V_ARRAY && f.type === 'list') copyJsonArray(buf, s, e, out, f);
      else throw new TsvLineError(`${f.name}: ${k === V_ARRAY ? 'an array' : 'an object'} where a ${f.type} was expected`);
    }
    out.byte(LF);
  }
}

const NULL_BYTES = Buffer.from('null');
const TRUE_BYTES = Buffer.from('true');
const FALSE_BYTES = Buffer.from('false');

function literal(b: Buffer, i: number, end: number, w: Buffer): boolean {
  if (i + w.length > end) throw new TsvLineError('bad literal');
  for (let j = 0; j < w.length; j++) if (b[i + j] !== w[j]) throw new TsvLineError('bad literal');
  return true;
}

function ws(b: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c !== 0x20 && c !== TAB && c !== 0x0d && c !== LF) break;
    i++;
  }
  return i;
}

/** The end (after the closing quote) of a string whose content starts at i. */
function stringEnd(b: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i += 2;
    else if (c < 0x20) throw new TsvLineError('control character in a string');
    else i++;
  }
  throw new TsvLineError('unterminated string');
}

function digitsEnd(b: Buffer, i: number, end: number): number {
  const s = i;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  if (i === s) throw new TsvLineError('bad number');
  return i;
}

/** The end of a JSON number starting at i. */
function numberEnd(b: Buffer, i: number, end: number): number {
  if (b[i] === 0x2d) i++;
  i = digitsEnd(b, i, end);
  if (b[i] === 0x2e) i = digitsEnd(b, i + 1, end);
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    i = digitsEnd(b, i, end);
  }
  return i;
}

/** A cursor over JSON text; `value()` skips one value and tells its kind. */
class JsonScan {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  peek(): number {
    return this.pos < this.end ? this.buf[this.pos]! : -1;
  }

  ws(): void {
    const b = this.buf;
    while (this.pos < this.end) {
      const c = b[this.pos]!;
      if (c !== 0x20 && c !== TAB && c !== 0x0d && c !== LF) break;
      this.pos++;
    }
  }

  /** Skips a string starting at pos (the opening quote); pos ends after the closing quote. */
  string(): void {
    this.pos = stringEnd(this.buf, this.pos + 1, this.end);
  }

  value(): number {
    const b = this.buf;
    const c = this.peek();
    if (c === QUOTE) {
      this.string();
      return V_STRING;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.pos = numberEnd(b, this.pos, this.end);
      return V_NUMBER;
    }
    if (c === 0x6e && this.word('null')) return V_NULL;
    if (c === 0x74 && this.word('true')) return V_TRUE;
    if (c === 0x66 && this.word('false')) return V_FALSE;
    if (c === 0x5b || c === 0x7b) {
      const close = c === 0x5b ? 0x5d : 0x7d;
      this.pos++;
      this.ws();
      if (this.peek() === close) {
        this.pos++;
        return c === 0x5b ? V_ARRAY : V_OTHER;
      }
      for (;;) {
        this.ws();
        if (c === 0x7b) {
          if (this.peek() !== QUOTE) throw new TsvLineError('expected a key');
          this.string();
          this.ws();
          if (this.peek() !== 0x3a) throw new TsvLineError('expected ":"');
          this.pos++;
          this.ws();
        }
        this.value();
        this.ws();
        const d = this.peek();
        this.pos++;
        if (d === 0x2c) continue;
        if (d === close) return c === 0x5b ? V_ARRAY : V_OTHER;
        throw new TsvLineError('bad array or object');
      }
    }
    throw new TsvLineError(c < 0 ? 'missing value' : `unexpected "${String.fromCharCode(c)}"`);
  }

  private word(w: string): boolean {
    if (this.pos + w.length > this.end || this.buf.toString('latin1', this.pos, this.pos + w.length) !== w) throw new TsvLineError('bad literal');
    this.pos += w.length;
    return true;
  }
}

function hex4(b: Buffer, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = b[i + k];
    const d = c === undefined ? -1 : c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) throw new TsvLineError('bad \\u escape');
    v = v * 16 + d;
  }
  return v;
}

/**
 * A JSON string's raw content `buf[s, e)` as TabSeparated text (or, with
 * `quoted`, as the inside of a '...' literal). JSON's escapes \" \\ \/ \b \f
 * \n \r \t are ones ClickHouse reads too (an unknown escape is the
 * character itself), so text without \u is copied as it is.
 */
function copyJsonString(b: Buffer, s: number, e: number, out: ByteBuilder, quoted: boolean): void {
  let from = s;
  let i = s;
  while (i < e) {
    const c = b[i]!;
    if (c === BACKSLASH) {
      const n = b[i + 1]!;
      if (n !== 0x75) {
        i += 2;
        continue;
      }
      out.bytes(b, from, i);
      let cp = hex4(b, i + 2);
      i += 6;
      if (cp >= 0xd800 && cp <= 0xdbff && b[i] === BACKSLASH && b[i + 1] === 0x75) {
        const lo = hex4(b, i + 2);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i += 6;
        }
      }
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
      const ch = String.fromCodePoint(cp);
      out.utf8(quoted ? escapeTsv(ch).replace(/'/g, "\\'") : escapeTsv(ch));
      from = i;
      continue;
    }
    if (quoted && c === APOS) {
      out.bytes(b, from, i);
      out.byte(BACKSLASH);
      out.byte(APOS);
      from = ++i;
      continue;
    }
    i++;
  }
  out.bytes(b, from, e);
}

/** A JSON array of numbers or strings `buf[s, e)` as a ClickHouse array literal. */
function copyJsonArray(b: Buffer, s: number, e: number, out: ByteBuilder, f: FieldDef): void {
  const p = new JsonScan(b, s + 1, e - 1);
  out.byte(0x5b);
  let first = true;
  for (;;) {
    p.ws();
    if (p.pos >= p.end) break;
    const vs = p.pos;
    const k = p.value();
    if (!first) out.byte(0x2c);
    first = false;
    if (f.items === 'int') {
      if (k !== V_NUMBER) throw new TsvLineError(`${f.name}: a list of numbers holds something else`);
      out.bytes(b, vs, p.pos);
    } else {
      out.byte(APOS);
      if (k === V_STRING) copyJsonString(b, vs + 1, p.pos - 1, out, true);
      else if (k === V_NUMBER) out.bytes(b, vs, p.pos);
      else throw new TsvLineError(`${f.name}: a list of strings holds something else`);
      out.byte(APOS);
    }
    p.ws();
    if (p.peek() === 0x2c) p.pos++;
  }
  out.byte(0x5d);
}
