/**
 * Which connections get graphs: named uids in their order, else the worst
 * by the documented score among those a --select predicate accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphSelection, TopK, troubleScore } from '../src/report/selection.js';
import { compileWhere } from '../src/filter/where.js';
import type { RecordValues } from '../src/records/schema.js';

const conn = (uid: string, o: Partial<Record<string, string | number | null>> = {}): RecordValues => ({
  uid,
  proto: 'tcp',
  ts: '100.5',
  orig_bytes: 0,
  resp_bytes: 0,
  orig_retransmission: 0,
  resp_retransmission: 0,
  orig_zero_window: 0,
  resp_zero_window: 0,
  end_reason: 'fin',
  handshake: 'success',
  conn_state: 'SF',
  ...o,
});

test('the score adds retransmitted segments and zero windows, and 5 each for a reset and a failed handshake', () => {
  assert.equal(troubleScore(conn('C1', { orig_retransmission: 2, resp_retransmission: 3, resp_zero_window: 4 })), 9);
  assert.equal(troubleScore(conn('C2', { end_reason: 'rst_resp' })), 5);
  assert.equal(troubleScore(conn('C3', { handshake: 'timeout', end_reason: 'rst_orig' })), 10);
  assert.equal(troubleScore(conn('C4', { proto: 'udp', orig_retransmission: 7 })), 0);
});

test('TopK keeps the k largest keys, the earlier of equal ones first', () => {
  const t = new TopK<string>(3);
  for (const [k, v] of [[1, 'a'], [5, 'b'], [3, 'c'], [5, 'd'], [0, 'e'], [4, 'f']] as const) t.offer([k], v);
  assert.deepEqual(t.values(), ['b', 'd', 'f']);
});

test('by default the worst connections are drawn, ties going to the one that carried more bytes', () => {
  const s = new GraphSelection({ top: 2 });
  s.offer(conn('Cclean', { resp_bytes: 9e6 }));
  s.offer(conn('Cretx', { resp_retransmission: 3, resp_bytes: 10 }));
  s.offer(conn('Cbig', { resp_bytes: 1e7 }));
  assert.deepEqual(s.records().map((r) => r['uid']), ['Cretx', 'Cbig']);
  assert.equal(s.explicit, false);
});

test('--select draws the worst of the connections the predicate accepts and counts them', () => {
  const s = new GraphSelection({ top: 10, where: compileWhere('orig_retransmission+resp_retransmission>0') });
  s.offer(conn('Ca', { resp_retransmission: 1 }));
  s.offer(conn('Cb'));
  s.offer(conn('Cc', { orig_retransmission: 4 }));
  assert.deepEqual(s.records().map((r) => r['uid']), ['Cc', 'Ca']);
  assert.equal(s.matched, 2);
});

test('named uids are drawn in the order given; one never seen is reported missing', () => {
  const s = new GraphSelection({ uids: ['Cb', 'Ca', 'Cz'] });
  assert.equal(s.explicit, true);
  s.offer(conn('Ca'));
  s.offer(conn('Cb'));
  s.offer(conn('Cc'));
  assert.deepEqual(s.records().map((r) => r['uid']), ['Cb', 'Ca']);
  assert.deepEqual(s.missing(), ['Cz']);
});

test('tcp.stream numbers name connections too: resolved to their uid at the first segment, kept in the order given', () => {
  const s = new GraphSelection({ uids: ['4', 'Ca', '7', '2'] });
  assert.deepEqual(s.namedUids, ['Ca']);
  assert.deepEqual(s.namedStreams, [4, 7, 2]);
  s.resolveStream(2, 'Ca'); // named twice: by uid and by number
  s.resolveStream(4, 'Cd');
  s.offer(conn('Ca'));
  s.offer(conn('Cd'));
  s.offer(conn('Ce'));
  assert.deepEqual(s.records().map((r) => r['uid']), ['Cd', 'Ca']);
  assert.deepEqual(s.missing(), ['7']);
});
