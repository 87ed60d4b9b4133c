#!/usr/bin/env node
/**
 * Soak fuzzing: every command over mutations of every fixture, for as long
 * as asked.
 *
 *   npm run fuzz -- [--cases N] [--seconds S] [--seed X] [--jobs J] [--cli-every K]
 *                   [--case-seconds S] [--max-rss MB] [--out DIR] [--quiet]
 *
 * Seeds: every capture under fixtures/pcaps, the tcp-info archives and edge
 * cases under fixtures/tcpinfo, and tcpkit records (NDJSON, and as a zstd
 * archive) made from a dozen of the captures at start-up. Each case takes one
 * seed and mutates it (flipped bytes, u32 length fields overwritten,
 * truncation, duplicated, deleted or spliced ranges, damaged lines, runs of
 * zeros, newlines or one long line up to a few MB, gzip or zstd wrapping, a
 * damaged compressed stream), deterministically from the seed and the case
 * number.
 *
 * Most cases run in-process, in worker threads (the library's entry points:
 * the full analysis, connection accounting, --follow, tcpsummary's and
 * csvtool's cores); every K-th case runs a command as a child process
 * (tcpanalyze in each mode, tcpfilter, tcpsummary, csvtool) under GNU time.
 * What is checked:
 *  - in-process: only ToolErrors are thrown or reported, every record has
 *    exactly its schema's fields and a valid NDJSON line, the case ends
 *    within --case-seconds (a worker that does not is terminated: a hang);
 *  - commands: exit status 0 or 1 (never a signal, 2 or 134), every stderr
 *    line starts with the command's name (no stack trace, no internal
 *    error), the output is valid for its format (NDJSON lines are JSON
 *    objects, a summary parses, a written pcap starts with its magic), peak
 *    RSS under --max-rss and wall time under --case-seconds.
 * A failing case is minimised (ranges removed while the same check still
 * fails) and kept in --out with a JSON note of how to run it. The run ends
 * with the counts per target and the failures.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import zlib from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '../test/_zstd.js';
import { REPO_ROOT } from './_util.js';

// ---------------------------------------------------------------------------
// seeds, randomness and mutations (pure functions of the seed and case number)

type Kind = 'capture' | 'records' | 'tcpinfo';

interface Seed {
  name: string;
  kind: Kind;
  bytes: Buffer;
}

type Rng = () => number;
function rngFor(seed: number, index: number): Rng {
  let a = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (r: Rng, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rng, a: readonly T[]): T => a[int(r, a.length)]!;

const MAX_SIZE = 512 * 1024;

function listFiles(dir: string, re: RegExp): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, re));
    else if (re.test(e.name) && statSync(p).size <= 4 << 20) out.push(p);
  }
  return out.sort();
}

async function loadSeeds(): Promise<Seed[]> {
  const fix = join(REPO_ROOT, 'fixtures');
  const seeds: Seed[] = [];
  const caps = listFiles(join(fix, 'pcaps'), /\.(pcap|pcapng|cap)$/).filter((p) => !p.includes('/oracles/'));
  for (const p of caps) seeds.push({ name: relative(fix, p), kind: 'capture', bytes: readFileSync(p) });
  for (const p of [...listFiles(join(fix, 'tcpinfo', 'repo'), /\.jsonl\.zst$/), ...listFiles(join(fix, 'tcpinfo', 'edgecases', 'in'), /\.jsonl$/)]) {
    seeds.push({ name: relative(fix, p), kind: 'tcpinfo', bytes: readFileSync(p) });
  }
  // tcpkit records of a dozen captures, as NDJSON and as a zstd archive with its metadata line
  const { analyzeCaptures } = await import('../src/analysis/pipeline.js');
  const { toJsonLine } = await import('../src/records/schema.js');
  const { CONN_SCHEMA } = await import('../src/records/conn.js');
  for (const p of caps.filter((_, i) => i % Math.max(1, Math.floor(caps.length / 12)) === 0)) {
    const lines: string[] = [];
    try {
      await analyzeCaptures([{ path: p }], { onRecord: (r) => lines.push(toJsonLine(CONN_SCHEMA, r)) });
    } catch {
      continue;
    }
    if (lines.length === 0) continue;
    const text = Buffer.from(lines.join('\n') + '\n');
    seeds.push({ name: `records of ${relative(fix, p)}`, kind: 'records', bytes: text });
    seeds.push({ name: `archive of ${relative(fix, p)}`, kind: 'records', bytes: zstdCompress(Buffer.concat([Buffer.from('{"tcpkit":{"tool":"tcpanalyze","record":"conn"}}\n'), text])) });
  }
  return seeds;
}

interface Mutated {
  bytes: Buffer;
  desc: string[];
}

function mutate(r: Rng, seed: Seed, all: readonly Seed[]): Mutated {
  let b: Buffer = Buffer.from(seed.bytes);
  const desc: string[] = [];
  // text seeds are mutated as text: compressed ones first decompressed
  if (seed.kind !== 'capture' && b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) {
    try {
      b = Buffer.from(zstdDecompress(b));
    } catch {
      /* keep it compressed */
    }
  }
  const n = 1 + int(r, 3);
  for (let m = 0; m < n && b.length > 0; m++) {
    const k = int(r, 14);
    if (k <= 2) {
      const c = 1 + int(r, 8);
      for (let i = 0; i < c; i++) {
        const p = int(r, b.length);
        b[p] = b[p]! ^ (1 + int(r, 255));
      }
      desc.push(`flip ${c} bytes`);
    } else if (k <= 4) {
      const at = int(r, Math.max(1, b.length - 3));
      const v = pick(r, [0, 1, 12, 16, 0x7fffffff, 0xffffffff, 0x80000000, 65535, 262145, 16 << 20, int(r, 65536), Math.floor(r() * 4294967296)]);
      if (at + 4 <= b.length) {
        if (r() < 0.5) b.writeUInt32LE(v >>> 0, at);
        else b.writeUInt32BE(v >>> 0, at);
      }
      desc.push(`u32 ${v >>> 0} at ${at}`);
    } else if (k === 5) {
      const cut = int(r, b.length);
      b = b.subarray(0, cut);
      desc.push(`truncate to ${cut}`);
    } else if (k === 6) {
      const a = int(r, b.length), len = 1 + int(r, Math.min(4096, b.length - a)), to = int(r, b.length + 1);
      b = Buffer.concat([b.subarray(0, to), b.subarray(a, a + len), b.subarray(to)]);
      desc.push(`duplicate ${a}+${len} at ${to}`);
    } else if (k === 7) {
      const a = int(r, b.length), len = 1 + int(r, Math.min(4096, b.length - a));
      b = Buffer.concat([b.subarray(0, a), b.subarray(a + len)]);
      desc.push(`delete ${a}+${len}`);
    } else if (k === 8) {
      const o = pick(r, all);
      const a = int(r, o.bytes.length), len = 1 + int(r, Math.min(2048, o.bytes.length - a)), to = int(r, b.length + 1);
      b = Buffer.concat([b.subarray(0, to), o.bytes.subarray(a, a + len), b.subarray(to)]);
      desc.push(`splice ${o.name} ${a}+${len} at ${to}`);
    } else if (k === 9) {
      // a run of zeros, newlines or one byte repeated: a long line, a zeroed tail, blank lines
      const byte = pick(r, [0, 0x0a, 0x78, 0x20, 0x7b]);
      const len = pick(r, [16, 4096, 70_000, 1 << 20, 3 << 20]);
      const to = r() < 0.5 ? b.length : int(r, b.length + 1);
      b = Buffer.concat([b.subarray(0, to), Buffer.alloc(len, byte), b.subarray(to)]);
      desc.push(`run of ${len} x 0x${byte.toString(16)} at ${to}`);
    } else if (k >= 10 && seed.kind !== 'capture') {
      // text: replace a JSON value with a hostile one
      const s = b.toString('latin1');
      const vals = ['18446744073709551616', '1e308', '-1', '"x"', 'null', 'true', '[]', '{}', '1.5', '"\\ud800"', '9007199254740993'];
      const re = /:(-?[0-9.eE+]+|"[^"]{0,40}"|true|false|null)/g;
      const hits = [...s.matchAll(re)];
      if (hits.length > 0) {
        const h = pick(r, hits);
        const v = pick(r, vals);
        b = Buffer.from(s.slice(0, h.index! + 1) + v + s.slice(h.index! + h[0].length), 'latin1');
        desc.push(`value at ${h.index} -> ${v}`);
      }
    }
  }
  if (b.length > (4 << 20)) b = b.subarray(0, 4 << 20);
  const c = r();
  if (c < 0.15 && b.length <= MAX_SIZE * 8) {
    const gz = c < 0.05;
    let z: Buffer = gz ? zlib.gzipSync(b) : zstdCompress(b);
    const d = r();
    if (d < 0.3) {
      const cut = int(r, z.length);
      z = z.subarray(0, cut);
      desc.push(`${gz ? 'gzip' : 'zstd'}, cut to ${cut}`);
    } else if (d < 0.6 && z.length > 0) {
      z = Buffer.from(z);
      const p = int(r, z.length);
      z[p] = z[p]! ^ (1 + int(r, 255));
      desc.push(`${gz ? 'gzip' : 'zstd'}, flip byte ${p}`);
    } else desc.push(gz ? 'gzip' : 'zstd');
    b = z;
  }
  return { bytes: b, desc };
}

