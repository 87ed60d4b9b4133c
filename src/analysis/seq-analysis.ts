/**
 * tshark's TCP sequence analysis (Wireshark epan/dissectors/packet-tcp.c,
 * tcp_analyze_sequence_number and friends, 4.0 behaviour): per-segment flags
 * with tshark's trigger rules and precedence, per-direction counts, ACK RTT
 * samples, bytes in flight, unique vs retransmitted bytes, missed bytes.
 *
 * The state mirrors tshark's per-flow `tcp_flow_t` / `tcp_analyze_seq_info`
 * (one `Dir` per direction, `fwd` = the sender of the current segment, `rev`
 * = its peer) and the rules run in tshark's order, with its `goto`s:
 *
 *   zero-window probe (ends the forward checks) | zero window | lost segment
 *   | keep-alive | window update | window full | keep-alive ACK (ends) |
 *   zero-window-probe ACK (ends) | duplicate ACK
 *   -> dup-ACK counter reset when the ACK moved -> ACKed unseen segment
 *   -> for data/SYN/FIN, not a keep-alive: spurious retransmission, else fast
 *      retransmission, else out-of-order, else retransmission
 *   -> unacked-segment list, next expected seq, max seq to be ACKed, last
 *      ACK/window -> the ACK removes acknowledged segments of the peer (ACK
 *      RTT from the oldest segment it acknowledges exactly) -> bytes in flight.
 *
 * Deliberate departures (see docs/tshark-differences.md):
 *  - tshark uses the value 0 of nextseq / lastack / maxseqtobeacked as
 *    "not known yet"; here "known" is a separate boolean, so a sequence number
 *    that happens to be 0 (after the 2^32 wrap) is an ordinary number.
 *  - tshark processes the ACK field of segments without the ACK bit (a SYN's
 *    ack field, usually 0, can "acknowledge" half the sequence space); here
 *    only segments with ACK set acknowledge anything.
 *  - the ack field of a segment without the ACK bit is compared only with
 *    another such field (tshark compares raw fields, so a SYN's ack=0 can
 *    "equal" an ACK of 0 after the wrap, or count as the peer's last ACK in
 *    the spurious-retransmission and window-full tests).
 *  - every sequence comparison is wrap-safe.
 * With these, the analysis depends only on sequence-number differences: it
 * does not change when every sequence number of a direction is shifted
 * (test/analysis.seq-wrap.test.ts).
 *
 * Hot path: no allocation per packet. Each direction keeps its unacked
 * segments in typed arrays that grow by doubling up to UNACKED_CAP (tshark's
 * TCP_MAX_UNACKED_SEGMENTS); segments past the cap are not listed (as tshark)
 * and counted in `unackedOverflows`.
 */
import type { Decoded } from '../decode/decoded.js';
import type { RecordValues } from '../records/schema.js';
import { seqLt, seqLte } from '../tcp/seq.js';
import type { BudgetAccount } from '../util/memory-budget.js';

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

const FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10;

const F_RETX = Flag.RETRANSMISSION;
const F_FAST = Flag.FAST_RETRANSMISSION;
const F_SPUR = Flag.SPURIOUS_RETRANSMISSION;
const F_OOO = Flag.OUT_OF_ORDER;
const F_LOST = Flag.LOST_SEGMENT;
const F_ACKLOST = Flag.ACK_LOST_SEGMENT;
const F_DUP = Flag.DUPLICATE_ACK;
const F_ZW = Flag.ZERO_WINDOW;
const F_ZWP = Flag.ZERO_WINDOW_PROBE;
const F_ZWPACK = Flag.ZERO_WINDOW_PROBE_ACK;
const F_WFULL = Flag.WINDOW_FULL;
const F_WUPD = Flag.WINDOW_UPDATE;
const F_KA = Flag.KEEP_ALIVE;
const F_KAACK = Flag.KEEP_ALIVE_ACK;
const F_REUSED = Flag.REUSED_PORTS;

/** tshark's TCP_MAX_UNACKED_SEGMENTS. */
export const UNACKED_CAP = 10000;
/** First ring size, in segments: most connections have a few unacked at a time (4 x 2 directions x 32 bytes per flow). */
const UNACKED_INITIAL = 4;
/** Ring capacity: the power of two that holds UNACKED_CAP entries. */
const UNACKED_RING = 16384;
/** Sequence holes tracked per direction for unique/missed bytes; older ones are written off as missed. */
export const HOLE_CAP = 32;
/** tshark: a fast retransmission comes within 20 ms of the last (duplicate) ACK. */
const FAST_RETX_NS = 20_000_000;
/** tshark: out-of-order threshold when the iRTT is not known. */
const OOO_DEFAULT_NS = 3_000_000;
/** tshark keeps window = G_MAXUINT32 until a segment was seen. */
const WINDOW_UNKNOWN = 0xffffffff;

