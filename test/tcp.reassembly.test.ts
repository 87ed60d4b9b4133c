/**
 * StreamReassembler and PagePool: property tests against a byte-by-byte
 * reference model (random segmentation, reordering, duplicates, overlaps with
 * identical and different bytes, snaplen cuts, ACK-driven gaps, sequence
 * numbers near the 2^32 wrap, stream offsets beyond 2^32), cap tests (memory
 * never above the caps, everything back in the pool after flush), and
 * examples for each rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PagePool } from '../src/tcp/page-pool.js';
import { StreamReassembler, type StreamConsumer } from '../src/tcp/reassembly.js';
import { unwrap } from '../src/tcp/seq.js';
import { UsageError } from '../src/util/errors.js';

// ---------------------------------------------------------------- helpers

/** Records what a reassembler delivers: byte per offset, or -1 for a gap byte; checks strict order. */
class Recorder implements StreamConsumer {
  out = new Map<number, number>();
  pos: number;
  gapCalls: [number, number][] = [];
  forcedGapCalls: [number, number][] = [];
  lateCalls: [number, number][] = [];
  dataCalls = 0;
  conflicts: [number, number][] = [];
  views: { buf: Uint8Array; off: number }[] = [];
  constructor(start: number) {
    this.pos = start;
  }
  onData(buf: Uint8Array, off: number, len: number, relSeq: number): void {
    assert.equal(relSeq, this.pos, `data at ${relSeq}, expected ${this.pos}`);
    assert.ok(len > 0, 'empty onData');
    for (let i = 0; i < len; i++) this.out.set(relSeq + i, buf[off + i]!);
    this.pos += len;
    this.dataCalls++;
    this.views.push({ buf, off });
  }
  onGap(relSeq: number, len: number, forced?: boolean): void {
    assert.equal(relSeq, this.pos, `gap at ${relSeq}, expected ${this.pos}`);
    assert.ok(len > 0, 'empty gap');
    for (let i = 0; i < len; i++) this.out.set(relSeq + i, -1);
    this.pos += len;
    this.gapCalls.push([relSeq, len]);
    if (forced) this.forcedGapCalls.push([relSeq, len]);
  }
  onLate(relSeq: number, len: number): void {
    this.lateCalls.push([relSeq, len]);
  }
  onOverlapConflict(relSeq: number, len: number): void {
    this.conflicts.push([relSeq, len]);
  }
}

/** The reference: the same rules, one byte at a time, no caps, an unbounded tail. */
class Model {
  next: number;
  tailStart: number;
  buf = new Map<number, number>(); // offset -> byte, or -2 for "uncaptured"
  out = new Map<number, number>();
  conflictBytes = 0;
  conflicts = 0;
  overlapBytes = 0;
  unchecked = 0;
  /** Bytes that arrived again after delivery and were compared (tail long enough). */
  deliveredOverlap = 0;
  constructor(start: number) {
    this.next = start;
    this.tailStart = start;
  }
  private gapTo(to: number): void {
    for (let o = this.next; o < to; o++) this.out.set(o, -1);
    this.next = to;
    this.tailStart = to;
  }
  private drain(): void {
    for (;;) {
      const v = this.buf.get(this.next);
      if (v === undefined) return;
      this.buf.delete(this.next);
      if (v === -2) this.gapTo(this.next + 1);
      else this.out.set(this.next++, v);
    }
  }
  push(rel: number, bytes: Uint8Array, len: number): void {
    const cap = Math.min(bytes.length, len);
    let differ = false;
    const cmp = (a: number, b: number): void => {
      this.overlapBytes++;
      if (a !== b) {
        differ = true;
        this.conflictBytes++;
      }
    };
    if (rel <= this.next) {
      for (let o = rel; o < rel + cap; o++) {
        const b = bytes[o - rel]!;
        if (o < this.next) {
          if (o >= this.tailStart) {
            cmp(this.out.get(o)!, b);
            this.deliveredOverlap++;
          } else {
            this.overlapBytes++;
            this.unchecked++;
          }
        } else {
          const v = this.buf.get(o);
          if (v !== undefined && v !== -2) cmp(v, b);
          this.buf.delete(o);
          this.out.set(o, b);
          this.next = o + 1;
        }
      }
    } else {
      for (let o = rel; o < rel + cap; o++) {
        const v = this.buf.get(o);
        if (v !== undefined && v !== -2) cmp(v, bytes[o - rel]!);
        else this.buf.set(o, bytes[o - rel]!);
      }
    }
    for (let o = Math.max(rel + cap, this.next); o < rel + len; o++) if (!this.buf.has(o)) this.buf.set(o, -2);
    this.drain();
    if (differ) this.conflicts++;
  }
  private minBuffered(): number {
    let m = Infinity;
    for (const k of this.buf.keys()) if (k < m) m = k;
    return m;
  }
  ackTo(a: number): void {
    for (let m = this.minBuffered(); m < a; m = this.minBuffered()) {
      this.gapTo(m);
      this.drain();
    }
  }
  flush(): void {
    for (let m = this.minBuffered(); m < Infinity; m = this.minBuffered()) {
      this.gapTo(m);
      this.drain();
    }
  }
}

