/**
 * What a user installing the package gets: the commands, every doc their
 * --help points to, the license; and an install that runs no script of
 * ours (prepare builds dist/ in a clone only and is left out of the packed
 * manifest; zstd needs no native addon).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './_fixtures.js';
import { COMMANDS, bin } from './_cli.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  engines: { node: string };
  allowScripts: Record<string, boolean>;
};

/** The files `npm pack` would put in the package (scripts not run: no build during the tests). */
function packed(): string[] {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

test('the package holds the commands, the license and every doc the commands\' --help names', () => {
  const files = new Set(packed());
  for (const f of ['LICENSE', 'README.md', 'package.json', ...Object.values(pkg.bin)]) assert.ok(files.has(f), f);
  assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
  let named = 0;
  for (const c of COMMANDS) {
    const help = spawnSync(process.execPath, [bin(c), '--help'], { encoding: 'utf8' }).stdout;
    for (const m of help.matchAll(/docs\/[\w.-]+\.md/g)) {
      named++;
      assert.ok(files.has(m[0]), `${c} --help names ${m[0]}`);
    }
  }
  assert.ok(named >= 3, `${named} docs named`);
  assert.ok(![...files].some((f) => f.startsWith('test/') || f.startsWith('fixtures/') || f.startsWith('dist/test/')), 'no tests or fixtures in the package');
});

test('installing runs no script of the package and builds nothing native', () => {
  // prepare builds dist/ in a clone; the packed manifest leaves it out (prepack strips it, postpack restores it)
  assert.equal(pkg.scripts['prepare'], 'node scripts/prepare.mjs');
  assert.match(pkg.scripts['prepack'] ?? '', /pack-manifest\.mjs strip/);
  assert.match(pkg.scripts['postpack'] ?? '', /pack-manifest\.mjs restore/);
  for (const s of ['preinstall', 'install', 'postinstall']) assert.equal(pkg.scripts[s], undefined, s);
  assert.equal(pkg.dependencies['zstd-napi'], undefined, 'zstd comes from node:zlib or the zstd program');
  // netlink's install script only looks for its prebuilt binary, which loads without it
  assert.equal(pkg.allowScripts['netlink'], false);
  assert.equal(pkg.engines.node, '>=20.10');
});
