/**
 * The CSV m-lab's Go csvtool writes (gocsv over snapshot.Snapshot, Go's
 * encoding/csv): 105 columns in struct order, a struct pointer that is nil
 * gives empty cells, scalars print 0, CongestionAlgorithm is quoted when Go
 * would quote it, `\n` line ends. The header keeps tcp-info's quirks
 * (`TCP.LastDataRecv` twice, `SKMemInfo.Sndbug`).
 *
 * Rows are written as bytes into one reused buffer; text leaves it as a
 * "binary" string (one char per byte: the congestion name is raw bytes), so
 * the output must be written with the latin1 encoding to reproduce Go's
 * bytes exactly.
 */
import { BBRINFO, DCTCPINFO, INET_DIAG_MSG, MEMINFO, VEGASINFO } from './inet_diag.js';
import { SK_MEMINFO } from './sock_diag.js';
import { TCP_INFO } from './tcp_info.js';
import { BE16, BE32, COOKIE, I32, I64, IP, U16, U32, U8, type StructDef } from './layout.js';
import { be16At, be32At, cookieText, i32At, i64Text, ipText, u16At } from './fields.js';
import type { Snapshot, StructSlot } from './snapshot.js';

const names = (d: StructDef): string[] => d.fields.map((f) => f.csv);

/** The 105 column names, in Go's order. */
export const CSV_COLUMNS: readonly string[] = [
  'Timestamp',
  'Observed',
  'NotFullyParsed',
  ...names(INET_DIAG_MSG),
  'CongestionAlgorithm',
  'TOS',
  'TClass',
  'ClassID',
  'Shutdown',
  'Protocol',
  'Mark',
  ...names(TCP_INFO),
  ...names(MEMINFO),
  ...names(SK_MEMINFO),
  ...names(VEGASINFO),
  ...names(DCTCPINFO),
  ...names(BBRINFO),
];

export const CSV_HEADER = CSV_COLUMNS.join(',') + '\n';

/** Go encoding/csv: does this (latin1/binary) field need quotes? */
export function goCsvNeedsQuotes(s: string): boolean {
  if (s === '') return false;
  if (s === '\\.') return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2c || c === 0x22 || c === 0x0d || c === 0x0a) return true;
  }
  return firstRuneIsSpace(s);
}

/** unicode.IsSpace of the first UTF-8 rune of the bytes `s` (one char per byte). */
function firstRuneIsSpace(s: string): boolean {
  const b0 = s.charCodeAt(0);
  const b1 = s.length > 1 ? s.charCodeAt(1) : -1;
  const b2 = s.length > 2 ? s.charCodeAt(2) : -1;
  if (b0 < 0x80) return b0 === 0x20 || (b0 >= 0x09 && b0 <= 0x0d);
  if (b0 === 0xc2) return b1 === 0x85 || b1 === 0xa0; // U+0085, U+00A0
  if (b0 === 0xe1) return b1 === 0x9a && b2 === 0x80; // U+1680
  if (b0 === 0xe2 && b1 === 0x80) return (b2 >= 0x80 && b2 <= 0x8a) || b2 === 0xa8 || b2 === 0xa9 || b2 === 0xaf; // U+2000-200A, 2028, 2029, 202F
  if (b0 === 0xe2 && b1 === 0x81) return b2 === 0x9f; // U+205F
  if (b0 === 0xe3) return b1 === 0x80 && b2 === 0x80; // U+3000
  return false;
}

