/**
 * The tracker moves its activity list lazily (a packet does not relink its
 * flow). This checks that flows still end in exactly the order of an eager
 * least-recently-active list: idle expiry in last-packet order, eviction of
 * the least recently active flow at --max-flows (embryonic flows first: those
 * with at most EMBRYO_PACKETS packets, all from one side), the rest by flow
 * number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConnTracker, EMBRYO_PACKETS } from '../src/analysis/tracker.js';
import { PacketView } from '../src/capture/packet.js';
import { LinkType } from '../src/capture/packet.js';

/** A raw IPv4/UDP packet from 10.0.0.1:(1000+flow) to 10.0.0.2:53. */
function udpPacket(flow: number): Buffer {
  const b = Buffer.alloc(28 + 4);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = 17;
  b.set([10, 0, 0, 1], 12);
  b.set([10, 0, 0, 2], 16);
  b.writeUInt16BE(1000 + flow, 20);
  b.writeUInt16BE(53, 22);
  b.writeUInt16BE(8 + 4, 24);
  return b;
}

interface Ended {
  port: number;
  reason: string;
}

function runTracker(events: readonly [number, number][], idleMs: number, maxFlows: number): Ended[] {
  const ended: Ended[] = [];
  const t = new ConnTracker({ idleTimeoutMs: idleMs, closeLingerMs: 1000, synTimeoutMs: 30_000, analysis: 'flows', maxFlows, onFlowEnd: (c) => ended.push({ port: c.aPort, reason: c.endReason }) });
  const pv = new PacketView();
  pv.linkType = LinkType.RAW;
  let ms = 1_000_000;
  for (const [flow, step] of events) {
    ms += step;
    const b = udpPacket(flow);
    pv.buf = b;
    pv.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    pv.off = 0;
    pv.caplen = pv.origlen = b.length;
    pv.sec = Math.floor(ms / 1000);
    pv.nsec = (ms % 1000) * 1_000_000;
    t.onPacket(pv);
  }
  t.finish('eof');
  return ended;
}

/** The same rules with an eagerly ordered list (an array sorted by last packet). */
function model(events: readonly [number, number][], idleMs: number, maxFlows: number): Ended[] {
  const ended: Ended[] = [];
  interface Flow { port: number; serial: number; lastMs: number; pkts: number }
  let open: Flow[] = []; // least recently active first
  let nowMs = 0, serial = 0, ms = 1_000_000;
  for (const [flow, step] of events) {
    ms += step;
    if (ms > nowMs) {
      nowMs = ms;
      while (open.length > 0 && open[0]!.lastMs + idleMs <= nowMs) ended.push({ port: open.shift()!.port, reason: 'idle' });
    }
    const port = 1000 + flow;
    let f = open.find((x) => x.port === port);
    if (f === undefined) {
      if (open.length >= maxFlows) {
        const e = open.findIndex((x) => x.pkts <= EMBRYO_PACKETS);
        ended.push({ port: open.splice(e >= 0 ? e : 0, 1)[0]!.port, reason: 'evicted' });
      }
      f = { port, serial: ++serial, lastMs: nowMs, pkts: 0 };
    } else open = open.filter((x) => x !== f);
    f.lastMs = nowMs;
    f.pkts++;
    open.push(f);
  }
  for (const f of [...open].sort((a, b) => a.serial - b.serial)) ended.push({ port: f.port, reason: 'eof' });
  return ended;
}

test('flows end in the order of eager least-recently-active lists (idle expiry, eviction of embryonic flows first, end of input)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }),
      fc.integer({ min: 1, max: 120 }),
      fc.integer({ min: 1, max: 12 }),
      (events, idleMs, maxFlows) => {
        assert.deepEqual(runTracker(events, idleMs, maxFlows), model(events, idleMs, maxFlows));
      },
    ),
    { numRuns: 500 },
  );
});
