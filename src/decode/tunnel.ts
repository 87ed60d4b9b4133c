/**
 * Tunnels over IP and over UDP, decoded as Zeek's packet analysers and
 * tshark's dissectors decode them by default:
 *
 * - over IP: IPv4/IPv6 in IP (protocols 4 and 41: 4in4, 6in4, 4in6, 6in6),
 *   GRE (RFC 2784 / 2890, protocol 47: checksum, key and sequence fields;
 *   IP, MPLS or transparent Ethernet bridging inside; ERSPAN types I, II and
 *   III; WCCP redirection; PPTP's enhanced GRE, RFC 2637), EtherIP (97,
 *   RFC 3378), Ethernet in IPv6 (143, RFC 8986) and MPLS in IP (137);
 * - over UDP, by port: VXLAN 4789 (RFC 7348), VXLAN-GPE 4790, Geneve 6081
 *   (RFC 8926, with options), GTP-U 2152 (G-PDUs, with extension headers),
 *   Teredo 3544 (RFC 4380, authentication and origin indication), AYIYA
 *   5072, MPLS in UDP 6635 (RFC 7510), GRE in UDP 4754 (RFC 8086) and
 *   L2TPv2 data 1701 (RFC 2661).
 *
 * Each decoder notes the tunnel (pushTunnel: the carrier's addresses and
 * ports, which the flow keying needs) and its encap layer, then returns the
 * offset of the inner header with `r.ethertype` saying what it is.
 */
import type { Decoded } from './decoded.js';
import { Outcome, Encap, EncapError } from './decoded.js';
import { pushEncap, pushTunnel } from './encap-chain.js';
import { nshNext } from './ethertype.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_PPP, ETHERTYPE_TEB, NEXT_IP, type LinkResult } from './link.js';

export const IPPROTO_IPIP = 4;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_GRE = 47;
export const IPPROTO_ETHERIP = 97;
export const IPPROTO_MPLS = 137;
export const IPPROTO_ETHERNET = 143;

/** Returned by a UDP tunnel decoder for a datagram that is not tunnelled data (a GTP echo, an AYIYA heartbeat): plain UDP. */
export const NOT_TUNNEL = -2;

/** True for the IP protocols that carry a tunnel. */
export function isTunnelProto(proto: number): boolean {
  return proto === IPPROTO_IPIP || proto === IPPROTO_IPV6 || proto === IPPROTO_GRE || proto === IPPROTO_ETHERIP || proto === IPPROTO_ETHERNET || proto === IPPROTO_MPLS;
}

function fail(d: Decoded, kind: number, error: number): number {
  d.encapError = error;
  d.encapErrorKind = kind;
  return -1;
}

/**
 * A tunnel over IP: the payload of the IP header `d` holds (protocol d.proto,
 * captured bytes [d.l4Off, end)). Returns the inner header's offset, or -1
 * with `d.outcome` (and, for a malformed tunnel header, `d.encapError`) set.
 */
export function decodeIpTunnel(dv: DataView, end: number, d: Decoded, r: LinkResult): number {
  const p = d.l4Off;
  switch (d.proto) {
    case IPPROTO_IPIP:
    case IPPROTO_IPV6: {
      const inner4 = d.proto === IPPROTO_IPIP;
      const kind = d.ipVersion === 4 ? (inner4 ? Encap.IP4IN4 : Encap.IP6IN4) : inner4 ? Encap.IP4IN6 : Encap.IP6IN6;
      pushTunnel(d, kind, -1, -1, -1, -1);
      pushEncap(d, kind, -1);
      r.ethertype = inner4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
      return p;
    }
    case IPPROTO_GRE:
      return decodeGre(dv, p, end, d, r, -1, -1, -1);
    case IPPROTO_ETHERIP:
      // RFC 3378: 4-bit version (3), 12 reserved bits, then an Ethernet frame
      if (end - p < 2) {
        d.outcome = Outcome.BAD_ENCAP;
        return fail(d, Encap.ETHERIP, EncapError.TRUNCATED);
      }
      pushTunnel(d, Encap.ETHERIP, -1, -1, -1, -1);
      pushEncap(d, Encap.ETHERIP, -1);
      r.ethertype = ETHERTYPE_TEB;
      return p + 2;
    case IPPROTO_ETHERNET:
      pushTunnel(d, Encap.ETH_IN_IP, -1, -1, -1, -1);
      pushEncap(d, Encap.ETH_IN_IP, -1);
      r.ethertype = ETHERTYPE_TEB;
      return p;
    default: // IPPROTO_MPLS
      pushTunnel(d, Encap.MPLS_IN_IP, -1, -1, -1, -1);
      pushEncap(d, Encap.MPLS_IN_IP, -1);
      r.ethertype = 0x8847;
      return p;
  }
}

