/**
 * Independent arithmetic on NDJSON records for the ClickHouse tests: values
 * read from the lines' text (so 64-bit integers and 9-digit times stay
 * exact, as BigInt), never through the loader's code.
 */
import { spawn } from 'node:child_process';
import { bin, type CommandName } from './_cli.js';

/** The raw JSON text of a top-level key's value in a tcpkit NDJSON line (numbers, null, true/false; not strings). */
export function rawValue(line: string, key: string): string | null {
  const m = new RegExp(`[{,]"${key}":(-?[0-9][0-9.eE+-]*|null|true|false)[,}]`).exec(line);
  return m ? m[1]! : null;
}

/** A decimal text (`12.5`, `3`, `-0.000000001`) as an exact count of 10^-9. */
export function nanos(text: string): bigint {
  const neg = text.startsWith('-');
  const t = neg ? text.slice(1) : text;
  const [a, b = ''] = t.split('.');
  const v = BigInt(a!) * 1_000_000_000n + BigInt((b + '000000000').slice(0, 9));
  return neg ? -v : v;
}

/** Sum of an integer field over lines (nulls skipped). */
export function sumInt(lines: readonly string[], key: string): bigint {
  let s = 0n;
  for (const l of lines) {
    const v = rawValue(l, key);
    if (v !== null && v !== 'null') s += BigInt(v);
  }
  return s;
}

/** Sum of a time or seconds field in nanoseconds. */
export function sumNanos(lines: readonly string[], key: string): bigint {
  let s = 0n;
  for (const l of lines) {
    const v = rawValue(l, key);
    if (v !== null && v !== 'null') s += nanos(v);
  }
  return s;
}

/** ClickHouse's quantileExact(level): the element at floor(level * n) of the sorted values. */
export function quantileExact(values: readonly number[], level: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(level * s.length))]!;
}

export function kindOf(line: string): string {
  return /^\{"record":"([a-z]+)"/.exec(line)?.[1] ?? '';
}

/** Runs a built command without blocking the event loop (so a test can act while it runs). */
export function runAsync(name: CommandName, args: readonly string[], o: { cwd?: string } = {}): { done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>; pid: number; kill: (sig: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [bin(name), ...args], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return { done, pid: child.pid!, kill: (sig) => child.kill(sig) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
