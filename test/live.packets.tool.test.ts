/**
 * tcpcapture packets --iface with the capture tool as a child process,
 * using stand-in `tcpdump` and `dumpcap` scripts on PATH (no privileges or
 * network needed): the command line given to the tool; a tool that crashes
 * mid-capture (exit 1, the archive so far kept and readable); a tool without
 * permission and a missing tool (exit 2 with the fix); dumpcap when tcpdump
 * is missing; SIGTERM stopping the tool and writing the open connections.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fixture, makeTempDir, readPcap, runTcpanalyze, shq } from './_capture-helpers.js';
import { listFiles, readArchive, runCsvtool, runTcpcapture, startTcpcapture, parseRecords as parse, waitForPackets } from './_live-packets-helpers.js';

type Rec = Record<string, string | number | boolean | null>;
const CAP = fixture('zeek__ftp-bigtransfer.pcap');
const PCAPNG = fixture('zeek__pcapng-multi-interface.pcapng');
/** A capture whose last connection is still open at its end. */
const OPEN_AT_END = fixture('zeek__redis-pubsub.pcap');

let tmp = '';
let cleanup = (): void => {};
before(() => {
  ({ dir: tmp, cleanup } = makeTempDir('tcpcapture-tool-'));
});
after(() => cleanup());

const byUid = (a: Rec, b: Rec): number => String(a['uid']).localeCompare(String(b['uid']));

/** A folder holding one stand-in tool script; returns the folder. */
function fakeTool(name: string, tool: 'tcpdump' | 'dumpcap', body: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const p = join(dir, tool);
  writeFileSync(p, `#!/bin/sh\nprintf '%s\\n' "$@" > ${shq(join(dir, 'args'))}\n${body}\n`);
  chmodSync(p, 0o755);
  return dir;
}

/** Every record in the conn archive files under `out`, and the files. */
function archived(out: string): { files: string[]; records: Rec[] } {
  const files = listFiles(out);
  return { files, records: files.flatMap((f) => parse(readArchive(join(out, f)).lines.join('\n'))) };
}

