/**
 * The decimation rule of SegmentLog (docs/graphs.md): every row up to
 * rawCap; past it every marked segment as a row (up to markCap, then
 * counted per bucket) and, per side, a fixed number of time buckets holding
 * the envelope and the sums of every segment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { B, B_FIELDS, Col, COLS, SegmentLog, isMarked, type SegmentLogOptions } from '../src/graphs/segment-log.js';
import { Coverage } from '../src/graphs/coverage.js';
import { connCharts } from '../src/graphs/series.js';
import type { ConnGraphData } from '../src/graphs/collector.js';
import { mulberry32 } from './_capture-helpers.js';

const RETX = 1 << 0, DUP = 1 << 6, ZW = 1 << 7;
const SYN = 0x02, ACK = 0x10;

/** A synthetic transfer: A sends data, B acknowledges; some retransmissions, dup ACKs with SACK, zero windows. */
function rows(n: number, seed = 7): Float64Array[] {
  const rnd = mulberry32(seed);
  const out: Float64Array[] = [];
  let t = 0, seq = 1, ack = 1;
  for (let i = 0; i < n; i++) {
    t += rnd() * 0.002;
    const r = new Float64Array(COLS).fill(NaN);
    r[Col.T] = t;
    r[Col.FRAME] = i + 1;
    r[Col.SACK_N] = 0;
    r[Col.RTT_VALID] = 0;
    r[Col.DUP_ACK_NUM] = 0;
    if (i === 0) {
      r[Col.FROM_A] = 1;
      r[Col.SEQ] = 0;
      r[Col.LEN] = 0;
      r[Col.TCP_FLAGS] = SYN;
      r[Col.BITS] = 0;
      r[Col.WIN] = 65535;
    } else if (rnd() < 0.6) {
      const retx = rnd() < 0.01;
      r[Col.FROM_A] = 1;
      r[Col.SEQ] = retx ? Math.max(1, seq - 1448 * 3) : seq;
      r[Col.LEN] = 1448;
      if (!retx) seq += 1448;
      r[Col.ACK] = 1;
      r[Col.WIN] = 1000;
      r[Col.TCP_FLAGS] = ACK;
      r[Col.BITS] = retx ? RETX : 0;
      r[Col.BIF] = seq - ack;
    } else {
      const dup = rnd() < 0.2;
      if (!dup) ack = seq;
      r[Col.FROM_A] = 0;
      r[Col.SEQ] = 1;
      r[Col.LEN] = 0;
      r[Col.ACK] = ack;
      const zw = rnd() < 0.005;
      r[Col.WIN] = zw ? 0 : 65535;
      r[Col.TCP_FLAGS] = ACK;
      r[Col.BITS] = (dup ? DUP : 0) | (zw ? ZW : 0);
      r[Col.RTT] = rnd() * 30;
      r[Col.SRTT] = 15;
      r[Col.RTTVAR] = 3;
      if (dup) r[Col.SACK_N] = 1;
    }
    out.push(r);
  }
  return out;
}

function fill(log: SegmentLog, all: Float64Array[]): void {
  for (const r of all) {
    log.row.set(r);
    if (r[Col.SACK_N]! > 0) log.rowSack.set([r[Col.ACK]! + 1448, r[Col.ACK]! + 2896]);
    log.commit();
  }
}

function logOf(all: Float64Array[], o: SegmentLogOptions): SegmentLog {
  const log = new SegmentLog(o);
  fill(log, all);
  return log;
}

test('below rawCap every segment is kept as it came', () => {
  const all = rows(500);
  const log = logOf(all, { rawCap: 500 });
  assert.equal(log.decimated, false);
  assert.equal(log.n, 500);
  for (let i = 0; i < 500; i++) {
    for (const c of [Col.T, Col.FRAME, Col.SEQ, Col.LEN, Col.BITS, Col.FROM_A]) assert.equal(log.rows[i * COLS + c], all[i]![c]);
  }
});

test('past rawCap every marked segment stays a row and nothing else does', () => {
  const all = rows(20_000);
  const log = logOf(all, { rawCap: 1000, buckets: 256 });
  assert.ok(log.decimated);
  assert.equal(log.segments, 20_000);
  const marked = all.filter((r) => isMarked(r[Col.BITS]!, r[Col.TCP_FLAGS]!)).map((r) => r[Col.FRAME]);
  const kept: number[] = [];
  for (let i = 0; i < log.n; i++) kept.push(log.rows[i * COLS + Col.FRAME]!);
  assert.deepEqual(kept, marked);
  assert.ok(marked.length > 100, 'retransmissions and zero windows are marked');
  assert.equal(isMarked(DUP, ACK), false, 'a duplicate ACK alone is not marked');
});

