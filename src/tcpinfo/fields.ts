/**
 * Reading and printing struct fields exactly as Go's csvtool prints them:
 * unsigned decimals, Go int64/int32 signed (u64 counters never go through a
 * lossy Number: values beyond 2^53 are printed with BigInt), ports and the
 * interface index big-endian, the cookie as %X, addresses with Go's net.IP
 * rules. Also the plain-object view used by the API (BigInt for 64-bit).
 */
import { BE16, BE32, COOKIE, I32, I64, IP, U16, U32, U8, type StructDef } from './layout.js';

/** Decimal strings of 0..255 (u8 cells are the most common). */
export const U8_TEXT: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

export function u16At(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function u32At(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

export function i32At(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

export function be16At(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function be32At(b: Uint8Array, o: number): number {
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

/** Little-endian int64 as exact decimal text. */
export function i64Text(b: Uint8Array, o: number): string {
  const lo = u32At(b, o);
  const hi = i32At(b, o + 4);
  if (hi === 0) return '' + lo;
  // |value| < 2^53: the double arithmetic is exact.
  if (hi >= -0x200000 && hi < 0x200000) return '' + (hi * 4294967296 + lo);
  return ((BigInt(hi) << 32n) + BigInt(lo)).toString();
}

export function i64At(b: Uint8Array, o: number): bigint {
  return (BigInt(i32At(b, o + 4)) << 32n) + BigInt(u32At(b, o));
}

export function u64At(b: Uint8Array, o: number): bigint {
  return (BigInt(u32At(b, o + 4)) << 32n) + BigInt(u32At(b, o));
}

/** Little-endian u64 as Go's %X: uppercase hex, no padding, "0" for zero. */
export function cookieText(b: Uint8Array, o: number): string {
  const lo = u32At(b, o);
  const hi = u32At(b, o + 4);
  if (hi === 0) return lo.toString(16).toUpperCase();
  return (hi.toString(16) + lo.toString(16).padStart(8, '0')).toUpperCase();
}

function quad(b: Uint8Array, o: number): string {
  return U8_TEXT[b[o]!] + '.' + U8_TEXT[b[o + 1]!] + '.' + U8_TEXT[b[o + 2]!] + '.' + U8_TEXT[b[o + 3]!];
}

/**
 * tcp-info's address text for 16 raw bytes: dotted quad when bytes 4..15 are
 * zero (whatever the family, so `::` prints 0.0.0.0), else Go's
 * net.IP.String(): IPv4-mapped as a dotted quad, otherwise RFC 5952 style
 * with the first longest run of >= 2 zero groups as `::`.
 */
export function ipText(b: Uint8Array, o: number): string {
  let rest = 0;
  for (let i = 4; i < 16; i++) rest |= b[o + i]!;
  if (rest === 0) return quad(b, o);
  let head = 0;
  for (let i = 0; i < 10; i++) head |= b[o + i]!;
  if (head === 0 && b[o + 10] === 0xff && b[o + 11] === 0xff) return quad(b, o + 12);
  let e0 = -1;
  let e1 = -1;
  for (let i = 0; i < 16; i += 2) {
    let j = i;
    while (j < 16 && b[o + j] === 0 && b[o + j + 1] === 0) j += 2;
    if (j > i && j - i > e1 - e0) {
      e0 = i;
      e1 = j;
      i = j;
    }
  }
  if (e1 - e0 <= 2) {
    e0 = -1;
    e1 = -1;
  }
  let s = '';
  for (let i = 0; i < 16; i += 2) {
    if (i === e0) {
      s += '::';
      i = e1;
      if (i >= 16) break;
    } else if (i > 0) {
      s += ':';
    }
    s += ((b[o + i]! << 8) | b[o + i + 1]!).toString(16);
  }
  return s;
}

/** One field as CSV text. */
export function fieldText(b: Uint8Array, o: number, kind: number): string {
  switch (kind) {
    case U8:
      return U8_TEXT[b[o]!]!;
    case U16:
      return '' + u16At(b, o);
    case U32:
      return '' + u32At(b, o);
    case I32:
      return '' + i32At(b, o);
    case I64:
      return i64Text(b, o);
    case BE16:
      return '' + be16At(b, o);
    case BE32:
      return '' + be32At(b, o);
    case IP:
      return ipText(b, o);
    case COOKIE:
      return cookieText(b, o);
    default:
      throw new RangeError(`unknown field kind ${kind}`);
  }
}

export type FieldValue = number | bigint | string;

/** One field as a value: numbers, BigInt for 64-bit (signed int64, unsigned cookie), text for addresses. */
export function fieldValue(b: Uint8Array, o: number, kind: number): FieldValue {
  switch (kind) {
    case I64:
      return i64At(b, o);
    case COOKIE:
      return u64At(b, o);
    case IP:
      return ipText(b, o);
    case U8:
      return b[o]!;
    case U16:
      return u16At(b, o);
    case U32:
      return u32At(b, o);
    case I32:
      return i32At(b, o);
    case BE16:
      return be16At(b, o);
    case BE32:
      return be32At(b, o);
    default:
      throw new RangeError(`unknown field kind ${kind}`);
  }
}

/** A decoded struct as a plain object keyed by Go field name. */
export function structObject(def: StructDef, b: Uint8Array, o: number): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const f of def.fields) out[f.name] = fieldValue(b, o + f.off, f.kind);
  return out;
}
