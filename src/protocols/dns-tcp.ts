/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each side is a sequence of
 * messages with a 2-byte length prefix; dns.ts says how framing survives
 * capture gaps.
 */
import { ByteBuf } from './_bytes.js';
import { CLIENT, type AppContext, type DecoderLimits, type Side, type StreamDecoder } from './decoder.js';
import { DnsCore } from './dns-core.js';
import { HEADER_BYTES, MORE, PLAUSIBLE_BYTES, YES, plausible, u16 } from './dns-message.js';

// framing modes of a TCP side
const FRAME = 0;
const RESYNC = 1;
const DEAD = 2;

/** One direction of DNS over TCP: length-prefixed messages. */
class _TcpSide {
  mode = FRAME;
  /** Bytes of the current length prefix read (0, 1 or 2). */
  prefix = 0;
  msgLen = 0;
  /** Bytes of the current message received (the buffer holds the first of them, up to its cap). */
  got = 0;
  readonly buf: ByteBuf;
  startSec = 0;
  startNsec = 0;
  /** Bytes still to be passed over (the rest of a message a gap cut). */
  skip = 0;
  /** Why the current message will not be whole. */
  cut: string | null = null;
  /** After a gap that lost the framing: the first bytes after it, until plausible() decides. */
  readonly re = new ByteBuf(16, 2 + PLAUSIBLE_BYTES);
  reSec = 0;
  reNsec = 0;

  constructor(
    readonly side: Side,
    cap: number,
  ) {
    this.buf = new ByteBuf(64, cap);
  }
}

/** DNS over TCP. */
export class DnsTcpDecoder implements StreamDecoder {
  private readonly core: DnsCore;
  private readonly sides: [_TcpSide, _TcpSide];

  constructor(
    private readonly ctx: AppContext,
    limits: DecoderLimits,
  ) {
    this.core = new DnsCore(ctx, limits, 'tcp');
    this.sides = [new _TcpSide(0, limits.maxHeaderBytes), new _TcpSide(1, limits.maxHeaderBytes)];
  }

  data(side: Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    this.feed(this.sides[side], buf, off, len, sec, nsec);
  }

  private feed(s: _TcpSide, buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    let p = off;
    const end = off + len;
    while (p < end) {
      if (s.mode === DEAD || this.core.stoppedWhy !== null) return;
      if (s.mode === RESYNC) {
        p = this.resync(s, buf, p, end, sec, nsec);
        continue;
      }
      if (s.skip > 0) {
        const n = Math.min(s.skip, end - p);
        s.skip -= n;
        p += n;
        continue;
      }
      if (s.prefix < 2) {
        if (s.prefix === 0) {
          s.startSec = sec;
          s.startNsec = nsec;
          s.msgLen = buf[p++]! << 8;
          s.prefix = 1;
          continue;
        }
        s.msgLen |= buf[p++]!;
        s.prefix = 2;
        s.got = 0;
        s.cut = null;
        s.buf.clear();
        if (s.msgLen === 0) {
          // an empty message: nothing to read, nothing to pair
          this.ctx.weird('zero-length message');
          s.prefix = 0;
        }
        continue;
      }
      const need = s.msgLen - s.got;
      const avail = end - p;
      if (s.got === 0 && avail >= need) {
        // the whole message is here: read it where it lies
        p += need;
        s.prefix = 0;
        this.core.message(buf, p - need, need, s.startSec, s.startNsec, sec, nsec, null);
        continue;
      }
      const n = avail < need ? avail : need;
      const room = s.buf.cap - s.buf.len;
      const keep = n < room ? n : room;
      if (keep > 0) s.buf.append(buf, p, keep);
      if (keep < n && s.cut === null) s.cut = `message of ${s.msgLen} bytes over the ${s.buf.cap}-byte limit`;
      s.got += n;
      p += n;
      if (s.got === s.msgLen) {
        s.prefix = 0;
        this.core.message(s.buf.buf, 0, s.buf.len, s.startSec, s.startNsec, sec, nsec, s.cut);
      }
    }
  }

  /** Gathers the first bytes after a gap until plausible() says whether a message starts there; returns where reading goes on. */
  private resync(s: _TcpSide, buf: Uint8Array, p: number, end: number, sec: number, nsec: number): number {
    const re = s.re;
    if (re.len === 0) {
      s.reSec = sec;
      s.reNsec = nsec;
    }
    // take no byte past the message the prefix announces (nor past what plausible() may need)
    const want0 = re.len < 2 ? 2 : Math.min(2 + u16(re.buf, 0), 2 + PLAUSIBLE_BYTES);
    const n = Math.min(want0 - re.len, end - p);
    re.append(buf, p, n);
    p += n;
    if (re.len < 2) return p;
    const msgLen = u16(re.buf, 0);
    const want = Math.min(2 + msgLen, 2 + PLAUSIBLE_BYTES);
    const r = plausible(re.buf, 2, re.len - 2, msgLen, s.side === CLIENT ? 0 : 1);
    if (r === MORE && re.len < want) return p;
    if (r !== YES) {
      s.mode = DEAD;
      this.core.stop(`no DNS message where the ${s.side === CLIENT ? 'client' : 'server'}'s framing resumes after a capture gap`);
      return p;
    }
    // a message starts here: read the gathered bytes as its start (its first byte came at reSec;
    // the others with this chunk, which holds the byte that decided)
    s.mode = FRAME;
    s.prefix = 0;
    s.skip = 0;
    const copy = re.buf.slice(0, re.len);
    re.clear();
    this.feed(s, copy, 0, 1, s.reSec, s.reNsec);
    this.feed(s, copy, 1, copy.length - 1, sec, nsec);
    return p;
  }

  gap(side: Side, len: number, _sec: number, _nsec: number): void {
    const s = this.sides[side];
    if (side === CLIENT) this.core.clientGap = true;
    else this.core.serverGap();
    if (s.mode === DEAD) return;
    if (s.mode === RESYNC) {
      s.re.clear();
      return;
    }
    if (s.skip > 0) {
      if (len <= s.skip) {
        s.skip -= len;
        return;
      }
      s.skip = 0;
      s.mode = RESYNC;
      return;
    }
    if (s.prefix === 2) {
      const left = s.msgLen - s.got;
      // the message so far, read as far as it goes
      this.cutMessage(s, 'a capture gap inside the message', _sec, _nsec);
      s.prefix = 0;
      if (len <= left) {
        s.skip = left - len;
        return;
      }
    }
    s.prefix = 0;
    s.mode = RESYNC;
    s.re.clear();
  }

  /** Reads the current message's bytes so far as a cut message. */
  private cutMessage(s: _TcpSide, why: string, sec: number, nsec: number): void {
    const b = s.buf;
    if (s.got === 0 || b.len < HEADER_BYTES) {
      // too little to tell which query or response it was
      if (s.side !== CLIENT) this.core.serverGap();
      return;
    }
    this.core.message(b.buf, 0, b.len, s.startSec, s.startNsec, sec, nsec, s.cut ?? why);
  }

  end(side: Side, sec: number, nsec: number): void {
    const s = this.sides[side];
    if (s.mode === FRAME && s.prefix === 2 && s.got > 0) {
      this.cutMessage(s, 'the connection ended inside the message', sec, nsec);
      s.prefix = 0;
    }
  }

  finish(): void {
    this.core.finish();
  }
}

