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

export function stableUid(communityId: string, sec: number, nsec: number, serial: number): string {
  let h1 = 0x811c9dc5, h2 = 0x9747b28c;
  for (let i = 0; i < communityId.length; i++) {
    const ch = communityId.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 0x01000193);
    h2 = Math.imul(h2 ^ ch, 0x5bd1e995);
  }
  const extra = [sec >>> 0, Math.floor(sec / 4294967296), nsec, serial];
  for (const v of extra) {
    h1 = Math.imul(h1 ^ v, 0x01000193);
    h2 = Math.imul(h2 ^ (v >>> 0), 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  const words = [fmix(h1), fmix(h2 ^ h1), fmix(h1 + 0x9e3779b9 + h2)];
  let out = 'C';
  for (let g = 0; g < 3; g++) {
    let w = words[g]! * 64 + (words[(g + 1) % 3]! >>> 26); // 38 bits, exact in a double
    const digits = g < 2 ? 6 : 5;
    for (let i = 0; i < digits; i++) {
      out += B62[w % 62];
      w = Math.floor(w / 62);
    }
  }
  return out;
}
