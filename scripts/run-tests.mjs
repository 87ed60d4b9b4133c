#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner.
// node --test on Node 20 does not expand globs and finds no .ts files, so a
// naive `node --test` "passes" with zero tests. This script lists the files
// itself, and fails when none are found or when the runner reports 0 tests
// (read from a TAP copy of the results, whatever the size of the failure output).
import { readdirSync, readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = walk('dist/test', []).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test (did the build run?)');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'tcpkit-tests-'));
const tap = join(dir, 'results.tap');
const child = spawn(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
child.on('close', (code) => {
  let text = '';
  try {
    text = readFileSync(tap, 'utf8');
  } catch {
    /* no results */
  }
  rmSync(dir, { recursive: true, force: true });
  const last = (re) => [...text.matchAll(re)].pop();
  const n = Number(last(/^# tests (\d+)/gm)?.[1] ?? 0);
  const pass = Number(last(/^# pass (\d+)/gm)?.[1] ?? 0);
  const fail = Number(last(/^# fail (\d+)/gm)?.[1] ?? 0);
  if (n === 0) {
    console.error('run-tests: the test runner executed 0 tests; failing the run');
    process.exit(1);
  }
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(code ?? 1);
});
