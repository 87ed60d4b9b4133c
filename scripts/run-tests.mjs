#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner.
// node --test on Node 20 does not expand globs and finds no .ts files, so a
// naive `node --test` "passes" with zero tests. This script lists the files
// itself and fails when none are found or when the runner reports 0 tests.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let tail = '';
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  tail = (tail + d.toString()).slice(-(1 << 20));
});
child.on('close', (code) => {
  const last = (re) => [...tail.matchAll(re)].pop();
  const m = last(/ℹ tests (\d+)/g);
  const pass = last(/ℹ pass (\d+)/g);
  const fail = last(/ℹ fail (\d+)/g);
  const n = m ? Number(m[1]) : 0;
  if (n === 0) {
    console.error('run-tests: the test runner executed 0 tests; failing the run');
    process.exit(1);
  }
  console.log(`${pass ? pass[1] : 0} passed, ${fail ? fail[1] : 0} failed`);
  process.exit(code ?? 1);
});
