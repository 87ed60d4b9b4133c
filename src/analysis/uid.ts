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

/** One step of both lanes over a 32-bit value (the second lane also folds its high bits down). */
function lanes(h: Int32Array, v: number): void {
  h[0] = Math.imul(h[0]! ^ v, 0x01000193);
  const b = Math.imul(h[1]! ^ (v >>> 0), 0x5bd1e995);
  h[1] = b ^ (b >>> 15);
}

const lane = new Int32Array(2);
const words = new Float64Array(3);
const B62_CODES = Array.from(B62, (ch) => ch.charCodeAt(0));
const digitCodes = new Array<number>(17).fill(0);

export function stableUid(communityId: string, sec: number, nsec: number, serial: number): string {
  let h1 = 0x811c9dc5, h2 = 0x9747b28c;
  for (let i = 0; i < communityId.length; i++) {
    const ch = communityId.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 0x01000193);
    h2 = Math.imul(h2 ^ ch, 0x5bd1e995);
  }
  lane[0] = h1;
  lane[1] = h2;
  lanes(lane, sec >>> 0);
  lanes(lane, Math.floor(sec / 4294967296));
  lanes(lane, nsec);
  lanes(lane, serial);
  h1 = lane[0]!;
  h2 = lane[1]!;
  words[0] = fmix(h1);
  words[1] = fmix(h2 ^ h1);
  words[2] = fmix(h1 + 0x9e3779b9 + h2);
  let k = 0;
  for (let g = 0; g < 3; g++) {
    let w = words[g]! * 64 + (words[(g + 1) % 3]! >>> 26); // 38 bits, exact in a double
    const digits = g < 2 ? 6 : 5;
    for (let i = 0; i < digits; i++) {
      // w is an integer below 2^38: the quotient's floor is exact, and
      // w - 62q avoids a floating-point remainder (a library call)
      const q = Math.floor(w / 62);
      digitCodes[k++] = B62_CODES[w - q * 62]!;
      w = q;
    }
  }
  return 'C' + String.fromCharCode.apply(null, digitCodes);
}
