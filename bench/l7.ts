/**
 * The application-decoding section of `npm run bench`: on a generated
 * capture of HTTP, TLS and DNS traffic (bench/gen-l7.ts), tcpanalyze with
 * and without `--decode all`, rounds interleaved; the packets/s kept with
 * decoding (goal: at least 70 %), peak RSS (goal: under 200 MB, and flat
 * when the file grows ten times); then each decoder's micro-benchmark
 * (bench/l7-http.ts, l7-dns.ts, l7-tls.ts, l7-redis.ts, l7-mongodb.ts, l7-mysql.ts,
 * l7-postgresql.ts) in MB/s of stream bytes.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { GEN_L7_VERSION, generateL7 } from './gen-l7.js';
import { REPO_ROOT, fmtNum, measure, median, table, type Measured } from './_util.js';

const TCPANALYZE_JS = join(REPO_ROOT, 'dist', 'cli', 'tcpanalyze.js');
export const GOAL_L7_KEEP = 0.7;
const GOAL_L7_RSS_MB = 200;
const GOAL_L7_RSS_GROWTH = 0.2;

export interface L7Goal {
  goal: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

export interface L7Options {
  packets: number;
  runs: number;
  memory: boolean;
  regen: boolean;
  outDir: string;
  timeBin: string;
  /** Node flags of tcpanalyze's shebang line (the runs use them as a user's would). */
  nodeFlags: string[];
}

function ensure(outDir: string, packets: number, regen: boolean): { path: string; packets: number; bytes: number } {
  const path = join(outDir, `l7-${packets}-v${GEN_L7_VERSION}.pcap`);
  const meta = `${path}.json`;
  if (!regen && existsSync(path) && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { packets: number; bytes: number };
    if (statSync(path).size === m.bytes) return { path, ...m };
  }
  const s = generateL7(path, packets, 1);
  writeFileSync(meta, JSON.stringify({ packets: s.packets, bytes: s.bytes, http: s.http, tls: s.tls, dns: s.dns }));
  console.log(`  generated ${path}: ${fmtNum(s.packets)} packets, ${fmtNum(s.bytes / 1e6, 1)} MB (${s.http} HTTP, ${s.tls} TLS connections, ${s.dns} DNS flows)`);
  return { path, packets: s.packets, bytes: s.bytes };
}

/** The same traffic ten times over (the capture concatenated, timestamps shifted): for memory flatness. */
function ensureBig(small: { path: string; packets: number; bytes: number }, outDir: string): { path: string; packets: number; bytes: number } {
  const path = join(outDir, `l7-x10-${small.packets}-v${GEN_L7_VERSION}.pcap`);
  if (existsSync(path) && statSync(path).size === 24 + (small.bytes - 24) * 10) return { path, packets: small.packets * 10, bytes: statSync(path).size };
  const src = readFileSync(small.path);
  const body = src.subarray(24);
  const parts: Buffer[] = [src.subarray(0, 24)];
  // each copy is moved one hour later, so flows do not merge across copies
  for (let k = 0; k < 10; k++) {
    const copy = Buffer.from(body);
    for (let o = 0; o + 16 <= copy.length; ) {
      copy.writeUInt32LE(copy.readUInt32LE(o) + k * 3600, o);
      o += 16 + copy.readUInt32LE(o + 8);
    }
    parts.push(copy);
  }
  writeFileSync(path, Buffer.concat(parts));
  return { path, packets: small.packets * 10, bytes: statSync(path).size };
}

function micro(script: string): string {
  const r = spawnSync(process.execPath, ['--expose-gc', join(REPO_ROOT, 'dist', 'bench', script)], { encoding: 'utf8', timeout: 600_000 });
  return (r.stdout + r.stderr).trim();
}

