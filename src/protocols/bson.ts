/**
 * A bounded BSON reader (bsonspec.org/spec.html) for the MongoDB decoder:
 * it walks the elements of a document in a buffer that may hold only the
 * document's first bytes, trusts no length (a document, string or binary
 * length is checked against the bytes that hold it; one that overruns them
 * ends the walk, marked truncated or malformed), never recurses deeper than
 * it is told, and never allocates in proportion to a length it read.
 *
 * Besides the walk: the scalar values the records need (numbers, strings,
 * booleans, an int64 as text), element counts of arrays, and a document's
 * shape: its field names with every value replaced by `?`
 * ({name: ?, age: {$gt: ?}, tags: {$in: [?]}}), what the MongoDB record's
 * fingerprint groups queries by.
 */
import { clip, latin1, text } from './_bytes.js';

/** How a walk ended. */
export const WALK_OK = 0;
/** The document's length runs past the bytes there are (a message cut at the buffer's cap, or a capture gap): the elements before were walked. */
export const WALK_TRUNCATED = 1;
/** A length or a type that cannot be: the walk stopped there. */
export const WALK_MALFORMED = 2;

/** Longest element name read (MongoDB's names are short; a longer one is malformed). */
const MAX_NAME = 1024;

export const T_DOUBLE = 0x01;
export const T_STRING = 0x02;
export const T_DOC = 0x03;
export const T_ARRAY = 0x04;
export const T_BINARY = 0x05;
export const T_OBJECTID = 0x07;
export const T_BOOL = 0x08;
export const T_INT32 = 0x10;
export const T_INT64 = 0x12;

function i32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/**
 * Bytes of a value of type `t` at b[p, end): its size, -1 when it does not
 * fit in the bytes there are, -2 when it cannot be (an unknown type, a
 * negative length).
 */
export function valueSize(b: Uint8Array, p: number, end: number, t: number): number {
  const left = end - p;
  switch (t) {
    case 0x01: case 0x09: case 0x11: case 0x12: // double, UTC datetime, timestamp, int64
      return left >= 8 ? 8 : -1;
    case 0x10: return left >= 4 ? 4 : -1; // int32
    case 0x08: return left >= 1 ? 1 : -1; // boolean
    case 0x07: return left >= 12 ? 12 : -1; // ObjectId
    case 0x13: return left >= 16 ? 16 : -1; // decimal128
    case 0x06: case 0x0a: case 0x7f: case 0xff: return 0; // undefined, null, max key, min key
    case 0x02: case 0x0d: case 0x0e: { // string, JavaScript code, symbol: int32 length (with the NUL), bytes
      if (left < 4) return -1;
      const n = i32(b, p);
      if (n < 1) return -2;
      return n + 4 <= left ? n + 4 : -1;
    }
    case 0x03: case 0x04: case 0x0f: { // document, array, code with scope: int32 total length
      if (left < 4) return -1;
      const n = i32(b, p);
      if (n < 5) return -2;
      return n <= left ? n : -1;
    }
    case 0x05: { // binary: int32 length, subtype, bytes
      if (left < 5) return -1;
      const n = i32(b, p);
      if (n < 0) return -2;
      return n + 5 <= left ? n + 5 : -1;
    }
    case 0x0b: { // regular expression: two cstrings
      let q = p;
      for (let k = 0; k < 2; k++) {
        const z = b.indexOf(0, q);
        if (z < 0 || z >= end) return -1;
        q = z + 1;
      }
      return q - p;
    }
    case 0x0c: { // DBPointer: string, 12 bytes
      if (left < 4) return -1;
      const n = i32(b, p);
      if (n < 1) return -2;
      return n + 16 <= left ? n + 16 : -1;
    }
    default:
      return -2;
  }
}

/** One element, as a walk gives it (valid during the callback). */
export interface BsonElement {
  type: number;
  /** The name's bytes: b[nameStart, nameEnd). */
  nameStart: number;
  nameEnd: number;
  /** The value's bytes: b[valueStart, valueStart + valueSize). */
  valueStart: number;
  valueSize: number;
  /** Position of the element in its document, from 0. */
  index: number;
}

const el: BsonElement = { type: 0, nameStart: 0, nameEnd: 0, valueStart: 0, valueSize: 0, index: 0 };

/**
 * Walks the document at b[off] whose bytes end at `end` at the latest (the
 * buffer may hold only its start): `each` is called per element until it
 * returns false. Returns WALK_OK, WALK_TRUNCATED or WALK_MALFORMED.
 */
