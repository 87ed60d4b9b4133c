/**
 * ZstdFileSource (src/io/zstd-file-source.ts): zstd files decompressed
 * straight into a ByteWindow: concatenated and skippable frames, frames with
 * and without a content size, tiny windows; truncation and garbage are
 * ZSTD_CORRUPT errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress, decompress } from 'zstd-napi';
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
      outcomes.push(e instanceof ToolError ? `${e.code}: ${e.message.replace(/ \(at compressed byte \d+\)$/, '')}` : String(e));
    }
  }
  assert.deepEqual(outcomes, [
    'ZSTD_CORRUPT: zstd data is corrupt or truncated: the input ends inside a zstd frame',
    'ZSTD_CORRUPT: zstd data is corrupt or truncated: Unknown frame descriptor',
  ]);
});
