/**
 * Zeek's view of a connection: the `history` string (letters, case and
 * repetition rules of zeek/src/analyzer/protocol/tcp and conn/main.zeek) and
 * `conn_state` from the two endpoint states by one pure function.
 *
 * STUB: the interface is final; the logic is being written.
 */
import type { Decoded } from '../decode/decoded.js';
import type { RecordValues } from '../records/schema.js';

export class ZeekState {
  reset(): void {}

  /**
   * One TCP segment from endpoint A (`fromA`) or B, after the sequence
   * analysis: `seqFlags` are the SeqAnalysis flag bits of the segment (for
   * `t`, retransmitted payload), `gapBytes` the content gap it revealed (for `g`).
   */
  onTcp(_fromA: boolean, _d: Decoded, _seqFlags: number, _gapBytes: number): void {}

  /** A UDP or ICMP packet from A or B with `payloadLen` bytes. */
  onOther(_fromA: boolean, _payloadLen: number): void {}

  /** The roles were flipped after packets were seen (Zeek's `^`). */
  onFlip(): void {}

  /** Writes conn_state and history; `origIsA` maps A/B to orig/resp; `proto` is tcp/udp/icmp. */
  fill(r: RecordValues, _origIsA: boolean, _proto: number): void {
    r['conn_state'] = null;
    r['history'] = null;
  }
}
