/**
 * MySQL packet framing for one side of a connection: the 4-byte packet
 * header (3-byte little-endian payload length, sequence id), payloads of
 * 2^24 - 1 bytes continued by the next packet (one logical packet of any
 * size), and the compressed protocol's frames (3-byte compressed length,
 * sequence id, 3-byte uncompressed length, then zlib data or, with an
 * uncompressed length of 0, the packets as they are) carrying a stream of
 * packets that may start and end anywhere in them.
 *
 * Nothing is held whole: a logical packet is handed over once complete with
 * its first bytes (up to what the owner wants: a statement's text, the
 * start of an OK or ERR packet; a result-set row needs only its first
 * byte), read where it lies when it is inside one chunk. Compressed frames
 * are gathered up to MAX_COMPRESSED_FRAME bytes (they are 16 KiB to a few
 * hundred KiB in practice) and inflated with node:zlib, the output bounded
 * by the frame's declared length (at most 2^24 - 1).
 *
 * The compressed frames' own sequence ids are not checked (they restart
 * with each command, shared by both sides); the packets' inside them are,
 * by the decoder.
 *
 * Capture gaps: a gap inside a payload only shortens the packet (it is
 * handed over `cut`); a gap that covers a packet boundary, or any part of a
 * zlib frame's framing, loses the framing: the owner is told (`lost`), the
 * framer drops bytes until the owner finds where a packet starts again
 * (`resync`, at a place the owner chooses and checks).
 */
import { inflateSync } from 'node:zlib';
import { ByteBuf } from './_bytes.js';

export const PLAIN = 0;
export const COMPRESSED = 1;
/** Largest compressed frame gathered for inflating; a larger one is skipped, its content a gap for the packets in it. */
export const MAX_COMPRESSED_FRAME = 1 << 20;
const MAX_LEN = 0xffffff;

export interface PacketOwner {
  /**
   * One logical packet: the sequence id of its first part, its payload
   * length (all parts), the payload's first `head` bytes at buf[off ..]
   * (all of them when head === len), `cut` when a capture gap removed some
   * of its bytes, the times of its first and last byte. Valid during the
   * call only.
   */
  packet(seq: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, sec0: number, nsec0: number, sec1: number, nsec1: number): void;
  /** The side ended inside a packet that began at sec0/nsec0 (it is not handed over). */
  endedInside(sec0: number, nsec0: number): void;
  /** The framing is lost (the reason is given); bytes are dropped until resync(). */
  lost(why: string): void;
  /** Something odd but survivable. */
  weird(name: string): void;
}

/** One side's packet stream (the payloads of compressed frames, or the side's bytes). */
class _Packets {
  private readonly hdr = new Uint8Array(4);
  private hdrGot = 0;
  /** Bytes left of the current part's payload. */
  private partLeft = 0;
  /** A logical packet is being read (its header came). */
  private inPacket = false;
  /** The last part was 2^24 - 1 bytes long: another part of the same packet follows. */
  private more = false;
  private len = 0;
  private seq = 0;
  private cut = false;
  private keep = 0;
  private sec0 = 0;
  private nsec0 = 0;
  private readonly head: ByteBuf;
  /** Set by the framer: stop at the next packet boundary (the side switches to compressed frames). */
  stopAtBoundary = false;

  constructor(
    private readonly f: MysqlFramer,
    cap: number,
  ) {
    this.head = new ByteBuf(256, cap);
  }

  atBoundary(): boolean {
    return this.hdrGot === 0 && !this.inPacket;
  }

  reset(): void {
    this.hdrGot = 0;
    this.inPacket = false;
    this.more = false;
    this.partLeft = 0;
    this.head.clear();
  }

