/**
 * tshark's TCP sequence analysis (Wireshark epan/dissectors/packet-tcp.c,
 * tcp_analyze_sequence_number and friends, 4.0 behaviour): per-segment flags
 * with tshark's trigger rules and precedence, per-direction counts, ACK RTT
 * samples, bytes in flight, unique vs retransmitted bytes, missed bytes.
 *
 * STUB: the interface is final; the analysis is being written.
 */
import type { Decoded } from '../decode/decoded.js';
import type { RecordValues } from '../records/schema.js';

/** Analysis flags, one bit each; FLAG_NAMES gives the tshark field names in snake case. */
export const Flag = {
  RETRANSMISSION: 1 << 0,
  FAST_RETRANSMISSION: 1 << 1,
  SPURIOUS_RETRANSMISSION: 1 << 2,
  OUT_OF_ORDER: 1 << 3,
  LOST_SEGMENT: 1 << 4,
  ACK_LOST_SEGMENT: 1 << 5,
  DUPLICATE_ACK: 1 << 6,
  ZERO_WINDOW: 1 << 7,
  ZERO_WINDOW_PROBE: 1 << 8,
  ZERO_WINDOW_PROBE_ACK: 1 << 9,
  WINDOW_FULL: 1 << 10,
  WINDOW_UPDATE: 1 << 11,
  KEEP_ALIVE: 1 << 12,
  KEEP_ALIVE_ACK: 1 << 13,
  REUSED_PORTS: 1 << 14,
} as const;

export const FLAG_NAMES = [
  'retransmission',
  'fast_retransmission',
  'spurious_retransmission',
  'out_of_order',
  'lost_segment',
  'ack_lost_segment',
  'duplicate_ack',
  'zero_window',
  'zero_window_probe',
  'zero_window_probe_ack',
  'window_full',
  'window_update',
  'keep_alive',
  'keep_alive_ack',
  'reused_ports',
] as const;

/** Flags counted per direction in the record (reused_ports is per connection). */
export const DIRECTION_FLAG_COUNT = 14;

/** Record keys of the per-direction flag counts, in FLAG_NAMES order. */
export const ORIG_FLAG_KEYS = FLAG_NAMES.slice(0, DIRECTION_FLAG_COUNT).map((n) => `orig_${n}`);
export const RESP_FLAG_KEYS = FLAG_NAMES.slice(0, DIRECTION_FLAG_COUNT).map((n) => `resp_${n}`);

export class SeqAnalysis {
  /** Duplicate-ACK number of the last segment (tcp.analysis.duplicate_ack_num), 0 if not a dup ACK. */
  dupAckNum = 0;
  /** ACK RTT of the last segment in ms (tcp.analysis.ack_rtt), -1 if none. */
  ackRttMs = -1;
  /** Bytes in flight after the last segment (tcp.analysis.bytes_in_flight), -1 if not computed. */
  bytesInFlight = -1;
  /** Sequence-space bytes skipped by the last segment (a content gap opened), 0 if none. */
  gapBytes = 0;

  reset(): void {
    this.gapBytes = 0;
    this.dupAckNum = 0;
    this.ackRttMs = -1;
    this.bytesInFlight = -1;
  }

  /**
   * Analyses one TCP segment sent by endpoint A (`fromA`) or B, in capture
   * order, and returns its flag bits. `frame` is the 1-based packet number.
   */
  onSegment(_fromA: boolean, _d: Decoded, _sec: number, _nsec: number, _frame: number): number {
    return 0;
  }

  /** Marks the connection as a reuse of an earlier one's 4-tuple (its first SYN gets REUSED_PORTS). */
  markReused(): void {}

  /**
   * Writes this analysis's fields of the conn record; `origIsA` maps A/B to
   * orig/resp. Runs once per connection: use the precomputed key names
   * (ORIG_FLAG_KEYS, ...), not template strings.
   */
  fill(r: RecordValues, _origIsA: boolean): void {
    for (let i = 0; i < DIRECTION_FLAG_COUNT; i++) {
      r[ORIG_FLAG_KEYS[i]!] = null;
      r[RESP_FLAG_KEYS[i]!] = null;
    }
    r['missed_bytes'] = null;
  }

  /** Smoothed RTT (ms) of the direction with more samples, -1 when none (for rtt_ms). */
  bestSrttMs(): number {
    return -1;
  }
}
