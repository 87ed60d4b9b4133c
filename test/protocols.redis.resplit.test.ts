/**
 * The Redis decoder is resumable at any byte: every Redis stream of the
 * fixture captures, re-cut at every byte boundary (large streams: at
 * thousands of random places), gives the same records as the stream cut
 * where the packets cut it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REDIS } from '../src/protocols/redis.js';
import { L7, everyByte, noCuts, randomCuts, recordStreams, replay, totalBytes } from './_l7-helpers.js';
import { FIX } from './_fixtures.js';

const captures = [
  ...readdirSync(L7).filter((n) => /^(zeek__redis|deepflow__redis)-.*\.pcapn?g?$/.test(n)).map((n) => join(L7, n)),
  ...['zeek__redis-set.pcap', 'zeek__redis-pipelining-example.pcap', 'zeek__redis-pubsub.pcap', 'tcpdump__resp_1_benchmark.pcap'].map((n) => join(FIX, n)),
];
const ports = new Map([['redis', [10625]]]);

for (const path of captures) {
  test(`Redis streams of ${path.split('/').pop()} give the same records however they are cut`, async () => {
    const scripts = await recordStreams(path, REDIS, {}, ports);
    assert.ok(scripts.length > 0, 'no Redis stream found');
    assert.ok(scripts.some((s) => s.records.length > 0), 'no redis record written');
    for (const [i, s] of scripts.entries()) {
      assert.deepEqual(replay(REDIS, s, noCuts), s.records, `stream ${i}: replay as recorded`);
      if (totalBytes(s) <= 300_000) assert.deepEqual(replay(REDIS, s, everyByte), s.records, `stream ${i}: one byte at a time`);
      for (const seed of [1, 2, 3]) assert.deepEqual(replay(REDIS, s, randomCuts(seed, 40)), s.records, `stream ${i}: random cuts, seed ${seed}`);
    }
  });
}
