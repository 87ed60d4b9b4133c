/**
 * SegmentLog: the per-segment facts of one TCP connection that its graphs
 * are drawn from, in bounded memory.
 *
 * Each segment is one row of columns (`Col`): capture time, which side sent
 * it, frame number, sequence and ACK numbers relative to each side's ISN
 * (unwrapped, so transfers past 4 GiB keep counting), payload length, the
 * scaled window, TCP flags, tshark's analysis bits and duplicate-ACK number,
 * the ACK RTT sample the segment gave with the smoothed RTT after it, bytes
 * in flight, and its SACK blocks.
 *
 * The decimation rule (docs/graphs.md): rows are kept as they are until the
 * connection has `rawCap` of them. Past that, the log keeps
 *  - every *marked* segment as a row: a retransmission, an out-of-order
 *    segment, a zero window, a zero-window probe, or a SYN, FIN or RST
 *    (`isMarked`), up to `markCap` of them;
 *  - for everything (marked segments too), per side, `buckets` equal time
 *    buckets with the envelope of each line (lowest and highest sequence,
 *    ACK, window edge, window, RTT, bytes in flight, SACK edges), the sums
 *    (segments, bytes, new bytes, duplicate ACKs, flagged segments) and the
 *    frame range. The buckets start as wide as the time seen divided by
 *    their number and double (neighbours merged) whenever a segment falls
 *    past the last one, so their number stays fixed however long the
 *    connection runs.
 * Marked segments past `markCap` are counted in their bucket (`B.MARKS_OVER`)
 * instead of kept.
 */

import { Coverage } from './coverage.js';

/** Columns of a row. */
export const Col = {
  /** Seconds since the connection's first packet. */
  T: 0,
  /** 1 = sent by endpoint A (the source of the flow's first packet), 0 = by B. */
  FROM_A: 1,
  FRAME: 2,
  /** Sequence number relative to the sender's ISN (the SYN is 0, tshark's relative numbers). */
  SEQ: 3,
  LEN: 4,
  /** ACK number relative to the receiver's ISN; NaN without the ACK bit. */
  ACK: 5,
  /** Window in bytes (scaled as tshark's tcp.window_size). */
  WIN: 6,
  TCP_FLAGS: 7,
  /** tshark analysis bits (src/analysis/seq-analysis.ts Flag). */
  BITS: 8,
  DUP_ACK_NUM: 9,
  /** ACK RTT (ms) this segment measured for the peer's data; NaN none. */
  RTT: 10,
  /** Smoothed RTT and RTT variation (ms) of the peer's data after this segment; NaN before the first sample. */
  SRTT: 11,
  RTTVAR: 12,
  /** 1 when the RTT sample counted (Karn: not for data sent more than once). */
  RTT_VALID: 13,
  /** Bytes in flight after this segment (tshark's tcp.analysis.bytes_in_flight); NaN none. */
  BIF: 14,
  /** Index of the first SACK edge in `sack` (left, right, left, right, ...), and the number of blocks. */
  SACK_AT: 15,
  SACK_N: 16,
  /** Payload bytes of the segment its sender had not sent before (goodput; coverage.ts). */
  NEW: 17,
} as const;
export const COLS = 18;

/** Bucket fields, per side (each side's block of B_FIELDS numbers). */
export const B = {
  N: 0,
  SEQ_LO: 1,
  SEQ_HI: 2,
  BYTES: 3,
  NEW_BYTES: 4,
  ACK_LO: 5,
  ACK_HI: 6,
  /** ACK + window: the receive-window line. */
  EDGE_LO: 7,
  EDGE_HI: 8,
  WIN_LO: 9,
  WIN_HI: 10,
  BIF_HI: 11,
  RTT_LO: 12,
  RTT_HI: 13,
  /** The last smoothed RTT and RTT variation in the bucket. */
  SRTT: 14,
  RTTVAR: 15,
  DUP: 16,
  /** Segments with any analysis bit. */
  FLAGGED: 17,
  /** Marked segments not kept as rows (past markCap). */
  MARKS_OVER: 18,
  FRAME_LO: 19,
  FRAME_HI: 20,
  SACK_LO: 21,
  SACK_HI: 22,
  /** Retransmitted bytes (segments with the retransmission bit). */
  RETX_BYTES: 23,
} as const;
export const B_FIELDS = 24;
/** Fields holding a minimum, a maximum, or the last value (the rest are sums). */
const MIN_FIELDS = [B.SEQ_LO, B.ACK_LO, B.EDGE_LO, B.WIN_LO, B.RTT_LO, B.FRAME_LO, B.SACK_LO];
const MAX_FIELDS = [B.SEQ_HI, B.ACK_HI, B.EDGE_HI, B.WIN_HI, B.BIF_HI, B.RTT_HI, B.FRAME_HI, B.SACK_HI];
const LAST_FIELDS = [B.SRTT, B.RTTVAR];

