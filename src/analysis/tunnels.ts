/**
 * The tunnels a capture's packets came through, each interned to a small
 * number that becomes part of the flow key of what it carries (two tenants'
 * identical inner 5-tuples in different VXLAN VNIs stay two flows).
 *
 * A tunnel is named by what both of its directions share: the enclosing
 * tunnel (nested tunnels), its kind, the unordered pair of outer IP
 * addresses (Zeek names IP tunnels the same way) and the identifier both
 * directions carry (VXLAN / Geneve VNI, GRE key, ERSPAN session; not GTP
 * TEIDs, PPTP call ids or L2TP sessions, which differ by direction, and not
 * the outer UDP ports: VXLAN senders pick the source port per inner flow).
 * Some networks use a different VNI in each direction (downstream-assigned
 * VNIs; tcpdump's geneve.pcap carries SSH in VNI 11 one way and 10 the
 * other): the tracker then pairs the two (see `pair`), and both answer to one
 * number in flow keys from then on.
 * Lookups allocate nothing; a tunnel seen for the first time costs one
 * object. At most MAX_TUNNELS_HELD are held: later new tunnels share one
 * overflow number (counted), so a hostile capture cannot grow the table.
 */
import { encapToken } from '../decode/encap-chain.js';
import { ENCAP_NAMES } from '../decode/decoded.js';
import { formatAddr } from '../util/ip.js';
import { stableUid } from './uid.js';
import { emptyRecord, type RecordValues } from '../records/schema.js';
import { TUNNEL_SCHEMA } from '../records/tunnel.js';
import { formatEpoch } from '../util/time.js';

/** Tunnels held at most. */
export const MAX_TUNNELS_HELD = 1 << 16;
/** The number shared by tunnels beyond MAX_TUNNELS_HELD. */
export const OVERFLOW_TUNNEL = MAX_TUNNELS_HELD + 1;

export class Tunnel {
  /** 1-based number. */
  id = 0;
  /** The number flow keys use: its own, or that of the tunnel it was paired with (a VNI per direction). */
  key = 0;
  /** Tunnels with the same parent, kind and outer address pair but another VNI (shared array; null when none). */
  siblings: Tunnel[] | null = null;
  /** The enclosing tunnel's number (0 for none). */
  parent = 0;
  kind = 0;
  version = 0;
  /** The two outer addresses, the smaller first (as signed words, like Decoded's). */
  readonly lo = new Int32Array(4);
  readonly hi = new Int32Array(4);
  vni = -1;
  hash = 0;
  /** Outer source and destination of the first packet (for the record). */
  readonly src = new Int32Array(4);
  readonly dst = new Int32Array(4);
  firstSec = 0;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  pkts = 0;
  /** Outer IP bytes of its packets (the carrier's IP header as it states it). */
  ipBytes = 0;
  /** Flows keyed with this tunnel (created while it was the innermost). */
  flows = 0;
  /** Its uid, derived like a connection's (stable over runs). */
  uid = '';
  /** The encap layer naming it (`vxlan:vni=42`). */
  token = '';

  /** Zeek's tunnel type name (`Tunnel::VXLAN`'s VXLAN, lower case): the kind's encap name. */
  get typeName(): string {
    return ENCAP_NAMES[this.kind]?.[0] ?? '';
  }