  /** Reads buf[p, end); returns where it stopped (end, or a packet boundary when stopAtBoundary was set). */
  data(buf: Uint8Array, p: number, end: number, sec: number, nsec: number): number {
    const o = this.f.owner;
    while (p < end) {
      if (this.partLeft === 0) {
        // a header (of a packet, or of the next part of one)
        if (this.stopAtBoundary && this.atBoundary()) return p;
        if (this.hdrGot === 0 && !this.inPacket && end - p >= 4) {
          const n = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16);
          if (n < MAX_LEN && end - p - 4 >= n) {
            // the whole packet is here: read it where it lies
            p += 4 + n;
            o.packet(buf[p - n - 1]!, buf, p - n, n, n, false, sec, nsec, sec, nsec);
            if (this.f.dead) return end;
            continue;
          }
        }
        if (this.hdrGot === 0 && !this.inPacket) {
          this.sec0 = sec;
          this.nsec0 = nsec;
        }
        this.hdr[this.hdrGot++] = buf[p++]!;
        if (this.hdrGot < 4) continue;
        this.hdrGot = 0;
        const n = this.hdr[0]! | (this.hdr[1]! << 8) | (this.hdr[2]! << 16);
        if (!this.inPacket) {
          this.inPacket = true;
          this.len = 0;
          this.seq = this.hdr[3]!;
          this.cut = false;
          this.keep = -1;
          this.head.clear();
        }
        this.len += n;
        this.partLeft = n;
        this.more = n === MAX_LEN;
        if (n === 0) this.complete(sec, nsec);
        continue;
      }
      // payload bytes of the current part
      const take = Math.min(this.partLeft, end - p);
      if (this.keep < 0) this.keep = this.f.wantFor(buf[p]!);
      const room = this.keep - this.head.len;
      if (room > 0) this.head.append(buf, p, Math.min(room, take));
      this.partLeft -= take;
      p += take;
      if (this.partLeft === 0 && !this.more) {
        this.complete(sec, nsec);
        if (this.f.dead) return end;
      }
    }
    return p;
  }

  /** A part of the packet ended and no other follows. */
  private complete(sec: number, nsec: number): void {
    this.inPacket = false;
    this.more = false;
    const h = this.head;
    this.f.owner.packet(this.seq, h.buf, 0, h.len, this.len, this.cut, this.sec0, this.nsec0, sec, nsec);
    h.clear();
  }

  /** `len` bytes were never captured: true when the framing survived. */
  gap(len: number, sec: number, nsec: number): boolean {
    if (this.partLeft > 0 && len <= this.partLeft) {
      this.cut = true;
      this.partLeft -= len;
      if (this.partLeft === 0 && !this.more) this.complete(sec, nsec);
      return true;
    }
    if (this.inPacket) {
      // what there is of the packet, cut
      this.cut = true;
      this.inPacket = false;
      this.more = false;
      const h = this.head;
      this.f.owner.packet(this.seq, h.buf, 0, h.len, this.len, true, this.sec0, this.nsec0, sec, nsec);
    }
    this.reset();
    return false;
  }

  /** The side ended: a packet in progress is dropped, the owner told when it began. */
  end(): void {
    if (this.inPacket || this.hdrGot > 0) this.f.owner.endedInside(this.sec0, this.nsec0);
    this.reset();
  }
}

/** One side: plain packets or compressed frames, with resynchronisation after lost framing. */
export class MysqlFramer {
  mode = PLAIN;
  /** Bytes are dropped (framing lost, or not yet found) until resync(). */
  synced = false;
  /** Nothing more is read (TLS, or the decoder gave up). */
  dead = false;
  /** Payload bytes the owner wants of each packet (more for an ERR packet). */
  want = 4096;
  private readonly packets: _Packets;
  // compressed frames
  private readonly fhdr = new Uint8Array(7);
  private fhdrGot = 0;
  private frameLeft = 0;
  private frameRaw = 0;
  private frameBroken = false;
  private fsec0 = 0;
  private fnsec0 = 0;
  private readonly frame: ByteBuf;

  constructor(
    readonly owner: PacketOwner,
    private readonly cap: number,
  ) {
    this.packets = new _Packets(this, cap);
    this.frame = new ByteBuf(4096, MAX_COMPRESSED_FRAME);
  }

  wantFor(first: number): number {
    const w = first === 0xff && this.want < 4096 ? 4096 : this.want;
    return w < this.cap ? w : this.cap;
  }

  /** Framing starts (again) at the next byte, in `mode`. */
  resync(mode: number): void {
    this.synced = true;
    this.mode = mode;
    this.packets.reset();
    this.packets.stopAtBoundary = false;
    this.fhdrGot = 0;
    this.frameLeft = 0;
    this.frameBroken = false;
    this.frame.clear();
  }

