/**
 * ByteRuns: the ranges of stream offsets a StreamReassembler holds beyond the
 * next offset to deliver, as sorted, disjoint [start, end) runs of one kind
 * each (bytes in pages, or bytes known to be missing), adjacent runs of the
 * same kind merged. Flat typed arrays, grown by doubling (rare), no objects
 * per run.
 */

/** Bytes held in pages. */
export const RUN_DATA = 1;
/** Bytes known to be missing (cut by the snaplen): a gap when delivery reaches them. */
export const RUN_MISSING = 2;

export class ByteRuns {
  s = new Float64Array(16);
  e = new Float64Array(16);
  k = new Uint8Array(16);
  n = 0;

  /** First run whose end is > o. */
  lower(o: number): number {
    let lo = 0, hi = this.n;
    const e = this.e;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (e[m]! <= o) lo = m + 1;
      else hi = m;
    }
    return lo;
  }

  /** Makes [s, e) one run of kind k (0 = no run), trimming what it overlaps and merging equal neighbours. */
  set(s: number, e: number, k: number): void {
    const rs = this.s, re = this.e, rk = this.k;
    let i = this.lower(s);
    let j = i;
    while (j < this.n && rs[j]! < e) j++;
    // remnants of the first and last overlapped runs outside [s, e)
    let lS = 0, lE = 0, lK = 0, rS = 0, rE = 0, rK = 0;
    if (i < j && rs[i]! < s) { lS = rs[i]!; lE = s; lK = rk[i]!; }
    if (i < j && re[j - 1]! > e) { rS = e; rE = re[j - 1]!; rK = rk[j - 1]!; }
    let nS = s, nE = e;
    if (k !== 0) {
      if (lK === k) { nS = lS; lK = 0; }
      if (rK === k) { nE = rE; rK = 0; }
      if (lK === 0 && i > 0 && re[i - 1] === nS && rk[i - 1] === k) { i--; nS = rs[i]!; }
      if (rK === 0 && j < this.n && rs[j] === nE && rk[j] === k) { nE = re[j]!; j++; }
    }
    const count = (lK !== 0 ? 1 : 0) + (k !== 0 ? 1 : 0) + (rK !== 0 ? 1 : 0);
    this.splice(i, j, count);
    let w = i;
    if (lK !== 0) { this.s[w] = lS; this.e[w] = lE; this.k[w] = lK; w++; }
    if (k !== 0) { this.s[w] = nS; this.e[w] = nE; this.k[w] = k; w++; }
    if (rK !== 0) { this.s[w] = rS; this.e[w] = rE; this.k[w] = rK; }
  }

  /** Removes runs [i, j). */
  remove(i: number, j: number): void {
    this.splice(i, j, 0);
  }

  clear(): void {
    this.n = 0;
  }

  /** Replaces runs [i, j) with `count` slots (contents left to the caller). */
  private splice(i: number, j: number, count: number): void {
    const n = this.n + count - (j - i);
    if (n > this.s.length) {
      let cap = this.s.length * 2;
      while (cap < n) cap *= 2;
      const a = new Float64Array(cap), b = new Float64Array(cap), c = new Uint8Array(cap);
      a.set(this.s.subarray(0, this.n));
      b.set(this.e.subarray(0, this.n));
      c.set(this.k.subarray(0, this.n));
      this.s = a;
      this.e = b;
      this.k = c;
    }
    if (count !== j - i) {
      this.s.copyWithin(i + count, j, this.n);
      this.e.copyWithin(i + count, j, this.n);
      this.k.copyWithin(i + count, j, this.n);
    }
    this.n = n;
  }

  /** Consistency check for tests: '' or the first problem. Runs must start after `next`. */
  check(next: number): string {
    for (let i = 0; i < this.n; i++) {
      if (!(this.s[i]! < this.e[i]!)) return `run ${i} empty`;
      if (i === 0 && !(this.s[0]! > next)) return `run 0 starts at ${this.s[0]} <= next ${next}`;
      if (i > 0 && this.s[i]! < this.e[i - 1]!) return `runs ${i - 1},${i} overlap`;
      if (i > 0 && this.s[i] === this.e[i - 1] && this.k[i] === this.k[i - 1]) return `runs ${i - 1},${i} not merged`;
    }
    return '';
  }
}
