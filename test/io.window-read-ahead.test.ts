/**
 * ByteWindow reading ahead (src/io/window.ts): when the back of the buffer
 * is full the read-ahead goes to the front, and only the unread tail of the
 * last record is moved in front of the bytes it brought in. Records of every
 * size (tiny, a few hundred bytes, larger than the front gap, larger than the
 * window) must come back whole, in order and at their input offsets, and the
 * bytes moved must stay far below the file size for small records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from '../src/io/sources.js';
import { ByteWindow } from '../src/io/window.js';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import type { RecordValues } from '../src/records/schema.js';
import { generateCapture } from '../bench/gen-capture.js';

/** Records: 4-byte length, then `length` bytes, each byte (offset * 7) & 255 of its own input offset. */
function makeFile(sizes: number[]): Buffer {
  const total = sizes.reduce((a, n) => a + 4 + n, 0);
  const b = Buffer.alloc(total);
  let o = 0;
  for (const n of sizes) {
    b.writeUInt32LE(n, o);
    o += 4;
    for (let i = 0; i < n; i++, o++) b[o] = (o * 7) & 255;
  }
  return b;
}

async function walk(path: string, windowSize: number): Promise<{ sizes: number[]; moved: number; compactions: number }> {
  const w = new ByteWindow(new FileSource(await open(path, 'r')), path, windowSize);
  const sizes: number[] = [];
  for (;;) {
    if (!(await w.fill(4))) break;
    const n = w.buf.readUInt32LE(w.pos);
    assert.ok(await w.fill(4 + n), `record ${sizes.length} complete`);
    const start = w.offset + 4;
    // every byte at its input offset
    for (let i = 0; i < n; i += i < 64 ? 1 : 997) assert.equal(w.buf[w.pos + 4 + i], ((start + i) * 7) & 255, `record ${sizes.length} byte ${i}`);
    if (n > 0) assert.equal(w.buf[w.pos + 3 + n], ((start + n - 1) * 7) & 255);
    sizes.push(n);
    w.pos += 4 + n;
  }
  assert.equal(w.available, 0);
  await w.close();
  return { sizes, moved: w.bytesMoved, compactions: w.compactions };
}

test('ByteWindow reading ahead: small records whole and in order, only record tails moved', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-window-'));
  try {
    const sizes: number[] = [];
    let x = 12345;
    for (let i = 0; i < 200_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      sizes.push(40 + (x % 460));
    }
    const file = makeFile(sizes);
    const path = join(dir, 'small');
    writeFileSync(path, file);
    const r = await walk(path, 1 << 22);
    assert.deepEqual(r.sizes, sizes);
    assert.ok(r.compactions > 10, `the buffer turned over (${r.compactions} joins)`);
    assert.ok(r.moved < r.compactions * 512, `moved ${r.moved} bytes in ${r.compactions} joins for a ${file.length}-byte file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ByteWindow reading ahead: records larger than the front gap and than the window', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-window-'));
  try {
    const sizes: number[] = [];
    let x = 777;
    for (let i = 0; i < 3000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // mostly small, some 300-700 KB (longer than the 256 KB front gap), two of 5 MB (longer than the window)
      sizes.push(i === 1500 || i === 2400 ? 5 << 20 : x % 17 === 0 ? 300_000 + (x % 400_000) : x % 2000);
    }
    const path = join(dir, 'mixed');
    writeFileSync(path, makeFile(sizes));
    const r = await walk(path, 1 << 22);
    assert.deepEqual(r.sizes, sizes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the full analysis of a capture read ahead (front reads) equals the same capture read on demand', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-window-'));
  try {
    // ~10 MB of small packets: the 4 MB window turns over a few times
    const path = join(dir, 'small.pcap');
    await generateCapture(path, { packets: 60_000, seed: 3, mix: 'small', quiet: true });
    const records = async (fileReads: 'ahead' | 'on-demand'): Promise<string[]> => {
      const recs: RecordValues[] = [];
      await analyzeCaptures([{ path, fileReads }], { onRecord: (r) => recs.push(r) });
      return recs.map((r) => JSON.stringify(r));
    };
    const ahead = await records('ahead');
    const onDemand = await records('on-demand');
    assert.ok(ahead.length > 300, `${ahead.length} records`);
    assert.deepEqual(ahead, onDemand);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
