/**
 * One side of a TLS connection at the record layer (RFC 8446 §5.1, RFC 5246
 * §6.2): 5-byte record headers checked (content type 20-26, major version 3,
 * length at most 2^14 + 2048), handshake messages reassembled across records
 * (only the ones the owner asks for are kept, up to `maxMessage` bytes;
 * others, a large Certificate chain for one, are skipped by length),
 * alerts, ChangeCipherSpec, and, once the owner says the side is encrypted,
 * record headers only. An SSLv2-compatible ClientHello as the first record
 * is recognised. Resumable at any byte: every partial header, message and
 * alert is kept between calls, nothing else.
 *
 * Gaps: inside a record body (and inside a skipped handshake message) the
 * side stays in step, because the lengths say where the next record starts;
 * a gap before the side's first byte starts a hunt for the first record
 * header that carries a ClientHello (client side) or ServerHello (server
 * side), as after a STARTTLS-style plaintext prefix; any other gap loses
 * the framing and the side stops.
 */
import { ByteBuf } from './_bytes.js';

export const CT_CCS = 20;
export const CT_ALERT = 21;
export const CT_HANDSHAKE = 22;
export const CT_APPDATA = 23;

/** Largest record body accepted (TLSCiphertext: 2^14 + 2048). */
export const MAX_RECORD = 16384 + 2048;

export interface RecordOwner {
  /** A valid record header; true when the record's content is ciphertext (it is then skipped). */
  record(type: number, version: number, length: number, sec: number, nsec: number): boolean;
  /** Should a handshake message of this type be kept whole? */
  wantMessage(type: number): boolean;
  /** A handshake message ended: body is its bytes when kept (null when skipped, over the limit or cut by a gap). */
  message(type: number, length: number, body: Uint8Array | null, sec: number, nsec: number): void;
  ccs(sec: number, nsec: number): void;
  alert(level: number, desc: number, sec: number, nsec: number): void;
  /** A complete SSLv2 record body (its first byte is the message type). */
  v2Record(body: Uint8Array, sec: number, nsec: number): void;
  /** The side cannot be read on: `invalid` for bytes that are not TLS, else a capture gap. */
  lost(why: string, invalid: boolean): void;
  /** Something odd but survivable. */
  weird(name: string): void;
}

const HEADER = 0;
const BODY = 1;
const HUNT = 2;
const DEAD = 3;

export class TlsSide {
  /** Records whose header was read. */
  records = 0;
  /** Bytes of this side read (delivered, gaps included). */
  offset = 0;
  private mode = HEADER;
  private readonly hdr = new Uint8Array(6);
  private hdrLen = 0;
  private hdrSec = 0;
  private hdrNsec = 0;
  private recType = 0;
  private recLeft = 0;
  private recCipher = false;
  /** Any valid record seen (the first header decides "not TLS"). */
  private synced = false;
  private v2: ByteBuf | null = null;
  // handshake message being assembled
  private readonly hs = new Uint8Array(4);
  private hsHdrLen = 0;
  private hsType = 0;
  private hsLen = 0;
  private hsLeft = 0;
  private hsBuf: ByteBuf | null = null;
  /** The buffer kept messages are collected in, reused (bodies are views valid during the owner's call). */
  private msgBuf: ByteBuf | null = null;
  private hsSec = 0;
  private hsNsec = 0;
  private hsSkip = false;
  // alert being assembled
  private alertByte = -1;
  private huntSkipped = 0;
  /** Time of the latest bytes (what a gap's effects are dated with). */
  private sec = 0;
  private nsec = 0;

  constructor(
    private readonly owner: RecordOwner,
    /** ClientHello (1) or ServerHello (2): what a hunt looks for. */
    private readonly helloType: number,
    private readonly maxMessage: number,
  ) {}

  get dead(): boolean {
    return this.mode === DEAD;
  }

  /** A handshake message is partly read. */
  get inMessage(): boolean {
    return this.hsHdrLen > 0;
  }

