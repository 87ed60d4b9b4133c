/**
 * PagePool: fixed-size byte pages shared by every StreamReassembler, with a
 * hard cap on the pages handed out at once (gopacket `pageCache` plus
 * `MaxBufferedPagesTotal`). Pages are recycled through a free list, so the
 * steady state allocates nothing; the free list never holds more pages than
 * the peak in use (call `trim()` to drop it).
 *
 * Two kinds of use share the cap:
 * - buffered out-of-order bytes (must be kept until delivered or flushed as a
 *   gap: `reserve()` makes room, `take()` hands out a page);
 * - a stream's tail of already delivered bytes, kept only to compare
 *   retransmissions with (`takeSoft()`). Tail pages are a convenience: when
 *   the pool is full and a stream needs pages for buffered bytes,
 *   `reserve()` takes them back from the streams whose tails were used least
 *   recently (an intrusive LRU list of `TailHolder`s).
 */
import { UsageError } from '../util/errors.js';
import type { BudgetAccount } from '../util/memory-budget.js';

export const DEFAULT_PAGE_SIZE = 4096;
/** Default for --max-buffer: 64 MiB of pages across all streams. */
export const DEFAULT_MAX_BUFFER_BYTES = 64 * 1024 * 1024;

export interface PagePoolOptions {
  /** Bytes per page; default 4096. */
  pageSize?: number;
  /** Bytes of pages handed out at once, all streams together (--max-buffer); default 64 MiB. */
  maxBytes?: number;
  /** Memory budget account charged for every page created (released by `trim`). */
  account?: BudgetAccount | null;
}

export interface PagePoolStats {
  pageSize: number;
  /** The hard cap in pages (maxBytes / pageSize, rounded down). */
  capPages: number;
  /** Pages handed out now. */
  inUse: number;
  /** Most pages handed out at once. */
  peak: number;
  /** Page objects ever created (the free list recycles them). */
  created: number;
  /** Requests for buffer pages refused because the cap was reached (each one forces a gap). */
  capHits: number;
  /** Tail pages taken back from streams to make room for buffered bytes. */
  reclaimedTailPages: number;
}

/** A stream holding pages of delivered bytes that it can give back on demand. */
export interface TailHolder {
  _lruPrev: TailHolder | null;
  _lruNext: TailHolder | null;
  _inLru: boolean;
  /** Returns every page that holds only delivered bytes to the pool; returns the count. */
  releaseTail(): number;
}

function bad(name: string, want: string, got: unknown): UsageError {
  return new UsageError('REASSEMBLY_BAD_OPTION', `${name}: expected ${want}, got ${String(got)}`);
}

/** Validates pool options once (exact messages) and fills in defaults. */
export function normalizePoolOptions(o: PagePoolOptions = {}): Required<Omit<PagePoolOptions, 'account'>> {
  const pageSize = o.pageSize ?? DEFAULT_PAGE_SIZE;
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 1 << 20) throw bad('pageSize', 'a whole number of bytes from 1 to 1048576', pageSize);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw bad('maxBytes', 'a whole number of bytes >= 0', maxBytes);
  return { pageSize, maxBytes };
}

export class PagePool {
  readonly pageSize: number;
  readonly capPages: number;
  private readonly free: Uint8Array[] = [];
  private lruHead: TailHolder | null = null;
  private lruTail: TailHolder | null = null;
  readonly stats: PagePoolStats;
  private readonly account: BudgetAccount | null;

  constructor(opts: PagePoolOptions = {}) {
    const o = normalizePoolOptions(opts);
    this.account = opts.account ?? null;
    this.pageSize = o.pageSize;
    this.capPages = Math.floor(o.maxBytes / o.pageSize);
    this.stats = { pageSize: o.pageSize, capPages: this.capPages, inUse: 0, peak: 0, created: 0, capHits: 0, reclaimedTailPages: 0 };
  }

  get inUse(): number {
    return this.stats.inUse;
  }

  /**
   * Makes sure `n` more pages can be taken, taking tail pages back from the
   * least recently used holders if needed. False (and a cap hit counted) when
   * even that is not enough.
   */
  reserve(n: number): boolean {
    const st = this.stats;
    while (st.inUse + n > this.capPages) {
      const h = this.lruHead;
      if (h === null) {
        st.capHits++;
        return false;
      }
      this.dropHolder(h);
      st.reclaimedTailPages += h.releaseTail();
    }
    return true;
  }

  /** A page for buffered bytes; call `reserve` first (throws past the cap: a bug, not bad input). */
  take(): Uint8Array {
    const st = this.stats;
    if (st.inUse >= this.capPages) throw new Error('PagePool.take: cap reached without reserve()');
    return this.hand();
  }

  /** A page for a tail of delivered bytes, or null when the pool is full (no reclaiming). */
  takeSoft(): Uint8Array | null {
    return this.stats.inUse < this.capPages ? this.hand() : null;
  }

  private hand(): Uint8Array {
    const st = this.stats;
    let p = this.free.pop();
    if (p === undefined) {
      p = new Uint8Array(this.pageSize);
      st.created++;
      this.account?.charge(this.pageSize);
    }
    if (++st.inUse > st.peak) st.peak = st.inUse;
    return p;
  }

  /** Returns a page (its bytes are not cleared). */
  give(p: Uint8Array): void {
    this.stats.inUse--;
    this.free.push(p);
  }

  /** Drops the free list (pages in use are unaffected). */
  trim(): void {
    this.account?.release(this.free.length * this.pageSize);
    this.free.length = 0;
  }

  /** Marks `h` as the most recent user of its tail pages. */
  touchHolder(h: TailHolder): void {
    if (h._inLru) {
      if (this.lruTail === h) return;
      this.unlink(h);
    }
    h._lruPrev = this.lruTail;
    h._lruNext = null;
    if (this.lruTail) this.lruTail._lruNext = h;
    else this.lruHead = h;
    this.lruTail = h;
    h._inLru = true;
  }

  /** Forgets `h` (it holds no tail pages any more). */
  dropHolder(h: TailHolder): void {
    if (h._inLru) this.unlink(h);
  }

  private unlink(h: TailHolder): void {
    if (h._lruPrev) h._lruPrev._lruNext = h._lruNext;
    else this.lruHead = h._lruNext;
    if (h._lruNext) h._lruNext._lruPrev = h._lruPrev;
    else this.lruTail = h._lruPrev;
    h._lruPrev = h._lruNext = null;
    h._inLru = false;
  }
}
