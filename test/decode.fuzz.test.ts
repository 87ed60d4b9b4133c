/**
 * decodePacket on damaged packets: every frame of the tunnel and link-layer
 * captures (tcpdump's encap/ set and the crafted zoo), cut at every length
 * and with bytes flipped at random (fast-check, fixed seed), must decode to
 * an outcome without throwing (a DataView read past the end would throw a
 * RangeError) and never report more layers than it has room for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { PacketView } from '../src/capture/packet.js';
import { Decoded, MAX_ENCAP, MAX_TUNNELS, OUTCOME_NAMES } from '../src/decode/decoded.js';
import { decodePacket } from '../src/decode/packet.js';
import { FIX } from './_fixtures.js';
import { readPcap } from './_capture-helpers.js';

interface Frame {
  linkType: number;
  data: Buffer;
}

function frames(): Frame[] {
  const out: Frame[] = [];
  const files = [...readdirSync(join(FIX, 'encap')).map((f) => join(FIX, 'encap', f)), join(FIX, 'crafted/encap-zoo.pcap')];
  for (const f of files) {
    const p = readPcap(readFileSync(f));
    for (const r of p.records) out.push({ linkType: p.header.linkType, data: r.data });
  }
  return out;
}

const d = new Decoded();
const pv = new PacketView();

function decode(linkType: number, data: Buffer): number {
  pv.buf = data;
  pv.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  pv.off = 0;
  pv.caplen = data.length;
  pv.origlen = data.length;
  pv.linkType = linkType;
  const o = decodePacket(pv, d);
  assert.ok(o >= 0 && o < OUTCOME_NAMES.length, `outcome ${o}`);
  assert.ok(d.encapCount <= MAX_ENCAP && d.tunnelDepth <= MAX_TUNNELS);
  return o;
}

const ALL = frames();

test('every frame of the tunnel captures, cut at every length, decodes without throwing', () => {
  assert.ok(ALL.length > 300, `${ALL.length} frames`);
  let n = 0;
  for (const f of ALL) {
    for (let len = 0; len <= Math.min(f.data.length, 400); len++) {
      decode(f.linkType, Buffer.from(f.data.subarray(0, len)));
      n++;
    }
  }
  assert.ok(n > 10_000);
});

test('frames of the tunnel captures with random bytes changed decode without throwing', () => {
  fc.assert(
    fc.property(fc.nat(ALL.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }), (i, edits) => {
      const f = ALL[i]!;
      const data = Buffer.from(f.data);
      // damage the headers, where the decoders read (the first 160 bytes)
      for (const [pos, byte] of edits) data[pos % Math.min(data.length, 160)] = byte;
      decode(f.linkType, data);
    }),
    { seed: 18, numRuns: 20_000 },
  );
});

test('any frame read as any supported link type decodes without throwing', () => {
  const LINK_TYPES = [0, 1, 9, 10, 12, 14, 50, 101, 104, 108, 113, 129, 228, 229, 239, 242, 276];
  fc.assert(
    fc.property(fc.nat(ALL.length - 1), fc.constantFrom(...LINK_TYPES), fc.nat(64), (i, lt, cut) => {
      const f = ALL[i]!;
      decode(lt, Buffer.from(f.data.subarray(Math.min(cut, f.data.length))));
    }),
    { seed: 1801, numRuns: 20_000 },
  );
});
