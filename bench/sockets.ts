#!/usr/bin/env node
/**
 * Benchmark of `tcpcapture sockets` (root only): in a network namespace of
 * its own (one end of a veth pair with 192.0.2.1/24 and 2001:db8::1/64), opens
 * --conns TCP connections to a local server (half IPv4, half IPv6; both
 * ends use the documentation address, so nothing is skipped as local), with
 * a tenth of the clients writing 100 bytes every 100 ms. Then measures:
 *
 * 1. the sock_diag dump alone (SockDiagSocket.dump, IPv6 and IPv4), median
 *    and 95th percentile over --dumps dumps of each family;
 * 2. the whole command at 10 ms, run for 200 polls and for 200 + --reps
 *    polls: the difference is the steady state (time and CPU per poll,
 *    without opening the files at the start and completing them at the
 *    end); peak RSS, records and files of the longer run.
 *
 *   node dist/bench/sockets.js [--conns 550] [--dumps 300] [--reps 1000] [--max-open-files N]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './_util.js';

const { values } = parseArgs({
  options: {
    conns: { type: 'string', default: '550' },
    dumps: { type: 'string', default: '300' },
    reps: { type: 'string', default: '1000' },
    'max-open-files': { type: 'string' },
  },
});
const CONNS = Number(values.conns);
const NS = `tcks-bench-${process.pid}`;

function must(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

const LOAD_JS = `
const net = require('node:net');
const n = ${CONNS};
const accepted = [];
let up = 0;
const srv4 = net.createServer((s) => { accepted.push(s); s.resume(); }).listen(9000, '192.0.2.1', go);
const srv6 = net.createServer((s) => { accepted.push(s); s.resume(); }).listen(9000, '2001:db8::1', go);
const clients = [];
function go() {
  if (++up < 2) return;
  let open = 0;
  for (let i = 0; i < n; i++) {
    const v6 = i % 2 === 1;
    const c = net.connect({ port: 9000, host: v6 ? '2001:db8::1' : '192.0.2.1', localAddress: v6 ? '2001:db8::1' : '192.0.2.1' }, () => {
      if (++open === n) console.log('ready');
    });
    clients.push(c);
  }
  const data = Buffer.alloc(100, 120);
  setInterval(() => { for (let i = 0; i < n; i += 10) clients[(i + Math.floor(Math.random() * 10)) % n].write(data); }, 100);
}
`;

const DUMP_JS = `
import { SockDiagSocket } from ${JSON.stringify(join(REPO_ROOT, 'dist/src/live/sockets/netlink-dump.js'))};
const s = new SockDiagSocket();
const out = {};
for (const [name, fam] of [['v6', 10], ['v4', 2]]) {
  const t = []; let count = 0;
  for (let i = 0; i < ${Number(values.dumps)}; i++) {
    const t0 = process.hrtime.bigint();
    const m = await s.dump(fam);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    count = m.count;
  }
  t.sort((a, b) => a - b);
  out[name] = { sockets: count, medianMs: t[t.length >> 1], p95Ms: t[Math.floor(t.length * 0.95)] };
}
s.close();
console.log(JSON.stringify(out));
`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark creates a network namespace');
  const dir = mkdtempSync(join(tmpdir(), 'tcpcapture-bench-'));
  must(['netns', 'add', NS]);
  let load: ReturnType<typeof spawn> | null = null;
  try {
    must(['-n', NS, 'link', 'set', 'lo', 'up']);
    must(['-n', NS, 'link', 'add', 'bench0', 'type', 'veth', 'peer', 'name', 'bench1']);
    must(['-n', NS, 'link', 'set', 'bench1', 'up']);
    must(['-n', NS, 'addr', 'add', '192.0.2.1/24', 'dev', 'bench0']);
    must(['-n', NS, 'addr', 'add', '2001:db8::1/64', 'dev', 'bench0', 'nodad']);
    must(['-n', NS, 'link', 'set', 'bench0', 'up']);
    writeFileSync(join(dir, 'load.cjs'), LOAD_JS);
    writeFileSync(join(dir, 'dump.mjs'), DUMP_JS);
    load = spawn('ip', ['netns', 'exec', NS, process.execPath, join(dir, 'load.cjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => load!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const dump = spawnSync('ip', ['netns', 'exec', NS, process.execPath, join(dir, 'dump.mjs')], { encoding: 'utf8' });
    if (dump.status !== 0) throw new Error(dump.stderr);
    console.log(`sock_diag dumps (${CONNS} connections, ${2 * CONNS} sockets + 2 listeners): ${dump.stdout.trim()}`);
    const timeFile = join(dir, 'time.txt');
    const runCapture = (reps: number): { wall: number; cpu: number; rssMB: number; summary: string } => {
      rmSync(join(dir, 'out'), { recursive: true, force: true });
      const extra = values['max-open-files'] !== undefined ? ['--max-open-files', values['max-open-files']] : [];
      // The command file itself, so that its shebang's V8 flags apply.
      const argv = ['ip', 'netns', 'exec', NS, join(REPO_ROOT, 'dist/cli/tcpcapture.js'), 'sockets', '-o', join(dir, 'out'), '--reps', String(reps), '--prefix', 'bench', ...extra];
      const run = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, ...argv], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(run.stderr);
      const [wall, user, sys, rss] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      return { wall: wall!, cpu: user! + sys!, rssMB: rss! / 1024, summary: run.stderr.trim() };
    };
    const reps = Number(values.reps);
    const short = runCapture(200);
    const long = runCapture(200 + reps);
    const perPoll = ((long.wall - short.wall) / reps) * 1000;
    const cpu = ((long.cpu - short.cpu) / (long.wall - short.wall)) * 100;
    console.log(`tcpcapture sockets at 10 ms, steady state over ${reps} polls: ${perPoll.toFixed(2)} ms per poll, CPU ${cpu.toFixed(0)}% of one core`);
    console.log(`  200 polls: wall ${short.wall} s (start and stop included); ${200 + reps} polls: wall ${long.wall} s, peak RSS ${long.rssMB.toFixed(0)} MB`);
    console.log(`  ${long.summary}`);
  } finally {
    load?.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench/sockets: ${e.message}`);
  process.exitCode = 1;
});
