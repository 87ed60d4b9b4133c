/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) headers. The IP payload length comes from
 * the header (total length − IHL·4, or the IPv6 payload length minus extension
 * headers), which drops Ethernet padding; bytes cut by the snaplen are
 * tracked separately (`l4Cap`). IPv4 total length 0 is taken as "TSO,
 * unknown": the captured length is used instead (as Wireshark does).
 */
import type { Decoded } from './decoded.js';
import { Outcome } from './decoded.js';

export function decodeIPv4(dv: DataView, off: number, capEnd: number, d: Decoded): boolean {
  const cap = capEnd - off;
  if (cap < 20) {
    d.outcome = Outcome.TRUNCATED_IP;
    return false;
  }
  const vihl = dv.getUint8(off);
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >> 4 !== 4 || ihl < 20) {
    d.outcome = Outcome.BAD_IP;
    return false;
  }
  let total = dv.getUint16(off + 2);
  if (total === 0) total = cap; // TSO segment captured before segmentation
  if (total < ihl) {
    d.outcome = Outcome.BAD_IP;
    return false;
  }
  if (cap < ihl) {
    d.outcome = Outcome.TRUNCATED_IP;
    return false;
  }
  d.ipVersion = 4;
  d.ipOff = off;
  d.ipLen = total;
  d.ipId = dv.getUint16(off + 4);
  const ff = dv.getUint16(off + 6);
  d.moreFragments = (ff >> 13) & 1;
  d.fragOffset = (ff & 0x1fff) * 8;
  d.fragment = d.moreFragments | (d.fragOffset > 0 ? 1 : 0);
  d.ttl = dv.getUint8(off + 8);
  d.proto = dv.getUint8(off + 9);
  d.sa0 = dv.getInt32(off + 12);
  d.da0 = dv.getInt32(off + 16);
  d.sa1 = d.sa2 = d.sa3 = 0;
  d.da1 = d.da2 = d.da3 = 0;
  d.l4Off = off + ihl;
  d.l4Len = total - ihl;
  const l4cap = cap - ihl;
  d.l4Cap = l4cap < d.l4Len ? l4cap : d.l4Len;
  d.linkPadding = cap > total ? cap - total : 0;
  return true;
}

const HOPOPTS = 0, ROUTING = 43, FRAGMENT = 44, DSTOPTS = 60, AH = 51, MOBILITY = 135, HIP = 139, SHIM6 = 140;

export function decodeIPv6(dv: DataView, off: number, capEnd: number, d: Decoded): boolean {
  const cap = capEnd - off;
  if (cap < 40) {
    d.outcome = Outcome.TRUNCATED_IP;
    return false;
  }
  if (dv.getUint8(off) >> 4 !== 6) {
    d.outcome = Outcome.BAD_IP;
    return false;
  }
  let plen = dv.getUint16(off + 4);
  if (plen === 0) plen = cap - 40; // jumbogram or TSO: use what was captured
  d.ipVersion = 6;
  d.ipOff = off;
  d.ipLen = 40 + plen;
  d.ipId = 0;
  d.ttl = dv.getUint8(off + 7);
  d.sa0 = dv.getInt32(off + 8);
  d.sa1 = dv.getInt32(off + 12);
  d.sa2 = dv.getInt32(off + 16);
  d.sa3 = dv.getInt32(off + 20);
  d.da0 = dv.getInt32(off + 24);
  d.da1 = dv.getInt32(off + 28);
  d.da2 = dv.getInt32(off + 32);
  d.da3 = dv.getInt32(off + 36);
  d.fragment = 0;
  d.fragOffset = 0;
  d.moreFragments = 0;
  const end = off + 40 + plen;
  const capLimit = capEnd < end ? capEnd : end;
  d.linkPadding = capEnd > end ? capEnd - end : 0;
  let nh = dv.getUint8(off + 6);
  let p = off + 40;
  for (;;) {
    if (nh === HOPOPTS || nh === ROUTING || nh === DSTOPTS || nh === MOBILITY || nh === HIP || nh === SHIM6) {
      if (capLimit - p < 8) {
        d.outcome = p + 8 > end ? Outcome.BAD_IP : Outcome.TRUNCATED_IP;
        return false;
      }
      const next = dv.getUint8(p);
      const hlen = (dv.getUint8(p + 1) + 1) * 8;
      nh = next;
      p += hlen;
    } else if (nh === AH) {
      if (capLimit - p < 8) {
        d.outcome = Outcome.TRUNCATED_IP;
        return false;
      }
      const next = dv.getUint8(p);
      p += (dv.getUint8(p + 1) + 2) * 4;
      nh = next;
    } else if (nh === FRAGMENT) {
      if (capLimit - p < 8) {
        d.outcome = Outcome.TRUNCATED_IP;
        return false;
      }
      const next = dv.getUint8(p);
      const fo = dv.getUint16(p + 2);
      d.fragOffset = fo & 0xfff8;
      d.moreFragments = fo & 1;
      d.ipId = dv.getUint32(p + 4);
      // An atomic fragment (offset 0, M=0) is a whole datagram (RFC 6946).
      d.fragment = d.fragOffset > 0 || d.moreFragments ? 1 : 0;
      nh = next;
      p += 8;
      if (d.fragment) {
        // The fragmentable part starts here; its headers are parsed after reassembly.
        d.fragHdrEnd = p;
        break;
      }
    } else break;
    if (p > end) {
      d.outcome = Outcome.BAD_IP;
      return false;
    }
  }
  d.proto = nh;
  d.l4Off = p;
  d.l4Len = end - p;
  const l4cap = capLimit - p;
  d.l4Cap = l4cap < 0 ? 0 : l4cap;
  return true;
}