test('each bucket holds the envelope and the sums of the segments in its time range, per side', () => {
  const all = rows(30_000);
  const nb = 128;
  const log = logOf(all, { rawCap: 2000, buckets: nb });
  const w = log.width;
  assert.ok(w * nb > all[all.length - 1]![Col.T]!, 'the buckets cover the whole connection');
  assert.ok(w * nb / 2 <= all[all.length - 1]![Col.T]!, 'and no more than twice over (the width doubles only when needed)');
  // recompute every bucket from the rows
  const expect = new Map<string, { n: number; seqLo: number; seqHi: number; bytes: number; ackLo: number; ackHi: number; rttLo: number; rttHi: number; dup: number; frLo: number; frHi: number; bif: number }>();
  for (const r of all) {
    const k = Math.min(nb - 1, Math.floor(r[Col.T]! / w));
    const side = r[Col.FROM_A] === 1 ? 0 : 1;
    const key = `${k}/${side}`;
    const e = expect.get(key) ?? { n: 0, seqLo: Infinity, seqHi: -Infinity, bytes: 0, ackLo: Infinity, ackHi: -Infinity, rttLo: Infinity, rttHi: -Infinity, dup: 0, frLo: Infinity, frHi: -Infinity, bif: -Infinity };
    e.n++;
    if (r[Col.LEN]! > 0) {
      e.seqLo = Math.min(e.seqLo, r[Col.SEQ]!);
      e.seqHi = Math.max(e.seqHi, r[Col.SEQ]! + r[Col.LEN]!);
      e.bytes += r[Col.LEN]!;
    }
    if (r[Col.ACK] === r[Col.ACK]) {
      e.ackLo = Math.min(e.ackLo, r[Col.ACK]!);
      e.ackHi = Math.max(e.ackHi, r[Col.ACK]!);
    }
    if (r[Col.RTT] === r[Col.RTT]) {
      e.rttLo = Math.min(e.rttLo, r[Col.RTT]!);
      e.rttHi = Math.max(e.rttHi, r[Col.RTT]!);
    }
    if (r[Col.BIF] === r[Col.BIF]) e.bif = Math.max(e.bif, r[Col.BIF]!);
    if (r[Col.BITS]! & DUP) e.dup++;
    e.frLo = Math.min(e.frLo, r[Col.FRAME]!);
    e.frHi = Math.max(e.frHi, r[Col.FRAME]!);
    expect.set(key, e);
  }
  let checked = 0;
  for (let k = 0; k < nb; k++) {
    for (const side of [0, 1]) {
      const e = expect.get(`${k}/${side}`);
      const f = (x: number): number => log.bucketField(k, side, x);
      if (e === undefined) {
        assert.equal(f(B.N), 0);
        continue;
      }
      checked++;
      assert.deepEqual(
        [f(B.N), f(B.SEQ_LO), f(B.SEQ_HI), f(B.BYTES), f(B.ACK_LO), f(B.ACK_HI), f(B.RTT_LO), f(B.RTT_HI), f(B.DUP), f(B.FRAME_LO), f(B.FRAME_HI), f(B.BIF_HI)],
        [e.n, e.seqLo, e.seqHi, e.bytes, e.ackLo, e.ackHi, e.rttLo, e.rttHi, e.dup, e.frLo, e.frHi, e.bif],
        `bucket ${k} side ${side}`,
      );
    }
  }
  assert.ok(checked > nb, 'most buckets hold segments of both sides');
  assert.equal(log.buckets!.length, nb * 2 * B_FIELDS, 'the number of buckets stays fixed');
});

test('marked segments past markCap are counted in their bucket instead of kept', () => {
  const all = rows(20_000);
  const marked = all.filter((r) => isMarked(r[Col.BITS]!, r[Col.TCP_FLAGS]!)).length;
  const log = logOf(all, { rawCap: 100, markCap: 50, buckets: 64 });
  assert.equal(log.n, 150, 'rawCap + markCap rows at most');
  let over = 0;
  for (let k = 0; k < 64; k++) over += log.bucketField(k, 0, B.MARKS_OVER) + log.bucketField(k, 1, B.MARKS_OVER);
  assert.equal(log.n + over, marked);
});

test('the charts of a decimated connection draw envelopes and keep every mark', () => {
  const all = rows(20_000);
  const log = logOf(all, { rawCap: 1000, buckets: 256 });
  const g: ConnGraphData = { uid: 'CAAAAAAAAAAAAAAAAA', tcpStream: 0, a: '10.0.0.1', aPort: 40000, b: '10.0.0.2', bPort: 443, origIsA: true, firstSec: 0, firstNsec: 0, log, record: null };
  const cc = connCharts(g);
  assert.ok(cc.decimated !== null);
  const orig = cc.dirs[0]!;
  const retx = all.filter((r) => r[Col.FROM_A] === 1 && r[Col.BITS]! & RETX).length;
  assert.equal(orig.marks['R'], retx);
  const tseq = orig.charts[0]!;
  const env = tseq.layers.find((l) => l.key === 'seg' && l.kind === 'band')!;
  assert.equal(env.w, log.width);
  assert.ok(env.t.length <= 256);
  assert.match(tseq.note!, /^decimated: 20,000 segments; every marked segment drawn, the rest as their envelope per \d+ ms bucket$/);
  // throughput from the buckets still integrates to the bytes sent
  const tput = orig.charts.find((c) => c.id === 'tput')!.layers.find((l) => l.key === 'tput')!;
  let bits = 0;
  for (let i = 0; i + 1 < tput.t.length; i++) bits += tput.y![i]! * (tput.t[i + 1]! - tput.t[i]!);
  const bytes = all.filter((r) => r[Col.FROM_A] === 1).reduce((s, r) => s + r[Col.LEN]!, 0);
  assert.ok(Math.abs(bits / 8 - bytes) < bytes * 0.005, `${bits / 8} vs ${bytes}`);
});

test('coverage counts bytes never sent before, filling holes, as the record counts unique bytes', () => {
  const c = new Coverage();
  assert.equal(c.add(1, 101), 100);
  assert.equal(c.add(201, 301), 100, 'past a hole: new');
  assert.equal(c.add(1, 101), 0, 'a retransmission: nothing new');
  assert.equal(c.add(51, 251), 100, 'fills the hole 101-201, the rest was sent');
  assert.equal(c.add(101, 201), 0);
  assert.equal(c.add(301, 301), 0);
  const small = new Coverage(2);
  small.add(0, 10);
  small.add(20, 30);
  small.add(40, 50);
  small.add(60, 70);
  assert.equal(small.add(10, 20), 0, 'the oldest hole past the cap is written off');
  assert.equal(small.add(50, 60), 10);
});
