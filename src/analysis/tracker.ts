/**
 * ConnTracker: the per-packet heart of tcpanalyze. Decodes each packet,
 * finds or creates its flow, updates per-direction counters and sequence
 * state, and hands finished flows to `onFlowEnd` as soon as they end: a TCP
 * connection after both FINs or a RST plus a linger time (stragglers still
 * count), any flow after `idleTimeoutMs` of capture time without packets,
 * the rest at `finish()`. Memory is bounded by the flows open at once.
 * Steady state allocates nothing per packet.
 */
import type { PacketView } from '../capture/packet.js';
import { Decoded, FIN, SYN, RST, ACK, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6, Outcome, OUTCOME_NAMES } from '../decode/decoded.js';
import { decodePacket } from '../decode/packet.js';
import { Defragmenter } from '../decode/defrag.js';
import { icmpCounterpart, icmpIsReply } from '../decode/icmp.js';
import { Conn, Half, OrigRule, type EndReason } from '../tcp/conn.js';
import { FlowTable } from '../tcp/table.js';
import { unwrap } from '../tcp/seq.js';
import { FlowList } from '../tcp/flow-list.js';
import { clientByPorts } from '../util/ports.js';
import { ConnAnalyzer } from './conn-analyzer.js';
import type { FlowAnalysis } from './flow-analysis.js';

export interface TrackerOptions {
  /** Flows with no packet for this long (capture time) are written. */
  idleTimeoutMs: number;
  /** Time a closed TCP connection stays to collect stragglers before it is written. */
  closeLingerMs: number;
  /** A SYN with no answer for this long (capture time) is a handshake timeout. */
  synTimeoutMs: number;
  /**
   * 'full' (default): tshark's sequence analysis, Zeek's state and history and
   * the handshake verdicts run for every packet. 'flows': connections, packet
   * and byte counts and handshake options only (part-2 fields stay null).
   */
  analysis?: 'full' | 'flows';
  /** Most flows held at once; beyond it the least recently active flow is written early (end_reason evicted). */
  maxFlows?: number;
  /** Called once per finished flow, before the flow object is recycled. */
  onFlowEnd: (c: Conn) => void;
  /** Called when a handshake verdict is decided (tcpeek's live line; with the default analyzer). */
  onHandshake?: (c: Conn) => void;
  /**
   * Where the full analysis runs (default: a ConnAnalyzer on this thread,
   * reporting to onHandshake). Ignored with analysis 'flows'.
   */
  analyzer?: FlowAnalysis;
  /** Called for every TCP segment with its analysis flags (for --flags). */
  onSegment?: (c: Conn, fromA: boolean, pv: PacketView, frame: number, flags: number) => void;
  /** Application decoding (src/analysis/app-layer.ts): sees every TCP segment and UDP datagram, and each flow's end before its record. */
  app?: AppHooks;
}

/** What the tracker calls for application decoding (AppLayer implements it). */
export interface AppHooks {
  tcp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView): void;
  udp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView): void;
  ended(c: Conn): void;
}

/** Ended TCP connections remembered for reused_ports. */
const RECENT_ENDS = 16384;

export const DEFAULT_TRACKER_OPTIONS = { idleTimeoutMs: 300_000, closeLingerMs: 1_000, synTimeoutMs: 30_000, maxFlows: 1_000_000 };

export interface TrackerStats {
  packets: number;
  /** Packets that belong to a flow. */
  flowPackets: number;
  flows: number;
  /** Packets not analysed, by reason. */
  notAnalysed: Map<string, number>;
  /** Unknown link types seen, with counts. */
  unknownLinkTypes: Map<number, number>;
  ipv4Fragments: number;
  ipv6Fragments: number;
  truncatedPackets: number;
  icmpErrorsLinked: number;
  peakOpenFlows: number;
  /** Flows written early because --max-flows was reached (least recently active first). */
  evictedFlows: number;
}

export class ConnTracker {
  readonly d = new Decoded();
  readonly table = new FlowTable();
  readonly defrag = new Defragmenter();
  private readonly active = new FlowList();
  private readonly closing = new FlowList();
  private readonly opts: TrackerOptions;
  private serial = 0;
  /** Flow number (Conn.serial) of the last packet's flow; 0 when it belonged to none. */
  lastSerial = 0;
  /** Flow number of the connection an ICMP error in the last packet quoted; 0 when none. */
  lastLinkedSerial = 0;
  nowMs = -0; // a double from the start (see Half in src/tcp/conn.ts)
  private lastSec = 0;
  private lastNsec = 0;
  readonly stats: TrackerStats = {
    packets: 0,
    flowPackets: 0,
    flows: 0,
    notAnalysed: new Map(),
    unknownLinkTypes: new Map(),
    ipv4Fragments: 0,
    ipv6Fragments: 0,
    truncatedPackets: 0,
    icmpErrorsLinked: 0,
    peakOpenFlows: 0,
    evictedFlows: 0,
  };
  private readonly outcomeCounts = new Float64Array(OUTCOME_NAMES.length);

