/**
 * One direction of an HTTP/1.x connection as a series of messages (RFC 9112):
 * start line, header block, body framed by Content-Length, the chunked
 * coding, or the end of the stream. Bytes arrive in chunks cut anywhere; the
 * only bytes kept are those of the start line and header block being read
 * (at most `maxHeader`) and a chunk-size or trailer line. Bodies are
 * counted, never stored: each body byte is offered to `onBody` as a view.
 *
 * The owner (HttpDecoder) is told when a message starts (with the time of
 * its first byte), when its header block is complete (it decides the body's
 * framing from the headers and, for a response, from its request), about
 * body bytes, and when the message ends. After a capture gap the side
 * resynchronises: inside a body of known length the gap only shortens what
 * is left of it; elsewhere the side skips to the next line that can start a
 * message (`isStart`), as Zeek cannot (its issue 3607) and Packetbeat does not.
 */
import { ByteBuf } from './_bytes.js';

/** How a message's body is framed, decided once its header block is read. */
export const Body = {
  NONE: 0,
  LENGTH: 1,
  CHUNKED: 2,
  /** Until the stream ends (a response without length, HTTP/1.0). */
  TO_END: 3,
  /** The connection stops being HTTP (CONNECT tunnel, 101 Switching Protocols). */
  TUNNEL: 4,
} as const;
export type BodyKind = (typeof Body)[keyof typeof Body];

/** Answers of the start-line test used to resynchronise. */
export const START_NO = 0;
export const START_YES = 1;
export const START_MORE = 2;
export type StartTest = 0 | 1 | 2;
/** Bytes of a line's start kept while deciding whether it starts a message. */
const START_PROBE = 32;

/** What the owner makes of a message's first line (`firstLine`). */
export const FirstLine = {
  /** Too few bytes to tell: ask again when the line is complete. */
  UNDECIDED: 0,
  /** A start line: the header block follows. */
  HEADERS: 1,
  /** Not a start line: the bytes are a body that lasts until the stream ends (an HTTP/0.9 response). */
  RAW: 2,
} as const;
export type FirstLineKind = (typeof FirstLine)[keyof typeof FirstLine];
/** Bytes of a first line after which `firstLine` is asked before its end is seen. */
const FIRST_LINE_PROBE = 8;

export interface SideOwner {
  /** The first byte of a message. */
  messageStart(sec: number, nsec: number): void;
  /**
   * The message's first line: complete (`complete`, ending in LF), or its
   * first FIRST_LINE_PROBE bytes. Asked until it answers other than
   * UNDECIDED; the answer must depend only on those bytes.
   */
  firstLine(block: Uint8Array, len: number, complete: boolean): FirstLineKind;
  /**
   * The start line and header block are complete in block[0, len) (lines
   * end in LF, the last line empty). Returns the body's framing; for
   * LENGTH, `length` holds the byte count.
   */
  headers(block: Uint8Array, len: number, sec: number, nsec: number): BodyKind;
  /** Body bytes (after removing the chunked coding). */
  body(buf: Uint8Array, off: number, n: number): void;
  /** The message ended with its last byte at this time. */
  messageEnd(sec: number, nsec: number): void;
  /** A problem: `fatal` when the side cannot go on (it then skips to the next message start). */
  problem(what: string, fatal: boolean): void;
  /** Bytes lost in a gap inside the current message (the message is incomplete). */
  gapInMessage(bytes: number, inBody: boolean): void;
  /** Bytes lost between messages: most likely whole messages (at least one); the time is that of the last bytes before them. */
  gapBetween(bytes: number, sec: number, nsec: number): void;
}

const enum Mode {
  /** Before a message: skipping blank lines, waiting for the start line's first byte. */
  IDLE,
  /** Collecting the start line and header block. */
  HEAD,
  LENGTH,
  CHUNK_SIZE,
  CHUNK_DATA,
  /** The CRLF after a chunk's data. */
  CHUNK_END,
  TRAILERS,
  TO_END,
  TUNNEL,
  /** After a gap or a broken message: looking for a line that starts a message. */
  RESYNC,
}