interface Seg {
  start: number;
  len: number;
  cap: number;
  /** XOR mask applied to byte `corruptAt` (0 = identical copy). */
  corruptAt: number;
  corrupt: number;
}
type Event = { kind: 'seg'; seg: Seg } | { kind: 'ack'; at: number };

function segBytes(data: Uint8Array, s: Seg): Uint8Array {
  const b = data.slice(s.start, s.start + s.cap);
  if (s.corrupt !== 0 && s.corruptAt < b.length) b[s.corruptAt]! ^= s.corrupt;
  return b;
}

/** A scenario: the stream's bytes, its cut into segments, lost/duplicated/overlapping/corrupted/cut copies, shuffled, with ACKs. */
const scenarioArb = fc
  .record({
    len: fc.integer({ min: 1, max: 1500 }),
    seed: fc.integer(),
    cuts: fc.array(fc.integer({ min: 1, max: 1499 }), { maxLength: 40 }),
    extras: fc.array(
      fc.record({
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 200 }),
        corrupt: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 255 })),
        corruptAt: fc.nat({ max: 199 }),
      }),
      { maxLength: 12 },
    ),
    drop: fc.array(fc.boolean(), { minLength: 41, maxLength: 41 }),
    trunc: fc.array(fc.nat({ max: 12 }), { minLength: 41, maxLength: 41 }),
    order: fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
    acks: fc.array(fc.record({ pos: fc.nat({ max: 60 }), at: fc.nat() }), { maxLength: 6 }),
  })
  .map((r) => {
    let x = r.seed | 0;
    const data = new Uint8Array(r.len);
    for (let i = 0; i < r.len; i++) {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      data[i] = (x >>> 16) & 0xff;
    }
    const points = [...new Set(r.cuts.filter((c) => c < r.len))].sort((a, b) => a - b);
    const bounds = [0, ...points, r.len];
    const segs: Seg[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      if (r.drop[i] && i % 3 === 1) continue; // some segments lost
      const len = bounds[i + 1]! - bounds[i]!;
      // mostly whole; sometimes the snaplen cuts the tail
      const cut = r.trunc[i]! === 1 ? Math.floor(len / 2) : len;
      segs.push({ start: bounds[i]!, len, cap: cut, corrupt: 0, corruptAt: 0 });
    }
    for (const e of r.extras) {
      // duplicates and overlapping retransmissions, identical or with one byte changed
      const start = e.at % r.len;
      const len = Math.min(e.len, r.len - start);
      segs.push({ start, len, cap: len, corrupt: e.corrupt, corruptAt: e.corruptAt % len });
    }
    const keyed = segs.map((s, i) => ({ s, k: r.order[i % r.order.length]! * 64 + i }));
    keyed.sort((a, b) => a.k - b.k);
    const events: Event[] = keyed.map((k) => ({ kind: 'seg', seg: k.s }));
    for (const a of r.acks) events.splice(Math.min(a.pos, events.length), 0, { kind: 'ack', at: a.at % (r.len + 1) });
    return { data, events };
  });

