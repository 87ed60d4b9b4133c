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
import { Decoded, FIN, SYN, RST, ACK, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6, Outcome, OUTCOME_NAMES, ENCAP_NAMES, ENCAP_ERROR_NAMES, MAX_ENCAP, MAX_TUNNELS } from '../decode/decoded.js';
import { encapText } from '../decode/encap-chain.js';
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
import { OVERFLOW_TUNNEL, TunnelTable, type Tunnel } from './tunnels.js';
import { connUid } from './conn-uid.js';

export interface TrackerOptions {
  /** Flows with no packet for this long (capture time) are written. */
  idleTimeoutMs: number;
  /**
   * Time a closed TCP connection (its close complete: a RST, both FINs, or a
   * FIN while the peer never sent) still takes packets before it is written;
   * the next packet of its 5-tuple starts a new connection. Default 5 s,
   * Zeek's tcp_close_delay.
   */
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
  /**
   * Called for every TCP segment after its analysis, with its analysis flags
   * (for --flags and the graphs) and the decoded segment (the tracker's own
   * Decoded: valid only during the call).
   */
  onSegment?: (c: Conn, fromA: boolean, pv: PacketView, frame: number, flags: number, d: Decoded) => void;
  /** Called at finish() with each tunnel seen, in the order they appeared. */
  onTunnel?: (t: Tunnel) => void;
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

/** 5 s: Zeek's tcp_close_delay, after which Zeek removes a closed connection (the default of closeLingerMs). */
export const ZEEK_CLOSE_DELAY_MS = 5_000;

export const DEFAULT_TRACKER_OPTIONS = { idleTimeoutMs: 300_000, closeLingerMs: ZEEK_CLOSE_DELAY_MS, synTimeoutMs: 30_000, maxFlows: 1_000_000 };

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
  /** Packets that came through at least one tunnel (over IP or UDP). */
  tunnelledPackets: number;
  /** Wrappers that could not be decoded, by "<encap name>: <reason>" (the packet went on as its outer flow, or was not analysed). */
  undecodedEncaps: Map<string, number>;
  /**
   * Packets whose inner packet was not analysed (by reason) although a
   * tunnel's UDP flow counted them (ARP in VXLAN, a truncated inner header...).
   */
  innerNotAnalysed: Map<string, number>;
}

