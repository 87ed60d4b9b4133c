#!/usr/bin/env node
/**
 * Benchmark: tcpanalyze vs tcptrace vs tshark on a generated busy-server capture.
 *
 * Two captures (mixes): bulk (~880 B per packet) and small packets (~165 B,
 * request/response services); --mix bulk|small|both selects.
 *
 *   npm run bench -- [--mix M] [--packets N] [--seed S] [--runs N] [--tshark-runs N] [--no-tshark] [--no-tcptrace]
 *                    [--no-memory] [--memory-runs N] [--regen]
 *                    [--tcpanalyze-cmd 'shell command with FILE']
 *
 * See docs/bench.md for what is measured and how to read the output.
 */
import { existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_OPTIONS, DEFAULT_PACKETS, GEN_VERSION, SMALL_PACKETS, formatStats, type GenStats } from './gen-capture.js';
import { runL7Bench } from './l7.js';
import { runQueryBench } from './query.js';
import { runClickHouseBench } from './clickhouse.js';
import { REPO_ROOT, firstLine, fmtNum, measure, median, runInherit, shellQuote, table, which, type Measured } from './_util.js';

const OUT_DIR = join(REPO_ROOT, 'bench', 'out');
const GEN_JS = join(REPO_ROOT, 'dist', 'bench', 'gen-capture.js');
const TCPANALYZE_JS = join(REPO_ROOT, 'dist', 'cli', 'tcpanalyze.js');

/** Node options on a script's `#!/usr/bin/env -S node ...` line. */
function shebangFlags(path: string): string[] {
  if (!existsSync(path)) return [];
  const first = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!.*\bnode\s+(.*)$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/) : [];
}
const TIME_BIN = '/usr/bin/time';

/** Goals checked at the end (reported as PASS/FAIL lines, never as the exit status). */
/** Issue "part 1": reading, decoding and the connection table (tcpanalyze --analysis flows). */
const GOAL_FLOWS_SPEEDUP_VS_TCPTRACE = 3;
/** Issue "part 2": the full analysis (tcpanalyze's default). */
const GOAL_SPEEDUP_VS_TCPTRACE = 2;
/** Peak RSS: part 1 (flows) under 150 MB, part 2 (the full analysis) under 200 MB. */
const GOAL_FLOWS_PEAK_RSS_MB = 150;
const GOAL_PEAK_RSS_MB = 200;
const GOAL_RSS_GROWTH = 0.2;
/** Small-packet mix (issue 23): the full analysis at least 1.5x tcptrace and 20x tshark; flows 3x tcptrace. */
const GOAL_SMALL_SPEEDUP_VS_TCPTRACE = 1.5;
const GOAL_SMALL_SPEEDUP_VS_TSHARK = 20;

type Mix = 'bulk' | 'small';
const MEMORY_SCALE = 10;

interface Tool {
  name: string;
  /** Command line for a capture file. */
  argv: (file: string) => string[];
  /** Printable command. */
  display: string;
  available: boolean;
  why?: string;
  version?: string;
}

interface ToolResult {
  name: string;
  command: string;
  version?: string;
  available: boolean;
  why?: string;
  runs: Measured[];
  failed: boolean;
  medianWall: number;
  medianRssMB: number;
  medianCpu: number;
  pps: number;
  mbps: number;
}

interface CaptureInfo {
  path: string;
  packets: number;
  bytes: number;
  stats: GenStats;
  reused: boolean;
}

