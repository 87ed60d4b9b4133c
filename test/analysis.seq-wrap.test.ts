/**
 * Metamorphic test of the sequence analysis across the 2^32 wrap: real
 * captures with data transfer are rewritten so that every direction's
 * sequence numbers (and the peer's ACK numbers and SACK edges that refer to
 * them) are shifted by an offset that puts the direction's first sequence
 * number a little before 0xFFFFFFFF, so the transfer crosses 2^32 -> 0.
 * The analysis must not notice: the conn records (every field) and the
 * per-frame flags, dup-ACK numbers, ACK RTTs and bytes in flight must equal
 * those of the unshifted capture.
 *
 * The shifted capture is written as a pcap file by copying the records and
 * patching the TCP header fields (checksums are left stale; tcpkit does not
 * check them). The ack field is shifted only when the ACK bit is set: without
 * it the field carries no sequence number (a SYN's ack is usually 0).
 *
 * Property tests cover the wrap-sensitive helpers and a synthetic metamorphic
 * check on random segment streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { PacketView } from '../src/capture/packet.js';
import { decodePacket } from '../src/decode/packet.js';
import { Decoded, Outcome, IPPROTO_TCP, ACK, SYN, FIN } from '../src/decode/decoded.js';
import { SeqAnalysis, seqOffset, relSeq } from '../src/analysis/seq-analysis.js';
import type { RecordValues } from '../src/records/schema.js';
import { runCapture, captureOf } from './_seq-helpers.js';

/** Endpoint key of a decoded packet's sender or receiver. */
function ep(d: Decoded, src: boolean): string {
  return src ? `${d.sa0},${d.sa1},${d.sa2},${d.sa3}:${d.sport}` : `${d.da0},${d.da1},${d.da2},${d.da3}:${d.dport}`;
}

interface TcpAt {
  /** Offset of the TCP header in the file. */
  off: number;
  seqSpace: string;
  ackSpace: string;
  seq: number;
  ack: number;
  flags: number;
  /** File offsets of SACK edges (4-byte fields) in the options, captured ones only. */
  sackEdges: number[];
}

/** Walks a little-endian classic pcap and returns the TCP headers to patch. */
function tcpHeaders(buf: Buffer): TcpAt[] {
  const magic = buf.readUInt32LE(0);
  assert.ok(magic === 0xa1b2c3d4 || magic === 0xa1b23c4d, 'little-endian classic pcap expected');
  const linkType = buf.readUInt32LE(20) & 0x0fffffff;
  const pv = new PacketView();
  pv.buf = buf;
  pv.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  pv.linkType = linkType;
  const d = new Decoded();
  const out: TcpAt[] = [];
  for (let p = 24; p + 16 <= buf.length; ) {
    const caplen = buf.readUInt32LE(p + 8);
    pv.off = p + 16;
    pv.caplen = caplen;
    pv.origlen = buf.readUInt32LE(p + 12);
    const outcome = decodePacket(pv, d);
    if (outcome === Outcome.OK && d.proto === IPPROTO_TCP && d.tunnelDepth === 0) {
      const o = d.l4Off;
      const sackEdges: number[] = [];
      const hl = (buf[o + 12]! >> 4) * 4;
      const end = Math.min(o + hl, pv.off + caplen);
      for (let q = o + 20; q < end; ) {
        const kind = buf[q]!;
        if (kind === 0) break;
        if (kind === 1) {
          q++;
          continue;
        }
        const len = buf[q + 1]!;
        if (len < 2 || q + len > end) break;
        if (kind === 5) for (let e = q + 2; e + 4 <= q + len; e += 4) sackEdges.push(e);
        q += len;
      }
      out.push({ off: o, seqSpace: `${ep(d, true)}>${ep(d, false)}`, ackSpace: `${ep(d, false)}>${ep(d, true)}`, seq: d.seq, ack: d.ack, flags: d.flags, sackEdges });
    }
    p += 16 + caplen;
  }
  return out;
}

/**
 * Writes `src` shifted: each sequence space's first number seen (its owner's
 * seq, or the peer's ack - 1) becomes 0xFFFFFFFF - `before`, so with a SYN
 * first the first data byte is at sequence number 2^32 - before (0 when
 * `before` is 0). Returns the number of TCP segments patched.
 */
