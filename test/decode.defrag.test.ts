/**
 * IP defragmentation under a flood of fragments that never complete: the
 * datagrams that do complete in between are still rebuilt, the rest are
 * dropped oldest first and counted, the bytes held stay within the cap of
 * the budget account they are charged to, and everything is released at
 * the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Defragmenter } from '../src/decode/defrag.js';
import { decodePacket } from '../src/decode/packet.js';
import { Decoded, Outcome } from '../src/decode/decoded.js';
import { PacketView, LinkType } from '../src/capture/packet.js';
import { MemoryBudget } from '../src/util/memory-budget.js';

/** An IPv4 fragment (raw IP) of a UDP datagram: `payload` bytes at `offset` (a multiple of 8). */
function fragment(src: number, id: number, offset: number, payload: Buffer, more: boolean): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE((more ? 0x2000 : 0) | (offset >> 3), 6);
  b[8] = 64;
  b[9] = 17;
  b.writeUInt32BE(src >>> 0, 12);
  b.writeUInt32BE(0x0a000001, 16);
  payload.copy(b, 20);
  return b;
}

test('a flood of fragments that never complete: complete datagrams in between are rebuilt, the rest counted, memory capped and released', () => {
  const budget = new MemoryBudget(64 * 1024 * 1024);
  const account = budget.account('ip fragments', 1024 * 1024);
  const df = new Defragmenter(30_000, 8192, 0, account);
  const d = new Decoded();
  const pv = new PacketView();
  pv.linkType = LinkType.RAW;
  const feed = (b: Buffer, ms: number): boolean => {
    pv.buf = b;
    pv.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    pv.off = 0;
    pv.caplen = pv.origlen = b.length;
    pv.sec = Math.floor(ms / 1000);
    pv.nsec = (ms % 1000) * 1e6;
    assert.equal(decodePacket(pv, d), Outcome.FRAGMENT);
    return df.add(pv, d, ms);
  };
  const udp = Buffer.alloc(1600);
  udp.writeUInt16BE(5000, 0);
  udp.writeUInt16BE(53, 2);
  udp.writeUInt16BE(udp.length, 4);
  let rebuilt = 0;
  let peak = 0;
  for (let i = 0; i < 20_000; i++) {
    const ms = 1_000_000 + i;
    // a first fragment whose rest never comes
    feed(fragment(0x0b000000 + i, i & 0xffff, 0, udp.subarray(0, 800), true), ms);
    if (i % 100 === 50) {
      // a datagram sent in two fragments, second one first
      const src = 0x0c000000 + i;
      assert.equal(feed(fragment(src, 7, 800, udp.subarray(800), false), ms), false);
      assert.equal(feed(fragment(src, 7, 0, udp.subarray(0, 800), true), ms), true);
      assert.equal(df.assembled.caplen, 20 + udp.length);
      assert.ok(df.assembled.buf.subarray(20, 20 + udp.length).equals(udp));
      rebuilt++;
    }
    peak = Math.max(peak, account.used);
  }
  assert.equal(rebuilt, 200);
  assert.equal(df.stats.reassembled, 200);
  assert.ok(peak <= account.cap, `held ${peak} bytes, cap ${account.cap}`);
  df.finish();
  assert.equal(df.stats.incompleteFragments, 20_000);
  assert.equal(account.used, 0);
  assert.equal(budget.used, 0);
});