/** A field as Go's csv.Writer writes it. */
export function goCsvField(s: string): string {
  return goCsvNeedsQuotes(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

// ---------------------------------------------------------------------------
// Byte-level row writer. Digits are written straight into the output buffer:
// measured on the conformance files this is about 3x faster than building a
// string per row and encoding it, and it allocates nothing per row.
// ---------------------------------------------------------------------------

/** "00".."99" as ASCII pairs. */
const DIGITS2 = Buffer.from(Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i).join(''), 'latin1');
const COMMA = 0x2c;

/** Four digits, zero-padded (n < 10000). */
function put4z(out: Buffer, pos: number, n: number): number {
  const hi = (n / 100) | 0;
  const lo = (n - hi * 100) * 2;
  out[pos] = DIGITS2[hi * 2]!;
  out[pos + 1] = DIGITS2[hi * 2 + 1]!;
  out[pos + 2] = DIGITS2[lo]!;
  out[pos + 3] = DIGITS2[lo + 1]!;
  return pos + 4;
}

/** One to four digits (n < 10000). */
function put4(out: Buffer, pos: number, n: number): number {
  if (n < 10) {
    out[pos] = 48 + n;
    return pos + 1;
  }
  if (n < 100) {
    out[pos] = DIGITS2[n * 2]!;
    out[pos + 1] = DIGITS2[n * 2 + 1]!;
    return pos + 2;
  }
  const hi = (n / 100) | 0;
  const lo = (n - hi * 100) * 2;
  if (hi < 10) {
    out[pos] = 48 + hi;
    out[pos + 1] = DIGITS2[lo]!;
    out[pos + 2] = DIGITS2[lo + 1]!;
    return pos + 3;
  }
  out[pos] = DIGITS2[hi * 2]!;
  out[pos + 1] = DIGITS2[hi * 2 + 1]!;
  out[pos + 2] = DIGITS2[lo]!;
  out[pos + 3] = DIGITS2[lo + 1]!;
  return pos + 4;
}

/** Writes the decimal digits of a non-negative integer <= 2^53 at out[pos]; returns the new position. */
export function putUint(out: Buffer, pos: number, n: number): number {
  if (n < 10000) return put4(out, pos, n);
  if (n < 100000000) {
    const hi = (n / 10000) | 0;
    return put4z(out, put4(out, pos, hi), n - hi * 10000);
  }
  const hi = Math.floor(n / 100000000);
  const lo = n - hi * 100000000;
  pos = putUint(out, pos, hi);
  const mid = (lo / 10000) | 0;
  return put4z(out, put4z(out, pos, mid), lo - mid * 10000);
}

function putInt(out: Buffer, pos: number, n: number): number {
  if (n < 0) {
    out[pos] = 0x2d;
    return putUint(out, pos + 1, -n);
  }
  return putUint(out, pos, n);
}

/** Node's fast one-byte-string paths behind Buffer#write/toString('latin1') (present in every supported Node). */
interface Latin1Buffer {
  latin1Write(s: string, offset: number): number;
  latin1Slice(start: number, end: number): string;
}

/** Writes ASCII/latin1 text (one byte per char). */
function putText(out: Buffer, pos: number, t: string): number {
  return pos + (out as unknown as Latin1Buffer).latin1Write(t, pos);
}

function latin1(b: Buffer, start: number, end: number): string {
  return (b as unknown as Latin1Buffer).latin1Slice(start, end);
}

function putI64(out: Buffer, pos: number, b: Buffer, o: number): number {
  const lo = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
  const hi = b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24);
  if (hi === 0) return putUint(out, pos, lo);
  if (hi >= -0x200000 && hi < 0x200000) return putInt(out, pos, hi * 4294967296 + lo);
  return putText(out, pos, i64Text(b, o));
}

