/**
 * Address text. IPv4 from a host-order u32; IPv6 from four big-endian u32
 * words in RFC 5952 form (lowercase, longest run of two or more zero groups
 * as "::", first run on ties; IPv4-mapped addresses as ::ffff:a.b.c.d).
 */

/** Decimal text of 0..255 (no number-to-string conversion per octet). */
const OCTET: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

export function formatIPv4(a: number): string {
  return OCTET[a >>> 24]! + '.' + OCTET[(a >>> 16) & 255]! + '.' + OCTET[(a >>> 8) & 255]! + '.' + OCTET[a & 255]!;
}

/** Hex text of 0..255 without leading zeros, and with two digits (for the low byte of a group). */
const HEX1: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Group i (0..7) of an address held as four words. */
function group(w0: number, w1: number, w2: number, w3: number, i: number): number {
  const w = i < 4 ? (i < 2 ? w0 : w1) : i < 6 ? w2 : w3;
  return i & 1 ? w & 0xffff : w >>> 16;
}

/** Hex text of one 16-bit group (lowercase, no leading zeros). */
function groupHex(x: number): string {
  return x < 256 ? HEX1[x]! : HEX1[x >>> 8]! + HEX2[x & 255]!;
}

export function formatIPv6(w0: number, w1: number, w2: number, w3: number): string {
  if (w0 === 0 && w1 === 0 && w2 >>> 0 === 0xffff) return `::ffff:${formatIPv4(w3)}`;
  // longest run of zero groups (two or more; the first on ties)
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (group(w0, w1, w2, w3, i) !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && group(w0, w1, w2, w3, j) === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) s += ':';
    s += groupHex(group(w0, w1, w2, w3, i));
  }
  return s;
}

export function formatAddr(version: number, w0: number, w1: number, w2: number, w3: number): string {
  return version === 6 ? formatIPv6(w0, w1, w2, w3) : formatIPv4(w0);
}

/** Writes the address's network-order bytes into `out` at `off`; returns bytes written. */
export function addrBytes(version: number, w0: number, w1: number, w2: number, w3: number, out: Buffer, off: number): number {
  out.writeUInt32BE(w0 >>> 0, off);
  if (version !== 6) return 4;
  out.writeUInt32BE(w1 >>> 0, off + 4);
  out.writeUInt32BE(w2 >>> 0, off + 8);
  out.writeUInt32BE(w3 >>> 0, off + 12);
  return 16;
}

/** Parses dotted IPv4 or RFC 4291 IPv6 text into four words; null when invalid. */
export function parseAddr(text: string): { version: 4 | 6; w: [number, number, number, number] } | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.some((x) => x > 255)) return null;
    return { version: 4, w: [((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0, 0, 0, 0] };
  }
  if (!text.includes(':')) return null;
  let s = text;
  let tailV4: number[] | null = null;
  const m = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m) {
    tailV4 = m.slice(2).map(Number);
    if (tailV4.some((x) => x > 255)) return null;
    s = m[1]! + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (p: string): number[] | null => (p === '' ? [] : p.split(':').map((h) => (/^[0-9a-fA-F]{1,4}$/.test(h) ? parseInt(h, 16) : NaN)));
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if (!left || !right || left.some(Number.isNaN) || right.some(Number.isNaN)) return null;
  const fill = 8 - left.length - right.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  const g = [...left, ...new Array<number>(fill).fill(0), ...right];
  if (tailV4) {
    g[6] = (tailV4[0]! << 8) | tailV4[1]!;
    g[7] = (tailV4[2]! << 8) | tailV4[3]!;
  }
  const w: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) w[i] = ((g[2 * i]! << 16) | g[2 * i + 1]!) >>> 0;
  return { version: 6, w };
}
