/**
 * A first-in first-out queue over an array and a head index: `shift()` costs
 * O(1), and the consumed front is dropped with one slice once it is more than
 * half of the array (and more than `minDrop` items), so memory follows the
 * items still queued.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private readonly minDrop: number;

  constructor(minDrop = 1024) {
    this.minDrop = minDrop;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  /** The oldest item, or undefined when the queue is empty. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** Removes and returns the oldest item, or undefined when the queue is empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined; // collectable before the next drop
    if (this.head > this.minDrop && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}
