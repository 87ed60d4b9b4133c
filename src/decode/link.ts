/**
 * Link layers: Ethernet II (with 802.1Q / 802.1ad / QinQ tags), Linux cooked
 * SLL and SLL2, BSD NULL / LOOP, raw IP. Each returns the offset of the IP
 * header and sets `ethertype` on the decoder, or returns -1.
 */
import type { Decoded } from './decoded.js';
import { Outcome } from './decoded.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
const VLAN_8021Q = 0x8100, VLAN_8021AD = 0x88a8, VLAN_9100 = 0x9100;

/** Ethertype found by the link decoder (IPv4 / IPv6 or other). */
export interface LinkResult {
  ethertype: number;
}

export function decodeEthernet(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 14) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  let et = dv.getUint16(off + 12);
  let p = off + 14;
  d.vlanCount = 0;
  d.vlanId = -1;
  while (et === VLAN_8021Q || et === VLAN_8021AD || et === VLAN_9100) {
    if (end - p < 4) {
      d.outcome = Outcome.TRUNCATED_LINK;
      return -1;
    }
    if (d.vlanCount === 0) d.vlanId = dv.getUint16(p) & 0x0fff;
    d.vlanCount++;
    et = dv.getUint16(p + 2);
    p += 4;
  }
  r.ethertype = et;
  return p;
}

/** Linux cooked capture v1: 16-byte header, protocol at offset 14. */
export function decodeSll(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 16) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  let et = dv.getUint16(off + 14);
  let p = off + 16;
  while (et === VLAN_8021Q || et === VLAN_8021AD) {
    if (end - p < 4) {
      d.outcome = Outcome.TRUNCATED_LINK;
      return -1;
    }
    et = dv.getUint16(p + 2);
    p += 4;
  }
  r.ethertype = et;
  return p;
}

/** Linux cooked capture v2: 20-byte header, protocol at offset 0. */
export function decodeSll2(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 20) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  r.ethertype = dv.getUint16(off);
  return off + 20;
}

/**
 * BSD loopback: 4-byte address family in the capturing host's byte order
 * (NULL) or network order (LOOP). AF_INET is 2 everywhere; AF_INET6 is 24,
 * 28 or 30 depending on the BSD (10 on Linux).
 */
export function decodeNull(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult, bigEndianOnly: boolean): number {
  if (end - off < 4) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  let af = bigEndianOnly ? dv.getUint32(off) : dv.getUint32(off, true);
  if (!bigEndianOnly && af > 0xffff) af = dv.getUint32(off);
  if (af === 2) r.ethertype = ETHERTYPE_IPV4;
  else if (af === 24 || af === 28 || af === 30 || af === 10) r.ethertype = ETHERTYPE_IPV6;
  else r.ethertype = 0;
  return off + 4;
}

/** Raw IP: the version nibble decides. */
export function decodeRaw(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 1) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  const v = dv.getUint8(off) >> 4;
  r.ethertype = v === 4 ? ETHERTYPE_IPV4 : v === 6 ? ETHERTYPE_IPV6 : 0;
  return off;
}
