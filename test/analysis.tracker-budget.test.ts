/**
 * The tracker under a memory budget: a flood of spoofed SYNs stays within
 * the embryonic share and never pushes out established connections; when the
 * whole budget is used the least recently active flows are written as
 * evicted records (never an abort); and embryonic flows, whose analysis runs
 * late from a log of their events, get exactly the records the analysis
 * gives when it runs on every packet at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ConnTracker, EMBRYO_ANALYSIS_BYTES, EMBRYO_SHARE, FLOW_BYTES, HEAVY_ANALYSIS_BYTES } from '../src/analysis/tracker.js';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import { connRecord } from '../src/analysis/conn-record.js';
import { PacketView, LinkType } from '../src/capture/packet.js';
import { MemoryBudget } from '../src/util/memory-budget.js';
import type { RecordValues } from '../src/records/schema.js';
import { FIX, fixtureCaptures } from './_fixtures.js';

const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

/** A raw IPv4/TCP packet. */
function tcpPacket(src: number, sp: number, dst: number, dp: number, seq: number, ack: number, flags: number, len = 0): Buffer {
  const b = Buffer.alloc(40 + len);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = 6;
  b.writeUInt32BE(src >>> 0, 12);
  b.writeUInt32BE(dst >>> 0, 16);
  b.writeUInt16BE(sp, 20);
  b.writeUInt16BE(dp, 22);
  b.writeUInt32BE(seq >>> 0, 24);
  b.writeUInt32BE(ack >>> 0, 28);
  b[32] = 5 << 4;
  b[33] = flags;
  b.writeUInt16BE(65535, 34);
  return b;
}

class Feed {
  private readonly pv = new PacketView();
  private us = 1_700_000_000_000_000;
  constructor(private readonly t: ConnTracker) {
    this.pv.linkType = LinkType.RAW;
  }
  send(b: Buffer, stepUs = 10): void {
    this.us += stepUs;
    const pv = this.pv;
    pv.buf = b;
    pv.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    pv.off = 0;
    pv.caplen = pv.origlen = b.length;
    pv.sec = Math.floor(this.us / 1e6);
    pv.nsec = (this.us % 1e6) * 1000;
    this.t.onPacket(pv);
  }
}

const SERVER = 0x0a000001;
const client = (i: number): number => 0x0a010000 + i;

/** Opens connection i (handshake and a request); returns the next client and server sequence numbers. */
function open(f: Feed, i: number): void {
  f.send(tcpPacket(client(i), 40000, SERVER, 80, 1000, 0, SYN));
  f.send(tcpPacket(SERVER, 80, client(i), 40000, 5000, 1001, SYN | ACK));
  f.send(tcpPacket(client(i), 40000, SERVER, 80, 1001, 5001, ACK));
  f.send(tcpPacket(client(i), 40000, SERVER, 80, 1001, 5001, PSH | ACK, 100));
}

const LIGHT = FLOW_BYTES + EMBRYO_ANALYSIS_BYTES;
const HEAVY = LIGHT + HEAVY_ANALYSIS_BYTES;

test('a flood of spoofed SYNs stays within the embryonic share and never evicts an established connection', () => {
  const embryos = 200;
  const budget = new MemoryBudget(Math.ceil((embryos * LIGHT) / EMBRYO_SHARE));
  const ended: { rec: RecordValues; src: number }[] = [];
  const t = new ConnTracker({ idleTimeoutMs: 300_000, closeLingerMs: 1000, synTimeoutMs: 30_000, budget, onFlowEnd: (c) => ended.push({ rec: connRecord(c), src: c.a0 }) });
  const f = new Feed(t);
  for (let i = 0; i < 20; i++) open(f, i);
  let seq = 1101;
  let maxUsed = 0;
  for (let k = 0; k < 5000; k++) {
    f.send(tcpPacket(0x0b000000 + ((k * 7919) & 0xffffff), 1024 + (k % 60000), SERVER, 80, k * 2654435761, 0, SYN));
    if (k % 100 === 99) {
      // the established connections carry on, now and then
      for (let i = 0; i < 20; i++) f.send(tcpPacket(client(i), 40000, SERVER, 80, seq, 5001, PSH | ACK, 10));
      seq += 10;
    }
    maxUsed = Math.max(maxUsed, budget.used);
  }
  t.finish('eof');
  assert.ok(maxUsed <= budget.limit, `budget used ${maxUsed} of ${budget.limit}`);
  const est = ended.filter((e) => (e.src & 0xffff0000) === 0x0a010000);
  assert.equal(est.length, 20);
  assert.deepEqual(new Set(est.map((e) => e.rec['end_reason'])), new Set(['eof']), 'established connections run to the end of input');
  assert.ok(est.every((e) => e.rec['conn_state'] === 'S1' && e.rec['orig_pkts'] === 53));
  const syns = ended.filter((e) => (e.src & 0xff000000) === 0x0b000000);
  assert.equal(syns.length, 5000, 'every SYN has its record');
  const evicted = syns.filter((e) => e.rec['end_reason'] === 'evicted').length;
  assert.equal(t.stats.evictedFlows, evicted);
  assert.equal(t.stats.evictedEmbryonic, evicted, 'only embryonic flows were evicted');
  assert.ok(evicted >= 5000 - embryos && evicted < 5000, `evicted ${evicted}`);
  assert.ok(syns.every((e) => e.rec['conn_state'] === 'S0' && e.rec['history'] === 'S'), 'the analysis of an evicted embryo is complete');
});

