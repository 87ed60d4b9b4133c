/**
 * Capture writers: classic pcap (libpcap's savefile format, little-endian,
 * microsecond or nanosecond magic) and pcapng (draft-ietf-opsawg-pcapng:
 * one SHB, an IDB per input interface written before its first packet,
 * EPBs with `if_tsresol` = 9 so every timestamp is kept to the nanosecond).
 *
 * Packets are copied into one batch buffer (src/io/byte-batch.ts), handed to the sink when full;
 * `add()` returns true when the caller should wait for the sink (backpressure).
 */
import { ToolError } from '../util/errors.js';
import { ByteBatch, type ByteTarget } from '../io/byte-batch.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap.js';
import type { PacketView } from './packet.js';

abstract class BatchWriter extends ByteBatch {
  /** Packets written. */
  packets = 0;
}

export class PcapWriter extends BatchWriter {
  private linkType = -1;

  /** `nanos`: write the nanosecond magic (a1b23c4d) and nanosecond fractions. */
  constructor(
    target: ByteTarget,
    private readonly nanos: boolean,
    private readonly snaplen: number,
  ) {
    super(target);
  }

  private fileHeader(linkType: number): void {
    this.linkType = linkType;
    this.reserve(24);
    const b = this.buf, p = this.pos;
    b.writeUInt32LE(this.nanos ? PCAP_MAGIC_NS : PCAP_MAGIC_US, p);
    b.writeUInt16LE(2, p + 4);
    b.writeUInt16LE(4, p + 6);
    b.writeInt32LE(0, p + 8); // thiszone
    b.writeUInt32LE(0, p + 12); // sigfigs
    b.writeUInt32LE(this.snaplen > 0 ? this.snaplen : 262144, p + 16);
    b.writeUInt32LE(linkType, p + 20);
    this.pos += 24;
  }

  /** Writes the packet the view describes; throws CAPTURE_WRITE_LINKTYPE when its link type differs from the first. */
  add(pk: PacketView): boolean {
    if (this.linkType < 0) this.fileHeader(pk.linkType);
    else if (pk.linkType !== this.linkType) {
      throw new ToolError('CAPTURE_WRITE_LINKTYPE', `link type ${pk.linkType} (a pcap file holds one link type, here ${this.linkType}): write pcapng (-o FILE.pcapng) to keep several`, { packet: pk.index, offset: pk.recordOffset });
    }
    const n = pk.caplen;
    this.reserve(16 + n);
    const b = this.buf, p = this.pos;
    b.writeUInt32LE(pk.sec >>> 0, p);
    b.writeUInt32LE(this.nanos ? pk.nsec : Math.floor(pk.nsec / 1000), p + 4);
    b.writeUInt32LE(n, p + 8);
    b.writeUInt32LE(pk.origlen, p + 12);
    pk.buf.copy(b, p + 16, pk.off, pk.off + n);
    this.pos += 16 + n;
    this.packets++;
    return this.taken();
  }

  /** Completes the output; a capture with no packet still gets its file header (with `linkType`). */
  end(linkType: number): boolean {
    if (this.linkType < 0) this.fileHeader(linkType);
    return this.flush();
  }
}

const SHB = 0x0a0d0d0a;
const IDB = 1;
const EPB = 6;

export class PcapngWriter extends BatchWriter {
  /** (section << 16 | interface) of the input -> interface id in the output. */
  private readonly ifaces = new Map<number, number>();
  private started = false;

  constructor(
    target: ByteTarget,
    private readonly application = 'tcpkit',
  ) {
    super(target);
  }

  private header(): void {
    this.started = true;
    const app = Buffer.from(this.application, 'utf8');
    const optLen = 4 + ((app.length + 3) & ~3) + 4; // shb_userappl + opt_endofopt
    const len = 28 + optLen;
    this.reserve(len);
    const b = this.buf;
    let p = this.pos;
    b.writeUInt32LE(SHB, p);
    b.writeUInt32LE(len, p + 4);
    b.writeUInt32LE(0x1a2b3c4d, p + 8);
    b.writeUInt16LE(1, p + 12);
    b.writeUInt16LE(0, p + 14);
    b.writeInt32LE(-1, p + 16); // section length unknown (-1 as int64)
    b.writeInt32LE(-1, p + 20);
    p += 24;
    b.writeUInt16LE(4, p); // shb_userappl
    b.writeUInt16LE(app.length, p + 2);
    app.copy(b, p + 4);
    b.fill(0, p + 4 + app.length, p + 4 + ((app.length + 3) & ~3));
    p += 4 + ((app.length + 3) & ~3);
    b.writeUInt32LE(0, p); // opt_endofopt
    p += 4;
    b.writeUInt32LE(len, p);
    this.pos = p + 4;
  }

  private iface(section: number, pk: PacketView, snaplen: number): number {
    const key = section * 65536 + pk.iface;
    let id = this.ifaces.get(key);
    if (id !== undefined) return id;
    id = this.ifaces.size;
    this.ifaces.set(key, id);
    const len = 20 + 8 + 4; // header + if_tsresol option (4 + 1 padded to 4) + opt_endofopt
    this.reserve(len);
    const b = this.buf, p = this.pos;
    b.writeUInt32LE(IDB, p);
    b.writeUInt32LE(len, p + 4);
    b.writeUInt16LE(pk.linkType, p + 8);
    b.writeUInt16LE(0, p + 10);
    b.writeUInt32LE(snaplen, p + 12);
    b.writeUInt16LE(9, p + 16); // if_tsresol
    b.writeUInt16LE(1, p + 18);
    b.writeUInt32LE(9, p + 20); // 10^-9, padding zero
    b.writeUInt32LE(0, p + 24); // opt_endofopt
    b.writeUInt32LE(len, p + 28);
    this.pos += len;
    return id;
  }

  /** Writes the packet; `section` and `snaplen` come from its reader (CaptureReader.section, snaplenOf). */
  add(pk: PacketView, section: number, snaplen: number): boolean {
    if (!this.started) this.header();
    const id = this.iface(section, pk, snaplen);
    const n = pk.caplen;
    const padded = (n + 3) & ~3;
    const len = 32 + padded;
    this.reserve(len);
    const b = this.buf, p = this.pos;
    const ts = BigInt(pk.sec) * 1_000_000_000n + BigInt(pk.nsec);
    b.writeUInt32LE(EPB, p);
    b.writeUInt32LE(len, p + 4);
    b.writeUInt32LE(id, p + 8);
    b.writeUInt32LE(Number((ts >> 32n) & 0xffffffffn), p + 12);
    b.writeUInt32LE(Number(ts & 0xffffffffn), p + 16);
    b.writeUInt32LE(n, p + 20);
    b.writeUInt32LE(pk.origlen, p + 24);
    pk.buf.copy(b, p + 28, pk.off, pk.off + n);
    b.fill(0, p + 28 + n, p + 28 + padded);
    b.writeUInt32LE(len, p + 28 + padded);
    this.pos += len;
    this.packets++;
    return this.taken();
  }

  end(): boolean {
    if (!this.started) this.header();
    return this.flush();
  }
}
