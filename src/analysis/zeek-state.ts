/**
 * Zeek's view of a connection: the `history` string and the endpoint states
 * behind `conn_state` (the code itself comes from the pure connState() in
 * conn-state.ts).
 *
 * This re-implements, packet by packet and in capture order, what Zeek's TCP
 * analyzer does (zeek/zeek: packet_analysis/protocol/tcp/TCPSessionAdapter.cc
 * Process() and UpdateStateMachine(), analyzer/protocol/tcp/TCP_Endpoint.cc,
 * TCP_Reassembler.cc and Reassem.cc for content gaps, Conn.cc / Session.h for
 * CheckHistory, ScaledHistoryEntry and FlipRoles), with its own per-endpoint
 * sequence tracking: start/last/ack sequence numbers with 32-bit wrap counts,
 * the relative sequence numbers the history's repetition rules compare, and
 * a model of the reassembler (delivered-up-to point, blocks above holes,
 * trim point) that turns ACKs of never-seen data into content gaps (`g`,
 * missed bytes). Zeek decides its own originator (first packet's sender,
 * flipped by likely_server_ports, by a SYN/SYN-ACK reversal, or when a
 * connection that began with a SYN-ACK goes on with an ACK or data); every
 * flip adds `^`. tcpkit's originator (SYN, SYN/ACK, ports) is applied only in
 * fill(). See docs/zeek-state.md for what matches Zeek and what does not.
 *
 * Hot path: onTcp() allocates nothing; history letters are kept as character
 * codes in a small buffer and become a string in fill().
 */
import type { Decoded } from '../decode/decoded.js';
import { FIN, SYN, RST, ACK, IPPROTO_TCP, IPPROTO_UDP } from '../decode/decoded.js';
import type { RecordValues } from '../records/schema.js';
import { seqDiff } from '../tcp/seq.js';
import { connState, TcpState, UdpState } from './conn-state.js';

const TWO32 = 4294967296;
/** Relative sequence numbers below Zeek's start sequence wrap to huge unsigned 64-bit values in Zeek; here they sit at HUGE + delta (exact in a double). */
const HUGE = 2 ** 52;
const TOO_LARGE_SEQ_DELTA = 1048576;
/** init-bare.zeek defaults. */
const TCP_MAX_INITIAL_WINDOW = 16384;
const TCP_MAX_ABOVE_HOLE_WITHOUT_ANY_ACKS = 16384;
const TCP_EXCESSIVE_DATA_WITHOUT_FURTHER_ACKS = 10 * 1024 * 1024;

/** History masks (TCP_Endpoint.h HistoryMasks); the responder's are shifted left 16 bits. */
const H_SYN = 0x1, H_FIN = 0x2, H_RST = 0x4, H_FIN_RST = 0x8, H_DATA = 0x10, H_ACK = 0x20, H_MULTI = 0x40;

/** Upper-case history letters as character codes; lower case is code | 0x20. */
const C_S = 83, C_H = 72, C_A = 65, C_D = 68, C_F = 70, C_R = 82, C_I = 73, C_Q = 81, C_T = 84, C_W = 87, C_G = 71, C_FLIP = 94;

/** Logarithmic counters per endpoint (ScaledHistoryEntry): which one. */
const K_RXMT = 0, K_WIN0 = 1, K_GAP = 2;
const K_CODE = [C_T, C_W, C_G];

/** first_packet_seen bits (TCPSessionAdapter). */
const FPS_ORIG = 1, FPS_RESP = 2;

/** Longest history kept (Zeek has no limit; a pathological flow stops adding letters here). */
const MAX_HISTORY = 4096;
/** Most separate intervals of held data per direction (more holes than this: the direction's gaps are no longer tracked). */
const MAX_BLOCKS = 1024;

/** Zeek's seq_delta(a, b): a - b as a signed 32-bit number. */
const seqDelta = (a: number, b: number): number => seqDiff(b, a);

/**
 * Ports in Zeek's likely_server_ports with the default scripts (`zeek -r`,
 * base/protocols/* add the ports their analyzers register). Zeek flips a new
 * connection whose first packet comes from one of these ports (TCP: unless it
 * is a SYN) toward another port.
 */
const LIKELY_TCP = new Set([
  21, 2811, 22, 25, 587, 53, 80, 81, 631, 1080, 3128, 8000, 8080, 8888, 88, 110, 135, 139, 445, 143, 389, 3268, 443, 563, 585,
  614, 636, 989, 990, 992, 993, 995, 5223, 502, 1883, 3306, 3389, 5222, 5269, 5432, 5900, 6379, 6666, 6667, 6668, 6669, 20000,
]);
const LIKELY_UDP = new Set([53, 137, 5353, 5355, 67, 68, 88, 123, 161, 162, 389, 443, 514, 1812, 5060, 20000]);

