import { test } from 'node:test';
import assert from 'node:assert/strict';
import { communityId } from '../src/analysis/community-id.js';
import { parseAddr } from '../src/util/ip.js';

const w = (s: string): number[] => parseAddr(s)!.w;

test('the Community ID of the spec example flow 1.2.3.4:4584 -> 43.3.132.3:3483/tcp is 1:koNcqhFRD5kb254ZrLsdv630jCM=', () => {
  assert.equal(communityId(4, 6, w('1.2.3.4'), 4584, w('43.3.132.3'), 3483), '1:koNcqhFRD5kb254ZrLsdv630jCM=');
});

test('the Community ID does not depend on the direction of the tuple', () => {
  assert.equal(communityId(4, 6, w('43.3.132.3'), 3483, w('1.2.3.4'), 4584), '1:koNcqhFRD5kb254ZrLsdv630jCM=');
});

test("the Community ID matches Zeek's community-id-logging baseline for the reordered-handshake trace", () => {
  // zeek testing/btest/Baseline/scripts.policy.protocols.conn.community-id-logging-flipped/conn.log.cut
  assert.equal(communityId(4, 6, w('141.142.228.5'), 59856, w('192.150.187.43'), 80), '1:yvyB8h+3dnggTZW0UEITWCst97w=');
});