const LF = 0x0a;
const CR = 0x0d;
/** Longest chunk-size line (hex digits and extensions) accepted. */
const MAX_CHUNK_LINE = 1024;
/** Largest chunk size taken at its word (2^53 - 1 bytes would take years; past it the message is broken). */
const MAX_CHUNK = Number.MAX_SAFE_INTEGER;

export class HttpSide {
  private mode: Mode = Mode.IDLE;
  readonly head: ByteBuf;
  private readonly line: ByteBuf;
  /** Body bytes (or chunk bytes) still to come. */
  remaining = 0;
  /** Content-Length of the message being read, set by the owner from `headers`. */
  length = 0;
  /** At the start of a line (for resynchronisation after a gap). */
  private atLineStart = true;
  /** The owner has judged the current message's first line. */
  private firstDone = false;
  /** Time of the latest bytes seen (a message cut by a gap ends there: its real end is unknown). */
  private lastSec = 0;
  private lastNsec = 0;
  /** Time of the head's latest bytes. */
  private headSec = 0;
  private headNsec = 0;
  /** Time of the first byte of the line being probed while resynchronising. */
  private probeSec = 0;
  private probeNsec = 0;

  constructor(
    private readonly owner: SideOwner,
    maxHeader: number,
    /** Whether a line starting with buf[off, end) can start a message (a request line, or a status line): START_NO, START_YES, or START_MORE (too few bytes to tell). */
    private readonly isStart: (buf: Uint8Array, off: number, end: number) => StartTest,
  ) {
    this.head = new ByteBuf(512, maxHeader);
    this.line = new ByteBuf(32, MAX_CHUNK_LINE);
  }

  /** The side carries no HTTP any more (tunnel, or the decoder gave up). */
  get stopped(): boolean {
    return this.mode === Mode.TUNNEL;
  }

  /** In the middle of a message (a gap or the end now would cut it). */
  get inMessage(): boolean {
    return this.mode !== Mode.IDLE && this.mode !== Mode.RESYNC && this.mode !== Mode.TUNNEL;
  }

  /** Reading a body that lasts until the stream ends. */
  get toEnd(): boolean {
    return this.mode === Mode.TO_END;
  }

  tunnel(): void {
    this.mode = Mode.TUNNEL;
  }

  /** Reading a message's start line and header block. */
  get inHead(): boolean {
    return this.mode === Mode.HEAD;
  }

  /**
   * Takes the head read so far as complete (an HTTP/0.9 request has no
   * header block: the server's answer ends it), at the time of its last byte.
   */
  endHead(): void {
    if (this.mode !== Mode.HEAD) return;
    this.body(this.owner.headers(this.head.buf, this.head.len, this.headSec, this.headNsec), this.headSec, this.headNsec);
  }

  data(buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    const end = off + len;
    this.lastSec = sec;
    this.lastNsec = nsec;
    while (off < end) {
      switch (this.mode) {
        case Mode.TUNNEL:
          return;
        case Mode.IDLE: {
          // blank lines between messages are allowed (RFC 9112 §2.2)
          const c = buf[off]!;
          if (c === CR || c === LF) {
            off++;
            continue;
          }
          this.mode = Mode.HEAD;
          this.head.clear();
          this.firstDone = false;
          this.owner.messageStart(sec, nsec);
          break;
        }
        case Mode.HEAD:
          off = this.readHead(buf, off, end, sec, nsec);
          break;
        case Mode.LENGTH: {
          const n = Math.min(this.remaining, end - off);
          this.owner.body(buf, off, n);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finish(sec, nsec);
          break;
        }
        case Mode.CHUNK_SIZE:
        case Mode.CHUNK_END:
        case Mode.TRAILERS:
          off = this.readChunkLine(buf, off, end, sec, nsec);
          break;
        case Mode.CHUNK_DATA: {
          const n = Math.min(this.remaining, end - off);
          this.owner.body(buf, off, n);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.mode = Mode.CHUNK_END;
          break;
        }
        case Mode.TO_END:
          this.owner.body(buf, off, end - off);
          return;
        case Mode.RESYNC:
          off = this.resync(buf, off, end, sec, nsec);
          break;
      }
    }
  }

