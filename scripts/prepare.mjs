#!/usr/bin/env node
// npm's prepare step (npm ci in a clone, and npx, which installs the clone as
// a directory dependency and prepares it again): builds dist/ only when the
// sources changed since the last build, and says so when it does. The inputs'
// names, sizes and modification times are hashed into dist/.build-stamp.
// `npm run build` and `npm test` always build from an empty dist/.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stampPath = join(root, 'dist', '.build-stamp');

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function stamp() {
  const h = createHash('sha256');
  const files = ['src', 'cli', 'test', 'bench', 'scripts'].flatMap((d) => walk(join(root, d), [])).concat(['package.json', 'package-lock.json', 'tsconfig.json'].map((f) => join(root, f)));
  for (const f of files.sort()) {
    if (!existsSync(f) || f.includes(`${join(root, 'bench', 'out')}`)) continue;
    const st = statSync(f);
    h.update(`${f.slice(root.length)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return h.digest('hex');
}

const want = stamp();
if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === want && existsSync(join(root, 'dist', 'cli', 'tcpanalyze.js'))) process.exit(0);
process.stderr.write('tcpkit: building dist/ (tsc and bundling, about 5-30 s)\n');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
run(process.execPath, ['scripts/clean-dist.mjs']);
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
run(process.execPath, ['scripts/bundle-cli.mjs']);
run(process.execPath, ['scripts/bins-executable.mjs']);
writeFileSync(stampPath, want);
