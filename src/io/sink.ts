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
  /** A written batch that may be filled again (see push). */
  private spare: Buffer | null = null;
  /**
   * Whether a batch may be reused once the destination took it synchronously
   * (writableLength 0 after the write). Only for a destination that copies
   * what it is given during the write, such as a SyncFileStream or
   * process.stdout: a file there is written with writeSync, and a pipe or
   * terminal write that completes at once leaves nothing queued. Other
   * Writables may keep the chunk itself.
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
      this.batch = this.spare ?? Buffer.allocUnsafe(2 * this.batchBytes);
      this.spare = null;
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
    this.send(chunk);
    // one 128 KB buffer instead of a new one per 64 KB written: 2-3 % of a flows-mode run
    if (this.reusable && this.out.writableLength === 0) this.spare = b;
  }

  private send(chunk: string | Buffer): void {
    this.charsWritten += chunk.length;
    const ok = this.out.write(chunk);
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
