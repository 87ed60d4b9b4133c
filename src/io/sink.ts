/**
 * TextSink: batched, backpressure-aware writing to a Writable (stdout or a
 * file). Strings are gathered into one batch and written when it passes
 * `batchBytes`; Buffers (already batched by their producer, such as
 * csvtool's row writer) go out directly after any pending text. A write that
 * reports a full buffer makes the next `ready()` wait for 'drain' (or
 * 'close'), so a slow consumer slows the producer.
 * EPIPE (the reader went away, as with `| head`) marks the sink closed; the
 * producer checks `closed` and stops quietly.
 */
import type { Writable } from 'node:stream';
import { drained } from './drained.js';

export class TextSink {
  private parts: string[] = [];
  private size = 0;
  private readonly out: Writable;
  private readonly batchBytes: number;
  private waiting: Promise<void> | null = null;
  closed = false;
  error: Error | null = null;
  /** UTF-16 units or bytes handed to the destination (a cheap progress measure). */
  charsWritten = 0;

  constructor(out: Writable, batchBytes = 1 << 16) {
    this.out = out;
    this.batchBytes = batchBytes;
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
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.batchBytes) {
      this.push();
      return this.waiting !== null;
    }
    return false;
  }

  private push(): void {
    if (this.parts.length === 0 || this.closed) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.size = 0;
    this.send(text);
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