/** An array of `n` numbers with double elements (V8 PACKED_DOUBLE_ELEMENTS). */
function doubles(n: number): number[] {
  return new Array<number>(n).fill(0.5).fill(0);
}

/** Per-direction state: tshark's tcp_flow_t plus tcpkit's counters. */
class Dir {
  // -0 marks fields that hold doubles (see Half in src/tcp/conn.ts).
  // Arguments of push/ack/cover/addRtt, passed through fields (see push).
  argA = 0.5;
  argB = 0.5;
  argT = 0.5;
  // ---- tshark flow state
  baseSet = false;
  base = -0;
  nextseqKnown = false;
  nextseq = -0;
  nextseqT = -0;
  maxAckedKnown = false;
  maxseqtobeacked = -0;
  /** ACK field of the last segment (every segment, as tshark) and whether that segment had the ACK bit. */
  lastack = -0;
  lastackIsAck = false;
  lastackT = -Infinity;
  window = WINDOW_UNKNOWN;
  /** -1 not known, -2 no scaling, else the shift. */
  winScale = -1;
  isFirstAck = false;
  validBif = true;
  dupacknum = 0;
  lastSegFlags = 0;
  /** Bytes covered by the SACK blocks of the last segment from this side (for the peer's bytes in flight). */
  sackCount = 0;
  sackBytes = 0;
  // ---- unacked segments: a ring of (seq, nextseq, time, retransmitted), oldest first, allocated on first use
  seg: number[] | null = null;
  head = 0;
  n = 0;
  /** The listed segments are in order without overlaps (then an ACK only touches a prefix). */
  sorted = true;
  /** Smallest listed seq (wrap-safe order), and the span relative to base for bytes in flight. */
  minSeq = -0;
  minRel = 0;
  maxRel = 0;
  unackedOverflows = 0;
  /** Set by ack(): time of the oldest segment the ACK matched exactly (-1 none) and whether it was retransmitted. */
  matchT = -0;
  matchRetx = false;
  // ---- tcpkit counters
  /** Flag counts, a plain array: a Float64Array of this size keeps its bytes off the heap at ~300 bytes of overhead. */
  readonly counts: number[] = new Array<number>(DIRECTION_FLAG_COUNT).fill(0);
  rttN = 0;
  rttMean = -0;
  rttM2 = -0;
  rttMin = -0;
  rttMax = -0;
  srtt = -0;
  rttvar = -0;
  maxBif = 0;
  uniqueBytes = -0;
  retransBytes = -0;
  // ---- coverage (unwrapped offsets from covBase) for unique / missed bytes
  covSet = false;
  covBase = -0;
  covEnd = -0;
  holes = 0;
  /** Hole bounds [lo0, hi0, lo1, hi1, ...], allocated on the first hole. */
  hole: number[] | null = null;
  holeOverflowBytes = 0;
  /** Highest offset the peer acknowledged in this direction's space (-1 none). */
  peerAckEnd = -0;
  /** Where ring growth past its first size is charged (a memory budget), and how much is. */
  private readonly account: BudgetAccount | null;
  private ringCharged = 0;

  constructor(account: BudgetAccount | null) {
    this.matchT = -1;
    this.peerAckEnd = -1;
    this.account = account;
  }

  reset(): void {
    // a pooled flow must not keep a long flow's ring: memory stays bounded by open flows
    if (this.seg !== null && this.seg.length > UNACKED_INITIAL * 4) this.seg = null;
    if (this.ringCharged > 0) {
      this.account!.release(this.ringCharged);
      this.ringCharged = 0;
    }
    this.resetFlow();
    this.minSeq = 0;
    this.minRel = 0;
    this.maxRel = 0;
    this.unackedOverflows = 0;
    this.counts.fill(0);
    this.rttN = 0;
    this.rttMean = 0;
    this.rttM2 = 0;
    this.rttMin = 0;
    this.rttMax = 0;
    this.srtt = 0;
    this.rttvar = 0;
    this.maxBif = 0;
    this.uniqueBytes = 0;
    this.retransBytes = 0;
    this.covSet = false;
    this.covBase = 0;
    this.covEnd = 0;
    this.holes = 0;
    this.holeOverflowBytes = 0;
    this.peerAckEnd = -1;
  }

