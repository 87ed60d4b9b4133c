/**
 * Go `time.Time` as tcp-info archives carry it: parsed with Go 1.19's
 * `time.Time.UnmarshalJSON` (layout `"2006-01-02T15:04:05Z07:00"` through the
 * generic parser) and printed with `MarshalText` / RFC3339Nano
 * (`2006-01-02T15:04:05.999999999Z07:00`).
 *
 * A time keeps its wall-clock fields in its own zone plus the zone offset,
 * and nanoseconds as an integer: JS Date (milliseconds) is never used for
 * output. `utc` is Go's "location is UTC" (parsed with a literal `Z`, or made
 * in UTC): only such a time can equal Go's zero `time.Time{}`; a time parsed
 * with `+00:00` prints as `Z` but is not the zero value.
 *
 * Go 1.19 quirks kept on purpose (the goldens come from Go 1.19.8): the hour
 * may have one digit; `,` is accepted as the fraction separator; more than 9
 * fraction digits are truncated; offsets up to +24:60 are accepted; year
 * 0000-9999 only; `T`, `Z` and the offset colon are required.
 */

export class GoTime {
  year = 1;
  month = 1;
  day = 1;
  hour = 0;
  minute = 0;
  second = 0;
  nsec = 0;
  /** Zone offset in seconds east of UTC. */
  offsetSec = 0;
  /** Go's location is UTC (loc == nil). */
  utc = true;

  /** Go's `t == time.Time{}`. */
  isZero(): boolean {
    return (
      this.utc && this.nsec === 0 && this.second === 0 && this.minute === 0 && this.hour === 0 && this.day === 1 && this.month === 1 && this.year === 1
    );
  }

  setZero(): this {
    return this.setUtc(1, 1, 1, 0, 0, 0, 0);
  }

  setUtc(year: number, month: number, day: number, hour: number, minute: number, second: number, nsec: number): this {
    this.year = year;
    this.month = month;
    this.day = day;
    this.hour = hour;
    this.minute = minute;
    this.second = second;
    this.nsec = nsec;
    this.offsetSec = 0;
    this.utc = true;
    return this;
  }

  copyFrom(o: GoTime): this {
    this.year = o.year;
    this.month = o.month;
    this.day = o.day;
    this.hour = o.hour;
    this.minute = o.minute;
    this.second = o.second;
    this.nsec = o.nsec;
    this.offsetSec = o.offsetSec;
    this.utc = o.utc;
    return this;
  }

  clone(): GoTime {
    return new GoTime().copyFrom(this);
  }

  /** Seconds since the Unix epoch (the instant, whatever the zone). */
  unixSeconds(): number {
    return daysFromCivil(this.year, this.month, this.day) * 86400 + this.hour * 3600 + this.minute * 60 + this.second - this.offsetSec;
  }

  /** A time at `sec` (Unix seconds) + `nsec`, shown in the zone `offsetSec` (UTC when 0 and `utc`). */
  static fromUnix(sec: number, nsec = 0, offsetSec = 0, utc = offsetSec === 0): GoTime {
    const t = new GoTime();
    const wall = sec + offsetSec;
    const days = Math.floor(wall / 86400);
    let rest = wall - days * 86400;
    civilFromDays(days, t);
    t.hour = Math.floor(rest / 3600);
    rest -= t.hour * 3600;
    t.minute = Math.floor(rest / 60);
    t.second = rest - t.minute * 60;
    t.nsec = nsec;
    t.offsetSec = offsetSec;
    t.utc = utc;
    return t;
  }

  /** A UTC time from Unix nanoseconds. */
  static fromUnixNanos(ns: bigint): GoTime {
    let sec = ns / 1_000_000_000n;
    let nsec = ns % 1_000_000_000n;
    if (nsec < 0n) {
      nsec += 1_000_000_000n;
      sec -= 1n;
    }
    return GoTime.fromUnix(Number(sec), Number(nsec));
  }

  /** Unix nanoseconds of the instant. */
  unixNanos(): bigint {
    return BigInt(this.unixSeconds()) * 1_000_000_000n + BigInt(this.nsec);
  }

  /** The same instant in UTC. */
  toUtc(): GoTime {
    return GoTime.fromUnix(this.unixSeconds(), this.nsec, 0, true);
  }

  /** Go `Format(time.RFC3339Nano)`. */
  toString(): string {
    return formatRFC3339Nano(this);
  }
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number, out: GoTime): void {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  out.year = yoe + era * 400 + (m <= 2 ? 1 : 0);
  out.month = m;
  out.day = d;
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const DAYS_IN = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysIn(month: number, year: number): number {
  return month === 2 && isLeap(year) ? 29 : DAYS_IN[month]!;
}

const P2 = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);

function pad4(n: number): string {
  return n >= 1000 ? String(n) : n >= 100 ? '0' + n : n >= 10 ? '00' + n : '000' + n;
}

/** Go RFC3339Nano: fraction without trailing zeros, `Z` for a zero offset. */
export function formatRFC3339Nano(t: GoTime): string {
  let s = pad4(t.year) + '-' + P2[t.month] + '-' + P2[t.day] + 'T' + P2[t.hour] + ':' + P2[t.minute] + ':' + P2[t.second];
  if (t.nsec !== 0) {
    let f = String(t.nsec);
    f = '000000000'.slice(f.length) + f;
    let n = 9;
    while (f.charCodeAt(n - 1) === 48) n--;
    s += '.' + f.slice(0, n);
  }
  return s + formatOffset(t.offsetSec);
}

function formatOffset(offsetSec: number): string {
  if (offsetSec === 0) return 'Z';
  let zone = Math.trunc(offsetSec / 60);
  let sign = '+';
  if (zone < 0) {
    sign = '-';
    zone = -zone;
  }
  const h = Math.floor(zone / 60);
  return sign + (h < 100 ? P2[h] : String(h)) + ':' + P2[zone % 60];
}
