/**
 * decodePacket: link -> (wrappers) -> IP -> (tunnels) -> TCP / UDP / ICMP
 * into one reused `Decoded`. No allocation: every layer writes numeric
 * fields. Tunnels (over IP or UDP, tunnel.ts) repeat the walk from the inner
 * header, up to MAX_TUNNELS deep; `d` then describes the innermost packet,
 * and `d.tun*` / `d.encap*` the layers removed on the way.
 */
import type { PacketView } from '../capture/packet.js';
import { LinkType } from '../capture/packet.js';
import { Decoded, Encap, EncapError, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, MAX_TUNNELS, Outcome } from './decoded.js';
import {
  decodeArcnet, decodeCiscoHdlc, decodeEthernet, decodeFddi, decodeIpoib, decodeNflog, decodeNull, decodePpp, decodeRaw, decodeSll, decodeSll2,
  ETHERTYPE_IPV4, ETHERTYPE_IPV6, type LinkResult,
} from './link.js';
import { decodeWrappers } from './ethertype.js';
import { decodeIPv4, decodeIPv6 } from './ip.js';
import { decodeTcp } from './tcp.js';
import { decodeIcmp } from './icmp.js';
import { decodeIpTunnel, decodeUdpTunnel, isTunnelProto, looksLikeTeredo, udpTunnelPort } from './tunnel.js';

const link: LinkResult = { ethertype: 0 };

/** Decodes `pv` into `d`; returns d.outcome (Outcome.OK when a flow key is known). */
export function decodePacket(pv: PacketView, d: Decoded): number {
  const dv = pv.dv;
  const off = pv.off;
  let end = off + pv.caplen;
  d.outcome = Outcome.OK;
  d.truncated = 0;
  d.ipVersion = 0;
  d.proto = 0;
  d.linkPadding = 0;
  d.tunnelDepth = 0;
  d.encapCount = 0;
  d.encapError = 0;
  d.vlanCount = 0;
  d.vlanId = -1;
  let p: number;
  switch (pv.linkType) {
    case LinkType.ETHERNET:
      p = decodeEthernet(dv, off, end, d, link);
      break;
    case LinkType.RAW:
    case LinkType.RAW_BSD12:
    case LinkType.RAW_BSD14:
      p = decodeRaw(dv, off, end, d, link);
      break;
    case LinkType.IPV4:
      link.ethertype = ETHERTYPE_IPV4;
      p = off;
      break;
    case LinkType.IPV6:
      link.ethertype = ETHERTYPE_IPV6;
      p = off;
      break;
    case LinkType.LINUX_SLL:
      p = decodeSll(dv, off, end, d, link);
      break;
    case LinkType.LINUX_SLL2:
      p = decodeSll2(dv, off, end, d, link);
      break;
    case LinkType.NULL:
      p = decodeNull(dv, off, end, d, link, false);
      break;
    case LinkType.LOOP:
      p = decodeNull(dv, off, end, d, link, true);
      break;
    case LinkType.PPP:
    case LinkType.PPP_HDLC:
      p = decodePpp(dv, off, end, d, link);
      break;
    case LinkType.C_HDLC:
      p = decodeCiscoHdlc(dv, off, end, d, link);
      break;
    case LinkType.FDDI:
      p = decodeFddi(dv, off, end, d, link);
      break;
    case LinkType.IPOIB:
      p = decodeIpoib(dv, off, end, d, link);
      break;
    case LinkType.ARCNET_LINUX:
      p = decodeArcnet(dv, off, end, d, link);
      break;
    case LinkType.NFLOG:
      p = decodeNflog(dv, off, end, d, link);
      break;
    default:
      d.outcome = Outcome.UNKNOWN_LINKTYPE;
      return d.outcome;
  }
  if (p < 0) return d.outcome;
  let et = link.ethertype;
  for (;;) {
    if (et !== ETHERTYPE_IPV4 && et !== ETHERTYPE_IPV6) {
      p = decodeWrappers(dv, p, end, et, d, link);
      if (p < 0) return d.outcome;
      et = link.ethertype;
    }
    if (et === ETHERTYPE_IPV4) {
      if (!decodeIPv4(dv, p, end, d)) return d.outcome;
    } else if (!decodeIPv6(dv, p, end, d)) return d.outcome;
    if (d.fragment) {
      // first or later fragment: the transport header is decoded after reassembly
      d.outcome = Outcome.FRAGMENT;
      return d.outcome;
    }
    if (d.l4Cap < d.l4Len) d.truncated = 1;
    const proto = d.proto;
    if (proto === IPPROTO_TCP) {
      decodeTcp(dv, d.l4Off, d.l4Len, d.l4Cap, d);
      return d.outcome;
    }
    if (proto === IPPROTO_UDP) {
      if (d.l4Cap < 8) {
        d.outcome = d.l4Len < 8 ? Outcome.BAD_L4 : Outcome.TRUNCATED_L4;
        return d.outcome;
      }
      const sport = dv.getUint16(d.l4Off);
      const dport = dv.getUint16(d.l4Off + 2);
      d.sport = sport;
      d.dport = dport;
      d.payloadOff = d.l4Off + 8;
      d.payloadLen = d.l4Len - 8;
      d.payloadCap = d.l4Cap - 8;
      d.flags = 0;
      let kind = udpTunnelPort(dport);
      if (kind === 0) kind = udpTunnelPort(sport);
      if (kind === 0) {
        // Teredo through a relay's port: recognised by its content
        if (!looksLikeTeredo(dv, d.payloadOff, d.l4Off + d.l4Cap, d.payloadLen)) return d.outcome;
        kind = Encap.TEREDO;
      }
      if (d.tunnelDepth >= MAX_TUNNELS) {
        d.encapError = EncapError.TOO_DEEP;
        d.encapErrorKind = kind;
        return d.outcome;
      }
      end = d.l4Off + d.l4Cap;
      const inner = decodeUdpTunnel(dv, kind, end, d, link);
      // not tunnelled data, or a header that cannot be decoded: a plain UDP packet
      if (inner < 0) return d.outcome;
      p = inner;
      et = link.ethertype;
      continue;
    }
    if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      decodeIcmp(dv, d.l4Off, d.l4Cap, d, proto === IPPROTO_ICMPV6);
      d.payloadLen = d.l4Len > 8 ? d.l4Len - 8 : 0;
      d.payloadCap = d.l4Cap > 8 ? d.l4Cap - 8 : 0;
      d.flags = 0;
      return d.outcome;
    }
    if (!isTunnelProto(proto)) {
      d.outcome = Outcome.OTHER_PROTO;
      return d.outcome;
    }
    if (d.tunnelDepth >= MAX_TUNNELS) {
      d.encapError = EncapError.TOO_DEEP;
      d.encapErrorKind = 0;
      d.outcome = Outcome.BAD_ENCAP;
      return d.outcome;
    }
    // the inner packet ends where the outer IP payload ends (no link padding)
    end = d.l4Off + d.l4Cap;
    p = decodeIpTunnel(dv, end, d, link);
    if (p < 0) return d.outcome;
    et = link.ethertype;
  }
}
