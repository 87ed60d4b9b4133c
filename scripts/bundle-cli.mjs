#!/usr/bin/env node
// Bundles each command (the "bin" files of package.json, and the analysis
// worker) into one file in place, after tsc. A command then loads one module
// instead of about 60: `node dist/cli/tcpanalyze.js` on a small capture
// fell from 123 to 93 ms (median of 20 runs). Packages in node_modules stay
// separate imports. The tests run these same files. There are no source
// maps: a stack trace (TCPKIT_DEBUG=1) points into the bundle.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const entries = [...Object.values(pkg.bin ?? {}), 'dist/cli/_analysis-worker.js'];
await build({
  entryPoints: entries,
  outdir: 'dist/cli',
  allowOverwrite: true,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
});
