/**
 * The TLS decoder is resumable at any byte: every TLS stream of the fixture
 * captures, re-cut at every byte boundary (large streams: at thousands of
 * random places), gives the same records as the stream cut where the
 * packets cut it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TLS } from '../src/protocols/tls.js';
import { everyByte, noCuts, randomCuts, recordStreams, replay, totalBytes } from './_l7-helpers.js';
import { TLS_CAPTURES } from './_tls-helpers.js';

for (const path of TLS_CAPTURES) {
  test(`TLS streams of ${path.split('/').pop()} give the same records however they are cut`, async () => {
    const scripts = await recordStreams(path, TLS);
    assert.ok(scripts.length > 0, 'no TLS stream found');
    assert.ok(scripts.some((s) => s.records.length > 0), 'no ssl record written');
    for (const [i, s] of scripts.entries()) {
      assert.deepEqual(replay(TLS, s, noCuts), s.records, `stream ${i}: replay as recorded`);
      if (totalBytes(s) <= 300_000) assert.deepEqual(replay(TLS, s, everyByte), s.records, `stream ${i}: one byte at a time`);
      for (const seed of [1, 2, 3]) assert.deepEqual(replay(TLS, s, randomCuts(seed, 40)), s.records, `stream ${i}: random cuts, seed ${seed}`);
    }
  });
}
