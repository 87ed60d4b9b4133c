/**
 * Classic libpcap file format (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html):
 * 24-byte file header, then 16-byte record headers each followed by
 * incl_len bytes. All four magics: a1b2c3d4 (µs) and a1b23c4d (ns), in
 * either byte order.
 *
 * Zeros where records should be (a file whose tail was never written, a
 * sparse file after a crash) read as records of length 0 with timestamp 0:
 * billions of them. They are damage, not packets: counted as skipped records
 * (one line at the end), passed over a page at a time, and with `strict` the
 * first one ends the file as PCAP_ZERO_RECORDS.
 */
import { ToolError } from '../util/errors.js';
import type { ByteWindow } from '../io/window.js';
import { PacketView, WindowView, countSkip, END, HAVE_PACKET, NEED_MORE, type CaptureReader } from './packet.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;
/** libpcap's MAXIMUM_SNAPLEN; larger records are tolerated up to RECORD_LIMIT. */
const MAX_SNAPLEN = 262144;
/** Records longer than this are treated as corruption (hostile lengths). */
export const RECORD_LIMIT = 16 * 1024 * 1024;
/** Skip reason for records of zeros (see the file comment). */
export const ZERO_RECORDS = 'zero-length records with zero timestamps (zeros where records should be: damage)';
const ZEROS = Buffer.alloc(4096);
/** record(): a run of zero records was passed over; read on. */
const ZERO = -100;

export function isPcapMagic(v: number): boolean {
  return v === PCAP_MAGIC_US || v === PCAP_MAGIC_NS || v === 0xd4c3b2a1 || v === 0x4d3cb2a1;
}

export class PcapReader implements CaptureReader {
  readonly format = 'pcap' as const;
  readonly packet = new PacketView();
  need = FILE_HEADER;
  error: Error | null = null;
  readonly skips = new Map<string, number>();
  private readonly w: ByteWindow;
  private readonly name: string;
  private readonly wv = new WindowView();
  private le = true;
  private nanos = false;
  snaplen = 0;
  linkType = 0;
  versionMajor = 0;
  versionMinor = 0;
  private headerDone = false;
  private count = 0;
  private done = false;
  private readonly strict: boolean;

  /** `strict`: a damaged record ends the file with an error instead of being counted and skipped. */
  constructor(w: ByteWindow, name: string, inputIndex = 0, strict = false) {
    this.w = w;
    this.name = name;
    this.packet.input = inputIndex;
    this.strict = strict;
  }

  private view(): DataView {
    return this.wv.of(this.w, this.packet);
  }

  private fail(code: string, message: string, offset: number, packet?: number): number {
    this.error = new ToolError(code, message, { file: this.name, packet, offset });
    this.done = true;
    return END;
  }

