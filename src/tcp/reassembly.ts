/**
 * StreamReassembler: ordered delivery of ONE direction of a TCP connection
 * (gopacket `reassembly`, Zeek's TCP_Reassembler) to a consumer.
 *
 * Offsets are plain numbers: the caller unwraps each 32-bit sequence number
 * relative to the direction's base with `unwrap()` (src/tcp/seq.ts), so
 * nothing here needs serial arithmetic and streams longer than 4 GiB work.
 *
 * - In-order bytes go to `onData` as views into the caller's buffer (no copy).
 * - Out-of-order bytes are copied into pages from a shared `PagePool`, indexed
 *   by offset (page = floor(offset / pageSize)), so consecutive segments share
 *   pages. Caps: `maxBufferedPerStream` here, the pool's `maxBytes` in total.
 * - When a cap is hit the oldest data in sequence order is delivered after the
 *   hole before it is reported as a gap (`stats.forcedGaps`, `forcedGapBytes`);
 *   if the new segment is itself the oldest, the hole before it is skipped and
 *   it goes straight through. Memory never exceeds the caps.
 * - Which copy of a byte wins: the copy that is delivered first. A segment that
 *   continues the stream is delivered whole (buffered copies of the same bytes
 *   are compared and dropped, as tshark's follow does); among buffered copies
 *   the first to arrive is kept.
 * - Bytes that arrive again are compared with the kept copy: buffered bytes
 *   always, delivered bytes while they are still in the tail (the last
 *   `overlapWindow` bytes, kept in pool pages that the pool may take back when
 *   it runs short). Differences are counted per byte (tshark's
 *   tcp.segment.overlap.conflict) and reported once per push.
 * - Snaplen: the uncaptured tail of a segment (capLen < len) is a gap, unless
 *   another copy of those bytes is already buffered.
 * - `ackTo(offset)`: the receiver acknowledged everything below `offset`, so
 *   holes below buffered data that starts before it will never be filled:
 *   report them as gaps and deliver (tshark follow's "bytes missing in capture").
 * - `flush()` at the end of the connection delivers everything, holes as gaps,
 *   and returns every page to the pool.
 *
 * Consumers get views valid only during the call and must not call back into
 * the reassembler from a callback.
 */
import { UsageError } from '../util/errors.js';
import type { PagePool, TailHolder } from './page-pool.js';
import { ByteRuns, RUN_DATA, RUN_MISSING } from './byte-runs.js';
import { PageMap, _copy, type DiffSink } from './page-map.js';

export interface StreamConsumer {
  /** `len` bytes at `buf[off]`, stream offsets relSeq .. relSeq+len-1, in order. Valid only during the call. */
  onData(buf: Uint8Array, off: number, len: number, relSeq: number): void;
  /**
   * `len` bytes at relSeq are missing: never captured, or (`forced`) given up
   * at a memory cap before they arrived, so some of them may still come (see
   * onLate). A hole of one kind is reported apart from the other.
   */
  onGap(relSeq: number, len: number, forced?: boolean): void;
  /** `len` bytes at relSeq arrived after a cap had given their range up (they are not delivered). */
  onLate?(relSeq: number, len: number): void;
  /** A retransmission differed from the bytes kept for relSeq .. relSeq+len-1 (first to last differing byte). */
  onOverlapConflict?(relSeq: number, len: number): void;
}

export const DEFAULT_MAX_BUFFERED_PER_STREAM = 4 * 1024 * 1024;
/** Ranges given up at a cap remembered per stream, to tell late bytes from retransmissions. */
const FORCED_KEEP = 8;
export const DEFAULT_OVERLAP_WINDOW = 64 * 1024;

export interface ReassemblerOptions {
  consumer: StreamConsumer;
  /** Out-of-order bytes one stream may hold, in whole pages (rounded down); default 4 MiB; 0 = never buffer. */
  maxBufferedPerStream?: number;
  /** Delivered bytes kept to compare retransmissions with; default 64 KiB; 0 = do not compare with delivered bytes. */
  overlapWindow?: number;
}

