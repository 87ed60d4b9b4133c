/**
 * ConnTracker: the per-packet heart of tcpanalyze. Decodes each packet,
 * finds or creates its flow, updates per-direction counters and sequence
 * state, and hands finished flows to `onFlowEnd` as soon as they end: a TCP
 * connection after both FINs or a RST plus a linger time (stragglers still
 * count), any flow after `idleTimeoutMs` of capture time without packets,
 * the rest at `finish()`. Memory is bounded by the flows open at once and
 * by a memory budget (see below). Steady state allocates nothing per packet.
 *
 * Memory budget: every flow is charged to a MemoryBudget at an estimated cost
 * (the constants below, measured with heap snapshots of many flows). A new
 * flow is embryonic: it costs the flow object and, in the full analysis, the
 * handshake state and a log of its events (ConnAnalyzer). It graduates, and
 * is charged the heavy analysis state, when it carries payload, when the
 * other side answers (anything but a RST), or after EMBRYO_PACKETS packets.
 * Embryonic flows are listed apart and may hold at most EMBRYO_SHARE of the
 * budget: beyond it the least recently active of them is written (end_reason
 * evicted), as a kernel's SYN backlog drops the oldest embryonic connection,
 * so a flood of spoofed SYNs cannot push out established connections. When
 * the whole budget is used, flows that finished closing go first, then the
 * least recently active embryonic flow, then the least recently active
 * established one. Eviction writes records, never aborts.
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
import { ActivityList } from '../tcp/activity-list.js';
import { clientByPorts } from '../util/ports.js';
import { ConnAnalyzer } from './conn-analyzer.js';
import type { FlowAnalysis } from './flow-analysis.js';
import { OVERFLOW_TUNNEL, TunnelTable, type Tunnel } from './tunnels.js';
import { connUid } from './conn-uid.js';
import { MemoryBudget, type BudgetAccount } from '../util/memory-budget.js';

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
  /** Most flows held at once, beside the memory budget (default: no count limit); beyond it a flow is evicted. */
  maxFlows?: number;
  /**
   * The budget flows and their analysis are charged to; when it is used up,
   * flows are written early (end_reason evicted). Default: a budget of
   * DEFAULT_MAX_MEMORY bytes of its own.
   */
  budget?: MemoryBudget;
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
  /**
   * onSegment reads the analysis flags (or the analysis state) of every
   * segment: every flow then gets its full analysis state from its first
   * packet (embryonic flows would report 0).
   */
  segmentFlags?: boolean;
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

export const DEFAULT_TRACKER_OPTIONS = { idleTimeoutMs: 300_000, closeLingerMs: ZEEK_CLOSE_DELAY_MS, synTimeoutMs: 30_000, maxFlows: Infinity };

/** Default memory budget for the analysis state (what --max-memory 512m leaves for it, see analysisBudgetFor). */
export const DEFAULT_MAX_MEMORY = 308 * 1024 * 1024;
/** Node's own memory and the read and write buffers, outside the analysis state (peak RSS of a run on a small capture: 50-60 MB). */
export const RUNTIME_BYTES = 80 * 1024 * 1024;
/**
 * Peak RSS per byte of charged analysis state: the garbage collector's room
 * above the live heap and the heap's fragmentation (measured 1.25-1.4 with
 * the flags on tcpanalyze's first line, 500,000 long-lived connections).
 */
export const HEAP_OVERHEAD = 1.4;

/**
 * The analysis-state budget for a peak RSS of `maxMemory` bytes
 * (--max-memory): what is left after the runtime, over the heap's overhead;
 * at least 4 MiB. 512m gives 308 MiB.
 */
export function analysisBudgetFor(maxMemory: number): number {
  return Math.max(4 * 1024 * 1024, Math.floor((maxMemory - RUNTIME_BYTES) / HEAP_OVERHEAD));
}
/** Share of the budget embryonic flows may hold. */
export const EMBRYO_SHARE = 1 / 4;
/** Packets after which a flow graduates even without payload or an answer. */
export const EMBRYO_PACKETS = 6;
/**
 * Estimated bytes per flow, measured on this project's Node (heap growth per
 * flow with 200,000 flows held, scripts/soak-hostile.mjs --measure): the flow
 * object with its two directions, its hash-table slots and list links ...
 */