  private readonly maxFlows: number;
  /** The full analysis (null with analysis 'flows'). */
  private readonly an: FlowAnalysis | null;
  private readonly app: AppHooks | null;

  constructor(opts: TrackerOptions) {
    this.opts = opts;
    this.maxFlows = opts.maxFlows ?? DEFAULT_TRACKER_OPTIONS.maxFlows;
    this.an = opts.analysis === 'flows' ? null : (opts.analyzer ?? new ConnAnalyzer(opts.synTimeoutMs, opts.onHandshake));
    this.app = opts.app ?? null;
  }

  /**
   * The table is full (a scan or a flood of one-packet flows): write the
   * flow that finished closing first, else the least recently active one,
   * so memory stays bounded whatever the input.
   */
  private evictOne(): void {
    const c = this.closing.head ?? this.leastRecentlyActive();
    if (c === null) return;
    if (c.inClosing) {
      this.end(c, c.endReason); // already closed: only its linger is cut short
      return;
    }
    this.stats.evictedFlows++;
    this.end(c, 'evicted');
  }

  onPacket(pv: PacketView): void {
    const st = this.stats;
    st.packets++;
    this.lastSerial = 0;
    this.lastLinkedSerial = 0;
    const now = pv.sec * 1000 + Math.floor(pv.nsec / 1_000_000);
    this.lastSec = pv.sec;
    this.lastNsec = pv.nsec;
    if (now > this.nowMs) {
      this.nowMs = now;
      this.expire(now);
    }
    const d = this.d;
    let outcome = decodePacket(pv, d);
    if (outcome === Outcome.FRAGMENT) {
      if (d.ipVersion === 4) st.ipv4Fragments++;
      else st.ipv6Fragments++;
      if (!this.defrag.add(pv, d, now)) return;
      // the datagram is complete: analyse it as one packet
      pv = this.defrag.assembled;
      outcome = decodePacket(pv, d);
    }
    if (d.truncated) st.truncatedPackets++;
    if (outcome !== Outcome.OK) {
      this.outcomeCounts[outcome]!++;
      if (outcome === Outcome.UNKNOWN_LINKTYPE) st.unknownLinkTypes.set(pv.linkType, (st.unknownLinkTypes.get(pv.linkType) ?? 0) + 1);
      return;
    }
    const proto = d.proto;
    if (proto === IPPROTO_TCP) this.tcp(pv, d);
    else if (proto === IPPROTO_UDP) this.udp(pv, d);
    else this.icmp(pv, d);
  }

  /**
   * Notes a packet of flow `c`. The activity list is not touched here (that
   * would write to two neighbouring flows per packet): a flow stays where it
   * was listed, and expire() / leastRecentlyActive() move the flows that were
   * active since when they reach the head of the list.
   */
  private touch(c: Conn, pv: PacketView): void {
    c.lastSec = pv.sec;
    c.lastNsec = pv.nsec;
    c.lastMs = this.nowMs;
    c.lastTouch = this.stats.packets;
    this.lastSerial = c.serial;
    this.stats.flowPackets++;
  }

  /** Moves a flow that was active since it was listed to its place by its last packet. */
  private relist(c: Conn): void {
    this.active.remove(c);
    c.listedTouch = c.lastTouch;
    c.listedMs = c.lastMs;
    this.active.insertByListed(c);
  }

  /** The open (not closing) flow whose last packet is the oldest. */
  private leastRecentlyActive(): Conn | null {
    let c = this.active.head;
    while (c !== null && c.lastTouch !== c.listedTouch) {
      this.relist(c);
      c = this.active.head;
    }
    return c;
  }

