/**
 * LineReader: splits the bytes of a ByteWindow into lines without copying.
 *
 * The current line is the view `buf[start, end)`: the bytes before a `\n`,
 * with one trailing `\r` removed (as Go's bufio.ScanLines does). A last line
 * without `\n` is still a line; an empty input has no lines. The view stays
 * valid until the next `fill()` (gopacket's ZeroCopyReadPacketData contract):
 * `nextBuffered()` never moves or refills the buffer.
 *
 * There is no line length limit: a line longer than the window makes the
 * window grow (up to its own `maxRecord`). Go's bufio.Scanner, used by
 * m-lab's csvtool, silently stops at a 64 KiB line instead; see docs/csvtool.md.
 *
 * Typical loop (synchronous per line, one await per buffer refill):
 *
 *   while (true) {
 *     while (lines.nextBuffered()) handle(lines.buf, lines.start, lines.end);
 *     if (!(await lines.fill())) break;
 *   }
 */
import type { ByteWindow } from './window.js';

const LF = 0x0a;
const CR = 0x0d;

export class LineReader {
  readonly window: ByteWindow;
  /** Buffer holding the current line (the window's buffer; may change after fill()). */
  buf: Buffer;
  /** First byte of the current line in `buf`. */
  start = 0;
  /** End (exclusive) of the current line in `buf`, without `\n` and one trailing `\r`. */
  end = 0;
  /** 1-based number of the current line (0 before the first). */
  lineNo = 0;
  /** Input offset (decompressed) of the first byte of the current line. */
  lineOffset = 0;
  /** Whether the current line was terminated by `\n` (false only for a last unterminated line). */
  terminated = false;

  /** unread() was called: nextBuffered() hands out the current line again. */
  private replay = false;
  /** `buf` restricted to the valid bytes, so indexOf never scans stale data. */
  private view: Buffer;
  /** Bytes after `window.pos` already searched for `\n` without success. */
  private scanned = 0;

  constructor(window: ByteWindow) {
    this.window = window;
    this.buf = window.buf;
    this.view = window.buf.subarray(0, window.end);
  }

  /**
   * Moves to the next complete line among the buffered bytes. Returns false
   * when the buffer holds no complete line: call `fill()` then.
   */
  nextBuffered(): boolean {
    if (this.replay) {
      this.replay = false;
      this.lineNo++;
      return true;
    }
    const w = this.window;
    const pos = w.pos;
    if (pos >= w.end) return false;
    const nl = this.view.indexOf(LF, pos + this.scanned);
    if (nl < 0) {
      if (!w.eof) {
        this.scanned = w.end - pos;
        return false;
      }
      // Last line without a newline.
      this.setLine(pos, w.end, false);
      w.pos = w.end;
      return true;
    }
    this.setLine(pos, nl, true);
    w.pos = nl + 1;
    return true;
  }

  /**
   * Reads more input into the window. Resolves false when the input is at
   * its end and every byte has been handed out as a line.
   */
  async fill(): Promise<boolean> {
    if (this.replay) return true;
    const w = this.window;
    if (w.eof) return w.pos < w.end;
    // more() compacts (pos -> 0) or grows the buffer; `scanned` is relative to pos.
    await w.more();
    this.buf = w.buf;
    this.view = w.buf.subarray(0, w.end);
    // At the end of input the unterminated tail (if any) is handed out by nextBuffered().
    return true;
  }

  /** Convenience: the next line, reading as needed; false at end of input. */
  async next(): Promise<boolean> {
    for (;;) {
      if (this.nextBuffered()) return true;
      if (!(await this.fill())) return false;
    }
  }

  /**
   * Pushes the current line back: the next nextBuffered() returns it again
   * (with the same number). Lets a caller peek at the first line to decide
   * how to read the input.
   */
  unread(): void {
    if (this.lineNo === 0 || this.replay) throw new Error('LineReader.unread: no current line to push back');
    this.replay = true;
    this.lineNo--;
  }

  /** The current line as a string (allocates; for messages and tests). */
  text(encoding: BufferEncoding = 'utf8'): string {
    return this.buf.toString(encoding, this.start, this.end);
  }

  private setLine(start: number, nl: number, terminated: boolean): void {
    let end = nl;
    if (end > start && this.buf[end - 1] === CR) end--;
    this.start = start;
    this.end = end;
    this.terminated = terminated;
    this.lineNo++;
    this.lineOffset = this.window.base + start;
    this.scanned = 0;
  }
}