export function walk(b: Uint8Array, off: number, end: number, each: (e: BsonElement) => boolean): number {
  if (end - off < 4) return WALK_TRUNCATED;
  const len = i32(b, off);
  if (len < 5) return WALK_MALFORMED;
  const docEnd = off + len;
  const stop = docEnd <= end ? docEnd - 1 : end;
  let p = off + 4;
  let index = 0;
  while (p < stop) {
    const t = b[p]!;
    if (t === 0) return docEnd <= end && p === docEnd - 1 ? WALK_OK : WALK_MALFORMED;
    const z = b.indexOf(0, p + 1);
    if (z < 0 || z >= stop) return docEnd <= end && z !== stop ? WALK_MALFORMED : WALK_TRUNCATED;
    if (z - p - 1 > MAX_NAME) return WALK_MALFORMED;
    const size = valueSize(b, z + 1, stop, t);
    if (size === -2) return WALK_MALFORMED;
    if (size === -1) return docEnd <= end ? WALK_MALFORMED : WALK_TRUNCATED;
    el.type = t;
    el.nameStart = p + 1;
    el.nameEnd = z;
    el.valueStart = z + 1;
    el.valueSize = size;
    el.index = index++;
    // the element object is shared: take what is needed before walking further
    const go = each(el);
    if (!go) return WALK_OK;
    p = z + 1 + size;
  }
  if (docEnd > end) return WALK_TRUNCATED;
  return p === docEnd - 1 && b[p] === 0 ? WALK_OK : WALK_MALFORMED;
}

/** b[s, e) equals the ASCII `name`. */
export function nameIs(b: Uint8Array, s: number, e: number, name: string): boolean {
  if (e - s !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (b[s + i] !== name.charCodeAt(i)) return false;
  return true;
}

/** An element's name as text. */
export function nameText(b: Uint8Array, e: BsonElement): string {
  return text(b, e.nameStart, e.nameEnd);
}

/** A number value (double, int32, int64, boolean as 0/1), or null for other types. */
export function numberValue(b: Uint8Array, t: number, p: number): number | null {
  switch (t) {
    case T_DOUBLE:
      return Buffer.from(b.buffer, b.byteOffset + p, 8).readDoubleLE(0);
    case T_INT32:
      return i32(b, p);
    case T_INT64: {
      const v = Buffer.from(b.buffer, b.byteOffset + p, 8).readBigInt64LE(0);
      return Number(v);
    }
    case T_BOOL:
      return b[p] ? 1 : 0;
    default:
      return null;
  }
}

/** An int64 (or int32) value as decimal text; null for other types. */
export function int64Text(b: Uint8Array, t: number, p: number): string | null {
  if (t === T_INT64) return Buffer.from(b.buffer, b.byteOffset + p, 8).readBigInt64LE(0).toString();
  if (t === T_INT32) return String(i32(b, p));
  return null;
}

/** A string value (cut to `max` characters), or null for other types. */
export function stringValue(b: Uint8Array, t: number, p: number, size: number, max: number): string | null {
  if (t !== T_STRING && t !== 0x0e) return null;
  const e = p + size - 1; // without the NUL
  return clip(text(b, p + 4, Math.min(e, p + 4 + max)), max);
}

/** Elements of the document or array at b[p] (of `size` bytes), counted up to `max`. */
export function countElements(b: Uint8Array, p: number, end: number, max = 1_000_000): number {
  let n = 0;
  walk(b, p, end, () => ++n < max);
  return n;
}

/**
 * A document's shape: its names with every value replaced by `?`, arrays of
 * values as [?], arrays of documents as the list of their shapes (the same
 * shape once), nested at most `depth` levels ({…} below), cut at `max`
 * characters. `array`: the value at b[p] is an array.
 */
export function shape(b: Uint8Array, p: number, end: number, depth: number, max: number, array = false): string {
  const out = { s: '' };
  shapeInto(b, p, end, depth, max, array, out);
  return clip(out.s, max);
}

function shapeInto(b: Uint8Array, p: number, end: number, depth: number, max: number, array: boolean, out: { s: string }): void {
  if (depth <= 0) {
    out.s += array ? '[…]' : '{…}';
    return;
  }
  if (!array) {
    out.s += '{';
    let first = true;
    const st = walk(b, p, end, (e) => {
      if (out.s.length > max) return false;
      if (!first) out.s += ', ';
      first = false;
      out.s += latin1Name(b, e.nameStart, e.nameEnd) + ': ';
      const t = e.type, vs = e.valueStart, sz = e.valueSize;
      if (t === T_DOC || t === T_ARRAY) shapeInto(b, vs, vs + sz, depth - 1, max, t === T_ARRAY, out);
      else out.s += '?';
      return true;
    });
    if (st === WALK_TRUNCATED) out.s += first ? '…' : ', …';
    out.s += '}';
    return;
  }
  // an array: [?] for values, the distinct shapes of its documents
  const seen: string[] = [];
  let values = false;
  const st = walk(b, p, end, (e) => {
    if (out.s.length > max || seen.length >= 8) return false;
    if (e.type === T_DOC || e.type === T_ARRAY) {
      const o = { s: '' };
      shapeInto(b, e.valueStart, e.valueStart + e.valueSize, depth - 1, max, e.type === T_ARRAY, o);
      if (!seen.includes(o.s)) seen.push(o.s);
    } else values = true;
    return true;
  });
  const parts = values ? ['?', ...seen] : seen;
  if (st === WALK_TRUNCATED) parts.push('…');
  out.s += `[${parts.join(', ')}]`;
}

/** A name as shapes print it: as sent (Latin-1 for bytes that are not UTF-8 text). */
function latin1Name(b: Uint8Array, s: number, e: number): string {
  for (let i = s; i < e; i++) if (b[i]! > 0x7f) return text(b, s, e);
  return latin1(b, s, e);
}
