/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200 §4.5) fragment reassembly. Fragments are
 * copied (they outlive their read buffer) into a per-datagram buffer; when
 * every byte from 0 to the last fragment's end has arrived, the datagram is
 * rebuilt behind a copy of the first fragment's IP header and offered as a
 * raw-IP packet view, timestamped like the fragment that completed it (as
 * tshark attributes a reassembled datagram to its last frame). Overlaps are
 * counted (later bytes win); datagrams that do not complete within
 * `timeoutMs` of capture time, or beyond the `maxDatagrams` / `maxBytes`
 * caps, are dropped and counted. The bytes held are charged to a memory
 * budget account when one is given (its cap is then `maxBytes`).
 *
 * Pending datagrams are kept in arrival order in their own list: a Map
 * walked from its first entry on every fragment (as this was before) steps
 * over every entry deleted at its front until V8 rehashes the table, which
 * made 2 million fragments of datagrams that never complete take minutes.
 */
import { PacketView, LinkType } from '../capture/packet.js';
import type { BudgetAccount } from '../util/memory-budget.js';
import type { Decoded } from './decoded.js';

/** Smallest per-datagram buffer (most datagrams are reassembled from two 1500-byte frames). */
const MIN_DATA = 2048;

/** A datagram being reassembled. Entries are reused (SPARE_ENTRIES of them), with their buffers. */
class Entry {
  /** Slot id in the table, and the key: addresses (IPv4: word 0 only), IP ID, protocol (IPv4). */
  id = -1;
  hash = 0;
  version = 4;
  s0 = 0; s1 = 0; s2 = 0; s3 = 0;
  d0 = 0; d1 = 0; d2 = 0; d3 = 0;
  ipId = 0;
  proto = 0;
  /** The first fragment's IP header (up to 60 bytes), `headerLen` of them; 0 until it came. */
  readonly header = Buffer.allocUnsafe(60);
  headerLen = 0;
  data = Buffer.allocUnsafe(MIN_DATA);
  /** Received byte ranges [start, end) in order of arrival (few per datagram). */
  readonly ranges: number[] = [];
  total = -1;
  firstMs = 0;
  frames = 0;
  /** A fragment was cut by the snaplen: the datagram cannot complete. */
  cut = false;
  /** Arrival-order list links. */
  older: Entry | null = null;
  newer: Entry | null = null;
}

/**
 * Entries kept for reuse: a stream of fragments that never complete would
 * otherwise allocate a datagram's buffers per fragment, each living long
 * enough to reach V8's old generation (half the run went to garbage
 * collection on 2 million such fragments).
 */
const SPARE_ENTRIES = 1024;

export interface DefragStats {
  reassembled: number;
  /** Fragments in datagrams that never completed (timeout, cap, snaplen cut). */
  incompleteFragments: number;
  overlaps: number;
}

export class Defragmenter {
  /** Pending datagrams by key: open addressing over entry ids (no strings, no Map: nothing per fragment). */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly byId: (Entry | null)[] = [];
  private readonly freeIds: number[] = [];
  private size = 0;
  private readonly spare: Entry[] = [];
  /** Oldest and newest pending datagram. */
  private oldest: Entry | null = null;
  private newest: Entry | null = null;
  private bytes = 0;
  readonly assembled = new PacketView();
  private out = Buffer.alloc(65535 + 60);
  readonly stats: DefragStats = { reassembled: 0, incompleteFragments: 0, overlaps: 0 };
  private readonly maxBytes: number;

  constructor(
    private readonly timeoutMs = 30_000,
    private readonly maxDatagrams = 8192,
    maxBytes = 64 * 1024 * 1024,
    private readonly account: BudgetAccount | null = null,
  ) {
    this.assembled.linkType = LinkType.RAW;
    this.maxBytes = account !== null ? account.cap : maxBytes;
    let n = 16;
    while (n < maxDatagrams * 2) n *= 2;
    this.slots = new Int32Array(n).fill(-1);
    this.mask = n - 1;
  }

