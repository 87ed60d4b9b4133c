/**
 * Counting helpers of the summaries: numbers from record values, a growable
 * list of values with nearest-rank percentiles, and keyed counters bounded
 * to MAX_KEYS entries (past it the smallest half is dropped and the result
 * marked approximate).
 */

export const MAX_KEYS = 100_000;

/** A record value as a number (numbers, or numeric text); 0 otherwise. */
export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : 0;
}


/** Growable list of values (RTTs, latencies). */
export class Values {
  private a = new Float64Array(64);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /** Adds every value of `o`. */
  addAll(o: Values): void {
    for (let i = 0; i < o.n; i++) this.push(o.a[i]!);
  }
  /** min, p50, p90, p99, max, mean (nearest-rank percentiles), or null without values. */
  stats(): Record<string, number> | null {
    if (this.n === 0) return null;
    const s = this.a.slice(0, this.n).sort();
    const rank = (p: number): number => s[Math.max(0, Math.ceil((p / 100) * this.n) - 1)]!;
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += s[i]!;
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    return { count: this.n, min: r3(s[0]!), p50: r3(rank(50)), p90: r3(rank(90)), p99: r3(rank(99)), max: r3(s[this.n - 1]!), mean: r3(sum / this.n) };
  }
}


/** Keyed counters bounded to MAX_KEYS entries (the smallest half goes when full). */
export class BoundedMap<V> {
  readonly m = new Map<string, V>();
  approximate = false;
  constructor(private readonly weight: (v: V) => number) {}
  get(key: string, make: () => V): V {
    let v = this.m.get(key);
    if (v === undefined) {
      if (this.m.size >= MAX_KEYS) this.prune();
      v = make();
      this.m.set(key, v);
    }
    return v;
  }
  private prune(): void {
    this.approximate = true;
    const keep = [...this.m.entries()].sort((a, b) => this.weight(b[1]) - this.weight(a[1])).slice(0, MAX_KEYS / 2);
    this.m.clear();
    for (const [k, v] of keep) this.m.set(k, v);
  }
}

/** Group keys in order: numbers numerically (80 before 443 before 8080), then text. */
export function compareKeys(a: string, b: string): number {
  const na = a !== '' && /^-?\d+(\.\d+)?$/.test(a) ? Number(a) : NaN;
  const nb = b !== '' && /^-?\d+(\.\d+)?$/.test(b) ? Number(b) : NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