/** Zeek's connection-creation flip (WantConnection): is the first packet's source more likely the server? */
function creationFlip(likely: Set<number>, tcpSynOnly: boolean, isSynAck: boolean, sport: number, dport: number): boolean {
  if (tcpSynOnly) return false;
  if (!likely.has(sport)) return false;
  // both plausible: flip only if not a SYN-ACK and the destination port is the higher one
  if (likely.has(dport)) return !isSynAck && sport < dport;
  return true;
}

/** One direction of a TCP connection, as Zeek's TCP_Endpoint plus its TCP_Reassembler. */
class Endpoint {
  // -0 marks fields that hold doubles (see Half in src/tcp/conn.ts).
  isOrig = true;
  peer!: Endpoint;
  state: number = TcpState.INACTIVE;
  prevState: number = TcpState.INACTIVE;
  startSeq = -0;
  lastSeq = -0;
  ackSeq = -0;
  seqWraps = 0;
  ackWraps = 0;
  finCnt = 0;
  rstCnt = 0;
  finSeq = 0;
  histLastSyn = 0;
  histLastFin = 0;
  histLastRst = 0;
  /** ScaledHistoryEntry counters and thresholds: retransmissions, zero windows, gaps. */
  rxmtCnt = 0;
  rxmtThr = -0;
  win0Cnt = 0;
  win0Thr = 1;
  gapCnt = 0;
  gapThr = 1;
  // ---- reassembler (relative sequence space, starts at 1)
  lastReassem = -0;
  trimSeq = -0;
  skip = false;
  /**
   * Data held as sorted, merged [seq, upper) intervals (delivered but not yet
   * acked, or above a hole): the first in s0/u0, further ones in `more`
   * (allocated only when a hole splits the data).
   */
  nBlocks = 0;
  s0 = -0;
  u0 = -0;
  more: Float64Array | null = null;

  constructor() {
    this.rxmtThr = 1;
    this.lastReassem = 1;
    this.trimSeq = 1;
  }

  reset(): void {
    if (this.more !== null && this.more.length > 8) this.more = null;
    this.isOrig = true;
    this.state = TcpState.INACTIVE;
    this.prevState = TcpState.INACTIVE;
    this.startSeq = this.lastSeq = this.ackSeq = 0;
    this.seqWraps = this.ackWraps = 0;
    this.finCnt = this.rstCnt = 0;
    this.finSeq = 0;
    this.histLastSyn = this.histLastFin = this.histLastRst = 0;
    this.rxmtCnt = this.win0Cnt = this.gapCnt = 0;
    this.rxmtThr = this.win0Thr = this.gapThr = 1;
    this.lastReassem = 1;
    this.trimSeq = 1;
    this.skip = false;
    this.nBlocks = 0;
  }

  setState(s: number): void {
    if (s !== this.state) {
      this.prevState = this.state;
      this.state = s;
    }
  }

  updateLastSeq(seq: number): void {
    if (seq < this.lastSeq) this.seqWraps++;
    this.lastSeq = seq;
  }

  updateAckSeq(seq: number): void {
    if (seq < this.ackSeq) this.ackWraps++;
    this.ackSeq = seq;
  }

  /** None of this endpoint's data has been acknowledged (one octet allowed for the SYN). */
  noDataAcked(): boolean {
    return this.ackSeq === this.startSeq || this.ackSeq === ((this.startSeq + 1) >>> 0);
  }

  /** ToRelativeSeqSpace: full 64-bit sequence minus the start (HUGE-based when below it). */
  relFull(seq: number, wraps: number): number {
    const v = wraps * TWO32 + seq - this.startSeq;
    return v < 0 ? HUGE + v : v;
  }

  /** Zeek's TCP_Endpoint::Size(): payload bytes by sequence numbers (used by REJ and orig/resp_bytes). */
  size(): number {
    if (this.prevState === TcpState.SYN_SENT && this.state === TcpState.RESET && this.peer.state === TcpState.INACTIVE && !this.noDataAcked()) return 0;
    const last = this.seqWraps * TWO32 + this.lastSeq;
    const ack = this.ackWraps * TWO32 + this.ackSeq;
    let size = (last > ack ? last : ack) - this.startSeq;
    if (size < 0) size += 2 ** 64;
    if (size !== 0) size--;
    if (this.finCnt > 0 && size !== 0) size--;
    return size;
  }

  // ---- block list

  blockS(i: number): number {
    return i === 0 ? this.s0 : this.more![2 * i - 2]!;
  }