  private readHeader(dv: DataView, p: number): number {
    const magicBE = dv.getUint32(p, false);
    if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) this.le = false;
    else if (dv.getUint32(p, true) === PCAP_MAGIC_US || dv.getUint32(p, true) === PCAP_MAGIC_NS) this.le = true;
    else return this.fail('PCAP_BAD_MAGIC', `not a pcap file: magic 0x${magicBE.toString(16).padStart(8, '0')}`, this.w.offset);
    const le = this.le;
    this.nanos = dv.getUint32(p, le) === PCAP_MAGIC_NS;
    this.versionMajor = dv.getUint16(p + 4, le);
    this.versionMinor = dv.getUint16(p + 6, le);
    if (this.versionMajor !== 2) {
      return this.fail('PCAP_BAD_VERSION', `unsupported pcap version ${this.versionMajor}.${this.versionMinor} (expected 2.4)`, this.w.offset + 4);
    }
    // Like Wireshark (and unlike libpcap), read any 2.x file as 2.4, and say so.
    if (this.versionMinor !== 4) countSkip(this.skips, `pcap version 2.${this.versionMinor} read as 2.4`);
    this.snaplen = dv.getUint32(p + 16, le);
    const lt = dv.getUint32(p + 20, le);
    const reserved = lt & 0x03ff0000;
    if (reserved !== 0) {
      return this.fail('PCAP_BAD_LINKTYPE', `link-type field has reserved bits set (0x${(reserved >>> 0).toString(16).padStart(8, '0')})`, this.w.offset + 20);
    }
    this.linkType = lt & 0xffff;
    this.packet.linkType = this.linkType;
    this.headerDone = true;
    this.w.pos += FILE_HEADER;
    this.need = RECORD_HEADER;
    return NEED_MORE;
  }

  next(): number {
    for (;;) {
      const r = this.record();
      if (r !== ZERO) return r;
    }
  }

  /** Passes over records of zeros from `w.pos`: whole pages at a time, then 16 bytes at a time. */
  private skipZeros(): number {
    const w = this.w;
    const b = w.buf;
    let p = w.pos;
    const end = w.end;
    while (p + ZEROS.length <= end && b.compare(ZEROS, 0, ZEROS.length, p, p + ZEROS.length) === 0) p += ZEROS.length;
    while (p + RECORD_HEADER <= end && b.readUInt32LE(p) === 0 && b.readUInt32LE(p + 4) === 0 && b.readUInt32LE(p + 8) === 0 && b.readUInt32LE(p + 12) === 0) p += RECORD_HEADER;
    const n = (p - w.pos) / RECORD_HEADER;
    w.pos = p;
    return n;
  }

  private record(): number {
    if (this.done) return END;
    const w = this.w;
    if (!this.headerDone) {
      if (w.available < FILE_HEADER) {
        this.need = FILE_HEADER;
        return w.eof ? this.truncatedHeader() : NEED_MORE;
      }
      const r = this.readHeader(this.view(), w.pos);
      if (r === END) return END;
    }
    const avail = w.end - w.pos;
    if (avail < RECORD_HEADER) {
      this.need = RECORD_HEADER;
      return NEED_MORE;
    }
    const dv = this.view();
    const p = w.pos;
    const le = this.le;
    const incl = dv.getUint32(p + 8, le);
    if (incl > RECORD_LIMIT) {
      return this.fail('PCAP_BAD_RECORD_LENGTH', `record length ${incl} is absurd (snaplen ${this.snaplen})`, w.base + p, this.count + 1);
    }
    const total = RECORD_HEADER + incl;
    if (avail < total) {
      this.need = total;
      return NEED_MORE;
    }
    const sec = dv.getUint32(p, le);
    const frac = dv.getUint32(p + 4, le);
    if (incl === 0 && sec === 0 && frac === 0 && dv.getUint32(p + 12, le) === 0) {
      if (this.strict) {
        return this.fail('PCAP_ZERO_RECORDS', 'a record of zeros (length 0, timestamp 0): zeros where records should be (damage)', w.base + p, this.count + 1);
      }
      const n = this.skipZeros();
      this.count += n; // records of the file, as a packet number counts them (tshark would show each as a frame)
      countSkip(this.skips, ZERO_RECORDS, n);
      this.need = RECORD_HEADER;
      return ZERO;
    }
    const pk = this.packet;
    const unit = this.nanos ? 1_000_000_000 : 1_000_000;
    const nsPerUnit = this.nanos ? 1 : 1000;
    if (frac < unit) {
      // the usual case: no division or remainder per packet
      pk.sec = sec;
      pk.nsec = frac * nsPerUnit;
    } else {
      countSkip(this.skips, 'timestamp fraction out of range (normalised)');
      pk.sec = sec + Math.floor(frac / unit);
      pk.nsec = (frac % unit) * nsPerUnit;
    }
    pk.caplen = incl;
    pk.origlen = dv.getUint32(p + 12, le);
    if (incl > MAX_SNAPLEN && incl > this.snaplen) countSkip(this.skips, 'record longer than snaplen (tolerated)');
    pk.off = p + RECORD_HEADER;
    pk.recordOffset = w.base + p;
    pk.index = ++this.count;
    w.pos = p + total;
    this.need = RECORD_HEADER;
    return HAVE_PACKET;
  }

  private truncatedHeader(): number {
    if (this.w.available === 0 && this.w.base + this.w.pos === 0) {
      return this.fail('CAPTURE_EMPTY', 'empty file (0 bytes)', 0);
    }
    return this.fail('PCAP_TRUNCATED_HEADER', `file header cut short: ${this.w.available} of ${FILE_HEADER} bytes`, this.w.offset);
  }

  finish(): void {
    if (this.done) return;
    const left = this.w.available;
    if (!this.headerDone) {
      this.truncatedHeader();
      return;
    }
    if (left > 0) {
      const pkt = this.count + 1;
      if (left < RECORD_HEADER) {
        this.fail('PCAP_TRUNCATED_RECORD', `record header cut short: ${left} of ${RECORD_HEADER} bytes`, this.w.offset, pkt);
      } else {
        const incl = this.view().getUint32(this.w.pos + 8, this.le);
        this.fail('PCAP_TRUNCATED_RECORD', `packet data cut short: ${left - RECORD_HEADER} of ${incl} bytes`, this.w.offset, pkt);
      }
    }
    this.done = true;
  }

  /** Packets delivered so far. */
  get packets(): number {
    return this.count;
  }

  readonly section = 1;
  snaplenOf(): number {
    return this.snaplen;
  }
  get nanosecond(): boolean {
    return this.nanos;
  }
}
