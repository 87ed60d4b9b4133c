/**
 * The MongoDB decoder is resumable at any byte: every MongoDB stream of the
 * fixture captures, re-cut at every byte boundary (and at random places),
 * gives the same records as the stream cut where the packets cut it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MONGODB } from '../src/protocols/mongodb.js';
import { L7, everyByte, noCuts, randomCuts, recordStreams, replay, totalBytes } from './_l7-helpers.js';
import { FIX } from './_fixtures.js';

const captures = [
  ...['deepflow__mongo.pcap', 'deepflow__mongo-msg.pcap', 'mongotools__compressed.pcap'].map((n) => join(L7, n)),
  ...['mongotools__op_command_2inserts.pcap', 'ndpi__mongodb.pcap'].map((n) => join(FIX, n)),
];
const ports = new Map([['mongodb', [3717, 20000]]]);

for (const path of captures) {
  test(`MongoDB streams of ${path.split('/').pop()} give the same records however they are cut`, async () => {
    const scripts = await recordStreams(path, MONGODB, {}, ports);
    assert.ok(scripts.length > 0, 'no MongoDB stream found');
    assert.ok(scripts.some((s) => s.records.length > 0), 'no mongodb record written');
    for (const [i, s] of scripts.entries()) {
      assert.deepEqual(replay(MONGODB, s, noCuts), s.records, `stream ${i}: replay as recorded`);
      if (totalBytes(s) <= 300_000) assert.deepEqual(replay(MONGODB, s, everyByte), s.records, `stream ${i}: one byte at a time`);
      for (const seed of [1, 2, 3]) assert.deepEqual(replay(MONGODB, s, randomCuts(seed, 40)), s.records, `stream ${i}: random cuts, seed ${seed}`);
    }
  });
}
