/**
 * A resumable, bounded reader of RESP, the Redis serialization protocol
 * (RESP2 and RESP3: redis.io/docs/latest/develop/reference/protocol-spec),
 * for one side of a connection. It is fed bytes in any cuts and reports
 * whole messages (a command, a reply, a pushed message) to its owner with
 * what the records need: the value's type, the element count of an
 * aggregate, the size, the first four top-level elements as text (a
 * command's name and first arguments, a push's kind and channel) and,
 * on the server side, the value written as Zeek writes reply.value.
 *
 * Bounds: a line (a simple string, an error, an inline command) is held up
 * to `maxLine` bytes; bulk strings are counted and skipped, only their
 * first `maxChars` bytes are kept when a text is wanted (a 500 MB bulk
 * string or a length of 2^53 costs nothing; a larger length is invalid);
 * aggregates nest at most RESP_MAX_DEPTH deep and their counts are numbers
 * counted down, never arrays. Nothing throws.
 *
 * Client side: a message that does not start with `*` is an inline command
 * (a line of words split as Redis's sdssplitargs splits it; an empty line is
 * no command), and the elements of a client array must be bulk strings, as
 * Redis demands. After bytes that break RESP, or a capture gap that hides
 * where the next message starts, the reader hunts for one at the next line
 * start (`*` on the client side, a type byte on the server side) and takes
 * it only once it parses (a wrong start is dropped silently).
 */
import { ByteBuf, clip, text } from './_bytes.js';
import { splitInline } from './redis-inline.js';

export const RESP_MAX_DEPTH = 64;

const LF = 0x0a;
const CR = 0x0d;
const STAR = 0x2a;

// aggregate kinds
const K_ARRAY = 0;
const K_MAP = 1;
const K_SET = 2;
const K_PUSH = 3;
const K_ATTR = 4;

// reader modes
const M_START = 0;
const M_LINE = 1;
const M_PAYLOAD = 2;
const M_HUNT = 3;

/** RESP type bytes: + - : $ * _ # , ( ! = % ~ > | */
function isType(c: number): boolean {
  return c === 0x2b || c === 0x2d || c === 0x3a || c === 0x24 || c === 0x2a || c === 0x5f || c === 0x23 || c === 0x2c || c === 0x28 || c === 0x21 || c === 0x3d || c === 0x25 || c === 0x7e || c === 0x3e || c === 0x7c;
}

/** Name of a RESP type byte, as the redis record's reply_type gives it. */
export function respTypeName(type: number, isNull: boolean): string {
  switch (type) {
    case 0x2b: return 'simple_string';
    case 0x2d: return 'error';
    case 0x3a: return 'integer';
    case 0x24: return isNull ? 'null_bulk_string' : 'bulk_string';
    case 0x2a: return isNull ? 'null_array' : 'array';
    case 0x5f: return 'null';
    case 0x23: return 'boolean';
    case 0x2c: return 'double';
    case 0x28: return 'big_number';
    case 0x21: return 'bulk_error';
    case 0x3d: return 'verbatim_string';
    case 0x25: return 'map';
    case 0x7e: return 'set';
    case 0x3e: return 'push';
    default: return 'unknown';
  }
}

/** One message, reused by its reader: valid during the owner's call. */
export class RespMessage {
  /** Type byte of the message's value (RESP3 attributes before it skipped); 0 for an inline command. */
  type = 0;
  inline = false;
  /** A RESP2 null ($-1 or *-1). */
  isNull = false;
  /** Elements of a top-level aggregate (pairs of a map); -1 when the value is not one. */
  count = -1;
  bytes = 0;
  startSec = 0;
  startNsec = 0;
  endSec = 0;
  endNsec = 0;
  /** Texts of the first four top-level elements that are not aggregates (an inline command's first four words). */
  readonly args: (string | null)[] = [null, null, null, null];
  /** Elements of an inline command (words); of an array, `count`. */
  words = 0;
  /** Text of a top-level value that is not an aggregate. */
  text: string | null = null;
  /** The value as Zeek writes reply.value (server side only). */
  repr = '';
  /** A capture gap cut the message (its counts include the missing bytes). */
  incomplete = false;
  /** What broke (an inline command with unbalanced quotes is still a message, with this set). */
  problem: string | null = null;
}

export interface RespOwner {
  /** A whole message (or one cut by a gap or the end of the stream: `incomplete`). */
  message(m: RespMessage): void;
  /** A capture gap fell between messages: one or more were lost. */
  lost(sec: number, nsec: number): void;
  /** Bytes that broke RESP: `m` holds what was read of the message they belonged to. The reader hunts for the next message. */
  invalid(m: RespMessage, problem: string): void;
}

