/**
 * SIGTERM and SIGHUP stop a command the way SIGINT does: the complete
 * records are written, an -o/-w file is committed under its name and no
 * temporary file is left. A process killed outright leaves its temporary
 * file: the next run writing in that directory removes it once it is over a
 * minute old and its process is gone, and leaves every other file alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress } from './_zstd.js';
import { bin, type CommandName } from './_cli.js';
import { FIX } from './_fixtures.js';
import { readPcap } from './_capture-helpers.js';
import { removeStaleTemps } from '../src/io/atomic.js';

const CAPTURE = readFileSync(join(FIX, 'recorded', 'http-clean-v4.pcap'));

/** Runs `cmd` in `dir` reading a pipe we keep open (as a live capture's), sends `signal` after `ms`. */
function signalled(cmd: CommandName, args: string[], dir: string, signal: NodeJS.Signals, ms = 500): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin(cmd), ...args], { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.on('error', () => {}); // the command closes its stdin when the signal comes
    // the signal comes once the command has taken all but a pipe's buffer of the input (it is
    // running, its handlers are in place) and a little later, whatever the machine's load
    p.stdin.write(CAPTURE, () => setTimeout(() => p.kill(signal), ms));
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

const temps = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('.tcpkit-'));

for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
  test(`${signal}: tcpanalyze - -o out.jsonl.zst commits the archive with the records of what it read, exit 0, no temporary file`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpkit-signals-'));
    try {
      const r = await signalled('tcpanalyze', ['-', '-o', 'out.jsonl.zst'], dir, signal);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /error|\[[A-Z_]+\]/i, 'no error line');
      assert.deepEqual(temps(dir), []);
      const lines = decompress(readFileSync(join(dir, 'out.jsonl.zst'))).toString().trim().split('\n');
      assert.ok(JSON.parse(lines[0]!).tcpkit, 'metadata line first');
      const recs = lines.slice(1).map((l) => JSON.parse(l) as { orig_pkts: number; resp_pkts: number });
      assert.ok(recs.length > 0);
      const packets = recs.reduce((n, x) => n + x.orig_pkts + x.resp_pkts, 0);
      // how much of the input was read when the signal came depends on the machine's load
      assert.ok(packets > 0 && packets <= readPcap(CAPTURE).records.length, `${packets} packets in the records`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('SIGTERM: tcpfilter -w out.pcap on a pipe commits the capture of the connections it selected, exit 0, no temporary file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-signals-'));
  try {
    const r = await signalled('tcpfilter', ['TX@*:*', '-', '-w', 'out.pcap'], dir, 'SIGTERM');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(temps(dir), []);
    assert.ok(existsSync(join(dir, 'out.pcap')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a killed run's temporary file is removed by the next run in its directory once it is a minute old and its process is gone; nothing else is touched", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-signals-'));
  try {
    // a pid that is gone: a child that ran and exited
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const old = (Date.now() - 120_000) / 1000;
    const stale = `.tcpkit-out.jsonl.zst.${gone}.0123456789ab.tmp`;
    const young = `.tcpkit-other.ndjson.${gone}.0123456789ac.tmp`;
    const alive = `.tcpkit-live.ndjson.${process.pid}.0123456789ad.tmp`;
    const foreign = ['.tcpkit-old-style.0123456789ae.tmp', 'notes.tmp'];
    for (const f of [stale, young, alive, ...foreign]) writeFileSync(join(dir, f), 'x');
    for (const f of [stale, alive, ...foreign]) utimesSync(join(dir, f), old, old);
    const r = spawnSync(process.execPath, [bin('tcpanalyze'), join(FIX, 'recorded', 'http-clean-v4.pcap'), '-o', 'new.ndjson'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(readdirSync(dir).sort(), [young, alive, ...foreign, 'new.ndjson'].sort());
    // once per directory and process; forced here, nothing more to remove
    assert.deepEqual(await removeStaleTemps(dir, true), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