/** Offsets of the first byte: 0, just below 2^32, far beyond 2^32 (unwrapped offsets are plain numbers). */
const shiftArb = fc.constantFrom(0, 2 ** 32 - 7, 2 ** 40 + 3);
/** Initial sequence numbers near the wrap (the data crosses 0xFFFFFFFF -> 0) or anywhere. */
const isnArb = fc.oneof(fc.integer({ min: 0xffffffff - 1600, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }));

/** Feeds events through 32-bit sequence numbers and unwrap(), as the tracker does. */
function feed(
  events: Event[],
  data: Uint8Array,
  isn: number,
  shift: number,
  onSeg: (rel: number, bytes: Uint8Array, len: number, s: Seg) => void,
  onAck: (rel: number) => void,
): void {
  const base = (isn + 1) >>> 0;
  let near = 0;
  for (const ev of events) {
    const off = ev.kind === 'seg' ? ev.seg.start : ev.at;
    const seq = (base + off) >>> 0;
    const rel = unwrap(base, seq, near);
    assert.equal(rel, off, `unwrap(${base}, ${seq}, ${near})`);
    if (ev.kind === 'seg') {
      near = Math.max(near, rel + ev.seg.len);
      onSeg(rel + shift, segBytes(data, ev.seg), ev.seg.len, ev.seg);
    } else onAck(rel + shift);
  }
}

// ---------------------------------------------------------------- properties

test('without caps the delivered stream is exactly the reference model: bytes, gaps, conflicts, overlap counts', () => {
  fc.assert(
    fc.property(scenarioArb, shiftArb, isnArb, fc.constantFrom(1, 3, 16, 64, 4096), fc.constantFrom(0, 1, 37, 1 << 20), ({ data, events }, shift, isn, pageSize, window) => {
      const pool = new PagePool({ pageSize, maxBytes: 1 << 24 });
      const rec = new Recorder(shift);
      const r = new StreamReassembler(pool, { consumer: rec, maxBufferedPerStream: 1 << 24, overlapWindow: window });
      r.reset(shift);
      const m = new Model(shift);
      feed(
        events,
        data,
        isn,
        shift,
        (rel, bytes, len) => {
          // pass the payload inside a bigger buffer, as a packet view would
          const pkt = new Uint8Array(bytes.length + 7);
          pkt.set(bytes, 5);
          r.push(rel, pkt, 5, len, bytes.length);
          m.push(rel, bytes, len);
          assert.equal(r._check(), '');
        },
        (rel) => {
          r.ackTo(rel);
          m.ackTo(rel);
          assert.equal(r._check(), '');
        },
      );
      r.flush();
      m.flush();
      assert.equal(r._check(), '');
      assert.deepEqual([...rec.out.entries()].sort((a, b) => a[0] - b[0]), [...m.out.entries()].sort((a, b) => a[0] - b[0]));
      const st = r.stats;
      const gapBytes = [...m.out.values()].filter((v) => v === -1).length;
      assert.equal(st.gapBytes, gapBytes);
      assert.equal(st.deliveredBytes, m.out.size - gapBytes);
      assert.equal(st.gaps, rec.gapCalls.length);
      assert.equal(st.forcedGaps, 0);
      assert.equal(st.overlapBytes, m.overlapBytes);
      assert.equal(rec.conflicts.length, st.overlapConflicts);
      if (window === 1 << 20) {
        assert.equal(st.overlapConflictBytes, m.conflictBytes);
        assert.equal(st.overlapConflicts, m.conflicts);
        assert.equal(st.overlapUncheckedBytes, m.unchecked);
      } else {
        // a short tail compares fewer delivered bytes; the delivery itself does not depend on it
        assert.ok(st.overlapConflictBytes <= m.conflictBytes);
        assert.ok(st.overlapUncheckedBytes >= m.unchecked);
        if (window === 0) assert.equal(st.overlapUncheckedBytes, m.unchecked + m.deliveredOverlap);
      }
      assert.equal(st.bufferedBytes, 0);
      assert.equal(r.nextOffset, m.next);
      // every page is back
      assert.equal(pool.stats.inUse, 0);
      assert.equal(st.pages, 0);
    }),
    { numRuns: 400 },
  );
});

