/**
 * Stable connection uids in Zeek's shape ("C" + base62), derived from the
 * flow's Community ID, first timestamp and flow number, so two runs over the
 * same capture give the same uids and different flows do not collide.
 */
import { createHash } from 'node:crypto';

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function stableUid(communityId: string, sec: number, nsec: number, serial: number): string {
  const d = createHash('sha1').update(`${communityId}|${sec}.${nsec}|${serial}`).digest();
  let out = 'C';
  // 17 base62 digits: 3 groups from 32-bit words (6 + 6 + 5 digits, ~101 bits in all)
  const words = [d.readUInt32BE(0), d.readUInt32BE(4), d.readUInt32BE(8), d.readUInt32BE(12)];
  for (let g = 0; g < 3; g++) {
    let w = words[g]! * 256 + d[16 + g]!; // 40 bits, exact in a double
    const digits = g < 2 ? 6 : 5;
    for (let i = 0; i < digits; i++) {
      out += B62[w % 62];
      w = Math.floor(w / 62);
    }
  }
  return out;
}
