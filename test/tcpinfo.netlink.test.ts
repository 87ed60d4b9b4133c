/**
 * Raw netlink messages to archive records (src/tcpinfo/netlink.ts), record
 * encoding (archival-record.ts) and change detection (compare.ts, cache.ts),
 * against the goldens made with tcp-info's own Go code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decompress } from './_zstd.js';
import { ToolError } from '../src/util/errors.js';
import { encodeArchivalRecord, encodeGoString } from '../src/tcpinfo/archival-record.js';
import { GoTime } from '../src/tcpinfo/go-time.js';
import { isLocalAddress, makeArchivalRecord, parseRouteAttrs, readRawNetlinkMessages } from '../src/tcpinfo/netlink.js';
import { CHANGE_NAMES, compareRecords } from '../src/tcpinfo/compare.js';
import { RecordCache, recordCookie } from '../src/tcpinfo/cache.js';

const FIX = new URL('../../fixtures/tcpinfo/', import.meta.url).pathname;
const RAW = decompress(readFileSync(join(FIX, 'repo', 'testdata.zst')));

test('the 420 raw netlink messages become archive lines byte-identical to Go MakeArchivalRecord + json.Marshal (raw2ar golden)', () => {
  const golden = decompress(readFileSync(join(FIX, 'harness', 'raw2ar', 'testdata.raw2ar.jsonl.zst')));
  let out = '';
  for (const m of readRawNetlinkMessages(RAW, 'testdata.zst')) out += encodeArchivalRecord(makeArchivalRecord(m)!) + '\n';
  assert.equal(out, golden.toString('utf8'));
  // raw2ar is also the repository's netlink/testdata/archiveRecords.jsonl.zst.
  assert.ok(golden.equals(decompress(readFileSync(join(FIX, 'repo', 'archiveRecords.jsonl.zst')))));
});

test('change detection over the three poll cycles matches Go ArchivalRecord.Compare for every socket', () => {
  const msgs = [...readRawNetlinkMessages(RAW)];
  const cache = new RecordCache();
  const lines: string[] = [];
  for (let cycle = 0; cycle < 3; cycle++) {
    for (let i = cycle * 140; i < cycle * 140 + 140; i++) {
      const r = makeArchivalRecord(msgs[i]!)!;
      const change = compareRecords(r, cache.update(r));
      lines.push(`cycle=${cycle} index=${i} cookie=${recordCookie(r).toString(16).toUpperCase().padStart(16, '0')} change=${change} ${CHANGE_NAMES[change]}`);
    }
    assert.equal(cache.endCycle().size, 0, 'every socket is seen in every cycle');
  }
  const golden = readFileSync(join(FIX, 'harness', 'compare', 'compare-testdata.txt'), 'utf8').trim().split('\n');
  assert.deepEqual(lines, golden.filter((l) => l.startsWith('cycle=')));
});

test('a connection missing from a poll cycle is reported as closed at the end of the cycle after', () => {
  const msgs = [...readRawNetlinkMessages(RAW)].slice(0, 2).map((m) => makeArchivalRecord(m)!);
  const cache = new RecordCache();
  cache.update(msgs[0]!);
  cache.update(msgs[1]!);
  assert.equal(cache.endCycle().size, 0);
  cache.update(msgs[0]!);
  assert.deepEqual([...cache.endCycle().keys()], [recordCookie(msgs[1]!)]);
  assert.deepEqual([...cache.endCycle().keys()], [recordCookie(msgs[0]!)]);
});

test('route attributes with a bad length are rejected like Go (EINVAL), trailing padding is fine', () => {
  const attr = (len: number, type: number, ...value: number[]): number[] => [len & 255, len >> 8, type & 255, type >> 8, ...value];
  assert.deepEqual(
    parseRouteAttrs(Uint8Array.from([...attr(5, 4, 0x61), 0, 0, 0, ...attr(4, 8)])).map((a) => [a.type, Buffer.from(a.value).toString('hex')]),
    [
      [4, '61'],
      [8, ''],
    ],
  );
  for (const bad of [attr(3, 1), attr(9, 1, 1, 2)]) {
    assert.throws(() => parseRouteAttrs(Uint8Array.from(bad)), (e: unknown) => e instanceof ToolError && e.code === 'NETLINK_BAD_ATTRIBUTE');
  }
});

test('a message without attributes is written with "Attributes":[null]; attribute types above 38 are dropped', () => {
  const idm = new Uint8Array(72);
  idm[0] = 2;
  idm[8] = 10;
  const msg = (extra: number[]) => {
    const data = Uint8Array.from([...idm, ...extra]);
    return { len: 16 + data.length, type: 20, flags: 2, seq: 1, pid: 0, data };
  };
  const t = GoTime.fromUnixNanos(1_696_939_200_001_000_000n);
  assert.equal(
    encodeArchivalRecord(makeArchivalRecord(msg([]), { timestamp: t })!),
    '{"Timestamp":"2023-10-10T12:00:00.001Z","RawIDM":"AgAAAAAAAAAKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","Attributes":[null]}',
  );
  // Type 50 makes the array as long as Go allows (2 * INET_DIAG_MAX + 1 = 39 slots) but is itself dropped.
  const attrs = makeArchivalRecord(msg([5, 0, 50, 0, 1, 0, 0, 0, 5, 0, 5, 0, 7, 0, 0, 0]))!.attributes!;
  assert.deepEqual(
    { length: attrs.length, present: attrs.flatMap((a, i) => (a ? [[i, Buffer.from(a).toString('hex')]] : [])) },
    { length: 39, present: [[5, '07']] },
  );
  assert.throws(() => makeArchivalRecord({ ...msg([]), type: 3 }), (e: unknown) => e instanceof ToolError && e.code === 'NETLINK_NOT_TYPE_20');
});

test('local addresses (loopback, link-local, multicast, unspecified) are recognised as Go isLocal does', () => {
  const v4 = (...b: number[]) => Uint8Array.from([...b, ...new Array<number>(12).fill(0)]);
  const v6 = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
  const cases: [string, Uint8Array][] = [
    ['127.0.0.1', v4(127, 0, 0, 1)],
    ['169.254.1.1', v4(169, 254, 1, 1)],
    ['224.0.0.251', v4(224, 0, 0, 251)],
    ['0.0.0.0', v4(0, 0, 0, 0)],
    ['10.0.0.1', v4(10, 0, 0, 1)],
    ['192.168.14.134', v4(192, 168, 14, 134)],
    ['::1', v6('00000000000000000000000000000001')],
    ['::ffff:127.0.0.1', v6('00000000000000000000ffff7f000001')],
    ['fe80::1', v6('fe800000000000000000000000000001')],
    ['ff02::1', v6('ff020000000000000000000000000001')],
    ['2001:db8::1', v6('20010db8000000000000000000000001')],
  ];
  assert.deepEqual(Object.fromEntries(cases.map(([n, b]) => [n, isLocalAddress(b, 0)])), {
    '127.0.0.1': true,
    '169.254.1.1': true,
    '224.0.0.251': true,
    '0.0.0.0': true,
    '10.0.0.1': false,
    '192.168.14.134': false,
    '::1': true,
    '::ffff:127.0.0.1': true,
    'fe80::1': true,
    'ff02::1': true,
    '2001:db8::1': false,
  });
});

test('UUIDs are JSON-escaped the way Go 1.19 json.Marshal escapes strings', () => {
  assert.equal(encodeGoString('a"b\\c<d>&e\n\r\t\u0001\u2028\u2029é\u{1F600}\uD800'), '"a\\"b\\\\c\\u003cd\\u003e\\u0026e\\n\\r\\t\\u0001\\u2028\\u2029é\u{1F600}\uFFFD"');
});
