/**
 * LineReader: splits the bytes of a ByteWindow into lines without copying.
 *
 * The current line is the view `buf[start, end)`: the bytes before a `\n`,
 * with one trailing `\r` removed (as Go's bufio.ScanLines does). A last line
 * without `\n` is still a line; an empty input has no lines. The view stays
 * valid until the next `fill()` (gopacket's ZeroCopyReadPacketData contract):
 * `nextBuffered()` never moves or refills the buffer.
 *
 * Line length: a line longer than the window makes the window grow, up to
 * `maxLine` bytes (default 1 MiB, commands' --max-line; real records are a
 * few KB, the longest line of m-lab's test corpus is 70 KB). A longer line is
 * handed out at once as `tooLong` with no bytes (the caller counts it as a
 * bad line) and the rest of it is skipped as it streams by, never held: a
 * 20 GB line costs the time to read it, not the memory. Go's bufio.Scanner,
 * used by m-lab's csvtool, silently stops at a 64 KiB line instead; see
 * docs/csvtool.md.
 *
 * A run of more than `maxEmptyRun` empty lines in a row (default 65,536) is
 * damage, not data (a file of newlines where records should be): the reader
 * throws INPUT_EMPTY_RUN instead of handing them out one by one.
 *
 * Typical loop (synchronous per line, one await per buffer refill):
 *
 *   while (true) {
 *     while (lines.nextBuffered()) handle(lines.buf, lines.start, lines.end);
 *     if (!(await lines.fill())) break;
 *   }
 */
import type { ByteWindow } from './window.js';
import { ToolError } from '../util/errors.js';

const LF = 0x0a;
const CR = 0x0d;

/** Default longest line (--max-line). */
export const DEFAULT_MAX_LINE = 1 << 20;
/** Default longest run of empty lines before the input counts as damaged. */
export const DEFAULT_MAX_EMPTY_RUN = 65536;

export interface LineReaderOptions {
  /** Longest line held, in bytes (default DEFAULT_MAX_LINE). */
  maxLine?: number;
  /** Most empty lines in a row before INPUT_EMPTY_RUN (default DEFAULT_MAX_EMPTY_RUN). */
  maxEmptyRun?: number;
  /** File name for messages. */
  name?: string;
}

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
  /** The current line is longer than `maxLine`: it has no bytes here (start === end) and the rest of it is skipped. */
  tooLong = false;
  readonly maxLine: number;
  private readonly maxEmptyRun: number;
  private readonly name: string | undefined;
  /** Inside a too-long line already handed out: its bytes are dropped up to its newline. */
  private skipping = false;
  /** Empty lines in a row so far. */
  private emptyRun = 0;

  /** unread() was called: nextBuffered() hands out the current line again. */
  private replay = false;
  /** `buf` restricted to the valid bytes, so indexOf never scans stale data. */
  private view: Buffer;
  /** Bytes after `window.pos` already searched for `\n` without success. */
  private scanned = 0;

  constructor(window: ByteWindow, opts: LineReaderOptions = {}) {
    this.window = window;
    this.buf = window.buf;
    this.view = window.buf.subarray(0, window.end);
    this.maxLine = opts.maxLine ?? DEFAULT_MAX_LINE;
    this.maxEmptyRun = opts.maxEmptyRun ?? DEFAULT_MAX_EMPTY_RUN;
    this.name = opts.name;
  }

  /** The located error for a too-long current line (for callers that count it as a bad line). */
  tooLongError(): ToolError {
    return new ToolError('INPUT_LINE_TOO_LONG', `line longer than the ${this.maxLine}-byte limit (--max-line): skipped without reading it into memory`, {
      ...(this.name !== undefined ? { file: this.name } : {}),
      line: this.lineNo,
      offset: this.lineOffset,
    });
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
    let pos = w.pos;
    if (this.skipping) {
      const nl = this.view.indexOf(LF, pos);
      if (nl < 0) {
        w.pos = w.end; // dropped: nothing of a too-long line is kept
        if (w.eof) this.skipping = false;
        return false;
      }
      this.skipping = false;
      pos = w.pos = nl + 1;
    }
    if (pos >= w.end) return false;
    const nl = this.view.indexOf(LF, pos + this.scanned);
    if (nl < 0) {
      if (w.end - pos > this.maxLine) return this.handOutTooLong(pos, w.end, true);
      if (!w.eof) {
        this.scanned = w.end - pos;
        return false;
      }
      // Last line without a newline.
      this.setLine(pos, w.end, false);
      w.pos = w.end;
      return true;
    }
    if (nl - pos > this.maxLine) return this.handOutTooLong(pos, nl + 1, false);
    this.setLine(pos, nl, true);
    w.pos = nl + 1;
    if (nl === pos && ++this.emptyRun > this.maxEmptyRun) {
      throw new ToolError('INPUT_EMPTY_RUN', `more than ${this.maxEmptyRun} empty lines in a row: blank space where records should be (damage); the rest is not read`, {
        ...(this.name !== undefined ? { file: this.name } : {}),
        line: this.lineNo,
        offset: this.lineOffset,
      });
    }
    return true;
  }

  /** Hands out the line starting at `pos` as too long; `to` is where reading goes on, `more` when its newline is still to come. */
  private handOutTooLong(pos: number, to: number, more: boolean): boolean {
    this.setLine(pos, pos, true);
    this.tooLong = true;
    this.skipping = more && !this.window.eof;
    this.window.pos = to;
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
    this.tooLong = false;
    if (nl > start) this.emptyRun = 0;
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
