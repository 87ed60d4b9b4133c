/**
 * Where a connection ends and what its Zeek-named fields mean at the end
 * (docs/zeek-state.md, "Connection boundaries and duration"):
 *
 * - a SYN after either side closed (FIN or RST) starts a new connection,
 *   whatever its sequence number and whatever --close-linger is (Zeek's
 *   connection reuse): a client retrying after a RST makes one REJ record per
 *   attempt, each with handshake reject and no duplicate SYN;
 * - `duration` stops at the packet that closed the second side (Zeek's
 *   last_time); `last_ts` is the last packet;
 * - after the close, packets within --close-linger (default 5 s, Zeek's
 *   tcp_close_delay) still count; a later one starts a new connection;
 * - unanswered SYN retransmissions stay one record (tcpeek's and tshark's
 *   view; Zeek splits after 5 s): a documented difference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import type { RecordValues } from '../src/records/schema.js';
import { makeTempDir, writePcap } from './_capture-helpers.js';
import { TCP, tcpFrame } from './_packets.js';

const C = [10, 0, 0, 1], S = [10, 0, 0, 2];
const T0 = 1_700_000_000_000_000_000n;

/** Frames at given offsets (seconds) from T0. */
function capture(frames: [number, Buffer][]): string {
  const { dir } = makeTempDir('tcpkit-boundaries-');
  const path = join(dir, 'c.pcap');
  writeFileSync(path, writePcap(frames.map(([s, data]) => ({ ts: T0 + BigInt(Math.round(s * 1e9)), data }))));
  return path;
}

async function recs(path: string, closeLingerMs?: number): Promise<RecordValues[]> {
  const out: RecordValues[] = [];
  await analyzeCaptures([{ path }], { onRecord: (r) => out.push(r), ...(closeLingerMs !== undefined ? { closeLingerMs } : {}) });
  return out.filter((r) => r['proto'] === 'tcp');
}

const pick = (r: RecordValues, ...k: string[]): unknown[] => k.map((x) => r[x]);

test('a SYN retried after a RST is a new connection each time, whatever the linger (Zeek: three REJ records)', async () => {
  const isn = 1000;
  const frames: [number, Buffer][] = [];
  for (const t of [0, 0.5, 1.5]) {
    frames.push([t, tcpFrame(C, S, 40000, 110, isn, 0, TCP.SYN)]);
    frames.push([t + 0.001, tcpFrame(S, C, 110, 40000, 0, isn + 1, TCP.RST | TCP.ACK)]);
  }
  const path = capture(frames);
  for (const linger of [100, 1000, 5000, 60_000]) {
    const r = await recs(path, linger);
    assert.equal(r.length, 3, `--close-linger ${linger} ms`);
    for (const x of r) assert.deepEqual(pick(x, 'conn_state', 'history', 'handshake', 'dup_syn', 'orig_pkts', 'resp_pkts', 'reused_ports'), ['REJ', 'Sr', 'reject', 0, 1, 1, 0]);
  }
});

test('duration stops at the packet that closed the second side; last_ts is the last packet', async () => {
  const path = capture([
    [0, tcpFrame(C, S, 40001, 80, 100, 0, TCP.SYN)],
    [0.01, tcpFrame(S, C, 80, 40001, 500, 101, TCP.SYN | TCP.ACK)],
    [0.02, tcpFrame(C, S, 40001, 80, 101, 501, TCP.ACK)],
    [0.03, tcpFrame(C, S, 40001, 80, 101, 501, TCP.FIN | TCP.ACK)],
    [0.04, tcpFrame(S, C, 80, 40001, 501, 102, TCP.FIN | TCP.ACK)],
    // the last ACK of the FIN exchange, 2 s later: counted, but not in Zeek's duration
    [2.04, tcpFrame(C, S, 40001, 80, 102, 502, TCP.ACK)],
  ]);
  const [r] = await recs(path);
  assert.deepEqual(pick(r!, 'duration', 'orig_pkts', 'resp_pkts', 'conn_state'), ['0.040000000', 4, 2, 'SF']);
  assert.equal(Math.round((Number(r!['last_ts']) - Number(r!['ts'])) * 1e6), 2_040_000);
});

