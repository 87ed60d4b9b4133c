#!/usr/bin/env node
/**
 * Micro-benchmark of decodePacket (src/decode/packet.ts), the per-packet
 * decoder every command runs: the packets of a classic pcap file (the first
 * --mb megabytes) are held in memory and decoded in rounds; the median
 * nanoseconds per packet is reported.
 *
 *   node dist/bench/decode.js FILE [--mb 256] [--rounds 15] [--baseline OTHER/dist/src/decode/packet.js]
 *
 * With --baseline, the rounds alternate between this build's decoder and the
 * one at that path (another checkout's build), so both see the same machine
 * state: the figure to quote for a change of the decode layer.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { PacketView } from '../src/capture/packet.js';
import { Decoded } from '../src/decode/decoded.js';
import { decodePacket } from '../src/decode/packet.js';

type Decoder = (pv: PacketView, d: Decoded) => number;

function load(path: string, maxBytes: number): { buf: Buffer; offs: number[]; lens: number[]; linkType: number } {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(maxBytes);
  const n = readSync(fd, buf, 0, maxBytes, 0);
  closeSync(fd);
  const magic = buf.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${path}: not a little-endian classic pcap`);
  const linkType = buf.readUInt32LE(20);
  const offs: number[] = [], lens: number[] = [];
  let p = 24;
  while (p + 16 <= n) {
    const cap = buf.readUInt32LE(p + 8);
    if (p + 16 + cap > n) break;
    offs.push(p + 16);
    lens.push(cap);
    p += 16 + cap;
  }
  return { buf: buf.subarray(0, p), offs, lens, linkType };
}

function round(decode: Decoder, pv: PacketView, d: Decoded, offs: number[], lens: number[]): [number, number] {
  let ok = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < offs.length; i++) {
    pv.off = offs[i]!;
    pv.caplen = lens[i]!;
    pv.origlen = lens[i]!;
    if (decode(pv, d) === 0) ok++;
  }
  return [Number(process.hrtime.bigint() - t0), ok];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(argv: string[]): Promise<void> {
  const { values: v, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { mb: { type: 'string', default: '256' }, rounds: { type: 'string', default: '15' }, baseline: { type: 'string' } } });
  const file = positionals[0];
  if (!file) throw new Error('usage: node dist/bench/decode.js FILE [--mb N] [--rounds N] [--baseline PATH]');
  const { buf, offs, lens, linkType } = load(file, Number(v.mb) * 1024 * 1024);
  const pv = new PacketView();
  pv.buf = buf;
  pv.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  pv.linkType = linkType;
  const decoders: [string, Decoder][] = [['this build', decodePacket]];
  if (v.baseline) {
    const mod = (await import(pathToFileURL(v.baseline).href)) as { decodePacket: Decoder };
    decoders.push(['baseline', mod.decodePacket]);
  }
  const d = new Decoded();
  const times = decoders.map(() => [] as number[]);
  const oks = decoders.map(() => 0);
  // warm-up, then interleaved rounds
  for (const [, dec] of decoders) round(dec, pv, d, offs, lens);
  for (let r = 0; r < Number(v.rounds); r++) {
    for (let k = 0; k < decoders.length; k++) {
      const [ns, ok] = round(decoders[k]![1], pv, d, offs, lens);
      times[k]!.push(ns / offs.length);
      oks[k] = ok;
    }
  }
  process.stdout.write(`${offs.length} packets (${(buf.length / 1048576).toFixed(0)} MB), ${v.rounds} rounds\n`);
  for (let k = 0; k < decoders.length; k++) {
    const t = times[k]!;
    process.stdout.write(`${decoders[k]![0].padEnd(11)} median ${median(t).toFixed(2)} ns/packet (min ${Math.min(...t).toFixed(2)}, max ${Math.max(...t).toFixed(2)}); ${oks[k]} decoded to a flow\n`);
  }
  if (decoders.length === 2) process.stdout.write(`ratio this/baseline of the medians: ${(median(times[0]!) / median(times[1]!)).toFixed(3)}\n`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`decode bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