export class RespReader {
  readonly msg = new RespMessage();
  private mode = M_START;
  /** Hunting: the next byte starts a line. */
  private lineStart = true;
  /** The message being read follows a hunt: a parse error drops it silently. */
  private tentative = false;
  private open = false;
  private readonly line: ByteBuf;
  /** Inline command being read (client side, depth 0, first byte not `*`). */
  private inlineLine = false;
  // bulk payload
  private left = 0;
  private crlf = 0;
  private want = 0;
  private readonly cap: ByteBuf;
  // aggregate frames
  private depth = 0;
  private readonly total = new Float64Array(RESP_MAX_DEPTH);
  private readonly seen = new Float64Array(RESP_MAX_DEPTH);
  private readonly kind = new Uint8Array(RESP_MAX_DEPTH);
  private attrs = 0;
  private sec = 0;
  private nsec = 0;
  /** Messages dropped while hunting (Zeek's weird). */
  dropped = 0;

  constructor(
    private readonly owner: RespOwner,
    private readonly client: boolean,
    private readonly maxLine: number,
    private readonly maxChars: number,
  ) {
    this.line = new ByteBuf(256, maxLine + 2);
    this.cap = new ByteBuf(64, maxChars + 4);
  }

  data(buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    this.sec = sec;
    this.nsec = nsec;
    let p = off;
    const end = off + len;
    while (p < end) {
      switch (this.mode) {
        case M_HUNT: {
          if (!this.lineStart) {
            const lf = buf.indexOf(LF, p);
            if (lf < 0 || lf >= end) return;
            p = lf + 1;
            this.lineStart = true;
            continue;
          }
          const c = buf[p]!;
          if (this.client ? c === STAR : isType(c)) {
            this.mode = M_START;
            this.tentative = true;
          } else this.lineStart = false;
          continue;
        }
        case M_START:
          this.begin(sec, nsec);
          this.inlineLine = this.client && buf[p] !== STAR;
          this.mode = M_LINE;
          continue;
        case M_LINE: {
          let lf = buf.indexOf(LF, p);
          if (lf >= end) lf = -1;
          const n = (lf < 0 ? end : lf + 1) - p;
          this.msg.bytes += n;
          if (lf < 0 || this.line.len > 0) {
            if (!this.line.append(buf, p, n)) {
              p += n;
              this.line.clear();
              this.fail(this.inlineLine ? `inline command over ${this.maxLine} bytes` : `line over ${this.maxLine} bytes`, lf < 0);
              continue;
            }
            p += n;
            if (lf < 0) continue;
            const lb = this.line;
            this.lineDone(lb.buf, 0, lb.len);
            lb.clear();
          } else {
            this.lineDone(buf, p, lf + 1);
            p = lf + 1;
          }
          continue;
        }
        case M_PAYLOAD: {
          if (this.left > 0) {
            const n = Math.min(this.left, end - p);
            if (this.want > this.cap.len) this.cap.append(buf, p, Math.min(n, this.want - this.cap.len));
            this.left -= n;
            this.msg.bytes += n;
            p += n;
            continue;
          }
          const c = buf[p++]!;
          this.msg.bytes++;
          if (c !== (this.crlf === 2 ? CR : LF)) {
            this.fail('bulk string not followed by CRLF', true);
            continue;
          }
          if (--this.crlf === 0) {
            this.mode = M_LINE;
            this.bulkDone();
          }
          continue;
        }
        default:
          return;
      }
    }
  }

  /** `len` bytes were never captured. */
  gap(len: number, sec: number, nsec: number): void {
    if (len <= 0) return;
    this.sec = sec;
    this.nsec = nsec;
    const m = this.msg;
    if (this.mode === M_PAYLOAD && (len <= this.left || len === this.left + this.crlf)) {
      // inside a bulk string (or exactly the rest of it): the framing survives
      m.incomplete = true;
      m.bytes += len;
      this.want = 0;
      if (len <= this.left) this.left -= len;
      else {
        this.left = 0;
        this.crlf = 0;
        this.mode = M_LINE;
        this.bulkDone();
      }
      return;
    }
    if (this.mode === M_HUNT) return;
    if (this.tentative) {
      this.dropped++;
      this.tentative = false;
    } else if (this.mode === M_START || !this.open || m.type === 0) {
      // between messages, or inside a message's first line: whole messages were lost
      this.owner.lost(sec, nsec);
    } else {
      m.incomplete = true;
      m.bytes += len;
      if (m.problem === null) m.problem = 'cut by a capture gap';
      this.finishMessage();
    }
    this.hunt(true);
  }

