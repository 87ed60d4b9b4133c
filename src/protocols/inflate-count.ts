/**
 * InflateCounter: the uncompressed length of a gzip (RFC 1952), zlib
 * (RFC 1950) or raw deflate (RFC 1951) stream, fed in chunks cut anywhere,
 * without producing the output: literals count one byte, matches their
 * length, stored blocks their size. No window and no output buffer, so a
 * decompression bomb costs CPU time in proportion to its compressed size
 * times at most 258, never memory (Packetbeat decodes bodies under a 10 MB
 * cap instead).
 *
 * The decoder is puff's (zlib's contrib/puff, a reference inflater)
 * canonical-Huffman scheme, written as a generator so that it can stop for
 * input at any bit and resume with the next chunk. Concatenated gzip members
 * are counted one after another. On malformed input the count is abandoned:
 * `finish(raw)` then returns `raw`, the caller's count of compressed bytes.
 */

const MAXBITS = 15;
const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A canonical Huffman code: counts of codes per length and the symbols in code order. */
interface Huffman {
  count: Int16Array;
  symbol: Int16Array;
}

/** Builds a code from code lengths; false when the lengths over-subscribe the code. */
function build(h: Huffman, lengths: ArrayLike<number>, n: number): boolean {
  h.count.fill(0);
  for (let i = 0; i < n; i++) h.count[lengths[i]!]!++;
  if (h.count[0] === n) return true;
  let left = 1;
  for (let len = 1; len <= MAXBITS; len++) {
    left <<= 1;
    left -= h.count[len]!;
    if (left < 0) return false;
  }
  const offs = new Int16Array(MAXBITS + 1);
  for (let len = 1; len < MAXBITS; len++) offs[len + 1] = offs[len]! + h.count[len]!;
  for (let i = 0; i < n; i++) if (lengths[i] !== 0) h.symbol[offs[lengths[i]!]!++] = i;
  return true;
}

function huffman(symbols: number): Huffman {
  return { count: new Int16Array(MAXBITS + 1), symbol: new Int16Array(symbols) };
}