  /** Forgets tshark's flow state (a new tshark conversation on the same 4-tuple), keeping the counters. */
  resetFlow(): void {
    this.baseSet = false;
    this.base = 0;
    this.nextseqKnown = false;
    this.nextseq = 0;
    this.nextseqT = 0;
    this.maxAckedKnown = false;
    this.maxseqtobeacked = 0;
    this.lastack = 0;
    this.lastackIsAck = false;
    this.lastackT = -Infinity;
    this.window = WINDOW_UNKNOWN;
    this.winScale = -1;
    this.isFirstAck = false;
    this.validBif = true;
    this.dupacknum = 0;
    this.lastSegFlags = 0;
    this.sackCount = 0;
    this.sackBytes = 0;
    this.head = 0;
    this.n = 0;
    this.sorted = true;
  }

  private grow(): void {
    // plain arrays of doubles: allocated on the JS heap, cheaper than typed arrays for many small rings
    const old = this.seg;
    if (old === null) {
      this.seg = doubles(UNACKED_INITIAL * 4);
      return;
    }
    const cap = old.length >> 2;
    const seg = doubles(Math.min(cap * 2, UNACKED_RING) * 4);
    if (this.account !== null) {
      // the first ring is part of a flow's estimated cost; growth beyond it is charged
      const extra = (seg.length - UNACKED_INITIAL * 4) * 8 - this.ringCharged;
      this.account.charge(extra);
      this.ringCharged += extra;
    }
    const mask = cap - 1;
    for (let i = 0; i < this.n; i++) {
      const o = ((this.head + i) & mask) << 2, w = i << 2;
      seg[w] = old[o]!;
      seg[w + 1] = old[o + 1]!;
      seg[w + 2] = old[o + 2]!;
      seg[w + 3] = old[o + 3]!;
    }
    this.seg = seg;
    this.head = 0;
  }

  /** Lists an unacked segment (tshark's ual), keeping the cached extremes. */
  /**
   * Appends the segment [argA, argB) sent at argT (set those fields first:
   * doubles passed as arguments to a call that is not inlined are boxed,
   * one heap allocation each, on every packet).
   */
  push(retx: boolean): void {
    const seq = this.argA, next = this.argB, t = this.argT;
    const n = this.n;
    if (this.seg === null || n << 2 === this.seg.length) this.grow();
    const seg = this.seg!;
    const mask = (seg.length >> 2) - 1;
    const base = this.base;
    const lo = (seq - base) >>> 0, hi = (next - base) >>> 0;
    if (n === 0) {
      this.sorted = true;
      this.minSeq = seq;
      this.minRel = lo;
      this.maxRel = hi;
    } else {
      const last = ((this.head + n - 1) & mask) << 2;
      const prevNext = seg[last + 1]!;
      if (this.sorted && !(seqLte(prevNext, seq) && lo >= ((prevNext - base) >>> 0))) this.sorted = false;
      if (seqLt(seq, this.minSeq)) this.minSeq = seq;
      if (lo < this.minRel) this.minRel = lo;
      if (hi > this.maxRel) this.maxRel = hi;
      if (retx) {
        // Karn: earlier copies of this data are ambiguous too
        for (let i = 0; i < n; i++) {
          const o = ((this.head + i) & mask) << 2;
          if (seqLt(seg[o]!, next) && seqLt(seq, seg[o + 1]!)) seg[o + 3] = 1;
        }
      }
    }
    const o = ((this.head + n) & mask) << 2;
    seg[o] = seq;
    seg[o + 1] = next;
    seg[o + 2] = t;
    seg[o + 3] = retx ? 1 : 0;
    this.n = n + 1;
  }

