/**
 * ByteWindow: a reusable read buffer over a byte source. Parsers ask for
 * `need` contiguous bytes at `pos`; when fewer are buffered, the unread tail is
 * moved to the front (copyWithin) and more is read behind it. One buffer is
 * reused for the whole input, so framing allocates nothing per record; views
 * into `buf` stay valid until the next `fill()` call (gopacket's
 * ZeroCopyReadPacketData contract).
 *
 * Read-ahead: after a fill, the next read into the free space behind `end`
 * is started at once, so an asynchronous source (a file read on libuv's
 * thread pool, a decompressor, a pipe) works while the parser consumes
 * [pos, end). The parser never touches that free space, and every fill,
 * compaction, growth or close first waits for the read in flight. A
 * synchronous source (a regular file read with readSync) is read on demand
 * instead: only the unread part of a record is moved to the front, and the
 * bytes a read brings in are parsed while they are still in cache.
 */
import { ToolError } from '../util/errors.js';

export interface ByteSource {
  /** Reads up to `max` bytes into dst[off..]; resolves 0 at end of input. */
  readInto(dst: Buffer, off: number, max: number): Promise<number>;
  close(): Promise<void>;
  /** True when a read is done before readInto returns (a file read with readSync): reading ahead would gain nothing, so the window reads on demand. */
  readonly sync?: boolean;
}

/** Free space below which no read-ahead is started (the next fill compacts first). */
const MIN_READ_AHEAD = 1 << 16;

export class ByteWindow {
  buf: Buffer;
  /** First unread byte in `buf`. */
  pos = 0;
  /** End of valid data in `buf`. */
  end = 0;
  /** Input offset of buf[0] (in the decompressed stream). */
  base = 0;
  eof = false;
  private readonly source: ByteSource;
  private readonly maxSize: number;
  readonly name: string;
  private ahead: Promise<number> | null = null;
  private aheadError: unknown = null;

  constructor(source: ByteSource, name: string, initialSize = 1 << 22, maxSize = 1 << 30) {
    this.source = source;
    this.name = name;
    this.buf = Buffer.allocUnsafe(initialSize);
    this.maxSize = maxSize;
  }

  /** Bytes buffered and not yet consumed. */
  get available(): number {
    return this.end - this.pos;
  }

  /** Input offset of `pos`. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Waits for the read-ahead in flight, if any, and takes its bytes. */
  private async settle(): Promise<void> {
    const a = this.ahead;
    if (a === null) return;
    this.ahead = null;
    const n = await a;
    if (this.aheadError !== null) {
      const e = this.aheadError;
      this.aheadError = null;
      throw e;
    }
    if (n === 0) this.eof = true;
    else this.end += n;
  }

  private startReadAhead(): void {
    if (this.eof || this.ahead !== null || this.source.sync === true) return;
    // Make room first: with the unread bytes moved to the front (cheap next to
    // parsing them), the read can fill the rest while the parser works.
    if (this.pos > 0 && this.buf.length - this.end < this.buf.length >> 1) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    const room = this.buf.length - this.end;
    if (room < MIN_READ_AHEAD) return;
    this.ahead = this.source.readInto(this.buf, this.end, room).catch((e: unknown) => {
      this.aheadError = e;
      return 0;
    });
  }

  /**
   * Makes at least `need` bytes available at `pos`, reading as required.
   * Resolves false when the input ends first (what is buffered stays).
   */
  async fill(need: number): Promise<boolean> {
    if (this.end - this.pos >= need) return true;
    await this.settle();
    if (this.end - this.pos >= need) {
      this.startReadAhead();
      return true;
    }
    if (need > this.buf.length) {
      if (need > this.maxSize) {
        throw new ToolError('INPUT_RECORD_TOO_LARGE', `a record of ${need} bytes exceeds the ${this.maxSize}-byte limit`, {
          file: this.name,
          offset: this.offset,
        });
      }
      let size = this.buf.length;
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(Math.min(size, this.maxSize));
      this.buf.copy(next, 0, this.pos, this.end);
      this.buf = next;
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    } else if (this.pos > 0 && this.buf.length - this.pos < need) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    while (this.end - this.pos < need) {
      if (this.eof) return false;
      // Read about half the buffer now and leave the rest to the read-ahead,
      // which then runs while the parser works through these bytes.
      const want = Math.max(need - (this.end - this.pos), this.buf.length >> 1);
      const n = await this.source.readInto(this.buf, this.end, Math.min(want, this.buf.length - this.end));
      if (n === 0) {
        this.eof = true;
        return false;
      }
      this.end += n;
    }
    this.startReadAhead();
    return true;
  }

  /** Reads more if the buffer has room; resolves false at end of input. */
  async more(): Promise<boolean> {
    return this.fill(this.end - this.pos + 1);
  }

  /**
   * Closes the source without waiting for a read-ahead in flight (a pipe's
   * writer may never send more); that read's result is discarded.
   */
  async close(): Promise<void> {
    this.ahead = null;
    this.eof = true;
    await this.source.close();
  }
}