test('a late RST after the FIN exchange does not move duration either', async () => {
  const path = capture([
    [0, tcpFrame(C, S, 40002, 80, 100, 0, TCP.SYN)],
    [0.01, tcpFrame(S, C, 80, 40002, 500, 101, TCP.SYN | TCP.ACK)],
    [0.02, tcpFrame(C, S, 40002, 80, 101, 501, TCP.FIN | TCP.ACK)],
    [0.03, tcpFrame(S, C, 80, 40002, 501, 102, TCP.FIN | TCP.ACK)],
    [1.5, tcpFrame(C, S, 40002, 80, 102, 502, TCP.RST)],
  ]);
  const [r] = await recs(path);
  assert.deepEqual(pick(r!, 'duration', 'orig_pkts', 'orig_rst_pkts'), ['0.030000000', 3, 1]);
});

test('after the close, a packet within 5 s joins the connection and a later one starts a new one', async () => {
  const path = capture([
    [0, tcpFrame(C, S, 40003, 80, 100, 0, TCP.SYN)],
    [0.01, tcpFrame(S, C, 80, 40003, 500, 101, TCP.SYN | TCP.ACK)],
    [0.02, tcpFrame(C, S, 40003, 80, 101, 501, TCP.FIN | TCP.ACK)],
    [0.03, tcpFrame(S, C, 80, 40003, 501, 102, TCP.FIN | TCP.ACK)],
    [4.0, tcpFrame(C, S, 40003, 80, 102, 502, TCP.ACK)],
    [9.5, tcpFrame(C, S, 40003, 80, 102, 502, TCP.ACK)],
  ]);
  const r = await recs(path);
  assert.equal(r.length, 2);
  assert.deepEqual(pick(r[0]!, 'orig_pkts', 'conn_state', 'end_reason'), [3, 'SF', 'fin']);
  assert.deepEqual(pick(r[1]!, 'orig_pkts', 'resp_pkts', 'conn_state', 'handshake'), [1, 0, 'OTH', '']);
});

test('unanswered SYN retransmissions stay one connection attempt (a difference from Zeek, which splits after 5 s)', async () => {
  const path = capture([0, 1, 3, 7].map((t) => [t, tcpFrame(C, S, 40004, 22, 7000, 0, TCP.SYN)] as [number, Buffer]));
  const r = await recs(path);
  assert.equal(r.length, 1);
  assert.deepEqual(pick(r[0]!, 'orig_pkts', 'dup_syn', 'handshake', 'conn_state', 'history', 'duration'), [4, 3, 'timeout', 'S0', 'S', '7.000000000']);
});

test("mid-stream leftovers split as in Zeek's Teredo.pcap baseline: a FIN nobody answered closes the connection, later stragglers are new ones", async () => {
  // the end of an earlier connection, seen without its start: the server's
  // FIN, the client's ACK; 10 s later a RST from the client, 16 s later one
  // from the server. Zeek's baseline (core.tunnels.teredo, written in 2015)
  // has three records, fA SHR / R RSTOS0 / r RSTRH; the Zeek of today also
  // marks the flip it makes at creation (^, Connection::FlipRoles) and gives
  // RSTOS0 only to a history starting with S (conn_state()), so: ^fA SHR,
  // R OTH, ^r RSTRH.
  const path = capture([
    [0, tcpFrame(S, C, 80, 1576, 9000, 5000, TCP.FIN | TCP.ACK)],
    [0.0004, tcpFrame(C, S, 1576, 80, 5000, 9001, TCP.ACK)],
    [10.27, tcpFrame(C, S, 1576, 80, 5000, 0, TCP.RST)],
    [26.32, tcpFrame(S, C, 80, 1576, 9001, 0, TCP.RST)],
  ]);
  const r = await recs(path);
  assert.deepEqual(
    r.map((x) => pick(x, 'orig_h', 'history', 'conn_state', 'orig_pkts', 'resp_pkts')),
    [
      ['10.0.0.1', '^fA', 'SHR', 1, 1],
      ['10.0.0.1', 'R', 'OTH', 1, 0],
      ['10.0.0.1', '^r', 'RSTRH', 0, 1],
    ],
  );
});
