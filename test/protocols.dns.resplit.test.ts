/**
 * The DNS decoder is resumable at any byte: every DNS-over-TCP stream of
 * the fixture captures, re-cut at every byte boundary and at random places,
 * gives the same records as the stream cut where the packets cut it; so do
 * hand-made streams with capture gaps inside a message and across message
 * boundaries (the resynchronisation path). UDP flows are replayed as
 * recorded (a datagram is never cut).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DNS } from '../src/protocols/dns.js';
import { L7, everyByte, noCuts, randomCuts, recordStreams, replay, type Call, type Script } from './_l7-helpers.js';
import { FIX } from './_fixtures.js';
import { aRecord, framed, query, response } from './_dns-helpers.js';

const captures = [
  ...readdirSync(L7).filter((n) => /^(zeek|deepflow)__dns.*\.pcap$/.test(n) || n === 'tcpdump__dns_udp.pcap').map((n) => join(L7, n)),
  join(FIX, 'zeek__ipv6-fragmented-dns.pcap'),
];

let tcpStreams = 0;
for (const path of captures) {
  test(`DNS flows of ${path.split('/').pop()} give the same records however their TCP bytes are cut`, async () => {
    const scripts = await recordStreams(path, DNS);
    assert.ok(scripts.length > 0, 'no DNS flow found');
    for (const [i, s] of scripts.entries()) {
      assert.ok(s.records.length > 0, `flow ${i}: no record`);
      assert.deepEqual(replay(DNS, s, noCuts), s.records, `flow ${i}: replay as recorded`);
      if (s.calls.some((c) => c.op === 'datagram')) continue;
      tcpStreams++;
      assert.deepEqual(replay(DNS, s, everyByte), s.records, `stream ${i}: one byte at a time`);
      for (const seed of [1, 2, 3]) assert.deepEqual(replay(DNS, s, randomCuts(seed, 40)), s.records, `stream ${i}: random cuts, seed ${seed}`);
    }
  });
}

test('the fixtures hold DNS-over-TCP streams to re-cut (deepflow dns, dns-tcp-multi, not-handled-qtype, nxdomain; zeek edns-tcp-keepalive, tkey, edns-ecs)', () => {
  assert.ok(tcpStreams >= 15, `${tcpStreams} streams`);
});

/** A hand-made TCP stream script: data calls and gaps. */
function script(calls: Call[]): Script {
  return { calls, records: [] };
}

const data = (side: 0 | 1, b: Uint8Array, sec: number): Call => ({ op: 'data', side, bytes: b, sec, nsec: 0 });

test('hand-made DNS/TCP streams with gaps give the same records however they are cut', () => {
  const q = framed(query(1, 'a.example'), query(2, 'b.example'), query(3, 'c.example'), query(4, 'd.example'));
  const r1 = framed(response(1, 'a.example', 1, [aRecord('192.0.2.1'), aRecord('192.0.2.2')]));
  const r2 = framed(response(2, 'b.example', 1, [aRecord('192.0.2.3')]));
  const r3 = framed(response(3, 'c.example', 1, []));
  const r4 = framed(response(4, 'd.example', 1, [aRecord('192.0.2.4')]));
  const cases: Call[][] = [
    // a gap inside r1, then r2 .. r4 in one chunk
    [data(0, q, 1), data(1, r1.subarray(0, 30), 2), { op: 'gap', side: 1, len: 10, sec: 2, nsec: 5 }, data(1, Uint8Array.from([...r1.subarray(40), ...r2, ...r3, ...r4]), 3), { op: 'finish', sec: 4, nsec: 0 }],
    // a gap across r2's prefix: resynchronised at r3
    [data(0, q, 1), data(1, Uint8Array.from([...r1, ...r2.subarray(0, 1)]), 2), { op: 'gap', side: 1, len: r2.length - 1, sec: 2, nsec: 5 }, data(1, Uint8Array.from([...r3, ...r4]), 3), { op: 'finish', sec: 4, nsec: 0 }],
    // no message after the gap: stopped
    [data(0, q, 1), { op: 'gap', side: 1, len: 7, sec: 2, nsec: 0 }, data(1, Uint8Array.from({ length: 300 }, (_, i) => (i * 91) & 0xff), 3), { op: 'finish', sec: 4, nsec: 0 }],
    // a client-side gap: the response to the lost query is an orphan
    [data(0, q.subarray(0, 20), 1), { op: 'gap', side: 0, len: q.length - 20 - 2 - 13, sec: 1, nsec: 1 }, data(1, Uint8Array.from([...r1, ...r4]), 2), { op: 'end', side: 1, sec: 3, nsec: 0 }, { op: 'finish', sec: 4, nsec: 0 }],
  ];
  for (const [k, calls] of cases.entries()) {
    const s = script(calls);
    s.records = replay(DNS, s, noCuts);
    assert.ok(s.records.length > 0, `case ${k}: no record`);
    assert.deepEqual(replay(DNS, s, everyByte), s.records, `case ${k}: one byte at a time`);
    for (const seed of [4, 5, 6, 7]) assert.deepEqual(replay(DNS, s, randomCuts(seed, 20)), s.records, `case ${k}: random cuts, seed ${seed}`);
  }
});
