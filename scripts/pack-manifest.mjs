#!/usr/bin/env node
// npm pack / npm publish: the packed package.json leaves out the `prepare`
// script, which builds dist/ in a clone (scripts/prepare.mjs) but is not in
// the package, where dist/ is built already: npm would list it as an install
// script to review in every project that installs the package.
//   prepack:  node scripts/pack-manifest.mjs strip    (package.json saved aside)
//   postpack: node scripts/pack-manifest.mjs restore
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const path = new URL('../package.json', import.meta.url);
const saved = new URL('../package.json.unpacked', import.meta.url);
if (process.argv[2] === 'strip') {
  const text = readFileSync(path, 'utf8');
  writeFileSync(saved, text);
  const pkg = JSON.parse(text);
  delete pkg.scripts.prepare;
  writeFileSync(path, JSON.stringify(pkg, null, 2) + '\n');
} else if (process.argv[2] === 'restore') {
  if (existsSync(saved)) renameSync(saved, path);
} else {
  process.stderr.write('usage: pack-manifest.mjs strip|restore\n');
  process.exit(2);
}
