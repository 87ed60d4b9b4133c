/**
 * Writing the encapsulation chain of a packet into its Decoded (numbers into
 * preallocated arrays: no allocation), and reading it back as the `encap`
 * text of a record (once per flow).
 */
import type { Decoded } from './decoded.js';
import { ENCAP_NAMES, MAX_ENCAP } from './decoded.js';

/** Notes one encapsulation layer (an Encap value and its identifier, -1 for none). */
export function pushEncap(d: Decoded, kind: number, id: number): void {
  const n = d.encapCount;
  if (n >= MAX_ENCAP) return;
  d.encapKind[n] = kind;
  d.encapId[n] = id;
  d.encapCount = n + 1;
}

/**
 * Notes a tunnel over IP or UDP whose carrier is the IP header (and, for UDP
 * tunnels, the UDP header) the decoder holds now: its addresses, lengths and
 * ports, before the inner headers overwrite them. `vni` is the identifier both
 * directions share (-1 none); the tunnel's own encap layer is pushed by the
 * caller right after.
 */
export function pushTunnel(d: Decoded, kind: number, vni: number, sport: number, dport: number, udpLen: number): void {
  const k = d.tunnelDepth;
  d.tunKind[k] = kind;
  d.tunVersion[k] = d.ipVersion;
  const a = d.tunAddr;
  const o = 8 * k;
  a[o] = d.sa0; a[o + 1] = d.sa1; a[o + 2] = d.sa2; a[o + 3] = d.sa3;
  a[o + 4] = d.da0; a[o + 5] = d.da1; a[o + 6] = d.da2; a[o + 7] = d.da3;
  d.tunVni[k] = vni;
  d.tunSport[k] = sport;
  d.tunDport[k] = dport;
  d.tunIpLen[k] = d.ipLen;
  d.tunUdpLen[k] = udpLen;
  d.tunTruncated[k] = d.l4Cap < d.l4Len ? 1 : 0;
  d.tunEncap[k] = d.encapCount;
  d.tunVlan[k] = d.vlanCount > 0 ? d.vlanId : -1;
  // the inner frame's VLAN tags are its own
  d.vlanCount = 0;
  d.vlanId = -1;
  d.tunnelDepth = k + 1;
}

/** One layer as text: its name, and `:<what>=<id>` when it has an identifier (`vxlan:vni=42`). */
export function encapToken(kind: number, id: number): string {
  const [name, what] = ENCAP_NAMES[kind] ?? ['?', ''];
  return what !== '' && id >= 0 ? `${name}:${what}=${id}` : name;
}

/** Layers [from, to) of the chain as text, outer first, separated by spaces (empty string when none). */
export function encapText(kinds: ArrayLike<number>, ids: ArrayLike<number>, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += (i > from ? ' ' : '') + encapToken(kinds[i]!, ids[i]!);
  return s;
}