  /** The outer endpoints of its first packet, as text. */
  endpoints(): [string, string] {
    return [formatAddr(this.version, this.src[0]!, this.src[1]!, this.src[2]!, this.src[3]!), formatAddr(this.version, this.dst[0]!, this.dst[1]!, this.dst[2]!, this.dst[3]!)];
  }
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class TunnelTable {
  private slots = new Int32Array(256).fill(-1);
  /** Tunnels by number - 1. */
  readonly all: Tunnel[] = [];
  /** Packets of tunnels seen after the table was full (they share OVERFLOW_TUNNEL). */
  overflowPackets = 0;

  /**
   * The number of the tunnel whose carrier is described by `addr` at word
   * `o` (source 4 words, destination 4 words), inside tunnel `parent`;
   * creates it (timestamped `sec`/`nsec`) when new.
   */
  intern(parent: number, kind: number, version: number, addr: Int32Array, o: number, vni: number, sec: number, nsec: number): number {
    // the unordered pair: compare source and destination word by word (unsigned)
    let srcFirst = true;
    for (let i = 0; i < 4; i++) {
      const s = addr[o + i]! >>> 0, t = addr[o + 4 + i]! >>> 0;
      if (s !== t) {
        srcFirst = s < t;
        break;
      }
    }
    const l = srcFirst ? o : o + 4, h = srcFirst ? o + 4 : o;
    const a0 = addr[l]!, a1 = addr[l + 1]!, a2 = addr[l + 2]!, a3 = addr[l + 3]!;
    const b0 = addr[h]!, b1 = addr[h + 1]!, b2 = addr[h + 2]!, b3 = addr[h + 3]!;
    const hash = mix(
      Math.imul(parent + 1, 0x9e3779b1) ^ Math.imul(kind, 0x85ebca6b) ^ Math.imul(vni | 0, 0xc2b2ae35) ^ mix(a0 ^ Math.imul(a1, 0x2c1b3c6d) ^ Math.imul(a2, 0x297a2d39) ^ Math.imul(a3, 0x1b873593)) ^
        Math.imul(mix(b0 ^ Math.imul(b1, 0x2c1b3c6d) ^ Math.imul(b2, 0x297a2d39) ^ Math.imul(b3, 0x1b873593)), 0x27d4eb2d),
    );
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    for (;;) {
      const k = slots[i]!;
      if (k < 0) break;
      const t = this.all[k]!;
      if (t.hash === hash && t.parent === parent && t.kind === kind && t.vni === vni && t.version === version) {
        const lo = t.lo, hi = t.hi;
        if (lo[0] === a0 && lo[1] === a1 && lo[2] === a2 && lo[3] === a3 && hi[0] === b0 && hi[1] === b1 && hi[2] === b2 && hi[3] === b3) return t.id;
      }
      i = (i + 1) & mask;
    }
    if (this.all.length >= MAX_TUNNELS_HELD) return OVERFLOW_TUNNEL;
    const t = new Tunnel();
    t.id = this.all.length + 1;
    t.parent = parent;
    t.kind = kind;
    t.version = version;
    t.lo[0] = a0; t.lo[1] = a1; t.lo[2] = a2; t.lo[3] = a3;
    t.hi[0] = b0; t.hi[1] = b1; t.hi[2] = b2; t.hi[3] = b3;
    for (let w = 0; w < 4; w++) {
      t.src[w] = addr[o + w]!;
      t.dst[w] = addr[o + 4 + w]!;
    }
    t.vni = vni;
    t.hash = hash;
    t.firstSec = t.lastSec = sec;
    t.firstNsec = t.lastNsec = nsec;
    t.token = encapToken(kind, vni);
    t.key = t.id;
    const [s, dd] = t.endpoints();
    t.uid = stableUid(`${t.token} ${s} ${dd}`, sec, nsec, t.id);
    if (vni >= 0) this.group(t);
    this.all.push(t);
    slots[i] = t.id - 1;
    if (this.all.length * 2 > slots.length) this.grow();
    return t.id;
  }

  /** Tunnels by parent, kind, version and address pair, when a VNI tells them apart (created once per tunnel). */
  private readonly groups = new Map<string, Tunnel[]>();

  private group(t: Tunnel): void {
    const name = `${t.parent}|${t.kind}|${t.version}|${t.lo.join(',')}|${t.hi.join(',')}`;
    let g = this.groups.get(name);
    if (g === undefined) this.groups.set(name, (g = []));
    g.push(t);
    if (g.length > 1) for (const x of g) x.siblings = g;
  }

  /**
   * The reverse direction of a flow of tunnel `other` was seen in tunnel
   * `id` (same carrier pair, another VNI): from now on both, and whatever
   * either was paired with before, key flows with `other`'s key.
   */
  pair(id: number, other: Tunnel): void {
    const t = this.get(id);
    if (t === null || t.siblings === null) return;
    const from = t.key, to = other.key;
    for (const x of t.siblings) if (x.key === from) x.key = to;
  }

  /** The number flow keys use for tunnel `id` (0 stays 0). */
  keyOf(id: number): number {
    return id > 0 && id <= this.all.length ? this.all[id - 1]!.key : id;
  }

  /** The tunnel numbered `id` (null for 0 and the overflow number). */
  get(id: number): Tunnel | null {
    return id > 0 && id <= this.all.length ? this.all[id - 1]! : null;
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (const t of this.all) {
      let i = t.hash & mask;
      while (slots[i]! >= 0) i = (i + 1) & mask;
      slots[i] = t.id - 1;
    }
    this.slots = slots;
  }
}

/** The `tunnel` record of tunnel `t` (src/records/tunnel.ts). */
export function tunnelRecord(t: Tunnel, table: TunnelTable): RecordValues {
  const r = emptyRecord(TUNNEL_SCHEMA);
  const [s, d] = t.endpoints();
  r['ts'] = formatEpoch(t.firstSec, t.firstNsec);
  r['uid'] = t.uid;
  r['tunnel_type'] = t.typeName;
  r['encap'] = t.token;
  r['ip_version'] = t.version;
  r['orig_h'] = s;
  r['resp_h'] = d;
  r['vni'] = t.vni >= 0 ? t.vni : null;
  r['tunnel_parents'] = table.get(t.parent)?.uid ?? null;
  r['last_ts'] = formatEpoch(t.lastSec, t.lastNsec);
  r['pkts'] = t.pkts;
  r['ip_bytes'] = t.ipBytes;
  r['conns'] = t.flows;
  return r;
}