  data(buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    const end = off + len;
    this.offset += len;
    this.sec = sec;
    this.nsec = nsec;
    let p = off;
    while (p < end) {
      switch (this.mode) {
        case DEAD:
          return;
        case HUNT:
          p = this.hunt(buf, p, end, sec, nsec);
          break;
        case HEADER: {
          if (this.hdrLen === 0) {
            this.hdrSec = sec;
            this.hdrNsec = nsec;
          }
          const n = Math.min(5 - this.hdrLen, end - p);
          this.hdr.set(buf.subarray(p, p + n), this.hdrLen);
          this.hdrLen += n;
          p += n;
          if (this.hdrLen === 5) this.header();
          break;
        }
        default: {
          const n = Math.min(this.recLeft, end - p);
          if (!this.recCipher) this.content(buf, p, n, sec, nsec);
          this.recLeft -= n;
          p += n;
          if (this.recLeft === 0 && this.mode === BODY) this.recordEnd(sec, nsec);
        }
      }
    }
  }

  gap(len: number): void {
    const at = this.offset;
    this.offset += len;
    if (this.mode === DEAD) return;
    if (at === 0 && !this.synced) {
      // nothing of this side seen yet: look for its first hello after the missing bytes
      this.mode = HUNT;
      this.hdrLen = 0;
      return;
    }
    if (this.mode === HUNT) {
      this.hdrLen = 0;
      return;
    }
    if (this.mode === BODY && len <= this.recLeft) {
      if (this.recCipher || this.recType !== CT_HANDSHAKE) {
        if (this.recType === CT_ALERT && !this.recCipher) this.alertByte = -1;
        this.recLeft -= len;
        if (this.recLeft === 0) this.recordEnd(this.sec, this.nsec);
        return;
      }
      if (this.hsHdrLen === 4 && len <= this.hsLeft) {
        // inside one handshake message: it is lost if it was being kept, the framing is not
        if (this.hsBuf !== null) {
          this.hsBuf = null;
          this.owner.lost(`gap of ${len} bytes in a handshake message (type ${this.hsType})`, false);
        }
        this.hsSkip = true;
        this.hsLeft -= len;
        this.recLeft -= len;
        if (this.hsLeft === 0) this.messageEnd();
        if (this.recLeft === 0) this.recordEnd(this.sec, this.nsec);
        return;
      }
    }
    this.die(`gap of ${len} bytes at byte ${at}`, false);
  }

  private die(why: string, invalid: boolean): void {
    if (this.mode === DEAD) return;
    this.mode = DEAD;
    this.hsBuf = null;
    this.v2 = null;
    this.owner.lost(why, invalid);
  }

  /** Hunts byte by byte for `16 03 0x LL LL <hello type>`; returns where it stopped in buf. */
  private hunt(buf: Uint8Array, p: number, end: number, sec: number, nsec: number): number {
    while (p < end) {
      if (this.hdrLen === 0) {
        this.hdrSec = sec;
        this.hdrNsec = nsec;
      }
      this.hdr[this.hdrLen++] = buf[p++]!;
      const h = this.hdr;
      const ok =
        h[0] === CT_HANDSHAKE &&
        (this.hdrLen < 2 || h[1] === 3) &&
        (this.hdrLen < 3 || h[2]! <= 4) &&
        (this.hdrLen < 5 || ((h[3]! << 8) | h[4]!) >= 4) &&
        (this.hdrLen < 6 || h[5] === this.helloType);
      if (ok && this.hdrLen === 6) {
        // found: read the header as usual, then the hello's first byte
        this.mode = HEADER;
        this.hdrLen = 5;
        if (this.huntSkipped > 0) this.owner.weird('bytes before the first TLS record');
        this.header();
        if (this.mode === BODY) {
          this.content(h, 5, 1, this.hdrSec, this.hdrNsec);
          this.recLeft -= 1;
          if (this.recLeft === 0) this.recordEnd(sec, nsec);
        }
        return p;
      }
      if (!ok) {
        // drop the first byte and look again from the next one
        let k = 1;
        while (k < this.hdrLen && this.hdr[k] !== CT_HANDSHAKE) k++;
        this.huntSkipped += k;
        this.hdr.copyWithin(0, k, this.hdrLen);
        this.hdrLen -= k;
        if (this.huntSkipped > this.maxMessage) {
          this.die(`no TLS record in the ${this.huntSkipped} bytes after a gap`, false);
          return end;
        }
      }
    }
    return p;
  }

