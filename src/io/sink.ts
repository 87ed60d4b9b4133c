/**
 * TextSink: batched, backpressure-aware writing to a Writable (stdout or a
 * file). Strings are encoded (UTF-8) straight into one batch buffer, which is
 * written when it passes `batchBytes` (one copy per string: gathering the
 * strings and joining them first cost a second pass over every byte);
 * Buffers (already batched by their producer, such as
 * csvtool's row writer) go out directly after any pending text. A write that
 * reports a full buffer makes the next `ready()` wait for 'drain' (or
 * 'close'), so a slow consumer slows the producer.
 * EPIPE (the reader went away, as with `| head`) marks the sink closed; the
 * producer checks `closed` and stops quietly.
 */
import type { Writable } from 'node:stream';
import { drained } from './drained.js';

export class TextSink {
  private batch: Buffer | null = null;
  /** Written batches that may be filled again (see push). */
  private readonly spare: Buffer[] = [];
  /**
   * Whether a batch may be reused once its write's callback came. Only for a
   * destination that is done with a chunk when it calls back, such as a
   * SyncFileStream or process.stdout (a file written with writeSync, a pipe
   * or terminal by libuv). Other Writables (a compressor) may keep the chunk.
   */
  private readonly reusable: boolean;
  private pos = 0;
  private readonly out: Writable;
  private readonly batchBytes: number;
  private waiting: Promise<void> | null = null;
  closed = false;
  error: Error | null = null;
  /** Bytes handed to the destination (a cheap progress measure; strings larger than a batch count UTF-16 units). */
  charsWritten = 0;

  constructor(out: Writable, batchBytes = 1 << 16, reuseBatches = false) {
    this.out = out;
    this.batchBytes = batchBytes;
    this.reusable = reuseBatches;
    out.on('error', (e: NodeJS.ErrnoException) => {
      this.closed = true;
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') this.error = e;
    });
    out.on('close', () => {
      this.closed = true;
    });
  }

  /**
   * Queues text, or writes a Buffer the caller will not touch again; returns
   * true when the caller should `await sink.ready()`.
   */
  write(text: string | Buffer): boolean {
    if (this.closed) return false;
    if (typeof text !== 'string') {
      this.push();
      if (text.length > 0) this.send(text);
      return this.waiting !== null;
    }
    // at most 3 bytes per UTF-16 unit
    const most = text.length * 3;
    if (this.batch === null || this.pos + most > this.batch.length) {
      this.push();
      if (most > this.batchBytes) {
        this.send(text);
        return this.waiting !== null;
      }
      this.batch = this.spare.pop() ?? Buffer.allocUnsafe(2 * this.batchBytes);
    }
    this.pos += this.batch.write(text, this.pos);
    if (this.pos >= this.batchBytes) {
      this.push();
      return this.waiting !== null;
    }
    return false;
  }

  private push(): void {
    const b = this.batch;
    if (b === null || this.pos === 0 || this.closed) return;
    const chunk = b.subarray(0, this.pos);
    this.batch = null;
    this.pos = 0;
    // A few 128 KB buffers instead of a new one per 64 KB written: 2-3 % of a flows-mode run, and
    // with a slow reader (a pipe) each new one was external memory that set off a full garbage
    // collection now and then: most of the run with a 500 MB heap of flows. A buffer comes back
    // at once when the destination took it synchronously, else when the write's callback says
    // the destination is done with it.
    if (!this.reusable) {
      this.send(chunk);
      return;
    }
    let back = false;
    const done = (): void => {
      if (back) return;
      back = true;
      this.recycle(b);
    };
    this.send(chunk, done);
    // taken synchronously (a file, or a pipe with room): free at once, the callback comes later
    if (this.out.writableLength === 0) done();
  }

  private recycle(b: Buffer): void {
    if (this.spare.length < 4) this.spare.push(b);
  }

  /** Writes `chunk`; `done` is the write's callback (the destination is done with the chunk). */
  private send(chunk: string | Buffer, done?: () => void): void {
    this.charsWritten += chunk.length;
    const ok = done !== undefined ? this.out.write(chunk, done) : this.out.write(chunk);
    if (!ok && this.waiting === null) {
      this.waiting = drained(this.out).then(() => {
        this.waiting = null;
      });
    }
  }

  /** Resolves when the destination can take more. */
  async ready(): Promise<void> {
    if (this.waiting) await this.waiting;
  }

  /** Writes everything queued and waits until the destination accepted it. */
  async flush(): Promise<void> {
    this.push();
    await this.ready();
  }
}