/** Writes `,value` for fields [from, to) of a struct at b[base]. */
function putFields(out: Buffer, pos: number, b: Buffer, base: number, def: StructDef, from: number, to: number, caches: (TextCache | null)[] | null): number {
  const kinds = def.kinds;
  const offs = def.offsets;
  for (let i = from; i < to; i++) {
    const o = base + offs[i]!;
    out[pos++] = COMMA;
    switch (kinds[i]) {
      case U8: {
        const v = b[o]!;
        if (v < 10) out[pos++] = 48 + v;
        else pos = put4(out, pos, v);
        break;
      }
      case U32: {
        // Single digits (mostly zeros) are a third of tcp_info's cells: no call for them.
        const v = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
        if (v < 10) out[pos++] = 48 + v;
        else pos = putUint(out, pos, v);
        break;
      }
      case I64:
        if ((b[o + 1]! | b[o + 2]! | b[o + 3]! | b[o + 4]! | b[o + 5]! | b[o + 6]! | b[o + 7]!) === 0 && b[o]! < 10) out[pos++] = 48 + b[o]!;
        else pos = putI64(out, pos, b, o);
        break;
      case I32:
        pos = putInt(out, pos, i32At(b, o));
        break;
      case U16:
        pos = putUint(out, pos, u16At(b, o));
        break;
      case BE16:
        pos = putUint(out, pos, be16At(b, o));
        break;
      case BE32:
        pos = putUint(out, pos, be32At(b, o));
        break;
      case IP:
        pos = caches![i]!.put(out, pos, b, o);
        break;
      case COOKIE:
        pos = caches![i]!.put(out, pos, b, o);
        break;
    }
  }
  return pos;
}

/**
 * Writes `,value` for every field of a struct, or `,` per field when absent.
 * A short payload is read in place: fields past its end print 0 (Go's
 * zero-padded copy); only a field cut in the middle goes through a padded copy.
 */
function putStruct(out: Buffer, pos: number, slot: StructSlot, caches: (TextCache | null)[] | null): number {
  const b = slot.buf;
  const def = slot.def;
  const n = def.kinds.length;
  if (b === null) {
    for (let i = 0; i < n; i++) out[pos++] = COMMA;
    return pos;
  }
  const len = slot.len;
  if (len >= def.size) return putFields(out, pos, b, slot.off, def, 0, n, caches);
  const ends = def.ends;
  let full = n;
  while (full > 0 && ends[full - 1]! > len) full--;
  pos = putFields(out, pos, b, slot.off, def, 0, full, caches);
  const offs = def.offsets;
  for (let i = full; i < n; i++) {
    if (offs[i]! >= len) {
      out[pos++] = COMMA;
      out[pos++] = 48;
    } else {
      const [pb, po] = slot.padded();
      pos = putFields(out, pos, pb, po, def, i, i + 1, caches);
    }
  }
  return pos;
}

/**
 * Remembers the printed form of the last few values of a multi-byte field
 * (addresses, cookies: a connection's repeat on every line), keyed by the raw
 * bytes; hits are copied as bytes.
 */
class TextCache {
  private readonly width: number;
  private readonly keys: Uint8Array;
  private readonly texts: Uint8Array[] = [];
  private next = 0;
  constructor(width: number, private readonly entries: number, private readonly render: (b: Buffer, o: number) => string) {
    this.width = width;
    this.keys = new Uint8Array(width * entries);
  }
  put(out: Buffer, pos: number, b: Buffer, o: number): number {
    const w = this.width;
    const keys = this.keys;
    const texts = this.texts;
    for (let k = 0; k < texts.length; k++) {
      const base = k * w;
      // Compare from the end: addresses and cookies differ in their last bytes first.
      let j = w - 1;
      while (j >= 0 && keys[base + j] === b[o + j]) j--;
      if (j < 0) {
        const t = texts[k]!;
        for (let i = 0; i < t.length; i++) out[pos + i] = t[i]!;
        return pos + t.length;
      }
    }
    const text = Buffer.from(this.render(b, o), 'latin1');
    const k = this.next;
    this.next = (k + 1) % this.entries;
    for (let j = 0; j < w; j++) keys[k * w + j] = b[o + j]!;
    texts[k] = text;
    return pos + text.copy(out, pos);
  }
}

/** Longest row: 105 cells of at most ~40 bytes, plus a congestion name of any length. */
const ROW_RESERVE = 8192;

/**
 * Writes snapshots as CSV rows (with `\n`) into an output buffer; `take()`
 * hands the bytes written so far to the caller (for a ByteSink).
 */