// ---------------------------------------------------------------------------
// targets

/** In-process targets (run in a worker). */
const IN_PROCESS = ['analyze-full', 'analyze-flows', 'analyze-strict', 'follow', 'summary', 'csv', 'csv-skip'] as const;
type InProcessTarget = (typeof IN_PROCESS)[number];

interface CliTarget {
  cmd: 'tcpanalyze' | 'tcpfilter' | 'tcpsummary' | 'csvtool';
  args: string[];
  /** How stdout is checked. */
  out: 'ndjson' | 'json' | 'text' | 'none';
  /** A file the command writes: `pcap` must start with a pcap magic. */
  file?: 'pcap' | 'zst';
}

const CLI_TARGETS: Record<Kind, CliTarget[]> = {
  capture: [
    { cmd: 'tcpanalyze', args: ['--format', 'ndjson'], out: 'ndjson' },
    { cmd: 'tcpanalyze', args: ['--analysis', 'flows', '--format', 'ndjson'], out: 'ndjson' },
    { cmd: 'tcpanalyze', args: ['--format', 'csv'], out: 'text' },
    { cmd: 'tcpanalyze', args: ['--handshakes'], out: 'text' },
    { cmd: 'tcpanalyze', args: ['--flags'], out: 'text' },
    { cmd: 'tcpanalyze', args: ['--format', 'summary'], out: 'json' },
    { cmd: 'tcpanalyze', args: ['--threads', '2', '--format', 'ndjson'], out: 'ndjson' },
    { cmd: 'tcpanalyze', args: ['--follow', '0'], out: 'text' },
    { cmd: 'tcpanalyze', args: ['--strict', '--format', 'ndjson', '--max-memory', '96m'], out: 'ndjson' },
    { cmd: 'tcpanalyze', args: ['-o', 'OUT.jsonl.zst'], out: 'none', file: 'zst' },
    { cmd: 'tcpfilter', args: ['TX@*:*', '-w', 'OUT.pcap'], out: 'none', file: 'pcap' },
    { cmd: 'tcpfilter', args: ['--where', 'orig_pkts>1'], out: 'text' },
  ],
  records: [
    { cmd: 'tcpsummary', args: ['-f', 'json'], out: 'json' },
    { cmd: 'tcpsummary', args: ['-f', 'table', '--by', 'resp_p'], out: 'text' },
    { cmd: 'tcpfilter', args: ['--where', 'orig_pkts>1 or conn_state=S0'], out: 'ndjson' },
    { cmd: 'csvtool', args: [], out: 'text' },
    { cmd: 'csvtool', args: ['--skip-bad'], out: 'text' },
  ],
  tcpinfo: [
    { cmd: 'csvtool', args: [], out: 'text' },
    { cmd: 'csvtool', args: ['--skip-bad'], out: 'text' },
    { cmd: 'tcpfilter', args: ['TX@%:443'], out: 'text' },
    { cmd: 'tcpsummary', args: ['-f', 'json'], out: 'json' },
  ],
};

