/**
 * Pipe hygiene for every command, in real shell pipelines (bash -o pipefail):
 * commands compose (tcpanalyze | tcpfilter | tcpsummary gives what
 * tcpsummary's own filter gives), `| head -1` is a quiet exit 0, a slow
 * reader gets every byte, SIGINT flushes what is complete (and tcpsummary
 * still writes its summary), and every command has --help with examples,
 * --version, and exit 2 for an unknown option.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIX } from './_fixtures.js';
import { makeTempDir, runBash, shq } from './_capture-helpers.js';
import { COMMANDS, bin, expectGolden, run, sh } from './_cli.js';

const SYNSCAN = join(FIX, 'ndpi__synscan.pcap');
let dir = '';
let cleanup = (): void => {};
let records = '';
let recordsFile = '';

before(() => {
  ({ dir, cleanup } = makeTempDir('pipes-'));
  const r = run('tcpanalyze', ['-q', '--format', 'ndjson', SYNSCAN]);
  assert.equal(r.status, 0, r.stderr);
  records = r.stdout;
  recordsFile = join(dir, 'synscan.ndjson');
  writeFileSync(recordsFile, records);
  assert.ok(records.length > 1 << 20, 'more than a pipe buffer of records');
});
after(() => cleanup());

function withoutInputs(json: string): unknown {
  const v = JSON.parse(json) as { summary: Record<string, unknown> };
  delete v.summary['inputs'];
  delete v.summary['version'];
  return v;
}

test('tcpanalyze | tcpfilter FILTER | tcpsummary equals tcpsummary FILTER on the same records (and its golden file).', () => {
  const f = "'scan:TX@%:1-1024'".replace('1-1024', '21:22:23:25:80:443');
  const a = runBash(`${sh('tcpanalyze')} -q ${shq(SYNSCAN)} | ${sh('tcpfilter')} ${f} | ${sh('tcpsummary')} -f json`);
  const b = runBash(`${sh('tcpsummary')} -f json ${f} < ${shq(recordsFile)}`);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(a.stderr, '');
  const sa = withoutInputs(a.stdout) as { filters: Record<string, unknown>; summary: Record<string, unknown> };
  const sb = withoutInputs(b.stdout) as { filters: Record<string, unknown>; summary: Record<string, unknown> };
  assert.deepEqual(sa.filters['all'], sb.filters['scan']);
  expectGolden('pipes/synscan-scan-summary.json', JSON.stringify(sa, null, 2) + '\n');
});

test('| head -1 ends tcpfilter and tcpsummary quietly with exit 0 under pipefail.', () => {
  for (const cmd of [`${sh('tcpfilter')} ${shq(recordsFile)}`, `${sh('tcpfilter')} -v 'x:TX@192.0.2.1:1' < ${shq(recordsFile)}`, `${sh('tcpfilter')} 'TX@%:80' ${shq(SYNSCAN)} | od -c`, `${sh('tcpsummary')} -f json ${shq(recordsFile)}`]) {
    const r = runBash(`${cmd} | head -1`);
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
    assert.equal(r.stderr, '', cmd);
    assert.equal(r.stdout.split('\n').length, 2, cmd);
  }
});

test('A slow reader gets every byte from tcpfilter (backpressure, not loss or unbounded buffering).', () => {
  const r = runBash(`cat ${shq(recordsFile)} | ${sh('tcpfilter')} | (sleep 1; cat) | md5sum; md5sum < ${shq(recordsFile)}`);
  assert.equal(r.status, 0, r.stderr);
  const [a, b] = r.stdout.trim().split('\n');
  assert.equal(a, b);
});

/** Starts a command reading a pipe we keep open, feeds it `input`, sends SIGINT after the output starts or a delay. */
function interrupt(args: string[], input: string, cmd: 'tcpfilter' | 'tcpsummary'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin(cmd), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.write(input);
    // the input stays open, as a live pipe's would: only the signal ends the run
    setTimeout(() => p.kill('SIGINT'), 1500);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('SIGINT: tcpsummary writes the summary of what it read (marked interrupted), exit 0.', async () => {
  const half = records.split('\n').slice(0, 100).join('\n') + '\n';
  const r = await interrupt(['-f', 'json'], half, 'tcpsummary');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { summary: { records: number; interrupted?: boolean } };
  assert.equal(s.summary.records, 100);
  assert.equal(s.summary.interrupted, true);
});

test('SIGINT: tcpfilter flushes every complete line it selected, exit 0.', async () => {
  const part = records.split('\n').slice(0, 300).join('\n') + '\n{"record":"conn","ts":1'; // an incomplete last line
  const r = await interrupt([], part, 'tcpfilter');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, records.split('\n').slice(0, 300).join('\n') + '\n');
});

for (const name of COMMANDS) {
  test(`${name}: --help lists its options with an example and exits 0; --version works; an unknown option is exit 2.`, () => {
    const h = run(name, ['--help']);
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, new RegExp(`^Usage: ${name} `));
    assert.match(h.stdout, /Examples?:\n {2}\S/);
    assert.match(h.stdout, /-h, --help/);
    const v = run(name, ['--version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout, new RegExp(`^${name} \\(tcpkit\\) \\d+\\.\\d+\\.\\d+\\n$`));
    const u = run(name, ['--no-such-option']);
    assert.equal(u.status, 2);
    assert.equal(u.stdout, '');
    assert.match(u.stderr, /unknown option '--no-such-option'/);
  });
}
