/**
 * What can sit between a link header and an IP header, walked by ethertype
 * (the packet analysers Zeek registers under its Ethernet analyser, plus the
 * ones tshark decodes by default): 802.1Q / 802.1ad / QinQ tags, MPLS label
 * stacks (RFC 3032; the payload under the bottom label is guessed as Zeek and
 * tshark guess it: IPv4 or IPv6 by the version nibble, else an Ethernet
 * pseudowire with or without the RFC 4385 control word), PPPoE sessions (RFC
 * 2516), PPP, 802.1ah PBB (MAC-in-MAC), VN-Tag, NSH (RFC 8300), Cisco
 * MetaData, 802.2 LLC / SNAP, and Ethernet frames carried inside
 * (transparent bridging). Returns
 * the offset of the IP header with `r.ethertype` set to IPv4 or IPv6, or -1
 * with `d.outcome` set.
 */
import type { Decoded } from './decoded.js';
import { Outcome, Encap } from './decoded.js';
import { pushEncap } from './encap-chain.js';
import { decodeEthernet, decodePpp, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_PPP, ETHERTYPE_TEB, NEXT_IP, NEXT_LLC, type LinkResult } from './link.js';

const VLAN_8021Q = 0x8100, VLAN_8021AD = 0x88a8, VLAN_9100 = 0x9100;
const MPLS_UC = 0x8847, MPLS_MC = 0x8848;
const PPPOE_SESSION = 0x8864;
const PBB = 0x88e7;
const VNTAG = 0x8926;
const NSH = 0x894f;
const ARP = 0x0806;
const CISCO_METADATA = 0x8909;

/** Headers walked per packet at most (a guard against crafted loops of tags). */
const MAX_STEPS = 64;

/** An ethertype that an Ethernet pseudowire's inner frame plausibly carries. */
function plausibleEthertype(et: number): boolean {
  return et === ETHERTYPE_IPV4 || et === ETHERTYPE_IPV6 || et === ARP || et === VLAN_8021Q || et === VLAN_8021AD || et === MPLS_UC;
}