interface Failure {
  /** Which check failed: a short, stable name (the minimiser keeps this). */
  check: string;
  detail: string;
}

// ---------------------------------------------------------------------------
// the worker side: in-process targets

async function runInProcess(target: InProcessTarget, bytes: Buffer): Promise<Failure | null> {
  const { ToolError } = await import('../src/util/errors.js');
  const stream = (): NodeJS.ReadableStream => Readable.from([bytes]);
  const notTool = (e: unknown, where: string): Failure | null =>
    e instanceof ToolError ? (e.message.includes('\n') ? { check: 'multi-line message', detail: `${where}: ${e.message}` } : null) : { check: 'not a ToolError', detail: `${where}: ${(e as Error)?.stack ?? String(e)}` };
  try {
    if (target.startsWith('analyze')) {
      const { analyzeCaptures } = await import('../src/analysis/pipeline.js');
      const { toJsonLine } = await import('../src/records/schema.js');
      const { CONN_SCHEMA } = await import('../src/records/conn.js');
      const { MemoryBudget } = await import('../src/util/memory-budget.js');
      const names = CONN_SCHEMA.fields.map((f) => f.name).join(',');
      let bad: Failure | null = null;
      const res = await analyzeCaptures([{ stream: stream(), name: 'case' }], {
        analysis: target === 'analyze-flows' ? 'flows' : 'full',
        strict: target === 'analyze-strict',
        budget: new MemoryBudget(target === 'analyze-strict' ? 4 << 20 : 64 << 20),
        onRecord: (r) => {
          if (bad) return;
          const keys = Object.keys(r).filter((k) => k !== 'record').join(',');
          if (keys !== names) bad = { check: 'record fields', detail: keys };
          else {
            try {
              JSON.parse(toJsonLine(CONN_SCHEMA, r));
            } catch (e) {
              bad = { check: 'NDJSON line', detail: String(e) };
            }
          }
        },
      });
      if (bad) return bad;
      for (const e of res.errors) {
        const f = notTool(e, 'result.errors');
        if (f) return f;
      }
      return null;
    }
    if (target === 'follow') {
      const { followConnection } = await import('../src/analysis/follow.js');
      await followConnection([{ stream: stream(), name: 'case' }], '0', 'hex', () => {}, { maxBuffer: 1 << 20 });
      return null;
    }
    const { openInput } = await import('../src/io/input.js');
    const { LineReader } = await import('../src/io/lines.js');
    const input = await openInput({ stream: stream(), name: 'case', windowSize: 4096 });
    try {
      const lines = new LineReader(input.window, { name: 'case', maxLine: 256 * 1024 });
      if (target === 'summary') {
        const { readRecordLines } = await import('../src/records/ndjson-reader.js');
        const { SummaryBuilder } = await import('../src/output/summary.js');
        const { invalidField } = await import('../src/records/validate.js');
        const { CONN_SCHEMA } = await import('../src/records/conn.js');
        const s = new SummaryBuilder({ filterNames: ['all'], by: 'resp_p' });
        let bad: Failure | null = null;
        await readRecordLines(lines, 'case', {
          record: (r) => {
            if (r['record'] !== 'conn' || invalidField(CONN_SCHEMA, r) === null) s.add(r, ['all']);
            return false;
          },
          bad: (e) => {
            bad ??= notTool(e, 'bad line');
          },
        });
        if (bad) return bad;
        const text = JSON.stringify(s.json());
        if (/Infinity|NaN/.test(text)) return { check: 'summary value', detail: text.slice(0, 300) };
        return null;
      }
      const { archiveToCsv } = await import('../src/tcpinfo/convert.js');
      const { TextSink } = await import('../src/io/sink.js');
      const sink = new TextSink(new Writable({ write: (_c, _e, cb) => cb() }));
      await archiveToCsv(lines, sink, { name: 'case', skipBad: target === 'csv-skip' });
      return null;
    } finally {
      await input.window.close().catch(() => {});
    }
  } catch (e) {
    return notTool(e, 'thrown');
  }
}