test('identical copies: the delivered bytes equal the original wherever they are not reported as gaps', () => {
  fc.assert(
    fc.property(scenarioArb, isnArb, ({ data, events }, isn) => {
      const clean = events.map((e) => (e.kind === 'seg' ? { kind: 'seg' as const, seg: { ...e.seg, corrupt: 0 } } : e));
      const pool = new PagePool({ pageSize: 16, maxBytes: 1 << 20 });
      const rec = new Recorder(0);
      const r = new StreamReassembler(pool, { consumer: rec });
      r.reset(0);
      const captured = new Set<number>();
      feed(clean, data, isn, 0, (rel, bytes, len) => {
        for (let i = 0; i < bytes.length; i++) captured.add(rel + i);
        r.push(rel, bytes, 0, len, bytes.length);
      }, (rel) => r.ackTo(rel));
      r.flush();
      for (const [o, v] of rec.out) if (v !== -1) assert.equal(v, data[o], `byte ${o}`);
      // a byte never captured can only be a gap (a captured one can be too: cut by the snaplen first, captured whole later)
      for (const [o, v] of rec.out) if (!captured.has(o)) assert.equal(v, -1, `uncaptured byte ${o} delivered`);
      assert.equal(r.stats.overlapConflictBytes, 0);
      assert.equal(pool.stats.inUse, 0);
    }),
    { numRuns: 300 },
  );
});

test('with random caps, several streams sharing one pool: order kept, memory within the caps, all pages back after flush', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(scenarioArb, isnArb), { minLength: 1, maxLength: 3 }),
      fc.constantFrom(1, 8, 16, 64),
      fc.nat({ max: 12 }),
      fc.nat({ max: 12 }),
      fc.nat({ max: 4 }),
      fc.integer(),
      (streams, pageSize, poolPages, streamPages, windowPages, mixSeed) => {
        const pool = new PagePool({ pageSize, maxBytes: poolPages * pageSize + (pageSize > 1 ? pageSize - 1 : 0) });
        assert.equal(pool.capPages, poolPages);
        const all = streams.map(([sc, isn]) => {
          const rec = new Recorder(0);
          const r = new StreamReassembler(pool, { consumer: rec, maxBufferedPerStream: streamPages * pageSize, overlapWindow: windowPages * pageSize });
          r.reset(0);
          const captured = new Map<number, Set<number>>();
          const steps: (() => void)[] = [];
          feed(sc.events, sc.data, isn, 0, (rel, bytes, len) => {
            steps.push(() => {
              for (let i = 0; i < bytes.length; i++) {
                let s = captured.get(rel + i);
                if (!s) captured.set(rel + i, (s = new Set()));
                s.add(bytes[i]!);
              }
              r.push(rel, bytes, 0, len, bytes.length);
            });
          }, (rel) => steps.push(() => r.ackTo(rel)));
          return { rec, r, captured, steps, data: sc.data };
        });
        // interleave the streams' events
        let x = mixSeed | 0;
        const idx = all.map(() => 0);
        for (;;) {
          const live = all.map((_, i) => i).filter((i) => idx[i]! < all[i]!.steps.length);
          if (live.length === 0) break;
          x = (Math.imul(x, 1103515245) + 12345) | 0;
          const i = live[(x >>> 8) % live.length]!;
          all[i]!.steps[idx[i]!++]!();
          assert.ok(pool.stats.inUse <= pool.capPages, `pool ${pool.stats.inUse} > cap ${pool.capPages}`);
          for (const s of all) {
            assert.equal(s.r._check(), '');
            // buffer cap + the page holding `next` + tail pages (window, plus one partial page each end)
            assert.ok(s.r.stats.pages <= streamPages + 1 + windowPages + 2, `stream pages ${s.r.stats.pages}`);
          }
        }
        for (const s of all) {
          s.r.flush();
          const st = s.r.stats;
          let gaps = 0;
          for (let o = 0; o < s.r.nextOffset; o++) {
            const v = s.rec.out.get(o);
            assert.notEqual(v, undefined, `offset ${o} neither delivered nor a gap`);
            if (v === -1) gaps++;
            else assert.ok(s.captured.get(o)?.has(v!), `byte ${o} = ${v} was never pushed there`);
          }
          for (let o = 0; o < s.r.nextOffset; o++) if (!s.captured.has(o)) assert.equal(s.rec.out.get(o), -1);
          assert.equal(st.gapBytes, gaps);
          assert.equal(st.deliveredBytes, s.r.nextOffset - gaps);
          assert.ok(st.forcedGapBytes <= st.gapBytes);
          if (poolPages === 0 || streamPages === 0) assert.equal(st.bufferedBytesPeak, 0);
          // the page holding `next` may be a tail page that also takes early bytes
          assert.ok(st.bufferedBytesPeak <= (streamPages + 1) * pageSize);
        }
        assert.equal(pool.stats.inUse, 0);
        assert.ok(pool.stats.peak <= pool.capPages);
      },
    ),
    { numRuns: 400 },
  );
});