export function decodeWrappers(dv: DataView, p: number, end: number, et: number, d: Decoded, r: LinkResult): number {
  for (let step = 0; step < MAX_STEPS; step++) {
    switch (et) {
      case ETHERTYPE_IPV4:
      case ETHERTYPE_IPV6:
        r.ethertype = et;
        return p;
      case NEXT_IP: {
        if (end - p < 1) {
          d.outcome = Outcome.TRUNCATED_LINK;
          return -1;
        }
        const v = dv.getUint8(p) >> 4;
        if (v !== 4 && v !== 6) {
          d.outcome = Outcome.NOT_IP;
          return -1;
        }
        r.ethertype = v === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
        return p;
      }
      case VLAN_8021Q:
      case VLAN_8021AD:
      case VLAN_9100:
        if (end - p < 4) {
          d.outcome = Outcome.TRUNCATED_LINK;
          return -1;
        }
        if (d.vlanCount === 0) d.vlanId = dv.getUint16(p) & 0x0fff;
        d.vlanCount++;
        et = dv.getUint16(p + 2);
        p += 4;
        if (et < 1536) et = et > 1500 ? 0 : NEXT_LLC;
        break;
      case MPLS_UC:
      case MPLS_MC: {
        let bottom = false;
        while (!bottom) {
          if (end - p < 4) {
            d.outcome = Outcome.TRUNCATED_LINK;
            return -1;
          }
          const w = dv.getUint32(p);
          pushEncap(d, Encap.MPLS, w >>> 12);
          bottom = (w & 0x100) !== 0;
          p += 4;
        }
        if (end - p < 1) {
          d.outcome = Outcome.TRUNCATED_LINK;
          return -1;
        }
        const v = dv.getUint8(p) >> 4;
        if (v === 4 || v === 6) et = NEXT_IP;
        else if (v === 0 && end - p >= 18 && plausibleEthertype(dv.getUint16(p + 16))) {
          p += 4; // RFC 4385 control word, then an Ethernet pseudowire
          et = ETHERTYPE_TEB;
        } else if (end - p >= 14 && plausibleEthertype(dv.getUint16(p + 12))) et = ETHERTYPE_TEB;
        else {
          d.outcome = Outcome.NOT_IP;
          return -1;
        }
        break;
      }
      case ETHERTYPE_TEB:
        p = decodeEthernet(dv, p, end, d, r);
        if (p < 0) return -1;
        et = r.ethertype;
        break;
      case PPPOE_SESSION:
        if (end - p < 8) {
          d.outcome = Outcome.TRUNCATED_LINK;
          return -1;
        }
        pushEncap(d, Encap.PPPOE, dv.getUint16(p + 2));
        p += 6;
        et = ETHERTYPE_PPP;
        break;
      case ETHERTYPE_PPP:
        p = decodePpp(dv, p, end, d, r);
        if (p < 0) return -1;
        et = r.ethertype;
        break;
      case PBB:
        // I-TAG (flags and the 24-bit I-SID), then the customer's Ethernet frame
        if (end - p < 18) {
          d.outcome = Outcome.TRUNCATED_LINK;
          return -1;
        }
        pushEncap(d, Encap.PBB, dv.getUint32(p) & 0xffffff);
        p += 4;
        et = ETHERTYPE_TEB;
        break;
      case VNTAG:
        if (end - p < 6) {
          d.outcome = Outcome.TRUNCATED_LINK;
          return -1;
        }
        pushEncap(d, Encap.VNTAG, -1);
        et = dv.getUint16(p + 4);
        p += 6;
        break;
      case NSH: {
        if (end - p < 8) {
          d.outcome = Outcome.TRUNCATED_LINK;
          return -1;
        }
        const words = dv.getUint8(p + 1) & 0x3f;
        const next = dv.getUint8(p + 3);
        pushEncap(d, Encap.NSH, dv.getUint32(p + 4) >>> 8);
        if (words < 2 || end - p < 4 * words) {
          d.outcome = words < 2 ? Outcome.NOT_IP : Outcome.TRUNCATED_LINK;
          return -1;
        }
        p += 4 * words;
        et = nshNext(next);
        break;
      }
      case CISCO_METADATA:
        // Cisco MetaData (TrustSec SGT tag): version, length, option, SGT, then the ethertype
        if (end - p < 8) {
          d.outcome = Outcome.TRUNCATED_LINK;
          return -1;
        }
        et = dv.getUint16(p + 6);
        p += 8;
        break;
      case NEXT_LLC: {
        // IEEE 802.2: DSAP, SSAP, control (2 bytes for I and S frames); SNAP (AA AA 03) carries an ethertype
        if (end - p < 3) {
          d.outcome = Outcome.TRUNCATED_LINK;
          return -1;
        }
        const dsap = dv.getUint8(p), ssap = dv.getUint8(p + 1), ctl = dv.getUint8(p + 2);
        if (dsap === 0xaa && ssap === 0xaa && ctl === 0x03) {
          if (end - p < 8) {
            d.outcome = Outcome.TRUNCATED_LINK;
            return -1;
          }
          et = dv.getUint16(p + 6);
          p += 8;
        } else if (dsap === 0x06 && ssap === 0x06) {
          et = ETHERTYPE_IPV4; // RFC 948's SAP for IP
          p += (ctl & 3) === 3 ? 3 : 4;
        } else {
          d.outcome = Outcome.NOT_IP;
          return -1;
        }
        break;
      }
      default:
        d.outcome = Outcome.NOT_IP;
        return -1;
    }
  }
  d.outcome = Outcome.NOT_IP;
  return -1;
}

/** NSH and VXLAN-GPE next-protocol values (RFC 8300 §11.2.5, IANA) as ethertypes; 0 for unknown. */
export function nshNext(next: number): number {
  switch (next) {
    case 1:
      return ETHERTYPE_IPV4;
    case 2:
      return ETHERTYPE_IPV6;
    case 3:
      return ETHERTYPE_TEB;
    case 4:
      return NSH;
    case 5:
      return MPLS_UC;
    default:
      return 0;
  }
}

