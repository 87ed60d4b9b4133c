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
 *
 * When the free space behind `end` runs out, the read-ahead goes to the
 * front of the buffer instead (behind a gap of FRONT_GAP bytes, into space
 * the parser has already consumed), and when the parser has used up the back
 * only the unread tail of its last record is moved, into the gap just before
 * the bytes that read brought in: reading ahead copies a partial record per
 * buffer turn instead of the unread half of the buffer (the whole file once
 * more).
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
/** Bytes kept free at the front for the unread tail when a read-ahead goes to the front (a record of up to 256 KB plus its header). */
const FRONT_GAP = (1 << 18) + 64;

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
  /** The read in flight goes to buf[FRONT_GAP..] (in front of `pos`) instead of behind `end`. */
  private aheadFront = false;
  /** Compactions (unread bytes moved to the front) and the bytes they moved; for the benchmark's notes. */
  compactions = 0;
  bytesMoved = 0;

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
    const front = this.aheadFront;
    this.aheadFront = false;
    if (this.aheadError !== null) {
      const e = this.aheadError;
      this.aheadError = null;
      throw e;
    }
    if (front) {
      if (n === 0) {
        this.eof = true;
        return;
      }
      this.joinFront(n);
      return;
    }
    if (n === 0) this.eof = true;
    else this.end += n;
  }

  /**
   * Joins the unread tail [pos, end) and the `n` bytes a read brought in at
   * buf[FRONT_GAP..]: the tail moves into the gap just before them when it
   * fits (it is then less than one record), else the new bytes move behind
   * the tail at the front.
   */
  private joinFront(n: number): void {
    const t = this.end - this.pos;
    if (t <= FRONT_GAP) {
      const to = FRONT_GAP - t;
      if (t > 0) this.buf.copyWithin(to, this.pos, this.end);
      this.compactions++;
      this.bytesMoved += t;
      this.base += this.pos - to;
      this.pos = to;
      this.end = FRONT_GAP + n;
      return;
    }
    // A tail longer than the gap (a huge record): rare, copy both.
    const fresh = Buffer.from(this.buf.subarray(FRONT_GAP, FRONT_GAP + n));
    this.compact();
    fresh.copy(this.buf, this.end);
    this.end += n;
    this.bytesMoved += n;
  }

  /** Moves the unread bytes to the front. */
  private compact(): void {
    this.compactions++;
    this.bytesMoved += this.end - this.pos;
    this.buf.copyWithin(0, this.pos, this.end);
    this.base += this.pos;
    this.end -= this.pos;
    this.pos = 0;
  }

  private startReadAhead(): void {
    if (this.eof || this.ahead !== null || this.source.sync === true) return;
    const quarter = this.buf.length >> 2;
    if (this.buf.length - this.end < quarter && this.pos - FRONT_GAP >= quarter) {
      // The back is (nearly) full and the parser has consumed a quarter of
      // the buffer past the gap: read into that space in front of it.
      this.aheadFront = true;
      this.ahead = this.source.readInto(this.buf, FRONT_GAP, this.pos - FRONT_GAP).catch((e: unknown) => {
        this.aheadError = e;
        return 0;
      });
      return;
    }
    // Make room first: with the unread bytes moved to the front (cheap next to
    // parsing them), the read can fill the rest while the parser works.
    if (this.pos > 0 && this.buf.length - this.end < this.buf.length >> 1) this.compact();
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
      this.compact();
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
    this.aheadFront = false;
    this.eof = true;
    await this.source.close();
  }
}
