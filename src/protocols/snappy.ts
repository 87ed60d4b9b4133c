/**
 * A raw Snappy block decoder (github.com/google/snappy, format_description.txt),
 * for MongoDB's OP_COMPRESSED with compressor 1: a varint of the
 * uncompressed length, then literals and back-references. Bounded: it
 * refuses a block whose stated length is over `max` before allocating, and
 * checks every literal and copy against the input and the output (a copy
 * reaching before the output's start, a literal past the input, or an
 * output that ends short or long of the stated length all fail). Returns
 * the bytes, or a string saying what was wrong.
 */

export function snappyUncompress(src: Uint8Array, off: number, end: number, max: number): Uint8Array | string {
  // varint length (at most 5 bytes for 32 bits)
  let n = 0, shift = 0, p = off;
  for (;;) {
    if (p >= end || shift > 28) return 'bad snappy length';
    const c = src[p++]!;
    n += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) break;
    shift += 7;
  }
  if (n > max) return `snappy block of ${n} bytes over the ${max}-byte limit`;
  const out = new Uint8Array(n);
  let o = 0;
  while (p < end) {
    const tag = src[p++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (p + extra > end) return 'snappy literal length cut';
        len = 0;
        for (let i = 0; i < extra; i++) len += src[p + i]! * 2 ** (8 * i);
        p += extra;
      }
      len += 1;
      if (p + len > end || o + len > n) return 'snappy literal overruns';
      out.set(src.subarray(p, p + len), o);
      p += len;
      o += len;
      continue;
    }
    let len: number, dist: number;
    if (kind === 1) {
      if (p >= end) return 'snappy copy cut';
      len = ((tag >> 2) & 7) + 4;
      dist = ((tag >> 5) << 8) | src[p++]!;
    } else if (kind === 2) {
      if (p + 2 > end) return 'snappy copy cut';
      len = (tag >> 2) + 1;
      dist = src[p]! | (src[p + 1]! << 8);
      p += 2;
    } else {
      if (p + 4 > end) return 'snappy copy cut';
      len = (tag >> 2) + 1;
      dist = (src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24)) >>> 0;
      p += 4;
    }
    if (dist === 0 || dist > o || o + len > n) return 'snappy copy out of range';
    // byte by byte: a copy may overlap what it writes (a run)
    for (let i = 0; i < len; i++, o++) out[o] = out[o - dist]!;
  }
  return o === n ? out : 'snappy block shorter than its length';
}