/**
 * GRE at `p` (over IP, or over UDP when `sport` >= 0). Version 0: optional
 * checksum, key and sequence fields, then the payload by protocol type
 * (ERSPAN I/II: 0x88be without/with the sequence bit, III: 0x22eb; WCCP:
 * 0x883e, with its 4-byte redirect header unless IPv4 follows directly).
 * Version 1 (PPTP): key = payload length + call id, optional sequence and
 * acknowledgement numbers, then PPP (RFC 2637 §4.1).
 */
export function decodeGre(dv: DataView, p: number, end: number, d: Decoded, r: LinkResult, sport: number, dport: number, udpLen: number): number {
  const overUdp = sport >= 0;
  const kind0 = overUdp ? Encap.GRE_UDP : Encap.GRE;
  if (end - p < 4) return greFail(d, kind0, EncapError.TRUNCATED, overUdp);
  const fv = dv.getUint16(p);
  const proto = dv.getUint16(p + 2);
  const ver = fv & 7;
  // routing (deprecated, RFC 2784), undefined flag bits, unknown versions: as Zeek, not decoded
  if ((fv & 0x4000) !== 0 || (fv & 0x0078) !== 0 || ver > 1 || (ver === 1 && proto !== ETHERTYPE_PPP)) return greFail(d, kind0, EncapError.MALFORMED, overUdp);
  let q = p + 4;
  let key = -1;
  if (fv & 0x8000) q += 4;
  if (fv & 0x2000) {
    if (end - q < 4) return greFail(d, kind0, EncapError.TRUNCATED, overUdp);
    key = dv.getUint32(q);
    q += 4;
  }
  if (fv & 0x1000) q += 4;
  if (ver === 1 && fv & 0x0080) q += 4;
  if (q > end) return greFail(d, kind0, EncapError.TRUNCATED, overUdp);
  if (ver === 1) {
    // PPTP: each side sends the peer's call id, so it names no tunnel both ways
    pushTunnel(d, Encap.PPTP, -1, sport, dport, udpLen);
    pushEncap(d, Encap.PPTP, key >= 0 ? key & 0xffff : -1);
    if (q >= end) {
      d.outcome = Outcome.NOT_IP; // an acknowledgement without payload
      return -1;
    }
    r.ethertype = ETHERTYPE_PPP;
    return q;
  }
  let tkind: number = kind0;
  let vni = key;
  let next = proto;
  let session = -1;
  if (proto === 0x88be || proto === 0x22eb) {
    if (proto === 0x22eb) {
      tkind = Encap.ERSPAN3;
      if (end - q < 12) return greFail(d, tkind, EncapError.TRUNCATED, overUdp);
      session = dv.getUint16(q + 2) & 0x3ff;
      const ft = (dv.getUint16(q + 10) >> 10) & 0x1f;
      q += dv.getUint8(q + 11) & 1 ? 20 : 12; // optional platform-specific subheader
      next = ft === 0 ? ETHERTYPE_TEB : NEXT_IP;
    } else if (fv & 0x1000) {
      tkind = Encap.ERSPAN2;
      if (end - q < 8) return greFail(d, tkind, EncapError.TRUNCATED, overUdp);
      session = dv.getUint16(q + 2) & 0x3ff;
      q += 8;
      next = ETHERTYPE_TEB;
    } else {
      tkind = Encap.ERSPAN1;
      next = ETHERTYPE_TEB;
    }
    if (vni < 0) vni = session;
  } else if (proto === 0x8909) {
    // Cisco MetaData (TrustSec tag) in GRE: the next protocol first, then version, length, option, SGT
    if (end - q < 8) return greFail(d, kind0, EncapError.TRUNCATED, overUdp);
    next = dv.getUint16(q);
    q += 8;
  } else if (proto === 0x883e) {
    tkind = Encap.WCCP;
    if (end - q >= 1 && dv.getUint8(q) >> 4 !== 4) q += 4; // WCCPv2 redirect header
    next = NEXT_IP;
  }
  if (q > end) return greFail(d, tkind, EncapError.TRUNCATED, overUdp);
  pushTunnel(d, tkind, vni, sport, dport, udpLen);
  pushEncap(d, kind0, key);
  if (tkind !== kind0) pushEncap(d, tkind, session);
  r.ethertype = next;
  return q;
}

/** A GRE header that cannot be decoded: over IP the packet is not analysed; over UDP it stays a UDP packet. */
function greFail(d: Decoded, kind: number, error: number, overUdp: boolean): number {
  if (!overUdp) d.outcome = Outcome.BAD_ENCAP;
  return fail(d, kind, error);
}

