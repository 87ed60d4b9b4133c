/**
 * The MySQL decoder is resumable at any byte: every MySQL stream of the
 * fixture captures (plain, compressed, mid-connection starts, 16 MB-class
 * responses cut by the capture), re-cut at every byte boundary (large
 * streams: at random places), gives the same records as the stream cut
 * where the packets cut it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MYSQL } from '../src/protocols/mysql.js';
import { everyByte, noCuts, randomCuts, recordStreams, replay, totalBytes } from './_l7-helpers.js';
import { MYSQL_CAPTURES, decodePorts } from './_sql-helpers.js';

for (const path of MYSQL_CAPTURES) {
  test(`MySQL streams of ${path.split('/').pop()} give the same records however they are cut`, async () => {
    const scripts = await recordStreams(path, MYSQL, {}, decodePorts(path));
    assert.ok(scripts.length > 0, 'no MySQL stream found');
    assert.ok(scripts.some((s) => s.records.length > 0), 'no mysql record written');
    for (const [i, s] of scripts.entries()) {
      assert.deepEqual(replay(MYSQL, s, noCuts), s.records, `stream ${i}: replay as recorded`);
      if (totalBytes(s) <= 40_000) assert.deepEqual(replay(MYSQL, s, everyByte), s.records, `stream ${i}: one byte at a time`);
      for (const seed of [1, 2, 3]) assert.deepEqual(replay(MYSQL, s, randomCuts(seed, 40)), s.records, `stream ${i}: random cuts, seed ${seed}`);
    }
  });
}
