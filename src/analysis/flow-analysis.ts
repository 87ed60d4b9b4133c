/**
 * What the tracker hands to the per-connection analysis (tshark's sequence
 * analysis, Zeek's state and history, handshake verdicts): one call per
 * event, in capture order. Two implementations: ConnAnalyzer runs the
 * analysis on the calling thread (state in Conn.aux); RemoteAnalysis
 * (remote-analysis.ts) writes the same events into a shared ring for a
 * worker thread that runs a ConnAnalyzer there.
 */
import type { PacketView } from '../capture/packet.js';
import type { Decoded } from '../decode/decoded.js';
import type { Conn } from '../tcp/conn.js';

export interface FlowAnalysis {
  /** A flow was created; `reused` when its TCP 4-tuple ended recently with another ISN (tshark's reused_ports). */
  created(c: Conn, reused: boolean): void;
  /** A TCP segment; returns tshark's analysis flags when known on this thread (0 otherwise). */
  tcp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView, frame: number): number;
  /** A late SYN or SYN/ACK swapped the originator. */
  flipped(c: Conn): void;
  /** A UDP or ICMP packet of the flow. */
  other(c: Conn, fromA: boolean, payloadLen: number): void;
  /** An ICMP destination unreachable quoting this TCP connection. */
  unreachable(c: Conn, type: number, code: number, sec: number, nsec: number): void;
  /** Capture time moved to `nowMs` (handshake timeouts). */
  advance(nowMs: number): void;
  /**
   * An embryonic flow carried payload or was answered (see ConnTracker): from
   * now on it gets the full per-flow analysis state.
   */
  graduate(c: Conn): void;
  /**
   * The analysis state of a flow that is still embryonic is wanted for a
   * record while it stays open (tcpcapture's interim records); `released`
   * drops it again.
   */
  materialize(c: Conn): void;
  /** The flow ends (called before its record is written; `c.endReason` is set). */
  ended(c: Conn): void;
  /** The record of an ended flow (or an interim record) was built: state kept only for it can go. */
  released(c: Conn): void;
}
