/**
 * Community ID v1 (corelight/community-id-spec): base64 of
 * SHA1(seed . saddr . daddr . proto . 0 . sport . dport) with the smaller
 * address:port first, prefixed "1:". ICMP maps type/code to ports with the
 * request/reply counterpart table; one-way ICMP types are not reordered.
 */
import { hash } from 'node:crypto';
import { addrBytes } from '../util/ip.js';

const scratch = Buffer.alloc(2 + 16 + 16 + 2 + 4);

function compare(version: number, a: readonly number[], b: readonly number[]): number {
  const n = version === 6 ? 4 : 1;
  for (let i = 0; i < n; i++) {
    const x = a[i]! >>> 0, y = b[i]! >>> 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function communityId(
  version: number,
  proto: number,
  src: readonly number[],
  sport: number,
  dst: readonly number[],
  dport: number,
  oneWay = false,
  seed = 0,
): string {
  let s = src, d = dst, sp = sport, dp = dport;
  if (!oneWay) {
    const c = compare(version, s, d);
    if (c > 0 || (c === 0 && sp > dp)) {
      s = dst; d = src; sp = dport; dp = sport;
    }
  }
  let o = 0;
  scratch.writeUInt16BE(seed & 0xffff, o); o += 2;
  o += addrBytes(version, s[0]!, s[1]!, s[2]!, s[3]!, scratch, o);
  o += addrBytes(version, d[0]!, d[1]!, d[2]!, d[3]!, scratch, o);
  scratch[o++] = proto;
  scratch[o++] = 0;
  scratch.writeUInt16BE(sp, o); o += 2;
  scratch.writeUInt16BE(dp, o); o += 2;
  return '1:' + hash('sha1', scratch.subarray(0, o), 'base64');
}
