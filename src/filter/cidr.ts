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

/** Dotted IPv4 text from `from` to the end into a u32; -1 when invalid (as parseAddr: 1-3 digits per byte). */
function dotted(text: string, from: number): number {
  let v = 0, part = 0, digits = 0, dots = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? (v * 256 + part) >>> 0 : -1;
}

const groups: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** RFC 4291 text (as parseAddr accepts it) into `out`; false when invalid. */
function parseV6(t: string, out: AddrWords): boolean {
  const L = t.length;
  let n = 0, gap = -1, i = 0;
  if (L < 2) return false;
  if (t.charCodeAt(0) === 58) {
    if (t.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < L) {
    let v = 0, d = 0, j = i;
    for (; j < L; j++) {
      const c = t.charCodeAt(j);
      const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (h < 0) break;
      v = v * 16 + h;
      d++;
    }
    if (j < L && t.charCodeAt(j) === 46) {
      // trailing dotted IPv4: the last two groups
      const a = dotted(t, i);
      if (a < 0 || n > 6) return false;
      groups[n++] = a >>> 16;
      groups[n++] = a & 0xffff;
      break;
    }
    if (d === 0 || d > 4 || n === 8) return false;
    groups[n++] = v;
    if (j === L) break;
    if (t.charCodeAt(j) !== 58) return false;
    if (j + 1 < L && t.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === L) return false;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const fill = 8 - n;
  const g = (k: number): number => (gap < 0 || k < gap ? groups[k]! : k < gap + fill ? 0 : groups[k - fill]!);
  out.version = 6;
  for (let k = 0; k < 4; k++) out.w[k] = ((g(2 * k) << 16) | g(2 * k + 1)) >>> 0;
  return true;
}

/**
 * Parses address text into `out` (version 0 when the text is not an address),
 * accepting exactly what parseAddr accepts, without regular expressions.
 */
export function parseAddrFast(text: string, out: AddrWords): AddrWords {
  const a = dotted(text, 0);
  if (a >= 0) {
    out.version = 4;
    out.w[0] = a;
    out.w[1] = out.w[2] = out.w[3] = 0;
    return out;
  }
  if (!parseV6(text, out)) out.version = 0;
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

  /** Whether parsed address words fall in any of the CIDRs. */
  containsWords(a: AddrWords): boolean {
    if (a.version === 0) return false;
    for (let i = 0; i < this.cidrs.length; i++) if (cidrContains(this.cidrs[i]!, a)) return true;
    return false;
  }

  /** Whether the address text falls in any of the CIDRs. */
  containsText(text: unknown): boolean {
    if (typeof text !== 'string') return false;
    const a = parseAddrFast(text, this.scratch);
    if (a.version === 0) return false;
    for (const c of this.cidrs) if (cidrContains(c, a)) return true;
    return false;
  }
}