/** Parents (tunnel_parents uids) kept per flow at most. */
const MAX_PARENTS = 8;

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
    tunnelledPackets: 0,
    undecodedEncaps: new Map(),
    innerNotAnalysed: new Map(),
  };
  private readonly outcomeCounts = new Float64Array(OUTCOME_NAMES.length);
  private readonly innerOutcomeCounts = new Float64Array(OUTCOME_NAMES.length);
  private readonly encapErrorCounts = new Float64Array(ENCAP_NAMES.length * ENCAP_ERROR_NAMES.length);

  /** The tunnels seen (their numbers are part of the flow keys). */
  readonly tunnels = new TunnelTable();
  /** Tunnel of the current packet's innermost flow (0 none) and its immediate parent: a carrier flow's serial, minus a tunnel's number, or 0. */
  private curTun = 0;
  /** The innermost tunnel's own number (curTun is the number its flows are keyed by). */
  private curTunId = 0;
  private curParentKey = 0;
  private curParentConn: Conn | null = null;
  /**
   * Serials of the tunnels' UDP flows (carriers) the last packet was counted
   * in, outer first (`lastCarrierCount` of them); `lastSerial` is the
   * innermost flow's (or the last carrier's when the inner packet had none).
   */
  readonly lastCarriers = new Int32Array(MAX_TUNNELS);
  lastCarrierCount = 0;
  /** The encapsulation chain of a fragment, kept while its datagram is reassembled and decoded again. */
  private readonly savedEncapKind = new Uint8Array(MAX_ENCAP);
  private readonly savedEncapId = new Float64Array(MAX_ENCAP);

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
    this.curTun = 0;
    this.curTunId = 0;
    this.curParentKey = 0;
    this.curParentConn = null;
    this.lastCarrierCount = 0;
    if (d.tunnelDepth > 0) this.throughTunnels(pv, d);
    if (d.encapError !== 0) this.encapErrorCounts[d.encapErrorKind * ENCAP_ERROR_NAMES.length + d.encapError]!++;
    if (outcome === Outcome.FRAGMENT) {
      if (d.ipVersion === 4) st.ipv4Fragments++;
      else st.ipv6Fragments++;
      if (!this.defrag.add(pv, d, now)) {
        if (this.lastCarrierCount > 0) st.flowPackets++;
        return;
      }
      // the datagram is complete: analyse it as one packet, in the tunnel the completing fragment came through
      const nEncap = d.encapCount;
      if (nEncap > 0) {
        this.savedEncapKind.set(d.encapKind);
        this.savedEncapId.set(d.encapId);
      }
      pv = this.defrag.assembled;
      outcome = decodePacket(pv, d);
      if (d.tunnelDepth > 0) this.throughTunnels(pv, d);
      else if (nEncap > 0) {
        d.encapKind.set(this.savedEncapKind);
        d.encapId.set(this.savedEncapId);
        d.encapCount = nEncap;
      }
    }
    if (d.truncated) st.truncatedPackets++;
    if (outcome !== Outcome.OK) {
      if (this.lastCarrierCount > 0) {
        // a tunnel's UDP flow counted it; the packet inside has no flow
        st.flowPackets++;
        this.innerOutcomeCounts[outcome]!++;
        return;
      }
      this.outcomeCounts[outcome]!++;
      if (outcome === Outcome.UNKNOWN_LINKTYPE) st.unknownLinkTypes.set(pv.linkType, (st.unknownLinkTypes.get(pv.linkType) ?? 0) + 1);
      return;
    }
    st.flowPackets++;
    const proto = d.proto;
    if (proto === IPPROTO_TCP) this.tcp(pv, d);
    else if (proto === IPPROTO_UDP) this.udp(pv, d);
    else this.icmp(pv, d);
  }

  /**
   * The tunnels of the current packet, outer first: each UDP-borne tunnel's
   * carrier is a UDP flow of its own and counts the packet (as Zeek's
   * conn.log has the VXLAN or Teredo flow beside what it carries); each
   * tunnel is interned, and the innermost one keys the packet's own flow.
   */
  private throughTunnels(pv: PacketView, d: Decoded): void {
    this.stats.tunnelledPackets++;
    const tunnels = this.tunnels;
    let key = 0;
    let id = 0;
    let parentKey = 0;
    let parentConn: Conn | null = null;
    for (let k = 0; k < d.tunnelDepth; k++) {
      if (d.tunSport[k]! >= 0) {
        const c = this.carrier(pv, d, k, key);
        if (parentKey !== 0) this.addParent(c, parentKey, parentConn);
        parentKey = c.serial;
        parentConn = c;
        this.lastCarriers[this.lastCarrierCount++] = c.serial;
      }
      id = tunnels.intern(key, d.tunKind[k]!, d.tunVersion[k]!, d.tunAddr, 8 * k, d.tunVni[k]!, pv.sec, pv.nsec);
      key = tunnels.keyOf(id);
      const t = tunnels.get(id);
      if (t !== null) {
        t.pkts++;
        t.ipBytes += d.tunIpLen[k]!;
        t.lastSec = pv.sec;
        t.lastNsec = pv.nsec;
      } else tunnels.overflowPackets++;
      if (d.tunSport[k]! < 0) {
        parentKey = -id;
        parentConn = null;
      }
    }
    this.curTun = key;
    this.curTunId = id;
    this.curParentKey = parentKey;
    this.curParentConn = parentConn;
  }

  /**
   * A packet of a tunnel with sibling VNIs found no flow: its flow may be
   * keyed by a sibling's number. It is when the flow was keyed by this
   * tunnel's own number before the tunnel was paired, or when the packet
   * answers a flow of a sibling that has had packets one way only (the
   * network uses one VNI per direction: the two tunnels are paired).
   */
  private acrossVnis(proto: number, d: Decoded, sp: number, dp: number): Conn | null {
    const t = this.tunnels.get(this.curTunId);
    if (t === null || t.siblings === null) return null;
    for (const s of t.siblings) {
      for (let pass = 0; pass < 2; pass++) {
        const key = pass === 0 ? s.id : s.key;
        if (key === this.curTun || (pass === 1 && s.key === s.id)) continue;
        const hash = FlowTable.keyHash(proto, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp, key);
        const c = this.table.lookup(hash, proto, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp, key);
        if (c === null) continue;
        if (key === t.id) return c; // keyed before the tunnel was paired
        if (!this.table.fromA && c.hb.pkts === 0) {
          this.tunnels.pair(t.id, s);
          this.curTun = t.key;
          return c;
        }
      }
    }
    return null;
  }

  /** The UDP flow that carries tunnel `k` of the packet (inside tunnel `tun`), with the packet counted in it. */
  private carrier(pv: PacketView, d: Decoded, k: number, tun: number): Conn {
    const a = d.tunAddr;
    const o = 8 * k;
    const sp = d.tunSport[k]!, dp = d.tunDport[k]!;
    const hash = FlowTable.keyHash(IPPROTO_UDP, a[o]!, a[o + 1]!, a[o + 2]!, a[o + 3]!, sp, a[o + 4]!, a[o + 5]!, a[o + 6]!, a[o + 7]!, dp, tun);
    let c = this.table.lookup(hash, IPPROTO_UDP, a[o]!, a[o + 1]!, a[o + 2]!, a[o + 3]!, sp, a[o + 4]!, a[o + 5]!, a[o + 6]!, a[o + 7]!, dp, tun);
    let fromA = this.table.fromA;
    if (c === null) {
      c = this.createFlow(pv, IPPROTO_UDP, d.tunVersion[k]!, a[o]!, a[o + 1]!, a[o + 2]!, a[o + 3]!, sp, a[o + 4]!, a[o + 5]!, a[o + 6]!, a[o + 7]!, dp, hash, tun);
      fromA = true;
      c.vlan = d.tunVlan[k]!;
      const before = d.tunEncap[k]!;
      c.encap = before > 0 ? encapText(d.encapKind, d.encapId, 0, before) : null;
      const outer = this.tunnels.get(tun);
      if (outer !== null) outer.flows++;
      const byPorts = clientByPorts(sp, dp);
      c.origIsA = byPorts >= 0;
      c.origRule = byPorts === 0 ? OrigRule.FIRST : OrigRule.PORTS;
      if (this.an !== null) this.an.created(c, false);
    }
    this.touch(c, pv);
    this.lastSerial = c.serial;
    const h = fromA ? c.ha : c.hb;
    const udpLen = d.tunUdpLen[k]!;
    h.pkts++;
    h.ipBytes += d.tunIpLen[k]!;
    h.frameBytes += pv.origlen;
    h.payloadBytes += udpLen;
    if (d.tunTruncated[k]) h.truncatedPkts++;
    h.maxEnd += udpLen;
    if (this.an !== null) this.an.other(c, fromA, udpLen);
    return c;
  }

  /** Notes that flow `c` came through `key` (a carrier flow's serial, or minus a tunnel's number): Zeek's tunnel_parents. */
  private addParent(c: Conn, key: number, carrier: Conn | null): void {
    if (c.parentKey === key) return;
    c.parentKey = key;
    let uid: string;
    if (carrier !== null) {
      if (carrier.uidText === null) carrier.uidText = connUid(carrier);
      uid = carrier.uidText;
    } else {
      const t = this.tunnels.get(-key);
      if (t === null) return;
      uid = t.uid;
    }
    if (c.parents === null) c.parents = uid;
    else if (!c.parents.includes(uid) && c.parents.length < MAX_PARENTS * 19) c.parents += ',' + uid;
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
    if (!c.bothClosed) {
      c.durSec = pv.sec;
      c.durNsec = pv.nsec;
    }
    c.lastMs = this.nowMs;
    c.lastTouch = this.stats.packets;
    this.lastSerial = c.serial;
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

  /** A new flow of the current packet's innermost header (in the current tunnel). */
  private create(pv: PacketView, d: Decoded, proto: number, sp: number, dp: number, hash: number): Conn {
    const tun = this.curTun;
    const c = this.createFlow(pv, proto, d.ipVersion, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp, hash, tun);
    c.vlan = d.vlanCount > 0 ? d.vlanId : -1;
    if (d.encapCount > 0) c.encap = encapText(d.encapKind, d.encapId, 0, d.encapCount);
    if (tun !== 0) {
      const t = this.tunnels.get(this.curTunId);
      if (t !== null) t.flows++;
    }
    return c;
  }

  private createFlow(pv: PacketView, proto: number, version: number, s0: number, s1: number, s2: number, s3: number, sp: number, d0: number, d1: number, d2: number, d3: number, dp: number, hash: number, tun: number): Conn {
    if (this.table.size >= this.maxFlows) this.evictOne();
    const c = this.table.insert(hash, proto, version, s0, s1, s2, s3, sp, d0, d1, d2, d3, dp, tun);
    c.serial = ++this.serial;
    c.firstSec = pv.sec;
    c.firstNsec = pv.nsec;
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
    const tun = this.curTun;
    const hash = FlowTable.keyHash(IPPROTO_TCP, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp, tun);
    const flags = d.flags;
    const isSyn = (flags & (SYN | ACK)) === SYN;
    let c = this.table.lookup(hash, IPPROTO_TCP, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp, tun);
    if (c === null && this.curTunId !== 0) c = this.acrossVnis(IPPROTO_TCP, d, sp, dp);
    let reused = false;
    if (c !== null && (flags & SYN) !== 0 && (c.ha.finPkts | c.ha.rstPkts | c.hb.finPkts | c.hb.rstPkts) !== 0) {
      // Zeek's connection reuse (TCPSessionAdapter::IsReuse): once a side has
      // closed (sent a FIN or RST), a SYN starts a new connection whatever its
      // sequence number; so does a SYN/ACK when the originator never sent a
      // packet. A client that retries after a RST makes one connection per
      // attempt (three REJ records for three SYNs, as Zeek logs them).
      const fromA = this.table.fromA;
      if (isSyn || c.half(c.origIsA).pkts === 0) {
        const h = c.half(fromA);
        // tshark's reused_ports: a SYN with another ISN on the same 4-tuple
        reused = isSyn && h.isn >= 0 && h.isn !== d.seq;
        this.end(c, c.inClosing ? c.endReason : 'fin');
        c = null;
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
    if (this.curParentKey !== 0) this.addParent(c, this.curParentKey, this.curParentConn);
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
    if (flags & (FIN | RST) && !c.bothClosed && (c.ha.finPkts | c.ha.rstPkts) !== 0 && (c.hb.finPkts | c.hb.rstPkts) !== 0) c.bothClosed = true;
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
    if (this.opts.onSegment) this.opts.onSegment(c, fromA, pv, frame, segFlags, d);
    if (this.app !== null) this.app.tcp(c, fromA, d, pv);
    if (!c.inClosing) {
      // the close is complete (Zeek's close_complete): a RST, both FINs, or a
      // FIN while the other side never sent a packet
      if (flags & RST) {
        c.rstFromA = fromA;
        this.startClosing(c, 'rst_orig');
      } else if (c.ha.finRel >= 0 && c.hb.finRel >= 0) this.startClosing(c, 'fin');
      else if (flags & FIN && (fromA ? c.hb : c.ha).pkts === 0) this.startClosing(c, 'fin');
    }
  }

  private udp(pv: PacketView, d: Decoded): void {
    const sp = d.sport, dp = d.dport;
    const tun = this.curTun;
    const hash = FlowTable.keyHash(IPPROTO_UDP, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp, tun);
    let c = this.table.lookup(hash, IPPROTO_UDP, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp, tun);
    if (c === null && this.curTunId !== 0) c = this.acrossVnis(IPPROTO_UDP, d, sp, dp);
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
    if (this.curParentKey !== 0) this.addParent(c, this.curParentKey, this.curParentConn);
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
    const tun = this.curTun;
    const hash = FlowTable.keyHash(proto, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp, tun);
    let c = this.table.lookup(hash, proto, d.sa0, d.sa1, d.sa2, d.sa3, sp, d.da0, d.da1, d.da2, d.da3, dp, tun);
    if (c === null && this.curTunId !== 0) c = this.acrossVnis(proto, d, sp, dp);
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
    const tun = this.curTun;
    const hash = FlowTable.keyHash(p, d.isa0, d.isa1, d.isa2, d.isa3, d.innerSport, d.ida0, d.ida1, d.ida2, d.ida3, d.innerDport, tun);
    const c = this.table.lookup(hash, p, d.isa0, d.isa1, d.isa2, d.isa3, d.innerSport, d.ida0, d.ida1, d.ida2, d.ida3, d.innerDport, tun);
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
      const m = this.innerOutcomeCounts[i]!;
      if (m > 0) this.stats.innerNotAnalysed.set(OUTCOME_NAMES[i]!, m);
    }
    const nErr = ENCAP_ERROR_NAMES.length;
    for (let i = 0; i < this.encapErrorCounts.length; i++) {
      const n = this.encapErrorCounts[i]!;
      if (n > 0) {
        const kind = ENCAP_NAMES[Math.floor(i / nErr)]![0];
        this.stats.undecodedEncaps.set(`${kind === '' ? 'tunnel' : kind}: ${ENCAP_ERROR_NAMES[i % nErr]}`, n);
      }
    }
    if (this.opts.onTunnel) for (const t of this.tunnels.all) this.opts.onTunnel(t);
    if (this.tunnels.overflowPackets > 0) this.stats.undecodedEncaps.set(`tunnels beyond the ${OVERFLOW_TUNNEL - 1} held (keyed together)`, this.tunnels.overflowPackets);
  }

  /** Flows currently open. */
  get openFlows(): number {
    return this.table.size;
  }
}
