/**
 * Counters over capture time in a fixed number of bins whose width doubles
 * (neighbours merged) whenever a time falls past the last bin: the
 * report's throughput and connections-over-time lines, in constant memory
 * however long the capture. Times are seconds from a start set by the first
 * value; earlier times count in the first bin.
 */
export class TimeBins {
  /** Seconds since the epoch of bin 0's start (NaN until the first value). */
  t0 = NaN;
  /** Bin width in seconds. */
  width: number;
  /** One Float64Array of `bins` counters per series name. */
  readonly series: Record<string, Float64Array> = {};

  constructor(
    readonly names: readonly string[],
    readonly bins = 600,
    initialWidth = 0.001,
  ) {
    this.width = initialWidth;
    for (const n of names) this.series[n] = new Float64Array(bins);
  }

  /** Adds `v` to series `name` at time `t` (epoch seconds). */
  add(name: string, t: number, v: number): void {
    if (this.t0 !== this.t0) this.t0 = t;
    const x = t - this.t0;
    while (x >= this.width * this.bins) this.merge();
    this.series[name]![x > 0 ? Math.min(this.bins - 1, Math.floor(x / this.width)) : 0]! += v;
  }

  /** Bins in use (up to the last non-empty one). */
  get used(): number {
    let n = 0;
    for (const a of Object.values(this.series)) for (let k = this.bins - 1; k >= n; k--) if (a[k] !== 0) { n = k + 1; break; }
    return n;
  }

  private merge(): void {
    for (const n of this.names) {
      const a = this.series[n]!;
      const b = new Float64Array(this.bins);
      for (let k = 0; k < this.bins; k++) b[k >> 1] += a[k]!;
      this.series[n] = b;
    }
    this.width *= 2;
  }
}
