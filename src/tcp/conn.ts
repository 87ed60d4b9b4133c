/**
 * A bidirectional flow (TCP connection, UDP or ICMP flow) and its two
 * directions. Endpoint A is the source of the flow's first packet; which end
 * is the originator is decided separately (`origIsA`, `origRule`) and may be
 * settled later by a SYN or SYN/ACK.
 */

/** Which rule decided the originator. */
export const OrigRule = {
  SYN: 'syn',
  SYNACK: 'synack',
  PORTS: 'ports',
  FIRST: 'first',
  ICMP: 'icmp',
} as const;
export type OrigRuleName = (typeof OrigRule)[keyof typeof OrigRule];

/** Why a flow's record was written. */
export type EndReason = 'fin' | 'rst_orig' | 'rst_resp' | 'idle' | 'eof' | 'interrupted' | 'evicted';

/** Analysis state attached to a flow by a higher layer; reset when the flow object is reused. */
export interface ConnAux {
  reset(): void;
}

/** Per-direction state and counters. */
export class Half {
  // Numbers in object fields: V8 stores a field that has held a double (a
  // value outside the int32 range, or with a fraction) as a pointer to a
  // separate heap number, one more cache miss per access, while int32 values
  // (Smis) sit in the object itself. The fields read and written on every
  // packet therefore hold int32 values: `base` is a sequence number stored
  // with `| 0` (only differences mod 2^32 are taken of it), and `maxEnd` /
  // `finRel` are byte offsets that stay below 2^31 unless a direction carries
  // 2 GB (then V8 changes the field to a double once, for all flows; results
  // are the same, and forcing that half-way through the benchmark capture
  // made no measurable difference to the time of the second half).
  // `isn` (-1 = none, else up to 2^32 - 1) is touched on SYNs only: -0 makes
  // it a double field from the first object on.
  pkts = 0;
  ipBytes = 0;
  frameBytes = 0;
  /** Sum of payload lengths (per IP lengths), retransmissions included. */
  payloadBytes = 0;
  /** Packets whose bytes were cut by the capture's snaplen. */
  truncatedPkts = 0;
  /** OR of every TCP flag byte sent in this direction. */
  flagsSeen = 0;
  synPkts = 0;
  finPkts = 0;
  rstPkts = 0;
  /** Handshake options (from this side's SYN or SYN/ACK); -1 = not seen. */
  mss = -1;
  wscale = -1;
  sackPermitted = false;
  timestamps = false;
  tfo = false;
  /** Sequence tracking (TCP). */
  hasBase = false;
  /** Sequence number of the first byte (ISN + 1 when the SYN was seen), as an int32 (`seq | 0`); `base >>> 0` is the sequence number. */
  base = 0;
  /** ISN from this side's SYN, -1 if none seen. */
  isn = -0;
  /** Highest relative sequence end seen (unwrapped), for Zeek-style byte counts. */
  maxEnd = 0;
  /** Relative sequence number of this side's FIN (-1 none). */
  finRel = -1;

  constructor() {
    this.isn = -1;
  }

  reset(): void {
    this.pkts = 0; this.ipBytes = 0; this.frameBytes = 0; this.payloadBytes = 0; this.truncatedPkts = 0;
    this.flagsSeen = 0; this.synPkts = 0; this.finPkts = 0; this.rstPkts = 0;
    this.mss = -1; this.wscale = -1; this.sackPermitted = false; this.timestamps = false; this.tfo = false;
    this.hasBase = false; this.base = 0; this.isn = -1; this.maxEnd = 0; this.finRel = -1;
  }
}

