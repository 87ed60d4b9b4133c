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
import { COOKIE, IP, type StructDef } from './layout.js';
import { cookieText, ipText } from './fields.js';
import type { Snapshot } from './snapshot.js';
import { COMMA, TextCache, latin1, putStruct, putText, putUint } from './csv-cells.js';

export { putUint } from './csv-cells.js';

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

/** Longest row: 105 cells of at most ~40 bytes, plus a congestion name of any length. */
const ROW_RESERVE = 8192;

/**
 * Writes snapshots as CSV rows (with `\n`) into an output buffer; `take()`
 * hands the bytes written so far to the caller (for a TextSink).
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
