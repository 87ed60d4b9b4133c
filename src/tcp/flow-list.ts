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
   * Inserts `c` by `listedTouch` (the list is kept in that order), after the
   * flows with the same value: walks from the end nearer in listedTouch. A
   * flow listed again after recent activity belongs near the tail; one
   * touched just after it was listed (a SYN/ACK after the SYN, an ACK after
   * the data), near the head, where walking from the tail would cross the
   * whole list (every eviction did, under a flood of long-lived flows).
   */
  insertByListed(c: Conn): void {
    const h = this.head, t = this.tail;
    if (h !== null && t !== null && t.listedTouch > c.listedTouch && c.listedTouch - h.listedTouch < t.listedTouch - c.listedTouch) {
      let n: Conn = h;
      while (n.listedTouch <= c.listedTouch) n = n.next!; // stops at the tail at the latest
      const p = n.prev;
      c.prev = p;
      c.next = n;
      if (p === null) this.head = c;
      else p.next = c;
      n.prev = c;
      this.length++;
      return;
    }
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
