/**
 * The sequence ranges a side has sent, to tell new bytes from bytes sent
 * before (goodput): one covered range from the first byte seen to the
 * highest, minus the holes in it, at most `maxHoles` of them (past that the
 * oldest hole counts as covered, as the conn record's unique-bytes count
 * writes holes off, src/analysis/seq-analysis.ts HOLE_CAP).
 */
export class Coverage {
  private started = false;
  private lo = 0;
  private hi = 0;
  /** Holes [a0, b0, a1, b1, ...] inside [lo, hi), in order. */
  private holes: number[] = [];

  constructor(private readonly maxHoles = 32) {}

  /** Marks [a, b) as sent; returns how many of its bytes were not sent before. */
  add(a: number, b: number): number {
    if (b <= a) return 0;
    if (!this.started) {
      this.started = true;
      this.lo = a;
      this.hi = b;
      return b - a;
    }
    let fresh = 0;
    if (a < this.lo) {
      // before the first byte seen: new, and the range grows down
      fresh += Math.min(b, this.lo) - a;
      if (b < this.lo) this.addHole(0, b, this.lo);
      this.lo = a;
    }
    if (b > this.hi) {
      const from = Math.max(a, this.hi);
      fresh += b - from;
      if (a > this.hi) this.addHole(this.holes.length, this.hi, a);
      this.hi = b;
      b = from;
    }
    // fill the holes overlapping [a, b)
    const h = this.holes;
    for (let k = 0; k < h.length && a < b; ) {
      const x = h[k]!, y = h[k + 1]!;
      if (y <= a) {
        k += 2;
        continue;
      }
      if (x >= b) break;
      const s = Math.max(x, a), e = Math.min(y, b);
      fresh += e - s;
      if (s === x && e === y) h.splice(k, 2);
      else if (s === x) (h[k] = e), (k += 2);
      else if (e === y) (h[k + 1] = s), (k += 2);
      else {
        h.splice(k, 2, x, s, e, y);
        k += 4;
      }
    }
    return fresh;
  }

  private addHole(at: number, a: number, b: number): void {
    this.holes.splice(at, 0, a, b);
    if (this.holes.length > 2 * this.maxHoles) this.holes.splice(0, 2);
  }
}