export interface SegmentLogOptions {
  /** Rows kept before the log decimates (default 20,000). */
  rawCap?: number;
  /** Marked rows kept once it decimates (default 50,000). */
  markCap?: number;
  /** Time buckets per side once it decimates (default 2,048). */
  buckets?: number;
}

export const DEFAULT_LOG_OPTIONS: Required<SegmentLogOptions> = { rawCap: 20_000, markCap: 50_000, buckets: 2048 };

// analysis bits and TCP flags that make a segment "marked" (kept as a row past rawCap)
const RETX = 1 << 0, OOO = 1 << 3, ZW = 1 << 7, ZWP = 1 << 8, DUP = 1 << 6;
const FIN = 0x01, SYN = 0x02, RST = 0x04;
export const MARKED_BITS = RETX | OOO | ZW | ZWP;
export const MARKED_TCP_FLAGS = SYN | FIN | RST;

export function isMarked(bits: number, tcpFlags: number): boolean {
  return (bits & MARKED_BITS) !== 0 || (tcpFlags & MARKED_TCP_FLAGS) !== 0;
}

export class SegmentLog {
  readonly opts: Required<SegmentLogOptions>;
  /** Rows, COLS numbers each. */
  rows: Float64Array;
  n = 0;
  /** SACK edges of the rows. */
  sack: Float64Array = new Float64Array(64);
  sackN = 0;
  /** Segments seen in all (rows, bucketed and dropped). */
  segments = 0;
  /** Null until the log decimates; then buckets × 2 sides × B_FIELDS (side 0 = A, 1 = B). */
  buckets: Float64Array | null = null;
  /** Bucket width in seconds (0 before decimating). */
  width = 0;
  /** What each side (A, B) has sent, for new bytes. */
  private readonly cover = [new Coverage(), new Coverage()];
  /** Row being written (see begin/commit). */
  readonly row = new Float64Array(COLS);
  /** SACK edges of the row being written. */
  readonly rowSack = new Float64Array(8);

  constructor(o: SegmentLogOptions = {}) {
    this.opts = { ...DEFAULT_LOG_OPTIONS, ...o };
    this.rows = new Float64Array(64 * COLS);
  }

  get decimated(): boolean {
    return this.buckets !== null;
  }

  /** Adds the row in `row` (with `row[SACK_N]` blocks' edges in `rowSack`). */
  commit(): void {
    const r = this.row;
    this.segments++;
    const side = r[Col.FROM_A] === 1 ? 0 : 1;
    r[Col.NEW] = this.cover[side]!.add(r[Col.SEQ]!, r[Col.SEQ]! + r[Col.LEN]!);
    if (this.buckets === null) {
      if (this.n < this.opts.rawCap) {
        this.keep();
        return;
      }
      this.startBuckets();
    }
    this.bucket(side, r, 0, this.rowSack, 0);
    if (isMarked(r[Col.BITS]!, r[Col.TCP_FLAGS]!)) {
      if (this.n < this.opts.rawCap + this.opts.markCap) this.keep();
      else this.buckets![this.indexOf(r[Col.T]!) * 2 * B_FIELDS + side * B_FIELDS + B.MARKS_OVER]!++;
    }
  }

  private keep(): void {
    const r = this.row;
    const sn = r[Col.SACK_N]!;
    if (sn > 0) {
      if (this.sackN + 2 * sn > this.sack.length) this.sack = grow(this.sack, this.sackN + 2 * sn);
      r[Col.SACK_AT] = this.sackN;
      this.sack.set(this.rowSack.subarray(0, 2 * sn), this.sackN);
      this.sackN += 2 * sn;
    } else r[Col.SACK_AT] = -1;
    if ((this.n + 1) * COLS > this.rows.length) this.rows = grow(this.rows, (this.n + 1) * COLS);
    this.rows.set(r, this.n * COLS);
    this.n++;
  }

  /** Switches to buckets: every row kept so far goes into them; only the marked rows stay rows. */
  private startBuckets(): void {
    const nb = this.opts.buckets;
    const rows = this.rows;
    let tMax = 0;
    for (let i = 0; i < this.n; i++) tMax = Math.max(tMax, rows[i * COLS + Col.T]!);
    // a power of two times 1 µs, wide enough for the rows seen
    let w = 1e-6;
    while (w * nb <= tMax) w *= 2;
    this.width = w;
    this.buckets = emptyBuckets(nb);
    let k = 0;
    for (let i = 0; i < this.n; i++) {
      const o = i * COLS;
      const side = rows[o + Col.FROM_A] === 1 ? 0 : 1;
      this.bucket(side, rows, o, this.sack, rows[o + Col.SACK_AT]!);
      if (isMarked(rows[o + Col.BITS]!, rows[o + Col.TCP_FLAGS]!)) {
        // the marked rows move to the front (their SACK edges stay where they are)
        if (k !== i) rows.copyWithin(k * COLS, o, o + COLS);
        k++;
      }
    }
    this.n = k;
  }

