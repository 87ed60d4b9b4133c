#!/usr/bin/env node
// Checks tcpanalyze against tshark on one large capture (the benchmark's, or any single-layer
// Ethernet/IP capture): every frame's TCP analysis flags, duplicate-ACK number, ack_rtt (to the
// microsecond) and bytes in flight, and every connection's packets, frame bytes, IP bytes and
// payload bytes per direction. The fixtures' oracles (scripts/make-oracles.sh, checked by the
// tests) cover the odd cases on small real captures; this covers volume: hundreds of thousands
// of frames with loss, reordering and sequence-number wraps. Needs tshark 4.0 and a build
// (npm run build). Prints the differences grouped by kind; exit 0 when there are none.
//
//   node scripts/oracle-at-scale.mjs bench/out/bench-200000.pcap
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLS, readFlagOracle, runCapture, compareFrames } from '../dist/test/_seq-helpers.js';

const cap = process.argv[2];
if (!cap || process.argv.length > 3) {
  console.error('usage: node scripts/oracle-at-scale.mjs CAPTURE');
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), 'tcpkit-scale-'));
const env = { ...process.env, WIRESHARK_CONFIG_DIR: tmp, TZ: 'UTC', LC_ALL: 'C' }; // tshark defaults only

/** Runs tshark with `args`, stdout to a file in tmp; returns the file. */
function tshark(name, args) {
  const out = join(tmp, name);
  const fd = openSync(out, 'w');
  const r = spawnSync('tshark', ['-r', cap, ...args], { stdio: ['ignore', fd, 'pipe'], env });
  closeSync(fd);
  if (r.error || r.status !== 0) {
    console.error(`oracle-at-scale: tshark failed: ${r.error?.message ?? r.stderr.toString().trim()}`);
    process.exit(1);
  }
  return out;
}

const t0 = Date.now();
// the columns readFlagOracle reads, as in the fixtures' <capture>.tshark-flags.tsv
const flagsFile = tshark('flags.tsv', ['-T', 'fields', '-E', 'separator=/t', '-E', 'header=y', '-e', 'frame.number', '-e', 'tcp.stream', ...COLS.flatMap((f) => ['-e', `tcp.analysis.${f}`]), '-Y', 'tcp']);
const convFile = tshark('conv.tsv', ['-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=f', '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'frame.len', '-e', 'ip.len', '-e', 'ipv6.plen', '-e', 'tcp.len', '-e', 'icmp.type', '-e', 'icmpv6.type', '-Y', 'tcp']);
console.log(`tshark: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const t1 = Date.now();
const run = await runCapture(cap);
console.log(`tcpkit: ${((Date.now() - t1) / 1000).toFixed(1)} s, ${run.records.length} records`);

// ---- per frame
const want = readFlagOracle(flagsFile);
const { compared, diffs } = compareFrames(want, run.frames);
const kinds = new Map();
const shape = (s) => s.replace(/rtt=-?\d+us/, 'rtt=N').replace(/bif=\d+/, 'bif=N').replace(/#\d+/g, '#N');
for (const d of diffs) {
  const k = `tshark ${shape(d.tshark)}  tcpkit ${shape(d.tcpkit)}`;
  if (!kinds.has(k)) kinds.set(k, []);
  kinds.get(k).push(d.frame);
}
console.log(`frames: ${compared} compared, ${diffs.length} differ`);
for (const [k, frames] of [...kinds].sort((a, b) => b[1].length - a[1].length)) {
  console.log(`  ${String(frames.length).padStart(7)}  ${k}  (frames ${frames.slice(0, 5).join(', ')}${frames.length > 5 ? ', ...' : ''})`);
}

// ---- per connection and direction (ICMP errors quoting TCP are not packets of the connection)
const streams = new Map();
for (const line of readFileSync(convFile, 'utf8').split('\n')) {
  if (line === '') continue;
  const [frame, stream, src4, src6, sport, flen, iplen, plen6, tlen, icmp4, icmp6] = line.split('\t');
  if (icmp4 || icmp6) continue;
  let s = streams.get(stream);
  if (!s) streams.set(stream, (s = { frame: Number(frame), a: `${src4 || src6}:${sport}`, dirs: new Map() }));
  const key = `${src4 || src6}:${sport}`;
  let d = s.dirs.get(key);
  if (!d) s.dirs.set(key, (d = { pkts: 0, frameBytes: 0, ipBytes: 0, payload: 0 }));
  d.pkts++;
  d.frameBytes += Number(flen);
  d.ipBytes += src4 ? Number(iplen) : Number(plen6) + 40;
  d.payload += Number(tlen);
}
let convDiffs = 0;
let convCompared = 0;
for (const [stream, s] of streams) {
  const ours = run.frames.get(s.frame);
  const rec = ours ? run.recordOf.get(ours.serial) : undefined;
  if (!rec) {
    if (convDiffs++ < 10) console.log(`  stream ${stream}: no tcpkit record`);
    continue;
  }
  convCompared++;
  for (const [role, addr, port] of [['orig', rec.orig_h, rec.orig_p], ['resp', rec.resp_h, rec.resp_p]]) {
    const d = s.dirs.get(`${addr}:${port}`) ?? { pkts: 0, frameBytes: 0, ipBytes: 0, payload: 0 };
    const got = [rec[`${role}_pkts`], rec[`${role}_frame_bytes`], rec[`${role}_ip_bytes`], rec[`${role}_payload_bytes`]].map(Number);
    const exp = [d.pkts, d.frameBytes, d.ipBytes, d.payload];
    if (got.some((v, i) => v !== exp[i]) && convDiffs++ < 10) console.log(`  stream ${stream} ${role}: tshark ${exp.join('/')} tcpkit ${got.join('/')} (packets/frame/IP/payload bytes)`);
  }
}
console.log(`connections: ${convCompared} of ${streams.size} tshark streams compared, ${convDiffs} differ`);
rmSync(tmp, { recursive: true, force: true });
process.exit(diffs.length === 0 && convDiffs === 0 ? 0 : 1);