/** A folder holding only the zstd program (Node.js before 22.15 compresses with it), for a PATH without tcpdump. */
let zstdOnlyDir: string | null = null;
function zstdOnly(): string {
  if (zstdOnlyDir === null) {
    zstdOnlyDir = join(tmp, 'zstd-only');
    mkdirSync(zstdOnlyDir, { recursive: true });
    const which = spawnSync('sh', ['-c', 'command -v zstd'], { encoding: 'utf8' }).stdout.trim();
    if (which !== '') symlinkSync(which, join(zstdOnlyDir, 'zstd'));
  }
  return zstdOnlyDir;
}
const env = (path: string): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${path}:${zstdOnly()}` });

test('a tcpdump that crashes mid-capture: one line naming its exit, exit 1, and the archive so far is complete, readable by csvtool, with every connection it saw', () => {
  const dir = fakeTool('crash', 'tcpdump', `/bin/cat ${shq(CAP)}\nkill -SEGV $$`);
  const out = join(tmp, 'crash-arch');
  const r = runTcpcapture(['packets', '--iface', 'eth9', '--bpf', 'tcp port 21', '--snaplen', '128', '--output', out, '-q'], { env: env(`${dir}:/usr/bin:/bin`) });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^tcpcapture: tcpdump was killed by SIGSEGV during the capture; the archive written so far is complete and kept \[CAPTURE_TOOL_CRASHED\]\n/);
  assert.deepEqual(readFileSync(join(dir, 'args'), 'utf8').split('\n').slice(0, -1), ['-i', 'eth9', '-U', '-w', '-', '--time-stamp-precision=nano', '-s', '128', 'tcp port 21']);
  const { files, records } = archived(out);
  assert.ok(files.length >= 1 && files.every((f) => !f.includes('.tcpkit-')), `complete files only: ${files}`);
  for (const f of files) assert.equal(runCsvtool(join(out, f)).status, 0);
  const ref = parse(runTcpanalyze([CAP]).stdout);
  assert.deepEqual(records.filter((x) => x['end_reason'] !== 'interim').sort(byUid), ref.sort(byUid), 'the records tcpanalyze writes for what the tool delivered');
});

test('a tcpdump that exits with status 3 after delivering its capture is reported with that status (exit 1)', () => {
  const dir = fakeTool('status3', 'tcpdump', `/bin/cat ${shq(CAP)}\necho 'tcpdump: pcap_loop: The interface went down' >&2\nexit 3`);
  const r = runTcpcapture(['packets', '-i', 'eth9', '-o', join(tmp, 'status3-arch'), '-q'], { env: env(`${dir}:/usr/bin:/bin`) });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.split('\n')[0], 'tcpcapture: tcpdump exited with status 3 during the capture; the archive written so far is complete and kept [CAPTURE_TOOL_CRASHED]');
});

test('a tcpdump without permission to capture: exit 2 with one line naming setcap and root, and no archive', () => {
  const dir = fakeTool('noperm', 'tcpdump', `echo "tcpdump: eth9: You don't have permission to perform this capture on that device" >&2\necho '(socket: Operation not permitted)' >&2\nexit 1`);
  const out = join(tmp, 'noperm-arch');
  const r = runTcpcapture(['packets', '--iface', 'eth9', '--output', out], { env: env(`${dir}:/usr/bin:/bin`) });
  assert.deepEqual(
    { status: r.status, stderr: r.stderr },
    {
      status: 2,
      stderr: `tcpcapture: tcpdump has no permission to capture on eth9: run tcpcapture as root, or give tcpdump the capabilities with: sudo setcap cap_net_raw,cap_net_admin=eip ${join(dir, 'tcpdump')} [CAPTURE_NO_PERMISSION]\n`,
    },
  );
  assert.deepEqual(listFiles(out), []);
});

test('a capture on an interface that does not exist: exit 2 with the tool\'s own words', () => {
  const dir = fakeTool('nodev', 'tcpdump', `echo 'tcpdump: eth9: No such device exists' >&2\necho '(No such device exists)' >&2\nexit 1`);
  const r = runTcpcapture(['packets', '--iface', 'eth9', '--output', join(tmp, 'nodev-arch')], { env: env(`${dir}:/usr/bin:/bin`) });
  assert.deepEqual({ status: r.status, stderr: r.stderr }, { status: 2, stderr: 'tcpcapture: tcpdump cannot capture on eth9: eth9: No such device exists (ip link lists the interfaces) [CAPTURE_NO_SUCH_INTERFACE]\n' });
});

test('a missing capture tool: exit 2 saying which package to install or which other tool to use', () => {
  const empty = join(tmp, 'empty-path');
  mkdirSync(empty, { recursive: true });
  const out = join(tmp, 'missing-arch');
  const cases: [string[], string][] = [
    [['--tool', 'tcpdump'], 'tcpcapture: tcpdump not found: install it (apt-get install tcpdump) or use --tool dumpcap [CAPTURE_TOOL_NOT_FOUND]\n'],
    [['--tool', 'dumpcap'], 'tcpcapture: dumpcap not found: install it (apt-get install wireshark-common) or use --tool tcpdump [CAPTURE_TOOL_NOT_FOUND]\n'],
    [
      [],
      'tcpcapture: neither tcpdump nor dumpcap found: install one (apt-get install tcpdump, or apt-get install wireshark-common for dumpcap), or pipe a capture in: tcpdump -i IF -w - | tcpcapture packets - --output DIR [CAPTURE_TOOL_NOT_FOUND]\n',
    ],
  ];
  for (const [extra, err] of cases) {
    const r = runTcpcapture(['packets', '--iface', 'eth0', '--output', out, ...extra], { env: env(empty) });
    assert.deepEqual({ status: r.status, stderr: r.stderr }, { status: 2, stderr: err }, extra.join(' '));
  }
  assert.deepEqual(listFiles(out), []);
});

test('without tcpdump, dumpcap is used (pcapng, capture filter with -f); a tool that ends by itself with status 0 is a normal end', () => {
  const dir = fakeTool('dumpcap-only', 'dumpcap', `echo "Capturing on 'eth9'" >&2\n/bin/cat ${shq(PCAPNG)}\necho 'Packets received/dropped on interface '"'"'eth9'"'"': 12/3 (pcap:2/dumpcap:0/flushed:0/ps_ifdrop:1) (80.0%)' >&2`);
  const out = join(tmp, 'dumpcap-arch');
  const r = runTcpcapture(['packets', '--iface', 'eth9', '--bpf', 'tcp', '--output', out], { env: env(dir) });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(join(dir, 'args'), 'utf8').split('\n').slice(0, -1), ['-i', 'eth9', '-w', '-', '-q', '-f', 'tcp']);
  assert.ok(r.stderr.includes("tcpcapture: dumpcap: Capturing on 'eth9'\n"), r.stderr);
  assert.ok(r.stderr.includes('tcpcapture: dumpcap: 12 packets received by filter, 2 dropped by kernel, 1 dropped by interface\n'), r.stderr);
  const ref = parse(runTcpanalyze([PCAPNG]).stdout);
  assert.deepEqual(archived(out).records.filter((x) => x['end_reason'] !== 'interim').sort(byUid), ref.sort(byUid));
});

test('SIGTERM stops the tool (its whole process group), the capture is read to its end, open connections are written as interrupted, exit 0', async () => {
  const dir = fakeTool('sleeper', 'tcpdump', `echo 'tcpdump: listening on eth9, link-type EN10MB (Ethernet), snapshot length 262144 bytes' >&2\n/bin/cat ${shq(OPEN_AT_END)}\nexec /bin/sleep 60`);
  const out = join(tmp, 'sigterm-arch');
  const sock = join(tmp, 'sigterm.sock');
  const n = readPcap(readFileSync(OPEN_AT_END)).records.length;
  const run = startTcpcapture(['packets', '--iface', 'eth9', '--output', out, '--stats-socket', sock], { env: env(`${dir}:/usr/bin:/bin`) });
  try {
    await run.waitFor(/tcpcapture: tcpdump: listening on eth9/);
    // wait until every packet was read
    await waitForPackets(sock, n, { tries: 200, request: 'GET\n' });
    run.proc.kill('SIGTERM');
    const done = await run.done;
    assert.equal(done.code, 0, run.stderr());
  } finally {
    run.proc.kill('SIGKILL');
  }
  assert.doesNotMatch(run.stderr(), /CAPTURE_TOOL_CRASHED/);
  assert.match(run.stderr(), /========== TCPEEK SUMMARY ==========/);
  const ref = parse(runTcpanalyze([OPEN_AT_END]).stdout).map((x) => (x['end_reason'] === 'eof' ? { ...x, end_reason: 'interrupted' } : x));
  assert.ok(ref.some((x) => x['end_reason'] === 'interrupted'));
  assert.deepEqual(archived(out).records.filter((x) => x['end_reason'] !== 'interim').sort(byUid), ref.sort(byUid));
});

test('with --iface the wall clock rotates the files: a connection that spans rotations gets interim records, and the final records are the ones tcpanalyze writes for the packets the tool delivered', async () => {
  // a stand-in tcpdump that replays a capture at 50 ms a packet, stamped with the current time, and keeps a copy
  const dir = join(tmp, 'replay');
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, 'delivered.pcap');
  const script = join(dir, 'tcpdump');
  // the replay is a .cjs file: CommonJS whatever package.json lies above the temporary folder
  writeFileSync(script, `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(join(dir, 'replay.cjs'))}\n`);
  writeFileSync(
    join(dir, 'replay.cjs'),
    `const fs = require('node:fs');
