/**
 * The HTTP decoder is resumable at any byte: every HTTP stream of the
 * fixture captures, re-cut at every byte boundary (large streams: at
 * thousands of random places), gives the same records as the stream cut
 * where the packets cut it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HTTP } from '../src/protocols/http.js';
import { L7, everyByte, noCuts, randomCuts, recordStreams, replay, totalBytes } from './_l7-helpers.js';
import { FIX } from './_fixtures.js';

const captures = [
  ...readdirSync(L7).filter((n) => /^(zeek__http|deepflow__http)-.*\.pcap$/.test(n)).map((n) => join(L7, n)),
  ...['zeek__http-get.pcap', 'zeek__http-261-variant-10-multi_value_te.pcap', 'scapy__http_chunk.pcap', 'zeek__ipv6-http-atomic-frag.pcap', 'zeek__http-vlan-0.pcap'].map((n) => join(FIX, n)),
];
const ports = new Map([['http', [1234, 9080, 20880]]]);

for (const path of captures) {
  test(`HTTP streams of ${path.split('/').pop()} give the same records however they are cut`, async () => {
    const scripts = await recordStreams(path, HTTP, {}, ports);
    assert.ok(scripts.length > 0, 'no HTTP stream found');
    for (const [i, s] of scripts.entries()) {
      assert.deepEqual(replay(HTTP, s, noCuts), s.records, `stream ${i}: replay as recorded`);
      if (totalBytes(s) <= 300_000) assert.deepEqual(replay(HTTP, s, everyByte), s.records, `stream ${i}: one byte at a time`);
      for (const seed of [1, 2, 3]) assert.deepEqual(replay(HTTP, s, randomCuts(seed, 40)), s.records, `stream ${i}: random cuts, seed ${seed}`);
    }
  });
}
