/**
 * ByteSink: writes Buffers to a Writable (stdout) with the same contract as
 * src/io/sink.ts's TextSink (backpressure through ready(), EPIPE marks the
 * sink closed) but without turning bytes into strings: the CSV writer hands
 * over whole buffers it no longer uses. (Candidate for src/io/sink.ts.)
 */
import type { Writable } from 'node:stream';

export class ByteSink {
  private readonly out: Writable;
  private waiting: Promise<void> | null = null;
  closed = false;
  error: Error | null = null;
  bytesWritten = 0;

  constructor(out: Writable) {
    this.out = out;
    out.on('error', (e: NodeJS.ErrnoException) => {
      this.closed = true;
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') this.error = e;
    });
    out.on('close', () => {
      this.closed = true;
    });
  }

  /** Writes a chunk the caller will not touch again; true when the caller should `await ready()`. */
  write(chunk: Buffer | string): boolean {
    if (this.closed || chunk.length === 0) return false;
    this.bytesWritten += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (!this.out.write(chunk) && this.waiting === null) {
      this.waiting = new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off('drain', done);
          this.out.off('close', done);
          this.out.off('error', done);
          this.waiting = null;
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
        this.out.on('error', done);
      });
    }
    return this.waiting !== null;
  }

  /** Resolves when the destination can take more. */
  async ready(): Promise<void> {
    if (this.waiting) await this.waiting;
  }

  /** Waits until everything written was accepted. */
  async flush(): Promise<void> {
    await this.ready();
  }
}