const src = fs.readFileSync(${JSON.stringify(OPEN_AT_END)});
const le = src.readUInt32LE(0) === 0xa1b2c3d4;
const head = Buffer.from(src.subarray(0, 24));
head.writeUInt32LE(0xa1b23c4d, 0); // nanosecond pcap, little-endian like the source
if (!le) throw new Error('expected a little-endian capture');
const out = [head];
process.stdout.write(head);
let p = 24, i = 0;
const start = Date.now();
function next() {
  if (p + 16 > src.length) { fs.writeFileSync(${JSON.stringify(copy)}, Buffer.concat(out)); setInterval(() => {}, 1000); return; }
  const incl = src.readUInt32LE(p + 8);
  const rec = Buffer.from(src.subarray(p, p + 16 + incl));
  const ns = BigInt(Date.now()) * 1000000n + BigInt(i);
  rec.writeUInt32LE(Number(ns / 1000000000n), 0);
  rec.writeUInt32LE(Number(ns % 1000000000n), 4);
  out.push(rec);
  process.stdout.write(rec);
  p += 16 + incl; i++;
  setTimeout(next, Math.max(0, start + i * 50 - Date.now()));
}
next();
`,
  );
  chmodSync(script, 0o755);
  const out = join(tmp, 'wall-arch');
  const sock = join(tmp, 'wall.sock');
  const n = readPcap(readFileSync(OPEN_AT_END)).records.length;
  const run = startTcpcapture(['packets', '--iface', 'eth9', '--output', out, '--rotate', '1s', '--stats-socket', sock, '-q'], { env: env(`${dir}:/usr/bin:/bin`) });
  try {
    await waitForPackets(sock, n, { tries: 400, request: 'GET\n', ready: () => existsSync(copy) });
    run.proc.kill('SIGTERM');
    assert.equal((await run.done).code, 0, run.stderr());
  } finally {
    run.proc.kill('SIGKILL');
  }
  const files = listFiles(out);
  assert.ok(files.length >= 3, `a file per second (${files})`);
  for (const f of files.slice(1)) assert.match(f, /_\d{8}T\d{6}\.000000000Z\.jsonl\.zst$/, 'later files start on whole seconds');
  const recs = files.map((f) => parse(readArchive(join(out, f)).lines.join('\n')));
  const interim = recs.flat().filter((x) => x['end_reason'] === 'interim');
  const finals = recs.flat().filter((x) => x['end_reason'] !== 'interim');
  assert.ok(interim.length >= 2, 'interim records at the rotations');
  assert.deepEqual(recs.at(-1)!.filter((x) => x['end_reason'] === 'interim'), [], 'none in the last file');
  for (const x of interim) assert.ok(finals.some((y) => y['uid'] === x['uid']), `interim ${x['uid']} has a final record`);
  const ref = parse(runTcpanalyze([copy]).stdout).map((x) => (x['end_reason'] === 'eof' ? { ...x, end_reason: 'interrupted' } : x));
  assert.deepEqual(finals.sort(byUid), ref.sort(byUid));
});
