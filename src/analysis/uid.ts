/**
 * Stable connection uids in Zeek's shape ("C" + 17 base62 digits), derived
 * from the flow's Community ID, first timestamp and flow number with a
 * non-cryptographic 64-bit mix (two 32-bit FNV-1a/murmur lanes), so two runs
 * over the same capture give the same uids and different flows do not
 * collide in practice.
 */

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const B62_CODES = Array.from(B62, (ch) => ch.charCodeAt(0));
/** Character codes of the uid being built (reused: no array per uid). */
const digitCodes = new Array<number>(17).fill(0);

/** Writes `count` base-62 digits of w (an integer below 2^38), lowest first, to digitCodes from `k`; returns the next index. */
function base62(w: number, count: number, k: number): number {
  for (let i = 0; i < count; i++) {
    // the quotient's floor is exact below 2^38, and w - 62q avoids a
    // floating-point remainder (a library call)
    const q = Math.floor(w / 62);
    digitCodes[k++] = B62_CODES[w - q * 62]!;
    w = q;
  }
  return k;
}

export function stableUid(communityId: string, sec: number, nsec: number, serial: number): string {
  let h1 = 0x811c9dc5, h2 = 0x9747b28c;
  for (let i = 0; i < communityId.length; i++) {
    const ch = communityId.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 0x01000193);
    h2 = Math.imul(h2 ^ ch, 0x5bd1e995);
  }
  for (let i = 0; i < 4; i++) {
    const v = i === 0 ? sec >>> 0 : i === 1 ? Math.floor(sec / 4294967296) : i === 2 ? nsec : serial;
    h1 = Math.imul(h1 ^ v, 0x01000193);
    h2 = Math.imul(h2 ^ (v >>> 0), 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  const w0 = fmix(h1), w1 = fmix(h2 ^ h1), w2 = fmix(h1 + 0x9e3779b9 + h2);
  // three 38-bit numbers (exact in a double) give 6 + 6 + 5 digits
  let k = base62(w0 * 64 + (w1 >>> 26), 6, 0);
  k = base62(w1 * 64 + (w2 >>> 26), 6, k);
  base62(w2 * 64 + (w0 >>> 26), 5, k);
  return 'C' + String.fromCharCode.apply(null, digitCodes);
}
