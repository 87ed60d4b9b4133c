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
  // 17 base62 digits from the first 13 bytes (~101 bits)
  let acc = 0n;
  for (let i = 0; i < 13; i++) acc = (acc << 8n) | BigInt(d[i]!);
  for (let i = 0; i < 17; i++) {
    out += B62[Number(acc % 62n)];
    acc /= 62n;
  }
  return out;
}