  blockU(i: number): number {
    return i === 0 ? this.u0 : this.more![2 * i - 1]!;
  }

  private setBlock(i: number, s: number, u: number): void {
    if (i === 0) {
      this.s0 = s;
      this.u0 = u;
      return;
    }
    let m = this.more;
    if (m === null || 2 * i > m.length) {
      const nm = new Float64Array(Math.max(8, (m?.length ?? 0) * 2));
      if (m) nm.set(m);
      this.more = m = nm;
    }
    m[2 * i - 2] = s;
    m[2 * i - 1] = u;
  }

  blockBytes(): number {
    let s = 0;
    for (let i = 0; i < this.nBlocks; i++) s += this.blockU(i) - this.blockS(i);
    return s;
  }

  /** Adds [seq, upper), merging with the intervals it overlaps or touches; false when there are too many intervals. */
  insertBlock(seq: number, upper: number): boolean {
    const n = this.nBlocks;
    let i = 0;
    while (i < n && this.blockU(i) < seq) i++;
    let j = i;
    while (j < n && this.blockS(j) <= upper) j++;
    if (j > i) {
      this.setBlock(i, Math.min(seq, this.blockS(i)), Math.max(upper, this.blockU(j - 1)));
      const removed = j - i - 1;
      if (removed > 0) {
        for (let k = i + 1; k + removed < n; k++) this.setBlock(k, this.blockS(k + removed), this.blockU(k + removed));
        this.nBlocks = n - removed;
      }
      return true;
    }
    if (n >= MAX_BLOCKS) return false;
    for (let k = n; k > i; k--) this.setBlock(k, this.blockS(k - 1), this.blockU(k - 1));
    this.setBlock(i, seq, upper);
    this.nBlocks = n + 1;
    return true;
  }

  /** Drops the intervals that end at or before seq. */
  dropBlocksTo(seq: number): void {
    const n = this.nBlocks;
    let k = 0;
    while (k < n && this.blockU(k) <= seq) k++;
    if (k === 0) return;
    for (let i = 0; i + k < n; i++) this.setBlock(i, this.blockS(i + k), this.blockU(i + k));
    this.nBlocks = n - k;
  }
}

export class ZeekState {
  private readonly a = new Endpoint();
  private readonly b = new Endpoint();
  /** Zeek's originator is endpoint A (the first packet's sender) unless Zeek flipped the roles. */
  private zOrigIsA = true;
  private started = false;
  /** Zeek's Connection::hist_seen: once-per-direction letters seen, responder bits << 16. */
  private histSeen = 0;
  /** History letters (character codes), 4 per field in 7 bits each, the 25th on in `histMore`. */
  private h0 = 0;
  private h1 = 0;
  private h2 = 0;
  private h3 = 0;
  private h4 = 0;
  private h5 = 0;
  private histLen = 0;
  private histMore: Uint8Array | null = null;
  private isPartial = false;
  private firstPacketSeen = 0;
  /** Bytes in content gaps Zeek would report (content_gap events: conn.log missed_bytes). */
  private missed = 0;
  /** UDP/ICMP: packets seen from A and from B. */
  private otherA = 0;
  private otherB = 0;
  /** Set while the roles tcpkit chose and Zeek's differ at fill() (for tests and docs). */
  rolesDiffer = false;

  constructor() {
    this.a.peer = this.b;
    this.b.peer = this.a;
    this.reset();
  }

  reset(): void {
    this.a.reset();
    this.b.reset();
    this.b.isOrig = false;
    this.zOrigIsA = true;
    this.started = false;
    this.histSeen = 0;
    this.h0 = this.h1 = this.h2 = this.h3 = this.h4 = this.h5 = 0;
    this.histLen = 0;
    // a pooled flow must not keep a long flow's buffer: memory stays bounded by open flows
    if (this.histMore !== null && this.histMore.length > 32) this.histMore = null;
    this.isPartial = false;
    this.firstPacketSeen = 0;
    this.missed = 0;
    this.otherA = 0;
    this.otherB = 0;
    this.rolesDiffer = false;
  }

  /** Zeek's missed_bytes: the content gaps Zeek reports, both directions. */
  get missedBytes(): number {
    return this.missed;
  }

  /** Zeek's endpoint size (conn.log orig_bytes/resp_bytes) of endpoint A or B, TCP only. */
  endpointSize(ofA: boolean): number {
    return (ofA ? this.a : this.b).size();
  }

  /** Zeek's originator is endpoint A (TCP: after any flips so far). */
  get zeekOrigIsA(): boolean {
    return this.zOrigIsA;
  }

