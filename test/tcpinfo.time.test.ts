/**
 * Go 1.19 time.Time JSON parsing and RFC3339Nano printing
 * (src/tcpinfo/go-time.ts, go-time-parse.ts): every accepted form, every
 * rejection, and the zero-time rule, checked as one table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoTime, formatRFC3339Nano } from '../src/tcpinfo/go-time.js';
import { lastTimeError, parseGoTime, TIME_CANONICAL, TIME_ERROR } from '../src/tcpinfo/go-time-parse.js';

/** Result of parsing `"<text>"`: what Go prints back, whether the input was already canonical, and isZero; or the error. */
function parse(text: string): string {
  const raw = Buffer.from(`"${text}"`, 'latin1');
  const t = new GoTime();
  const r = parseGoTime(raw, 0, raw.length, t);
  if (r === TIME_ERROR) return `error: ${lastTimeError()}`;
  return `${formatRFC3339Nano(t)}${r === TIME_CANONICAL ? ' (canonical)' : ''}${t.isZero() ? ' (zero)' : ''}`;
}

test('timestamps parse and print exactly as Go 1.19 does, quirks included', () => {
  const inputs = [
    '2019-04-02T14:12:37.511Z',
    '2019-08-26T19:55:42.754686952-04:00',
    '2019-08-26T19:55:42.123456+05:30',
    '2019-08-26T19:55:42.5+00:00',
    '2019-08-26T19:55:42.25-00:00',
    '2019-08-26T19:55:42.500000000Z',
    '2019-08-26T19:55:42Z',
    '2019-08-26T19:55:42.1234567891Z',
    '2019-08-26T19:55:42,5Z',
    '2019-08-26T9:55:42Z',
    '2019-08-26T19:55:42+24:60',
    '0001-01-01T00:00:00Z',
    '0001-01-01T00:00:00.000Z',
    '0001-01-01T00:00:00+00:00',
    '0000-01-01T00:00:00Z',
    '2016-02-29T00:00:00Z',
    '1969-12-31T23:59:59.999Z',
    '2019-08-26t19:55:42.1z',
    '2019-08-26 19:55:42Z',
    '2019-08-26T19:55:42+0000',
    '10000-01-01T00:00:00Z',
    '2019-08-26T24:00:00Z',
    '2016-12-31T23:59:60Z',
    '2019-13-01T00:00:00Z',
    '2019-02-29T00:00:00Z',
    '2019-04-31T00:00:00Z',
    '2019-08-26T19:60:00Z',
    '2019-08-26T19:55:42.Z',
    '2019-08-26T19:55:42Zjunk',
    '2019-08-26T19:55:42+25:00',
    '2019-08-26T19:55:42*05:00',
    '2019-8-26T19:55:42Z',
    '2019\\u002d08-26T19:55:42Z',
    'garbage',
    '',
  ];
  const got = Object.fromEntries(inputs.map((i) => [i, parse(i)]));
  assert.deepEqual(got, {
    '2019-04-02T14:12:37.511Z': '2019-04-02T14:12:37.511Z (canonical)',
    '2019-08-26T19:55:42.754686952-04:00': '2019-08-26T19:55:42.754686952-04:00 (canonical)',
    '2019-08-26T19:55:42.123456+05:30': '2019-08-26T19:55:42.123456+05:30 (canonical)',
    '2019-08-26T19:55:42.5+00:00': '2019-08-26T19:55:42.5Z',
    '2019-08-26T19:55:42.25-00:00': '2019-08-26T19:55:42.25Z',
    '2019-08-26T19:55:42.500000000Z': '2019-08-26T19:55:42.5Z',
    '2019-08-26T19:55:42Z': '2019-08-26T19:55:42Z (canonical)',
    '2019-08-26T19:55:42.1234567891Z': '2019-08-26T19:55:42.123456789Z',
    '2019-08-26T19:55:42,5Z': '2019-08-26T19:55:42.5Z',
    '2019-08-26T9:55:42Z': '2019-08-26T09:55:42Z',
    '2019-08-26T19:55:42+24:60': '2019-08-26T19:55:42+25:00',
    '0001-01-01T00:00:00Z': '0001-01-01T00:00:00Z (canonical) (zero)',
    '0001-01-01T00:00:00.000Z': '0001-01-01T00:00:00Z (zero)',
    '0001-01-01T00:00:00+00:00': '0001-01-01T00:00:00Z',
    '0000-01-01T00:00:00Z': '0000-01-01T00:00:00Z (canonical)',
    '2016-02-29T00:00:00Z': '2016-02-29T00:00:00Z (canonical)',
    '1969-12-31T23:59:59.999Z': '1969-12-31T23:59:59.999Z (canonical)',
    '2019-08-26t19:55:42.1z': 'error: parsing time "\\"2019-08-26t19:55:42.1z\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "t19:55:42.1z\\"" as "T"',
    '2019-08-26 19:55:42Z': 'error: parsing time "\\"2019-08-26 19:55:42Z\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse " 19:55:42Z\\"" as "T"',
    '2019-08-26T19:55:42+0000': 'error: parsing time "\\"2019-08-26T19:55:42+0000\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "+0000\\"" as "Z07:00"',
    '10000-01-01T00:00:00Z': 'error: parsing time "\\"10000-01-01T00:00:00Z\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "0-01-01T00:00:00Z\\"" as "-"',
    '2019-08-26T24:00:00Z': 'error: parsing time "\\"2019-08-26T24:00:00Z\\"": hour out of range',
    '2016-12-31T23:59:60Z': 'error: parsing time "\\"2016-12-31T23:59:60Z\\"": second out of range',
    '2019-13-01T00:00:00Z': 'error: parsing time "\\"2019-13-01T00:00:00Z\\"": month out of range',
    '2019-02-29T00:00:00Z': 'error: parsing time "\\"2019-02-29T00:00:00Z\\"": day out of range',
    '2019-04-31T00:00:00Z': 'error: parsing time "\\"2019-04-31T00:00:00Z\\"": day out of range',
    '2019-08-26T19:60:00Z': 'error: parsing time "\\"2019-08-26T19:60:00Z\\"": minute out of range',
    '2019-08-26T19:55:42.Z': 'error: parsing time "\\"2019-08-26T19:55:42.Z\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse ".Z\\"" as "Z07:00"',
    '2019-08-26T19:55:42Zjunk': 'error: parsing time "\\"2019-08-26T19:55:42Zjunk\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "junk\\"" as "\\""',
    '2019-08-26T19:55:42+25:00': 'error: parsing time "\\"2019-08-26T19:55:42+25:00\\"": time zone offset hour out of range',
    '2019-08-26T19:55:42*05:00': 'error: parsing time "\\"2019-08-26T19:55:42*05:00\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "*05:00\\"" as "Z07:00"',
    '2019-8-26T19:55:42Z': 'error: parsing time "\\"2019-8-26T19:55:42Z\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "8-26T19:55:42Z\\"" as "01"',
    '2019\\u002d08-26T19:55:42Z': 'error: parsing time "\\"2019\\\\u002d08-26T19:55:42Z\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "\\\\u002d08-26T19:55:42Z\\"" as "-"',
    garbage: 'error: parsing time "\\"garbage\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "garbage\\"" as "2006"',
    '': 'error: parsing time "\\"\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "\\"" as "2006"',
  });
});

test('times made from Unix nanoseconds print in UTC and convert back to the same instant', () => {
  const cases = [0n, 1_554_836_592_754_686_952n, -1n, 1_696_939_200_000_000_000n, -62_135_596_800_000_000_000n];
  assert.deepEqual(
    cases.map((ns) => {
      const t = GoTime.fromUnixNanos(ns);
      return [t.toString(), t.unixNanos() === ns];
    }),
    [
      ['1970-01-01T00:00:00Z', true],
      ['2019-04-09T19:03:12.754686952Z', true],
      ['1969-12-31T23:59:59.999999999Z', true],
      ['2023-10-10T12:00:00Z', true],
      ['0001-01-01T00:00:00Z', true],
    ],
  );
  assert.equal(GoTime.fromUnixNanos(-62_135_596_800_000_000_000n).isZero(), true);
  assert.equal(GoTime.fromUnix(1_566_863_742, 754_686_952, -4 * 3600).toString(), '2019-08-26T19:55:42.754686952-04:00');
});