if (!isMainThread && (workerData as { fuzzWorker?: boolean } | null)?.fuzzWorker) {
  parentPort!.on('message', (m: { id: number; target: InProcessTarget; bytes: Uint8Array }) => {
    void runInProcess(m.target, Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength)).then((f) => parentPort!.postMessage({ id: m.id, failure: f }));
  });
}

// ---------------------------------------------------------------------------
// the main side

interface Options {
  cases: number;
  seconds: number;
  seed: number;
  jobs: number;
  cliEvery: number;
  caseSeconds: number;
  maxRssMB: number;
  out: string;
  quiet: boolean;
}

class Pool {
  private workers: { w: Worker; busy: boolean }[] = [];
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (f: Failure | null) => void; timer: NodeJS.Timeout; slot: number }>();

  constructor(
    size: number,
    private readonly caseMs: number,
  ) {
    for (let i = 0; i < size; i++) this.workers.push({ w: this.spawn(i), busy: false });
  }

  private spawn(slot: number): Worker {
    const w = new Worker(new URL(import.meta.url), { workerData: { fuzzWorker: true }, resourceLimits: { maxOldGenerationSizeMb: 512 } });
    w.on('message', (m: { id: number; failure: Failure | null }) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.waiting.delete(m.id);
      this.workers[slot]!.busy = false;
      p.resolve(m.failure);
    });
    w.on('error', (e) => this.fail(slot, { check: 'worker died', detail: String(e) }));
    return w;
  }

  private fail(slot: number, f: Failure): void {
    for (const [id, p] of this.waiting) {
      if (p.slot !== slot) continue;
      clearTimeout(p.timer);
      this.waiting.delete(id);
      p.resolve(f);
    }
    void this.workers[slot]!.w.terminate();
    this.workers[slot] = { w: this.spawn(slot), busy: false };
  }

  /** Runs one case on a free worker (waits for one). */
  async run(target: InProcessTarget, bytes: Buffer): Promise<Failure | null> {
    let slot = this.workers.findIndex((x) => !x.busy);
    while (slot < 0) {
      await new Promise((r) => setTimeout(r, 1));
      slot = this.workers.findIndex((x) => !x.busy);
    }
    this.workers[slot]!.busy = true;
    const id = this.next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.fail(slot, { check: 'hang', detail: `no answer within ${this.caseMs} ms` }), this.caseMs);
      this.waiting.set(id, { resolve, timer, slot });
      this.workers[slot]!.w.postMessage({ id, target, bytes });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((x) => x.w.terminate()));
  }
}