/** The tunnel a UDP port announces (Encap value), 0 for none. */
export function udpTunnelPort(port: number): number {
  switch (port) {
    case 4789:
      return Encap.VXLAN;
    case 6081:
      return Encap.GENEVE;
    case 2152:
      return Encap.GTPU;
    case 3544:
      return Encap.TEREDO;
    case 5072:
      return Encap.AYIYA;
    case 4790:
      return Encap.VXLAN_GPE;
    case 6635:
      return Encap.MPLS_UDP;
    case 4754:
      return Encap.GRE_UDP;
    case 1701:
      return Encap.L2TP;
    default:
      return 0;
  }
}

/**
 * The payload of the UDP datagram `d` holds ([d.payloadOff, end) captured),
 * as the tunnel `kind`. Returns the inner header's offset with r.ethertype
 * set; NOT_TUNNEL for a datagram that carries no packet (it stays plain UDP);
 * -1 with `d.encapError` set for a header that cannot be decoded (the packet
 * stays a UDP packet of its outer flow).
 */
export function decodeUdpTunnel(dv: DataView, kind: number, end: number, d: Decoded, r: LinkResult): number {
  const p = d.payloadOff;
  const sport = d.sport, dport = d.dport, udpLen = d.payloadLen;
  const n = end - p;
  switch (kind) {
    case Encap.VXLAN: {
      if (n < 8) return fail(d, kind, EncapError.TRUNCATED);
      if ((dv.getUint8(p) & 0x08) === 0) return fail(d, kind, EncapError.MALFORMED); // I flag
      const vni = dv.getUint32(p + 4) >>> 8;
      pushTunnel(d, kind, vni, sport, dport, udpLen);
      pushEncap(d, kind, vni);
      r.ethertype = ETHERTYPE_TEB;
      return p + 8;
    }
    case Encap.VXLAN_GPE: {
      if (n < 8) return fail(d, kind, EncapError.TRUNCATED);
      const flags = dv.getUint8(p);
      if ((flags & 0x30) !== 0 || (flags & 0x04) === 0) return fail(d, kind, EncapError.MALFORMED); // version 0, P flag
      const vni = flags & 0x08 ? dv.getUint32(p + 4) >>> 8 : -1;
      pushTunnel(d, kind, vni, sport, dport, udpLen);
      pushEncap(d, kind, vni);
      r.ethertype = nshNext(dv.getUint8(p + 3));
      return p + 8;
    }
    case Encap.GENEVE: {
      if (n < 8) return fail(d, kind, EncapError.TRUNCATED);
      const b0 = dv.getUint8(p);
      if (b0 >> 6 !== 0) return fail(d, kind, EncapError.MALFORMED);
      const hdr = 8 + (b0 & 0x3f) * 4;
      if (n < hdr) return fail(d, kind, EncapError.TRUNCATED);
      const vni = dv.getUint32(p + 4) >>> 8;
      pushTunnel(d, kind, vni, sport, dport, udpLen);
      pushEncap(d, kind, vni);
      r.ethertype = dv.getUint16(p + 2);
      return p + hdr;
    }
    case Encap.GTPU: {
      if (n < 8) return fail(d, kind, EncapError.TRUNCATED);
      const b0 = dv.getUint8(p);
      if (b0 >> 5 !== 1 || (b0 & 0x10) === 0) return fail(d, kind, EncapError.MALFORMED); // GTPv1, PT = GTP
      if (dv.getUint8(p + 1) !== 0xff) return NOT_TUNNEL; // only G-PDUs carry user packets
      let q = p + 8;
      if (b0 & 0x07) {
        if (n < 12) return fail(d, kind, EncapError.TRUNCATED);
        let next = b0 & 0x04 ? dv.getUint8(p + 11) : 0;
        q = p + 12;
        while (next !== 0) {
          if (end - q < 4) return fail(d, kind, EncapError.TRUNCATED);
          const len = dv.getUint8(q) * 4;
          if (len === 0 || end - q < len) return fail(d, kind, len === 0 ? EncapError.MALFORMED : EncapError.TRUNCATED);
          next = dv.getUint8(q + len - 1);
          q += len;
        }
      }
      // TEIDs differ by direction: they name no tunnel both ways
      pushTunnel(d, kind, -1, sport, dport, udpLen);
      pushEncap(d, kind, dv.getUint32(p + 4));
      r.ethertype = NEXT_IP;
      return q;
    }
    case Encap.TEREDO:
      return decodeTeredo(dv, p, end, d, r);
    case Encap.AYIYA: {
      if (n < 8) return fail(d, kind, EncapError.TRUNCATED);
      const hdr = 8 + (1 << (dv.getUint8(p) >> 4)) + (dv.getUint8(p + 1) >> 4) * 4;
      if (n < hdr) return fail(d, kind, EncapError.TRUNCATED);
      if ((dv.getUint8(p + 2) & 0x0f) !== 1) return NOT_TUNNEL; // only "forward" carries a packet
      const nh = dv.getUint8(p + 3);
      if (nh !== IPPROTO_IPIP && nh !== IPPROTO_IPV6) return fail(d, kind, EncapError.MALFORMED);
      pushTunnel(d, kind, -1, sport, dport, udpLen);
      pushEncap(d, kind, -1);
      r.ethertype = nh === IPPROTO_IPIP ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
      return p + hdr;
    }
    case Encap.MPLS_UDP:
      pushTunnel(d, kind, -1, sport, dport, udpLen);
      pushEncap(d, kind, -1);
      r.ethertype = 0x8847;
      return p;
    case Encap.GRE_UDP:
      return decodeGre(dv, p, end, d, r, sport, dport, udpLen);
    default: {
      // L2TPv2 (RFC 2661 §3.1): flags and version, optional length, tunnel and session ids,
      // optional Ns/Nr and offset; data messages carry PPP
      if (n < 6) return fail(d, kind, EncapError.TRUNCATED);
      const fv = dv.getUint16(p);
      if ((fv & 0x000f) !== 2 || fv & 0x8000) return NOT_TUNNEL; // other versions, control messages
      let q = p + 2;
      if (fv & 0x4000) q += 2;
      if (end - q < 4) return fail(d, kind, EncapError.TRUNCATED);
      const session = dv.getUint16(q + 2);
      q += 4;
      if (fv & 0x0800) q += 4;
      if (fv & 0x0200) {
        if (end - q < 2) return fail(d, kind, EncapError.TRUNCATED);
        q += 2 + dv.getUint16(q);
      }
      if (q > end) return fail(d, kind, EncapError.TRUNCATED);
      // each side sends the peer's session id
      pushTunnel(d, kind, -1, sport, dport, udpLen);
      pushEncap(d, kind, session);
      r.ethertype = ETHERTYPE_PPP;
      return q;
    }
  }
}