export class Conn {
  // -0 marks fields that hold doubles (see Half in src/tcp/conn.ts).
  /** Slot id in the table (stable while the flow lives). */
  id = -1;
  hash = 0;
  proto = 0;
  /** The tunnel the flow's packets came through (part of the key; 0 for none). */
  tun = 0;
  ipVersion = 0;
  // endpoint A (first packet's source) and B
  a0 = 0; a1 = 0; a2 = 0; a3 = 0; aPort = 0;
  b0 = 0; b1 = 0; b2 = 0; b3 = 0; bPort = 0;
  origIsA = true;
  origRule: OrigRuleName = OrigRule.FIRST;
  readonly ha = new Half();
  readonly hb = new Half();
  firstSec = 0; firstNsec = 0;
  lastSec = 0; lastNsec = 0;
  /**
   * Time of the last packet that Zeek's duration counts: every packet until
   * both sides have closed (sent a FIN or RST), the one that closed the
   * second side included; later ones (the last ACK of a FIN exchange, a late
   * RST) move lastSec only.
   */
  durSec = 0; durNsec = 0;
  /** Both sides have sent a FIN or RST (Zeek's did_close on both endpoints). */
  bothClosed = false;
  /** Capture time of the last packet in ms (for timers). */
  lastMs = -0;
  /** Tracker packet number of the flow's last packet (activity order). */
  lastTouch = 0;
  /**
   * `lastTouch` and `lastMs` when the flow took its place in the tracker's
   * activity list: the list is moved lazily (see ConnTracker.expire), so a
   * flow touched since sits where it was listed until the list is walked.
   */
  listedTouch = 0;
  listedMs = -0;
  /** Capture time (ms) after which a closing flow is written; -1 while open. */
  closeAtMs = -0;
  endReason: EndReason = 'eof';
  /** The RST that closed the flow came from endpoint A. */
  rstFromA = false;
  /** 1-based number of the flow in the capture (creation order). */
  serial = 0;
  /** ICMP errors quoting this flow (not counted as its packets). */
  icmpErrors = 0;
  icmpType = -1;
  icmpCode = -1;
  vlan = -1;
  /** The encapsulation chain of the flow's first packet as the `encap` field writes it (null: none). */
  encap: string | null = null;
  /**
   * Uids of the flows or tunnels that carried this flow's packets (Zeek's
   * tunnel_parents), comma-separated; null when none. `parentKey` is the
   * last one added (a carrier's serial, or minus a tunnel's number), so a
   * packet through the same carrier costs one comparison.
   */
  parents: string | null = null;
  parentKey = 0;
  /** This flow's uid once something needed it early (as a tunnel parent). */
  uidText: string | null = null;
  /** ICMP flows: the type/code pair used as ports. */
  // LRU / closing list links
  prev: Conn | null = null;
  next: Conn | null = null;
  inClosing = false;
  /**
   * The flow has carried no payload and no answer yet (a SYN with no reply, a
   * one-packet probe): the tracker lists it apart, evicts it first and keeps
   * the heavy analysis state for when it graduates (see ConnTracker).
   */
  embryonic = true;
  /** Per-connection analysis state owned by the analysis layer (pooled with the flow). */
  aux: ConnAux | null = null;
  /** Application decoding (src/analysis/app-layer.ts): 0 undecided, 1 left alone, 2 decoded; its state in `app`. */
  appState = 0;
  app: object | null = null;
  /** Payload packets of each endpoint sniffed without a match while undecided (A in the low byte, B in the next; 0xff: gave up). */
  appTries = 0;

  constructor() {
    this.closeAtMs = -1;
  }

  half(fromA: boolean): Half {
    return fromA ? this.ha : this.hb;
  }
  get orig(): Half {
    return this.origIsA ? this.ha : this.hb;
  }
  get resp(): Half {
    return this.origIsA ? this.hb : this.ha;
  }

  reset(): void {
    this.ha.reset();
    this.hb.reset();
    this.origIsA = true;
    this.origRule = OrigRule.FIRST;
    this.closeAtMs = -1;
    this.bothClosed = false;
    this.endReason = 'eof';
    this.icmpErrors = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.vlan = -1;
    this.encap = null;
    this.parents = null;
    this.parentKey = 0;
    this.uidText = null;
    this.prev = this.next = null;
    this.inClosing = false;
    this.embryonic = true;
    this.aux?.reset();
    this.appState = 0;
    this.app = null;
    this.appTries = 0;
  }
}