function usage(): string {
  return `usage: node dist/bench/run.js [options]
  --mix M                bulk, small or both (default both): the bulk capture (~880 B per packet) and/or
                         the small-packet one (request/response services, ~165 B per packet)
  --packets N            capture size in packets (default ${DEFAULT_PACKETS} bulk, ${SMALL_PACKETS} small)
  --tshark-runs N        timed tshark runs per mix (default: --runs; tshark takes 15-30 s a run)
  --seed S               generator seed (default ${DEFAULT_OPTIONS.seed})
  --runs N               timed runs per tool; the median is reported (default 5: the machine's speed drifts by ±10-20 % within minutes)
  --no-tshark            skip tshark (slowest tool, ~40 s per run at 1.5 M packets)
  --no-tcptrace          skip tcptrace
  --no-memory            skip the ${MEMORY_SCALE}x-capture memory-flatness runs of tcpanalyze (full and flows)
  --no-query             skip the SQL and Parquet section (tcpquery group-by, Parquet writers)
  --no-clickhouse        skip the ClickHouse section (tcpload rows/s, batch formats; needs clickhouse-server)
  --no-l7                skip the application-decoding section (--decode all on HTTP, TLS and DNS traffic)
  --l7-packets N         size of that section's capture (default 300000)
  --memory-runs N        runs on the ${MEMORY_SCALE}x capture (default 1; peak RSS is nearly deterministic)
  --regen                regenerate the capture(s) even if a matching one exists
  --tcpanalyze-cmd CMD   benchmark this shell command instead of dist/cli/tcpanalyze.js;
                         FILE in CMD is replaced by the (quoted) capture path,
                         e.g. --tcpanalyze-cmd 'tcpdump -nr FILE -w -' (stdout already goes to /dev/null;
                         as root, 'tcpdump -w /dev/null' would chown /dev/null to the tcpdump user)`;
}