  private create(pv: PacketView, d: Decoded, proto: number, sp: number, dp: number, hash: number): Conn {
    if (this.table.size >= this.maxFlows) this.evictOne();
    const c = this.table.insert(hash, proto, d.ipVersion, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp);
    c.serial = ++this.serial;
    c.firstSec = pv.sec;
    c.firstNsec = pv.nsec;
    c.vlan = d.vlanCount > 0 ? d.vlanId : -1;
    c.lastTouch = c.listedTouch = this.stats.packets;
    c.lastMs = c.listedMs = this.nowMs;
    this.active.pushTail(c);
    this.stats.flows++;
    if (this.table.size > this.stats.peakOpenFlows) this.stats.peakOpenFlows = this.table.size;
    return c;
  }

  private count(h: Half, pv: PacketView, d: Decoded): void {
    h.pkts++;
    h.ipBytes += d.ipLen;
    h.frameBytes += pv.origlen;
    h.payloadBytes += d.payloadLen;
    if (d.truncated) h.truncatedPkts++;
  }

  private tcp(pv: PacketView, d: Decoded): void {
    const sp = d.sport, dp = d.dport;
    const hash = FlowTable.keyHash(IPPROTO_TCP, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp);
    const flags = d.flags;
    const isSyn = (flags & (SYN | ACK)) === SYN;
    let c = this.table.lookup(hash, IPPROTO_TCP, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp);
    let reused = false;
    if (c !== null && isSyn && c.inClosing) {
      // A SYN with a new ISN on a closed 4-tuple starts a new connection (port reuse).
      const h = c.half(this.table.fromA);
      if (h.isn !== d.seq) {
        this.end(c, c.endReason);
        c = null;
        reused = true;
      }
    }
    let fromA: boolean;
    if (c === null) {
      c = this.create(pv, d, IPPROTO_TCP, sp, dp, hash);
      fromA = true;
      if (isSyn) {
        c.origIsA = true;
        c.origRule = OrigRule.SYN;
      } else if ((flags & (SYN | ACK)) === (SYN | ACK)) {
        c.origIsA = false;
        c.origRule = OrigRule.SYNACK;
      } else {
        const byPorts = clientByPorts(sp, dp);
        c.origIsA = byPorts >= 0;
        c.origRule = byPorts === 0 ? OrigRule.FIRST : OrigRule.PORTS;
      }
      if (!reused && isSyn && this.an !== null) reused = this.wasEndedWithOtherIsn(c, d.seq);
      if (this.an !== null) this.an.created(c, reused);
    } else {
      fromA = this.table.fromA;
      if (c.origRule === OrigRule.PORTS || c.origRule === OrigRule.FIRST) {
        // a late SYN or SYN/ACK settles the roles
        const before = c.origIsA;
        if (isSyn) {
          c.origIsA = fromA;
          c.origRule = OrigRule.SYN;
        } else if ((flags & (SYN | ACK)) === (SYN | ACK)) {
          c.origIsA = !fromA;
          c.origRule = OrigRule.SYNACK;
        }
        if (c.origIsA !== before && this.an !== null) this.an.flipped(c);
      }
    }
    this.touch(c, pv);
    const h = fromA ? c.ha : c.hb;
    this.count(h, pv, d);
    h.flagsSeen |= flags;
    const seq = d.seq;
    let dataStart = seq;
    if (flags & SYN) {
      h.synPkts++;
      dataStart = (seq + 1) >>> 0;
      if (h.isn < 0) {
        h.isn = seq;
        if (d.mss >= 0) h.mss = d.mss;
        if (d.wscale >= 0) h.wscale = d.wscale;
        h.sackPermitted = d.sackPermitted === 1;
        h.timestamps = d.hasTimestamps === 1;
        h.tfo = d.tfoCookieLen >= 0;
        if (h.hasBase) {
          // data was seen before the SYN (reordered capture): re-base on the ISN
          const shift = unwrap(dataStart, h.base, 0);
          h.maxEnd = h.maxEnd + shift;
          if (h.finRel >= 0) h.finRel += shift;
        }
        h.base = dataStart | 0;
        h.hasBase = true;
      }
    }
    if (flags & FIN) h.finPkts++;
    if (flags & RST) h.rstPkts++;
    if (!h.hasBase) {
      h.base = seq | 0;
      h.hasBase = true;
    }
    const len = d.payloadLen;
    if (len > 0 || flags & FIN) {
      const rel = unwrap(h.base, dataStart, h.maxEnd);
      const end = rel + len;
      if (end > h.maxEnd && (flags & RST) === 0) h.maxEnd = end;
      if (flags & FIN && h.finRel < 0) h.finRel = end;
    }
    const frame = this.stats.packets;
    const segFlags = this.an !== null ? this.an.tcp(c, fromA, d, pv, frame) : 0;
    if (this.opts.onSegment) this.opts.onSegment(c, fromA, pv, frame, segFlags);
    if (this.app !== null) this.app.tcp(c, fromA, d, pv);
    if (!c.inClosing) {
      if (flags & RST) {
        c.rstFromA = fromA;
        this.startClosing(c, 'rst_orig');
      } else if (c.ha.finRel >= 0 && c.hb.finRel >= 0) this.startClosing(c, 'fin');
    }
  }

