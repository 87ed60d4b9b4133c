/** Small helpers shared by the benchmark scripts (no dependencies on src/). */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is compiled to dist/bench/_util.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Absolute path of an executable found on PATH, or null. */
export function which(cmd: string): string | null {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (isExecutable(p)) return p;
  }
  return null;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First line of `cmd args` output (stdout or stderr), for version strings. */
export function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0 && !l.startsWith('Running as user')) ?? ''
  );
}

/** Single-quotes a string for bash. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface Measured {
  /** Wall-clock seconds, measured around the child with hrtime. */
  wall: number;
  /** Peak resident set size in KB (GNU time %M: the largest ru_maxrss among the waited-for processes). */
  rssKB: number;
  user: number;
  sys: number;
  code: number;
  stderrTail: string;
}

/**
 * Runs argv under `/usr/bin/time -f '%e %M %U %S'` with stdout sent to
 * /dev/null, returning wall time (hrtime), peak RSS and CPU times.
 */
export function measure(timeBin: string, argv: string[], scratchDir: string): Promise<Measured> {
  const timeFile = join(scratchDir, `.time-${process.pid}.txt`);
  rmSync(timeFile, { force: true });
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(timeBin, ['-f', '%e %M %U %S', '-o', timeFile, ...argv], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    child.stderr.on('data', (d: Buffer) => {
      tail = (tail + d.toString('utf8')).slice(-4000);
    });
    const forward = (): void => {
      child.kill('SIGINT');
    };
    process.once('SIGINT', forward);
    child.on('error', (e) => {
      process.removeListener('SIGINT', forward);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      process.removeListener('SIGINT', forward);
      let rssKB = NaN;
      let user = NaN;
      let sys = NaN;
      let exit = code ?? (signal ? 128 : 1);
      try {
        const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
        // GNU time prefixes "Command exited with non-zero status N" on failure.
        const last = lines[lines.length - 1]!.trim().split(/\s+/);
        rssKB = Number(last[1]);
        user = Number(last[2]);
        sys = Number(last[3]);
        const m = /non-zero status (\d+)/.exec(lines[0] ?? '');
        if (m) exit = Number(m[1]);
        const s = /terminated by signal (\d+)/.exec(lines[0] ?? '');
        if (s) exit = 128 + Number(s[1]);
      } catch {
        /* time did not write its report */
      }
      rmSync(timeFile, { force: true });
      resolvePromise({ wall, rssKB, user, sys, code: exit, stderrTail: tail });
    });
  });
}

/** Runs a command with inherited stdio; resolves with its exit code. */
export function runInherit(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}

export function fmtNum(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Renders rows as a left/right aligned text table (numbers right-aligned). */
export function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