  /** The pending datagram of this fragment (fields of `d`), or null. */
  private find(d: Decoded, v6: boolean, hash: number): Entry | null {
    const slots = this.slots, mask = this.mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const id = slots[i]!;
      if (id < 0) return null;
      const e = this.byId[id]!;
      if (e.hash === hash && e.ipId === d.ipId && e.s0 === d.sa0 && e.d0 === d.da0 && (v6 ? e.version === 6 && e.s1 === d.sa1 && e.s2 === d.sa2 && e.s3 === d.sa3 && e.d1 === d.da1 && e.d2 === d.da2 && e.d3 === d.da3 : e.version === 4 && e.proto === d.proto)) return e;
    }
  }

  private insert(e: Entry): void {
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.byId.length;
    if (id === this.byId.length) this.byId.push(e);
    else this.byId[id] = e;
    e.id = id;
    let i = e.hash & this.mask;
    while (this.slots[i]! >= 0) i = (i + 1) & this.mask;
    this.slots[i] = id;
    this.size++;
  }

  /** Backward-shift deletion (as FlowTable). */
  private removeSlot(e: Entry): void {
    const slots = this.slots, mask = this.mask;
    let i = e.hash & mask;
    while (slots[i] !== e.id) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const id = slots[j]!;
      if (id < 0) break;
      const home = this.byId[id]!.hash & mask;
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!inRange) {
        slots[i] = id;
        i = j;
      }
    }
    slots[i] = -1;
    this.byId[e.id] = null;
    this.freeIds.push(e.id);
    e.id = -1;
    this.size--;
  }

  private addBytes(n: number): void {
    this.bytes += n;
    if (this.account !== null) {
      if (n >= 0) this.account.charge(n);
      else this.account.release(-n);
    }
  }

  /** Takes one fragment; returns true when it completed a datagram (see `assembled`). */
  add(pv: PacketView, d: Decoded, nowMs: number): boolean {
    const o = this.oldest;
    if (o !== null && o.firstMs + this.timeoutMs <= nowMs) this.expire(nowMs);
    const v6 = d.ipVersion === 6;
    const hash = v6
      ? mix(d.sa0 ^ Math.imul(d.sa1, 0x2c1b3c6d) ^ Math.imul(d.sa2, 0x297a2d39) ^ Math.imul(d.sa3, 0x1b873593) ^ Math.imul(d.da0, 0x85ebca6b) ^ Math.imul(d.da1, 0xc2b2ae35) ^ Math.imul(d.da2, 0x27d4eb2d) ^ Math.imul(d.da3, 0x165667b1) ^ Math.imul(d.ipId + 1, 0x9e3779b1))
      : mix(d.sa0 ^ Math.imul(d.da0, 0x85ebca6b) ^ Math.imul(d.ipId + 1, 0x9e3779b1) ^ Math.imul(d.proto + 7, 0x27d4eb2d));
    let e = this.find(d, v6, hash);
    const dataOff = v6 ? d.fragHdrEnd : d.l4Off;
    const ipEnd = d.ipOff + d.ipLen;
    const len = ipEnd - dataOff;
    const capEnd = pv.off + pv.caplen;
    const have = Math.max(0, Math.min(len, capEnd - dataOff));
    const start = d.fragOffset;
    const end = start + len;
    if (end > 65535 || len < 0) return false;
    if (e === null) {
      const size = Math.max(MIN_DATA, end);
      while (this.oldest !== null && (this.size >= this.maxDatagrams || this.bytes + size > this.maxBytes)) this.drop(this.oldest);
      e = this.spare.pop() ?? new Entry();
      e.hash = hash;
      e.version = d.ipVersion;
      e.s0 = d.sa0; e.s1 = d.sa1; e.s2 = d.sa2; e.s3 = d.sa3;
      e.d0 = d.da0; e.d1 = d.da1; e.d2 = d.da2; e.d3 = d.da3;
      e.ipId = d.ipId;
      e.proto = d.proto;
      e.headerLen = 0;
      // not zeroed: only bytes inside the received ranges are ever read
      if (e.data.length < size) e.data = Buffer.allocUnsafe(size);
      e.ranges.length = 0;
      e.total = -1;
      e.firstMs = nowMs;
      e.frames = 0;
      e.cut = false;
      e.older = this.newest;
      e.newer = null;
      if (this.newest !== null) this.newest.newer = e;
      else this.oldest = e;
      this.newest = e;
      this.insert(e);
      this.addBytes(e.data.length);
    }
    e.frames++;
    if (have < len) e.cut = true;
    if (end > e.data.length) {
      const bigger = Buffer.allocUnsafe(Math.min(65535, Math.max(end, e.data.length * 2)));
      e.data.copy(bigger);
      this.addBytes(bigger.length - e.data.length);
      e.data = bigger;
    }
    for (let i = 0; i < e.ranges.length; i += 2) if (start < e.ranges[i + 1]! && end > e.ranges[i]!) this.stats.overlaps++;
    pv.buf.copy(e.data, start, dataOff, dataOff + have);
    e.ranges.push(start, end);
    if (start === 0) {
      if (v6) {
        pv.buf.copy(e.header, 0, d.ipOff, d.ipOff + 40);
        e.header[6] = d.proto; // next header = first header of the fragmentable part
        e.headerLen = 40;
      } else e.headerLen = pv.buf.copy(e.header, 0, d.ipOff, d.l4Off);
    }
    if (!d.moreFragments) e.total = end;
    if (e.total < 0 || e.headerLen === 0 || e.cut || !covered(e.ranges, e.total)) return false;
    this.unlink(e);
    this.build(e, pv);
    this.recycle(e);
    this.stats.reassembled++;
    return true;
  }

  private recycle(e: Entry): void {
    if (this.spare.length >= SPARE_ENTRIES) return;
    if (e.data.length > MIN_DATA) e.data = Buffer.allocUnsafe(MIN_DATA); // a 64 KB datagram's buffer is not kept
    this.spare.push(e);
  }

  private build(e: Entry, pv: PacketView): void {
    const hl = e.headerLen;
    const need = hl + e.total;
    if (this.out.length < need) this.out = Buffer.alloc(need);
    const out = this.out;
    e.header.copy(out, 0, 0, hl);
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

  /** Takes a datagram out of the table and the arrival list, releasing its bytes. */
  private unlink(e: Entry): void {
    this.removeSlot(e);
    if (e.older !== null) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer !== null) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = e.newer = null;
    this.addBytes(-e.data.length);
  }

  private drop(e: Entry): void {
    this.unlink(e);
    this.stats.incompleteFragments += e.frames;
    this.recycle(e);
  }

  /** Drops datagrams older than the timeout (the arrival list is in first-fragment order). */
  expire(nowMs: number): void {
    while (this.oldest !== null && this.oldest.firstMs + this.timeoutMs <= nowMs) this.drop(this.oldest);
  }

  /** At end of input: everything still pending is incomplete. */
  finish(): void {
    while (this.oldest !== null) this.drop(this.oldest);
  }
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
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
