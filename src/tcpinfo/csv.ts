/**
 * The CSV m-lab's Go csvtool writes (gocsv over snapshot.Snapshot, Go's
 * encoding/csv): 105 columns in struct order, a struct pointer that is nil
 * gives empty cells, scalars print 0, CongestionAlgorithm is quoted when Go
 * would quote it, `\n` line ends. The header keeps tcp-info's quirks
 * (`TCP.LastDataRecv` twice, `SKMemInfo.Sndbug`).
 *
 * Rows are built as one string per line. Strings here are "binary" (one char
 * per byte: the congestion name is latin1-decoded), so the output must be
 * written with the latin1 encoding to reproduce Go's bytes exactly.
 */
import { BBRINFO, DCTCPINFO, INET_DIAG_MSG, MEMINFO, VEGASINFO } from './inet_diag.js';
import { SK_MEMINFO } from './sock_diag.js';
import { TCP_INFO } from './tcp_info.js';
import { BE16, BE32, COOKIE, I32, I64, IP, U16, U32, U8, type StructDef } from './layout.js';
import { U8_TEXT, be16At, be32At, cookieText, i32At, i64Text, ipText, u16At } from './fields.js';
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

function emptyCells(n: number): string {
  return ','.repeat(n);
}

/** Appends `,v` for every field of a struct (or `n` empty cells when absent). */
function structCells(slot: StructSlot, empty: string): string {
  const b = slot.buf;
  if (b === null) return empty;
  const def = slot.def;
  const kinds = def.kinds;
  const offs = def.offsets;
  const base = slot.off;
  let s = '';
  for (let i = 0; i < kinds.length; i++) {
    const o = base + offs[i]!;
    switch (kinds[i]) {
      case U8:
        s += ',' + U8_TEXT[b[o]!];
        break;
      case U32:
        s += ',' + ((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000);
        break;
      case I64:
        s += ',' + i64Text(b, o);
        break;
      case I32:
        s += ',' + i32At(b, o);
        break;
      case U16:
        s += ',' + u16At(b, o);
        break;
      case BE16:
        s += ',' + be16At(b, o);
        break;
      case BE32:
        s += ',' + be32At(b, o);
        break;
      case IP:
        s += ',' + ipText(b, o);
        break;
      case COOKIE:
        s += ',' + cookieText(b, o);
        break;
    }
  }
  return s;
}

const EMPTY_IDM = emptyCells(INET_DIAG_MSG.fields.length);
const EMPTY_TCP = emptyCells(TCP_INFO.fields.length);
const EMPTY_MEM = emptyCells(MEMINFO.fields.length);
const EMPTY_SKMEM = emptyCells(SK_MEMINFO.fields.length);
const EMPTY_VEGAS = emptyCells(VEGASINFO.fields.length);
const EMPTY_DCTCP = emptyCells(DCTCPINFO.fields.length);
const EMPTY_BBR = emptyCells(BBRINFO.fields.length);

/**
 * Formats snapshots as CSV rows (with the trailing `\n`). Keeps a one-entry
 * cache for the congestion name, which rarely changes between lines.
 */
export class CsvRowFormatter {
  private congKey = Buffer.alloc(64);
  private congKeyLen = -2;
  private congCell = '';

  format(snap: Snapshot): string {
    let s = snap.timestampText + ',' + snap.observed + ',' + snap.notFullyParsed;
    s += structCells(snap.idm, EMPTY_IDM);
    s += ',' + this.congestion(snap);
    s += ',' + U8_TEXT[snap.tos] + ',' + U8_TEXT[snap.tclass] + ',' + U8_TEXT[snap.classId];
    s += ',' + U8_TEXT[snap.shutdown] + ',' + U8_TEXT[snap.protocol] + ',' + snap.mark;
    s += structCells(snap.tcpInfo, EMPTY_TCP);
    s += structCells(snap.memInfo, EMPTY_MEM);
    s += structCells(snap.socketMem, EMPTY_SKMEM);
    s += structCells(snap.vegasInfo, EMPTY_VEGAS);
    s += structCells(snap.dctcpInfo, EMPTY_DCTCP);
    s += structCells(snap.bbrInfo, EMPTY_BBR);
    return s + '\n';
  }

  private congestion(snap: Snapshot): string {
    const len = snap.congLen;
    if (len < 0) return '';
    const buf = snap.congBuf!;
    const off = snap.congOff;
    if (len === this.congKeyLen && len <= this.congKey.length && buf.compare(this.congKey, 0, len, off, off + len) === 0) {
      return this.congCell;
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