  /** The side ended: a message cut short is reported. */
  end(sec: number, nsec: number): void {
    this.sec = sec;
    this.nsec = nsec;
    if (this.open && !this.tentative && this.mode !== M_HUNT && this.msg.type !== 0) {
      // a message whose first line was read, cut short (a line never ended is no message)
      this.msg.incomplete = true;
      if (this.msg.problem === null) this.msg.problem = 'cut by the end of the stream';
      this.finishMessage();
    }
    this.open = false;
    this.mode = M_HUNT;
    this.lineStart = false;
  }

  private hunt(lineStart: boolean): void {
    this.open = false;
    this.mode = M_HUNT;
    this.lineStart = lineStart;
    this.depth = 0;
    this.attrs = 0;
    this.line.clear();
  }

  private begin(sec: number, nsec: number): void {
    const m = this.msg;
    m.type = 0;
    m.inline = false;
    m.isNull = false;
    m.count = -1;
    m.bytes = 0;
    m.startSec = sec;
    m.startNsec = nsec;
    m.args[0] = m.args[1] = m.args[2] = m.args[3] = null;
    m.words = 0;
    m.text = null;
    m.repr = '';
    m.incomplete = false;
    m.problem = null;
    this.open = true;
    this.depth = 0;
    this.attrs = 0;
  }

  private fail(problem: string, midLine: boolean): void {
    if (this.tentative) this.dropped++;
    else this.owner.invalid(this.msg, problem);
    this.tentative = false;
    this.hunt(!midLine);
  }

  private finishMessage(): void {
    const m = this.msg;
    m.endSec = this.sec;
    m.endNsec = this.nsec;
    this.open = false;
    this.tentative = false;
    this.mode = M_START;
    this.depth = 0;
    this.attrs = 0;
    if (m.repr.length > this.maxChars) m.repr = clip(m.repr, this.maxChars);
    this.owner.message(m);
  }

  /** A whole line b[s, e) (e is after its LF). */
  private lineDone(b: Uint8Array, s: number, e: number): void {
    if (this.inlineLine) {
      this.inlineLine = false;
      let le = e - 1;
      if (le > s && b[le - 1] === CR) le--;
      const m = this.msg;
      const r = splitInline(b, s, le, m.args, this.maxChars);
      if (r.words === 0 && r.problem === null) {
        // an empty line is no command (Redis skips it)
        this.open = false;
        this.mode = M_START;
        return;
      }
      m.inline = true;
      m.words = r.words;
      m.problem = r.problem;
      this.finishMessage();
      return;
    }
    if (e - s < 3 || b[e - 2] !== CR) return this.fail('line not ended by CRLF', false);
    const t = b[s]!;
    const cs = s + 1, ce = e - 2;
    const d = this.depth;
    if (this.client && (d === 0 ? t !== STAR : t !== 0x24)) {
      return this.fail(d === 0 ? 'command is not an array' : `expected '$', got '${String.fromCharCode(t)}'`, false);
    }
    switch (t) {
      case 0x2b: // + simple string
      case 0x2d: // - error
        return this.scalar(t, text(b, cs, Math.min(ce, cs + this.maxChars)));
      case 0x3a: // : integer
      case 0x28: // ( big number
        if (!isInteger(b, cs, ce)) return this.fail(`bad ${t === 0x3a ? 'integer' : 'big number'}`, false);
        return this.scalar(t, text(b, cs, Math.min(ce, cs + this.maxChars)));
      case 0x2c: // , double
        if (ce <= cs) return this.fail('bad double', false);
        return this.scalar(t, text(b, cs, Math.min(ce, cs + 64)));
      case 0x23: // # boolean
        if (ce !== cs + 1 || (b[cs] !== 0x74 && b[cs] !== 0x66)) return this.fail('bad boolean', false);
        return this.scalar(t, b[cs] === 0x74 ? 'T' : 'F');
      case 0x5f: // _ null
        if (ce !== cs) return this.fail('bad null', false);
        return this.scalar(t, '');
      case 0x24: // $ bulk string
      case 0x21: // ! bulk error
      case 0x3d: { // = verbatim string
        const n = parseCount(b, cs, ce);
        if (n === -1 && t === 0x24) return this.nullValue(t);
        if (n < 0) return this.fail(n === -3 ? 'bulk length out of range' : 'bad bulk length', false);
        this.startElement(t);
        this.left = n;
        this.crlf = 2;
        this.cap.clear();
        this.want = this.wantText();
        this.mode = M_PAYLOAD;
        return;
      }
      case 0x2a: // * array
      case 0x25: // % map
      case 0x7e: // ~ set
      case 0x3e: // > push
      case 0x7c: { // | attribute
        const n = parseCount(b, cs, ce);
        if (n === -1 && t === 0x2a) return this.nullValue(t);
        if (n < 0) return this.fail(n === -3 ? 'aggregate length out of range' : 'bad aggregate length', false);
        if (d >= RESP_MAX_DEPTH) return this.fail(`aggregates nested over ${RESP_MAX_DEPTH} deep`, false);
        if (this.client && n === 0) {
          // Redis ignores an empty command array
          this.open = false;
          this.mode = M_START;
          return;
        }
        this.startElement(t);
        const k = t === 0x2a ? K_ARRAY : t === 0x25 ? K_MAP : t === 0x7e ? K_SET : t === 0x3e ? K_PUSH : K_ATTR;
        if (d === 0 && k !== K_ATTR) {
          this.msg.count = n;
          this.msg.words = n;
        }
        if (k === K_ATTR) this.attrs++;
        else if (this.attrs === 0 && this.client === false) this.msg.repr += k === K_MAP || k === K_SET ? '{' : '[';
        this.kind[d] = k;
        this.total[d] = k === K_MAP || k === K_ATTR ? n * 2 : n;
        this.seen[d] = 0;
        this.depth = d + 1;
        if (this.total[d] === 0) this.closeFrames();
        return;
      }
      default:
        return this.fail(`unknown RESP type byte 0x${t.toString(16).padStart(2, '0')}`, false);
    }
  }

