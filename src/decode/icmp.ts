/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443): type, code, echo identifier, and for
 * error messages the quoted original datagram (its addresses, protocol,
 * ports and TCP sequence number), which the analysis links to the
 * connection it names.
 */
import type { Decoded } from './decoded.js';
import { Outcome } from './decoded.js';

/** ICMPv4 types that quote the offending datagram. */
function isIcmp4Error(t: number): boolean {
  return t === 3 || t === 4 || t === 5 || t === 11 || t === 12;
}
function isIcmp6Error(t: number): boolean {
  return t >= 1 && t <= 4;
}

export function decodeIcmp(dv: DataView, off: number, cap: number, d: Decoded, v6: boolean): boolean {
  d.innerVersion = 0;
  if (cap < 4) {
    d.outcome = Outcome.TRUNCATED_L4;
    return false;
  }
  const t = dv.getUint8(off);
  d.icmpType = t;
  d.icmpCode = dv.getUint8(off + 1);
  d.icmpId = cap >= 6 ? dv.getUint16(off + 4) : 0;
  if (v6 ? isIcmp6Error(t) : isIcmp4Error(t)) decodeQuoted(dv, off + 8, off + cap, d);
  return true;
}

function decodeQuoted(dv: DataView, p: number, end: number, d: Decoded): void {
  if (end - p < 1) return;
  const v = dv.getUint8(p) >> 4;
  let l4 = -1;
  if (v === 4) {
    if (end - p < 20) return;
    const ihl = (dv.getUint8(p) & 15) * 4;
    if (ihl < 20) return;
    d.innerProto = dv.getUint8(p + 9);
    d.isa0 = dv.getInt32(p + 12);
    d.ida0 = dv.getInt32(p + 16);
    d.isa1 = d.isa2 = d.isa3 = d.ida1 = d.ida2 = d.ida3 = 0;
    d.innerVersion = 4;
    if ((dv.getUint16(p + 6) & 0x1fff) === 0) l4 = p + ihl;
  } else if (v === 6) {
    if (end - p < 40) return;
    d.isa0 = dv.getInt32(p + 8);
    d.isa1 = dv.getInt32(p + 12);
    d.isa2 = dv.getInt32(p + 16);
    d.isa3 = dv.getInt32(p + 20);
    d.ida0 = dv.getInt32(p + 24);
    d.ida1 = dv.getInt32(p + 28);
    d.ida2 = dv.getInt32(p + 32);
    d.ida3 = dv.getInt32(p + 36);
    d.innerVersion = 6;
    let nh = dv.getUint8(p + 6);
    let q = p + 40;
    // walk the common extension headers
    while ((nh === 0 || nh === 43 || nh === 60 || nh === 44) && end - q >= 8) {
      const next = dv.getUint8(q);
      if (nh === 44) {
        if ((dv.getUint16(q + 2) & 0xfff8) !== 0) {
          nh = -1;
          break;
        }
        q += 8;
      } else q += (dv.getUint8(q + 1) + 1) * 8;
      nh = next;
    }
    d.innerProto = nh < 0 ? 0 : nh;
    if (nh >= 0) l4 = q;
  } else return;
  d.innerSport = -1;
  d.innerDport = -1;
  d.innerSeq = -1;
  if (l4 >= 0 && end - l4 >= 4) {
    d.innerSport = dv.getUint16(l4);
    d.innerDport = dv.getUint16(l4 + 2);
    if (end - l4 >= 8) d.innerSeq = dv.getUint32(l4 + 4);
  }
}

/** ICMP request/response counterparts (Community ID v1 spec, §ICMP). */
export function icmpCounterpart(type: number, v6: boolean): number {
  if (!v6) {
    switch (type) {
      case 8: return 0;
      case 0: return 8;
      case 13: return 14;
      case 14: return 13;
      case 15: return 16;
      case 16: return 15;
      case 10: return 9;
      case 9: return 10;
      case 17: return 18;
      case 18: return 17;
      default: return -1;
    }
  }
  switch (type) {
    case 128: return 129;
    case 129: return 128;
    case 133: return 134;
    case 134: return 133;
    case 135: return 136;
    case 136: return 135;
    case 130: return 131;
    case 131: return 130;
    case 144: return 145;
    case 145: return 144;
    default: return -1;
  }
}

/** True for types that answer a request (the sender is the responder). */
export function icmpIsReply(type: number, v6: boolean): boolean {
  return v6 ? type === 129 || type === 134 || type === 136 || type === 131 || type === 145 : type === 0 || type === 14 || type === 16 || type === 9 || type === 18;
}