  private udp(pv: PacketView, d: Decoded): void {
    const sp = d.sport, dp = d.dport;
    const hash = FlowTable.keyHash(IPPROTO_UDP, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp);
    let c = this.table.lookup(hash, IPPROTO_UDP, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp);
    let fromA = this.table.fromA;
    if (c === null) {
      c = this.create(pv, d, IPPROTO_UDP, sp, dp, hash);
      fromA = true;
      const byPorts = clientByPorts(sp, dp);
      c.origIsA = byPorts >= 0;
      c.origRule = byPorts === 0 ? OrigRule.FIRST : OrigRule.PORTS;
      if (this.an !== null) this.an.created(c, false);
    }
    this.countOther(c, fromA, pv, d);
    if (this.app !== null) this.app.udp(c, fromA, d, pv);
  }

  /** A UDP or ICMP packet of flow `c`: counters, payload offset, Zeek's history. */
  private countOther(c: Conn, fromA: boolean, pv: PacketView, d: Decoded): void {
    this.touch(c, pv);
    const h = fromA ? c.ha : c.hb;
    this.count(h, pv, d);
    h.maxEnd += d.payloadLen;
    if (this.an !== null) this.an.other(c, fromA, d.payloadLen);
  }

  private icmp(pv: PacketView, d: Decoded): void {
    const proto = d.proto;
    const v6 = proto === IPPROTO_ICMPV6;
    const type = d.icmpType;
    if (d.innerVersion !== 0 && (d.innerProto === IPPROTO_TCP || d.innerProto === IPPROTO_UDP) && d.innerSport >= 0) this.linkIcmpError(d);
    // ICMP flows are keyed as Community ID does: (type, counterpart) for
    // request/reply pairs, (type, code) for one-way messages.
    const counter = icmpCounterpart(type, v6);
    const sp = type;
    const dp = counter >= 0 ? counter : d.icmpCode;
    const hash = FlowTable.keyHash(proto, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp);
    let c = this.table.lookup(hash, proto, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp);
    let fromA = this.table.fromA;
    if (c === null) {
      c = this.create(pv, d, proto, sp, dp, hash);
      fromA = true;
      c.origIsA = !icmpIsReply(type, v6);
      c.origRule = counter >= 0 ? OrigRule.ICMP : OrigRule.FIRST;
      c.icmpType = type;
      c.icmpCode = d.icmpCode;
      if (this.an !== null) this.an.created(c, false);
    }
    this.countOther(c, fromA, pv, d);
  }

  /** Links an ICMP error to the flow named by its quoted header. */
  private linkIcmpError(d: Decoded): void {
    const p = d.innerProto;
    const hash = FlowTable.keyHash(p, d.isa0, d.isa1, d.isa2, d.isa3, d.innerSport, d.ida0, d.ida1, d.ida2, d.ida3, d.innerDport);
    const c = this.table.lookup(hash, p, d.isa0, d.isa1, d.isa2, d.isa3, d.innerSport, d.ida0, d.ida1, d.ida2, d.ida3, d.innerDport);
    if (c === null) return;
    this.lastLinkedSerial = c.serial;
    c.icmpErrors++;
    c.icmpType = d.icmpType;
    c.icmpCode = d.icmpCode;
    this.stats.icmpErrorsLinked++;
    const unreach = d.proto === IPPROTO_ICMPV6 ? d.icmpType === 1 : d.icmpType === 3;
    if (unreach && p === IPPROTO_TCP && this.an !== null) this.an.unreachable(c, d.icmpType, d.icmpCode, this.lastSec, this.lastNsec);
  }

  private startClosing(c: Conn, reason: EndReason): void {
    c.endReason = reason;
    c.closeAtMs = this.nowMs + this.opts.closeLingerMs;
    this.active.remove(c);
    this.closing.pushTail(c);
    c.inClosing = true;
  }