  /** Bytes of a bulk string's text to keep: for an argument slot, a top-level value, or the reply's text. */
  private wantText(): number {
    const d = this.depth;
    if (d === 0) return this.maxChars;
    if (d === 1 && this.attrs === 0 && this.seen[0]! < 4) return this.maxChars;
    if (!this.client && this.attrs === 0 && this.msg.repr.length < this.maxChars) return this.maxChars - this.msg.repr.length;
    return 0;
  }

  /** An element starts at the current depth: the separator before it in the text. */
  private startElement(t: number): void {
    const d = this.depth;
    if (d === 0) {
      if (t !== 0x7c) this.msg.type = t;
      return;
    }
    if (this.client || this.attrs > 0 || t === 0x7c) return;
    const i = this.seen[d - 1]!;
    if (i === 0) return;
    this.msg.repr += this.kind[d - 1] === K_MAP && i % 2 === 1 ? ': ' : ', ';
  }

  private bulkDone(): void {
    const t = this.cap.len > 0 || this.want > 0 ? text(this.cap.buf, 0, this.cap.len) : '';
    this.cap.clear();
    this.value(t);
  }

  private nullValue(t: number): void {
    this.startElement(t);
    if (this.depth === 0) this.msg.isNull = true;
    this.value('');
  }

  private scalar(t: number, s: string): void {
    this.startElement(t);
    this.value(s);
  }

  /** A value that is not an aggregate ended, with its text. */
  private value(s: string): void {
    const d = this.depth;
    const m = this.msg;
    if (d === 0) {
      m.text = s;
      if (!this.client) m.repr = s;
      return this.finishMessage();
    }
    if (this.attrs === 0) {
      if (d === 1) {
        const i = this.seen[0]!;
        if (i < 4) m.args[i] = s;
      }
      if (!this.client && m.repr.length < this.maxChars) m.repr += s;
    }
    this.seen[d - 1]!++;
    if (this.seen[d - 1] === this.total[d - 1]) this.closeFrames();
  }

  /** Closes every aggregate whose elements are all read; the message ends with the outermost. */
  private closeFrames(): void {
    const m = this.msg;
    for (;;) {
      const d = this.depth - 1;
      const k = this.kind[d]!;
      this.depth = d;
      if (k === K_ATTR) {
        this.attrs--;
        if (d === 0) {
          // an attribute before the reply: the reply follows, in the same message
          m.repr = '';
          return;
        }
      } else if (this.attrs === 0 && !this.client && m.repr.length < this.maxChars) m.repr += k === K_MAP || k === K_SET ? '}' : ']';
      if (d === 0) return this.finishMessage();
      if (k !== K_ATTR) this.seen[d - 1]!++;
      if (this.seen[d - 1]! < this.total[d - 1]!) return;
    }
  }
}

/** A RESP integer: an optional sign and 1-20 digits. */
function isInteger(b: Uint8Array, s: number, e: number): boolean {
  if (s < e && (b[s] === 0x2d || b[s] === 0x2b)) s++;
  if (e <= s || e - s > 20) return false;
  for (let i = s; i < e; i++) if (b[i]! < 0x30 || b[i]! > 0x39) return false;
  return true;
}

/** A length or count: its value; -1 for "-1"; -2 when malformed; -3 past 2^53 - 1. */
function parseCount(b: Uint8Array, s: number, e: number): number {
  if (e - s === 2 && b[s] === 0x2d && b[s + 1] === 0x31) return -1;
  if (e <= s) return -2;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) return -2;
    v = v * 10 + (c - 0x30);
    if (v > Number.MAX_SAFE_INTEGER) return -3;
  }
  return v;
}
