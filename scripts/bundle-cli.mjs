#!/usr/bin/env node
// Bundles each command (the "bin" files of package.json, and the analysis
// worker) into one file in place, after tsc. A command then loads one module
// instead of about 60: `node dist/cli/tcpanalyze.js` on a small capture
// fell from 123 to 93 ms (median of 20 runs). The tests run these same
// files. There are no source maps: a stack trace (TCPKIT_DEBUG=1) points into
// the bundle.
// commander, which every command loads at start, is bundled too (plain
// JavaScript; its require() calls of node built-ins go through the banner's
// require): 5-9 ms less per command start than loading it through the
// CommonJS loader and ESM's named-export detection. The other dependencies
// (native bindings, csv-stringify) stay separate and are loaded lazily.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const entries = [...Object.values(pkg.bin ?? {}), 'dist/cli/_analysis-worker.js'];
await build({
  entryPoints: entries,
  outdir: 'dist/cli',
  allowOverwrite: true,
  bundle: true,
  // optional dependencies (DuckDB) stay outside too: loaded with import() only by the code that needs them
  external: [...Object.keys(pkg.dependencies ?? {}).filter((d) => d !== 'commander'), ...Object.keys(pkg.optionalDependencies ?? {})],
  banner: { js: "import { createRequire as __tcpkitCreateRequire } from 'node:module';\nconst require = __tcpkitCreateRequire(import.meta.url);" },
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
});