// ---------------------------------------------------------------- examples

function setup(o: { pageSize?: number; maxBytes?: number; perStream?: number; window?: number } = {}): { pool: PagePool; r: StreamReassembler; rec: Recorder } {
  const pool = new PagePool({ pageSize: o.pageSize ?? 4096, maxBytes: o.maxBytes ?? 1 << 20 });
  const rec = new Recorder(0);
  const r = new StreamReassembler(pool, {
    consumer: rec,
    ...(o.perStream !== undefined ? { maxBufferedPerStream: o.perStream } : {}),
    ...(o.window !== undefined ? { overlapWindow: o.window } : {}),
  });
  r.reset(0);
  return { pool, r, rec };
}
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (rec: Recorder): string => [...rec.out.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => (v < 0 ? '_' : String.fromCharCode(v))).join('');

test('in-order bytes are passed as views of the pushed buffer; out-of-order bytes come from pool pages', () => {
  const { r, rec, pool } = setup();
  const pkt = bytes('..hello world..');
  r.push(0, pkt, 2, 5, 5);
  assert.equal(rec.views[0]!.buf, pkt);
  assert.equal(rec.views[0]!.off, 2);
  const later = bytes('world');
  r.push(6, later, 0, 5, 5);
  assert.equal(rec.dataCalls, 1);
  assert.equal(r.stats.bufferedBytes, 5);
  r.push(5, bytes(' '), 0, 1, 1);
  assert.equal(text(rec), 'hello world');
  assert.notEqual(rec.views[2]!.buf, later); // the buffered copy, not the caller's buffer
  r.flush();
  assert.equal(pool.stats.inUse, 0);
});

test('a retransmission with different bytes is counted per byte and reported once with its range', () => {
  const { r, rec } = setup();
  r.push(0, bytes('abcdefgh'), 0, 8, 8);
  r.push(2, bytes('cXeYg'), 0, 5, 5); // 2 bytes differ at offsets 3 and 5
  assert.deepEqual(rec.conflicts, [[3, 3]]);
  assert.equal(r.stats.overlapConflictBytes, 2);
  assert.equal(r.stats.overlapBytes, 5);
  // buffered copies are compared too; the first buffered copy is kept
  r.push(10, bytes('klm'), 0, 3, 3);
  r.push(10, bytes('kZm'), 0, 3, 3);
  r.push(8, bytes('ij'), 0, 2, 2);
  assert.equal(text(rec), 'abcdefghijklm');
  assert.equal(r.stats.overlapConflicts, 2);
  assert.equal(r.stats.overlapConflictBytes, 3);
});

