/**
 * Small byte helpers for the text protocols: a bounded growable buffer,
 * ASCII tests and comparisons on byte ranges, and text from bytes (UTF-8
 * when the bytes are valid UTF-8, else one character per byte, so nothing
 * is lost and nothing throws).
 */

const EMPTY = Buffer.alloc(0);

/** Bytes collected across chunks, never more than `cap`; the buffer is made on the first append (most connections never need some of theirs). */
export class ByteBuf {
  buf: Buffer = EMPTY;
  len = 0;

  constructor(
    private readonly initial: number,
    readonly cap: number,
  ) {}

  /** Appends buf[off, off+n); false (and nothing appended) when that would pass the cap. */
  append(src: Uint8Array, off: number, n: number): boolean {
    const need = this.len + n;
    if (need > this.cap) return false;
    if (need > this.buf.length) {
      let size = Math.max(this.buf.length * 2, this.initial);
      while (size < need) size *= 2;
      const b = Buffer.allocUnsafe(Math.min(size, this.cap));
      this.buf.copy(b, 0, 0, this.len);
      this.buf = b;
    }
    const dst = this.buf;
    if (n <= 64) {
      // short copies without a subarray object
      let d = this.len;
      for (let i = off, e = off + n; i < e; i++) dst[d++] = src[i]!;
    } else dst.set(src.subarray(off, off + n), this.len);
    this.len = need;
    return true;
  }

  clear(): void {
    this.len = 0;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text of buf[start, end): UTF-8 if valid, else Latin-1 (one character per byte). */
export function text(buf: Uint8Array, start: number, end: number): string {
  if (end <= start) return '';
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return latin1(buf, start, end);
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return latin1(buf, start, end);
  }
}

/** One character per byte. */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  if (end <= start) return '';
  // Buffers (the capture window, ByteBuf) decode natively; other arrays in pieces
  if (Buffer.isBuffer(buf)) return buf.toString('latin1', start, end);
  let s = '';
  for (let i = start; i < end; i += 4096) s += String.fromCharCode.apply(null, buf.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  return s;
}

/** `s` cut to `max` characters, with an ellipsis when cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** buf[off ..] starts with the ASCII text `s` (case-sensitive). */
export function startsWith(buf: Uint8Array, off: number, end: number, s: string): boolean {
  if (end - off < s.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[off + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Offsets of buf[start, end) without leading and trailing spaces and tabs: [s, e]. */
export function trimRange(buf: Uint8Array, start: number, end: number): [number, number] {
  while (start < end && isSpace(buf[start]!)) start++;
  while (end > start && isSpace(buf[end - 1]!)) end--;
  return [start, end];
}
