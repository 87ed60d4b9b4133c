/**
 * ZstdBlockBounds: follows the frame and block structure of a zstd stream
 * (RFC 8878: frame header, 3-byte block headers with their sizes, the
 * optional content checksum, skippable frames) as its bytes go by, so a
 * decoder can be fed slices that end at block boundaries. ZSTD_decompressStream
 * then completes at most one block per call, and a call that fails on a
 * damaged block has decoded nothing else: every block before the damage has
 * already been delivered (a failing call returns no output at all).
 *
 * Bytes that are not a frame (garbage, or a damaged magic number) end the
 * bookkeeping: from there on the whole rest is one slice, and the decoder
 * reports what it finds. Only header fields are looked at byte by byte (a
 * few bytes per block); block bodies are skipped by their length.
 */

const ZSTD_MAGIC = 0xfd2fb528;

const S_MAGIC = 0, S_FHD = 1, S_HEADER = 2, S_BLOCK_HEADER = 3, S_BODY = 4, S_CHECKSUM = 5, S_SKIP_SIZE = 6, S_SKIP_BODY = 7, S_UNKNOWN = 8;

export class ZstdBlockBounds {
  private state = S_MAGIC;
  /** Bytes of the current field collected so far, and their value (little-endian). */
  private have = 0;
  private value = 0;
  /** Bytes left in the current body-like part (header rest, block body, checksum, skippable data). */
  private left = 0;
  private lastBlock = false;
  private checksum = false;
  /**
   * Stream offset of the next byte, and where the part being fed began: the
   * header of the block, the frame's checksum or the frame's magic number.
   */
  offset = 0;
  unitStart = 0;
  /** What starts at `unitStart`. */
  unitKind: 'frame' | 'block' | 'checksum' | 'skippable frame' = 'frame';

  /**
   * How many of the bytes buf[p..end) to feed next: up to and including the
   * last byte of the current block (or checksum, or skippable frame), or all
   * of them when no boundary comes first. The state moves past those bytes.
   */
  take(buf: Uint8Array, p: number, end: number): number {
    const start = p;
    while (p < end) {
      switch (this.state) {
        case S_MAGIC:
        case S_SKIP_SIZE:
        case S_BLOCK_HEADER: {
          if (this.have === 0) {
            this.unitStart = this.offset + (p - start);
            this.unitKind = this.state === S_BLOCK_HEADER ? 'block' : this.state === S_MAGIC ? 'frame' : 'skippable frame';
          }
          const width = this.state === S_BLOCK_HEADER ? 3 : 4;
          this.value += buf[p++]! * 2 ** (8 * this.have);
          if (++this.have < width) break;
          const v = this.value;
          this.have = 0;
          this.value = 0;
          if (this.state === S_BLOCK_HEADER) {
            this.lastBlock = (v & 1) === 1;
            const type = (v >>> 1) & 3;
            this.left = type === 1 ? 1 : v >>> 3;
            this.state = S_BODY;
            if (this.left === 0) {
              this.afterBody(this.offset + (p - start));
              return this.advance(p - start);
            }
          } else if (this.state === S_SKIP_SIZE) {
            this.left = v;
            this.state = S_SKIP_BODY;
            if (v === 0) {
              this.state = S_MAGIC;
              return this.advance(p - start);
            }
          } else if (v === ZSTD_MAGIC) this.state = S_FHD;
          else if ((v & 0xfffffff0) >>> 0 === 0x184d2a50) this.state = S_SKIP_SIZE;
          else {
            this.state = S_UNKNOWN;
            p = end;
          }
          break;
        }
        case S_FHD: {
          const fhd = buf[p++]!;
          const single = (fhd >> 5) & 1;
          this.checksum = ((fhd >> 2) & 1) === 1;
          this.left = (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + [single, 2, 4, 8][fhd >> 6]!;
          this.state = this.left > 0 ? S_HEADER : S_BLOCK_HEADER;
          break;
        }
        case S_HEADER:
        case S_BODY:
        case S_CHECKSUM:
        case S_SKIP_BODY: {
          const n = Math.min(this.left, end - p);
          p += n;
          this.left -= n;
          if (this.left > 0) break;
          if (this.state === S_HEADER) {
            this.state = S_BLOCK_HEADER;
            break;
          }
          if (this.state === S_BODY) this.afterBody(this.offset + (p - start));
          else this.state = S_MAGIC;
          return this.advance(p - start);
        }
        default:
          p = end;
      }
    }
    return this.advance(p - start);
  }

  private advance(n: number): number {
    this.offset += n;
    return n;
  }

  /** A block's last byte went by; `next` is the stream offset after it. */
  private afterBody(next: number): void {
    if (!this.lastBlock) this.state = S_BLOCK_HEADER;
    else if (this.checksum) {
      this.state = S_CHECKSUM;
      this.left = 4;
      this.unitStart = next;
      this.unitKind = 'checksum';
    } else this.state = S_MAGIC;
  }
}