export async function runL7Bench(o: L7Options): Promise<L7Goal[]> {
  console.log('\nApplication decoding (--decode all) on HTTP, TLS and DNS traffic:');
  const cap = ensure(o.outDir, o.packets, o.regen);
  const argv = (decode: boolean, file: string): string[] => [process.execPath, ...o.nodeFlags, TCPANALYZE_JS, '--format', 'ndjson', ...(decode ? ['--decode', 'all'] : []), file];
  const base: Measured[] = [];
  const dec: Measured[] = [];
  for (let round = 0; round < o.runs; round++) {
    for (const decode of round % 2 === 0 ? [false, true] : [true, false]) {
      const m = await measure(o.timeBin, argv(decode, cap.path), o.outDir);
      (decode ? dec : base).push(m);
      console.log(`  round ${round + 1}/${o.runs}  ${(decode ? '--decode all' : 'no decoding').padEnd(13)} ${m.wall.toFixed(2).padStart(7)} s wall  ${(m.user + m.sys).toFixed(2).padStart(7)} s cpu  ${fmtNum(m.rssKB / 1024, 1).padStart(8)} MB peak RSS${m.code === 0 ? '' : `  EXIT ${m.code}`}`);
    }
  }
  const mw = (xs: Measured[]): number => median(xs.map((m) => m.wall));
  const mc = (xs: Measured[]): number => median(xs.map((m) => m.user + m.sys));
  const mr = (xs: Measured[]): number => median(xs.map((m) => m.rssKB / 1024));
  const rows = [
    ['tcpanalyze (no decoding)', mw(base).toFixed(2), fmtNum(cap.packets / mw(base)), fmtNum(cap.bytes / 1e6 / mw(base)), mc(base).toFixed(2), fmtNum(mr(base), 1)],
    ['tcpanalyze --decode all', mw(dec).toFixed(2), fmtNum(cap.packets / mw(dec)), fmtNum(cap.bytes / 1e6 / mw(dec)), mc(dec).toFixed(2), fmtNum(mr(dec), 1)],
  ];
  console.log(table(['', 'wall s', 'packets/s', 'MB/s', 'cpu s', 'peak RSS MB'], rows));
  const keep = mw(base) / mw(dec);
  const pairs: number[] = [];
  for (let i = 0; i < Math.min(base.length, dec.length); i++) pairs.push(base[i]!.wall / dec[i]!.wall);
  const goals: L7Goal[] = [
    {
      goal: `tcpanalyze --decode all keeps >= ${GOAL_L7_KEEP * 100}% of the packets/s without decoding`,
      status: keep >= GOAL_L7_KEEP ? 'PASS' : 'FAIL',
      detail: `${(keep * 100).toFixed(0)}% (ratio of median walls; median of per-round ratios ${(median(pairs) * 100).toFixed(0)}%, CPU-time ratio ${((mc(base) / mc(dec)) * 100).toFixed(0)}%)`,
    },
  ];
  let bigRss = NaN;
  if (o.memory) {
    const big = ensureBig(cap, o.outDir);
    const m = await measure(o.timeBin, argv(true, big.path), o.outDir);
    bigRss = m.rssKB / 1024;
    console.log(`  10x capture (${fmtNum(big.packets)} packets): --decode all ${m.wall.toFixed(2)} s, ${fmtNum(big.packets / m.wall)} packets/s, peak RSS ${fmtNum(bigRss, 1)} MB`);
    const growth = bigRss / mr(dec) - 1;
    goals.push({ goal: `--decode all RSS growth 1x -> 10x < ${GOAL_L7_RSS_GROWTH * 100}%`, status: growth < GOAL_L7_RSS_GROWTH ? 'PASS' : 'FAIL', detail: `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}% (${fmtNum(mr(dec), 1)} -> ${fmtNum(bigRss, 1)} MB)` });
  }
  const peak = Math.max(mr(dec), Number.isFinite(bigRss) ? bigRss : 0);
  goals.push({ goal: `--decode all peak RSS < ${GOAL_L7_RSS_MB} MB`, status: peak < GOAL_L7_RSS_MB ? 'PASS' : 'FAIL', detail: `${fmtNum(mr(dec), 1)} MB at 1x${Number.isFinite(bigRss) ? `, ${fmtNum(bigRss, 1)} MB at 10x` : ''}` });
  console.log('\nDecoder micro-benchmarks (stream bytes through one decoder, no capture or output):');
  for (const s of ['l7-http.js', 'l7-dns.js', 'l7-tls.js', 'l7-redis.js', 'l7-mongodb.js', 'l7-mysql.js', 'l7-postgresql.js']) console.log(micro(s).split('\n').map((l) => `  ${l}`).join('\n'));
  return goals;
}

/** `node dist/bench/l7.js [--packets N] [--runs N] [--no-memory]`: this section alone. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const { parseArgs } = await import('node:util');
  const { mkdirSync } = await import('node:fs');
  const { values: v } = parseArgs({ args: process.argv.slice(2), options: { packets: { type: 'string' }, runs: { type: 'string' }, 'no-memory': { type: 'boolean' }, regen: { type: 'boolean' } } });
  const outDir = join(REPO_ROOT, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const first = readFileSync(TCPANALYZE_JS, 'utf8').split('\n', 1)[0] ?? '';
  const flags = /\bnode\s+(.*)$/.exec(first)?.[1]?.trim().split(/\s+/) ?? [];
  const goals = await runL7Bench({ packets: Number(v.packets ?? 300_000), runs: Number(v.runs ?? 3), memory: !v['no-memory'], regen: v.regen === true, outDir, timeBin: '/usr/bin/time', nodeFlags: flags });
  console.log('\nGoals:');
  for (const g of goals) console.log(`${g.status}  ${g.goal}: ${g.detail}`);
}