  /** The history as Zeek would log it (relative to Zeek's originator). */
  zeekHistory(): string {
    let s = '';
    for (let i = 0; i < this.histLen; i++) s += String.fromCharCode(this.getH(i));
    return s;
  }

  // ---- history

  private getH(i: number): number {
    if (i >= 24) return this.histMore![i - 24]!;
    const sh = 7 * (i & 3);
    switch (i >> 2) {
      case 0: return (this.h0 >> sh) & 127;
      case 1: return (this.h1 >> sh) & 127;
      case 2: return (this.h2 >> sh) & 127;
      case 3: return (this.h3 >> sh) & 127;
      case 4: return (this.h4 >> sh) & 127;
      default: return (this.h5 >> sh) & 127;
    }
  }

  private setH(i: number, c: number): void {
    if (i >= 24) {
      let m = this.histMore;
      if (m === null || i - 24 >= m.length) {
        const nm = new Uint8Array(Math.min(MAX_HISTORY, Math.max(32, (m?.length ?? 0) * 2)));
        if (m) nm.set(m);
        this.histMore = m = nm;
      }
      m[i - 24] = c;
      return;
    }
    const sh = 7 * (i & 3);
    const keep = ~(127 << sh);
    const v = c << sh;
    switch (i >> 2) {
      case 0: this.h0 = (this.h0 & keep) | v; break;
      case 1: this.h1 = (this.h1 & keep) | v; break;
      case 2: this.h2 = (this.h2 & keep) | v; break;
      case 3: this.h3 = (this.h3 & keep) | v; break;
      case 4: this.h4 = (this.h4 & keep) | v; break;
      default: this.h5 = (this.h5 & keep) | v; break;
    }
  }

  private addHistory(code: number): void {
    if (this.histLen < MAX_HISTORY) this.setH(this.histLen++, code);
  }

  /** Conn::CheckHistory via TCP_Endpoint: adds the letter once per direction; true if it was already seen. */
  private checkHistory(ep: Endpoint, mask: number, code: number): boolean {
    if (!ep.isOrig) {
      mask <<= 16;
      code |= 0x20;
    }
    if ((this.histSeen & mask) === 0) {
      this.histSeen |= mask;
      this.addHistory(code);
      return false;
    }
    return true;
  }

  private addEpHistory(ep: Endpoint, code: number): void {
    this.addHistory(ep.isOrig ? code : code | 0x20);
  }

  /** Connection::ScaledHistoryEntry: the letter at the 1st, 10th, 100th ... instance. */
  private scaled(ep: Endpoint, k: number): void {
    let c: number, t: number;
    if (k === K_RXMT) {
      c = ++ep.rxmtCnt;
      t = ep.rxmtThr;
    } else if (k === K_WIN0) {
      c = ++ep.win0Cnt;
      t = ep.win0Thr;
    } else {
      c = ++ep.gapCnt;
      t = ep.gapThr;
    }
    if (c !== t) return;
    this.addEpHistory(ep, K_CODE[k]!);
    // 32-bit thresholds: on wrap-around Zeek restarts the count instead
    const nt = (t * 10) % TWO32;
    const wrapped = nt <= t;
    if (k === K_RXMT) {
      if (wrapped) ep.rxmtCnt = 0;
      else ep.rxmtThr = nt;
    } else if (k === K_WIN0) {
      if (wrapped) ep.win0Cnt = 0;
      else ep.win0Thr = nt;
    } else if (wrapped) ep.gapCnt = 0;
    else ep.gapThr = nt;
  }

  // ---- roles

  private origEp(): Endpoint {
    return this.zOrigIsA ? this.a : this.b;
  }

