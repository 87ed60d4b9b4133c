/**
 * tcp-info's change detection (ArchivalRecord.Compare, src/tcpinfo/compare.ts)
 * done on the raw sock_diag payloads, without building ArchivalRecords: the
 * poller sees every socket every 10 ms and writes only the few that changed,
 * so the comparison must not allocate.
 *
 * An attribute table holds, for each attribute type 0..38, the offset and
 * length of its value in the payload's buffer (offset -1 = absent), and the
 * length Go gives the Attributes array (highest type + 1, at most
 * 2 * INET_DIAG_MAX + 1; later duplicates win), exactly as
 * makeArchivalRecord builds it. compareRaw then answers what compareRecords
 * answers for the two records (checked against it in the tests).
 */
import { INET_DIAG_INFO, INET_DIAG_MAX_GO, INET_DIAG_MSG_SIZE } from '../../tcpinfo/inet_diag.js';
import { TCPI_BUSY_TIME, TCPI_LAST_DATA_SENT, TCPI_PMTU } from '../../tcpinfo/tcp_info.js';
import {
  ATTRIBUTE_LENGTH,
  IDIAG_STATE_CHANGE,
  LOST_ATTRIBUTE,
  NEW_ATTRIBUTE,
  NO_MAJOR_CHANGE,
  NO_TCP_INFO,
  OTHER,
  STATE_OR_COUNTER_CHANGE,
} from '../../tcpinfo/compare.js';

/** Attribute types kept (0 .. 2 * INET_DIAG_MAX). */
export const ATTR_SLOTS = 2 * INET_DIAG_MAX_GO + 1;

/** A table for parseAttrTable: [offset, length] per type, then the Attributes length at the end. */
export function newAttrTable(): Int32Array {
  return new Int32Array(2 * ATTR_SLOTS + 1);
}

const COUNT = 2 * ATTR_SLOTS;

/** Number of entries Go's Attributes array would have (>= 1). */
export function attrCount(tab: Int32Array): number {
  return tab[COUNT]!;
}

/**
 * Fills `tab` from the payload at `off` (`len` bytes: struct inet_diag_msg
 * then route attributes). Returns false for a malformed attribute (Go:
 * EINVAL), as parseRouteAttrs rejects it.
 */
export function parseAttrTable(b: Uint8Array, off: number, len: number, tab: Int32Array): boolean {
  tab.fill(-1, 0, COUNT);
  const end = off + len;
  let p = off + INET_DIAG_MSG_SIZE;
  let max = 0;
  while (end - p >= 4) {
    const alen = b[p]! | (b[p + 1]! << 8);
    if (alen < 4 || alen > end - p) return false;
    const type = b[p + 2]! | (b[p + 3]! << 8);
    if (type > max) max = type;
    if (type < ATTR_SLOTS) {
      tab[2 * type] = p + 4;
      tab[2 * type + 1] = alen - 4;
    }
    p += (alen + 3) & ~3;
  }
  tab[COUNT] = (max < ATTR_SLOTS - 1 ? max : ATTR_SLOTS - 1) + 1;
  return true;
}

/** compare.ts rangeEqual: the available prefix of [start, end) of both values. */
function rangeEqual(a: Uint8Array, ao: number, al: number, b: Uint8Array, bo: number, bl: number, start: number, end: number): boolean {
  const ea = end < al ? end : al;
  const eb = end < bl ? end : bl;
  if (ea !== eb) return false;
  for (let i = start; i < ea; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/**
 * compareRecords(current, previous) for two payloads and their tables: a
 * ChangeType, > NO_MAJOR_CHANGE means "write it".
 */
export function compareRaw(cur: Uint8Array, curOff: number, ct: Int32Array, prev: Uint8Array, prevOff: number, pt: Int32Array): number {
  if (prev[prevOff + 1] !== cur[curOff + 1]) return IDIAG_STATE_CHANGE;
  const pn = pt[COUNT]!;
  const cn = ct[COUNT]!;
  if (pn <= INET_DIAG_INFO || cn <= INET_DIAG_INFO) return NO_TCP_INFO;
  const ao = pt[2 * INET_DIAG_INFO]!;
  const bo = ct[2 * INET_DIAG_INFO]!;
  if (ao < 0 || bo < 0) return NO_TCP_INFO;
  const al = pt[2 * INET_DIAG_INFO + 1]!;
  const bl = ct[2 * INET_DIAG_INFO + 1]!;
  if (!rangeEqual(prev, ao, al, cur, bo, bl, TCPI_PMTU, TCPI_BUSY_TIME)) return STATE_OR_COUNTER_CHANGE;
  if (!rangeEqual(prev, ao, al, cur, bo, bl, 0, TCPI_LAST_DATA_SENT)) return STATE_OR_COUNTER_CHANGE;
  if (pn < cn) return NEW_ATTRIBUTE;
  if (pn > cn) return LOST_ATTRIBUTE;
  for (let t = 0; t < pn; t++) {
    if (t === INET_DIAG_INFO) continue;
    const xo = pt[2 * t]!;
    const yo = ct[2 * t]!;
    if (xo < 0 && yo >= 0) return NEW_ATTRIBUTE;
    if (xo >= 0 && yo < 0) return LOST_ATTRIBUTE;
    if (xo < 0) continue;
    const xl = pt[2 * t + 1]!;
    if (xl !== ct[2 * t + 1]!) return ATTRIBUTE_LENGTH;
    for (let i = 0; i < xl; i++) if (prev[xo + i] !== cur[yo + i]) return OTHER;
  }
  return NO_MAJOR_CHANGE;
}
