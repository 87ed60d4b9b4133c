/** Exact decimal numbers as scaled integers (timestamps and durations with 9 fraction digits, without a double in between). */

/** Exact decimal text (`-12.345`) as an integer scaled by 10^scale; extra fraction digits are cut. */
export function scaledDecimal(text: string, scale: number): bigint {
  let s = text.trim();
  let neg = false;
  if (s.startsWith('-')) {
    neg = true;
    s = s.slice(1);
  }
  const e = s.search(/[eE]/);
  if (e >= 0) {
    // exponent form (never written by tcpkit): go through the digits exactly
    const exp = Number(s.slice(e + 1));
    const [w = '0', f = ''] = s.slice(0, e).split('.');
    const digits = w + f;
    const point = w.length + exp;
    const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
    const frac = point <= 0 ? '0'.repeat(-point) + digits : digits.slice(point);
    s = `${whole}.${frac}`;
  }
  const dot = s.indexOf('.');
  const whole = dot < 0 ? s : s.slice(0, dot);
  const frac = dot < 0 ? '' : s.slice(dot + 1);
  const v = BigInt(whole === '' ? '0' : whole) * 10n ** BigInt(scale) + BigInt((frac + '0'.repeat(scale)).slice(0, scale) || '0');
  return neg ? -v : v;
}


/** The raw JSON text of a top-level key's number value in a record line (null when absent or not a number). */
export function rawNumber(text: string, key: string): string | null {
  const pat = `"${key}":`;
  let i = text.indexOf(pat);
  // a key follows `{` or `,` (inside a JSON string a quote is always escaped)
  while (i > 0 && text.charCodeAt(i - 1) !== 0x2c && text.charCodeAt(i - 1) !== 0x7b) i = text.indexOf(pat, i + 1);
  if (i < 0) return null;
  let s = i + pat.length;
  while (text.charCodeAt(s) === 0x20) s++;
  let e = s;
  for (;;) {
    const c = text.charCodeAt(e);
    if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x2b || c === 0x65 || c === 0x45) e++;
    else break;
  }
  return e > s ? text.slice(s, e) : null;
}