/**
 * Teredo on a port other than 3544 (a relay's): taken as Teredo only when
 * the datagram is an IPv6 packet from or to the Teredo prefix 2001:0::/32,
 * possibly behind an authentication or origin indication header (Zeek's
 * detection of Teredo on any UDP port, TeredoAnalyzer::DetectProtocol), and
 * its length fills the datagram. Cheap on other UDP: most datagrams fail the
 * first byte test.
 */
export function looksLikeTeredo(dv: DataView, p: number, end: number, len: number): boolean {
  if (len < 40 || end - p < 40) return false;
  const b0 = dv.getUint8(p);
  let q = p;
  if (b0 === 0) {
    const b1 = dv.getUint8(p + 1);
    if (b1 === 1) q += 4 + dv.getUint8(p + 2) + dv.getUint8(p + 3) + 9;
    if (end - q >= 2 && dv.getUint16(q) === 0) q += 8;
    else if (b1 !== 1) return false;
    if (end - q < 40) return false;
  } else if (b0 >> 4 !== 6) return false;
  if (dv.getUint8(q) >> 4 !== 6) return false;
  return dv.getUint32(q + 8) === 0x20010000 || dv.getUint32(q + 24) === 0x20010000;
}

/**
 * Teredo (RFC 4380 §5.1.1): an optional authentication header (0x0001),
 * an optional origin indication (0x0000), then an IPv6 packet whose length
 * fills the datagram exactly (Zeek's check; a bubble, no next header, may
 * have trailing bytes). Anything else on port 3544 is plain UDP.
 */
function decodeTeredo(dv: DataView, p: number, end: number, d: Decoded, r: LinkResult): number {
  let q = p;
  let left = d.payloadLen; // per the IP header: the snaplen may have cut the capture
  if (left >= 4 && end - q >= 4 && dv.getUint16(q) === 1) {
    const skip = 4 + dv.getUint8(q + 2) + dv.getUint8(q + 3) + 9;
    q += skip;
    left -= skip;
  }
  if (left >= 8 && end - q >= 2 && dv.getUint16(q) === 0) {
    q += 8;
    left -= 8;
  }
  if (left < 40 || end - q < 40 || dv.getUint8(q) >> 4 !== 6) return NOT_TUNNEL;
  const plen = dv.getUint16(q + 4);
  const bubble = plen === 0 && dv.getUint8(q + 6) === 59;
  if (40 + plen !== left && !(bubble && 40 + plen < left)) return NOT_TUNNEL;
  pushTunnel(d, Encap.TEREDO, -1, d.sport, d.dport, d.payloadLen);
  pushEncap(d, Encap.TEREDO, -1);
  r.ethertype = ETHERTYPE_IPV6;
  return q;
}