  private header(): void {
    const h = this.hdr;
    this.hdrLen = 0;
    if (!this.synced && this.v2 === null && h[0]! & 0x80 && h[2] === 1 && h[3]! <= 3) {
      // SSLv2-compatible ClientHello: 2-byte header, length in 15 bits
      const len = ((h[0]! & 0x7f) << 8) | h[1]!;
      this.v2 = new ByteBuf(Math.min(len, 1024), Math.max(len, 9));
      this.v2.append(h, 2, 3);
      this.recType = -2;
      this.recLeft = len - 3;
      this.recCipher = false;
      this.synced = true;
      this.records++;
      this.mode = len > 3 ? BODY : HEADER;
      if (len <= 3) this.v2Done();
      return;
    }
    const type = h[0]!;
    const version = (h[1]! << 8) | h[2]!;
    const length = (h[3]! << 8) | h[4]!;
    let why: string | null = null;
    if (type < CT_CCS || type > 26) why = `record type ${type} is not TLS`;
    else if (h[1] !== 3 || h[2]! > 4) why = `record version 0x${version.toString(16).padStart(4, '0')} is not TLS`;
    else if (length > MAX_RECORD) why = `record length ${length} over ${MAX_RECORD}`;
    if (why !== null) {
      this.die(this.synced ? `${why} (at byte ${this.offset})` : `not TLS: ${why}`, true);
      return;
    }
    this.synced = true;
    this.records++;
    this.recType = type;
    this.recLeft = length;
    if (this.hsHdrLen > 0 && type !== CT_HANDSHAKE) this.owner.weird('record inside a handshake message');
    this.recCipher = this.owner.record(type, version, length, this.hdrSec, this.hdrNsec);
    if (this.mode === DEAD) return;
    this.mode = BODY;
    if (length === 0) this.recordEnd(this.hdrSec, this.hdrNsec);
  }

  private content(buf: Uint8Array, p: number, n: number, sec: number, nsec: number): void {
    switch (this.recType) {
      case CT_HANDSHAKE:
        this.handshakeBytes(buf, p, p + n, sec, nsec);
        break;
      case CT_ALERT:
        for (let i = p; i < p + n; i++) {
          if (this.alertByte < 0) this.alertByte = buf[i]!;
          else {
            this.owner.alert(this.alertByte, buf[i]!, sec, nsec);
            this.alertByte = -1;
          }
        }
        break;
      case -2:
        this.v2!.append(buf, p, n);
        break;
      default:
        break;
    }
  }

  private recordEnd(sec: number, nsec: number): void {
    this.mode = HEADER;
    if (this.recCipher) return;
    if (this.recType === CT_CCS) this.owner.ccs(sec, nsec);
    else if (this.recType === -2) this.v2Done();
  }

  private v2Done(): void {
    const b = this.v2!;
    this.v2 = null;
    this.owner.v2Record(b.buf.subarray(0, b.len), this.hdrSec, this.hdrNsec);
  }

  private handshakeBytes(buf: Uint8Array, p: number, end: number, sec: number, nsec: number): void {
    while (p < end) {
      if (this.hsHdrLen < 4) {
        if (this.hsHdrLen === 0) {
          this.hsSec = sec;
          this.hsNsec = nsec;
        }
        this.hs[this.hsHdrLen++] = buf[p++]!;
        if (this.hsHdrLen === 4) {
          this.hsType = this.hs[0]!;
          this.hsLen = (this.hs[1]! << 16) | (this.hs[2]! << 8) | this.hs[3]!;
          this.hsLeft = this.hsLen;
          this.hsSkip = false;
          this.hsBuf = null;
          if (this.owner.wantMessage(this.hsType)) {
            if (this.hsLen > this.maxMessage) {
              this.owner.lost(`handshake message type ${this.hsType} of ${this.hsLen} bytes over the ${this.maxMessage}-byte limit`, true);
              this.hsSkip = true;
            } else {
              this.hsBuf = this.msgBuf ??= new ByteBuf(1024, Math.max(this.maxMessage, 1));
              this.hsBuf.clear();
            }
          }
          if (this.hsLeft === 0) this.messageEnd();
        }
        continue;
      }
      const n = Math.min(this.hsLeft, end - p);
      if (this.hsBuf !== null) this.hsBuf.append(buf, p, n);
      this.hsLeft -= n;
      p += n;
      if (this.hsLeft === 0) this.messageEnd();
    }
  }

  private messageEnd(): void {
    const b = this.hsBuf;
    this.hsBuf = null;
    this.hsHdrLen = 0;
    const body = b !== null && !this.hsSkip ? b.buf.subarray(0, b.len) : null;
    this.owner.message(this.hsType, this.hsLen, body, this.hsSec, this.hsNsec);
  }
}
