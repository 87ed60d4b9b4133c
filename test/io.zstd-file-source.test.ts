/**
 * ZstdFileSource (src/io/zstd-file-source.ts): zstd files decompressed
 * straight into a ByteWindow: concatenated and skippable frames, frames with
 * and without a content size, tiny windows; truncation and garbage are
 * ZSTD_CORRUPT errors; a damaged block loses nothing decoded before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Compressor, DecompressStream, compress, decompress } from 'zstd-napi';
import { ToolError } from '../src/util/errors.js';
import { ByteWindow } from '../src/io/window.js';
import { ZstdFileSource } from '../src/io/zstd-file-source.js';

const FIX = new URL('../../fixtures/tcpinfo/repo/', import.meta.url).pathname;

async function readAll(bytes: Buffer, windowSize: number): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'zstd-source-'));
  try {
    const path = join(dir, 'x.zst');
    writeFileSync(path, bytes);
    const w = new ByteWindow(new ZstdFileSource(await open(path, 'r'), path), path, windowSize);
    const parts: Buffer[] = [];
    try {
      while (await w.fill(1)) {
        parts.push(Buffer.from(w.buf.subarray(w.pos, w.end)));
        w.pos = w.end;
      }
    } finally {
      await w.close();
    }
    return Buffer.concat(parts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const A = readFileSync(join(FIX, 'ndt-jdczh_1553815964_00000000000003E8.00183.jsonl.zst'));
const B = readFileSync(join(FIX, 'finwait2-sample_1554836592_unsafe_000000000135A272.00000.jsonl.zst'));
const SKIPPABLE = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);

test('concatenated frames, with and without content size and with a skippable frame between, decode to the concatenated content at any window size', async () => {
  const c = Buffer.from('{"extra":"frame with a content size"}\n');
  const input = Buffer.concat([A, SKIPPABLE, B, compress(c)]);
  const want = Buffer.concat([decompress(A), decompress(B), c]);
  for (const size of [16, 1000, 1 << 20]) assert.ok((await readAll(input, size)).equals(want), `window ${size}`);
});

test('an input that ends inside a frame, or garbage after a frame, is ZSTD_CORRUPT', async () => {
  const outcomes: string[] = [];
  for (const bad of [A.subarray(0, A.length - 10), Buffer.concat([A, Buffer.from('garbage')])]) {
    try {
      await readAll(bad, 1 << 16);
      outcomes.push('ok');
    } catch (e) {
      outcomes.push(e instanceof ToolError ? `${e.code}: ${e.message.replace(/ \((at|in) [^()]*compressed byte \d+\)$/, '')}` : String(e));
    }
  }
  assert.deepEqual(outcomes, [
    'ZSTD_CORRUPT: zstd data is corrupt or truncated: the input ends inside a zstd frame',
    'ZSTD_CORRUPT: zstd data is corrupt or truncated: Unknown frame descriptor',
  ]);
});

/** Everything a window delivers before an error, and the error. */
async function readUntilError(bytes: Buffer, windowSize: number): Promise<{ data: Buffer; error: unknown }> {
  const dir = mkdtempSync(join(tmpdir(), 'zstd-source-'));
  const parts: Buffer[] = [];
  let error: unknown = null;
  try {
    const path = join(dir, 'x.zst');
    writeFileSync(path, bytes);
    const w = new ByteWindow(new ZstdFileSource(await open(path, 'r'), path), path, windowSize);
    try {
      while (await w.fill(1)) {
        parts.push(Buffer.from(w.buf.subarray(w.pos, w.end)));
        w.pos = w.end;
      }
    } catch (e) {
      error = e;
    } finally {
      await w.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { data: Buffer.concat(parts), error };
}

/** Offsets of the block headers of a single-frame zstd file (RFC 8878 3.1.1), and each block's decompressed size. */
function blocks(z: Buffer): { at: number; type: number; size: number }[] {
  const fhd = z[4]!;
  const fcsFlag = fhd >> 6, single = (fhd >> 5) & 1, dictFlag = fhd & 3;
  let p = 5 + (single ? 0 : 1) + [0, 1, 2, 4][dictFlag]! + [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  const out: { at: number; type: number; size: number }[] = [];
  for (;;) {
    const h = z[p]! | (z[p + 1]! << 8) | (z[p + 2]! << 16);
    const last = h & 1, type = (h >> 1) & 3, size = h >>> 3;
    out.push({ at: p, type, size });
    p += 3 + (type === 1 ? 1 : size);
    if (last) return out;
  }
}

test('a damaged block: every byte of the blocks before it is delivered, then ZSTD_CORRUPT at the compressed byte that revealed the damage, at any window size', async () => {
  // 300 KiB of varied text in 1 KiB blocks (window log 10): many blocks per read
  const lines: string[] = [];
  for (let i = 0, len = 0; len < 300 * 1024; i++) len += lines[lines.push(`{"n":${i},"v":"${(i * 2654435761).toString(36)}"}\n`) - 1]!.length;
  const data = Buffer.from(lines.join(''));
  const c = new Compressor();
  c.setParameters({ windowLog: 10, checksumFlag: true });
  const z = c.compress(data);
  const bs = blocks(z);
  assert.ok(bs.length > 200, `blocks ${bs.length}`);
  const k = Math.floor(bs.length * 0.6);
  const bad = Buffer.from(z);
  bad[bs[k]!.at] = (bad[bs[k]!.at]! & ~6) | 6; // block type 3: reserved, an error in any decoder
  // the data of blocks 0..k-1, from a decoder given only them (zstd-napi's stream, an independent reading)
  const before = await new Promise<Buffer>((resolve) => {
    const parts: Buffer[] = [];
    const d = new DecompressStream();
    d.on('data', (b: Buffer) => parts.push(b));
    d.on('error', () => resolve(Buffer.concat(parts)));
    d.on('end', () => resolve(Buffer.concat(parts)));
    d.end(z.subarray(0, bs[k]!.at));
  });
  assert.ok(before.length > 100_000, `${before.length} bytes before the damage`);
  const lens: number[] = [];
  for (const size of [16, 1000, 1 << 20]) {
    const { data: got, error } = await readUntilError(bad, size);
    lens.push(got.length);
    assert.ok(data.subarray(0, got.length).equals(got), `window ${size}: what was delivered is the data`);
    // every block before the damage came out
    assert.equal(got.length, before.length, `window ${size}`);
    assert.ok(error instanceof ToolError && error.code === 'ZSTD_CORRUPT', String(error));
    assert.match((error as ToolError).message, new RegExp(`: Data corruption detected \\(in the zstd block at compressed byte ${bs[k]!.at}\\)$`));
  }
  // the same delivered length whatever the window (the damage decides, not the read size)
  assert.equal(new Set(lens).size, 1, `delivered ${lens.join(', ')}`);
});
