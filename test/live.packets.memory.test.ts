/**
 * Bounded memory: half a gigabyte of capture piped through `tcpcapture
 * packets -` must not raise its resident memory with the input (a reader
 * that kept every chunk alive once took 1 GB for an 887 MB pipe). The
 * input is one fixture repeated, each copy ten minutes later than the one
 * before, so the connections of a copy end (idle) while the next is read.
 * Linux only: the peak is read from /proc/PID/status (VmHWM).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, makeTempDir, pcapHeader, pcapRecord, readPcap } from './_capture-helpers.js';
import { listFiles, readArchive, startTcpcapture } from './_live-packets-helpers.js';

const INPUT_BYTES = 512 * 1024 * 1024;
/** Peak resident memory allowed; the same pipeline reading a file stays near 190 MB. */
const MAX_RSS_BYTES = 320 * 1024 * 1024;

let tmp = '';
let cleanup = (): void => {};
before(() => {
  ({ dir: tmp, cleanup } = makeTempDir('tcpcapture-memory-'));
});
after(() => cleanup());

test(`${INPUT_BYTES >> 20} MB piped through tcpcapture packets - keeps its peak resident memory under ${MAX_RSS_BYTES >> 20} MB, and every connection is written`, async (t) => {
  if (!existsSync('/proc/self/status')) return t.skip('needs /proc (Linux) to read the peak resident memory');
  const p = readPcap(readFileSync(fixture('zeek__ftp-bigtransfer.pcap')));
  const body = Buffer.concat(p.records.map((r) => pcapRecord(r, { le: true })));
  const copies = Math.ceil(INPUT_BYTES / body.length);
  const out = join(tmp, 'arch');
  const run = startTcpcapture(['packets', '-', '--output', out, '--rotate', '1000h', '-q']);
  const pid = run.proc.pid!;
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      /* exited */
    }
  }, 20);
  try {
    const stdin = run.proc.stdin!;
    const write = (b: Buffer): Promise<void> | null => (stdin.write(b) ? null : new Promise((r) => stdin.once('drain', r)));
    await write(pcapHeader({ le: true }));
    for (let k = 0; k < copies; k++) {
      const copy = Buffer.from(body);
      // each copy ten minutes later (past --idle-timeout 5m): shift every record's seconds field
      for (let off = 0; off < copy.length; off += 16 + copy.readUInt32LE(off + 8)) copy.writeUInt32LE(copy.readUInt32LE(off) + k * 600, off);
      const w = write(copy);
      if (w) await w;
    }
    const last = new Promise((r) => setTimeout(r, 60)); // one more poll before the end
    stdin.end();
    assert.equal((await run.done).code, 0, run.stderr());
    await last;
  } finally {
    clearInterval(poll);
    run.proc.kill('SIGKILL');
  }
  assert.ok(peak > 0, 'the peak was read');
  assert.ok(peak < MAX_RSS_BYTES, `peak resident memory ${(peak / 2 ** 20).toFixed(0)} MB for ${(INPUT_BYTES / 2 ** 20).toFixed(0)} MB of input`);
  const records = listFiles(out).reduce((n, f) => n + readArchive(join(out, f)).lines.length, 0);
  assert.equal(records, copies * 3, 'three connections per copy');
});
