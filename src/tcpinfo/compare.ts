/**
 * Change detection between two snapshots of one connection
 * (ArchivalRecord.Compare in netlink/archival-record.go): tcp-info writes a
 * record only when it differs "enough" from the previous poll. Kept exactly,
 * except that Go slices tcp_info[60:168] without a length check (reading
 * past a short attribute or panicking); here the available prefix is
 * compared and missing bytes count as absent.
 */
import type { ArchivalRecord } from './archival-record.js';
import { INET_DIAG_INFO } from './inet_diag.js';
import { TCPI_BUSY_TIME, TCPI_LAST_DATA_SENT, TCPI_PMTU } from './tcp_info.js';

export const NO_MAJOR_CHANGE = 0;
export const IDIAG_STATE_CHANGE = 1;
export const NO_TCP_INFO = 2;
export const NEW_ATTRIBUTE = 3;
export const LOST_ATTRIBUTE = 4;
export const ATTRIBUTE_LENGTH = 5;
export const STATE_OR_COUNTER_CHANGE = 6;
export const PACKET_COUNT_CHANGE = 7;
export const PREVIOUS_WAS_NIL = 8;
export const OTHER = 9;

export const CHANGE_NAMES: readonly string[] = [
  'NoMajorChange', 'IDiagStateChange', 'NoTCPInfo', 'NewAttribute', 'LostAttribute', 'AttributeLength',
  'StateOrCounterChange', 'PacketCountChange', 'PreviousWasNil', 'Other',
];

function rangeEqual(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  const ea = Math.min(end, a.length);
  const eb = Math.min(end, b.length);
  if (ea !== eb) return false;
  for (let i = start; i < ea; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** How `current` differs from `previous` (a ChangeType); > NO_MAJOR_CHANGE means "write it". */
export function compareRecords(current: ArchivalRecord, previous: ArchivalRecord | null): number {
  if (previous === null) return PREVIOUS_WAS_NIL;
  const pi = previous.rawIdm;
  const ci = current.rawIdm;
  if (pi === null || ci === null || pi.length < 72 || ci.length < 72) throw new RangeError('Compare: RawIDM missing or short (Go: ErrParseFailed)');
  if (pi[1] !== ci[1]) return IDIAG_STATE_CHANGE;
  const pa = previous.attributes ?? [];
  const ca = current.attributes ?? [];
  if (pa.length <= INET_DIAG_INFO || ca.length <= INET_DIAG_INFO) return NO_TCP_INFO;
  const a = pa[INET_DIAG_INFO];
  const b = ca[INET_DIAG_INFO];
  if (!a || !b) return NO_TCP_INFO;
  if (!rangeEqual(a, b, TCPI_PMTU, TCPI_BUSY_TIME)) return STATE_OR_COUNTER_CHANGE;
  if (!rangeEqual(a, b, 0, TCPI_LAST_DATA_SENT)) return STATE_OR_COUNTER_CHANGE;
  if (pa.length < ca.length) return NEW_ATTRIBUTE;
  if (pa.length > ca.length) return LOST_ATTRIBUTE;
  for (let t = 0; t < pa.length; t++) {
    if (t === INET_DIAG_INFO) continue;
    const x = pa[t];
    const y = ca[t];
    if (!x && y) return NEW_ATTRIBUTE;
    if (x && !y) return LOST_ATTRIBUTE;
    if (!x || !y) continue;
    if (x.length !== y.length) return ATTRIBUTE_LENGTH;
    if (!bytesEqual(x, y)) return OTHER;
  }
  return NO_MAJOR_CHANGE;
}