export interface StreamStats {
  /** push() calls. */
  segments: number;
  /** Pushes (or parts of them) copied into the buffer because they came early. */
  outOfOrderSegments: number;
  deliveredBytes: number;
  /** onGap calls (adjacent holes are reported as one) and their bytes. */
  gaps: number;
  gapBytes: number;
  /** Holes given up because a memory cap was hit (included in gapBytes). */
  forcedGaps: number;
  forcedGapBytes: number;
  /** Bytes that arrived after a cap had given their range up (not delivered, not in overlapBytes). */
  lateBytes: number;
  /** Bytes that arrived again (over delivered or buffered bytes). */
  overlapBytes: number;
  /** Of those, bytes that differed from the kept copy, and the pushes that had any. */
  overlapConflictBytes: number;
  overlapConflicts: number;
  /** Bytes that arrived again after their delivered copy had left the tail (not compared). */
  overlapUncheckedBytes: number;
  /** Out-of-order bytes held now, and the most held at once. */
  bufferedBytes: number;
  bufferedBytesPeak: number;
  /** Pool pages held now (buffer and tail), and the most held at once. */
  pages: number;
  pagesPeak: number;
}

function newStats(): StreamStats {
  return {
    segments: 0, outOfOrderSegments: 0, deliveredBytes: 0, gaps: 0, gapBytes: 0, forcedGaps: 0, forcedGapBytes: 0, lateBytes: 0,
    overlapBytes: 0, overlapConflictBytes: 0, overlapConflicts: 0, overlapUncheckedBytes: 0,
    bufferedBytes: 0, bufferedBytesPeak: 0, pages: 0, pagesPeak: 0,
  };
}

