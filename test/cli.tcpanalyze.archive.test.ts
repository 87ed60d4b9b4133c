/**
 * tcpkit archives: `tcpanalyze -o conns.jsonl.zst` (and --format archive)
 * write zstd NDJSON opening with one metadata line; csvtool reads them back
 * into the same CSV `tcpanalyze --format csv` writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress } from './_zstd.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CAP = join(ROOT, 'fixtures/pcaps/zeek__smtp.pcap');
const run = (cli: string, args: string[]): { status: number | null; stdout: Buffer; stderr: string } => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli', cli), ...args], { timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
};

test('-o FILE.jsonl.zst writes a zstd archive whose first line is the tcpkit metadata and the rest the NDJSON records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-archive-'));
  try {
    const out = join(dir, 'conns.jsonl.zst');
    const r = run('tcpanalyze.js', [CAP, '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.length, 0);
    assert.deepEqual(readdirSync(dir), ['conns.jsonl.zst'], 'no temporary file is left');
    const lines = decompress(readFileSync(out)).toString().split('\n');
    const meta = JSON.parse(lines[0]!) as { tcpkit: { tool: string; record: string; inputs: string[] } };
    assert.equal(meta.tcpkit.tool, 'tcpanalyze');
    assert.equal(meta.tcpkit.record, 'conn');
    assert.deepEqual(meta.tcpkit.inputs, [CAP]);
    const plain = run('tcpanalyze.js', ['--format', 'ndjson', CAP]).stdout.toString();
    assert.equal(lines.slice(1).join('\n'), plain);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('csvtool turns a tcpkit archive into the CSV tcpanalyze writes itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-archive-'));
  try {
    const out = join(dir, 'conns.jsonl.zst');
    assert.equal(run('tcpanalyze.js', [CAP, '-o', out]).status, 0);
    const viaArchive = run('csvtool.js', [out]);
    assert.equal(viaArchive.status, 0, viaArchive.stderr);
    assert.equal(viaArchive.stdout.toString(), run('tcpanalyze.js', ['--format', 'csv', CAP]).stdout.toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed run leaves no file under the -o name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-archive-'));
  try {
    const r = run('tcpanalyze.js', [join(dir, 'missing.pcap'), '-o', join(dir, 'conns.jsonl.zst')]);
    assert.equal(r.status, 2);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
