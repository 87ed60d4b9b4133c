#!/usr/bin/env node
/**
 * Micro-benchmark of StreamReassembler.push (src/tcp/reassembly.ts):
 *
 *   node dist/bench/reassembly.js [--segments N]
 *
 * Cases (1448-byte segments, one stream, a no-op consumer):
 * - in-order, overlap tail off: the zero-copy path (views only);
 * - in-order, 64 KiB tail: every delivered byte is also copied into pool pages;
 * - 2% loss: each lost segment is re-sent after 10 later ones, which wait in pages;
 * - retransmitted: every segment sent twice (the second compared with the tail).
 * Prints ns/segment, MB/s, pool pages created (must stop growing) and heap growth.
 */
import { parseArgs } from 'node:util';
import { PagePool } from '../src/tcp/page-pool.js';
import { StreamReassembler, type StreamConsumer } from '../src/tcp/reassembly.js';

const SEG = 1448;

class Sink implements StreamConsumer {
  bytes = 0;
  gaps = 0;
  onData(_b: Uint8Array, _o: number, len: number): void {
    this.bytes += len;
  }
  onGap(_r: number, len: number): void {
    this.gaps += len;
  }
}

/** Order of segment numbers: in order, or with every 50th re-sent after 10 later ones. */
function schedule(n: number, mode: 'inorder' | 'loss' | 'dup'): Int32Array {
  const out: number[] = [];
  if (mode === 'inorder') for (let i = 0; i < n; i++) out.push(i);
  else if (mode === 'dup') for (let i = 0; i < n; i++) out.push(i, i);
  else {
    const late: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i % 50 === 7) late.push(i);
      else out.push(i);
      if (late.length > 0 && i - late[0]! >= 10) out.push(late.shift()!);
    }
    out.push(...late);
  }
  return Int32Array.from(out);
}

function run(name: string, n: number, mode: 'inorder' | 'loss' | 'dup', overlapWindow: number): void {
  const pool = new PagePool();
  const sink = new Sink();
  const r = new StreamReassembler(pool, { consumer: sink, overlapWindow });
  const pkt = Buffer.alloc(SEG + 66, 0x61); // payload at offset 66, as in an Ethernet/IPv4/TCP frame
  const order = schedule(n, mode);
  const pass = (): void => {
    r.reset(0);
    for (let k = 0; k < order.length; k++) r.push(order[k]! * SEG, pkt, 66, SEG, SEG);
    r.flush();
  };
  pass(); // warm-up
  const created = pool.stats.created;
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  pass();
  const ns = Number(process.hrtime.bigint() - t0);
  const heap1 = process.memoryUsage().heapUsed;
  if (sink.gaps !== 0) throw new Error(`${name}: unexpected gaps`);
  const mb = (n * SEG) / 1e6 / (ns / 1e9);
  console.log(
    `${name.padEnd(34)} ${(ns / order.length).toFixed(0).padStart(6)} ns/segment ${mb.toFixed(0).padStart(6)} MB/s  ` +
      `pages created ${pool.stats.created} (+${pool.stats.created - created} in the timed pass), peak ${pool.stats.peak}  heap ${((heap1 - heap0) / 1024).toFixed(0)} KiB`,
  );
}

const { values } = parseArgs({ options: { segments: { type: 'string', default: '200000' } } });
const n = Number(values.segments);
run('in-order, no overlap tail', n, 'inorder', 0);
run('in-order, 64 KiB overlap tail', n, 'inorder', 64 * 1024);
run('2% loss, re-sent 10 segments later', n, 'loss', 64 * 1024);
run('every segment sent twice', n, 'dup', 64 * 1024);
