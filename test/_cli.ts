/**
 * Running the built commands in tests, and golden files compared whole
 * (`UPDATE_GOLDEN=1 npm test` rewrites them; a missing golden file fails).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './_fixtures.js';
import { shq, type CliResult } from './_capture-helpers.js';

export const COMMANDS = ['tcpanalyze', 'csvtool', 'tcpfilter', 'tcpsummary', 'tcpcapture', 'tcpcheck', 'tcpdiff', 'tcpquery', 'tcpload'] as const;
export type CommandName = (typeof COMMANDS)[number];

export function bin(name: CommandName): string {
  return join(ROOT, 'dist', 'cli', `${name}.js`);
}

/** `node dist/cli/<name>.js` quoted for bash. */
export function sh(name: CommandName): string {
  return `${shq(process.execPath)} ${shq(bin(name))}`;
}

export function run(name: CommandName, args: readonly string[], o: { input?: Buffer | string; timeoutMs?: number; cwd?: string } = {}): CliResult & { stdoutBuf: Buffer } {
  const r = spawnSync(process.execPath, [bin(name), ...args], { cwd: o.cwd, input: o.input ?? '', timeout: o.timeoutMs ?? 60_000, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  const stderr = r.stderr.toString('utf8');
  return { status: r.status, signal: r.signal, stdout: r.stdout.toString('utf8'), stdoutBuf: r.stdout, stderr, errLines: stderr.split('\n').filter((l) => l !== '') };
}

export const GOLDEN = join(ROOT, 'test', 'golden');
const update = process.env['UPDATE_GOLDEN'] === '1';

/** Compares `actual` with test/golden/<rel> whole. */
export function expectGolden(rel: string, actual: string): void {
  const path = join(GOLDEN, rel);
  if (update) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `golden file test/golden/${rel} is missing: run UPDATE_GOLDEN=1 npm test and review it`);
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from test/golden/${rel} (UPDATE_GOLDEN=1 npm test rewrites it; review the diff)`);
}
