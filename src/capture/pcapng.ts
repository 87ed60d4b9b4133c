/**
 * pcapng (draft-ietf-opsawg-pcapng): sections (SHB) of either byte order,
 * interfaces (IDB) each with its own link type, timestamp resolution
 * (if_tsresol, decimal or binary) and offset (if_tsoffset); packets from EPB,
 * SPB and the obsolete PB. Every other block is skipped by its length.
 */
import { ToolError } from '../util/errors.js';
import type { ByteWindow } from '../io/window.js';
import { PacketView, WindowView, countSkip, END, HAVE_PACKET, NEED_MORE, type CaptureReader } from './packet.js';
import { RECORD_LIMIT } from './pcap.js';

export const SHB_TYPE = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;
const IDB = 1, PB = 2, SPB = 3, EPB = 6;
const OPT_TSRESOL = 9, OPT_TSOFFSET = 14;

interface Iface {
  linkType: number;
  snaplen: number;
  /** 10^e units per second when decimal (e <= 9), else 0. */
  div: number;
  /** nanoseconds per unit when decimal. */
  mult: number;
  /** resolution exponent, negative power of 2 when binary; -1 when decimal. */
  binBits: number;
  /** decimal exponent > 9 (sub-nanosecond) handled with BigInt. */
  bigDec: number;
  offsetSec: number;
}

export class PcapngReader implements CaptureReader {
  readonly format = 'pcapng' as const;
  readonly packet = new PacketView();
  need = 12;
  error: Error | null = null;
  readonly skips = new Map<string, number>();
  private readonly w: ByteWindow;
  private readonly name: string;
  private readonly wv = new WindowView();
  private le = true;
  private ifaces: Iface[] = [];
  private count = 0;
  private blocks = 0;
  private done = false;
  private sawSection = false;
  sections = 0;
  get section(): number {
    return this.sections;
  }
  snaplenOf(pk: PacketView): number {
    return this.ifaces[pk.iface]?.snaplen ?? 0;
  }
  /** Link types of every interface seen, in order. */
  readonly linkTypes: number[] = [];

  constructor(w: ByteWindow, name: string, inputIndex = 0) {
    this.w = w;
    this.name = name;
    this.packet.input = inputIndex;
  }

  private view(): DataView {
    return this.wv.of(this.w, this.packet);
  }

  private fail(code: string, message: string, offset: number): number {
    this.error = new ToolError(code, message, { file: this.name, block: this.blocks, offset });
    this.done = true;
    return END;
  }

  next(): number {
    const w = this.w;
    for (;;) {
      if (this.done) return END;
      const avail = w.end - w.pos;
      if (avail < 12) {
        this.need = 12;
        return NEED_MORE;
      }
      const dv = this.view();
      const p = w.pos;
      const at = w.base + p;
      const typeRaw = dv.getUint32(p, true);
      let le = this.le;
      if (typeRaw === SHB_TYPE) {
        const bomLE = dv.getUint32(p + 8, true);
        if (bomLE === BOM) le = true;
        else if (dv.getUint32(p + 8, false) === BOM) le = false;
        else {
          this.blocks++;
          return this.fail('PCAPNG_BAD_BOM', `section header has no byte-order magic (0x${bomLE.toString(16)})`, at + 8);
        }
      } else if (!this.sawSection) {
        this.blocks++;
        return this.fail('PCAPNG_NO_SECTION', 'first block is not a section header', at);
      }
      const type = dv.getUint32(p, le);
      const len = dv.getUint32(p + 4, le);
      if (len < 12 || len % 4 !== 0 || len > RECORD_LIMIT) {
        this.blocks++;
        return this.fail('PCAPNG_BAD_BLOCK_LENGTH', `block length ${len} is invalid (must be a multiple of 4, 12..${RECORD_LIMIT})`, at + 4);
      }
      if (avail < len) {
        this.need = len;
        return NEED_MORE;
      }
      this.blocks++;
      const trailer = dv.getUint32(p + len - 4, le);
      if (trailer !== len) {
        return this.fail('PCAPNG_LENGTH_MISMATCH', `block total length in header ${len} and trailer ${trailer} differ`, at + len - 4);
      }
      w.pos = p + len;
      if (type === SHB_TYPE) {
        if (len < 28) return this.fail('PCAPNG_BAD_BLOCK_LENGTH', `section header block of ${len} bytes is too short`, at);
        const major = dv.getUint16(p + 12, le);
        const minor = dv.getUint16(p + 14, le);
        if (major !== 1) return this.fail('PCAPNG_BAD_VERSION', `unsupported section version ${major}.${minor} (expected 1.0)`, at + 12);
        if (!this.checkOptions(dv, p + 24, p + len - 4, le)) {
          return this.fail('PCAPNG_BAD_OPTION', 'section header option runs past the end of its block', at);
        }
        this.le = le;
        this.sawSection = true;
        this.sections++;
        this.ifaces = [];
        continue;
      }
      if (type === IDB) {
        if (len < 20) return this.fail('PCAPNG_BAD_BLOCK_LENGTH', `interface block of ${len} bytes is too short`, at);
        const iface = this.readIdb(dv, p, len, le);
        if (iface === null) return this.fail('PCAPNG_BAD_OPTION', 'interface option runs past the end of its block', at);
        this.ifaces.push(iface);
        this.linkTypes.push(iface.linkType);
        continue;
      }
      if (type === EPB || type === PB) {
        if (len < 32) return this.fail('PCAPNG_BAD_BLOCK_LENGTH', `packet block of ${len} bytes is too short`, at);
        const ifId = type === EPB ? dv.getUint32(p + 8, le) : dv.getUint16(p + 8, le);
        const hi = dv.getUint32(p + 12, le);
        const lo = dv.getUint32(p + 16, le);
        const cap = dv.getUint32(p + 20, le);
        const orig = dv.getUint32(p + 24, le);
        if (cap > len - 32) return this.fail('PCAPNG_BAD_CAPLEN', `captured length ${cap} exceeds its block (${len - 32} bytes of data room)`, at + 20);
        const iface = this.ifaces[ifId];
        if (iface === undefined) {
          countSkip(this.skips, 'packet for an undeclared interface');
          this.count++;
          continue;
        }
        return this.emit(iface, ifId, hi, lo, p + 28, cap, orig, at);
      }
      if (type === SPB) {
        if (len < 16) return this.fail('PCAPNG_BAD_BLOCK_LENGTH', `simple packet block of ${len} bytes is too short`, at);
        const iface = this.ifaces[0];
        if (iface === undefined) {
          countSkip(this.skips, 'simple packet block without an interface');
          this.count++;
          continue;
        }
        const orig = dv.getUint32(p + 8, le);
        let cap = Math.min(orig, len - 16);
        if (iface.snaplen > 0 && cap > iface.snaplen) cap = iface.snaplen;
        // SPB carries no timestamp: it inherits 0 (tshark shows the epoch too).
        return this.emit(iface, 0, 0, 0, p + 12, cap, orig, at);
      }
      // NRB, ISB, DSB, CB, DCB and unknown blocks: skipped by length.
    }
  }

