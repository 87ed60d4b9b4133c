/**
 * FileSource caps each read (src/io/sources.ts); whatever sizes are asked
 * for, the bytes must come back complete and in order, and a short read at
 * the end of the file must not skip or repeat bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileSource } from '../src/io/sources.js';

test('capped reads return the file whole and in order, with a short read at the end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-source-'));
  try {
    const MB = 1 << 20;
    // ends: inside a read, exactly at a read boundary, tiny, one byte short of a boundary
    for (const size of [3 * MB + 1000, 3 * MB + MB + 12345, 4 * MB, 777, 2 * MB - 1]) {
      const data = randomBytes(size);
      const path = join(dir, `f${size}`);
      writeFileSync(path, data);
      const fh = await open(path, 'r');
      const src = new FileSource(fh);
      const out = Buffer.alloc(size + 4 * MB);
      let got = 0;
      // read sizes vary between calls: above and below the cap, odd sizes
      const sizes = [2 * MB, MB + 3, 3 * MB, 100, MB - 1];
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