  /** The side switches to compressed frames after the packet being handed over. */
  startCompression(): void {
    if (this.mode === COMPRESSED) return;
    this.packets.stopAtBoundary = true;
  }

  data(buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    let p = off;
    const end = off + len;
    while (p < end && this.synced && !this.dead) {
      if (this.mode === PLAIN) {
        p = this.packets.data(buf, p, end, sec, nsec);
        if (p < end && this.packets.stopAtBoundary) {
          this.packets.stopAtBoundary = false;
          this.mode = COMPRESSED;
          this.fhdrGot = 0;
          this.frameLeft = 0;
        }
        continue;
      }
      p = this.frames(buf, p, end, sec, nsec);
    }
  }

  private frames(buf: Uint8Array, p: number, end: number, sec: number, nsec: number): number {
    while (p < end && this.synced && !this.dead) {
      if (this.frameLeft === 0) {
        if (this.fhdrGot === 0) {
          this.fsec0 = sec;
          this.fnsec0 = nsec;
        }
        this.fhdr[this.fhdrGot++] = buf[p++]!;
        if (this.fhdrGot < 7) continue;
        this.fhdrGot = 0;
        const h = this.fhdr;
        const clen = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        this.frameRaw = h[4]! | (h[5]! << 8) | (h[6]! << 16);
        this.frameLeft = clen;
        this.frameBroken = false;
        this.frame.clear();
        if (clen === 0) this.endFrame(sec, nsec);
        continue;
      }
      const take = Math.min(this.frameLeft, end - p);
      if (this.frameRaw === 0) {
        // stored: the packets as they are
        this.frameLeft -= take;
        this.packets.data(buf, p, p + take, sec, nsec);
        p += take;
        continue;
      }
      if (!this.frameBroken && !this.frame.append(buf, p, take)) {
        this.frameBroken = true;
        this.owner.weird('compressed frame over the size limit');
      }
      this.frameLeft -= take;
      p += take;
      if (this.frameLeft === 0) this.endFrame(sec, nsec);
    }
    return p;
  }

  /** A zlib frame is complete: its packets go on from the inflated bytes. */
  private endFrame(sec: number, nsec: number): void {
    const raw = this.frameRaw;
    if (raw === 0) return;
    let out: Buffer | null = null;
    if (!this.frameBroken) {
      try {
        out = inflateSync(this.frame.buf.subarray(0, this.frame.len), { maxOutputLength: raw });
      } catch {
        this.owner.weird('compressed frame does not inflate');
      }
    }
    this.frame.clear();
    if (out === null) {
      if (!this.packets.gap(raw, sec, nsec)) this.lose('a compressed frame that could not be read');
      return;
    }
    if (out.length !== raw) this.owner.weird('compressed frame length differs from its header');
    // the first byte became readable with the frame's first byte on the wire, the rest with its last
    if (out.length > 0) {
      this.packets.data(out, 0, 1, this.fsec0, this.fnsec0);
      if (!this.dead && this.synced && out.length > 1) this.packets.data(out, 1, out.length, sec, nsec);
    }
  }

  gap(len: number, sec: number, nsec: number): void {
    if (!this.synced || this.dead) return;
    if (this.mode === PLAIN) {
      if (!this.packets.gap(len, sec, nsec)) this.lose(`a capture gap of ${len} bytes across a packet boundary`);
      return;
    }
    if (this.frameLeft > 0 && len <= this.frameLeft) {
      this.frameLeft -= len;
      if (this.frameRaw === 0) {
        if (!this.packets.gap(len, sec, nsec)) this.lose(`a capture gap of ${len} bytes across a packet boundary`);
      } else {
        this.frameBroken = true;
        if (this.frameLeft === 0) this.endFrame(sec, nsec);
      }
      return;
    }
    this.lose(`a capture gap of ${len} bytes across a compressed frame boundary`);
  }

  end(): void {
    if (this.synced && !this.dead) this.packets.end();
  }

  private lose(why: string): void {
    this.synced = false;
    this.packets.reset();
    this.fhdrGot = 0;
    this.frameLeft = 0;
    this.frame.clear();
    this.owner.lost(why);
  }
}