const fixedLit = huffman(288);
const fixedDist = huffman(30);
{
  const l = new Uint8Array(288);
  for (let i = 0; i < 288; i++) l[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
  build(fixedLit, l, 288);
  build(fixedDist, new Uint8Array(30).fill(5), 30);
}

const NEED = Symbol('need input');
type Step = Generator<typeof NEED, void, void>;

export class InflateCounter {
  /** Uncompressed bytes counted so far. */
  out = 0;
  /** Malformed input: the count is abandoned. */
  failed = false;
  /** The last deflate block of the stream (or gzip member) was read. */
  private ended = false;
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;
  private bitbuf = 0;
  private bitcnt = 0;
  private readonly gen: Step;
  private readonly lit = huffman(288);
  private readonly dist = huffman(30);
  private readonly lengths = new Uint8Array(320);

  constructor(private readonly wrapper: 'gzip' | 'deflate') {
    this.gen = this.run();
  }

  push(buf: Uint8Array, off: number, n: number): void {
    if (this.failed || n <= 0) return;
    this.buf = buf;
    this.pos = off;
    this.end = off + n;
    try {
      this.gen.next();
    } catch {
      this.failed = true;
    }
    this.buf = EMPTY;
  }

  /** The uncompressed length, or `raw` when the stream was malformed or cut short. */
  finish(raw: number): number {
    return this.failed || !this.ended ? raw : this.out;
  }

  /** Waits for a byte; returns it (whole bytes already in the bit buffer first: call align() before). */
  private *byte(): Generator<typeof NEED, number, void> {
    if (this.bitcnt >= 8) return this.take(8);
    while (this.pos >= this.end) yield NEED;
    return this.buf[this.pos++]!;
  }

  /** Drops the bits left of the current byte (before stored data and trailers). */
  private align(): void {
    this.take(this.bitcnt & 7);
  }

  /** `n` bits (n <= 24), least significant first. */
  private *bits(n: number): Generator<typeof NEED, number, void> {
    while (this.bitcnt < n) {
      while (this.pos >= this.end) yield NEED;
      this.bitbuf |= this.buf[this.pos++]! << this.bitcnt;
      this.bitcnt += 8;
    }
    const v = this.bitbuf & ((1 << n) - 1);
    this.bitbuf >>>= n;
    this.bitcnt -= n;
    return v;
  }

  /** Moves input bytes into the bit buffer while it has room (no waiting). */
  private fill(): number {
    while (this.bitcnt <= 24 && this.pos < this.end) {
      this.bitbuf |= this.buf[this.pos++]! << this.bitcnt;
      this.bitcnt += 8;
    }
    return this.bitcnt;
  }

  /** `n` bits from the bit buffer, which holds at least n. */
  private take(n: number): number {
    const v = this.bitbuf & ((1 << n) - 1);
    this.bitbuf >>>= n;
    this.bitcnt -= n;
    return v;
  }

  /** A symbol from the bit buffer, which holds at least MAXBITS bits (the common case: no generator per symbol). */
  private decodeNow(h: Huffman): number {
    let code = 0, first = 0, index = 0, bb = this.bitbuf;
    for (let len = 1; len <= MAXBITS; len++) {
      code |= bb & 1;
      bb >>>= 1;
      const count = h.count[len]!;
      if (code - count < first) {
        this.bitbuf = bb;
        this.bitcnt -= len;
        return h.symbol[index + (code - first)]!;
      }
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    throw new Error('bad code');
  }

  private *decode(h: Huffman): Generator<typeof NEED, number, void> {
    if (this.fill() >= MAXBITS) return this.decodeNow(h);
    let code = 0, first = 0, index = 0;
    for (let len = 1; len <= MAXBITS; len++) {
      code |= yield* this.bits(1);
      const count = h.count[len]!;
      if (code - count < first) return h.symbol[index + (code - first)]!;
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    throw new Error('bad code');
  }

  private *run(): Step {
    for (;;) {
      if (this.wrapper === 'gzip') yield* this.gzipHeader();
      else yield* this.zlibHeader();
      this.ended = false;
      let last = 0;
      do {
        last = yield* this.bits(1);
        const type = yield* this.bits(2);
        if (type === 0) yield* this.stored();
        else if (type === 1) yield* this.codes(fixedLit, fixedDist);
        else if (type === 2) {
          yield* this.dynamic();
          yield* this.codes(this.lit, this.dist);
        } else throw new Error('bad block type');
      } while (!last);
      this.ended = true;
      this.align();
      // trailer: gzip CRC32 + ISIZE, zlib Adler-32; then maybe another gzip member
      for (let i = 0; i < (this.wrapper === 'gzip' ? 8 : this.zlib ? 4 : 0); i++) yield* this.byte();
      if (this.wrapper !== 'gzip') {
        // anything after a deflate stream is not counted
        for (;;) yield NEED;
      }
    }
  }

  private zlib = false;

  private *zlibHeader(): Step {
    // RFC 1950 header when the first two bytes make one, else raw deflate (servers send both as "deflate")
    while (this.pos >= this.end) yield NEED;
    const b0 = this.buf[this.pos]!;
    if ((b0 & 0x0f) !== 8) return;
    if (this.pos + 1 >= this.end) {
      // the header test needs both bytes: take the first and peek at the next chunk
      this.pos++;
      const b1 = yield* this.byte();
      if ((b0 * 256 + b1) % 31 === 0) {
        this.zlib = true;
        if (b1 & 0x20) for (let i = 0; i < 4; i++) yield* this.byte();
        return;
      }
      // raw deflate after all: feed both bytes to the bit reader
      this.bitbuf = b0 | (b1 << 8);
      this.bitcnt = 16;
      return;
    }
    const b1 = this.buf[this.pos + 1]!;
    if ((b0 * 256 + b1) % 31 !== 0) return;
    this.pos += 2;
    this.zlib = true;
    if (b1 & 0x20) for (let i = 0; i < 4; i++) yield* this.byte();
  }

  private *gzipHeader(): Step {
    if ((yield* this.byte()) !== 0x1f || (yield* this.byte()) !== 0x8b || (yield* this.byte()) !== 8) throw new Error('not gzip');
    const flg = yield* this.byte();
    for (let i = 0; i < 6; i++) yield* this.byte();
    if (flg & 4) {
      const n = (yield* this.byte()) | ((yield* this.byte()) << 8);
      for (let i = 0; i < n; i++) yield* this.byte();
    }
    if (flg & 8) while ((yield* this.byte()) !== 0);
    if (flg & 16) while ((yield* this.byte()) !== 0);
    if (flg & 2) {
      yield* this.byte();
      yield* this.byte();
    }
  }

  private *stored(): Step {
    this.align();
    const len = (yield* this.byte()) | ((yield* this.byte()) << 8);
    const nlen = (yield* this.byte()) | ((yield* this.byte()) << 8);
    if (len !== (~nlen & 0xffff)) throw new Error('bad stored length');
    let left = len;
    while (left > 0 && this.bitcnt >= 8) {
      this.take(8);
      left--;
      this.out++;
    }
    while (left > 0) {
      while (this.pos >= this.end) yield NEED;
      const n = Math.min(left, this.end - this.pos);
      this.pos += n;
      left -= n;
      this.out += n;
    }
  }

  private *codes(lit: Huffman, dist: Huffman): Step {
    for (;;) {
      // with 15 bits buffered a symbol needs no generator; near the end of a chunk, the waiting path
      let sym = this.fill() >= MAXBITS ? this.decodeNow(lit) : yield* this.decode(lit);
      if (sym < 256) {
        this.out++;
        continue;
      }
      if (sym === 256) return;
      sym -= 257;
      if (sym >= 29) throw new Error('bad length symbol');
      const le = LEN_EXTRA[sym]!;
      const len = LEN_BASE[sym]! + (this.fill() >= le ? this.take(le) : yield* this.bits(le));
      const d = this.fill() >= MAXBITS ? this.decodeNow(dist) : yield* this.decode(dist);
      if (d >= 30) throw new Error('bad distance symbol');
      const de = DIST_EXTRA[d]!;
      if (this.fill() >= de) this.take(de);
      else yield* this.bits(de);
      this.out += len;
    }
  }

  private *dynamic(): Step {
    const nlen = (yield* this.bits(5)) + 257;
    const ndist = (yield* this.bits(5)) + 1;
    const ncode = (yield* this.bits(4)) + 4;
    if (nlen > 286 || ndist > 30) throw new Error('bad counts');
    const lengths = this.lengths;
    lengths.fill(0);
    for (let i = 0; i < ncode; i++) lengths[CL_ORDER[i]!] = yield* this.bits(3);
    const lencode = huffman(19);
    if (!build(lencode, lengths, 19)) throw new Error('bad code lengths');
    let index = 0;
    while (index < nlen + ndist) {
      const sym = yield* this.decode(lencode);
      if (sym < 16) {
        lengths[index++] = sym;
        continue;
      }
      let len = 0, rep: number;
      if (sym === 16) {
        if (index === 0) throw new Error('repeat with no first length');
        len = lengths[index - 1]!;
        rep = 3 + (yield* this.bits(2));
      } else if (sym === 17) rep = 3 + (yield* this.bits(3));
      else rep = 11 + (yield* this.bits(7));
      if (index + rep > nlen + ndist) throw new Error('too many lengths');
      while (rep--) lengths[index++] = len;
    }
    if (lengths[256] === 0) throw new Error('no end-of-block code');
    if (!build(this.lit, lengths, nlen)) throw new Error('bad literal lengths');
    if (!build(this.dist, lengths.subarray(nlen), ndist)) throw new Error('bad distance lengths');
  }
}

const EMPTY = new Uint8Array(0);
