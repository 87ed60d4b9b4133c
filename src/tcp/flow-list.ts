/**
 * An intrusive doubly linked list of flows (via Conn.prev/next), ordered by
 * last activity (idle expiry) or by close time (linger expiry). O(1) moves,
 * no allocation.
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

  moveToTail(c: Conn): void {
    if (this.tail === c) return;
    this.remove(c);
    this.pushTail(c);
  }
}
