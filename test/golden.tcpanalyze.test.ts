/**
 * Golden files: tcpanalyze on every capture under fixtures/pcaps, whole
 * stdout (NDJSON) + stderr + exit status compared with
 * test/golden/tcpanalyze/<capture>.{ndjson,stderr}.
 * Generated – do not edit by hand; regenerate with `UPDATE_GOLDEN=1 npm test`
 * and review the diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureCaptures } from './_fixtures.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const FIX = join(ROOT, 'fixtures/pcaps');
const GOLD = join(ROOT, 'test/golden/tcpanalyze');
const CLI = join(ROOT, 'dist/cli/tcpanalyze.js');
const update = process.env['UPDATE_GOLDEN'] === '1';


for (const cap of fixtureCaptures()) {
  const base = cap.replace(/\//g, '__');
  test(`tcpanalyze output for ${cap} equals its golden file`, () => {
    const r = spawnSync(process.execPath, [CLI, '--format', 'ndjson', join(FIX, cap)], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 28 });
    const stderr = r.stderr.replaceAll(FIX + '/', '');
    const got = { stdout: r.stdout, stderr: `exit ${r.status}\n${stderr}` };
    const fo = join(GOLD, `${base}.ndjson`), fe = join(GOLD, `${base}.stderr`);
    if (update || !existsSync(fo)) {
      mkdirSync(GOLD, { recursive: true });
      writeFileSync(fo, got.stdout);
      writeFileSync(fe, got.stderr);
      if (!update) assert.fail(`golden ${fo} was missing and has been written; review and commit it`);
      return;
    }
    assert.equal(got.stdout, readFileSync(fo, 'utf8'));
    assert.equal(got.stderr, readFileSync(fe, 'utf8'));
  });
}
