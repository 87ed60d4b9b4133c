/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200 §4.5) fragment reassembly. Fragments are
 * copied (they outlive their read buffer) into a per-datagram buffer; when
 * every byte from 0 to the last fragment's end has arrived, the datagram is
 * rebuilt behind a copy of the first fragment's IP header and offered as a
 * raw-IP packet view, timestamped like the fragment that completed it (as
 * tshark attributes a reassembled datagram to its last frame). Overlaps are
 * counted (later bytes win); datagrams that do not complete within
 * `timeoutMs` of capture time, or beyond the `maxDatagrams` / `maxBytes`
 * caps, are dropped and counted.
 */
import { PacketView, LinkType } from '../capture/packet.js';
import type { Decoded } from './decoded.js';

interface Entry {
  key: string;
  version: number;
  header: Buffer;
  data: Buffer;
  /** Received byte ranges [start, end) in order of arrival (few per datagram). */
  ranges: number[];
  total: number;
  firstMs: number;
  frames: number;
  /** A fragment was cut by the snaplen: the datagram cannot complete. */
  cut: boolean;
}

export interface DefragStats {
  reassembled: number;
  /** Fragments in datagrams that never completed (timeout, cap, snaplen cut). */
  incompleteFragments: number;
  overlaps: number;
}

export class Defragmenter {
  private readonly pending = new Map<string, Entry>();
  private bytes = 0;
  readonly assembled = new PacketView();
  private out = Buffer.alloc(65535 + 60);
  readonly stats: DefragStats = { reassembled: 0, incompleteFragments: 0, overlaps: 0 };

  constructor(
    private readonly timeoutMs = 30_000,
    private readonly maxDatagrams = 8192,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {
    this.assembled.linkType = LinkType.RAW;
  }

  /** Takes one fragment; returns true when it completed a datagram (see `assembled`). */
  add(pv: PacketView, d: Decoded, nowMs: number): boolean {
    this.expire(nowMs);
    const v6 = d.ipVersion === 6;
    const key = v6
      ? `6|${d.sa0},${d.sa1},${d.sa2},${d.sa3}|${d.da0},${d.da1},${d.da2},${d.da3}|${d.ipId}`
      : `4|${d.sa0}|${d.da0}|${d.ipId}|${d.proto}`;
    let e = this.pending.get(key);
    const dataOff = v6 ? d.fragHdrEnd : d.l4Off;
    const ipEnd = d.ipOff + d.ipLen;
    const len = ipEnd - dataOff;
    const capEnd = pv.off + pv.caplen;
    const have = Math.max(0, Math.min(len, capEnd - dataOff));
    const start = d.fragOffset;
    const end = start + len;
    if (end > 65535 || len < 0) return false;
    if (e === undefined) {
      if (this.pending.size >= this.maxDatagrams || this.bytes + 65535 > this.maxBytes) {
        this.evictOldest();
      }
      e = { key, version: d.ipVersion, header: Buffer.alloc(0), data: Buffer.alloc(Math.max(2048, end)), ranges: [], total: -1, firstMs: nowMs, frames: 0, cut: false };
      this.pending.set(key, e);
      this.bytes += e.data.length;
    }
    e.frames++;
    if (have < len) e.cut = true;
    if (end > e.data.length) {
      const bigger = Buffer.alloc(Math.min(65535, Math.max(end, e.data.length * 2)));
      e.data.copy(bigger);
      this.bytes += bigger.length - e.data.length;
      e.data = bigger;
    }
    for (let i = 0; i < e.ranges.length; i += 2) if (start < e.ranges[i + 1]! && end > e.ranges[i]!) this.stats.overlaps++;
    pv.buf.copy(e.data, start, dataOff, dataOff + have);
    e.ranges.push(start, end);
    if (start === 0) {
      if (v6) {
        const h = Buffer.alloc(40);
        pv.buf.copy(h, 0, d.ipOff, d.ipOff + 40);
        h[6] = d.proto; // next header = first header of the fragmentable part
        e.header = h;
      } else {
        e.header = Buffer.from(pv.buf.subarray(d.ipOff, d.l4Off));
      }
    }
    if (!d.moreFragments) e.total = end;
    if (e.total < 0 || e.header.length === 0 || e.cut || !covered(e.ranges, e.total)) return false;
    this.pending.delete(key);
    this.bytes -= e.data.length;
    this.build(e, pv);
    this.stats.reassembled++;
    return true;
  }

  private build(e: Entry, pv: PacketView): void {
    const hl = e.header.length;
    const need = hl + e.total;
    if (this.out.length < need) this.out = Buffer.alloc(need);
    const out = this.out;
    e.header.copy(out, 0);
    e.data.copy(out, hl, 0, e.total);
    if (e.version === 4) {
      out.writeUInt16BE(need, 2);
      out.writeUInt16BE(out.readUInt16BE(6) & 0x4000, 6); // keep DF, clear MF and offset
    } else {
      out.writeUInt16BE(e.total, 4);
    }
    const a = this.assembled;
    if (a.buf !== out) {
      a.buf = out;
      a.dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    }
    a.off = 0;
    a.caplen = need;
    a.origlen = pv.origlen;
    a.sec = pv.sec;
    a.nsec = pv.nsec;
    a.index = pv.index;
    a.input = pv.input;
    a.recordOffset = pv.recordOffset;
    a.iface = pv.iface;
  }

  private evictOldest(): void {
    const first = this.pending.values().next();
    if (!first.done) this.drop(first.value);
  }

  private drop(e: Entry): void {
    this.pending.delete(e.key);
    this.bytes -= e.data.length;
    this.stats.incompleteFragments += e.frames;
  }

  /** Drops datagrams older than the timeout (Map order is insertion order). */
  expire(nowMs: number): void {
    for (const e of this.pending.values()) {
      if (e.firstMs + this.timeoutMs > nowMs) break;
      this.drop(e);
    }
  }

  /** At end of input: everything still pending is incomplete. */
  finish(): void {
    for (const e of [...this.pending.values()]) this.drop(e);
  }
}

function covered(ranges: number[], total: number): boolean {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((x, y) => x[0] - y[0]);
  let reach = 0;
  for (const [s, e] of pairs) {
    if (s > reach) return false;
    if (e > reach) reach = e;
  }
  return reach >= total;
}
