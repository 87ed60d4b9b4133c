/**
 * missed_bytes and the G/g history letter follow Zeek's reassembler: a hole
 * in one side's data counts when the other side acknowledges past it, never
 * otherwise (docs/zeek-state.md, "Content gaps"). Four made captures: a
 * 14,000-byte and a 1 GiB hole, acknowledged past or not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import type { RecordValues } from '../src/records/schema.js';
import { writePcap } from './_capture-helpers.js';

const FIN = 1, SYN = 2, PSH = 8, ACK = 16;

function pkt(fromClient: boolean, seq: number, ack: number, flags: number, len = 0): Buffer {
  const b = Buffer.alloc(40 + len);
  b.fill(0x61, 40);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[6] = 0x40;
  b[8] = 64;
  b[9] = 6;
  b.writeUInt32BE(fromClient ? 0x0a000002 : 0x0a000001, 12);
  b.writeUInt32BE(fromClient ? 0x0a000001 : 0x0a000002, 16);
  b.writeUInt16BE(fromClient ? 40000 : 80, 20);
  b.writeUInt16BE(fromClient ? 80 : 40000, 22);
  b.writeUInt32BE(seq >>> 0, 24);
  b.writeUInt32BE(ack >>> 0, 28);
  b[32] = 0x50;
  b[33] = flags;
  b.writeUInt16BE(65535, 34);
  return b;
}

/** Handshake, 1000 bytes, a hole of `gap` bytes, 1000 bytes, FIN/FIN/ACK; the server ACKs past the hole or only up to it. */
function capture(gap: number, ackedPast: boolean): Buffer {
  const ci = 1000, si = 5000;
  const s = ci + 1, s2 = s + 1000 + gap, end = s2 + 1000;
  const upTo = ackedPast ? end : s + 1000;
  const p = [
    pkt(true, ci, 0, SYN),
    pkt(false, si, ci + 1, SYN | ACK),
    pkt(true, ci + 1, si + 1, ACK),
    pkt(true, s, si + 1, PSH | ACK, 1000),
    pkt(false, si + 1, s + 1000, ACK),
    pkt(true, s2, si + 1, PSH | ACK, 1000),
    pkt(false, si + 1, upTo, ACK),
    pkt(true, end, si + 1, FIN | ACK),
    pkt(false, si + 1, ackedPast ? end + 1 : upTo, FIN | ACK),
    pkt(true, end + 1, si + 2, ACK),
  ];
  return writePcap(p.map((data, i) => ({ ts: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, data })), { linkType: 101 });
}

for (const gap of [14_000, 2 ** 30]) {
  for (const ackedPast of [true, false]) {
    test(`a ${gap}-byte hole ${ackedPast ? 'the receiver acknowledges past: missed_bytes counts it and history has G' : 'never acknowledged: missed_bytes 0 and no G, as Zeek; the record still shows it as a lost segment'}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tcpkit-gap-'));
      try {
        const path = join(dir, 'gap.pcap');
        writeFileSync(path, capture(gap, ackedPast));
        const recs: RecordValues[] = [];
        await analyzeCaptures([{ path }], { onRecord: (r) => recs.push(r) });
        assert.equal(recs.length, 1);
        const r = recs[0]!;
        assert.equal(r['conn_state'], 'SF');
        assert.equal(r['history'], ackedPast ? 'ShADaGFf' : 'ShADaFf');
        assert.equal(r['missed_bytes'], ackedPast ? gap : 0);
        assert.equal(r['orig_bytes'], 2000 + gap);
        assert.equal(r['orig_unique_bytes'], 2000);
        assert.equal(r['orig_lost_segment'], 1);
        assert.equal(r['resp_ack_lost_segment'], ackedPast ? 1 : 0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