function shiftCapture(src: string, dst: string, before: number): number {
  const buf = Buffer.from(readFileSync(src));
  const hdrs = tcpHeaders(buf);
  const first = new Map<string, number>();
  for (const h of hdrs) {
    if (!first.has(h.seqSpace)) first.set(h.seqSpace, h.seq);
    if (h.flags & ACK && !first.has(h.ackSpace)) first.set(h.ackSpace, (h.ack - 1) >>> 0);
  }
  const off = new Map<string, number>();
  for (const [k, v] of first) off.set(k, (0xffffffff - before - v) >>> 0);
  let patched = 0;
  for (const h of hdrs) {
    const so = off.get(h.seqSpace)!;
    buf.writeUInt32BE((h.seq + so) >>> 0, h.off + 4);
    if (h.flags & ACK) {
      const ao = off.get(h.ackSpace)!;
      buf.writeUInt32BE((h.ack + ao) >>> 0, h.off + 8);
      for (const e of h.sackEdges) buf.writeUInt32BE((buf.readUInt32BE(e) + ao) >>> 0, e);
    }
    patched++;
  }
  writeFileSync(dst, buf);
  return patched;
}

const CAPTURES = ['http-loss-netem.pcap', 'zeek__tcp-ssh-dups.pcap', 'scenarios.pcap', 'zero-window.pcap', 'zeek__tcp-retransmit-fast009.pcap'];
/** Bytes before 2^32 where each direction starts: 0 puts the byte after a SYN exactly at sequence number 0. */
const BEFORE = [0, 1000, 2896];

const dir = mkdtempSync(join(tmpdir(), 'tcpkit-seqwrap-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const name of CAPTURES) {
  const cap = captureOf(name);
  test(`${name}: shifting sequence numbers across 2^32 changes no record and no frame's analysis`, { skip: cap === null ? 'capture not in fixtures' : false }, async () => {
    const base = await runCapture(cap!);
    assert.ok(base.frames.size > 0);
    for (const before of BEFORE) {
      const out = join(dir, `${before}-${name}`);
      const n = shiftCapture(cap!, out, before);
      assert.equal(n, base.frames.size, 'every analysed TCP segment was patched');
      const shifted = await runCapture(out);
      // the shift really crossed the wrap somewhere
      const diffFrames: string[] = [];
      for (const [frame, f] of base.frames) {
        const g = shifted.frames.get(frame);
        if (!g || g.flags !== f.flags || g.ackRttUs !== f.ackRttUs || g.bif !== f.bif) diffFrames.push(`frame ${frame} (before ${before}): [${f.flags}] rtt ${f.ackRttUs} bif ${f.bif} -> [${g?.flags}] rtt ${g?.ackRttUs} bif ${g?.bif}`);
      }
      assert.deepEqual(diffFrames, []);
      // whole records: uid and community_id depend on addresses, ports and times only
      assert.deepEqual(shifted.records, base.records, `records differ (before ${before})`);
    }
  });
}

test('the rewritten capture really wraps: some direction has sequence numbers on both sides of 0', () => {
  const cap = captureOf('http-loss-netem.pcap')!;
  const out = join(dir, 'check.pcap');
  shiftCapture(cap, out, 1000);
  const hdrs = tcpHeaders(readFileSync(out));
  const hi = new Set<string>(), lo = new Set<string>();
  for (const h of hdrs) {
    if (h.seq >= 0xff000000) hi.add(h.seqSpace);
    if (h.seq < 0x01000000) lo.add(h.seqSpace);
  }
  assert.ok([...hi].some((k) => lo.has(k)));
});

// ---- property tests of the wrap-sensitive helpers

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nearWrap = fc.integer({ min: 0xfffff000, max: 0xffffffff });

test('seqOffset: the offset of base + k is k for every base (near the wrap too) and |k - near| < 2^31', () => {
  fc.assert(
    fc.property(fc.oneof(u32, nearWrap), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }), (base, near, delta) => {
      const k = near + delta;
      fc.pre(k >= 0);
      return seqOffset(base, (base + k) % 2 ** 32, near) === k;
    }),
  );
  assert.equal(seqOffset(0xffffffff, 0, 0), 1);
  assert.equal(seqOffset(0xfffffc00, 0x100, 0x400), 0x500);
  assert.equal(seqOffset(0xfffffc00, 0xfffffbff, 0), -1);
});

