/**
 * Handshake totals of a live capture, as tcpeek keeps them: per named
 * filter (tcpeek's `name:RX|TX@addr:port` grammar, src/filter/tcpeek.ts) the
 * success and failure counts of decided handshakes, cumulative since the
 * start and as a delta since the last REFRESH (tcpeek keeps a second copy of
 * its counters that REFRESH reads and clears). Also the unfiltered totals by
 * result, for the Prometheus endpoint.
 */
import type { Conn } from '../tcp/conn.js';
import type { ConnAnalysis } from '../analysis/conn-analysis.js';
import { Verdict } from '../analysis/handshake.js';
import { countHandshake, emptyCounts, type FilterCounts } from '../output/tcpeek.js';
import type { CidrSet, FilterSet } from '../filter/index.js';
import { formatAddr } from '../util/ip.js';

export type HandshakeResult = 'success' | 'reject' | 'timeout' | 'unreach' | 'abort';
export const HANDSHAKE_RESULTS: readonly HandshakeResult[] = ['success', 'reject', 'timeout', 'unreach', 'abort'];

export class HandshakeStats {
  private readonly total = new Map<string, FilterCounts>();
  private baseline = new Map<string, FilterCounts>();
  /** Every decided handshake by result, filters or not. */
  readonly byResult: Record<HandshakeResult, number> = { success: 0, reject: 0, timeout: 0, unreach: 0, abort: 0 };

  constructor(
    private readonly filters: FilterSet,
    private readonly local: CidrSet | null,
  ) {
    for (const f of filters.filters) {
      this.total.set(f.name, emptyCounts());
      this.baseline.set(f.name, emptyCounts());
    }
  }

  /** The names of the filters the connection matches (tcpeek counts a handshake in each); [] when excluded. */
  matching(c: Conn): string[] {
    const oA = c.origIsA;
    return this.filters.match(
      {
        proto: 'tcp',
        orig_h: oA ? formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3) : formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3),
        orig_p: oA ? c.aPort : c.bPort,
        resp_h: oA ? formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3) : formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3),
        resp_p: oA ? c.bPort : c.aPort,
      },
      this.local,
    );
  }

  /** Counts a decided handshake; returns the filters it matched (the live line is printed only for those). */
  count(c: Conn): string[] {
    const hs = (c.aux as ConnAnalysis).hs;
    const v = hs.verdict;
    if (v === Verdict.SUCCESS) this.byResult.success++;
    else if (v === Verdict.REJECT) this.byResult.reject++;
    else if (v === Verdict.TIMEOUT) this.byResult.timeout++;
    else if (v === Verdict.UNREACH) this.byResult.unreach++;
    else if (v === Verdict.ABORT) this.byResult.abort++;
    const names = this.matching(c);
    for (const n of names) countHandshake(this.total.get(n)!, hs);
    return names;
  }

  /** Totals since the start, per filter in filter order. */
  cumulative(): [string, FilterCounts][] {
    return [...this.total].map(([n, c]) => [n, clone(c)]);
  }

  /** Counts since the previous refresh (or the start), per filter; the next refresh starts from now. */
  refresh(): [string, FilterCounts][] {
    const out: [string, FilterCounts][] = [];
    const next = new Map<string, FilterCounts>();
    for (const [n, c] of this.total) {
      out.push([n, minus(c, this.baseline.get(n)!)]);
      next.set(n, clone(c));
    }
    this.baseline = next;
    return out;
  }
}

function clone(c: FilterCounts): FilterCounts {
  return { success: { ...c.success }, failure: { ...c.failure } };
}

function minus(a: FilterCounts, b: FilterCounts): FilterCounts {
  return {
    success: { total: a.success.total - b.success.total, dupsyn: a.success.dupsyn - b.success.dupsyn, dupsynack: a.success.dupsynack - b.success.dupsynack },
    failure: {
      total: a.failure.total - b.failure.total,
      timeout: a.failure.timeout - b.failure.timeout,
      reject: a.failure.reject - b.failure.reject,
      unreach: a.failure.unreach - b.failure.unreach,
      abort: a.failure.abort - b.failure.abort,
    },
  };
}
