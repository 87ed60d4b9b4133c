#!/usr/bin/env node
/**
 * The benchmark's hostile section: tcpanalyze on traffic made to hurt it.
 *
 *   npm run bench -- --hostile [--runs N] [--baseline DIR] [--regen]
 *   node dist/bench/hostile.js [same options]
 *
 * Captures (bench/gen-hostile.ts, cached in bench/out/):
 *  - synflood: 5,000,000 SYNs from random sources, 100,000 per second;
 *  - longlived: 500,000 connections open at once, 6,000,000 packets;
 *  - fragments: 2,000,000 first fragments of datagrams that never complete.
 * Each is run in interleaved rounds (the order rotates every round) with the
 * full analysis and with `--analysis flows`, stdout to /dev/null, under GNU
 * time; medians of wall, CPU (user + sys) and peak RSS are printed. With
 * `--baseline DIR` (a `dist/` of another build, say the commit before the
 * memory budget) the same commands of that build run in the same rounds.
 *
 * Goals (PASS/FAIL lines, as `npm run bench`):
 *  - synflood, full analysis: peak RSS under 400 MB, and at least the speed
 *    of `--analysis flows` of the baseline (when given), else of this build;
 *  - longlived, full analysis: peak RSS under --max-memory (512 MB), no abort;
 *  - fragments, full analysis: under 30 s, and peak RSS under 200 MB.
 * The machine is shared: compare CPU seconds and ratios from one run.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fragments, longlived, synflood } from './gen-hostile.js';
import { REPO_ROOT, fmtNum, measure, median, table, type Measured } from './_util.js';

const OUT_DIR = join(REPO_ROOT, 'bench', 'out');
const TIME_BIN = '/usr/bin/time';

function shebangFlags(path: string): string[] {
  const first = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!.*\bnode\s+(.*)$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/) : [];
}

interface Case {
  name: string;
  file: string;
  make: (path: string) => void;
}

const CASES: Case[] = [
  { name: 'synflood', file: 'hostile-synflood-5M.pcap', make: (p) => synflood(p, 5_000_000, 100_000, 1) },
  { name: 'longlived', file: 'hostile-longlived-500k.pcap', make: (p) => longlived(p, 500_000, 6_000_000, 1) },
  { name: 'fragments', file: 'hostile-fragments-2M.pcap', make: (p) => fragments(p, 2_000_000, 100_000, 1) },
];

interface Command {
  label: string;
  argv: (file: string) => string[];
}

function commands(dist: string, label: string): Command[] {
  const js = join(dist, 'cli', 'tcpanalyze.js');
  const flags = shebangFlags(js);
  return [
    { label: `${label} full`, argv: (f) => [process.execPath, ...flags, js, '--format', 'ndjson', f] },
    { label: `${label} flows`, argv: (f) => [process.execPath, ...flags, js, '--analysis', 'flows', '--format', 'ndjson', f] },
  ];
}

export async function runHostile(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({ args: argv, options: { runs: { type: 'string' }, baseline: { type: 'string' }, regen: { type: 'boolean' }, only: { type: 'string' }, hostile: { type: 'boolean' } } });
  const runs = Number(v.runs ?? 3);
  mkdirSync(OUT_DIR, { recursive: true });
  const cmds = [...commands(join(REPO_ROOT, 'dist'), 'this'), ...(v.baseline ? commands(v.baseline, 'baseline') : [])];
  const results: { cas: string; cmd: string; runs: Measured[] }[] = [];
  for (const c of CASES.filter((x) => v.only === undefined || v.only.split(',').includes(x.name))) {
    const path = join(OUT_DIR, c.file);
    if (v.regen || !existsSync(path)) {
      console.log(`hostile: generating ${c.file} ...`);
      c.make(path);
    }
    console.log(`hostile: ${c.name} (${fmtNum(statSync(path).size / 1e6)} MB)`);
    const per = cmds.map((cmd) => ({ cas: c.name, cmd: cmd.label, runs: [] as Measured[] }));
    for (let r = 0; r < runs; r++) {
      for (let k = 0; k < cmds.length; k++) {
        const i = (k + r) % cmds.length;
        const m = await measure(TIME_BIN, cmds[i]!.argv(path), OUT_DIR);
        per[i]!.runs.push(m);
        console.log(`  round ${r + 1}: ${cmds[i]!.label}: ${m.wall.toFixed(1)} s wall, ${(m.user + m.sys).toFixed(1)} s cpu, ${(m.rssKB / 1024).toFixed(0)} MB, exit ${m.code}`);
      }
    }
    results.push(...per);
  }
  const rows = results.map((x) => {
    const ok = x.runs.filter((m) => m.code === 0);
    return [x.cas, x.cmd, `${ok.length}/${x.runs.length}`, fmtNum(median(ok.map((m) => m.wall)), 1), fmtNum(median(ok.map((m) => m.user + m.sys)), 1), fmtNum(median(ok.map((m) => m.rssKB / 1024)))];
  });
  console.log('\n' + table(['case', 'command', 'ok', 'wall s', 'cpu s', 'peak RSS MB'], rows));
  const get = (cas: string, cmd: string): { wall: number; cpu: number; rss: number; ok: boolean } | null => {
    const x = results.find((y) => y.cas === cas && y.cmd === cmd);
    if (!x) return null;
    const ok = x.runs.filter((m) => m.code === 0);
    return { wall: median(ok.map((m) => m.wall)), cpu: median(ok.map((m) => m.user + m.sys)), rss: median(ok.map((m) => m.rssKB / 1024)), ok: ok.length === x.runs.length };
  };
  const goal = (ok: boolean, text: string): void => console.log(`${ok ? 'PASS' : 'FAIL'}: ${text}`);
  const syn = get('synflood', 'this full');
  if (syn) {
    goal(syn.ok && syn.rss < 400, `synflood, full analysis: peak RSS ${fmtNum(syn.rss)} MB < 400 MB, no abort`);
    const ref = get('synflood', v.baseline ? 'baseline flows' : 'this flows');
    if (ref) goal(syn.cpu <= ref.cpu, `synflood, full analysis ${fmtNum(syn.cpu, 1)} cpu s <= ${v.baseline ? 'the baseline' : 'this build'}'s --analysis flows ${fmtNum(ref.cpu, 1)} cpu s (wall ${fmtNum(syn.wall, 1)} vs ${fmtNum(ref.wall, 1)} s)`);
  }
  const ll = get('longlived', 'this full');
  if (ll) goal(ll.ok && ll.rss < 512, `longlived, full analysis: peak RSS ${fmtNum(ll.rss)} MB < --max-memory 512 MB, no abort`);
  const fr = get('fragments', 'this full');
  if (fr) goal(fr.ok && fr.wall < 30 && fr.rss < 200, `fragments, full analysis: ${fmtNum(fr.wall, 1)} s < 30 s, peak RSS ${fmtNum(fr.rss)} MB < 200 MB`);
}

if (process.argv[1]?.endsWith('hostile.js')) {
  runHostile(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`hostile: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
