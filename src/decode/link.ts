/**
 * Link layers: Ethernet II and IEEE 802.3 (with Cisco FabricPath), Linux
 * cooked SLL and SLL2, BSD NULL / LOOP, raw IP, and the link types of
 * captures on other media that Zeek or tshark read: PPP (RFC 1661 / 1662),
 * Cisco HDLC, FDDI, IP over InfiniBand (RFC 4391), Linux ARCNET (RFC 1201 /
 * 1051) and Linux NFLOG. Each returns the offset where the network layer
 * starts and sets `ethertype` on the result (an ethertype, or one of the
 * pseudo-types below), or returns -1 with `d.outcome` set. Tags and
 * wrappers after the link header (VLAN, MPLS, PPPoE, ...) are ethertype.ts's.
 */
import type { Decoded } from './decoded.js';
import { Outcome, Encap } from './decoded.js';
import { pushEncap } from './encap-chain.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
/** Transparent Ethernet bridging: an Ethernet frame follows (GRE, Geneve, VXLAN). */
export const ETHERTYPE_TEB = 0x6558;
/** PPP (RFC 2637's GRE protocol type): a PPP header follows. */
export const ETHERTYPE_PPP = 0x880b;
/** Pseudo-type: IEEE 802.2 LLC follows (802.3 length frames, FDDI). */
export const NEXT_LLC = 0x10001;
/** Pseudo-type: an IP header of either version follows (its version nibble decides). */
export const NEXT_IP = 0x10002;
const FABRICPATH = 0x8903;

/** What the link decoder found: the protocol of the next header. */
export interface LinkResult {
  ethertype: number;
}

/**
 * An Ethernet header at `off` (Zeek's Ethernet analyzer): Ethernet II, or an
 * 802.3 length field (LLC follows); a Cisco FabricPath header (ethertype
 * 0x8903, 16 bytes) before the frame is skipped, as Zeek does.
 */
export function decodeEthernet(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 14) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  let et = dv.getUint16(off + 12);
  if (et === FABRICPATH) {
    if (end - off < 30) {
      d.outcome = Outcome.TRUNCATED_LINK;
      return -1;
    }
    pushEncap(d, Encap.FABRICPATH, -1);
    off += 16;
    et = dv.getUint16(off + 12);
  }
  if (et < 1536) {
    if (et > 1500) {
      d.outcome = Outcome.NOT_IP;
      return -1;
    }
    et = NEXT_LLC;
  }
  r.ethertype = et;
  return off + 14;
}

/** Linux cooked capture v1: 16-byte header, protocol at offset 14. */
export function decodeSll(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 16) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  const et = dv.getUint16(off + 14);
  // protocol 4: 802.2 LLC frame (Linux ETH_P_802_2)
  r.ethertype = et === 4 ? NEXT_LLC : et;
  return off + 16;
}

/** Linux cooked capture v2: 20-byte header, protocol at offset 0. */
export function decodeSll2(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 20) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  const et = dv.getUint16(off);
  r.ethertype = et === 4 ? NEXT_LLC : et;
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

/**
 * A PPP protocol number (RFC 1661) as the ethertype of what follows: IPv4,
 * IPv6, MPLS unicast and multicast (RFC 3032); 0 for the rest (LCP, IPCP...).
 */
export function pppToEthertype(proto: number): number {
  switch (proto) {
    case 0x0021:
      return ETHERTYPE_IPV4;
    case 0x0057:
      return ETHERTYPE_IPV6;
    case 0x0281:
      return 0x8847;
    case 0x0283:
      return 0x8848;
    default:
      return 0;
  }
}

/**
 * A PPP header (LINKTYPE_PPP, PPP_HDLC, PPTP's GRE payload, PPPoE, L2TP):
 * the address and control bytes 0xff 0x03 when present (RFC 1662; both may
 * be compressed away), then a one- or two-byte protocol (an odd first byte
 * is a compressed one-byte protocol, RFC 1661 §6.5).
 */
export function decodePpp(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  let p = off;
  if (end - p >= 2 && dv.getUint8(p) === 0xff && dv.getUint8(p + 1) === 0x03) p += 2;
  if (end - p < 1) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  let proto = dv.getUint8(p);
  if (proto & 1) p += 1;
  else {
    if (end - p < 2) {
      d.outcome = Outcome.TRUNCATED_LINK;
      return -1;
    }
    proto = dv.getUint16(p);
    p += 2;
  }
  r.ethertype = pppToEthertype(proto);
  return p;
}

/** Cisco HDLC (LINKTYPE_C_HDLC): address, control, then an ethertype. */
export function decodeCiscoHdlc(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 4) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  r.ethertype = dv.getUint16(off + 2);
  return off + 4;
}

/** FDDI (LINKTYPE_FDDI): frame control, destination, source (13 bytes), then 802.2 LLC. */
export function decodeFddi(_dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 13) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  r.ethertype = NEXT_LLC;
  return off + 13;
}

/**
 * IP over InfiniBand (LINKTYPE_IPOIB): 40 bytes of destination and source
 * link addresses, then RFC 4391's encapsulation header (type, reserved).
 */
export function decodeIpoib(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 44) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  r.ethertype = dv.getUint16(off + 40);
  return off + 44;
}

/**
 * Linux ARCNET (LINKTYPE_ARCNET_LINUX): source, destination and a 2-byte
 * offset, then the RFC 1201 header (protocol id, split flag, sequence; an
 * exception packet, split flag 0xff, has 4 more bytes) or the RFC 1051 one
 * (protocol id only).
 */
export function decodeArcnet(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 5) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  const id = dv.getUint8(off + 4);
  switch (id) {
    case 0xf0: // RFC 1051 IP
      r.ethertype = ETHERTYPE_IPV4;
      return off + 5;
    case 0xd4: // RFC 1201 IP
    case 0xc4: { // RFC 2497 IPv6
      if (end - off < 8) {
        d.outcome = Outcome.TRUNCATED_LINK;
        return -1;
      }
      r.ethertype = id === 0xd4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
      return dv.getUint8(off + 5) === 0xff ? off + 12 : off + 8;
    }
    default:
      r.ethertype = 0;
      return off + 5;
  }
}

/**
 * Linux NFLOG (LINKTYPE_NFLOG): family, version, resource id, then TLVs
 * (length and type in the capturing host's byte order, padded to 4 bytes);
 * the packet is the NFULA_PAYLOAD TLV (type 9).
 */
export function decodeNflog(dv: DataView, off: number, end: number, d: Decoded, r: LinkResult): number {
  if (end - off < 4) {
    d.outcome = Outcome.TRUNCATED_LINK;
    return -1;
  }
  const family = dv.getUint8(off);
  let p = off + 4;
  while (end - p >= 4) {
    let len = dv.getUint16(p, true);
    let type = dv.getUint16(p + 2, true);
    if (len < 4 || p + len > end || type > 0xff) {
      len = dv.getUint16(p);
      type = dv.getUint16(p + 2);
    }
    if (len < 4) break;
    if (type === 9) {
      r.ethertype = family === 2 ? ETHERTYPE_IPV4 : family === 10 ? ETHERTYPE_IPV6 : 0;
      return p + 4;
    }
    p += (len + 3) & ~3;
  }
  d.outcome = Outcome.NOT_IP;
  return -1;
}