  private expire(now: number): void {
    if (this.an !== null) this.an.advance(now);
    const idle = this.opts.idleTimeoutMs;
    for (let c = this.closing.head; c !== null && c.closeAtMs <= now; c = this.closing.head) this.end(c, c.endReason);
    // The list is in listing order and a flow is listed no later than its last
    // packet, so the idle flows are all in the prefix listed before the cut-off;
    // flows active since are listed again, the rest end in last-packet order.
    for (let c = this.active.head; c !== null && c.listedMs + idle <= now; c = this.active.head) {
      if (c.lastTouch !== c.listedTouch) this.relist(c);
      else this.end(c, 'idle');
    }
  }

  /**
   * TCP 4-tuples of recently written connections with the ISN of their SYN
   * sender, so a later SYN with a new ISN is still tshark's reused_ports
   * (tshark keeps every conversation of the file; this keeps the last
   * RECENT_ENDS, one entry per connection, never per packet).
   */
  private readonly recentEnds = new Map<number, number>();

  /**
   * A 53-bit key of the 4-tuple, the same in both directions: the flow
   * table's 32-bit hash plus 21 bits of a second, independent mix (a false
   * match would also need a SYN with a different ISN; with 16,384 entries the
   * chance is negligible). Numbers, not strings: no garbage per connection.
   */
  private static tupleKey(c: Conn): number {
    const e = (w0: number, w1: number, w2: number, w3: number, p: number): number =>
      Math.imul(w0 ^ Math.imul(w1, 0x2c1b3c6d) ^ Math.imul(w2, 0x297a2d39) ^ Math.imul(w3, 0x1b873593) ^ Math.imul(p, 0x61c88647), 0x5bd1e995);
    const h2 = (e(c.a0, c.a1, c.a2, c.a3, c.aPort) + e(c.b0, c.b1, c.b2, c.b3, c.bPort)) & 0x1fffff;
    return (c.hash >>> 0) * 2097152 + h2;
  }

  private rememberEnd(c: Conn): void {
    const syner = c.ha.isn >= 0 ? c.ha : c.hb.isn >= 0 ? c.hb : null;
    if (syner === null) return;
    const key = ConnTracker.tupleKey(c);
    this.recentEnds.delete(key);
    this.recentEnds.set(key, syner.isn);
    if (this.recentEnds.size > RECENT_ENDS) this.recentEnds.delete(this.recentEnds.keys().next().value!);
  }

  private wasEndedWithOtherIsn(c: Conn, isn: number): boolean {
    if (this.recentEnds.size === 0) return false;
    const prev = this.recentEnds.get(ConnTracker.tupleKey(c));
    return prev !== undefined && prev !== isn;
  }

  private end(c: Conn, reason: EndReason): void {
    c.endReason = reason;
    if (this.an !== null) {
      if (c.proto === IPPROTO_TCP) this.rememberEnd(c);
      this.an.ended(c);
    }
    if (c.inClosing) this.closing.remove(c);
    else this.active.remove(c);
    c.inClosing = false;
    if (this.app !== null) this.app.ended(c);
    this.opts.onFlowEnd(c);
    this.table.remove(c);
  }

  /**
   * Moves capture time forward without a packet, running the timeouts a
   * packet at `nowMs` would run (idle flows, close lingers, SYN timeouts).
   * tcpcapture calls it at archive rotations and while a live link is quiet.
   */
  advanceTo(nowMs: number): void {
    if (nowMs > this.nowMs) {
      this.nowMs = nowMs;
      this.expire(nowMs);
    }
  }

  /**
   * Calls `fn` for every flow still open and not closing, in the order the
   * flows started, without ending it: tcpcapture's interim records at an
   * archive rotation. The flow goes on; its final record comes later.
   */
  emitInterim(fn: (c: Conn) => void): void {
    const open: Conn[] = [];
    for (const c of this.table.all()) if (!c.inClosing) open.push(c);
    open.sort((x, y) => x.serial - y.serial);
    for (const c of open) fn(c);
  }

  /** Writes every flow still open, in the order the flows started. */
  finish(reason: EndReason = 'eof'): void {
    this.defrag.finish();
    const open = [...this.table.all()].sort((x, y) => x.serial - y.serial);
    for (const c of open) this.end(c, c.inClosing ? c.endReason : reason);
    for (let i = 0; i < this.outcomeCounts.length; i++) {
      const n = this.outcomeCounts[i]!;
      if (n > 0) this.stats.notAnalysed.set(OUTCOME_NAMES[i]!, n);
    }
  }

  /** Flows currently open. */
  get openFlows(): number {
    return this.table.size;
  }
}
