/**
 * CIDR prefixes compiled to numeric masks, and a fast parser for the address
 * text that records carry. Words are compared as unsigned 32-bit values
 * (`>>> 0`), so signed and unsigned word representations match alike.
 */
import { parseAddr } from '../util/ip.js';

export interface Cidr {
  version: 4 | 6;
  prefix: number;
  /** Network words, already masked (unsigned). */
  net: [number, number, number, number];
  mask: [number, number, number, number];
}

/** Masks of a prefix length over four words (IPv4 uses word 0 only). */
function masks(prefix: number): [number, number, number, number] {
  const m: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, prefix - 32 * i));
    m[i] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  }
  return m;
}

/** A CIDR from parsed words and a prefix (the caller checks the prefix range). */
export function makeCidr(version: 4 | 6, w: readonly number[], prefix: number): Cidr {
  const mask = masks(prefix);
  const net: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) net[i] = ((w[i]! & mask[i]!) >>> 0);
  return { version, prefix, net, mask };
}

/** Parses `addr` or `addr/prefix` (IPv4 or IPv6); null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const a = parseAddr(addrText);
  if (!a) return null;
  const max = a.version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  return makeCidr(a.version, a.w, prefix);
}

/** Reusable scratch result of parseAddrFast. */
export interface AddrWords {
  version: 0 | 4 | 6;
  w: [number, number, number, number];
}

/**
 * Parses address text into `out` (version 0 when the text is not an address).
 * Dotted IPv4 takes a hand-written fast path; IPv6 goes through parseAddr.
 */
export function parseAddrFast(text: string, out: AddrWords): AddrWords {
  let v = 0, part = 0, digits = 0, dots = 0, ok = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) {
        ok = false;
        break;
      }
    } else if (c === 46 && digits > 0 && dots < 3) {
      v = (v * 256 + part) >>> 0;
      part = 0;
      digits = 0;
      dots++;
    } else {
      ok = false;
      break;
    }
  }
  if (ok && dots === 3 && digits > 0) {
    out.version = 4;
    out.w[0] = (v * 256 + part) >>> 0;
    out.w[1] = out.w[2] = out.w[3] = 0;
    return out;
  }
  const a = text.includes(':') ? parseAddr(text) : null;
  if (!a) {
    out.version = 0;
    return out;
  }
  out.version = a.version;
  for (let i = 0; i < 4; i++) out.w[i] = a.w[i]! >>> 0;
  return out;
}

/** Whether parsed address words fall in the CIDR. */
export function cidrContains(c: Cidr, a: AddrWords): boolean {
  if (a.version !== c.version) return false;
  const w = a.w, m = c.mask, n = c.net;
  return ((w[0] & m[0]) >>> 0) === n[0] && ((w[1] & m[1]) >>> 0) === n[1] && ((w[2] & m[2]) >>> 0) === n[2] && ((w[3] & m[3]) >>> 0) === n[3];
}

/** A list of CIDRs (e.g. the local networks of `--local`). */
export class CidrSet {
  readonly cidrs: readonly Cidr[];
  private readonly scratch: AddrWords = { version: 0, w: [0, 0, 0, 0] };

  constructor(cidrs: readonly Cidr[]) {
    this.cidrs = cidrs;
  }

  /** Whether the address text falls in any of the CIDRs. */
  containsText(text: string | number | boolean | null | undefined): boolean {
    if (typeof text !== 'string') return false;
    const a = parseAddrFast(text, this.scratch);
    if (a.version === 0) return false;
    for (const c of this.cidrs) if (cidrContains(c, a)) return true;
    return false;
  }
}
