/**
 * Go 1.19 `time.Time.UnmarshalJSON`: `time.Parse("\"2006-01-02T15:04:05Z07:00\"", raw)`
 * through Go's generic layout parser, applied to the raw JSON value bytes
 * (quotes included, escapes NOT decoded, exactly as Go does). See go-time.ts
 * for the quirks this keeps.
 *
 * `parseGoTime()` allocates nothing on success. It returns TIME_CANONICAL when
 * the text between the quotes is already what Go prints back
 * (formatRFC3339Nano), so callers may copy it instead of formatting.
 */
import { daysIn, type GoTime } from './go-time.js';

export const TIME_ERROR = -1;
export const TIME_OK = 0;
export const TIME_CANONICAL = 1;

const LAYOUT = '"2006-01-02T15:04:05Z07:00"';

let lastError = '';

/** The message of the last failed parseGoTime() (Go's wording). */
export function lastTimeError(): string {
  return lastError;
}

function isDigit(b: Uint8Array, i: number, end: number): boolean {
  if (i >= end) return false;
  const c = b[i]!;
  return c >= 48 && c <= 57;
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

function text(b: Uint8Array, s: number, e: number): string {
  return Buffer.from(b.buffer, b.byteOffset + s, Math.max(0, e - s)).toString('latin1');
}

function cannot(b: Uint8Array, start: number, end: number, at: number, elem: string): number {
  lastError = `parsing time ${goQuote(text(b, start, end))} as ${goQuote(LAYOUT)}: cannot parse ${goQuote(text(b, at, end))} as ${goQuote(elem)}`;
  return TIME_ERROR;
}

function outOfRange(b: Uint8Array, start: number, end: number, what: string): number {
  lastError = `parsing time ${goQuote(text(b, start, end))}: ${what} out of range`;
  return TIME_ERROR;
}

/**
 * Parses the raw JSON value `b[start, end)` (including its quotes) into `out`.
 * Returns TIME_CANONICAL, TIME_OK, or TIME_ERROR (see lastTimeError()).
 * `out` is only meaningful on success.
 */
export function parseGoTime(b: Uint8Array, start: number, end: number, out: GoTime): number {
  let p = start;
  let canonical = true;
  if (p >= end || b[p] !== 0x22) return cannot(b, start, end, p, '"');
  p++;
  // 2006: four characters, the first a digit, all digits (atoi).
  if (end - p < 4 || !isDigit(b, p, end)) return cannot(b, start, end, p, '2006');
  let year = 0;
  for (let i = 0; i < 4; i++) {
    if (!isDigit(b, p + i, end)) return cannot(b, start, end, p, '2006');
    year = year * 10 + (b[p + i]! - 48);
  }
  p += 4;
  if (p >= end || b[p] !== 0x2d) return cannot(b, start, end, p, '-');
  p++;
  if (!isDigit(b, p, end) || !isDigit(b, p + 1, end)) return cannot(b, start, end, p, '01');
  const month = (b[p]! - 48) * 10 + (b[p + 1]! - 48);
  if (month < 1 || month > 12) return outOfRange(b, start, end, 'month');
  p += 2;
  if (p >= end || b[p] !== 0x2d) return cannot(b, start, end, p, '-');
  p++;
  if (!isDigit(b, p, end) || !isDigit(b, p + 1, end)) return cannot(b, start, end, p, '02');
  const day = (b[p]! - 48) * 10 + (b[p + 1]! - 48);
  p += 2;
  if (p >= end || b[p] !== 0x54) return cannot(b, start, end, p, 'T');
  p++;
  // 15: one or two digits (getnum with fixed=false).
  if (!isDigit(b, p, end)) return cannot(b, start, end, p, '15');
  let hour = b[p]! - 48;
  if (isDigit(b, p + 1, end)) {
    hour = hour * 10 + (b[p + 1]! - 48);
    p += 2;
  } else {
    p += 1;
    canonical = false;
  }
  if (hour >= 24) return outOfRange(b, start, end, 'hour');
  if (p >= end || b[p] !== 0x3a) return cannot(b, start, end, p, ':');
  p++;
  if (!isDigit(b, p, end) || !isDigit(b, p + 1, end)) return cannot(b, start, end, p, '04');
  const minute = (b[p]! - 48) * 10 + (b[p + 1]! - 48);
  if (minute >= 60) return outOfRange(b, start, end, 'minute');
  p += 2;
  if (p >= end || b[p] !== 0x3a) return cannot(b, start, end, p, ':');
  p++;
  if (!isDigit(b, p, end) || !isDigit(b, p + 1, end)) return cannot(b, start, end, p, '05');
  const second = (b[p]! - 48) * 10 + (b[p + 1]! - 48);
  if (second >= 60) return outOfRange(b, start, end, 'second');
  p += 2;
  // Fraction the layout does not mention: `.` or `,` then digits, any count, first 9 kept.
  let nsec = 0;
  if (end - p >= 2 && (b[p] === 0x2e || b[p] === 0x2c) && isDigit(b, p + 1, end)) {
    if (b[p] === 0x2c) canonical = false;
    let n = 2;
    while (isDigit(b, p + n, end)) n++;
    const used = n > 10 ? 10 : n;
    for (let i = 1; i < used; i++) nsec = nsec * 10 + (b[p + i]! - 48);
    for (let i = used; i < 10; i++) nsec *= 10;
    if (n > 10 || b[p + n - 1] === 0x30) canonical = false;
    p += n;
  }
  // Z07:00
  let offsetSec = 0;
  let utc = false;
  if (p < end && b[p] === 0x5a) {
    utc = true;
    p++;
  } else {
    if (end - p < 6 || b[p + 3] !== 0x3a) return cannot(b, start, end, p, 'Z07:00');
    if (!isDigit(b, p + 1, end) || !isDigit(b, p + 2, end) || !isDigit(b, p + 4, end) || !isDigit(b, p + 5, end)) {
      return cannot(b, start, end, p, 'Z07:00');
    }
    const hh = (b[p + 1]! - 48) * 10 + (b[p + 2]! - 48);
    const mm = (b[p + 4]! - 48) * 10 + (b[p + 5]! - 48);
    if (hh > 24) return outOfRange(b, start, end, 'time zone offset hour');
    if (mm > 60) return outOfRange(b, start, end, 'time zone offset minute');
    const sign = b[p];
    if (sign !== 0x2b && sign !== 0x2d) return cannot(b, start, end, p, 'Z07:00');
    offsetSec = (hh * 60 + mm) * 60;
    if (sign === 0x2d) offsetSec = -offsetSec;
    if (offsetSec === 0 || mm === 60) canonical = false;
    p += 6;
  }
  if (p >= end || b[p] !== 0x22) return cannot(b, start, end, p, '"');
  p++;
  if (p !== end) {
    lastError = `parsing time ${goQuote(text(b, start, end))}: extra text: ${goQuote(text(b, p, end))}`;
    return TIME_ERROR;
  }
  if (day < 1 || day > daysIn(month, year)) return outOfRange(b, start, end, 'day');
  out.year = year;
  out.month = month;
  out.day = day;
  out.hour = hour;
  out.minute = minute;
  out.second = second;
  out.nsec = nsec;
  out.offsetSec = offsetSec;
  out.utc = utc;
  return canonical ? TIME_CANONICAL : TIME_OK;
}
