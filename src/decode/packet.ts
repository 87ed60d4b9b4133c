/**
 * decodePacket: link -> IP -> TCP / UDP / ICMP into one reused `Decoded`.
 * No allocation: every layer writes numeric fields.
 */
import type { PacketView } from '../capture/packet.js';
import { LinkType } from '../capture/packet.js';
import { Decoded, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, Outcome } from './decoded.js';
import { decodeEthernet, decodeNull, decodeRaw, decodeSll, decodeSll2, ETHERTYPE_IPV4, ETHERTYPE_IPV6, type LinkResult } from './link.js';
import { decodeIPv4, decodeIPv6 } from './ip.js';
import { decodeTcp } from './tcp.js';
import { decodeIcmp } from './icmp.js';

const link: LinkResult = { ethertype: 0 };

/** Decodes `pv` into `d`; returns d.outcome (Outcome.OK when a flow key is known). */
export function decodePacket(pv: PacketView, d: Decoded): number {
  const dv = pv.dv;
  const off = pv.off;
  const end = off + pv.caplen;
  d.outcome = Outcome.OK;
  d.truncated = 0;
  d.ipVersion = 0;
  d.proto = 0;
  d.linkPadding = 0;
  d.tunnelDepth = 0;
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
    default:
      d.outcome = Outcome.UNKNOWN_LINKTYPE;
      return d.outcome;
  }
  if (p < 0) return d.outcome;
  const et = link.ethertype;
  if (et === ETHERTYPE_IPV4) {
    if (!decodeIPv4(dv, p, end, d)) return d.outcome;
  } else if (et === ETHERTYPE_IPV6) {
    if (!decodeIPv6(dv, p, end, d)) return d.outcome;
  } else {
    d.outcome = Outcome.NOT_IP;
    return d.outcome;
  }
  // IP-in-IP tunnels (6in4 = protocol 41, IPIP = 4): analyse the inner datagram.
  for (let depth = 0; (d.proto === 41 || d.proto === 4) && !d.fragment && depth < 4; depth++) {
    d.tunnelDepth = depth + 1;
    const inner = d.l4Off;
    const innerEnd = inner + d.l4Cap;
    if (d.proto === 41 ? !decodeIPv6(dv, inner, innerEnd, d) : !decodeIPv4(dv, inner, innerEnd, d)) return d.outcome;
  }
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
    d.sport = dv.getUint16(d.l4Off);
    d.dport = dv.getUint16(d.l4Off + 2);
    d.payloadOff = d.l4Off + 8;
    d.payloadLen = d.l4Len - 8;
    d.payloadCap = d.l4Cap - 8;
    d.flags = 0;
    return d.outcome;
  }
  if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
    decodeIcmp(dv, d.l4Off, d.l4Cap, d, proto === IPPROTO_ICMPV6);
    d.payloadLen = d.l4Len > 8 ? d.l4Len - 8 : 0;
    d.payloadCap = d.l4Cap > 8 ? d.l4Cap - 8 : 0;
    d.flags = 0;
    return d.outcome;
  }
  d.outcome = Outcome.OTHER_PROTO;
  return d.outcome;
}