  /**
   * tshark's ACK pass over this side's unacked segments: a segment whose
   * nextseq equals the ACK is acknowledged exactly (the oldest such one gives
   * the ACK RTT) and removed, one the ACK falls inside is trimmed, older ones
   * are removed. Sets matchT / matchRetx.
   */
  ack(): void {
    const ack = this.argA;
    this.matchT = -1;
    const n = this.n;
    if (n === 0 || !seqLt(this.minSeq, ack)) return;
    const seg = this.seg!;
    const mask = (seg.length >> 2) - 1;
    const base = this.base;
    let head = this.head;
    if (this.sorted) {
      // in order without overlaps: only a prefix is touched
      let i = 0;
      for (; i < n; i++) {
        const o = ((head + i) & mask) << 2;
        const x = seg[o + 1]!;
        if (ack === x) {
          this.matchT = seg[o + 2]!;
          this.matchRetx = seg[o + 3]! !== 0;
          i++;
          break;
        }
        if (seqLt(ack, x)) {
          if (seqLt(seg[o]!, ack)) seg[o] = ack;
          break;
        }
      }
      head = (head + i) & mask;
      this.head = head;
      this.n = n - i;
      if (this.n > 0) {
        const first = seg[head << 2]!;
        this.minSeq = first;
        this.minRel = (first - base) >>> 0;
      }
      return;
    }
    let w = 0;
    let minSeq = 0, minRel = 0, maxRel = 0;
    for (let k = 0; k < n; k++) {
      const o = ((head + k) & mask) << 2;
      const x = seg[o + 1]!;
      if (ack === x) {
        if (this.matchT < 0) {
          this.matchT = seg[o + 2]!;
          this.matchRetx = seg[o + 3]! !== 0;
        }
        continue;
      }
      if (!seqLt(ack, x)) continue;
      // kept; a partial ACK moves the segment's start
      let sq = seg[o]!;
      if (seqLt(sq, ack)) sq = ack;
      const ow = ((head + w) & mask) << 2;
      seg[ow] = sq;
      seg[ow + 1] = x;
      seg[ow + 2] = seg[o + 2]!;
      seg[ow + 3] = seg[o + 3]!;
      const lo = (sq - base) >>> 0, hi = (x - base) >>> 0;
      if (w === 0) {
        minSeq = sq;
        minRel = lo;
        maxRel = hi;
      } else {
        if (seqLt(sq, minSeq)) minSeq = sq;
        if (lo < minRel) minRel = lo;
        if (hi > maxRel) maxRel = hi;
      }
      w++;
    }
    this.n = w;
    if (w === 0) this.sorted = true;
    this.minSeq = minSeq;
    this.minRel = minRel;
    this.maxRel = maxRel;
  }

  addRtt(): void {
    const ms = this.argT;
    const n = ++this.rttN;
    if (n === 1) {
      this.rttMin = this.rttMax = this.rttMean = ms;
      this.rttM2 = 0;
      this.srtt = ms;
      this.rttvar = ms / 2;
      return;
    }
    if (ms < this.rttMin) this.rttMin = ms;
    if (ms > this.rttMax) this.rttMax = ms;
    const d = ms - this.rttMean;
    this.rttMean += d / n;
    this.rttM2 += d * (ms - this.rttMean);
    // RFC 6298 2.3: RTTVAR first, with the old SRTT
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
    this.srtt = 0.875 * this.srtt + 0.125 * ms;
  }

  /**
   * Marks sequence offsets [lo, hi) as seen and returns how many of them
   * were new (in a hole or past the highest offset seen).
   */
  cover(): number {
    const lo = this.argA, hi = this.argB;
    if (hi <= lo) return 0;
    let fresh = 0;
    let top = hi;
    const end = this.covEnd;
    if (hi > end) {
      const from = lo > end ? lo : end;
      fresh += hi - from;
      if (lo > end) this.addHole(end, lo);
      this.covEnd = hi;
      top = from;
    }
    if (top <= lo || this.holes === 0) return fresh;
    // fill holes overlapping [lo, top)
    const h = this.hole!;
    for (let k = 0; k < this.holes; k++) {
      const a = h[2 * k]!, b = h[2 * k + 1]!;
      if (b <= lo) continue;
      if (a >= top) break;
      const s = a > lo ? a : lo, e = b < top ? b : top;
      fresh += e - s;
      if (s === a && e === b) {
        this.removeHole(k);
        k--;
      } else if (s === a) h[2 * k] = e;
      else if (e === b) h[2 * k + 1] = s;
      else {
        // split [a, b) into [a, s) and [e, b)
        h[2 * k + 1] = s;
        this.insertHole(k + 1, e, b);
        k++;
      }
    }
    return fresh;
  }

  private addHole(a: number, b: number): void {
    this.insertHole(this.holes, a, b);
  }

  private insertHole(at: number, a: number, b: number): void {
    if (this.hole === null) this.hole = doubles(2 * HOLE_CAP);
    const h = this.hole;
    if (this.holes === HOLE_CAP) {
      // write off the oldest (lowest) hole as missed for good
      this.holeOverflowBytes += h[1]! - h[0]!;
      this.removeHole(0);
      at--;
      if (at < 0) {
        this.holeOverflowBytes += b - a;
        return;
      }
    }
    h.copyWithin(2 * at + 2, 2 * at, 2 * this.holes);
    h[2 * at] = a;
    h[2 * at + 1] = b;
    this.holes++;
  }

  private removeHole(k: number): void {
    const h = this.hole!;
    h.copyWithin(2 * k, 2 * k + 2, 2 * this.holes);
    this.holes--;
  }

