/**
 * Exact capture timestamps. A time is kept as whole seconds since the epoch
 * (a safe integer) plus nanoseconds (0..999_999_999), never as a float, so
 * nanosecond captures survive untouched. JS `Date` is ms-only and is not used.
 */

export const NS_PER_S = 1_000_000_000;

/** Seconds and nanoseconds as text: `1600000000.123456789` (9 fraction digits). */
export function formatEpoch(sec: number, nsec: number): string {
  // nsec + 10^9 has exactly ten digits: dropping the leading 1 leaves the
  // nine zero-padded fraction digits (one conversion, no padding slice)
  if (nsec >= 0 && nsec < NS_PER_S) return sec + '.' + String(nsec + NS_PER_S).slice(1);
  const frac = String(nsec);
  return `${sec}.${'000000000'.slice(frac.length)}${frac}`;
}

/** A non-negative nanosecond count as seconds text with 9 fraction digits. */
export function formatSecondsFromNs(ns: number): string {
  const neg = ns < 0;
  const a = Math.abs(ns);
  const sec = Math.floor(a / NS_PER_S);
  const rest = a - sec * NS_PER_S;
  return (neg ? '-' : '') + formatEpoch(sec, rest);
}

/**
 * b - a as seconds text with 9 fraction digits, exact for any span (the
 * seconds and nanoseconds are subtracted separately, never through a float).
 */
export function formatSpan(aSec: number, aNsec: number, bSec: number, bNsec: number): string {
  let sec = bSec - aSec;
  let ns = bNsec - aNsec;
  if (sec > 0 && ns < 0) {
    sec -= 1;
    ns += NS_PER_S;
  } else if (sec < 0 && ns > 0) {
    sec += 1;
    ns -= NS_PER_S;
  }
  const neg = sec < 0 || ns < 0;
  return (neg ? '-' : '') + formatEpoch(Math.abs(sec), Math.abs(ns));
}

/** Difference b - a in nanoseconds (exact for spans below ~104 days). */
export function diffNs(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return (bSec - aSec) * NS_PER_S + (bNsec - aNsec);
}

/**
 * RFC 3339 / ISO 8601 UTC with nanoseconds: 2020-09-11T23:00:59.118652000Z,
 * for any whole number of seconds (a capture's timestamps can be anything):
 * the civil date comes from the day count (H. Hinnant's civil_from_days),
 * not from Date, which stops at ±275,760 years; a year outside 0000-9999 is
 * written with a sign and at least six digits, as ISO 8601's expanded form
 * and JavaScript's toISOString write it.
 */
export function formatIso(sec: number, nsec: number): string {
  const days = Math.floor(sec / 86400);
  const sod = sec - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const p2 = (n: number): string => (n < 10 ? '0' : '') + n;
  const year = y >= 0 && y <= 9999 ? String(y).padStart(4, '0') : (y < 0 ? '-' : '+') + String(Math.abs(y)).padStart(6, '0');
  const hh = Math.floor(sod / 3600), mm = Math.floor((sod % 3600) / 60), ss = sod % 60;
  const frac = String(nsec);
  return `${year}-${p2(m)}-${p2(d)}T${p2(hh)}:${p2(mm)}:${p2(ss)}.${'000000000'.slice(frac.length)}${frac}Z`;
}

/** Epoch seconds text ("1600000000.123456789", as formatEpoch writes it) as formatIso's string. */
export function isoFromEpochText(text: string): string {
  const dot = text.indexOf('.');
  const sec = Number(dot < 0 ? text : text.slice(0, dot));
  const nsec = dot < 0 ? 0 : Number((text.slice(dot + 1) + '000000000').slice(0, 9));
  return formatIso(sec, nsec);
}

/**
 * Parses a duration such as `300`, `300s`, `5m`, `1h`, `250ms` into
 * nanoseconds. Returns NaN when the text is not a duration.
 */
export function parseDurationNs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)?$/.exec(text.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  const unit = m[2] ?? 's';
  const mult: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  return Math.round(v * mult[unit]!);
}
