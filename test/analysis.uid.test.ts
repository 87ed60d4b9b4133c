import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import { stableUid } from '../src/analysis/uid.js';

const FIX = new URL('../../fixtures/pcaps', import.meta.url).pathname;

test('uids have Zeek\'s shape: "C" and 17 base62 characters', () => {
  assert.match(stableUid('1:yvyB8h+3dnggTZW0UEITWCst97w=', 1362692526, 869344000, 1), /^C[0-9A-Za-z]{17}$/);
});

test('uids are unique across the 1994 connections of a port scan and identical on a second run', async () => {
  const run = async (): Promise<string[]> => {
    const uids: string[] = [];
    await analyzeCaptures([{ path: join(FIX, 'ndpi__synscan.pcap') }], { onRecord: (r) => uids.push(String(r['uid'])) });
    return uids;
  };
  const a = await run();
  const b = await run();
  assert.ok(a.length > 1900);
  assert.equal(new Set(a).size, a.length);
  assert.deepEqual(a, b);
});

test('the uid changes with the flow number and the first timestamp', () => {
  const cid = '1:koNcqhFRD5kb254ZrLsdv630jCM=';
  const base = stableUid(cid, 1700000000, 5, 1);
  assert.notEqual(stableUid(cid, 1700000000, 5, 2), base);
  assert.notEqual(stableUid(cid, 1700000000, 6, 1), base);
  assert.notEqual(stableUid(cid, 1700000001, 5, 1), base);
});
