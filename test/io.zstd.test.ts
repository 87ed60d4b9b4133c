/**
 * src/io/zstd.ts: the zstd streams of this Node.js (node:zlib, or the zstd
 * program) decompress every frame, skip skippable frames, round-trip what
 * they compress, and report a cut frame or trailing bytes with one message
 * whatever the backend (node:zlib alone skips trailing garbage).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ZstdFrameWalker, createZstdCompress, zstdBackend, zstdDecompressBuffer } from '../src/io/zstd.js';
import { compress, decompress } from './_zstd.js';

const A = Buffer.from('{"record":"conn"}\n'.repeat(5000));
const B = randomBytes(100_000);
const SKIPPABLE = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);

async function compressed(b: Buffer, o = {}): Promise<Buffer> {
  const c = createZstdCompress(o);
  const parts: Buffer[] = [];
  c.on('data', (x: Buffer) => parts.push(x));
  const done = new Promise((r, j) => (c.on('end', r), c.on('error', j)));
  for (let i = 0; i < b.length; i += 7000) c.write(b.subarray(i, i + 7000));
  c.end();
  await done;
  return Buffer.concat(parts);
}

test(`frames, skippable frames and random data round-trip (${zstdBackend()})`, async () => {
  const input = Buffer.concat([compress(A), SKIPPABLE, compress(B), await compressed(A)]);
  assert.deepEqual(await zstdDecompressBuffer(input), Buffer.concat([A, B, A]));
  const small = await compressed(B, { level: 3, windowLog: 16, hashLog: 12, chainLog: 12 });
  assert.deepEqual(decompress(small), B);
  assert.equal(small.readUInt32LE(0), 0xfd2fb528);
  assert.equal((small[4]! >> 2) & 1, 1, 'the frame has a checksum');
});

test('a cut frame and bytes after the last frame are errors that say where', async () => {
  const z = Buffer.concat([compress(A), compress(B)]);
  await assert.rejects(zstdDecompressBuffer(z.subarray(0, z.length - 10)), { message: `the input ends inside a zstd frame (frame 2, at compressed byte ${z.length - 10})` });
  await assert.rejects(zstdDecompressBuffer(Buffer.concat([z, Buffer.from('garbage!')])), { message: `no zstd frame starts at compressed byte ${z.length} (after 2 complete frames)` });
});

test('the frame walker follows frames fed one byte at a time', () => {
  const z = Buffer.concat([compress(A), SKIPPABLE, compress(Buffer.alloc(0)), compress(B)]);
  const w = new ZstdFrameWalker();
  for (const b of z) w.push(Buffer.from([b]));
  w.end();
  assert.equal(w.frames, 4);
  assert.equal(w.offset, z.length);
});