function runCli(t: CliTarget, bytes: Buffer, o: Options): Promise<Failure | null> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-soak-'));
  const input = join(dir, 'input');
  writeFileSync(input, bytes);
  const args = t.args.map((a) => a.replace('OUT', join(dir, 'out')));
  const timeFile = join(dir, 'time');
  return new Promise((resolve) => {
    const child = spawn('nice', ['/usr/bin/time', '-f', '%M %e', '-o', timeFile, process.execPath, join(REPO_ROOT, 'dist', 'cli', `${t.cmd}.js`), ...args, input], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outLen = 0;
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (outLen < 64 << 20) out.push(d);
      outLen += d.length;
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 1 << 16) err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.caseSeconds * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let f: Failure | null = null;
      const time = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ') : [];
      const rssMB = Number(time[0]) / 1024;
      const status = /non-zero status (\d+)/.exec(existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '');
      const exit = signal !== null ? 128 : status ? Number(status[1]) : code ?? 0;
      const stdout = Buffer.concat(out).toString('latin1');
      if (signal !== null || /terminated by signal/.test(existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '')) f = { check: 'killed (time limit or signal)', detail: `${o.caseSeconds} s` };
      else if (exit !== 0 && exit !== 1) f = { check: `exit ${exit}`, detail: err.slice(0, 2000) };
      else if (rssMB > o.maxRssMB) f = { check: 'peak RSS', detail: `${rssMB.toFixed(0)} MB` };
      else {
        for (const line of err.split('\n')) {
          if (line === '') continue;
          if (!line.startsWith(`${t.cmd}: `) || /internal error|^\s+at |FATAL|Error:/.test(line)) {
            f = { check: 'stderr line', detail: line.slice(0, 500) };
            break;
          }
        }
      }
      if (f === null && t.out === 'ndjson') {
        for (const l of stdout.split('\n')) {
          if (l === '') continue;
          try {
            const v = JSON.parse(l) as unknown;
            if (v === null || typeof v !== 'object') throw new Error('not an object');
          } catch (e) {
            f = { check: 'NDJSON output', detail: `${String(e)}: ${l.slice(0, 200)}` };
            break;
          }
        }
      }
      if (f === null && t.out === 'json' && exit === 0 && outLen < 64 << 20) {
        try {
          JSON.parse(stdout);
        } catch (e) {
          f = { check: 'JSON output', detail: String(e) };
        }
      }
      if (f === null && t.file === 'pcap' && existsSync(join(dir, 'out.pcap'))) {
        const w = readFileSync(join(dir, 'out.pcap'));
        if (w.length < 24 || ![0xa1b2c3d4, 0xa1b23c4d].includes(w.readUInt32LE(0)) && ![0xa1b2c3d4, 0xa1b23c4d].includes(w.readUInt32BE(0)) && w.readUInt32LE(0) !== 0x0a0d0d0a) f = { check: 'written capture', detail: `${w.length} bytes` };
      }
      if (f === null && readdirSync(dir).some((n) => n.startsWith('.tcpkit-'))) f = { check: 'temporary file left', detail: readdirSync(dir).join(' ') };
      rmSync(dir, { recursive: true, force: true });
      resolve(f);
    });
  });
}