export class CsvRowWriter {
  out: Buffer;
  pos = 0;
  /** One small cache per address/cookie field of inet_diag_msg (Src, Dst, Cookie). */
  private readonly idmCaches = INET_DIAG_MSG.fields.map((f) => (f.kind === IP ? new TextCache(16, 2, ipText) : f.kind === COOKIE ? new TextCache(8, 2, cookieText) : null));
  private congKey = Buffer.alloc(64);
  private congKeyLen = -2;
  private congCell = '';

  constructor(size = 1 << 18) {
    this.out = Buffer.allocUnsafe(Math.max(size, ROW_RESERVE * 2));
  }

  /** Bytes waiting in the buffer. */
  get length(): number {
    return this.pos;
  }

  /** True when the buffer should be taken before the next row. */
  get full(): boolean {
    return this.pos > this.out.length - ROW_RESERVE;
  }

  /** Appends one row. */
  write(snap: Snapshot): void {
    const cong = this.congestion(snap);
    if (this.out.length - this.pos < ROW_RESERVE + cong.length) this.grow(ROW_RESERVE + cong.length);
    const out = this.out;
    let pos = this.pos;
    if (snap.tsBuf !== null) {
      pos += snap.tsBuf.copy(out, pos, snap.tsStart, snap.tsEnd);
    } else {
      pos = putText(out, pos, snap.timestampText);
    }
    out[pos++] = COMMA;
    pos = putUint(out, pos, snap.observed);
    out[pos++] = COMMA;
    pos = putUint(out, pos, snap.notFullyParsed);
    pos = putStruct(out, pos, snap.idm, this.idmCaches);
    out[pos++] = COMMA;
    pos = putText(out, pos, cong);
    out[pos++] = COMMA;
    pos = putUint(out, pos, snap.tos);
    out[pos++] = COMMA;
    pos = putUint(out, pos, snap.tclass);
    out[pos++] = COMMA;
    pos = putUint(out, pos, snap.classId);
    out[pos++] = COMMA;
    pos = putUint(out, pos, snap.shutdown);
    out[pos++] = COMMA;
    pos = putUint(out, pos, snap.protocol);
    out[pos++] = COMMA;
    pos = putUint(out, pos, snap.mark);
    pos = putStruct(out, pos, snap.tcpInfo, null);
    pos = putStruct(out, pos, snap.memInfo, null);
    pos = putStruct(out, pos, snap.socketMem, null);
    pos = putStruct(out, pos, snap.vegasInfo, null);
    pos = putStruct(out, pos, snap.dctcpInfo, null);
    pos = putStruct(out, pos, snap.bbrInfo, null);
    out[pos++] = 0x0a;
    this.pos = pos;
  }

  /** The buffered rows; the writer continues in a new buffer (the caller owns the returned bytes). */
  take(): Buffer {
    const full = this.out.subarray(0, this.pos);
    this.out = Buffer.allocUnsafe(this.out.length);
    this.pos = 0;
    return full;
  }

  /** One row as a string (tests, tools); leaves the buffer as it was. */
  format(snap: Snapshot): string {
    const before = this.pos;
    this.write(snap);
    const s = latin1(this.out, before, this.pos);
    this.pos = before;
    return s;
  }

  private grow(extra: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + extra));
    this.out.copy(next, 0, 0, this.pos);
    this.out = next;
  }

  private congestion(snap: Snapshot): string {
    const len = snap.congLen;
    if (len < 0) return '';
    const buf = snap.congBuf!;
    const off = snap.congOff;
    if (len === this.congKeyLen) {
      const key = this.congKey;
      let j = 0;
      while (j < len && key[j] === buf[off + j]) j++;
      if (j === len) return this.congCell;
    }
    const cell = goCsvField(buf.toString('latin1', off, off + len));
    if (len <= this.congKey.length) {
      buf.copy(this.congKey, 0, off, off + len);
      this.congKeyLen = len;
      this.congCell = cell;
    } else {
      this.congKeyLen = -2;
    }
    return cell;
  }
}
