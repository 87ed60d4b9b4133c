#!/usr/bin/env node
/**
 * csvtool benchmark.
 *
 *   node dist/bench/csvtool.js [--reps N] [--runs K] [--no-micro] [--keep]
 *
 * 1. Builds archives from the real conformance data (fixtures/tcpinfo: the 5
 *    tcp-info repository archives and the 362 non-empty m-lab/etl archives,
 *    decompressed, ~7.1 MB / 12,468 lines per copy) repeated N times (default
 *    16: ~114 MB) and a quarter-size one (N/4 copies), under bench/out/.
 * 2. Runs `node dist/cli/csvtool.js FILE > /dev/null` on each (and on a zstd
 *    copy of the big one, and with `zstd -dc | csvtool` for comparison),
 *    K times, reporting the best run: lines/s, MB/s (of decompressed JSONL),
 *    wall and CPU seconds, and the child's peak RSS (VmHWM from
 *    /proc/<pid>/status, polled; or /usr/bin/time when present).
 * 3. Micro-benchmarks of the hot functions in-process (scan+decode, row
 *    writing, base64), per line.
 *
 * Targets (issue): >= 200k lines/s, peak RSS < 100 MB whatever the size.
 * On a loaded machine wall time is noisy; CPU time (user+sys) is the
 * steadier figure and is printed too, with the load average.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { createZstdCompress, zstdDecompressBuffer } from '../src/io/zstd.js';
import { ArchivalRecordView } from '../src/tcpinfo/archival-record.js';
import { Snapshot } from '../src/tcpinfo/snapshot.js';
import { CsvRowWriter } from '../src/tcpinfo/csv.js';
import { decodeArchiveLine } from '../src/tcpinfo/convert.js';
import { decodeBase64 } from '../src/tcpinfo/base64.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const OUT = join(ROOT, 'bench', 'out');
const FIX = join(ROOT, 'fixtures', 'tcpinfo');
const CSVTOOL = join(ROOT, 'dist', 'cli', 'csvtool.js');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const REPS = arg('--reps', 16);
const RUNS = arg('--runs', 3);
const MICRO = !process.argv.includes('--no-micro');
const KEEP = process.argv.includes('--keep');

/** Minimal ustar reader: bytes of every regular file. */
function untar(tar: Buffer): Buffer[] {
  const files: Buffer[] = [];
  let p = 0;
  while (p + 512 <= tar.length && tar[p] !== 0) {
    const size = parseInt(tar.toString('latin1', p + 124, p + 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const type = tar[p + 156];
    if (type === 0x30 || type === 0) files.push(tar.subarray(p + 512, p + 512 + size));
    p += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** One copy of the corpus: every conformance archive, decompressed, in a fixed order. */
async function corpus(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const f of readdirSync(join(FIX, 'repo')).sort()) if (f.endsWith('.jsonl.zst')) parts.push(await zstdDecompressBuffer(readFileSync(join(FIX, 'repo', f))));
  const tgz = readdirSync(join(FIX, 'etl')).find((f) => f.endsWith('.tgz'))!;
  for (const z of untar(gunzipSync(readFileSync(join(FIX, 'etl', tgz))))) if (z.length > 0) parts.push(await zstdDecompressBuffer(z));
  return Buffer.concat(parts);
}

function countLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

async function writeRepeated(path: string, copy: Buffer, reps: number): Promise<void> {
  const ws = createWriteStream(path);
  for (let i = 0; i < reps; i++) if (!ws.write(copy)) await once(ws, 'drain');
  ws.end();
  await once(ws, 'close');
}

async function writeZstd(path: string, copy: Buffer, reps: number): Promise<void> {
  const ws = createWriteStream(path);
  const z = createZstdCompress({ level: 3, checksum: true });
  z.pipe(ws);
  for (let i = 0; i < reps; i++) if (!z.write(copy)) await once(z, 'drain');
  z.end();
  await once(ws, 'close');
}

interface RunResult {
  wall: number;
  cpu: number;
  rssMB: number;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** Runs a shell command (stdout to /dev/null), measuring wall time, CPU time and peak RSS of the csvtool process. */
async function measure(cmd: string): Promise<RunResult> {
  const t0 = process.hrtime.bigint();
  if (TIME) {
    // %e wall, %U user, %S sys, %M max RSS (KB) of the csvtool process (the last command of the pipe).
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${cmd.replace(/node /, `${TIME} -f '%U %S %M' -o ${join(OUT, '.time')} node `)} > /dev/null`]);
    if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const [u, s, m] = readFileSync(join(OUT, '.time'), 'utf8').trim().split(/\s+/).slice(-3).map(Number);
    return { wall, cpu: u! + s!, rssMB: m! / 1024 };
  }
  // No /usr/bin/time: poll the child's /proc status for VmHWM and CPU ticks.
  const child = spawn('bash', ['-o', 'pipefail', '-c', `exec ${cmd} > /dev/null`], { stdio: ['ignore', 'ignore', 'inherit'] });
  let hwm = 0;
  let ticks = 0;
  const poll = setInterval(() => {
    try {
      const st = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmHWM:\s+(\d+) kB/.exec(st);
      if (m) hwm = Math.max(hwm, Number(m[1]));
      const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks = Number(f[11]) + Number(f[12]);
    } catch {
      /* exited */
    }
  }, 20);
  const [code] = (await once(child, 'exit')) as [number];
  clearInterval(poll);
  if (code !== 0) throw new Error(`${cmd}: exit ${code}`);
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: ticks / 100, rssMB: hwm / 1024 };
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function fmt(n: number, d = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const copy = await corpus();
  const linesPerCopy = countLines(copy);
  const quarter = Math.max(1, Math.round(REPS / 4));
  const inputs = [
    { name: `full (${REPS} copies)`, file: join(OUT, 'csvtool-full.jsonl'), reps: REPS, zstd: false },
    { name: `quarter (${quarter} copies)`, file: join(OUT, 'csvtool-quarter.jsonl'), reps: quarter, zstd: false },
    { name: `full, zstd (${REPS} copies)`, file: join(OUT, 'csvtool-full.jsonl.zst'), reps: REPS, zstd: true },
  ];
  for (const i of inputs) if (!existsSync(i.file)) await (i.zstd ? writeZstd(i.file, copy, i.reps) : writeRepeated(i.file, copy, i.reps));
  console.log(`csvtool benchmark — node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`corpus copy: ${fmt(copy.length / 1e6, 2)} MB, ${fmt(linesPerCopy)} lines; best of ${RUNS} runs; RSS = peak resident set of the csvtool process\n`);
  const rows: string[][] = [['input', 'MB (JSONL)', 'lines', 'wall s', 'CPU s', 'lines/s (wall)', 'MB/s (wall)', 'lines/s (CPU)', 'peak RSS MB']];
  const results: Record<string, unknown>[] = [];
  const cases = [
    ...inputs.map((i) => ({ name: i.name, cmd: `node ${shq(CSVTOOL)} ${shq(i.file)}`, reps: i.reps })),
    { name: `full, zstd -dc | csvtool`, cmd: `zstd -dc ${shq(inputs[2]!.file)} | node ${shq(CSVTOOL)}`, reps: REPS },
  ];
  for (const c of cases) {
    if (c.cmd.startsWith('zstd') && spawnSync('zstd', ['--version']).error) continue;
    let best: RunResult | null = null;
    let peak = 0;
    for (let k = 0; k < RUNS; k++) {
      const r = await measure(c.cmd);
      peak = Math.max(peak, r.rssMB);
      if (best === null || r.wall < best.wall) best = r;
    }
    const mb = (copy.length * c.reps) / 1e6;
    const lines = linesPerCopy * c.reps;
    rows.push([c.name, fmt(mb, 1), fmt(lines), fmt(best!.wall, 2), fmt(best!.cpu, 2), fmt(lines / best!.wall), fmt(mb / best!.wall, 1), fmt(lines / best!.cpu), fmt(peak, 1)]);
    results.push({ input: c.name, mb, lines, wallS: best!.wall, cpuS: best!.cpu, linesPerSecWall: lines / best!.wall, mbPerSecWall: mb / best!.wall, linesPerSecCpu: lines / best!.cpu, peakRssMB: peak });
  }
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  for (const r of rows) console.log(r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  '));

  if (MICRO) {
    console.log('\nin-process micro-benchmarks (one corpus copy, best of 5 passes):');
    const view = new ArchivalRecordView();
    const snap = new Snapshot();
    const w = new CsvRowWriter();
    const pass = (fn: (s: number, e: number) => void): number => {
      let best = Infinity;
      for (let k = 0; k < 5; k++) {
        const t = process.hrtime.bigint();
        for (let p = 0; p < copy.length; ) {
          const e = copy.indexOf(10, p);
          fn(p, e);
          p = e + 1;
        }
        best = Math.min(best, Number(process.hrtime.bigint() - t));
      }
      return best / linesPerCopy;
    };
    const decodeNs = pass((s, e) => decodeArchiveLine(copy, s, e, view, snap));
    const rowNs =
      pass((s, e) => {
        decodeArchiveLine(copy, s, e, view, snap);
        w.write(snap);
        if (w.full) w.take();
      }) - decodeNs;
    // The tcp_info attribute (224 bytes) of the first snapshot of ndt-jdczh_…00183.
    const src = Buffer.from(
      'AQAAAAAHdwFw+QQAQJwAAE4FAAAYAgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAOAQAAAAAAABABAACQAAAAqgUAAB6oAgDS6wEA4QAAAAIAAAADAAAAdgUAAAMAAAC6/asUtW4AAAUAAACslwAAAAAAAP//////////DshKAAAAAACfnQUAAAAAAFQOAABkDgAAAAAAABXrAQAnBwAAUw4AALFUAAAAAAAA+GrLDQAAAAAAAAAAAAAAAAAAAAAAAAAATw4AAAAAAAA14koAAAAAACcaAAAAAAAAAAAAAAAAAAA=',
    );
    const dst = Buffer.alloc(src.length);
    let b64 = Infinity;
    for (let k = 0; k < 5; k++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < 100_000; i++) decodeBase64(src, 0, src.length, dst, 0);
      b64 = Math.min(b64, Number(process.hrtime.bigint() - t) / 100_000);
    }
    console.log(`  scan + decode + snapshot  ${fmt(decodeNs, 0).padStart(6)} ns/line  (${fmt(1e9 / decodeNs)} lines/s)`);
    console.log(`  CSV row (105 cells)       ${fmt(rowNs, 0).padStart(6)} ns/line  (${fmt(1e9 / rowNs)} lines/s)`);
    console.log(`  base64, tcp_info (300 ch) ${fmt(b64, 0).padStart(6)} ns       (${fmt(src.length / b64, 2)} chars/ns)`);
    results.push({ micro: { decodeNsPerLine: decodeNs, rowNsPerLine: rowNs, base64NsPerTcpInfo: b64 } });
  }
  writeFileSync(join(OUT, 'csvtool-results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, load: loadavg(), results }, null, 2));
  if (!KEEP) for (const i of inputs) rmSync(i.file, { force: true });
  rmSync(join(OUT, '.time'), { force: true });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
