/**
 * Histograms of the report's distributions in fixed bins (constant memory):
 * logarithmic, four bins per decade from 1e-3 to 1e7 with zero and out of
 * range counted apart (RTT, handshake time, duration), or linear (rates in
 * percent).
 */
export class Histogram {
  readonly counts: Float64Array;
  /** Values of zero (a log axis cannot show them), below the first edge, above the last. */
  zeros = 0;
  under = 0;
  over = 0;
  n = 0;

  /** Bin k covers [edges[k], edges[k + 1]). */
  constructor(readonly edges: readonly number[]) {
    this.counts = new Float64Array(edges.length - 1);
  }

  static log(perDecade = 4, lo = -3, hi = 7): Histogram {
    const e: number[] = [];
    for (let i = lo * perDecade; i <= hi * perDecade; i++) e.push(+Math.pow(10, i / perDecade).toPrecision(6));
    return new Histogram(e);
  }

  static linear(lo: number, hi: number, bins: number): Histogram {
    return new Histogram(Array.from({ length: bins + 1 }, (_, k) => lo + ((hi - lo) * k) / bins));
  }

  add(v: number): void {
    if (!Number.isFinite(v)) return;
    this.n++;
    const e = this.edges;
    if (v === 0 && e[0]! > 0) {
      this.zeros++;
      return;
    }
    if (v < e[0]!) {
      this.under++;
      return;
    }
    if (v >= e[e.length - 1]!) {
      // the last bin of a linear histogram includes its upper edge (100 %)
      if (v === e[e.length - 1]! && e[0]! <= 0) this.counts[this.counts.length - 1]!++;
      else this.over++;
      return;
    }
    let a = 0, b = e.length - 1;
    while (b - a > 1) {
      const m = (a + b) >> 1;
      if (v >= e[m]!) a = m;
      else b = m;
    }
    this.counts[a]!++;
  }

  /** The bins from the first to the last non-empty one: [lo, hi, count]. */
  bins(): [number, number, number][] {
    let first = -1, last = -1;
    for (let k = 0; k < this.counts.length; k++) if (this.counts[k]! > 0) {
      if (first < 0) first = k;
      last = k;
    }
    const out: [number, number, number][] = [];
    for (let k = Math.max(0, first); first >= 0 && k <= last; k++) out.push([this.edges[k]!, this.edges[k + 1]!, this.counts[k]!]);
    return out;
  }
}
