/**
 * Byte sources: a file descriptor read straight into the window's buffer (no
 * intermediate chunk), or any async iterable of chunks (stdin, decompressors).
 */
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ByteSource } from './window.js';

/** Largest single read: small enough that the bytes a read brings in are still in this core's L2 cache when the parser gets to them. */
const READ_CHUNK = 1 << 18;

/**
 * A regular file, read with positional `readSync` calls on the calling
 * thread, on demand (`sync`: the window does not read ahead).
 *
 * Measured on the benchmark capture (docs/bench.md): against reads on
 * libuv's thread pool started ahead of the parser, the same wall time on a
 * quiet 2-vCPU machine with 8-10 % less CPU time, and 11 % less wall time
 * while another process keeps one vCPU busy (the pool threads then compete
 * with the parser for the one vCPU left). From a cold page cache the kernel's
 * own sequential read-ahead keeps the two equal.
 */
export class FileSource implements ByteSource {
  readonly sync = true;
  private readonly fh: FileHandle;
  private position: number;
  constructor(fh: FileHandle, position = 0) {
    this.fh = fh;
    this.position = position;
  }
  async readInto(dst: Buffer, off: number, max: number): Promise<number> {
    if (max <= 0) return 0;
    const n = readSync(this.fh.fd, dst, off, max < READ_CHUNK ? max : READ_CHUNK, this.position);
    this.position += n;
    return n;
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Copies from an async iterable of chunks, keeping the unread part of a chunk. */
export class IterableSource implements ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private pending: Uint8Array | null = null;
  private pendingOff = 0;
  private readonly onClose: () => Promise<void>;
  private readonly mapError: (e: unknown) => unknown;

  constructor(iterable: AsyncIterable<Uint8Array>, onClose: () => Promise<void> = async () => {}, mapError: (e: unknown) => unknown = (e) => e) {
    this.it = iterable[Symbol.asyncIterator]();
    this.onClose = onClose;
    this.mapError = mapError;
  }

  async readInto(dst: Buffer, off: number, max: number): Promise<number> {
    if (max <= 0) return 0;
    while (this.pending === null || this.pendingOff >= this.pending.length) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await this.it.next();
      } catch (e) {
        throw this.mapError(e);
      }
      if (r.done) return 0;
      this.pending = r.value;
      this.pendingOff = 0;
    }
    const n = Math.min(max, this.pending.length - this.pendingOff);
    dst.set(this.pending.subarray(this.pendingOff, this.pendingOff + n), off);
    this.pendingOff += n;
    return n;
  }

  /**
   * Ends the iteration without waiting for it: a read-ahead may be parked in
   * `next()` on a pipe whose writer never sends more, and an async generator
   * runs `return()` only after that `next()` settles.
   */
  async close(): Promise<void> {
    this.it.return?.()?.catch(() => {
      // closing a failed stream is not a second error
    });
    await this.onClose();
  }
}