/** Validates the options once (exact messages) and fills in defaults. */
export function normalizeReassemblerOptions(o: ReassemblerOptions): Required<ReassemblerOptions> {
  if (o === null || typeof o !== 'object' || typeof o.consumer?.onData !== 'function' || typeof o.consumer.onGap !== 'function') {
    throw new UsageError('REASSEMBLY_BAD_OPTION', 'consumer: expected an object with onData and onGap functions');
  }
  const maxBufferedPerStream = o.maxBufferedPerStream ?? DEFAULT_MAX_BUFFERED_PER_STREAM;
  const overlapWindow = o.overlapWindow ?? DEFAULT_OVERLAP_WINDOW;
  for (const [k, v] of [['maxBufferedPerStream', maxBufferedPerStream], ['overlapWindow', overlapWindow]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new UsageError('REASSEMBLY_BAD_OPTION', `${k}: expected a whole number of bytes >= 0, got ${String(v)}`);
  }
  return { consumer: o.consumer, maxBufferedPerStream, overlapWindow };
}

export class StreamReassembler implements TailHolder, DiffSink {
  _lruPrev: TailHolder | null = null;
  _lruNext: TailHolder | null = null;
  _inLru = false;

  consumer: StreamConsumer;
  readonly stats: StreamStats = newStats();
  private readonly pool: PagePool;
  private readonly P: number;
  private readonly capPages: number;
  private readonly window: number;
  private readonly maxRuns: number;

  /** Next offset to deliver. */
  private next = 0;
  /** Delivered bytes from tailStart to next are still in pages. */
  private tailStart = 0;
  /** What is held beyond `next`. */
  private readonly runs = new ByteRuns();
  /** Pages of held and of tail bytes. */
  private readonly pages: PageMap;

  // A gap waiting to be reported (adjacent holes are merged into one call).
  private gapStart = 0;
  private gapLen = 0;
  private gapForced = false;
  /** The last FORCED_KEEP ranges given up at a cap, [start, end) pairs, oldest first: later bytes in them are late, not overlaps. */
  private readonly forcedRanges: number[] = [];
  // Conflicting bytes of the current push: first and last offset.
  private cFirst = -1;
  private cLast = -1;

  constructor(pool: PagePool, opts: ReassemblerOptions) {
    const o = normalizeReassemblerOptions(opts);
    this.pool = pool;
    this.P = pool.pageSize;
    this.pages = new PageMap(pool);
    this.consumer = o.consumer;
    this.capPages = Math.floor(o.maxBufferedPerStream / this.P);
    this.window = o.overlapWindow;
    this.maxRuns = Math.max(16, 4 * this.capPages);
  }

  /** The next stream offset to be delivered. */
  get nextOffset(): number {
    return this.next;
  }

  /** Starts a new stream at `startOffset`: drops everything held (nothing is delivered) and zeroes the stats. */
  reset(startOffset: number): void {
    this.pages.releaseFront(this.pages.n);
    this.pages.peak = 0;
    this.pool.dropHolder(this);
    this.runs.clear();
    this.next = startOffset;
    this.tailStart = startOffset;
    this.gapLen = 0;
    this.forcedRanges.length = 0;
    this.cFirst = this.cLast = -1;
    Object.assign(this.stats, newStats());
  }

  /**
   * One segment's payload: stream offsets relSeq .. relSeq+len-1, of which
   * the first `capLen` are at buf[off ..] (capLen < len: the snaplen cut the rest).
   */
  push(relSeq: number, buf: Uint8Array, off: number, len: number, capLen: number): void {
    const st = this.stats;
    st.segments++;
    if (!(len > 0)) return;
    if (relSeq === this.next && capLen >= len && this.window === 0 && this.runs.n === 0 && this.gapLen === 0) {
      // the common case: the segment continues the stream, nothing is held, no tail is kept
      this.next = relSeq + len;
      this.tailStart = this.next;
      st.deliveredBytes += len;
      this.consumer.onData(buf, off, len, relSeq);
      return;
    }
    const cap = capLen >= len ? len : capLen > 0 ? capLen : 0;
    const capEnd = relSeq + cap;
    const end = relSeq + len;
    let s = relSeq;
    while (s < capEnd) {
      const next = this.next;
      if (s < next) {
        const e = capEnd < next ? capEnd : next;
        this.compareDelivered(s, e, buf, off + (s - relSeq));
        s = e;
      } else if (s === next) {
        this.deliverDirect(s, capEnd, buf, off + (s - relSeq));
        s = capEnd;
      } else if (this.tryBuffer(s, capEnd, buf, off + (s - relSeq))) {
        s = capEnd;
      } else {
        this.force(s);
      }
    }
    if (end > capEnd) this.markMissing(capEnd, end);
    this.drain();
    this.endOp();
  }

  /**
   * The receiver acknowledged every byte below `relAck`: buffered data that
   * starts below it is delivered now, the holes before it reported as gaps
   * (the capture missed bytes the receiver got). A hole with nothing buffered
   * after it is left open: more data may still fill or end it.
   */
  ackTo(relAck: number): void {
    const runs = this.runs;
    if (runs.n === 0 && this.gapLen === 0) return; // nothing held: nothing to give up
    while (runs.n > 0 && runs.s[0]! < relAck) {
      this.skipTo(runs.s[0]!, false);
      this.drain();
    }
    this.endOp();
  }

  /**
   * As ackTo, and a hole up to `relAck` with nothing buffered after it is a
   * gap too: the receiver has bytes the capture never saw (Zeek reports such
   * a content gap; tshark's follow waits). For application decoders, which
   * need the gap's length to stay in step; a capture that records an ACK
   * before the data it acknowledges would see that data as a repeat.
   */
  ackPast(relAck: number): void {
    if (relAck <= this.next && this.runs.n === 0 && this.gapLen === 0) return;
    this.ackTo(relAck);
    if (relAck > this.next && (this.runs.n === 0 || this.runs.s[0]! >= relAck)) {
      this.skipTo(relAck, false);
      this.drain();
      this.endOp();
    }
  }

  /** End of the stream: delivers everything buffered (holes as gaps) and returns every page to the pool. */
  flush(): void {
    const runs = this.runs;
    while (runs.n > 0) {
      this.skipTo(runs.s[0]!, false);
      this.drain();
    }
    this.pages.releaseFront(this.pages.n);
    this.pool.dropHolder(this);
    this.tailStart = this.next;
    this.endOp();
  }

  /** TailHolder: gives back the pages holding only delivered bytes (called by the pool). */
  releaseTail(): number {
    const before = this.pages.n;
    this.pages.releaseBelow(this.next);
    const from = Math.floor(this.next / this.P) * this.P;
    if (from > this.tailStart) this.tailStart = from;
    this.stats.pages = this.pages.n;
    return before - this.pages.n;
  }

  /** DiffSink: a byte that arrived again differs from the kept copy. */
  noteDiff(o: number): void {
    if (this.cFirst < 0) this.cFirst = o;
    this.cLast = o;
    this.stats.overlapConflictBytes++;
  }

  // ------------------------------------------------------------------ steps

  /** Bytes [s, e) were delivered already (or given up at a cap: late): compare them with the tail. */
  private compareDelivered(s: number, e: number, buf: Uint8Array, off: number): void {
    const st = this.stats;
    const fr = this.forcedRanges;
    for (let i = fr.length - 2; i >= 0; i -= 2) {
      const a = fr[i]!, b = fr[i + 1]!;
      if (a >= e || b <= s) continue;
      // the part inside a range given up at a cap: late data, reported apart; the rest is compared as usual
      const ls = a > s ? a : s, le = b < e ? b : e;
      st.lateBytes += le - ls;
      this.consumer.onLate?.(ls, le - ls);
      if (ls > s) this.compareDelivered(s, ls, buf, off);
      if (le < e) this.compareDelivered(le, e, buf, off + (le - s));
      return;
    }
    st.overlapBytes += e - s;
    const from = this.tailStart > s ? this.tailStart : s;
    if (from >= e) {
      st.overlapUncheckedBytes += e - s;
      return;
    }
    st.overlapUncheckedBytes += from - s;
    this.pages.compare(from, e, buf, off + (from - s), this);
  }

  /** s === next: deliver [s, e) as a view, dropping (after comparing) any buffered copy. */
  private deliverDirect(s: number, e: number, buf: Uint8Array, off: number): void {
    if (this.runs.n > 0 && this.runs.s[0]! < e) {
      this.stats.bufferedBytes -= this.compareBuffered(s, e, buf, off, false);
      this.runs.set(s, e, 0);
    }
    const tail = this.window > 0 ? this.copyToTail(s, e, buf, off) : e;
    this.flushGap();
    this.consumer.onData(buf, off, e - s, s);
    this.stats.deliveredBytes += e - s;
    this.next = e;
    if (tail > this.tailStart) this.tailStart = tail;
    this.trimTail();
  }

  /** s > next: copy [s, e) into pages; false when a cap (or the run limit) does not allow it. */
  private tryBuffer(s: number, e: number, buf: Uint8Array, off: number): boolean {
    if (this.capPages === 0 || this.runs.n + 2 > this.maxRuns) return false;
    const pages = this.pages;
    const need = pages.missing(s, e);
    if (need > 0) {
      if (this.bufferPages() + need > this.capPages) return false;
      if (!this.pool.reserve(need)) return false;
      pages.addAll(s, e);
    }
    const st = this.stats;
    st.bufferedBytes += e - s - this.compareBuffered(s, e, buf, off, true);
    this.runs.set(s, e, RUN_DATA);
    st.outOfOrderSegments++;
    if (st.bufferedBytes > st.bufferedBytesPeak) st.bufferedBytesPeak = st.bufferedBytes;
    return true;
  }

  /**
   * A cap is hit while data at `s` (> next) waits: give up the oldest hole.
   * If nothing buffered comes before `s`, skip to `s`; otherwise skip to the
   * first buffered run and deliver what is contiguous with it.
   */
  private force(s: number): void {
    const runs = this.runs;
    if (runs.n === 0 || s <= runs.s[0]!) {
      this.skipTo(s, true);
    } else {
      this.skipTo(runs.s[0]!, true);
      this.drain();
    }
  }

  /** The uncaptured bytes [s, e) of a segment: holes in that range become gaps. */
  private markMissing(s: number, e: number): void {
    const runs = this.runs;
    let o = s;
    while (o < e) {
      if (o <= this.next) {
        if (this.next >= e) return;
        o = this.next;
      }
      const i = runs.lower(o);
      if (i < runs.n && runs.s[i]! <= o) {
        o = runs.e[i]!;
        continue;
      }
      const holeEnd = i < runs.n && runs.s[i]! < e ? runs.s[i]! : e;
      if (o === this.next) {
        this.skipTo(holeEnd, false);
      } else if (runs.n + 2 > this.maxRuns) {
        this.force(o);
        continue;
      } else {
        runs.set(o, holeEnd, RUN_MISSING);
      }
      o = holeEnd;
    }
  }

  /** Delivers the runs that start at `next` (data from pages, missing runs as gaps). */
  private drain(): void {
    const runs = this.runs;
    const st = this.stats;
    let i = 0;
    while (i < runs.n && runs.s[i] === this.next) {
      const e = runs.e[i]!;
      if (runs.k[i] === RUN_DATA) {
        this.flushGap();
        this.pages.deliver(this.next, e, this.consumer);
        st.deliveredBytes += e - this.next;
        st.bufferedBytes -= e - this.next;
        this.next = e;
      } else {
        this.skipTo(e, false);
      }
      i++;
    }
    if (i > 0) {
      runs.remove(0, i);
      this.trimTail();
      if (this.window > 0 && this.pages.n > 0) this.pool.touchHolder(this);
    }
  }

  /** Reports [next, to) as a gap and moves on (the tail restarts after it). */
  private skipTo(to: number, forced: boolean): void {
    const len = to - this.next;
    if (len <= 0) return;
    const st = this.stats;
    st.gapBytes += len;
    if (forced) {
      st.forcedGaps++;
      st.forcedGapBytes += len;
      const fr = this.forcedRanges;
      if (fr.length > 0 && fr[fr.length - 1] === this.next) fr[fr.length - 1] = to;
      else {
        if (fr.length === 2 * FORCED_KEEP) fr.splice(0, 2);
        fr.push(this.next, to);
      }
    }
    if (this.gapLen > 0 && this.gapStart + this.gapLen === this.next && this.gapForced === forced) this.gapLen += len;
    else {
      this.flushGap();
      this.gapStart = this.next;
      this.gapLen = len;
      this.gapForced = forced;
    }
    this.next = to;
    this.tailStart = to;
    this.trimTail();
  }

  private flushGap(): void {
    if (this.gapLen === 0) return;
    const len = this.gapLen;
    this.gapLen = 0;
    this.stats.gaps++;
    this.consumer.onGap(this.gapStart, len, this.gapForced);
  }

  private endOp(): void {
    this.flushGap();
    const st = this.stats;
    st.pages = this.pages.n;
    if (this.pages.peak > st.pagesPeak) st.pagesPeak = this.pages.peak;
    if (this.cFirst >= 0) {
      const first = this.cFirst, last = this.cLast;
      this.cFirst = this.cLast = -1;
      st.overlapConflicts++;
      this.consumer.onOverlapConflict?.(first, last - first + 1);
    }
  }

  // ------------------------------------------------------------------ bytes and pages

  /**
   * Compares [s, e) with the buffered DATA bytes in that range; with `write`,
   * copies the bytes into the positions that hold no data (pages must exist).
   * Returns how many DATA bytes the range overlapped.
   */
  private compareBuffered(s: number, e: number, buf: Uint8Array, off: number, write: boolean): number {
    const runs = this.runs;
    let overlapped = 0;
    let i = runs.lower(s);
    let o = s;
    while (o < e) {
      const covered = i < runs.n && runs.s[i]! <= o;
      const subEnd = covered ? Math.min(runs.e[i]!, e) : i < runs.n ? Math.min(runs.s[i]!, e) : e;
      if (covered && runs.k[i] === RUN_DATA) {
        overlapped += subEnd - o;
        this.pages.compare(o, subEnd, buf, off + (o - s), this);
      } else if (write) {
        this.pages.copyIn(o, subEnd, buf, off + (o - s));
      }
      if (covered) i++;
      o = subEnd;
    }
    this.stats.overlapBytes += overlapped;
    return overlapped;
  }

  /**
   * Keeps a copy of the last `window` bytes of [s, e) (about to be delivered)
   * for overlap checks. Returns where the tail starts once `next` is e: after
   * the pages that fell out of the window, after the part not copied, or at e
   * when the pool is full.
   */
  private copyToTail(s: number, e: number, buf: Uint8Array, off: number): number {
    const P = this.P;
    const pages = this.pages;
    const from = e - this.window > s ? e - this.window : s;
    // first give back the pages that fall out of the window, so the tail never holds more than it
    let tail = this.tailStart;
    const cut = Math.floor((e - this.window) / P);
    const k = pages.lower(cut);
    if (k > 0) {
      pages.releaseFront(k);
      if (cut * P > tail) tail = cut * P;
    }
    if (from > s && from > tail) tail = from;
    for (let o = from; o < e; ) {
      const idx = Math.floor(o / P);
      const pos = pages.lower(idx);
      if (pos >= pages.n || pages.idx[pos] !== idx) {
        const page = this.pool.takeSoft();
        if (page === null) return e; // no room: the tail restarts after these bytes
        pages.insert(pos, idx, page);
      }
      const at = o - idx * P;
      const n = Math.min(e - o, P - at);
      _copy(pages.buf[pos]!, at, buf, off + (o - s), n);
      o += n;
    }
    this.pool.touchHolder(this);
    return tail;
  }

  /** Pages holding undelivered bytes (index >= the page of `next`): what the per-stream cap counts. */
  private bufferPages(): number {
    return this.pages.n - this.pages.lower(Math.floor(this.next / this.P));
  }

  /** Drops pages that hold only delivered bytes older than the overlap window. */
  private trimTail(): void {
    let keep = this.next - this.window;
    if (this.window === 0 || keep < this.tailStart) keep = this.window === 0 ? this.next : this.tailStart;
    const first = Math.floor(keep / this.P);
    this.pages.releaseFront(this.pages.lower(first));
    if (this.window === 0) this.tailStart = this.next;
    else if (first * this.P > this.tailStart) this.tailStart = first * this.P;
    if (this.tailStart > this.next) this.tailStart = this.next;
  }

  /** Internal consistency check for tests; returns a description of the first problem, or ''. */
  _check(): string {
    const bad = this.runs.check(this.next) || this.pages.check();
    if (bad) return bad;
    // the page holding `next` may be a tail page, hence + 1
    if (this.bufferPages() > this.capPages + 1) return `buffer pages ${this.bufferPages()} > cap ${this.capPages} + 1`;
    if (this.tailStart > this.next) return `tailStart ${this.tailStart} > next ${this.next}`;
    if (this.runs.n > this.maxRuns) return `runs ${this.runs.n} > ${this.maxRuns}`;
    if (this.stats.pages !== this.pages.n) return `stats.pages ${this.stats.pages} != ${this.pages.n}`;
    return '';
  }
}
