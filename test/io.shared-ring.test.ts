/**
 * The shared ring between two threads: a tiny ring (so the writer wraps and
 * waits constantly) carries entries of random lengths from this thread to a
 * worker, which checks every word and sends back a checksum of what it read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { createSharedRing, RingWriter } from '../src/io/shared-ring.js';
import { ROOT } from './_fixtures.js';

const RING_JS = pathToFileURL(join(ROOT, 'dist', 'src', 'io', 'shared-ring.js')).href;

/** The reader: entries are [length, k, k+1, ...]; replies with the entry count and a checksum, or the first inconsistency. */
const READER = `
import { workerData, parentPort } from 'node:worker_threads';
import { RingReader, RING_WRAP } from ${JSON.stringify(RING_JS)};
const rd = new RingReader(workerData.ring);
const f = rd.f;
let entries = 0, sum = 0, bad = null;
for (;;) {
  const end = rd.available();
  if (end < 0) break;
  let p = rd.pos;
  while (p !== end) {
    if (f[p] === RING_WRAP) { p = 0; continue; }
    const n = f[p];
    for (let i = 1; i < n; i++) if (f[p + i] !== f[p + 1] + i - 1 && bad === null) bad = 'entry ' + entries + ' word ' + i;
    sum = (sum + f[p + 1] * n) % 1000000007;
    entries++;
    p += n;
  }
  rd.pos = p;
  rd.release();
}
parentPort.postMessage({ entries, sum, bad });
`;

test('entries of random lengths cross a tiny ring intact and in order, through wraps and waits on both sides', async () => {
  for (const words of [64, 97, 1024]) {
    const ring = createSharedRing(words);
    const worker = new Worker(READER, { eval: true, workerData: { ring } });
    const reply = new Promise<{ entries: number; sum: number; bad: string | null }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const w = new RingWriter(ring);
    let seed = words;
    const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    let sum = 0;
    const N = 20_000;
    for (let e = 0; e < N; e++) {
      const n = 2 + (rand() % Math.floor(words / 4 - 1));
      const k = rand() % 100000;
      const o = w.reserve(n);
      w.f[o] = n;
      for (let i = 1; i < n; i++) w.f[o + i] = k + i - 1;
      w.pos = o + n;
      sum = (sum + k * n) % 1000000007;
      if (rand() % 7 === 0) w.publish();
    }
    w.close();
    const r = await reply;
    await worker.terminate();
    assert.equal(r.bad, null, `ring of ${words} words`);
    assert.deepEqual([r.entries, r.sum], [N, sum], `ring of ${words} words`);
    assert.ok(w.waits > 0, 'the writer had to wait for the reader');
  }
});

test('an entry larger than a quarter of the ring is refused', () => {
  const w = new RingWriter(createSharedRing(64));
  assert.throws(() => w.reserve(17), /too large/);
});