  /** `len` bytes were lost. */
  gap(len: number): void {
    switch (this.mode) {
      case Mode.TUNNEL:
        return;
      case Mode.RESYNC:
        // the bytes after a gap may start a message: the probe decides
        this.toResync(true);
        return;
      case Mode.IDLE:
        this.owner.gapBetween(len, this.lastSec, this.lastNsec);
        this.toResync(true);
        return;
      case Mode.LENGTH:
      case Mode.CHUNK_DATA:
        if (len < this.remaining) {
          this.owner.gapInMessage(len, true);
          this.remaining -= len;
          return;
        }
        if (this.mode === Mode.LENGTH && len === this.remaining) {
          // the body's end was lost, nothing after it: the next message starts clean
          this.owner.gapInMessage(len, true);
          this.remaining = 0;
          this.finish(this.lastSec, this.lastNsec);
          return;
        }
        break;
      case Mode.TO_END:
        this.owner.gapInMessage(len, true);
        return;
      default:
        break;
    }
    // the framing is lost: what is left of this message is unknown
    this.salvageHead();
    this.owner.gapInMessage(len, this.mode !== Mode.HEAD);
    this.owner.messageEnd(this.lastSec, this.lastNsec);
    this.toResync(true);
  }

  /** The stream ended: a body read to the end is complete; anything else is cut. */
  end(): void {
    if (this.mode === Mode.TO_END) this.finish(this.lastSec, this.lastNsec);
    else if (this.inMessage) {
      this.owner.problem('stream ended inside a message', false);
      this.owner.gapInMessage(0, this.mode !== Mode.HEAD);
      this.owner.messageEnd(this.lastSec, this.lastNsec);
      this.mode = Mode.IDLE;
    }
  }

  private finish(sec: number, nsec: number): void {
    this.mode = Mode.IDLE;
    this.owner.messageEnd(sec, nsec);
  }

  /** Collects the head up to its empty line; returns the next offset. */
  private readHead(buf: Uint8Array, off: number, end: number, sec: number, nsec: number): number {
    const head = this.head;
    this.headSec = sec;
    this.headNsec = nsec;
    for (;;) {
      const lf = buf.indexOf(LF, off);
      const stop = lf < 0 || lf >= end ? end : lf + 1;
      if (!head.append(buf, off, stop - off)) {
        this.salvageHead();
        this.owner.problem(`header block over ${head.cap} bytes`, true);
        this.owner.messageEnd(sec, nsec);
        this.toResync(stop === lf + 1);
        return stop;
      }
      const lineDone = !(stop === end && (lf < 0 || lf >= end));
      if (!this.firstDone && (lineDone || head.len >= FIRST_LINE_PROBE)) {
        const k = this.owner.firstLine(head.buf, head.len, lineDone);
        if (k !== FirstLine.UNDECIDED) this.firstDone = true;
        if (k === FirstLine.RAW) {
          this.mode = Mode.TO_END;
          this.owner.body(head.buf, 0, head.len);
          return stop;
        }
        if (lineDone) {
          off = stop;
          continue;
        }
      }
      if (!lineDone) return end;
      off = stop;
      // a line ended: is it the empty one that ends the block?
      const b = head.buf, n = head.len;
      const empty = n >= 2 && b[n - 2] === LF ? true : n >= 3 && b[n - 2] === CR && b[n - 3] === LF;
      if (!empty) continue;
      this.body(this.owner.headers(b, n, sec, nsec), sec, nsec);
      return off;
    }
  }

  /** Enters the body's framing. */
  private body(kind: BodyKind, sec: number, nsec: number): void {
    switch (kind) {
      case Body.NONE:
        this.finish(sec, nsec);
        return;
      case Body.LENGTH:
        if (this.length === 0) {
          this.finish(sec, nsec);
          return;
        }
        this.remaining = this.length;
        this.mode = Mode.LENGTH;
        return;
      case Body.CHUNKED:
        this.line.clear();
        this.mode = Mode.CHUNK_SIZE;
        return;
      case Body.TO_END:
        this.mode = Mode.TO_END;
        return;
      case Body.TUNNEL:
        this.owner.messageEnd(sec, nsec);
        this.mode = Mode.TUNNEL;
        return;
    }
  }

