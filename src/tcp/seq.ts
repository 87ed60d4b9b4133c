/**
 * Serial-number arithmetic on 32-bit TCP sequence numbers (RFC 1982, RFC 9293
 * §3.4): the signed 32-bit difference decides order, so comparisons stay
 * right across the 0xFFFFFFFF -> 0 wrap as long as the two numbers are less
 * than 2^31 apart. Relative offsets are unwrapped from a base (the ISN) into
 * plain numbers so the rest of the code can use `<` and `+`.
 */

/** b - a as a signed 32-bit number (negative when b is before a). */
export function seqDiff(a: number, b: number): number {
  return (b - a) | 0;
}

/** a < b in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a <= b in sequence space. */
export function seqLte(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** a + n wrapped to 32 bits. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * Unwraps a 32-bit sequence number to a stream offset relative to `base`,
 * given a reference offset `near` already in the stream (typically the
 * highest offset seen). The result is the offset congruent to
 * (seq - base) mod 2^32 closest to `near`, so transfers longer than 4 GiB
 * keep counting up.
 */
export function unwrap(base: number, seq: number, near: number): number {
  const rel = (seq - base) >>> 0; // 0 .. 2^32-1
  const cycle = Math.floor(near / 4294967296);
  let cand = cycle * 4294967296 + rel;
  const d = cand - near;
  if (d > 2147483648) cand -= 4294967296;
  else if (d < -2147483648) cand += 4294967296;
  return cand;
}
