#!/usr/bin/env node
// tsc writes files without the executable bit; the commands in package.json's
// "bin" run through their shebang lines (which carry V8 flags), so they need it.
import { chmodSync, existsSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const file of Object.values(pkg.bin ?? {})) {
  const path = new URL(`../${file}`, import.meta.url);
  if (existsSync(path)) chmodSync(path, 0o755);
}
