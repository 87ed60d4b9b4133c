/**
 * Byte sources: a file descriptor read straight into the window's buffer (no
 * intermediate chunk), or any async iterable of chunks (stdin, decompressors).
 */
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ByteSource } from './window.js';

/** Reads of at least this many bytes are split in two concurrent reads. */
const SPLIT_READ = 1 << 20;

/**
 * A regular file, read on libuv's thread pool: the window starts the next
 * read while the parser works on the bytes before it.
 */
export class FileSource implements ByteSource {
  private readonly fh: FileHandle;
  private position: number;
  constructor(fh: FileHandle, position = 0) {
    this.fh = fh;
    this.position = position;
  }
  async readInto(dst: Buffer, off: number, max: number): Promise<number> {
    if (max <= 0) return 0;
    if (max < SPLIT_READ) {
      const { bytesRead } = await this.fh.read(dst, off, max, this.position);
      this.position += bytesRead;
      return bytesRead;
    }
    // Two halves read at once on two pool threads: one thread's copy out of
    // the page cache did not keep up with the parser (the main thread waited
    // for 10 % of the run on the benchmark capture).
    const half = max >> 1;
    const [a, b] = await Promise.all([this.fh.read(dst, off, half, this.position), this.fh.read(dst, off + half, max - half, this.position + half)]);
    // bytes after a short first half are not contiguous with it: read again later
    const n = a.bytesRead < half ? a.bytesRead : half + b.bytesRead;
    this.position += n;
    return n;
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Largest single read (128, 256 and 512 KB measured equal, docs/bench.md; the bytes should still be in cache when the parser gets to them). */
const READ_CHUNK = 1 << 18;

/** Bytes read between two turns of the event loop. */
const YIELD_EVERY = 1 << 24;

/**
 * A regular file, read with positional `readSync` calls on the calling
 * thread, on demand (`sync`: the window does not read ahead). See FileReads
 * in src/io/input.ts for when each file source is used.
 *
 * A read resolves at once, so a parser that awaits only reads would never
 * give the event loop a turn: signal handlers (Ctrl-C), timers (the progress
 * line) and asynchronous output would wait for the end of the file. Every
 * YIELD_EVERY bytes a read therefore waits for one turn (setImmediate, about
 * 80 waits per GB).
 */
export class SyncFileSource implements ByteSource {
  readonly sync = true;
  private readonly fh: FileHandle;
  private position: number;
  private nextYield = YIELD_EVERY;
  constructor(fh: FileHandle, position = 0) {
    this.fh = fh;
    this.position = position;
  }
  async readInto(dst: Buffer, off: number, max: number): Promise<number> {
    if (max <= 0) return 0;
    if (this.position >= this.nextYield) {
      this.nextYield = this.position + YIELD_EVERY;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
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