export const FLOW_BYTES = 900;
/** ... plus, in the full analysis, the handshake state, the event log and the timeout queue entry ... */
export const EMBRYO_ANALYSIS_BYTES = 500;
/** ... plus, once graduated, tshark's sequence analysis and Zeek's state with their first buffers. */
export const HEAVY_ANALYSIS_BYTES = 3400;

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
  /** Flows written early (end_reason evicted), for the three reasons below. */
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
  /** Embryonic flows (no payload, no answer) written because they passed their share of the budget. */
  evictedEmbryonic: number;
  /** Flows written because the memory budget was used up. */
  evictedForMemory: number;
  /** Flows written because maxFlows flows were open. */
  evictedForCount: number;
  /** Flows that were still embryonic when they ended. */
  embryonicEnded: number;
}

/** Parents (tunnel_parents uids) kept per flow at most. */
const MAX_PARENTS = 8;

export class ConnTracker {
  readonly d = new Decoded();
  readonly table = new FlowTable();
  readonly defrag: Defragmenter;
  /** Open flows that graduated, and embryonic ones, each in activity order (moved lazily). */
  private readonly active = new ActivityList();
  private readonly embryos = new ActivityList();
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
    evictedEmbryonic: 0,
    evictedForMemory: 0,
    evictedForCount: 0,
    embryonicEnded: 0,
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
  readonly budget: MemoryBudget;
  /** Charges of open flows: embryonic ones not closing, and the rest. */
  private readonly embryoAcct: BudgetAccount;
  private readonly flowAcct: BudgetAccount;
  /** Estimated bytes of an embryonic flow, and what graduation adds. */
  private readonly lightCost: number;
  private readonly heavyCost: number;
  /** Every flow gets its full analysis state at once (--flags reads it on every segment). */
  private readonly eager: boolean;

  constructor(opts: TrackerOptions) {
    this.opts = opts;
    this.maxFlows = opts.maxFlows ?? DEFAULT_TRACKER_OPTIONS.maxFlows;
    this.budget = opts.budget ?? new MemoryBudget(DEFAULT_MAX_MEMORY);
    this.flowAcct = this.budget.account('flows');
    this.embryoAcct = this.budget.account('embryonic flows', this.budget.share(EMBRYO_SHARE));
    this.budget.onReclaim(() => this.evictOne(false));
    // IP fragments waiting for the rest of their datagram: an eighth of the budget (64 MiB of the default)
    this.defrag = new Defragmenter(30_000, 8192, 0, this.budget.account('ip fragments', this.budget.share(1 / 8)));
    const full = opts.analysis !== 'flows';
    this.an = full ? (opts.analyzer ?? new ConnAnalyzer(opts.synTimeoutMs, opts.onHandshake, this.flowAcct)) : null;
    this.lightCost = FLOW_BYTES + (full ? EMBRYO_ANALYSIS_BYTES : 0);
    this.heavyCost = full ? HEAVY_ANALYSIS_BYTES : 0;
    this.eager = opts.segmentFlags === true;
    this.app = opts.app ?? null;
  }

  /**
   * Memory or the flow count is used up (a scan, a flood): write the flow
   * that finished closing first, else the least recently active embryonic
   * one, else the least recently active established one, so memory stays
   * bounded whatever the input. False when no flow is left.
   */
  private evictOne(forCount: boolean): boolean {
    const c = this.closing.head ?? this.leastRecentlyActive(this.embryos) ?? this.leastRecentlyActive(this.active);
    if (c === null) return false;
    if (c.inClosing) {
      this.end(c, c.endReason); // already closed: only its linger is cut short
      return true;
    }
    this.stats.evictedFlows++;
    if (forCount) this.stats.evictedForCount++;
    else this.stats.evictedForMemory++;
    this.end(c, 'evicted');
    return true;
  }

  /** Embryonic flows would pass their share: write the least recently active ones. */
  private evictEmbryos(cost: number): void {
    while (this.embryoAcct.wouldExceed(cost)) {
      const c = this.leastRecentlyActive(this.embryos);
      if (c === null) return;
      this.stats.evictedFlows++;
      this.stats.evictedEmbryonic++;
      this.end(c, 'evicted');
    }
  }

