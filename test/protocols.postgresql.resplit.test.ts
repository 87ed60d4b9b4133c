/**
 * The PostgreSQL decoder is resumable at any byte: every PostgreSQL stream
 * of the fixture captures (startups, SSL requests, extended-query cycles,
 * mid-connection starts and capture gaps), re-cut at every byte boundary
 * (large streams: at random places), gives the same records as the stream
 * cut where the packets cut it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { POSTGRESQL } from '../src/protocols/postgresql.js';
import { everyByte, noCuts, randomCuts, recordStreams, replay, totalBytes } from './_l7-helpers.js';
import { POSTGRESQL_CAPTURES, decodePorts } from './_sql-helpers.js';

for (const path of POSTGRESQL_CAPTURES) {
  test(`PostgreSQL streams of ${path.split('/').pop()} give the same records however they are cut`, async () => {
    const scripts = await recordStreams(path, POSTGRESQL, {}, decodePorts(path));
    assert.ok(scripts.length > 0, 'no PostgreSQL stream found');
    assert.ok(scripts.some((s) => s.records.length > 0), 'no postgresql record written');
    for (const [i, s] of scripts.entries()) {
      assert.deepEqual(replay(POSTGRESQL, s, noCuts), s.records, `stream ${i}: replay as recorded`);
      if (totalBytes(s) <= 40_000) assert.deepEqual(replay(POSTGRESQL, s, everyByte), s.records, `stream ${i}: one byte at a time`);
      for (const seed of [1, 2, 3]) assert.deepEqual(replay(POSTGRESQL, s, randomCuts(seed, 40)), s.records, `stream ${i}: random cuts, seed ${seed}`);
    }
  });
}