  /**
   * TCPSessionAdapter::FlipRoles + Connection::FlipRoles: swap originator and
   * responder, then add `^`. With `rewrite` (the connection began with a
   * SYN-ACK and goes on with an ACK or data), the letters already recorded are
   * re-cased to the new roles and `^` goes in front, as Zeek logs such
   * connections (`^h...`).
   */
  private flipRoles(rewrite: boolean): void {
    this.zOrigIsA = !this.zOrigIsA;
    this.a.isOrig = !this.a.isOrig;
    this.b.isOrig = !this.b.isOrig;
    const f = this.firstPacketSeen;
    this.firstPacketSeen = (f & FPS_ORIG ? FPS_RESP : 0) | (f & FPS_RESP ? FPS_ORIG : 0);
    this.isPartial = false;
    if (!rewrite) {
      this.addHistory(C_FLIP);
      return;
    }
    this.histSeen = ((this.histSeen >>> 16) | (this.histSeen << 16)) >>> 0;
    this.firstPacketSeen |= FPS_ORIG;
    const n = this.histLen;
    for (let i = 0; i < n; i++) {
      const c = this.getH(i);
      if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) this.setH(i, c ^ 0x20);
    }
    if (n >= MAX_HISTORY) return;
    for (let i = n; i > 0; i--) this.setH(i, this.getH(i - 1));
    this.setH(0, C_FLIP);
    this.histLen = n + 1;
  }

  // ---- per packet

  /**
   * One TCP segment from endpoint A (`fromA`) or B, in capture order.
   * `_seqFlags`/`_gapBytes` (tshark's analysis) are not used: Zeek's
   * retransmissions and gaps follow its own sequence tracking, kept here.
   */
  onTcp(fromA: boolean, d: Decoded, _seqFlags: number, _gapBytes: number): void {
    const flags = d.flags;
    const len = d.payloadLen;
    const syn = (flags & SYN) !== 0, fin = (flags & FIN) !== 0, rst = (flags & RST) !== 0, ack = (flags & ACK) !== 0;
    if (!this.started) {
      this.started = true;
      // the first packet comes from A; Zeek's WantConnection may flip at creation
      const broadcast = d.ipVersion === 4 && d.da0 === -1; // 255.255.255.255 (addresses are int32 words)
      if (!broadcast && creationFlip(LIKELY_TCP, syn && !ack, syn && ack, d.sport, d.dport)) {
        this.zOrigIsA = false;
        this.a.isOrig = false;
        this.b.isOrig = true;
        this.addHistory(C_FLIP);
      }
    }
    const ep = fromA ? this.a : this.b;
    const peer = ep.peer;
    // A connection that began with a SYN-ACK (its sender became the
    // originator) followed by an ACK or data in either direction: the SYN-ACK
    // sender was the responder after all (zeek PR #2191).
    {
      const o = this.origEp();
      if (o.state === TcpState.SYN_ACK_SENT && o.peer.state === TcpState.INACTIVE && !syn && !fin && !rst && (ack || len > 0)) this.flipRoles(true);
    }
    const isOrig = ep.isOrig;

    // SetPartialStatus
    if (isOrig) {
      if (!(this.firstPacketSeen & FPS_ORIG)) this.isPartial = !syn || ack;
    } else if (!(this.firstPacketSeen & FPS_RESP) && !this.isPartial) this.isPartial = !syn;

    const baseSeq = d.seq;
    const ackSeq = d.ack;
    const segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0) - (rst ? len : 0);
    const seqOnePast = (baseSeq + segLen) >>> 0;

    // init_endpoint
    switch (ep.state) {
      case TcpState.INACTIVE: {
        let last = seqOnePast;
        if (syn) {
          ep.ackSeq = baseSeq;
          ep.startSeq = baseSeq;
        } else {
          // partial: number as though a SYN had been seen; the first packet is not a duplicate
          ep.ackSeq = (baseSeq - 1) >>> 0;
          ep.startSeq = (baseSeq - 1) >>> 0;
          last = baseSeq;
        }
        ep.lastSeq = last;
        break;
      }
      case TcpState.SYN_SENT:
      case TcpState.SYN_ACK_SENT:
        if (syn && baseSeq !== ep.startSeq) {
          ep.startSeq = baseSeq;
          ep.ackSeq = baseSeq;
          ep.lastSeq = seqOnePast;
        }
        break;
      case TcpState.ESTABLISHED:
      case TcpState.PARTIAL:
        if (syn) {
          ep.startSeq = baseSeq;
          ep.ackSeq = baseSeq;
          ep.lastSeq = seqOnePast;
        }
        break;
      case TcpState.RESET:
        if (syn && ep.prevState === TcpState.INACTIVE) {
          ep.startSeq = baseSeq;
          ep.ackSeq = baseSeq;
          ep.lastSeq = seqOnePast;
        }
        break;
    }

    const relSeq = this.relativeSeq(ep, baseSeq, ep.lastSeq, ep.seqWraps);
    const seqUnderflow = this.underflow;

    // update_history
    const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits > 1) {
      if (fin && rst) this.checkHistory(ep, H_FIN_RST, C_I);
      else this.checkHistory(ep, H_MULTI, C_Q);
    } else if (bits === 1) {
      if (syn) {
        const code = ack ? C_H : C_S;
        if (this.checkHistory(ep, H_SYN, code) && relSeq !== ep.histLastSyn) this.addEpHistory(ep, code);
        ep.histLastSyn = relSeq;
      }
      if (fin) {
        // a FIN's sequence number is the end of the data it carries
        if (this.checkHistory(ep, H_FIN, C_F) && relSeq + len !== ep.histLastFin) this.addEpHistory(ep, C_F);
        ep.histLastFin = relSeq + len;
      }
      if (rst) {
        if (this.checkHistory(ep, H_RST, C_R) && relSeq !== ep.histLastRst) this.addEpHistory(ep, C_R);
        ep.histLastRst = relSeq;
      }
    } else if (len > 0) this.checkHistory(ep, H_DATA, C_D);
    else if (ack) this.checkHistory(ep, H_ACK, C_A);

    // update_window: zero windows (scaling never turns a non-zero window into zero)
    if (d.window === 0 && !rst && peer.state !== TcpState.CLOSED && ep.state !== TcpState.RESET) this.scaled(ep, K_WIN0);

    if (fin) {
      ep.finCnt++;
      ep.finSeq = relSeq + segLen;
    }
    if (rst) ep.rstCnt++;

    let relAck = 0;
    if (ack) {
      if (peer.state === TcpState.INACTIVE) {
        relAck = 1;
        // init_peer: number the peer as though its SYN had been seen
        const s = (ackSeq - 1) >>> 0;
        peer.startSeq = s;
        peer.ackSeq = s;
        peer.lastSeq = s;
      } else {
        relAck = this.relativeSeq(peer, ackSeq, peer.ackSeq, peer.ackWraps);
        if (this.underflow) relAck = 0;
        else if (!rst) {
          // update_ack_seq
          const deltaAck = seqDelta(ackSeq, peer.ackSeq);
          if (!(ackSeq === 0 && deltaAck > TOO_LARGE_SEQ_DELTA) && deltaAck > 0) peer.updateAckSeq(ackSeq);
        }
      }
    }

    // update_last_seq
    const deltaLast = seqDelta(seqOnePast, ep.lastSeq);
    if ((syn || rst) && (deltaLast > TOO_LARGE_SEQ_DELTA || deltaLast < -TOO_LARGE_SEQ_DELTA)) {
      // untrusted
    } else if (fin && ep.lastSeq === ((ep.startSeq + 1) >>> 0)) ep.updateLastSeq(seqOnePast);
    else if (ep.state === TcpState.RESET) {
      // no later sequence numbers are trusted
    } else if (deltaLast > 0) ep.updateLastSeq(seqOnePast);
    else if (len > 0) this.scaled(ep, K_RXMT);

    // as int32: a sequence number of 2^31 or more passed to a call that is not inlined is boxed (a heap allocation per packet)
    this.updateStateMachine(ep, peer, baseSeq | 0, len, isOrig, flags);

    // acks are applied after the state machine, so gaps revealed at the very end are judged with the final states
    if (ack) this.ackReceived(peer, relAck);

    // CheckPIA_FirstPacket
    if (ep.isOrig) this.firstPacketSeen |= FPS_ORIG;
    else this.firstPacketSeen |= FPS_RESP;

    // DataSent: payload cut by the snaplen is not delivered (so an ACK for it makes a gap)
    if (len > 0 && d.payloadCap >= len && !rst && !seqUnderflow) this.dataSent(ep, syn ? relSeq + 1 : relSeq, len);
  }

  /** Set by relativeSeq(). */
  private underflow = false;

  /** get_relative_seq: seq relative to the endpoint's start, tracking 32-bit wraps; HUGE-based below the start (sets `underflow`). */
  private relativeSeq(ep: Endpoint, cur: number, last: number, wraps: number): number {
    this.underflow = false;
    const delta = seqDelta(cur, last);
    if (delta < 0) {
      if (wraps && cur > last) wraps--;
    } else if (delta > 0) {
      if (cur < last) wraps++;
    }
    if (wraps === 0) {
      const dd = seqDelta(cur, ep.startSeq);
      if (dd < 0) {
        this.underflow = true;
        return HUGE + dd;
      }
      return dd;
    }
    return ep.relFull(cur, wraps);
  }

  /** `baseSeq32` is the segment's sequence number as an int32 (`seq | 0`). */
  private updateStateMachine(ep: Endpoint, peer: Endpoint, baseSeq32: number, len: number, isOrig: boolean, flags: number): void {
    const syn = (flags & SYN) !== 0, fin = (flags & FIN) !== 0, rst = (flags & RST) !== 0, ack = (flags & ACK) !== 0;
    switch (ep.state) {
      case TcpState.INACTIVE:
        if (syn) {
          if (isOrig) ep.setState(ack ? TcpState.SYN_ACK_SENT : TcpState.SYN_SENT);
          else {
            if (!ack && peer.state === TcpState.SYN_ACK_SENT && baseSeq32 === (ep.startSeq | 0)) {
              // SYN and SYN-ACK captured the wrong way round: flip and establish
              this.isPartial = false;
              this.flipRoles(false);
              peer.setState(TcpState.ESTABLISHED);
              this.firstPacketSeen |= FPS_ORIG;
            }
            if (peer.state === TcpState.SYN_SENT) peer.setState(TcpState.ESTABLISHED);
            ep.setState(TcpState.ESTABLISHED);
          }
        }
        if (fin) ep.setState(TcpState.CLOSED);
        if (rst) ep.setState(TcpState.RESET);
        if (ep.state === TcpState.INACTIVE) {
          if (!isOrig && len === 0 && this.origEp().state === TcpState.SYN_SENT) {
            // an ACK of the SYN before the SYN-ACK does not make a partial connection
          } else if (ack && peer.state === TcpState.ESTABLISHED) {
            // SYN-ACK seen, SYN missed, now the handshake's ACK: established
            ep.setState(TcpState.ESTABLISHED);
            this.isPartial = false;
            this.firstPacketSeen |= isOrig ? FPS_ORIG : FPS_RESP;
          } else ep.setState(TcpState.PARTIAL);
        }
        break;
      case TcpState.SYN_SENT:
      case TcpState.SYN_ACK_SENT:
        if (fin) ep.setState(TcpState.CLOSED);
        if (rst) ep.setState(TcpState.RESET);
        break;
      case TcpState.ESTABLISHED:
      case TcpState.PARTIAL:
        if (syn && ep.state === TcpState.PARTIAL && peer.state === TcpState.INACTIVE && !ack) ep.setState(TcpState.SYN_SENT);
        if (fin && !rst) {
          ep.setState(TcpState.CLOSED);
          // the peer's FIN then RST was a normal close after all
          if (peer.state === TcpState.RESET && peer.prevState === TcpState.CLOSED) peer.setState(TcpState.CLOSED);
        }
        if (rst) ep.setState(TcpState.RESET);
        break;
      case TcpState.CLOSED:
        // after a FIN exchange a RST does not change the state
        if (rst && peer.state !== TcpState.CLOSED) ep.setState(TcpState.RESET);
        break;
      case TcpState.RESET:
        break;
    }
  }

  // ---- reassembly model (content gaps)

  private static cleanState(e: Endpoint): boolean {
    return e.state === TcpState.ESTABLISHED || (e.state === TcpState.CLOSED && e.prevState === TcpState.ESTABLISHED);
  }

  /** TCP_Reassembler::Gap: `g` and missed bytes only while both sides are established or cleanly closing. */
  private gap(ep: Endpoint, len: number): void {
    if (ZeekState.cleanState(ep) && ZeekState.cleanState(ep.peer)) {
      this.scaled(ep, K_GAP);
      this.missed += len;
    }
  }

  /** Delivers what is contiguous at lastReassem (Reassembler::BlockInserted). */
  private blockInserted(ep: Endpoint): void {
    const last = ep.lastReassem;
    for (let i = 0; i < ep.nBlocks; i++) {
      const s = ep.blockS(i), u = ep.blockU(i);
      if (s > last) return;
      if (u > last) {
        ep.lastReassem = u;
        // lots sent and nothing acked: the peer's acks are probably not visible, do not hold the data
        if (ep.noDataAcked() && ep.size() > TCP_MAX_INITIAL_WINDOW) this.trimToSeq(ep, u);
        return;
      }
    }
  }

  /** TCP_Reassembler::Undelivered: data up to `upTo` will never come; report the holes as gaps. */
  private undelivered(ep: Endpoint, upTo: number): void {
    // a partial connection's faked initial sequence: not a real gap
    if (upTo <= 2 && this.isPartial) return;
    if (!ep.skip) {
      let i = 0;
      while (i < ep.nBlocks) {
        const s = ep.blockS(i);
        if (s < ep.lastReassem) {
          i++;
          continue;
        }
        if (s >= upTo) break;
        const gapLen = s - ep.lastReassem;
        this.gap(ep, gapLen);
        ep.lastReassem += gapLen;
        this.blockInserted(ep);
        i = 0;
      }
      if (upTo > ep.lastReassem) this.gap(ep, upTo - ep.lastReassem);
    }
    if (upTo > ep.lastReassem) ep.lastReassem = upTo;
  }

  /** DataBlockList::Trim via Reassembler::TrimToSeq. */
  private trimToSeq(ep: Endpoint, seq: number): void {
    if (seq > ep.lastReassem) this.undelivered(ep, seq);
    ep.dropBlocksTo(seq);
    if (ep.nBlocks > 0 && ep.s0 === ep.lastReassem) this.blockInserted(ep);
    ep.trimSeq = seq;
  }

  /** TCP_Reassembler::AckReceived on the endpoint whose data was acked. */
  private ackReceived(ep: Endpoint, seq: number): void {
    if (ep.finCnt > 0 && seq >= ep.finSeq) seq = ep.finSeq - 1;
    if (seq <= ep.trimSeq) return;
    this.trimToSeq(ep, seq);
  }

  /** TCP_Reassembler::DataSent + Reassembler::NewBlock. */
  private dataSent(ep: Endpoint, seq: number, len: number): void {
    if (ep.skip) return;
    const ackRel = ep.relFull(ep.ackSeq, ep.ackWraps);
    const upper = seq + len;
    if (seq < ackRel) {
      if (upper <= ackRel) return; // delivered and acked already
      seq = ackRel;
    }
    if (upper > ep.trimSeq) {
      if (seq < ep.trimSeq) seq = ep.trimSeq;
      if (!ep.insertBlock(seq, upper)) {
        // too many holes to keep track of: give up on this direction as Zeek does on excessive data
        ep.nBlocks = 0;
        ep.skip = true;
        return;
      }
      this.blockInserted(ep);
    }
    const undeliveredBytes = ep.nBlocks > 0 ? ep.blockU(ep.nBlocks - 1) - ep.lastReassem : 0;
    if ((ep.noDataAcked() && undeliveredBytes > TCP_MAX_ABOVE_HOLE_WITHOUT_ANY_ACKS) || ep.blockBytes() > TCP_EXCESSIVE_DATA_WITHOUT_FURTHER_ACKS) {
      ep.nBlocks = 0;
      ep.skip = true;
    }
  }

  /** A UDP or ICMP packet from A or B with `payloadLen` bytes. */
  onOther(fromA: boolean, _payloadLen: number): void {
    this.started = true;
    if (fromA) this.otherA++;
    else this.otherB++;
  }

  /**
   * The roles were flipped after packets were seen (tcpkit's originator
   * changed). Nothing to do: Zeek's own roles are tracked above, and
   * fill() maps them to the record's.
   */
  onFlip(): void {}

  /**
   * Writes conn_state and history; `origIsA` maps A/B to orig/resp; `proto`
   * is tcp/udp/icmp. When tcpkit's originator is Zeek's responder
   * (`rolesDiffer`), both are given from the record's point of view: the
   * history with upper and lower case swapped, conn_state from the mirrored
   * endpoint states (what Zeek logs for the same flow the other way round).
   */
  fill(r: RecordValues, origIsA: boolean, proto: number): void {
    let state: string | null = null;
    let history = '';
    this.rolesDiffer = false;
    if (proto === IPPROTO_TCP) {
      if (this.started) {
        this.rolesDiffer = this.zOrigIsA !== origIsA;
        const o = origIsA ? this.a : this.b;
        history = this.zeekHistory();
        if (this.rolesDiffer) history = swapCase(history);
        state = connState(IPPROTO_TCP, o.state, o.peer.state, o.size(), o.peer.size(), history);
      }
    } else if (proto === IPPROTO_UDP) {
      // Zeek flips a UDP flow at creation when its first packet comes from a likely server port
      const aSport = Number(origIsA ? r['orig_p'] : r['resp_p']);
      const aDport = Number(origIsA ? r['resp_p'] : r['orig_p']);
      const aDst = origIsA ? r['resp_h'] : r['orig_h'];
      const flip = aDst !== '255.255.255.255' && LIKELY_UDP.has(aSport) && !LIKELY_UDP.has(aDport);
      this.zOrigIsA = !flip;
      this.rolesDiffer = this.zOrigIsA !== origIsA;
      // 'D'/'d' once per direction, in the order first seen (A sent the first packet)
      history = (flip ? '^d' : 'D') + (this.otherB > 0 ? (flip ? 'D' : 'd') : '');
      if (this.rolesDiffer) history = swapCase(history);
      const fromOrig = origIsA ? this.otherA : this.otherB;
      const fromResp = origIsA ? this.otherB : this.otherA;
      state = connState(IPPROTO_UDP, fromOrig > 0 ? UdpState.ACTIVE : UdpState.INACTIVE, fromResp > 0 ? UdpState.ACTIVE : UdpState.INACTIVE, 0, 0, '');
    } else {
      state = 'OTH';
    }
    r['conn_state'] = state;
    r['history'] = history === '' ? null : history;
  }
}

/** Upper case <-> lower case (the same letters seen from the other end). */
function swapCase(h: string): string {
  let s = '';
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    s += String.fromCharCode((c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? c ^ 0x20 : c);
  }
  return s;
}