  /** The flow carried payload or an answer: it gets (and is charged) the full analysis state. */
  private graduate(c: Conn): void {
    c.embryonic = false;
    if (c.inClosing) this.flowAcct.charge(this.heavyCost);
    else {
      this.embryos.remove(c);
      this.embryoAcct.release(this.lightCost);
      this.flowAcct.charge(this.lightCost + this.heavyCost);
      // touched by this packet: the newest in the activity order
      c.listedTouch = c.lastTouch;
      c.listedMs = c.lastMs;
      this.active.pushTail(c);
    }
    if (this.an !== null) this.an.graduate(c);
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
    const b = this.budget;
    if (b.used > b.limit) b.relieve();
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

  /** Moves a flow of `list` that was active since it was listed to its place by its last packet. */
  private relist(list: ActivityList, c: Conn): void {
    list.remove(c);
    c.listedTouch = c.lastTouch;
    c.listedMs = c.lastMs;
    list.insertByListed(c);
  }

  /** The flow of `list` (open flows, established or embryonic) whose last packet is the oldest. */
  private leastRecentlyActive(list: ActivityList): Conn | null {
    let c = list.head;
    while (c !== null && c.lastTouch !== c.listedTouch) {
      this.relist(list, c);
      c = list.head;
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
    const cost = this.lightCost;
    if (this.embryoAcct.wouldExceed(cost)) this.evictEmbryos(cost);
    const b = this.budget;
    if (b.used + cost > b.limit) b.relieve(cost);
    if (this.table.size >= this.maxFlows) this.evictOne(true);
    const c = this.table.insert(hash, proto, version, s0, s1, s2, s3, sp, d0, d1, d2, d3, dp, tun);
    c.serial = ++this.serial;
    c.firstSec = pv.sec;
    c.firstNsec = pv.nsec;
    c.lastTouch = c.listedTouch = this.stats.packets;
    c.lastMs = c.listedMs = this.nowMs;
    this.embryos.pushTail(c);
    this.embryoAcct.charge(cost);
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
    if (c.embryonic && (this.eager || len > 0 || (!fromA && (flags & RST) === 0) || c.ha.pkts + c.hb.pkts > EMBRYO_PACKETS)) this.graduate(c);
    const frame = this.stats.packets;
    const segFlags = this.an !== null ? this.an.tcp(c, fromA, d, pv, frame) : 0;
    if (this.opts.onSegment) this.opts.onSegment(c, fromA, pv, frame, segFlags);
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
    // a datagram's payload is no sign of a conversation (one-packet floods carry some): an answer is
    if (c.embryonic && (this.eager || !fromA || c.ha.pkts + c.hb.pkts > EMBRYO_PACKETS)) this.graduate(c);
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
    if (c.embryonic) {
      this.embryos.remove(c);
      this.embryoAcct.release(this.lightCost);
      this.flowAcct.charge(this.lightCost);
    } else this.active.remove(c);
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
    // Both lists (established and embryonic) are walked together, so idle
    // flows end in last-packet order whichever list they are in.
    const cutoff = now - idle;
    for (;;) {
      const a = this.idleHead(this.active, cutoff);
      const e = this.idleHead(this.embryos, cutoff);
      const c = a === null ? e : e === null || a.lastTouch < e.lastTouch ? a : e;
      if (c === null) return;
      this.end(c, 'idle');
    }
  }

  /** The head of `list` if it has been idle since `cutoffMs` (heads active since are listed again first). */
  private idleHead(list: ActivityList, cutoffMs: number): Conn | null {
    for (let c = list.head; c !== null && c.listedMs <= cutoffMs; c = list.head) {
      if (c.lastTouch === c.listedTouch) return c;
      this.relist(list, c);
    }
    return null;
  }

  /**
   * TCP 4-tuples of recently written connections with the ISN of their SYN
   * sender, so a later SYN with a new ISN is still tshark's reused_ports
   * (tshark keeps every conversation of the file; this keeps the last
   * RECENT_ENDS, one entry per connection, never per packet).
   */
  private readonly recentEnds = new RecentEnds(RECENT_ENDS);

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
    this.recentEnds.set(ConnTracker.tupleKey(c), syner.isn);
  }

  private wasEndedWithOtherIsn(c: Conn, isn: number): boolean {
    if (this.recentEnds.size === 0) return false;
    const prev = this.recentEnds.get(ConnTracker.tupleKey(c));
    return prev >= 0 && prev !== isn;
  }

  private end(c: Conn, reason: EndReason): void {
    c.endReason = reason;
    if (this.an !== null) {
      if (c.proto === IPPROTO_TCP) this.rememberEnd(c);
      this.an.ended(c);
    }
    const cost = c.embryonic ? this.lightCost : this.lightCost + this.heavyCost;
    if (c.inClosing) {
      this.closing.remove(c);
      this.flowAcct.release(cost);
    } else if (c.embryonic) {
      this.embryos.remove(c);
      this.embryoAcct.release(cost);
    } else {
      this.active.remove(c);
      this.flowAcct.release(cost);
    }
    if (c.embryonic) this.stats.embryonicEnded++;
    c.inClosing = false;
    if (this.app !== null) this.app.ended(c);
    this.opts.onFlowEnd(c);
    if (this.an !== null) this.an.released(c);
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
    const an = this.an;
    for (const c of open) {
      if (an === null || !c.embryonic) fn(c);
      else {
        an.materialize(c);
        fn(c);
        an.released(c);
      }
    }
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

/**
 * The last `cap` keys set, with a value each: an open-addressing hash table
 * (linear probing, backward-shift deletion) of entry numbers over typed
 * arrays, and a least-recently-set list through the entries. Keys are
 * tupleKey()s, whose low 21 bits are already a mixed hash. (A Map trimmed
 * by deleting its first key, as this was before, walks over every deleted
 * entry at its front on each trim until V8 rehashes the table: thousands of
 * steps per ended connection under a flood; number keys outside the int32
 * range also cost a heap number each.)
 */
class RecentEnds {
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly keys: Float64Array;
  private readonly values: Float64Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = -1;
  private tail = -1;
  size = 0;

  constructor(private readonly cap: number) {
    let n = 2;
    while (n < cap * 2) n *= 2;
    this.slots = new Int32Array(n).fill(-1);
    this.mask = n - 1;
    this.keys = new Float64Array(cap);
    this.values = new Float64Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
  }

  private home(key: number): number {
    return (key % 2097152) & this.mask;
  }

  /** The entry holding `key`, or -1. */
  private find(key: number): number {
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const e = this.slots[i]!;
      if (e < 0 || this.keys[e] === key) return e;
    }
  }

  /** The value of `key`, or -1. */
  get(key: number): number {
    const e = this.find(key);
    return e < 0 ? -1 : this.values[e]!;
  }

  /** Sets `key` (now the most recent); the least recent key goes when `cap` are held. */
  set(key: number, value: number): void {
    let e = this.find(key);
    if (e >= 0) this.unlink(e);
    else {
      if (this.size < this.cap) e = this.size++;
      else {
        e = this.head;
        this.unlink(e);
        this.removeSlot(e);
      }
      this.keys[e] = key;
      let i = this.home(key);
      while (this.slots[i]! >= 0) i = (i + 1) & this.mask;
      this.slots[i] = e;
    }
    this.values[e] = value;
    this.prev[e] = this.tail;
    this.next[e] = -1;
    if (this.tail >= 0) this.next[this.tail] = e;
    else this.head = e;
    this.tail = e;
  }

  private unlink(e: number): void {
    const p = this.prev[e]!, n = this.next[e]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
  }

  /** Takes entry `e` out of the hash table (backward-shift deletion, as FlowTable). */
  private removeSlot(e: number): void {
    const slots = this.slots, mask = this.mask;
    let i = this.home(this.keys[e]!);
    while (slots[i] !== e) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const x = slots[j]!;
      if (x < 0) break;
      const h = this.home(this.keys[x]!);
      const inRange = i <= j ? h > i && h <= j : h > i || h <= j;
      if (!inRange) {
        slots[i] = x;
        i = j;
      }
    }
    slots[i] = -1;
  }
}
