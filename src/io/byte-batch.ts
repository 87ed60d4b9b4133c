/**
 * ByteBatch: bytes gathered into one buffer and handed to a target (a
 * TextSink) when it is full, so producers that copy many small pieces (lines
 * passed through by tcpfilter, packets written by the capture writers) make
 * one write per 256 KiB instead of one per piece. A handed-off buffer is
 * never touched again (a new one is allocated), as TextSink requires.
 */

/** Where batches go: returns true when the producer should wait (backpressure). */
export interface ByteTarget {
  write(chunk: Buffer): boolean;
}

const BATCH = 1 << 18;

export class ByteBatch {
  buf = Buffer.allocUnsafe(BATCH);
  pos = 0;
  private wait = false;

  constructor(protected readonly target: ByteTarget) {}

  /** Makes room for `n` more bytes at `pos` (handing the batch off when full). */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.handOff();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  /** Copies `src[start, end)` and, when `newline`, a `\n`; true when the producer should wait. */
  append(src: Uint8Array, start: number, end: number, newline = false): boolean {
    const n = end - start + (newline ? 1 : 0);
    this.reserve(n);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += end - start;
    if (newline) this.buf[this.pos++] = 0x0a;
    return this.taken();
  }

  private handOff(): void {
    if (this.pos === 0) return;
    if (this.target.write(this.buf.subarray(0, this.pos))) this.wait = true;
    this.buf = Buffer.allocUnsafe(Math.max(BATCH, this.buf.length));
    this.pos = 0;
  }

  /** Hands everything gathered to the target; true when the producer should wait. */
  flush(): boolean {
    this.handOff();
    return this.taken();
  }

  /** Whether a hand-off since the last call asked the producer to wait (and clears it). */
  taken(): boolean {
    const w = this.wait;
    this.wait = false;
    return w;
  }
}