  /** A chunk-size line, the CRLF after chunk data, or a trailer line. */
  private readChunkLine(buf: Uint8Array, off: number, end: number, sec: number, nsec: number): number {
    const lf = buf.indexOf(LF, off);
    const stop = lf < 0 || lf >= end ? end : lf + 1;
    if (!this.line.append(buf, off, stop - off)) {
      this.broken('chunk line too long', sec, nsec);
      return stop;
    }
    if (stop === end && (lf < 0 || lf >= end)) return end;
    const b = this.line.buf;
    let n = this.line.len - 1; // without the LF
    if (n > 0 && b[n - 1] === CR) n--;
    this.line.clear();
    if (this.mode === Mode.CHUNK_END) {
      if (n !== 0) return this.broken('no CRLF after chunk data', sec, nsec), stop;
      this.mode = Mode.CHUNK_SIZE;
    } else if (this.mode === Mode.TRAILERS) {
      if (n === 0) this.finish(sec, nsec);
    } else {
      let size = 0, digits = 0;
      for (let i = 0; i < n; i++) {
        const c = b[i]!;
        const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
        if (v < 0) break;
        size = size * 16 + v;
        digits++;
      }
      if (digits === 0 || size > MAX_CHUNK) return this.broken('bad chunk size', sec, nsec), stop;
      if (size === 0) this.mode = Mode.TRAILERS;
      else {
        this.remaining = size;
        this.mode = Mode.CHUNK_DATA;
      }
    }
    return stop;
  }

  private broken(what: string, sec: number, nsec: number): void {
    this.owner.problem(what, true);
    this.owner.messageEnd(sec, nsec);
    this.toResync(true);
  }

  /** A head cut short (gap, size cap) still tells what its complete lines say, the start line above all. */
  private salvageHead(): void {
    const lf = this.head.buf.indexOf(LF);
    if (this.mode === Mode.HEAD && lf >= 0 && lf < this.head.len) this.owner.headers(this.head.buf, this.head.len, this.lastSec, this.lastNsec);
  }

  private toResync(atLineStart: boolean): void {
    this.mode = Mode.RESYNC;
    this.atLineStart = atLineStart;
    this.line.clear();
  }

  /**
   * Skips to a line that can start a message; returns the next offset. The
   * first bytes of each line are kept (at most START_PROBE) until the test
   * can answer, so the answer does not depend on where chunks are cut; a
   * message found that way starts at the time of its first byte.
   */
  private resync(buf: Uint8Array, off: number, end: number, sec: number, nsec: number): number {
    const probe = this.line;
    while (off < end) {
      if (this.atLineStart) {
        if (probe.len === 0) {
          this.probeSec = sec;
          this.probeNsec = nsec;
        }
        const lf = buf.indexOf(LF, off);
        const lineEnd = lf < 0 || lf >= end ? end : lf + 1;
        const take = Math.min(lineEnd - off, START_PROBE - probe.len);
        probe.append(buf, off, take);
        off += take;
        const t = this.isStart(probe.buf, 0, probe.len);
        if (t === START_YES) {
          // replay the probed bytes as the start of a message, at the time of its first byte
          const n = probe.len;
          const copy = probe.buf.slice(0, n);
          probe.clear();
          this.mode = Mode.IDLE;
          this.data(copy, 0, n, this.probeSec, this.probeNsec);
          return off;
        }
        const lineDone = probe.len > 0 && probe.buf[probe.len - 1] === LF;
        if (t === START_MORE && !lineDone && probe.len < START_PROBE) return off; // wait for more of this line
        probe.clear();
        this.atLineStart = lineDone;
        if (lineDone) continue;
      }
      const lf = buf.indexOf(LF, off);
      if (lf < 0 || lf >= end) return end;
      off = lf + 1;
      this.atLineStart = true;
    }
    return off;
  }
}