  /** Sequence-space bytes of this direction never seen: open holes, written-off holes, and ACKed-but-unseen tail. */
  missed(): number {
    let m = this.holeOverflowBytes;
    const h = this.hole;
    for (let k = 0; k < this.holes; k++) m += h![2 * k + 1]! - h![2 * k]!;
    if (this.covSet && this.peerAckEnd > this.covEnd) m += this.peerAckEnd - this.covEnd;
    return m;
  }
}

/**
 * The stream offset of sequence number `seq` in a direction whose offset 0 is
 * sequence number `base`, taking the candidate nearest to `near` (an offset
 * already seen): wrap-safe for any distance below 2^31, and offsets keep
 * counting past 2^32 on long transfers.
 */
export function seqOffset(base: number, seq: number, near: number): number {
  return near + ((seq - base - near) | 0);
}

/** Sequence number `seq` relative to `base` as tshark shows it (unsigned 32-bit). */
export function relSeq(base: number, seq: number): number {
  return (seq - base) >>> 0;
}

/** 2^shift for window shifts 0..14. */
const POW2 = Array.from({ length: 15 }, (_, i) => 2 ** i);

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * Writes the flag counts of both directions into a record. Generated once
 * from FLAG_NAMES so that every store names its field: stores through
 * computed names (r[keys[i]]) on a record of 150 fields each take a slow
 * generic lookup, and cost more than the rest of the record together.
 */
const fillFlagCounts = new Function(
  'r',
  'o',
  'p',
  FLAG_NAMES.slice(0, DIRECTION_FLAG_COUNT)
    .map((n, i) => `r.orig_${n} = o[${i}]; r.resp_${n} = p[${i}];`)
    .join('\n'),
) as (r: RecordValues, o: number[], p: number[]) => void;

export class SeqAnalysis {
  // -0 marks fields that hold doubles (see Half in src/tcp/conn.ts).
  /** Duplicate-ACK number of the last segment (tcp.analysis.duplicate_ack_num), 0 if not a dup ACK. */
  dupAckNum = 0;
  /**
   * ACK RTT of the last segment in ms (tcp.analysis.ack_rtt), -1 if none.
   * Negative when capture timestamps go backwards (tshark shows those too);
   * `hasAckRtt` tells a real value from the -1 sentinel.
   */
  ackRttMs = -0;
  /** The last segment acknowledged a listed segment exactly and the time difference is not zero (tshark shows ack_rtt). */
  hasAckRtt = false;
  /** Bytes in flight after the last segment (tcp.analysis.bytes_in_flight), -1 if not computed. */
  bytesInFlight = -1;
  /** Sequence-space bytes skipped by the last segment (a content gap opened), 0 if none. */
  gapBytes = 0;

  private readonly a: Dir;
  private readonly b: Dir;
  private started = false;
  private sec0 = 0;
  /** tshark's ts_mru_syn (ns since sec0, -1 none) and ts_first_rtt (iRTT, 0 = not known, as tshark). */
  private synT = -1;
  private firstRttNs = 0;
  private pendingReused = false;

  /** `account`: where growth of the unacked-segment rings is charged (none: not counted). */
  constructor(account: BudgetAccount | null = null) {
    this.ackRttMs = -1;
    this.a = new Dir(account);
    this.b = new Dir(account);
  }

  reset(): void {
    this.gapBytes = 0;
    this.dupAckNum = 0;
    this.ackRttMs = -1;
    this.hasAckRtt = false;
    this.bytesInFlight = -1;
    this.a.reset();
    this.b.reset();
    this.started = false;
    this.sec0 = 0;
    this.synT = -1;
    this.firstRttNs = 0;
    this.pendingReused = false;
  }

  /** Unacked segments not listed because a direction's list was full (tshark drops them too). */
  get unackedOverflows(): number {
    return this.a.unackedOverflows + this.b.unackedOverflows;
  }

