/**
 * TCP header (RFC 9293 §3.1) and options: MSS (2), window scale (3, RFC 7323),
 * SACK-permitted (4) and SACK blocks (5, RFC 2018), timestamps (8, RFC 7323),
 * TCP Fast Open (34, RFC 7413). Options are read only as far as captured.
 */
import type { Decoded } from './decoded.js';
import { Outcome } from './decoded.js';

/** Decodes the TCP header at `off`; `len` = bytes per IP, `cap` = bytes captured. */
export function decodeTcp(dv: DataView, off: number, len: number, cap: number, d: Decoded): boolean {
  if (cap < 20) {
    d.outcome = len < 20 ? Outcome.BAD_L4 : Outcome.TRUNCATED_L4;
    return false;
  }
  d.sport = dv.getUint16(off);
  d.dport = dv.getUint16(off + 2);
  d.seq = dv.getUint32(off + 4);
  d.ack = dv.getUint32(off + 8);
  const hl = (dv.getUint8(off + 12) >> 4) * 4;
  d.flags = dv.getUint8(off + 13);
  d.window = dv.getUint16(off + 14);
  d.mss = -1;
  d.wscale = -1;
  d.sackPermitted = 0;
  d.hasTimestamps = 0;
  d.sackCount = 0;
  d.tfoCookieLen = -1;
  d.badOption = 0;
  if (hl < 20 || hl > len) {
    d.outcome = Outcome.BAD_L4;
    return false;
  }
  d.tcpHdrLen = hl;
  d.payloadOff = off + hl;
  d.payloadLen = len - hl;
  const capPayload = cap - hl;
  d.payloadCap = capPayload < 0 ? 0 : capPayload;
  if (capPayload < d.payloadLen) d.truncated = 1;
  const optEnd = off + (hl <= cap ? hl : cap);
  let o = off + 20;
  while (o < optEnd) {
    const kind = dv.getUint8(o);
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    if (o + 1 >= optEnd) {
      if (hl > cap) d.truncated = 1;
      else d.badOption = 1;
      break;
    }
    const olen = dv.getUint8(o + 1);
    if (olen < 2) {
      d.badOption = 1;
      break;
    }
    if (o + olen > optEnd) {
      if (hl > cap) d.truncated = 1;
      else d.badOption = 1;
      break;
    }
    switch (kind) {
      case 2:
        if (olen === 4) d.mss = dv.getUint16(o + 2);
        else d.badOption = 1;
        break;
      case 3:
        if (olen === 3) d.wscale = dv.getUint8(o + 2);
        else d.badOption = 1;
        break;
      case 4:
        if (olen === 2) d.sackPermitted = 1;
        else d.badOption = 1;
        break;
      case 5: {
        const n = (olen - 2) >> 3;
        if ((olen - 2) % 8 !== 0) d.badOption = 1;
        const s = d.sack;
        let k = 0;
        for (; k < n && k < 4; k++) {
          s[2 * k] = dv.getUint32(o + 2 + 8 * k);
          s[2 * k + 1] = dv.getUint32(o + 6 + 8 * k);
        }
        d.sackCount = k;
        break;
      }
      case 8:
        if (olen === 10) {
          d.hasTimestamps = 1;
          d.tsVal = dv.getUint32(o + 2);
          d.tsEcr = dv.getUint32(o + 6);
        } else d.badOption = 1;
        break;
      case 34:
        d.tfoCookieLen = olen - 2;
        break;
      default:
        break;
    }
    o += olen;
  }
  return true;
}