  private emit(iface: Iface, ifId: number, hi: number, lo: number, dataOff: number, cap: number, orig: number, at: number): number {
    const pk = this.packet;
    setTimestamp(pk, iface, hi, lo);
    pk.off = dataOff;
    pk.caplen = cap;
    pk.origlen = orig;
    pk.linkType = iface.linkType;
    pk.iface = ifId;
    pk.recordOffset = at;
    pk.index = ++this.count;
    this.need = 12;
    return HAVE_PACKET;
  }

  private checkOptions(dv: DataView, start: number, end: number, le: boolean): boolean {
    let o = start;
    while (o + 4 <= end) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === 0) return true;
      const next = o + 4 + ((olen + 3) & ~3);
      if (next > end) return false;
      o = next;
    }
    return true;
  }

  private readIdb(dv: DataView, p: number, len: number, le: boolean): Iface | null {
    const iface: Iface = { linkType: dv.getUint16(p + 8, le), snaplen: dv.getUint32(p + 12, le), div: 1_000_000, mult: 1000, binBits: -1, bigDec: 0, offsetSec: 0 };
    let o = p + 16;
    const end = p + len - 4;
    while (o + 4 <= end) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === 0) break;
      const next = o + 4 + ((olen + 3) & ~3);
      if (next > end) return null;
      if (code === OPT_TSRESOL && olen >= 1) {
        const v = dv.getUint8(o + 4);
        if (v & 0x80) {
          iface.binBits = v & 0x7f;
        } else if (v <= 9) {
          iface.div = 10 ** v;
          iface.mult = 10 ** (9 - v);
        } else {
          iface.bigDec = v;
        }
      } else if (code === OPT_TSOFFSET && olen >= 8) {
        iface.offsetSec = Number(le ? dv.getBigInt64(o + 4, true) : dv.getBigInt64(o + 4, false));
      }
      o = next;
    }
    return iface;
  }

  finish(): void {
    if (this.done) return;
    const left = this.w.available;
    if (left > 0) {
      if (this.blocks === 0 && !this.sawSection) this.fail('PCAPNG_TRUNCATED_BLOCK', `section header cut short: ${left} bytes`, this.w.offset);
      else this.fail('PCAPNG_TRUNCATED_BLOCK', `block ${this.blocks + 1} cut short: ${left} bytes left at end of file`, this.w.offset);
      this.error = new ToolError((this.error as ToolError).code, (this.error as ToolError).message, {
        file: this.name,
        block: this.blocks + 1,
        packet: this.count + 1,
        offset: this.w.offset,
      });
    }
    this.done = true;
  }

  get packets(): number {
    return this.count;
  }
}

/** Converts a 64-bit timestamp in interface units to exact seconds + nanoseconds. */
function setTimestamp(pk: PacketView, iface: Iface, hi: number, lo: number): void {
  if (iface.binBits < 0 && iface.bigDec === 0) {
    const d = iface.div;
    // 64-bit by <=30-bit long division in 16-bit steps: every intermediate stays below 2^53.
    const q1 = Math.floor(hi / d);
    const r1 = hi - q1 * d;
    const x = r1 * 65536 + (lo >>> 16);
    const q2 = Math.floor(x / d);
    const r2 = x - q2 * d;
    const y = r2 * 65536 + (lo & 0xffff);
    const q3 = Math.floor(y / d);
    const r3 = y - q3 * d;
    pk.sec = q1 * 4294967296 + q2 * 65536 + q3 + iface.offsetSec;
    pk.nsec = r3 * iface.mult;
    return;
  }
  const units = (BigInt(hi) << 32n) | BigInt(lo);
  if (iface.binBits >= 0) {
    const b = BigInt(iface.binBits);
    const sec = units >> b;
    const frac = units - (sec << b);
    pk.sec = Number(sec) + iface.offsetSec;
    pk.nsec = Number((frac * 1_000_000_000n) >> b);
  } else {
    const d = 10n ** BigInt(iface.bigDec);
    const sec = units / d;
    pk.sec = Number(sec) + iface.offsetSec;
    pk.nsec = Number(((units - sec * d) * 1_000_000_000n) / d);
  }
}