function parse(): {
  mixes: Mix[];
  packets: number | undefined;
  tsharkRuns: number;
  seed: number;
  runs: number;
  tshark: boolean;
  tcptrace: boolean;
  memory: boolean;
  l7: boolean;
  query: boolean;
  clickhouse: boolean;
  l7Packets: number;
  memoryRuns: number;
  regen: boolean;
  tcpanalyzeCmd: string | undefined;
} {
  const { values: v } = parseArgs({
    args: process.argv.slice(2),
    options: {
      packets: { type: 'string' },
      mix: { type: 'string' },
      'tshark-runs': { type: 'string' },
      seed: { type: 'string' },
      runs: { type: 'string' },
      'no-tshark': { type: 'boolean' },
      'no-tcptrace': { type: 'boolean' },
      'no-memory': { type: 'boolean' },
      'no-l7': { type: 'boolean' },
      'no-query': { type: 'boolean' },
      'no-clickhouse': { type: 'boolean' },
      'l7-packets': { type: 'string' },
      memory: { type: 'boolean' },
      'memory-runs': { type: 'string' },
      regen: { type: 'boolean' },
      'tcpanalyze-cmd': { type: 'string' },
      hostile: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(usage() + '\n');
    process.exit(0);
  }
  const int = (s: string | undefined, name: string, def: number, min: number): number => {
    if (s === undefined) return def;
    const x = Number(s.replace(/_/g, ''));
    if (!Number.isInteger(x) || x < min) {
      process.stderr.write(`run: bad --${name} ${s}\n${usage()}\n`);
      process.exit(2);
    }
    return x;
  };
  const mix = v.mix ?? 'both';
  if (mix !== 'bulk' && mix !== 'small' && mix !== 'both') {
    process.stderr.write(`run: --mix is bulk, small or both, not ${mix}\n${usage()}\n`);
    process.exit(2);
  }
  const runs = int(v.runs, 'runs', 5, 1);
  return {
    mixes: mix === 'both' ? ['bulk', 'small'] : [mix],
    packets: v.packets === undefined ? undefined : int(v.packets, 'packets', DEFAULT_PACKETS, 1000),
    tsharkRuns: Math.min(runs, int(v['tshark-runs'], 'tshark-runs', runs, 1)),
    seed: int(v.seed, 'seed', DEFAULT_OPTIONS.seed, 0),
    runs,
    tshark: !v['no-tshark'],
    tcptrace: !v['no-tcptrace'],
    memory: !v['no-memory'],
    l7: !v['no-l7'],
    query: !v['no-query'],
    clickhouse: !v['no-clickhouse'],
    l7Packets: int(v['l7-packets'], 'l7-packets', 300_000, 1000),
    memoryRuns: int(v['memory-runs'], 'memory-runs', 1, 1),
    regen: v.regen === true,
    tcpanalyzeCmd: v['tcpanalyze-cmd'],
  };
}

/** Path of the cached capture for these parameters. */
function capturePath(packets: number, seed: number, mix: Mix): string {
  return join(OUT_DIR, `bench-${mix === 'small' ? 'small-' : ''}${packets}${seed === DEFAULT_OPTIONS.seed ? '' : `-s${seed}`}.pcap`);
}

interface Meta {
  genVersion: number;
  options: Record<string, unknown>;
  stats: GenStats;
}

function readMeta(path: string): Meta | null {
  try {
    return JSON.parse(readFileSync(`${path}.meta.json`, 'utf8')) as Meta;
  } catch {
    return null;
  }
}

/** Generates the capture unless a matching one (same generator version, options and size) exists. */
async function ensureCapture(packets: number, seed: number, regen: boolean, mix: Mix = 'bulk'): Promise<CaptureInfo> {
  const path = capturePath(packets, seed, mix);
  const want = { ...DEFAULT_OPTIONS, packets, seed, mix };
  const matches = (m: Meta | null): m is Meta => {
    if (!m || m.genVersion !== GEN_VERSION || !existsSync(path)) return false;
    // captures written before the small mix existed carry no `mix`: they are bulk
    for (const [k, val] of Object.entries(want)) if (k !== 'quiet' && (m.options[k] ?? (k === 'mix' ? 'bulk' : undefined)) !== val) return false;
    return statSync(path).size === m.stats.bytes;
  };
  let meta = readMeta(path);
  if (!regen && matches(meta)) {
    console.log(`capture: reusing ${rel(path)} (generator v${GEN_VERSION}, seed ${seed})`);
    return { path, packets: meta.stats.packets, bytes: meta.stats.bytes, stats: meta.stats, reused: true };
  }
  // Refuse to fill the disk: need the file plus 10 % headroom (~900 B per packet).
  const need = packets * 1000;
  const fsStat = statfsSync(OUT_DIR);
  const free = fsStat.bavail * fsStat.bsize;
  if (free < need * 1.1) throw new Error(`not enough disk space for ${rel(path)}: need ~${fmtNum(need / 1e9, 1)} GB, ${fmtNum(free / 1e9, 1)} GB free`);
  console.log(`capture: generating ${rel(path)} (${fmtNum(packets)} packets, seed ${seed}) ...`);
  const code = await runInherit(process.execPath, [GEN_JS, '--mix', mix, '--packets', String(packets), '--seed', String(seed), '--meta', path]);
  if (code !== 0) throw new Error(`gen-capture failed with exit status ${code}`);
  meta = readMeta(path);
  if (!matches(meta)) throw new Error(`gen-capture did not produce a consistent ${rel(path)} + .meta.json`);
  return { path, packets: meta.stats.packets, bytes: meta.stats.bytes, stats: meta.stats, reused: false };
}

/** Reads the whole file once so every tool starts with it in the page cache. */
function warmCache(path: string): number {
  const t0 = process.hrtime.bigint();
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(16 << 20);
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0) {
      /* discard */
    }
  } finally {
    closeSync(fd);
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function rel(p: string): string {
  return p.startsWith(REPO_ROOT + '/') ? p.slice(REPO_ROOT.length + 1) : p;
}

function makeTools(opts: ReturnType<typeof parse>): Tool[] {
  const tools: Tool[] = [];
  if (opts.tcpanalyzeCmd !== undefined) {
    const cmd = opts.tcpanalyzeCmd;
    tools.push({
      name: 'tcpanalyze',
      argv: (file) => ['bash', '-c', cmd.includes('FILE') ? cmd.split('FILE').join(shellQuote(file)) : `${cmd} ${shellQuote(file)}`],
      display: `bash -c ${shellQuote(cmd)}  (stand-in given with --tcpanalyze-cmd)`,
      available: true,
    });
  } else {
    const ok = existsSync(TCPANALYZE_JS);
    tools.push({
      name: 'tcpanalyze',
      // run it as the installed command runs: with the V8 flags of its shebang line
      argv: (file) => [process.execPath, ...shebangFlags(TCPANALYZE_JS), TCPANALYZE_JS, '--format', 'ndjson', file],
      display: `node ${shebangFlags(TCPANALYZE_JS).join(' ')} ${rel(TCPANALYZE_JS)} --format ndjson FILE > /dev/null`.replace('  ', ' '),
      available: ok,
      ...(ok ? { version: `node ${process.version}` } : { why: `${rel(TCPANALYZE_JS)} not found (not written/built yet?); use --tcpanalyze-cmd to test a stand-in` }),
    });
    tools.push({
      name: 'tcpa-2threads',
      argv: (file) => [process.execPath, ...shebangFlags(TCPANALYZE_JS), TCPANALYZE_JS, '--threads', '2', '--format', 'ndjson', file],
      display: `node ${shebangFlags(TCPANALYZE_JS).join(' ')} ${rel(TCPANALYZE_JS)} --threads 2 --format ndjson FILE > /dev/null`.replace('  ', ' '),
      available: ok,
      ...(ok ? { version: `node ${process.version}` } : { why: `${rel(TCPANALYZE_JS)} not found` }),
    });
    tools.push({
      name: 'tcpa-flows',
      argv: (file) => [process.execPath, ...shebangFlags(TCPANALYZE_JS), TCPANALYZE_JS, '--analysis', 'flows', '--format', 'ndjson', file],
      display: `node ${shebangFlags(TCPANALYZE_JS).join(' ')} ${rel(TCPANALYZE_JS)} --analysis flows --format ndjson FILE > /dev/null`.replace('  ', ' '),
      available: ok,
      ...(ok ? { version: `node ${process.version}` } : { why: `${rel(TCPANALYZE_JS)} not found` }),
    });
  }
  const tcptrace = which('tcptrace');
  if (opts.tcptrace) {
    tools.push({
      name: 'tcptrace',
      argv: (file) => [tcptrace ?? 'tcptrace', '-n', '-l', '-r', file],
      display: 'tcptrace -n -l -r FILE > /dev/null',
      available: tcptrace !== null,
      ...(tcptrace ? { version: firstLine(tcptrace, ['-v']).replace(/^.*?--\s*/, '') } : { why: 'not installed (apt-get install tcptrace)' }),
    });
  }
  const tshark = which('tshark');
  if (opts.tshark) {
    tools.push({
      name: 'tshark',
      argv: (file) => [tshark ?? 'tshark', '-q', '-n', '-r', file, '-z', 'conv,tcp'],
      display: 'tshark -q -n -r FILE -z conv,tcp > /dev/null',
      available: tshark !== null,
      ...(tshark ? { version: firstLine(tshark, ['--version']) } : { why: 'not installed (apt-get install tshark)' }),
    });
  }
  return tools;
}

function summarize(tool: Tool, runs: Measured[], cap: CaptureInfo): ToolResult {
  const ok = runs.filter((r) => r.code === 0);
  const medianWall = median(ok.map((r) => r.wall));
  return {
    name: tool.name,
    command: tool.display,
    ...(tool.version !== undefined ? { version: tool.version } : {}),
    available: tool.available,
    ...(tool.why !== undefined ? { why: tool.why } : {}),
    runs,
    failed: runs.length > 0 && ok.length === 0,
    medianWall,
    medianRssMB: median(ok.map((r) => r.rssKB / 1024)),
    medianCpu: median(ok.map((r) => r.user + r.sys)),
    pps: cap.packets / medianWall,
    mbps: cap.bytes / 1e6 / medianWall,
  };
}

async function main(): Promise<void> {
  if (process.argv.includes('--hostile')) {
    // the hostile section (bench/hostile.ts): floods, a churn of long-lived connections, fragments
    const { runHostile } = await import('./hostile.js');
    await runHostile(process.argv.slice(2));
    return;
  }
  const opts = parse();
  if (!existsSync(TIME_BIN) || which(TIME_BIN) === null) {
    console.error(`run: ${TIME_BIN} (GNU time) is required to measure peak RSS.\n     Install it with:  sudo apt-get install time`);
    process.exit(1);
  }
  mkdirSync(OUT_DIR, { recursive: true });

  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${fmtNum(totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}`);
  const tools = makeTools(opts);
  for (const t of tools) {
    if (!t.available) console.log(`${t.name}: ${t.name === 'tcpanalyze' ? 'NOT AVAILABLE' : 'not installed'} - ${t.why}`);
  }

  const goals: Goal[] = [];
  const mixJson: Record<string, unknown>[] = [];
  let bulkCapture: string | null = null;
  for (const mix of opts.mixes) {
    const r = await benchMix(mix, opts, tools);
    goals.push(...r.goals);
    mixJson.push(r.json);
    if (mix === 'bulk') bulkCapture = r.capture;
  }
  if (opts.l7 && opts.tcpanalyzeCmd === undefined) {
    goals.push(...(await runL7Bench({ packets: opts.l7Packets, runs: opts.runs, memory: opts.memory, regen: opts.regen, outDir: OUT_DIR, timeBin: TIME_BIN, nodeFlags: shebangFlags(TCPANALYZE_JS) })));
  }
  if (opts.query && opts.tcpanalyzeCmd === undefined && bulkCapture !== null) goals.push(...(await runQueryBench({ capture: bulkCapture, outDir: OUT_DIR, copies: 4 })));
  if (opts.clickhouse && opts.tcpanalyzeCmd === undefined && bulkCapture !== null) goals.push(...(await runClickHouseBench({ capture: bulkCapture, outDir: OUT_DIR, runs: opts.runs })));
  console.log('\nGoals:');
  for (const g of goals) console.log(`${g.status}  ${g.goal}: ${g.detail}`);
  if (opts.tcpanalyzeCmd !== undefined) console.log('(tcpanalyze was a stand-in command: --tcpanalyze-cmd)');

  const jsonPath = join(OUT_DIR, 'results.json');
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memGiB: totalmem() / 2 ** 30, node: process.version };
  writeFileSync(
    jsonPath,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine,
        options: opts,
        mixes: mixJson,
        goals,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${rel(jsonPath)}`);
}

type Goal = { goal: string; status: 'PASS' | 'FAIL' | 'SKIP'; detail: string };

/** Times every tool on one mix's capture (plus the memory-flatness runs on the bulk mix) and prints its table and goals. */
async function benchMix(mix: Mix, opts: ReturnType<typeof parse>, tools: Tool[]): Promise<{ goals: Goal[]; json: Record<string, unknown>; capture: string }> {
  const packets = opts.packets ?? (mix === 'small' ? SMALL_PACKETS : DEFAULT_PACKETS);
  console.log(`\n=== ${mix === 'small' ? 'small-packet mix (request/response services)' : 'bulk mix (keep-alive sessions, large responses)'} ===`);
  const cap = await ensureCapture(packets, opts.seed, opts.regen, mix);
  if (cap.reused) {
    const lines = formatStats(cap.stats).split('\n').filter((l) => !l.startsWith('generated in'));
    console.log(lines.map((l) => `  ${l}`).join('\n'));
  }
  const warm = warmCache(cap.path);
  console.log(`page cache warmed (${fmtNum(cap.bytes / 1e6 / warm)} MB/s read); ${opts.runs} run(s) per tool, order rotated each round\n`);

  // Timed runs, rotating the tool order every round so slow drifts on a
  // shared machine spread over all tools.
  const active = tools.filter((t) => t.available);
  const runs = new Map<string, Measured[]>(tools.map((t) => [t.name, []]));
  const loads: number[] = [];
  for (let round = 0; round < opts.runs; round++) {
    for (let j = 0; j < active.length; j++) {
      const tool = active[(round + j) % active.length]!;
      if (tool.name === 'tshark' && round >= opts.tsharkRuns) continue;
      loads.push(loadavg()[0]!);
      const m = await measure(TIME_BIN, tool.argv(cap.path), OUT_DIR);
      runs.get(tool.name)!.push(m);
      const status = m.code === 0 ? '' : `  EXIT ${m.code}: ${m.stderrTail.trim().split('\n').slice(-3).join(' | ')}`;
      console.log(`  round ${round + 1}/${opts.runs}  ${tool.name.padEnd(10)} ${m.wall.toFixed(2).padStart(7)} s wall  ${(m.user + m.sys).toFixed(2).padStart(7)} s cpu  ${fmtNum(m.rssKB / 1024, 1).padStart(8)} MB peak RSS${status}`);
    }
  }
  const results = tools.map((t) => summarize(t, runs.get(t.name)!, cap));
  const byName = new Map(results.map((r) => [r.name, r]));
  const tcpa = byName.get('tcpanalyze')!;
  const tcpt = byName.get('tcptrace');
  const tsh = byName.get('tshark');
  const good = (r: ToolResult | undefined): r is ToolResult => r !== undefined && r.available && !r.failed && Number.isFinite(r.medianWall);

  // Memory flatness: the full analysis and the flows pipeline on a capture MEMORY_SCALE times larger.
  interface MemoryRun {
    tool: string;
    runs: Measured[];
    medianRssMB: number;
    medianWall: number;
    pps: number;
  }
  let bigCapture: (Omit<CaptureInfo, 'stats'> & { stats: GenStats }) | null = null;
  const memory: MemoryRun[] = [];
  let memoryNote = '';
  const memoryTools = tools.filter((t) => (t.name === 'tcpanalyze' || t.name === 'tcpa-flows') && good(byName.get(t.name)));
  if (!opts.memory) memoryNote = 'skipped (--no-memory)';
  else if (mix === 'small') memoryNote = 'not run on the small-packet mix (the bulk mix checks it)';
  else if (memoryTools.length === 0) memoryNote = 'skipped (tcpanalyze not available or failed)';
  else {
    console.log('');
    try {
      const big = await ensureCapture(packets * MEMORY_SCALE, opts.seed, opts.regen, mix);
      bigCapture = big;
      const w = warmCache(big.path);
      console.log(`page cache warmed (${fmtNum(big.bytes / 1e6 / w)} MB/s read)`);
      for (const tool of memoryTools) {
        const mruns: Measured[] = [];
        for (let i = 0; i < opts.memoryRuns; i++) {
          const m = await measure(TIME_BIN, tool.argv(big.path), OUT_DIR);
          mruns.push(m);
          console.log(`  ${MEMORY_SCALE}x run ${i + 1}/${opts.memoryRuns}  ${tool.name.padEnd(10)} ${m.wall.toFixed(2).padStart(7)} s wall  ${fmtNum(m.rssKB / 1024, 1).padStart(8)} MB peak RSS${m.code === 0 ? '' : `  EXIT ${m.code}`}`);
        }
        const ok = mruns.filter((m) => m.code === 0);
        if (ok.length === 0) {
          memoryNote += `${tool.name} failed on the ${MEMORY_SCALE}x capture. `;
          continue;
        }
        const mw = median(ok.map((m) => m.wall));
        memory.push({ tool: tool.name, runs: mruns, medianRssMB: median(ok.map((m) => m.rssKB / 1024)), medianWall: mw, pps: big.packets / mw });
      }
    } catch (e) {
      memoryNote = `skipped: ${(e as Error).message}`;
    }
  }
  const memoryOf = (name: string): MemoryRun | undefined => memory.find((m) => m.tool === name);

  // Report.
  const mb = cap.bytes / 1e6;
  const ratio = (r: ToolResult, ref: ToolResult | undefined): string => (good(r) && good(ref) ? `${(ref.medianWall / r.medianWall).toFixed(2)}x` : '-');
  const rows = results.map((r) => {
    if (!r.available) return [r.name, r.name === 'tcpanalyze' ? 'not built' : 'not installed', '', '', '', '', '', '', '', ''];
    if (r.failed) return [r.name, 'FAILED', '', '', '', '', '', '', '', ''];
    return [
      r.name,
      fmtNum(cap.packets),
      fmtNum(mb, 1),
      r.medianWall.toFixed(2),
      fmtNum(r.pps),
      fmtNum(r.mbps, 1),
      fmtNum(r.medianRssMB, 1),
      r.medianCpu.toFixed(2),
      ratio(r, tcpt),
      ratio(r, tsh),
    ];
  });
  console.log(`\nResults, ${mix} mix (median of ${opts.runs} run(s), tshark ${opts.tsharkRuns}; speed ratios = this tool's packets/s over the other's, same session):\n`);
  console.log(table(['tool', 'packets', 'file MB', 'wall s', 'packets/s', 'MB/s', 'peak RSS MB', 'cpu s', 'vs tcptrace', 'vs tshark'], rows));
  for (const r of results) console.log(`  ${r.name.padEnd(10)} ${r.available ? r.command : r.why}${r.version ? `   [${r.version}]` : ''}`);

  console.log('\nMemory flatness (peak RSS on the capture and on one ten times larger):');
  if (memory.length > 0 && bigCapture !== null) {
    const big = bigCapture;
    const memRows: string[][] = [];
    for (const m of memory) {
      const one = byName.get(m.tool)!;
      memRows.push([m.tool, '1x', fmtNum(cap.packets), fmtNum(mb, 1), one.medianWall.toFixed(2), fmtNum(one.pps), fmtNum(one.medianRssMB, 1), '']);
      const growth = m.medianRssMB / one.medianRssMB - 1;
      memRows.push([m.tool, `${MEMORY_SCALE}x`, fmtNum(big.packets), fmtNum(big.bytes / 1e6, 1), m.medianWall.toFixed(2), fmtNum(m.pps), fmtNum(m.medianRssMB, 1), `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%`]);
    }
    console.log(table(['tool', 'capture', 'packets', 'file MB', 'wall s', 'packets/s', 'peak RSS MB', 'growth'], memRows));
  }
  if (memoryNote) console.log(`  ${memoryNote}`);

  // Per-round (paired) ratios and CPU-time ratios: less sensitive than the
  // ratio of medians to other jobs on a shared machine; printed for context.
  const paired = (a: ToolResult, b: ToolResult): number => {
    const xs: number[] = [];
    for (let i = 0; i < Math.min(a.runs.length, b.runs.length); i++) {
      if (a.runs[i]!.code === 0 && b.runs[i]!.code === 0) xs.push(b.runs[i]!.wall / a.runs[i]!.wall);
    }
    return median(xs);
  };
  const ratioNotes = (a: ToolResult, b: ToolResult): string =>
    `; median of per-round ratios ${paired(a, b).toFixed(2)}x, CPU-time ratio ${(b.medianCpu / a.medianCpu).toFixed(2)}x`;
  const maxLoad = Math.max(...loads);
  if (maxLoad > cpus().length) {
    console.log(`\nNOTE: load average reached ${maxLoad.toFixed(1)} on ${cpus().length} CPUs during the runs (other jobs); wall times are inflated - compare the ratios and the cpu s column.`);
  }

  // Goals.
  const goals: Goal[] = [];
  const speedGoal = mix === 'small' ? GOAL_SMALL_SPEEDUP_VS_TCPTRACE : GOAL_SPEEDUP_VS_TCPTRACE;
  if (good(tcpa) && good(tcpt)) {
    const sp = tcpt.medianWall / tcpa.medianWall;
    goals.push({ goal: `tcpanalyze >= ${speedGoal}x tcptrace -n -l -r speed`, status: sp >= speedGoal ? 'PASS' : 'FAIL', detail: `${sp.toFixed(2)}x (${fmtNum(tcpa.pps)} vs ${fmtNum(tcpt.pps)} packets/s, ratio of median walls${ratioNotes(tcpa, tcpt)})` });
  } else goals.push({ goal: `tcpanalyze >= ${speedGoal}x tcptrace -n -l -r speed`, status: 'SKIP', detail: !good(tcpa) ? 'tcpanalyze not measured' : 'tcptrace not measured' });
  if (mix === 'small') {
    if (good(tcpa) && good(tsh)) {
      const sp = tsh.medianWall / tcpa.medianWall;
      goals.push({ goal: `tcpanalyze >= ${GOAL_SMALL_SPEEDUP_VS_TSHARK}x tshark speed`, status: sp >= GOAL_SMALL_SPEEDUP_VS_TSHARK ? 'PASS' : 'FAIL', detail: `${sp.toFixed(2)}x (${fmtNum(tcpa.pps)} vs ${fmtNum(tsh.pps)} packets/s)` });
    } else goals.push({ goal: `tcpanalyze >= ${GOAL_SMALL_SPEEDUP_VS_TSHARK}x tshark speed`, status: 'SKIP', detail: !good(tcpa) ? 'tcpanalyze not measured' : 'tshark not measured' });
  }
  const flows = byName.get('tcpa-flows');
  if (good(flows) && good(tcpt)) {
    const sp = tcpt.medianWall / flows.medianWall;
    goals.push({ goal: `tcpanalyze --analysis flows >= ${GOAL_FLOWS_SPEEDUP_VS_TCPTRACE}x tcptrace -n -l -r speed`, status: sp >= GOAL_FLOWS_SPEEDUP_VS_TCPTRACE ? 'PASS' : 'FAIL', detail: `${sp.toFixed(2)}x (${fmtNum(flows.pps)} vs ${fmtNum(tcpt.pps)} packets/s${ratioNotes(flows, tcpt)})` });
  }
  const growthGoal = (name: string, label: string): void => {
    const one = byName.get(name);
    const m = memoryOf(name);
    const goal = `${label} RSS growth 1x -> ${MEMORY_SCALE}x < ${GOAL_RSS_GROWTH * 100}%`;
    if (m && good(one) && Number.isFinite(m.medianRssMB)) {
      const growth = m.medianRssMB / one.medianRssMB - 1;
      goals.push({ goal, status: growth < GOAL_RSS_GROWTH ? 'PASS' : 'FAIL', detail: `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}% (${fmtNum(one.medianRssMB, 1)} -> ${fmtNum(m.medianRssMB, 1)} MB)` });
    } else goals.push({ goal, status: 'SKIP', detail: memoryNote || 'not measured' });
  };
  const peakGoal = (name: string, label: string, limitMB: number): void => {
    const one = byName.get(name);
    const goal = `${label} peak RSS < ${limitMB} MB`;
    if (!good(one)) {
      goals.push({ goal, status: 'SKIP', detail: `${name} not measured` });
      return;
    }
    const m = memoryOf(name);
    const peak = Math.max(one.medianRssMB, m?.medianRssMB ?? 0);
    goals.push({ goal, status: peak < limitMB ? 'PASS' : 'FAIL', detail: `${fmtNum(one.medianRssMB, 1)} MB at 1x${m ? `, ${fmtNum(m.medianRssMB, 1)} MB at ${MEMORY_SCALE}x` : ''}` });
  };
  peakGoal('tcpa-flows', 'tcpanalyze --analysis flows', GOAL_FLOWS_PEAK_RSS_MB);
  if (mix === 'bulk') growthGoal('tcpa-flows', 'tcpanalyze --analysis flows');
  peakGoal('tcpanalyze', 'tcpanalyze', GOAL_PEAK_RSS_MB);
  if (mix === 'bulk') growthGoal('tcpanalyze', 'tcpanalyze');
  const perConn = (r: ToolResult | undefined): string => (good(r) ? `${fmtNum((r.medianWall / cap.stats.connections) * 1e6, 1)} µs` : '-');
  const perPkt = (r: ToolResult | undefined): string => (good(r) ? `${fmtNum((r.medianWall / cap.packets) * 1e9)} ns` : '-');
  console.log(`\nPer packet / per connection (${fmtNum(cap.packets)} packets, ${fmtNum(cap.stats.connections)} connections, median wall): ${results.filter(good).map((r) => `${r.name} ${perPkt(r)} / ${perConn(r)}`).join('; ')}`);
  for (const g of goals) g.goal = `[${mix}] ${g.goal}`;
  return {
    goals,
    capture: cap.path,
    json: {
      mix,
      loadAverages: loads,
      capture: { path: rel(cap.path), packets: cap.packets, bytes: cap.bytes, genVersion: GEN_VERSION, stats: cap.stats },
      tools: results.map((r) => ({ ...r, runs: r.runs.map(({ stderrTail, ...m }) => ({ ...m, ...(m.code !== 0 ? { stderrTail } : {}) })) })),
      memory:
        bigCapture !== null
          ? {
              capture: { path: rel(bigCapture.path), packets: bigCapture.packets, bytes: bigCapture.bytes },
              tools: memory.map((m) => ({ ...m, runs: m.runs.map(({ stderrTail, ...r }) => ({ ...r, ...(r.code !== 0 ? { stderrTail } : {}) })) })),
              ...(memoryNote ? { note: memoryNote } : {}),
            }
          : { skipped: memoryNote },
    },
  };
}

main().catch((e: unknown) => {
  console.error(`run: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
