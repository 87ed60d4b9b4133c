/**
 * AtomicFile (src/io/atomic.ts), with fs.WriteStream or its synchronous
 * stream (src/io/sync-file-stream.ts): the content appears under the final name
 * only on commit, an existing file is kept unless overwrite is asked for,
 * abort leaves nothing behind, bytes are in the file as soon as write()
 * returns, and a failing write is an error, not lost data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { AtomicFile } from '../src/io/atomic.js';
import { SyncFileStream } from '../src/io/sync-file-stream.js';
import { isToolError } from '../src/util/errors.js';

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpkit-atomic-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('with syncWrites, written bytes are in the temporary file when write() returns; commit renames', withDir(async (dir) => {
  const path = join(dir, 'out.ndjson');
  const f = await AtomicFile.create(path, { syncWrites: true });
  let total = 0;
  for (const chunk of [Buffer.from('{"a":1}\n'), 'text line\n', Buffer.alloc(200_000, 0x41)]) {
    f.stream.write(chunk);
    total += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    assert.equal(statSync(f.tempPath).size, total, 'synchronous write');
  }
  assert.equal(existsSync(path), false, 'no final file before commit');
  await f.commit();
  assert.equal(statSync(path).size, total);
  assert.ok(readFileSync(path).subarray(0, 18).equals(Buffer.from('{"a":1}\ntext line\n')));
  assert.deepEqual(readdirSync(dir), ['out.ndjson'], 'no temporary file left');
}));

for (const syncWrites of [false, true]) {
test(`an existing file is kept unless overwrite is set; the new data stays in the named temporary file (syncWrites ${syncWrites})`, withDir(async (dir) => {
  const path = join(dir, 'keep.txt');
  writeFileSync(path, 'old');
  const f = await AtomicFile.create(path, { syncWrites });
  f.stream.write('new');
  await assert.rejects(f.commit(), (e: unknown) => isToolError(e) && e.code === 'ATOMIC_TARGET_EXISTS' && e.message.includes(f.tempPath));
  assert.equal(readFileSync(path, 'utf8'), 'old');
  assert.equal(readFileSync(f.tempPath, 'utf8'), 'new');
  const g = await AtomicFile.create(path, { overwrite: true, syncWrites });
  g.stream.write('newer');
  await g.commit();
  assert.equal(readFileSync(path, 'utf8'), 'newer');
}));

test(`abort removes the temporary file and writes nothing under the final name (syncWrites ${syncWrites})`, withDir(async (dir) => {
  const path = join(dir, 'gone.txt');
  const f = await AtomicFile.create(path, { syncWrites });
  f.stream.write('partial');
  await f.abort();
  assert.deepEqual(readdirSync(dir), []);
}));
}

test('a failing write (no space left) is an error event', async () => {
  const s = new SyncFileStream(openSync('/dev/full', 'w'));
  const failed = once(s, 'error');
  s.write(Buffer.alloc(100, 1));
  const [e] = (await failed) as [NodeJS.ErrnoException];
  assert.equal(e.code, 'ENOSPC');
});