  /**
   * Analyses one TCP segment sent by endpoint A (`fromA`) or B, in capture
   * order, and returns its flag bits. `frame` is the 1-based packet number.
   */
  onSegment(fromA: boolean, d: Decoded, sec: number, nsec: number, _frame: number): number {
    if (!this.started) {
      this.started = true;
      this.sec0 = sec;
    }
    // (s + 0.5) * 1e9 - 5e8 is s * 1e9 exactly, but in float64 from the first packet on: with
    // small integers seen first, V8 compiled int32 arithmetic and dropped the code (twice) when a
    // connection passed 2.1 s
    const t = (sec - this.sec0 + 0.5) * 1e9 - 5e8 + nsec;
    const fwd = fromA ? this.a : this.b;
    const rev = fromA ? this.b : this.a;
    const seq = d.seq, ack = d.ack, flags = d.flags, window = d.window;
    const seglen = d.payloadLen;
    let f = 0;
    this.gapBytes = 0;
    this.dupAckNum = 0;
    this.ackRttMs = -1;
    this.hasAckRtt = false;
    this.bytesInFlight = -1;

    // ---- dissect_tcp, before the analysis: port reuse
    const synOnly = (flags & (SYN | ACK)) === SYN;
    if (synOnly) {
      if (this.pendingReused) {
        this.pendingReused = false;
        f |= F_REUSED;
      }
      if (fwd.baseSet) {
        if (seq !== fwd.base) {
          // tshark starts a new conversation on the 4-tuple
          fwd.resetFlow();
          rev.resetFlow();
          this.synT = -1;
          this.firstRttNs = 0;
          f |= F_REUSED;
        } else {
          // issue 17616: a repeated SYN restores nextseq
          fwd.nextseq = fwd.maxseqtobeacked;
          fwd.nextseqKnown = fwd.maxAckedKnown;
        }
      }
    } else if ((flags & (SYN | ACK)) === (SYN | ACK) && fwd.baseSet && seq !== fwd.base) {
      fwd.base = seq;
      f |= F_REUSED;
    }

    // ---- tcp_analyze_sequence_number
    if (!fwd.baseSet) {
      fwd.base = flags & SYN ? seq : (seq - 1) >>> 0;
      fwd.baseSet = true;
    }
    const hasAck = (flags & ACK) !== 0;
    if (!rev.baseSet && hasAck) {
      rev.base = (ack - 1) >>> 0;
      rev.baseSet = true;
    }
    if (hasAck) rev.validBif = true;
    const noSFR = (flags & (SYN | FIN | RST)) === 0;
    // tshark compares raw ack fields; here an ack field only equals another of the same kind (ACK bit or not)
    const sameAck = ack === fwd.lastack && hasAck === fwd.lastackIsAck;
    const atNext = fwd.nextseqKnown && seq === fwd.nextseq;

    fwdChecks: {
      if (seglen === 1 && atNext && rev.window === 0) {
        f |= F_ZWP;
        break fwdChecks;
      }
      if (window === 0 && noSFR) f |= F_ZW;
      if (fwd.nextseqKnown && seqLt(fwd.nextseq, seq) && (flags & RST) === 0) {
        f |= F_LOST;
        fwd.validBif = false;
        this.gapBytes = (seq - fwd.nextseq) >>> 0;
      }
      if (seglen <= 1 && noSFR && fwd.nextseqKnown && seq === ((fwd.nextseq - 1) >>> 0)) f |= F_KA;
      if (seglen === 0 && window !== 0 && window !== fwd.window && atNext && sameAck && noSFR) f |= F_WUPD;
      if (seglen > 0 && rev.winScale !== -1 && rev.lastackIsAck && noSFR) {
        const sh = rev.isFirstAck || rev.winScale === -2 ? 0 : rev.winScale;
        if (((seq + seglen) >>> 0) === ((rev.lastack + rev.window * POW2[sh]!) >>> 0)) f |= F_WFULL;
      }
      if (seglen === 0 && noSFR && atNext && sameAck && window === fwd.window) {
        if (window !== 0 && rev.lastSegFlags & F_KA) {
          f |= F_KAACK;
          break fwdChecks;
        }
        if (window === 0 && rev.lastSegFlags & F_ZWP) {
          f |= F_ZWPACK;
          break fwdChecks;
        }
        if (window !== 0) {
          fwd.dupacknum = fwd.dupacknum === -1 ? 1 : fwd.dupacknum + 1;
          f |= F_DUP;
          this.dupAckNum = fwd.dupacknum;
        }
      }
    }
    // finished_fwd
    if (!sameAck) fwd.dupacknum = 0;

    // ACKed unseen segment
    if (hasAck && rev.maxAckedKnown && seqLt(rev.maxseqtobeacked, ack)) {
      if (rev.nextseqKnown && seqLt(rev.maxseqtobeacked, rev.nextseq)) {
        // a hole in the peer's data: move past it, once
        rev.maxseqtobeacked = rev.nextseq;
        f |= F_ACKLOST;
      } else {
        // the peer is stalled: flag only the first such ACK per peer ACK change
        if (rev.dupacknum === 0) f |= F_ACKLOST;
        rev.dupacknum = -1;
      }
    }

    // retransmission / fast retransmission / spurious / out-of-order
    const synFin = flags & (SYN | FIN) ? 1 : 0;
    if ((seglen > 0 || synFin) && (f & F_KA) === 0) {
      let notAdvanced = fwd.nextseqKnown && seqLt(seq, fwd.nextseq);
      if (seglen > 1 && fwd.nextseqKnown && ((fwd.nextseq - 1) >>> 0) === seq) notAdvanced = false;
      if (seglen > 0 && rev.lastackIsAck && seqLte((seq + seglen) >>> 0, rev.lastack)) {
        f |= F_SPUR | F_RETX;
      } else {
        const sinceAck = t - rev.lastackT;
        const sinceNext = t - fwd.nextseqT;
        const ooo = this.firstRttNs !== 0 ? this.firstRttNs : OOO_DEFAULT_NS;
        if (notAdvanced && rev.dupacknum >= 2 && rev.lastackIsAck && rev.lastack === seq && sinceAck >= 0 && sinceAck < FAST_RETX_NS) f |= F_FAST | F_RETX;
        else if (notAdvanced && sinceNext >= 0 && sinceNext < ooo && fwd.nextseq !== ((seq + seglen + synFin) >>> 0)) f |= F_OOO;
        else if (notAdvanced) f |= F_RETX;
      }
    }

    // finished_checking_retransmission_type
    let nextseq = (seq + seglen) >>> 0;
    if (seglen > 0 || synFin) {
      if (fwd.n < UNACKED_CAP) {
        if (synFin) nextseq = (nextseq + 1) >>> 0;
        fwd.argA = seq;
        fwd.argB = nextseq;
        fwd.argT = t;
        fwd.push((f & F_RETX) !== 0);
      } else fwd.unackedOverflows++;
    }
    if ((f & F_ZWP) === 0) {
      if (!fwd.nextseqKnown || seqLt(fwd.nextseq, nextseq)) {
        fwd.nextseq = nextseq;
        fwd.nextseqKnown = true;
        fwd.nextseqT = t;
      }
      if (!fwd.maxAckedKnown || seq === fwd.maxseqtobeacked) {
        fwd.maxseqtobeacked = fwd.nextseq;
        fwd.maxAckedKnown = fwd.nextseqKnown;
      }
    }
    fwd.window = window;
    fwd.lastack = ack;
    fwd.lastackIsAck = hasAck;
    fwd.lastackT = t;
    fwd.lastSegFlags = f;

    // the ACK removes what it acknowledges from the peer's list
    if (hasAck && rev.n > 0) {
      rev.argA = ack;
      rev.ack();
      const mt = rev.matchT;
      if (mt >= 0) {
        const dt = t - mt;
        if (dt !== 0) {
          const ms = dt / 1e6;
          this.ackRttMs = ms;
          this.hasAckRtt = true;
          if (!rev.matchRetx && dt > 0) {
            rev.argT = ms;
            rev.addRtt();
          }
        }
      }
    }

    // bytes in flight
    if (seglen !== 0 && fwd.n > 0 && fwd.validBif) {
      let inFlight = fwd.maxRel - fwd.minRel;
      if (rev.sackCount > 0) inFlight = (inFlight - rev.sackBytes) >>> 0;
      if (inFlight > 0 && inFlight < 2000000000) {
        const bif = synFin ? inFlight - 1 : inFlight;
        if (bif !== 0) this.bytesInFlight = bif;
        if (bif > fwd.maxBif) fwd.maxBif = bif;
      }
    }

    // ---- after the analysis (option dissection, dissect_tcp tail)
    const sc = d.sackCount;
    fwd.sackCount = sc;
    if (sc > 0) {
      const sk = d.sack;
      let bytes = 0;
      for (let k = 0; k < sc; k++) bytes += (sk[2 * k + 1]! - sk[2 * k]!) >>> 0;
      fwd.sackBytes = bytes;
    }
    if (d.wscale >= 0) fwd.winScale = d.wscale > 14 ? 14 : d.wscale;
    if (flags & SYN) {
      // verify_tcp_window_scaling
      if (fwd.winScale === -1) {
        fwd.winScale = -2;
        rev.winScale = -2;
      } else if (flags & ACK && rev.winScale === -2) fwd.winScale = -2;
      fwd.isFirstAck = true;
      if (synOnly) this.synT = t;
    }
    if ((flags & (SYN | ACK)) === ACK) {
      if (this.synT >= 0 && this.firstRttNs === 0) this.firstRttNs = t - this.synT;
      fwd.isFirstAck = false;
    }

    // ---- tcpkit counters
    if (f !== 0) {
      const c = fwd.counts;
      for (let bits = f & ((1 << DIRECTION_FLAG_COUNT) - 1); bits !== 0; bits &= bits - 1) c[31 - Math.clz32(bits & -bits)]!++;
    }
    // ---- unique vs retransmitted payload bytes, holes behind missed_bytes
    if (seglen > 0 || synFin) {
      const start = flags & SYN ? (seq + 1) >>> 0 : seq;
      if (!fwd.covSet) {
        fwd.covSet = true;
        fwd.covBase = start;
        fwd.covEnd = 0;
      }
      const fin = flags & FIN;
      if (seglen > 0 || fin) {
        // offset of `start` nearest to the highest offset seen (wrap-safe)
        const lo = seqOffset(fwd.covBase, start, fwd.covEnd);
        if (lo === fwd.covEnd) {
          // in order: all new
          fwd.uniqueBytes += seglen;
          fwd.covEnd = lo + seglen + (fin ? 1 : 0);
        } else if (lo < 0) {
          // before the first byte seen: new, not tracked
          fwd.uniqueBytes += seglen;
        } else {
          fwd.argA = lo;
          fwd.argB = lo + seglen;
          const fresh = fwd.cover();
          fwd.uniqueBytes += fresh;
          fwd.retransBytes += seglen - fresh;
          if (fin) {
            fwd.argA = lo + seglen;
            fwd.argB = lo + seglen + 1;
            fwd.cover();
          }
        }
      }
    } else if (!fwd.covSet && (flags & RST) === 0) {
      fwd.covSet = true;
      fwd.covBase = seq;
      fwd.covEnd = 0;
    }
    if (hasAck && rev.covSet) {
      const a = seqOffset(rev.covBase, ack, rev.covEnd);
      if (a > rev.peerAckEnd) rev.peerAckEnd = a;
    }
    return f;
  }

