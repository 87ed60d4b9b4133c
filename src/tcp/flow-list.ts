/**
 * An intrusive doubly linked list of flows (via Conn.prev/next), ordered by
 * listing (the tracker's activity list, moved lazily: see
 * ConnTracker.expire) or by close time (linger expiry). No allocation.
 */
import type { Conn } from './conn.js';

export class FlowList {
  head: Conn | null = null;
  tail: Conn | null = null;
  length = 0;

  pushTail(c: Conn): void {
    c.prev = this.tail;
    c.next = null;
    if (this.tail) this.tail.next = c;
    else this.head = c;
    this.tail = c;
    this.length++;
  }

  remove(c: Conn): void {
    if (c.prev) c.prev.next = c.next;
    else this.head = c.next;
    if (c.next) c.next.prev = c.prev;
    else this.tail = c.prev;
    c.prev = c.next = null;
    this.length--;
  }

  /**
   * Inserts `c` by `listedTouch` (the list is kept in that order): walks from
   * the tail, where a flow listed again after recent activity belongs.
   */
  insertByListed(c: Conn): void {
    let p = this.tail;
    while (p !== null && p.listedTouch > c.listedTouch) p = p.prev;
    if (p === this.tail) {
      this.pushTail(c);
      return;
    }
    const n = p === null ? this.head : p.next;
    c.prev = p;
    c.next = n;
    if (p === null) this.head = c;
    else p.next = c;
    n!.prev = c;
    this.length++;
  }
}