test('when the whole budget is used, the least recently active established flows are written as evicted, closed ones first', () => {
  const budget = new MemoryBudget(10 * HEAVY);
  const ended: { port: number; reason: string }[] = [];
  const t = new ConnTracker({ idleTimeoutMs: 300_000, closeLingerMs: 60_000, synTimeoutMs: 30_000, budget, onFlowEnd: (c) => ended.push({ port: c.a0 & 0xffff, reason: c.endReason }) });
  const f = new Feed(t);
  for (let i = 0; i < 8; i++) open(f, i);
  // connection 3 closes (both FINs): it lingers, and goes first when room is needed
  f.send(tcpPacket(client(3), 40000, SERVER, 80, 1101, 5001, FIN | ACK));
  f.send(tcpPacket(SERVER, 80, client(3), 40000, 5001, 1102, FIN | ACK));
  // connection 0 is active again: connection 1 is now the least recently active
  f.send(tcpPacket(client(0), 40000, SERVER, 80, 1101, 5001, PSH | ACK, 10));
  // 13 connections for a budget of 10: three go
  for (let i = 8; i < 13; i++) open(f, i);
  assert.ok(budget.used <= budget.limit);
  assert.deepEqual(ended, [
    { port: 3, reason: 'fin' },
    { port: 1, reason: 'evicted' },
    { port: 2, reason: 'evicted' },
  ]);
  assert.equal(t.stats.evictedForMemory, 2);
  t.finish('eof');
  assert.equal(budget.used, 0, 'every charge was released');
});

test('a RST answer does not graduate a flow; a SYN/ACK or payload does', () => {
  const budget = new MemoryBudget(1 << 30);
  const t = new ConnTracker({ idleTimeoutMs: 300_000, closeLingerMs: 1000, synTimeoutMs: 30_000, budget, onFlowEnd: () => {} });
  const f = new Feed(t);
  const embryonic = budget.accounts.find((a) => a.name === 'embryonic flows')!;
  f.send(tcpPacket(client(1), 40001, SERVER, 81, 1, 0, SYN));
  f.send(tcpPacket(SERVER, 81, client(1), 40001, 0, 2, RST | ACK));
  assert.equal(budget.used, LIGHT, 'a refused SYN stays light');
  assert.equal(embryonic.used, 0, 'closing flows leave the embryonic share');
  f.send(tcpPacket(client(2), 40002, SERVER, 80, 1, 0, SYN));
  assert.equal(embryonic.used, LIGHT);
  f.send(tcpPacket(SERVER, 80, client(2), 40002, 9, 2, SYN | ACK));
  assert.equal(budget.used, 2 * LIGHT + HEAVY_ANALYSIS_BYTES);
  f.send(tcpPacket(client(3), 40003, SERVER, 80, 1, 0, PSH | ACK, 5));
  assert.equal(budget.used, 3 * LIGHT + 2 * HEAVY_ANALYSIS_BYTES);
});

async function records(path: string, eager: boolean): Promise<string> {
  const out: string[] = [];
  await analyzeCaptures([{ path }], {
    onRecord: (r) => out.push(JSON.stringify(r)),
    // reading each segment's flags keeps every flow's full analysis state from its first packet
    ...(eager ? { segmentFlags: true, onSegment: () => {} } : {}),
  });
  return out.join('\n');
}

test('every fixture capture: the records of the late (logged, replayed) analysis equal those of the analysis run on every packet', async () => {
  const caps = fixtureCaptures();
  assert.ok(caps.length > 60);
  for (const rel of caps) {
    const path = join(FIX, rel);
    assert.equal(await records(path, false), await records(path, true), rel);
  }
});
