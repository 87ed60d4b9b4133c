/**
 * ActivityList: the tracker's open flows in the order they were listed
 * (`Conn.listedTouch`, the tracker's packet number when the flow took its
 * place), with the operations of a FlowList: head, pushTail, remove, and
 * insertByListed for a flow listed again after activity (see
 * ConnTracker.expire: the list is moved lazily).
 *
 * Why not one linked list: a flow listed again goes to its place by its last
 * packet, which under a churn of long-lived flows (500,000 connections
 * talking in random order, more than the memory budget holds) is anywhere in
 * a list of 100,000 flows: walking there from either end took a third of the
 * run, a cache miss per step. Here the flows are kept in buckets of
 * BUCKET_TOUCHES packet numbers each, a FlowList per bucket in a deque
 * indexed by listedTouch / BUCKET_TOUCHES: a flow is inserted into its bucket
 * (walking at most the flows listed within BUCKET_TOUCHES packets), and the
 * head is the head of the first bucket that is not empty. The order is the
 * same as the single list's, exactly.
 */
import type { Conn } from './conn.js';
import { FlowList } from './flow-list.js';

/** Packet numbers per bucket: at most this many flows in one, so an insertion walks at most this far. */
const BUCKET_TOUCHES = 64;

export class ActivityList {
  /** Buckets from `first` on; buckets[i] holds listedTouch in [(base + i) * W, (base + i + 1) * W). */
  private buckets: (FlowList | null)[] = [];
  private base = 0;
  /** Index of the first bucket that may not be empty. */
  private first = 0;
  private readonly spare: FlowList[] = [];
  length = 0;

  /** The flow listed first, or null. */
  get head(): Conn | null {
    const b = this.buckets;
    while (this.first < b.length) {
      const l = b[this.first];
      if (l !== null && l !== undefined && l.head !== null) return l.head;
      if (l) {
        this.spare.push(l);
        b[this.first] = null;
      }
      this.first++;
    }
    return null;
  }

  /** The bucket for `touch`, made if needed. */
  private bucket(touch: number): FlowList {
    const k = Math.floor(touch / BUCKET_TOUCHES);
    if (this.buckets.length === 0 || this.first >= this.buckets.length) {
      // empty: start again at this bucket
      this.buckets.length = 0;
      this.base = k;
      this.first = 0;
    } else if (this.first > 1024 && this.first * 2 > this.buckets.length) {
      // drop the consumed front (amortised: the deque keeps only the span of open flows)
      this.buckets = this.buckets.slice(this.first);
      this.base += this.first;
      this.first = 0;
    }
    let i = k - this.base;
    if (i < this.first) {
      // before the first live bucket (not expected: a flow is never listed before the head)
      if (i < 0) {
        this.buckets.unshift(...new Array<FlowList | null>(-i).fill(null));
        this.base = k;
        this.first -= i;
        i = 0;
      }
      this.first = i;
    }
    while (this.buckets.length <= i) this.buckets.push(null);
    let l = this.buckets[i]!;
    if (l === null) {
      l = this.spare.pop() ?? new FlowList();
      this.buckets[i] = l;
    }
    return l;
  }

  /** Appends `c`, whose listedTouch is at least every listed flow's. */
  pushTail(c: Conn): void {
    this.bucket(c.listedTouch).pushTail(c);
    this.length++;
  }

  /** Inserts `c` by listedTouch, after the flows with the same value. */
  insertByListed(c: Conn): void {
    this.bucket(c.listedTouch).insertByListed(c);
    this.length++;
  }

  /** Removes `c` (listed here, with the listedTouch it was listed with). */
  remove(c: Conn): void {
    const i = Math.floor(c.listedTouch / BUCKET_TOUCHES) - this.base;
    this.buckets[i]!.remove(c);
    this.length--;
  }
}