test('relSeq: relative sequence numbers are (seq - base) mod 2^32', () => {
  fc.assert(fc.property(fc.oneof(u32, nearWrap), fc.integer({ min: 0, max: 0xffffffff }), (base, k) => relSeq(base, (base + k) % 2 ** 32) === k));
  assert.equal(relSeq(0xffffffff, 0), 1);
  assert.equal(relSeq(0xfffffff0, 0x10), 0x20);
});

/** A synthetic one-connection segment stream: client SYN, server SYN/ACK, then data segments (possibly lost, duplicated, reordered) and ACKs. */
interface Seg {
  fromA: boolean;
  seq: number;
  ack: number;
  flags: number;
  len: number;
  win: number;
  t: number;
}

function drive(segs: Seg[], isnA: number, isnB: number): string[] {
  const sa = new SeqAnalysis();
  sa.reset();
  const d = new Decoded();
  const out: string[] = [];
  for (const s of segs) {
    d.seq = (s.seq + (s.fromA ? isnA : isnB)) % 2 ** 32;
    d.ack = s.flags & ACK ? (s.ack + (s.fromA ? isnB : isnA)) % 2 ** 32 : 0;
    d.flags = s.flags;
    d.payloadLen = s.len;
    d.window = s.win;
    d.wscale = s.flags & SYN ? 7 : -1;
    d.sackCount = 0;
    const f = sa.onSegment(s.fromA, d, 1_700_000_000 + Math.floor(s.t / 1e9), s.t % 1e9, out.length + 1);
    out.push(`${f}/${sa.dupAckNum}/${sa.hasAckRtt ? sa.ackRttMs : '-'}/${sa.bytesInFlight}/${sa.gapBytes}`);
  }
  const r: RecordValues = {};
  sa.fill(r, true);
  out.push(JSON.stringify(r));
  return out;
}

const streamArb = fc
  .array(fc.record({ kind: fc.integer({ min: 0, max: 9 }), len: fc.integer({ min: 0, max: 1500 }), back: fc.integer({ min: 0, max: 4 }), dt: fc.integer({ min: 0, max: 30_000_000 }), win: fc.integer({ min: 0, max: 3 }) }), { maxLength: 60 })
  .map((ops) => {
    // build relative segments: offsets from each side's ISN
    const segs: Seg[] = [];
    let t = 0;
    segs.push({ fromA: true, seq: 0, ack: 0, flags: SYN, len: 0, win: 65535, t });
    t += 1_000_000;
    segs.push({ fromA: false, seq: 0, ack: 1, flags: SYN | ACK, len: 0, win: 65535, t });
    t += 1_000_000;
    let next = 1; // server's next byte offset
    const sent: number[] = [];
    let acked = 1;
    for (const op of ops) {
      t += op.dt;
      const win = [0, 1, 500, 1000][op.win]!;
      if (op.kind <= 4) {
        // server data, in order, or a resend of an earlier segment
        if (op.back > 0 && sent.length >= op.back) {
          const s = sent[sent.length - op.back]!;
          segs.push({ fromA: false, seq: s, ack: 1, flags: ACK, len: op.len || 1, win: 1000, t });
        } else {
          const len = op.len;
          if (op.kind === 4) next += 100; // a gap: lost before the capture point
          segs.push({ fromA: false, seq: next, ack: 1, flags: ACK, len, win: 1000, t });
          sent.push(next);
          next += len;
        }
      } else if (op.kind <= 8) {
        // client ACK: up to some point already sent (or a duplicate)
        if (op.kind === 8 && sent.length > 0) acked = sent[Math.max(0, sent.length - 1 - op.back)]!;
        else acked = Math.max(acked, next - op.back * 10);
        segs.push({ fromA: true, seq: 1, ack: acked, flags: ACK, len: 0, win, t });
      } else {
        segs.push({ fromA: false, seq: next, ack: 1, flags: FIN | ACK, len: 0, win: 1000, t });
      }
    }
    return segs;
  });

test('synthetic streams: flags, RTTs, bytes in flight and record fields do not depend on the ISNs (ISNs just before 2^32 included)', () => {
  fc.assert(
    fc.property(streamArb, fc.oneof(u32, nearWrap), fc.oneof(u32, nearWrap), (segs, isnA, isnB) => {
      assert.deepEqual(drive(segs, isnA, isnB), drive(segs, 1000, 5000));
    }),
    { numRuns: 300 },
  );
});
