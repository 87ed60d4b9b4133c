/**
 * A single-producer single-consumer ring of numbers in shared memory, for
 * handing a stream of small records (entries of a few Float64 words) from
 * one thread to another without messages or copies of objects.
 *
 * Entries never straddle the end of the ring: when one does not fit, the
 * writer leaves a WRAP word and starts again at 0. Positions are published
 * with Atomics (sequentially consistent, so words written before a publish
 * are visible to the reader after it loads the position); each side sleeps
 * with Atomics.wait only when it must, and is woken only when it said it
 * sleeps. The writer publishes in batches (`publish()`), so the reader sees
 * complete entries only.
 */

/** Control words (Int32Array indexes). */
const WRITE = 0, READ = 1, READER_WAITS = 2, WRITER_WAITS = 3, DONE = 4;
const CONTROL_WORDS = 8;

/** Word that sends the reader back to position 0. */
export const RING_WRAP = -1;

export interface SharedRing {
  /** Shared buffers to hand to the other thread. */
  data: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export function createSharedRing(words: number): SharedRing {
  return { data: new SharedArrayBuffer(words * 8), control: new SharedArrayBuffer(CONTROL_WORDS * 4) };
}

export class RingWriter {
  readonly f: Float64Array;
  private readonly ctl: Int32Array;
  private readonly cap: number;
  /** Next free word (not yet published). */
  pos = 0;
  /** Times the writer had to wait for the reader (a full ring). */
  waits = 0;

  constructor(ring: SharedRing) {
    this.f = new Float64Array(ring.data);
    this.ctl = new Int32Array(ring.control);
    this.cap = this.f.length;
  }

  /**
   * Returns the position where `n` words may be written (then `pos` must be
   * set past them). Waits while the reader has not made room.
   */
  reserve(n: number): number {
    const cap = this.cap;
    if (n * 4 > cap) throw new Error(`ring entry of ${n} words is too large for a ring of ${cap}`);
    for (;;) {
      const w = this.pos;
      const r = Atomics.load(this.ctl, READ);
      if (r <= w) {
        if (cap - w > n) return w;
        // wrap, unless the reader still needs the start of the ring
        if (r > n) {
          this.f[w] = RING_WRAP;
          this.pos = 0;
          return 0;
        }
      } else if (r - 1 - w >= n) return w;
      this.waitForReader(r);
    }
  }

  private waitForReader(r: number): void {
    this.waits++;
    this.publish();
    Atomics.store(this.ctl, WRITER_WAITS, 1);
    if (Atomics.load(this.ctl, READ) === r) Atomics.wait(this.ctl, READ, r, 100);
    Atomics.store(this.ctl, WRITER_WAITS, 0);
  }

  /** Makes everything written so far visible to the reader. */
  publish(): void {
    Atomics.store(this.ctl, WRITE, this.pos);
    if (Atomics.load(this.ctl, READER_WAITS) !== 0) Atomics.notify(this.ctl, WRITE);
  }

  /** Publishes and tells the reader nothing more will come. */
  close(): void {
    this.publish();
    Atomics.store(this.ctl, DONE, 1);
    Atomics.notify(this.ctl, WRITE);
  }
}

export class RingReader {
  readonly f: Float64Array;
  private readonly ctl: Int32Array;
  /** Next word to read. */
  pos = 0;

  constructor(ring: SharedRing) {
    this.f = new Float64Array(ring.data);
    this.ctl = new Int32Array(ring.control);
  }

  /**
   * The published end of the entries to read (wait for more when it equals
   * `pos`); -1 when the writer closed the ring and everything was read.
   */
  available(): number {
    for (;;) {
      const w = Atomics.load(this.ctl, WRITE);
      if (w !== this.pos) return w;
      if (Atomics.load(this.ctl, DONE) !== 0 && Atomics.load(this.ctl, WRITE) === this.pos) return -1;
      this.release();
      Atomics.store(this.ctl, READER_WAITS, 1);
      if (Atomics.load(this.ctl, WRITE) === w && Atomics.load(this.ctl, DONE) === 0) Atomics.wait(this.ctl, WRITE, w, 100);
      Atomics.store(this.ctl, READER_WAITS, 0);
    }
  }

  /** Gives the words read so far back to the writer. */
  release(): void {
    Atomics.store(this.ctl, READ, this.pos);
    if (Atomics.load(this.ctl, WRITER_WAITS) !== 0) Atomics.notify(this.ctl, READ);
  }
}