  /** Marks the connection as a reuse of an earlier one's 4-tuple (its first SYN gets REUSED_PORTS). */
  markReused(): void {
    this.pendingReused = true;
  }

  /** Writes this analysis's fields of the conn record; `origIsA` maps A/B to orig/resp. */
  fill(r: RecordValues, origIsA: boolean): void {
    const o = origIsA ? this.a : this.b;
    const p = origIsA ? this.b : this.a;
    fillFlagCounts(r, o.counts, p.counts);
    r['orig_unique_bytes'] = o.uniqueBytes;
    r['resp_unique_bytes'] = p.uniqueBytes;
    r['orig_retransmitted_bytes'] = o.retransBytes;
    r['resp_retransmitted_bytes'] = p.retransBytes;
    r['orig_max_bytes_in_flight'] = o.maxBif;
    r['resp_max_bytes_in_flight'] = p.maxBif;
    const on = o.rttN, pn = p.rttN;
    r['orig_rtt_samples'] = on;
    r['resp_rtt_samples'] = pn;
    r['orig_rtt_min_ms'] = on > 0 ? round6(o.rttMin) : null;
    r['resp_rtt_min_ms'] = pn > 0 ? round6(p.rttMin) : null;
    r['orig_rtt_mean_ms'] = on > 0 ? round6(o.rttMean) : null;
    r['resp_rtt_mean_ms'] = pn > 0 ? round6(p.rttMean) : null;
    r['orig_rtt_max_ms'] = on > 0 ? round6(o.rttMax) : null;
    r['resp_rtt_max_ms'] = pn > 0 ? round6(p.rttMax) : null;
    r['orig_rtt_stdev_ms'] = SeqAnalysis.stdev(o);
    r['resp_rtt_stdev_ms'] = SeqAnalysis.stdev(p);
    r['orig_srtt_ms'] = on > 0 ? round6(o.srtt) : null;
    r['resp_srtt_ms'] = pn > 0 ? round6(p.srtt) : null;
    r['orig_rttvar_ms'] = on > 0 ? round6(o.rttvar) : null;
    r['resp_rttvar_ms'] = pn > 0 ? round6(p.rttvar) : null;
    r['missed_bytes'] = o.missed() + p.missed();
  }

  private static stdev(h: Dir): number | null {
    const n = h.rttN;
    return n > 1 ? round6(Math.sqrt(h.rttM2 / (n - 1))) : n === 1 ? 0 : null;
  }

  /**
   * tshark's iRTT (tcp.analysis.initial_rtt) in nanoseconds, -1 when tshark
   * would show none: from the most recent SYN (a re-sent SYN restarts it) to
   * the first segment after it with ACK and without SYN, from either side.
   */
  initialRttNs(): number {
    return this.firstRttNs !== 0 ? this.firstRttNs : -1;
  }

  /** Smoothed RTT (ms) of the direction with more samples, -1 when none (for rtt_ms). */
  bestSrttMs(): number {
    const a = this.a, b = this.b;
    if (a.rttN === 0 && b.rttN === 0) return -1;
    return b.rttN > a.rttN ? b.srtt : a.srtt;
  }
}