/** Shrinks `bytes` while `run` still fails the same check (at most `tries` runs). */
async function minimise(bytes: Buffer, check: string, run: (b: Buffer) => Promise<Failure | null>, tries = 120): Promise<Buffer> {
  let best = bytes;
  let chunk = best.length >> 1;
  while (chunk >= 1 && tries > 0) {
    let cut = false;
    for (let at = 0; at + chunk <= best.length && tries > 0; at += chunk) {
      const cand = Buffer.concat([best.subarray(0, at), best.subarray(at + chunk)]);
      tries--;
      const f = await run(cand);
      if (f !== null && f.check === check) {
        best = cand;
        cut = true;
        at -= chunk;
      }
    }
    if (!cut) chunk >>= 1;
  }
  return best;
}

function parse(): Options {
  const { values: v } = parseArgs({
    args: process.argv.slice(2),
    options: {
      cases: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      jobs: { type: 'string' },
      'cli-every': { type: 'string' },
      'case-seconds': { type: 'string' },
      'max-rss': { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
    },
  });
  const num = (s: string | undefined, d: number): number => (s === undefined ? d : Number(s.replace(/_/g, '')));
  return {
    cases: num(v.cases, 10_000),
    seconds: num(v.seconds, Infinity),
    seed: num(v.seed, Date.now() % 1e9),
    jobs: num(v.jobs, Math.max(1, cpus().length - 1)),
    cliEvery: num(v['cli-every'], 25),
    caseSeconds: num(v['case-seconds'], 60),
    maxRssMB: num(v['max-rss'], 400),
    out: v.out ?? join(REPO_ROOT, 'bench', 'out', 'fuzz-failures'),
    quiet: v.quiet === true,
  };
}

async function main(): Promise<void> {
  const o = parse();
  const seeds = await loadSeeds();
  const byKind = (k: Kind): Seed[] => seeds.filter((s) => s.kind === k);
  const pool = new Pool(o.jobs, o.caseSeconds * 1000);
  const counts = new Map<string, number>();
  const failures: { index: number; target: string; seed: string; desc: string[]; failure: Failure; file: string }[] = [];
  const seen = new Set<string>();
  const t0 = Date.now();
  let done = 0;
  let lastReport = t0;
  const say = (s: string): void => {
    if (!o.quiet) process.stderr.write(s + '\n');
  };
  say(`fuzz-soak: seed ${o.seed}, ${seeds.length} seeds (${byKind('capture').length} captures, ${byKind('records').length} record files, ${byKind('tcpinfo').length} tcp-info), ${o.jobs} workers, a command every ${o.cliEvery} cases`);
  let index = 0;
  const inflight = new Set<Promise<void>>();
  const oneCase = async (i: number): Promise<void> => {
    const r = rngFor(o.seed, i);
    const cli = o.cliEvery > 0 && i % o.cliEvery === o.cliEvery - 1;
    const kind = pick(r, ['capture', 'capture', 'capture', 'records', 'tcpinfo'] as Kind[]);
    const seed = pick(r, byKind(kind).length > 0 ? byKind(kind) : seeds);
    const m = mutate(r, seed, seeds);
    let target: string;
    let run: (b: Buffer) => Promise<Failure | null>;
    if (cli) {
      // now and then a command meets another kind's input
      const t = pick(r, CLI_TARGETS[r() < 0.1 ? pick(r, ['capture', 'records', 'tcpinfo'] as Kind[]) : seed.kind]);
      target = `${t.cmd} ${t.args.join(' ')}`;
      run = (b) => runCli(t, b, o);
    } else {
      const pool2: readonly InProcessTarget[] = seed.kind === 'capture' ? IN_PROCESS.filter((x) => x.startsWith('analyze') || x === 'follow') : IN_PROCESS.filter((x) => !x.startsWith('analyze') && x !== 'follow');
      const t = pick(r, r() < 0.05 ? IN_PROCESS : pool2);
      target = t;
      run = (b) => pool.run(t, b);
    }
    counts.set(target, (counts.get(target) ?? 0) + 1);
    const f = await run(m.bytes);
    done++;
    if (f === null) return;
    const key = `${target}|${f.check}`;
    let file = '';
    if (!seen.has(key)) {
      seen.add(key);
      const small = await minimise(m.bytes, f.check, run, cli ? 40 : 200);
      mkdirSync(o.out, { recursive: true });
      file = join(o.out, `case-${o.seed}-${i}.bin`);
      writeFileSync(file, small);
      writeFileSync(`${file}.json`, JSON.stringify({ seed: o.seed, index: i, target, from: seed.name, mutations: m.desc, failure: f, bytes: small.length, original: m.bytes.length }, null, 2) + '\n');
    }
    failures.push({ index: i, target, seed: seed.name, desc: m.desc, failure: f, file });
    say(`fuzz-soak: case ${i} (${target} on ${seed.name}: ${m.desc.join('; ')}): ${f.check}: ${f.detail.split('\n')[0]!.slice(0, 300)}${file ? ` -> ${file}` : ''}`);
  };
  while (index < o.cases && (Date.now() - t0) / 1000 < o.seconds) {
    while (inflight.size >= o.jobs + 1) await Promise.race(inflight);
    const p = oneCase(index++).finally(() => inflight.delete(p));
    inflight.add(p);
    if (Date.now() - lastReport > 60_000) {
      lastReport = Date.now();
      say(`fuzz-soak: ${done} cases in ${((lastReport - t0) / 1000).toFixed(0)} s, ${failures.length} failures`);
    }
  }
  await Promise.all(inflight);
  await pool.close();
  const secs = (Date.now() - t0) / 1000;
  const lines = [`fuzz-soak: seed ${o.seed}: ${done} cases in ${secs.toFixed(0)} s (${(done / secs).toFixed(1)}/s), ${failures.length} failures (${seen.size} distinct)`];
  for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(8)}  ${k}`);
  for (const k of seen) lines.push(`  FAIL ${k}`);
  process.stdout.write(lines.join('\n') + '\n');
  process.exitCode = failures.length > 0 ? 1 : 0;
}

if (isMainThread) {
  main().catch((e: unknown) => {
    process.stderr.write(`fuzz-soak: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 2;
  });
}