test('the segment that continues the stream wins over a buffered copy of the same bytes (as tshark follow)', () => {
  const { r, rec } = setup();
  r.push(4, bytes('EFGH'), 0, 4, 4);
  r.push(0, bytes('abcdef'), 0, 6, 6);
  assert.equal(text(rec), 'abcdefGH');
  assert.equal(r.stats.overlapConflictBytes, 2);
});

test('bytes older than the overlap window are counted as unchecked, not compared', () => {
  const { r } = setup({ pageSize: 4, window: 8 });
  r.push(0, new Uint8Array(40), 0, 40, 40);
  r.push(0, new Uint8Array(40).fill(1), 0, 40, 40);
  assert.equal(r.stats.overlapBytes, 40);
  assert.ok(r.stats.overlapUncheckedBytes >= 40 - 12 && r.stats.overlapUncheckedBytes <= 40 - 8, String(r.stats.overlapUncheckedBytes));
  assert.equal(r.stats.overlapConflictBytes, 40 - r.stats.overlapUncheckedBytes);
});

test('snaplen: the uncaptured tail of a segment is a gap, unless a buffered copy has those bytes', () => {
  const { r, rec } = setup();
  r.push(0, bytes('abcd'), 0, 8, 4); // 4 bytes cut
  assert.deepEqual(rec.gapCalls, [[4, 4]]);
  r.push(12, bytes('mnop'), 0, 4, 4);
  r.push(8, bytes('ij'), 0, 4, 2); // cut, but "mnop" is buffered after the hole
  assert.equal(text(rec), 'abcd____ij__mnop');
  assert.deepEqual(rec.gapCalls, [[4, 4], [10, 2]]);
  const b = setup();
  b.r.push(6, bytes('gh'), 0, 2, 2);
  b.r.push(0, bytes('abcd'), 0, 8, 4); // bytes 6,7 are buffered: only 4,5 are missing
  assert.equal(text(b.rec), 'abcd__gh');
});

test('ackTo: a hole below buffered data that the receiver acknowledged is a gap; an open hole at the end is not', () => {
  const { r, rec } = setup();
  r.push(0, bytes('ab'), 0, 2, 2);
  r.push(5, bytes('fg'), 0, 2, 2);
  r.ackTo(5); // the buffered data starts at the ack: nothing below it to give up yet
  assert.equal(text(rec), 'ab');
  r.ackTo(6);
  assert.equal(text(rec), 'ab___fg');
  assert.deepEqual(rec.gapCalls, [[2, 3]]);
  r.ackTo(100); // nothing buffered: the hole after 7 stays open
  assert.equal(r.nextOffset, 7);
  assert.equal(r.stats.forcedGaps, 0);
});

test('ackPast: as ackTo, and acknowledged bytes the capture never saw are a gap too (application decoders)', () => {
  const { r, rec } = setup();
  r.push(0, bytes('ab'), 0, 2, 2);
  r.push(5, bytes('fg'), 0, 2, 2);
  r.ackPast(4); // below the buffered data: the hole up to the ack is given up, the rest waits
  assert.equal(text(rec), 'ab__');
  r.ackPast(10); // past everything: the buffered run is delivered, the bytes after it are a gap
  assert.equal(text(rec), 'ab___fg___');
  assert.deepEqual(rec.gapCalls, [[2, 2], [4, 1], [7, 3]]);
  assert.equal(r.nextOffset, 10);
  r.push(10, bytes('k'), 0, 1, 1);
  assert.equal(text(rec), 'ab___fg___k');
  r.ackPast(8); // an old ack changes nothing
  assert.equal(r.nextOffset, 11);
});

