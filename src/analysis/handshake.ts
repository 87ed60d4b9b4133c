/**
 * Handshake verdicts, as tcpeek gives them live (pandax381/tcpeek
 * src/listener.c), here offline: success when the SYN sender ACKs the SYN/ACK;
 * reject when the SYN's receiver answers with RST; unreach when an ICMP or
 * ICMPv6 destination-unreachable quoting the connection arrives while the
 * SYN is unanswered; timeout when nothing answers the SYN within
 * `synTimeoutMs` of capture time (or before the capture ends). A tcpkit
 * extension: abort when the SYN sender itself resets before completing the
 * handshake (the client gave up; tcpeek has no name for it). Duplicate SYNs
 * and SYN/ACKs are counted. Works on endpoints A/B; roles are mapped when the
 * record is written.
 */
import { ACK, RST, SYN, type Decoded } from '../decode/decoded.js';
import type { PacketView } from '../capture/packet.js';
import type { RecordValues } from '../records/schema.js';

export const Verdict = { NONE: 0, PENDING: 1, SUCCESS: 2, REJECT: 3, TIMEOUT: 4, UNREACH: 5, ABORT: 6 } as const;
export const VERDICT_NAMES = ['', '', 'success', 'reject', 'timeout', 'unreach', 'abort'];

export class Handshake {
  // -0 marks fields that hold doubles (see Half in src/tcp/conn.ts).
  verdict: number = Verdict.NONE;
  /** Side that sent the first SYN: 1 = A, 2 = B, 0 = none. */
  synSide = 0;
  synSec = 0;
  synNsec = 0;
  synMs = -0;
  isn = -0;
  synAckSeen = false;
  synAckIsn = -0;
  /** Side of a SYN/ACK seen before any SYN (1 = A, 2 = B, 0 = none): a reordered capture. */
  earlySynAckSide = 0;
  dupSyn = 0;
  dupSynAck = 0;
  /** Nanoseconds from the first SYN to the completing ACK (-1 until success): connect_ms, tcpeek's handshake time. */
  handshakeNs = -1;
  decidedSec = 0;
  decidedNsec = 0;
  icmpType = -1;
  icmpCode = -1;
  /** Set once the verdict has been reported (tcpeek line). */
  reported = false;
  /** Set once the connection was put in the analyzer's timeout queue. */
  queued = false;
  /** Set while the analyzer still waits for its verdict (a queue entry with this unset is stale). */
  waiting = false;

  reset(): void {
    this.verdict = Verdict.NONE;
    this.synSide = 0;
    this.synAckSeen = false;
    this.earlySynAckSide = 0;
    this.dupSyn = 0;
    this.dupSynAck = 0;
    this.handshakeNs = -1;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.reported = false;
    this.queued = false;
    this.waiting = false;
  }

  /**
   * One TCP segment; returns true when this segment decided the verdict.
   * `timeoutMs` is the SYN timeout. Takes the decoded packet and its view
   * rather than loose numbers: sequence numbers and millisecond times are
   * doubles, and passing them as arguments would box them on every packet.
   */
  onTcp(fromA: boolean, d: Decoded, pv: PacketView, timeoutMs: number): boolean {
    const v = this.verdict;
    if (v !== Verdict.NONE && v !== Verdict.PENDING) {
      // decided: only duplicates are still counted
      const f = d.flags & (SYN | ACK);
      if (f === SYN && (fromA ? 1 : 2) === this.synSide) this.dupSyn++;
      else if (f === (SYN | ACK) && (fromA ? 1 : 2) !== this.synSide) {
        if (this.synAckSeen) this.dupSynAck++;
        else {
          this.synAckSeen = true;
          this.synAckIsn = d.seq;
        }
      }
      return false;
    }
    const flags = d.flags, seq = d.seq, ack = d.ack, sec = pv.sec, nsec = pv.nsec;
    const nowMs = sec * 1000 + Math.floor(nsec / 1_000_000);
    const side = fromA ? 1 : 2;
    const synOnly = (flags & (SYN | ACK)) === SYN;
    const synAck = (flags & (SYN | ACK)) === (SYN | ACK);
    if (this.verdict === Verdict.NONE) {
      if (synAck) {
        // captured before the SYN it answers (the capture point saw the packets out of order)
        this.earlySynAckSide = side;
        this.synAckIsn = seq;
        return false;
      }
      if (!synOnly) return false; // picked up mid-stream: no verdict
      this.verdict = Verdict.PENDING;
      this.synSide = side;
      this.synSec = sec;
      this.synNsec = nsec;
      this.synMs = nowMs;
      this.isn = seq;
      if (this.earlySynAckSide !== 0 && this.earlySynAckSide !== side) this.synAckSeen = true;
      return false;
    }
    const fromSyner = side === this.synSide;
    if (synOnly && fromSyner) {
      this.dupSyn++;
      return false;
    }
    if (synAck && !fromSyner) {
      if (this.synAckSeen) this.dupSynAck++;
      else {
        this.synAckSeen = true;
        this.synAckIsn = seq;
      }
      return false;
    }
    if (this.verdict !== Verdict.PENDING) return false;
    const late = nowMs - this.synMs > timeoutMs;
    if (flags & RST) {
      // the SYN's receiver refused it, or its sender gave up
      return this.decide(late ? Verdict.TIMEOUT : fromSyner ? Verdict.ABORT : Verdict.REJECT, sec, nsec);
    }
    if (fromSyner && flags & ACK && !(flags & (SYN | RST)) && this.synAckSeen && ack === ((this.synAckIsn + 1) >>> 0)) {
      if (late) return this.decide(Verdict.TIMEOUT, sec, nsec);
      this.handshakeNs = (sec - this.synSec) * 1e9 + (nsec - this.synNsec);
      return this.decide(Verdict.SUCCESS, sec, nsec);
    }
    return false;
  }

  /** An ICMP destination-unreachable quoting this connection. */
  onIcmpUnreach(type: number, code: number, sec: number, nsec: number): boolean {
    if (this.verdict !== Verdict.PENDING || this.synAckSeen) return false;
    this.icmpType = type;
    this.icmpCode = code;
    return this.decide(Verdict.UNREACH, sec, nsec);
  }

  /** Capture time advanced: a pending handshake past the timeout becomes a timeout. */
  checkTimeout(nowMs: number, timeoutMs: number): boolean {
    if (this.verdict !== Verdict.PENDING || nowMs - this.synMs <= timeoutMs) return false;
    const t = this.synMs + timeoutMs;
    return this.decide(Verdict.TIMEOUT, Math.floor(t / 1000), (t % 1000) * 1e6);
  }

  /** End of the connection's record: whatever is still pending timed out. */
  finish(lastSec: number, lastNsec: number): boolean {
    if (this.verdict !== Verdict.PENDING) return false;
    return this.decide(Verdict.TIMEOUT, lastSec, lastNsec);
  }

  private decide(v: number, sec: number, nsec: number): boolean {
    this.verdict = v;
    this.decidedSec = sec;
    this.decidedNsec = nsec;
    return true;
  }

  get name(): string {
    return VERDICT_NAMES[this.verdict]!;
  }

  fill(r: RecordValues): void {
    r['handshake'] = this.name;
    r['connect_ms'] = this.handshakeNs >= 0 ? Number((this.handshakeNs / 1e6).toFixed(6)) : null;
    r['dup_syn'] = this.synSide ? this.dupSyn : null;
    r['dup_synack'] = this.synSide ? this.dupSynAck : null;
  }
}
