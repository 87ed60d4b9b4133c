/**
 * MemoryBudget: one limit on the analysis state of a run (flows, their
 * analysis, reassembly buffers, IP fragments, and the pending transactions of
 * protocol decoders), from which each subsystem's share is derived, and to
 * which each charges what it holds.
 *
 *   const budget = new MemoryBudget(512 * 2 ** 20);
 *   const pool = budget.account('reassembly', budget.share(1 / 8));
 *   pool.charge(4096);      // a page taken
 *   pool.release(4096);     // and given back
 *   budget.onReclaim(() => tracker.evictOne());   // the owner of evictable state
 *   if (budget.over) budget.relieve();            // at a point where eviction is safe
 *
 * Figures are estimates of retained bytes (each subsystem charges measured
 * per-object costs, see the constants beside its charges), not a reading of
 * the process's heap, so the budget is the same on every run of an input.
 *
 * Charging never evicts by itself: a subsystem charges in the middle of its
 * work, where dropping state would pull it from under the caller. The owner
 * of evictable state (the connection tracker) registers a reclaimer and calls
 * `relieve()` at points where that is safe (between packets); state that is
 * not evictable must stay within the cap of its account (`account.full`).
 */
export class MemoryBudget {
  readonly limit: number;
  /** Bytes charged now, all accounts together. */
  used = 0;
  /** Highest `used` seen. */
  peak = 0;
  private readonly reclaimers: (() => boolean)[] = [];
  readonly accounts: BudgetAccount[] = [];

  constructor(limitBytes: number) {
    if (!(limitBytes > 0)) throw new RangeError(`MemoryBudget: limit must be positive, got ${limitBytes}`);
    this.limit = limitBytes;
  }

  /** `fraction` of the limit, in whole bytes (for caps derived from the budget). */
  share(fraction: number): number {
    return Math.floor(this.limit * fraction);
  }

  /** A named part of the budget with its own cap (at most the budget's limit). */
  account(name: string, cap = this.limit): BudgetAccount {
    const a = new BudgetAccount(this, name, Math.min(cap, this.limit));
    this.accounts.push(a);
    return a;
  }

  /** More is charged than the limit allows. */
  get over(): boolean {
    return this.used > this.limit;
  }

  /**
   * Adds a function that frees some charged state (for example by writing out
   * the least recently active flow) and returns false when it has nothing left
   * to free. Reclaimers run in the order they were added.
   */
  onReclaim(fn: () => boolean): void {
    this.reclaimers.push(fn);
  }

  /**
   * Runs the reclaimers until the charges fit the limit (with `extra` more
   * bytes about to be charged) or none can free more. Returns true when they fit.
   */
  relieve(extra = 0): boolean {
    for (const fn of this.reclaimers) {
      while (this.used + extra > this.limit) if (!fn()) break;
      if (this.used + extra <= this.limit) return true;
    }
    return this.used + extra <= this.limit;
  }
}

/** A subsystem's part of a MemoryBudget: its charges count in the budget and against its own cap. */
export class BudgetAccount {
  used = 0;
  peak = 0;

  constructor(
    readonly budget: MemoryBudget,
    readonly name: string,
    readonly cap: number,
  ) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
    const b = this.budget;
    b.used += bytes;
    if (b.used > b.peak) b.peak = b.used;
  }

  release(bytes: number): void {
    this.used -= bytes;
    this.budget.used -= bytes;
  }

  /** Charging `bytes` more would pass this account's cap. */
  wouldExceed(bytes: number): boolean {
    return this.used + bytes > this.cap;
  }
}