test('per-stream cap: the oldest buffered data is delivered after its hole is reported as a forced gap', () => {
  const { r, rec, pool } = setup({ pageSize: 4, perStream: 8, window: 0 });
  r.push(0, bytes('ab'), 0, 2, 2);
  r.push(4, bytes('efgh'), 0, 4, 4); // page 1
  r.push(8, bytes('ijkl'), 0, 4, 4); // page 2: 2 pages = the cap
  assert.equal(r.stats.bufferedBytes, 8);
  r.push(16, bytes('qr'), 0, 2, 2); // needs a third page: give up hole 2..3, deliver e..l
  assert.equal(text(rec), 'ab__efghijkl');
  assert.equal(r.stats.forcedGaps, 1);
  assert.equal(r.stats.forcedGapBytes, 2);
  assert.equal(r.stats.bufferedBytes, 2);
  r.flush();
  assert.equal(text(rec), 'ab__efghijkl____qr');
  assert.equal(r.stats.gapBytes, 6);
  assert.equal(r.stats.forcedGapBytes, 2);
  assert.equal(pool.stats.inUse, 0);
});

test('a hole given up at a cap is reported as forced, the holes of the flush are not; bytes that come for it later are late, not overlaps', () => {
  const { r, rec } = setup({ pageSize: 4, perStream: 8, window: 0 });
  r.push(0, bytes('ab'), 0, 2, 2);
  r.push(6, bytes('gh'), 0, 2, 2); // buffered after a hole 2..5
  r.push(2, bytes('cd'), 0, 2, 2); // fills part of it
  r.push(20, bytes('uvwx'), 0, 4, 4);
  r.push(28, bytes('CDEF'), 0, 4, 4); // a third page: the cap gives up hole 4..5
  assert.deepEqual(rec.forcedGapCalls, [[4, 2]]);
  r.push(4, bytes('ef'), 0, 2, 2); // the given-up bytes arrive after all
  assert.deepEqual(rec.lateCalls, [[4, 2]]);
  assert.equal(r.stats.lateBytes, 2);
  assert.equal(r.stats.overlapBytes, 0);
  r.push(6, bytes('gh'), 0, 2, 2); // a real retransmission of delivered bytes
  assert.equal(r.stats.overlapBytes, 2);
  r.flush();
  // the hole 8..19 comes out as a plain gap; the forced one stayed apart
  assert.deepEqual(rec.gapCalls.slice(-3), [[4, 2], [8, 12], [24, 4]]);
  assert.deepEqual(rec.forcedGapCalls, [[4, 2]]);
});

test('a segment bigger than the per-stream cap skips the hole before it and goes straight through', () => {
  const { r, rec } = setup({ pageSize: 4, perStream: 4 });
  r.push(2, bytes('cdefghij'), 0, 8, 8);
  assert.equal(text(rec), '__cdefghij');
  assert.equal(r.stats.forcedGaps, 1);
  assert.equal(r.stats.bufferedBytesPeak, 0);
});

test('global cap: tail pages are taken back from the least recently used stream before any data is given up', () => {
  const pool = new PagePool({ pageSize: 4, maxBytes: 16 }); // 4 pages
  const ra = new Recorder(0), rb = new Recorder(0);
  const a = new StreamReassembler(pool, { consumer: ra, overlapWindow: 8 });
  const b = new StreamReassembler(pool, { consumer: rb, overlapWindow: 0 });
  a.reset(0);
  b.reset(0);
  a.push(0, bytes('abcdefghijkl'), 0, 12, 12); // a keeps a tail of 8..12 bytes in pool pages
  const tailPages = pool.stats.inUse;
  assert.ok(tailPages >= 2);
  b.push(4, bytes('efghijklmnop'), 0, 12, 12); // b needs 3 pages
  assert.equal(b.stats.forcedGaps, 0);
  assert.equal(b.stats.bufferedBytes, 12);
  assert.ok(pool.stats.reclaimedTailPages >= 1);
  assert.ok(pool.stats.inUse <= 4);
  // a lost (part of) its tail: a retransmission of old bytes is now unchecked
  a.push(0, bytes('abcd'), 0, 4, 4);
  assert.equal(a.stats.overlapUncheckedBytes, 4);
  b.push(20, bytes('uv'), 0, 2, 2); // the 4th page
  assert.equal(b.stats.forcedGaps, 0);
  // the pool is full of b's buffer and nobody has a tail: one more page is a cap hit and a forced gap
  b.push(28, bytes('xy'), 0, 2, 2);
  assert.equal(pool.stats.capHits, 1);
  assert.equal(b.stats.forcedGaps, 1);
  assert.equal(text(rb), '____efghijklmnop');
  a.flush();
  b.flush();
  assert.equal(pool.stats.inUse, 0);
});