  private indexOf(t: number): number {
    const nb = this.opts.buckets;
    const x = t > 0 ? t : 0;
    while (x >= this.width * nb) this.mergePairs();
    return Math.min(nb - 1, Math.floor(x / this.width));
  }

  /** Halves the resolution: buckets 2k and 2k+1 become bucket k. */
  private mergePairs(): void {
    const b = this.buckets!;
    const nb = this.opts.buckets;
    const out = emptyBuckets(nb);
    for (let k = 0; k < nb; k++) {
      const dst = (k >> 1) * 2 * B_FIELDS;
      for (let s = 0; s < 2; s++) mergeInto(out, dst + s * B_FIELDS, b, k * 2 * B_FIELDS + s * B_FIELDS);
    }
    this.buckets = out;
    this.width *= 2;
  }

  /** Adds the row at r[ro..] (sent by `side`), whose SACK edges are at sk[so..], to its bucket. */
  private bucket(side: number, r: Float64Array, ro: number, sk: Float64Array, so: number): void {
    const o = this.indexOf(r[ro + Col.T]!) * 2 * B_FIELDS + side * B_FIELDS;
    const b = this.buckets!;
    b[o + B.N]!++;
    const seq = r[ro + Col.SEQ]!, len = r[ro + Col.LEN]!;
    const bits = r[ro + Col.BITS]!;
    if (len > 0) {
      lo(b, o + B.SEQ_LO, seq);
      hi(b, o + B.SEQ_HI, seq + len);
      b[o + B.BYTES] += len;
      b[o + B.NEW_BYTES] += r[ro + Col.NEW]!;
      if (bits & RETX) b[o + B.RETX_BYTES] += len;
    }
    const ack = r[ro + Col.ACK]!;
    if (ack === ack) {
      const win = r[ro + Col.WIN]!;
      lo(b, o + B.ACK_LO, ack);
      hi(b, o + B.ACK_HI, ack);
      lo(b, o + B.EDGE_LO, ack + win);
      hi(b, o + B.EDGE_HI, ack + win);
      lo(b, o + B.WIN_LO, win);
      hi(b, o + B.WIN_HI, win);
    }
    const bif = r[ro + Col.BIF]!;
    if (bif === bif) hi(b, o + B.BIF_HI, bif);
    const rtt = r[ro + Col.RTT]!;
    if (rtt === rtt) {
      lo(b, o + B.RTT_LO, rtt);
      hi(b, o + B.RTT_HI, rtt);
    }
    const srtt = r[ro + Col.SRTT]!;
    if (srtt === srtt) {
      b[o + B.SRTT] = srtt;
      b[o + B.RTTVAR] = r[ro + Col.RTTVAR]!;
    }
    if (bits & DUP) b[o + B.DUP]!++;
    if (bits !== 0) b[o + B.FLAGGED]!++;
    lo(b, o + B.FRAME_LO, r[ro + Col.FRAME]!);
    hi(b, o + B.FRAME_HI, r[ro + Col.FRAME]!);
    const sn = r[ro + Col.SACK_N]!;
    for (let k = 0; k < sn; k++) {
      lo(b, o + B.SACK_LO, sk[so + 2 * k]!);
      hi(b, o + B.SACK_HI, sk[so + 2 * k + 1]!);
    }
  }

  /** Field `f` of side `side` (0 = A, 1 = B) in bucket `k`. */
  bucketField(k: number, side: number, f: number): number {
    return this.buckets![k * 2 * B_FIELDS + side * B_FIELDS + f]!;
  }
}

function grow(a: Float64Array, need: number): Float64Array {
  let n = a.length * 2;
  while (n < need) n *= 2;
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

function lo(b: Float64Array, i: number, v: number): void {
  if (!(v >= b[i]!)) b[i] = v;
}

function hi(b: Float64Array, i: number, v: number): void {
  if (!(v <= b[i]!)) b[i] = v;
}

function emptyBuckets(nb: number): Float64Array {
  const b = new Float64Array(nb * 2 * B_FIELDS);
  for (let k = 0; k < nb * 2; k++) {
    const o = k * B_FIELDS;
    for (const f of MIN_FIELDS) b[o + f] = Infinity;
    for (const f of MAX_FIELDS) b[o + f] = -Infinity;
    for (const f of LAST_FIELDS) b[o + f] = NaN;
  }
  return b;
}

function mergeInto(out: Float64Array, d: number, src: Float64Array, s: number): void {
  for (let f = 0; f < B_FIELDS; f++) {
    const v = src[s + f]!;
    if (MIN_FIELDS.includes(f as never)) lo(out, d + f, v);
    else if (MAX_FIELDS.includes(f as never)) hi(out, d + f, v);
    else if (LAST_FIELDS.includes(f as never)) {
      if (v === v) out[d + f] = v;
    } else out[d + f] += v;
  }
}
