/**
 * File sources (src/io/sources.ts): FileSource splits large reads in two
 * concurrent halves, SyncFileSource caps each read. Whatever sizes are asked
 * for, the bytes must come back complete and in order, and a short read at
 * the end of the file (in either half of a split read) must not skip or
 * repeat bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileSource, SyncFileSource } from '../src/io/sources.js';
import type { ByteSource } from '../src/io/window.js';

const SOURCES: [string, (fh: FileHandle) => ByteSource][] = [
  ['FileSource', (fh) => new FileSource(fh)],
  ['SyncFileSource', (fh) => new SyncFileSource(fh)],
];

for (const [name, make] of SOURCES) {
  test(`${name} returns the file whole and in order, with short reads at the end`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpkit-source-'));
    try {
      const MB = 1 << 20;
      // ends: inside the first half of a split read, inside the second half,
      // exactly at a boundary, tiny, one byte short of a boundary
      for (const size of [3 * MB + 1000, 3 * MB + MB + 12345, 4 * MB, 777, 2 * MB - 1]) {
        const data = randomBytes(size);
        const path = join(dir, `f${size}`);
        writeFileSync(path, data);
        const src = make(await open(path, 'r'));
        const out = Buffer.alloc(size + 4 * MB);
        let got = 0;
        // read sizes vary between calls: split and unsplit, above and below the sync cap, odd sizes
        const sizes = [2 * MB, MB + 3, 3 * MB, 100, MB - 1, 1 << 18, (1 << 18) + 1];
        for (let i = 0; ; i++) {
          const n = await src.readInto(out, got, sizes[i % sizes.length]!);
          if (n === 0) break;
          got += n;
        }
        await src.close();
        assert.equal(got, size, `size ${size}`);
        assert.ok(out.subarray(0, size).equals(data), `bytes of size ${size}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('SyncFileSource gives the event loop a turn while a large file is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-source-'));
  try {
    const size = 40 << 20;
    const path = join(dir, 'big');
    writeFileSync(path, Buffer.alloc(size, 7));
    const src = new SyncFileSource(await open(path, 'r'));
    const buf = Buffer.alloc(1 << 20);
    let ranAt = -1;
    let got = 0;
    // a reader that only awaits reads: without the source's turns, this
    // callback would run after the loop
    setImmediate(() => {
      ranAt = got;
    });
    for (;;) {
      const n = await src.readInto(buf, 0, buf.length);
      if (n === 0) break;
      got += n;
    }
    await src.close();
    assert.equal(got, size);
    assert.ok(ranAt > 0 && ranAt < size, `the event loop ran at byte ${ranAt} of ${size}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