test('sequence numbers across 0xFFFFFFFF -> 0 unwrap to consecutive offsets', () => {
  const { r, rec } = setup();
  const isn = 0xfffffffa;
  const base = (isn + 1) >>> 0; // 0xfffffffb: 5 bytes before the wrap
  let near = 0;
  const segs: [number, string][] = [
    [(base + 8) >>> 0, 'ijkl'], // after the wrap, early
    [base, 'abcd'],
    [(base + 4) >>> 0, 'efgh'], // 0xffffffff .. 3: straddles the wrap
  ];
  for (const [seq, s] of segs) {
    const rel = unwrap(base, seq, near);
    near = Math.max(near, rel + s.length);
    r.push(rel, bytes(s), 0, s.length, s.length);
  }
  assert.equal(((base + 4) >>> 0), 0xffffffff);
  assert.equal(text(rec), 'abcdefghijkl');
});

test('steady state: recycled pages, no new page objects after warm-up', () => {
  const { r, pool } = setup({ pageSize: 64, window: 4096 });
  const seg = new Uint8Array(100).fill(7);
  let off = 0;
  const round = (): void => {
    // one segment lost and retransmitted after three later ones, every round
    r.push(off + 100, seg, 0, 100, 100);
    r.push(off + 200, seg, 0, 100, 100);
    r.push(off + 300, seg, 0, 100, 100);
    r.push(off, seg, 0, 100, 100);
    off += 400;
  };
  for (let i = 0; i < 50; i++) round();
  const created = pool.stats.created;
  for (let i = 0; i < 2000; i++) round();
  assert.equal(pool.stats.created, created);
  // the tail (4096 / 64 = 64 pages, + 1 partial) and at most 5 pages of the three early segments
  assert.ok(r.stats.pagesPeak <= 64 + 1 + 5 + 1, String(r.stats.pagesPeak));
  assert.equal(r.stats.gapBytes, 0);
  assert.equal(r.stats.deliveredBytes, off);
});

test('reset drops everything held and starts a new stream at the given offset', () => {
  const { r, rec, pool } = setup();
  r.push(10, bytes('x'), 0, 1, 1);
  assert.ok(pool.stats.inUse > 0);
  r.reset(100);
  assert.equal(pool.stats.inUse, 0);
  assert.equal(r.stats.segments, 0);
  rec.pos = 100;
  r.push(100, bytes('y'), 0, 1, 1);
  assert.equal(rec.out.get(100), 'y'.charCodeAt(0));
});

test('options are validated once, with exact messages', () => {
  const pool = new PagePool();
  assert.equal(pool.pageSize, 4096);
  assert.equal(pool.capPages, 16384);
  const consumer = { onData() {}, onGap() {} };
  assert.throws(() => new PagePool({ maxBytes: -1 }), (e: unknown) => e instanceof UsageError && e.code === 'REASSEMBLY_BAD_OPTION' && e.message === 'maxBytes: expected a whole number of bytes >= 0, got -1');
  assert.throws(() => new PagePool({ pageSize: 0 }), { message: 'pageSize: expected a whole number of bytes from 1 to 1048576, got 0' });
  assert.throws(() => new StreamReassembler(pool, { consumer, maxBufferedPerStream: 1.5 }), { message: 'maxBufferedPerStream: expected a whole number of bytes >= 0, got 1.5' });
  assert.throws(() => new StreamReassembler(pool, { consumer, overlapWindow: -2 }), { message: 'overlapWindow: expected a whole number of bytes >= 0, got -2' });
  assert.throws(() => new StreamReassembler(pool, { consumer: {} as StreamConsumer }), { message: 'consumer: expected an object with onData and onGap functions' });
});
