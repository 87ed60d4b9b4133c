/**
 * PostgreSQL frontend/backend protocol v3 message framing for one side
 * (PostgreSQL's "Frontend/Backend Protocol" chapter, "Message Formats"): a
 * type byte and a 4-byte big-endian length that counts itself, or, for the
 * client's first messages (StartupMessage, SSLRequest, GSSENCRequest,
 * CancelRequest), the length alone; and the server's one-byte answer to an
 * SSLRequest or GSSENCRequest, which has no framing at all.
 *
 * A message is handed over once complete with its first bytes (what the
 * owner wants of its type: a statement's text, an ErrorResponse's fields,
 * a DataRow nothing), read where it lies when it is inside one chunk. A
 * length under 4 or over MAX_MESSAGE (PostgreSQL's own 1 GB limit) is not
 * PostgreSQL: the framing is lost. Capture gaps inside a message cut it; a
 * gap across a message boundary loses the framing, as in mysql-packet.ts.
 */
import { ByteBuf } from './_bytes.js';

/** PostgreSQL refuses messages of 1 GB or more (MaxAllocSize); a larger length is a lie. */
export const MAX_MESSAGE = 0x3fffffff;

export interface MessageOwner {
  /**
   * One message: its type byte (0 for an untyped startup-phase message),
   * its body length (without the type and length), the body's first `head`
   * bytes at buf[off ..], `cut` when a capture gap removed some of its
   * bytes, the times of its first and last byte. Valid during the call.
   */
  message(type: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, sec0: number, nsec0: number, sec1: number, nsec1: number): void;
  /** The server's single-byte answer to an SSLRequest or GSSENCRequest. */
  sslByte(b: number, sec: number, nsec: number): void;
  /** Bytes wanted of a message of this type. */
  wantFor(type: number): number;
  /** The side ended inside a message that began at sec0/nsec0. */
  endedInside(sec0: number, nsec0: number): void;
  /** The framing is lost (`invalid`: the bytes are not PostgreSQL, else a capture gap); bytes are dropped until resync(). */
  lost(why: string, invalid: boolean): void;
}

export class PgFramer {
  synced = false;
  dead = false;
  /** The next message has no type byte (the client's startup phase). */
  untyped = false;
  /** The next byte may be the server's one-byte answer to an SSLRequest or GSSENCRequest. */
  expectSslByte = false;
  private readonly hdr = new Uint8Array(5);
  private hdrGot = 0;
  private hdrLen = 5;
  private type = 0;
  private left = 0;
  private len = 0;
  private inMsg = false;
  private cut = false;
  private keep = 0;
  private sec0 = 0;
  private nsec0 = 0;
  private readonly head: ByteBuf;

  constructor(
    private readonly owner: MessageOwner,
    private readonly cap: number,
  ) {
    this.head = new ByteBuf(256, cap);
  }

  resync(): void {
    this.synced = true;
    this.hdrGot = 0;
    this.inMsg = false;
    this.head.clear();
  }

  data(buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    let p = off;
    const end = off + len;
    const o = this.owner;
    while (p < end && this.synced && !this.dead) {
      if (!this.inMsg) {
        if (this.hdrGot === 0) {
          if (this.expectSslByte) {
            this.expectSslByte = false;
            const b = buf[p]!;
            if (b === 0x53 || b === 0x4e || b === 0x47) {
              p++;
              o.sslByte(b, sec, nsec);
              continue;
            }
          }
          this.hdrLen = this.untyped ? 4 : 5;
          // the whole message is here: read it where it lies
          if (end - p >= this.hdrLen) {
            const t = this.untyped ? 0 : buf[p]!;
            const q = p + this.hdrLen - 4;
            const n = ((buf[q]! << 24) | (buf[q + 1]! << 16) | (buf[q + 2]! << 8) | buf[q + 3]!) >>> 0;
            if (n >= 4 && n <= MAX_MESSAGE && end - q >= n) {
              p = q + n;
              o.message(t, buf, q + 4, n - 4, n - 4, false, sec, nsec, sec, nsec);
              continue;
            }
          }
          this.sec0 = sec;
          this.nsec0 = nsec;
        }
        this.hdr[this.hdrGot++] = buf[p++]!;
        if (this.hdrGot < this.hdrLen) continue;
        this.hdrGot = 0;
        const h = this.hdr;
        const q = this.hdrLen - 4;
        const n = ((h[q]! << 24) | (h[q + 1]! << 16) | (h[q + 2]! << 8) | h[q + 3]!) >>> 0;
        if (n < 4 || n > MAX_MESSAGE) {
          this.lose(`message length ${n} ${n < 4 ? 'under 4' : `over ${MAX_MESSAGE + 1}`}`, true);
          return;
        }
        this.type = this.untyped ? 0 : h[0]!;
        this.len = this.left = n - 4;
        this.inMsg = true;
        this.cut = false;
        this.head.clear();
        this.keep = Math.min(this.cap, o.wantFor(this.type));
        if (this.left === 0) this.complete(sec, nsec);
        continue;
      }
      const take = Math.min(this.left, end - p);
      const room = this.keep - this.head.len;
      if (room > 0) this.head.append(buf, p, Math.min(room, take));
      this.left -= take;
      p += take;
      if (this.left === 0) this.complete(sec, nsec);
    }
  }

  private complete(sec: number, nsec: number): void {
    this.inMsg = false;
    const h = this.head;
    this.owner.message(this.type, h.buf, 0, h.len, this.len, this.cut, this.sec0, this.nsec0, sec, nsec);
    h.clear();
  }

  gap(len: number, sec: number, nsec: number): void {
    if (!this.synced || this.dead) return;
    if (this.inMsg && len <= this.left) {
      this.cut = true;
      this.left -= len;
      if (this.left === 0) this.complete(sec, nsec);
      return;
    }
    if (this.inMsg) {
      this.inMsg = false;
      this.owner.message(this.type, this.head.buf, 0, this.head.len, this.len, true, this.sec0, this.nsec0, sec, nsec);
      this.head.clear();
    }
    this.lose(`a capture gap of ${len} bytes across a message boundary`, false);
  }

  end(): void {
    if (!this.synced || this.dead) return;
    if (this.inMsg || this.hdrGot > 0) this.owner.endedInside(this.sec0, this.nsec0);
    this.inMsg = false;
    this.hdrGot = 0;
    this.head.clear();
  }

  private lose(why: string, invalid: boolean): void {
    this.synced = false;
    this.inMsg = false;
    this.hdrGot = 0;
    this.head.clear();
    this.owner.lost(why, invalid);
  }
}
