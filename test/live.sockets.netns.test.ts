/**
 * `tcpcapture sockets` end to end, as root, in two network namespaces the
 * test creates and deletes (a veth pair, documentation addresses only:
 * 192.0.2.1/24 and 2001:db8::1/64 for the server, .2 and ::2 for the
 * client). A node HTTP server in the server namespace holds each response
 * open for about a second; curl in the client namespace fetches over IPv4
 * and IPv6, and once over loopback inside the server namespace. The command
 * polls the server namespace every 10 ms under `ip netns exec`, is stopped
 * with SIGINT, and then: one file per connection with tcp-info's name,
 * csvtool reads every file and its rows carry the right addresses and
 * ports, loopback and listening sockets were skipped, and the event socket
 * saw each connection open and close. Skipped (with the reason) when not
 * root or when ip, curl or network namespaces are unavailable.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSVTOOL, TCPCAPTURE, listFiles } from './_sockets-helpers.js';

const NS_SRV = `tcks-srv-${process.pid}`;
const NS_CLI = `tcks-cli-${process.pid}`;
const VETH = `tck${process.pid % 100000}`;
const children: ChildProcess[] = [];
let dir = '';
/** Set once the first test has the namespaces and the HTTP server up. */
let serverUp = false;

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? r.error.message : '') };
}

function must(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

function whyNot(): string | null {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces (run as root, as CI does)';
  if (sh('ip', ['-V']).status !== 0) return 'needs the ip command (iproute2)';
  if (sh('curl', ['--version']).status !== 0) return 'needs curl';
  return null;
}

function setUp(): void {
  must('ip', ['netns', 'add', NS_SRV]);
  must('ip', ['netns', 'add', NS_CLI]);
  must('ip', ['link', 'add', `${VETH}s`, 'type', 'veth', 'peer', 'name', `${VETH}c`]);
  must('ip', ['link', 'set', `${VETH}s`, 'netns', NS_SRV]);
  must('ip', ['link', 'set', `${VETH}c`, 'netns', NS_CLI]);
  for (const [ns, dev, v4, v6] of [
    [NS_SRV, `${VETH}s`, '192.0.2.1/24', '2001:db8::1/64'],
    [NS_CLI, `${VETH}c`, '192.0.2.2/24', '2001:db8::2/64'],
  ] as const) {
    must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    must('ip', ['-n', ns, 'addr', 'add', v4, 'dev', dev]);
    must('ip', ['-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad']);
    must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
}

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  sh('ip', ['netns', 'del', NS_SRV]);
  sh('ip', ['netns', 'del', NS_CLI]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Node HTTP servers on 0.0.0.0:8080 and [::]:8080 (IPv6 only): 256 KiB now, 64 KiB after ~1 s. */
const SERVER_JS = `
const http = require('node:http');
const handler = (req, res) => {
  res.writeHead(200, { 'content-length': 327680 });
  res.write(Buffer.alloc(262144, 97));
  setTimeout(() => res.end(Buffer.alloc(65536, 98)), 1000);
};
let up = 0;
const ready = () => { if (++up === 2) console.log('ready'); };
http.createServer(handler).listen({ port: 8080, host: '0.0.0.0' }, ready);
http.createServer(handler).listen({ port: 8080, host: '::', ipv6Only: true }, ready);
`;

async function waitFor(cond: () => boolean, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function curl(ns: string, url: string): Promise<{ code: number | null; bytes: number }> {
  const c = spawn('ip', ['netns', 'exec', ns, 'curl', '-s', '-g', '--max-time', '10', '-o', '-', url]);
  children.push(c);
  let bytes = 0;
  c.stdout.on('data', (d: Buffer) => (bytes += d.length));
  return once(c, 'exit').then(([code]) => ({ code: code as number | null, bytes }));
}

interface Row {
  [k: string]: string;
}

/**
 * Starts `tcpcapture sockets ARGS --eventsocket EVPATH` in the server
 * namespace and connects to its event socket; stderr and the event lines
 * gather in `err` and `events`.
 */
async function startSockets(args: string[], evPath: string): Promise<{ cap: ChildProcess; err: string; events: string; evEnded: Promise<unknown[]> }> {
  const cap = spawn('ip', ['netns', 'exec', NS_SRV, process.execPath, TCPCAPTURE, 'sockets', ...args, '--eventsocket', evPath]);
  children.push(cap);
  const live = { cap: cap as ChildProcess, err: '', events: '', evEnded: Promise.resolve([]) as Promise<unknown[]> };
  cap.stderr.on('data', (d: Buffer) => (live.err += d.toString()));
  await waitFor(() => existsSync(evPath), 'the event socket');
  const ev = connect(evPath);
  await once(ev, 'connect');
  ev.on('data', (d: Buffer) => (live.events += d.toString()));
  live.evEnded = once(ev, 'end');
  return live;
}

function csvRows(file: string): Row[] {
  const r = spawnSync(process.execPath, [CSVTOOL, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `csvtool ${file}: ${r.stderr}`);
  const [header, ...lines] = r.stdout.trim().split('\n');
  const cols = header!.split(',');
  // No quoted cells in these files (the congestion algorithm name has no comma).
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [`${cols[i]}#${cols.slice(0, i).filter((c) => c === cols[i]).length}`, v])));
}

test('as root in two network namespaces: HTTP over IPv4 and IPv6 polled every 10 ms, archives read back by csvtool, events, loopback skipped', async (t) => {
  const reason = whyNot();
  if (reason) {
    t.skip(reason);
    return;
  }
  try {
    setUp();
  } catch (e) {
    t.skip(`cannot create network namespaces here: ${(e as Error).message}`);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'tcpcapture-netns-'));
  const out = join(dir, 'out');
  const evPath = join(dir, 'events.sock');
  writeFileSync(join(dir, 'server.cjs'), SERVER_JS);

  const server = spawn('ip', ['netns', 'exec', NS_SRV, process.execPath, join(dir, 'server.cjs')]);
  children.push(server);
  let serverOut = '';
  server.stdout.on('data', (d: Buffer) => (serverOut += d.toString()));
  await waitFor(() => serverOut.includes('ready'), 'the HTTP server');
  serverUp = true;

  const live = await startSockets(['--output', out, '--interval', '10ms', '--prefix', 'netns-test'], evPath);
  const cap = live.cap;
  await new Promise((r) => setTimeout(r, 100));

  const [r4, r6, rLo] = await Promise.all([curl(NS_CLI, 'http://192.0.2.1:8080/'), curl(NS_CLI, 'http://[2001:db8::1]:8080/'), curl(NS_SRV, 'http://127.0.0.1:8080/')]);
  assert.deepEqual([r4, r6, rLo], [0, 0, 0].map(() => ({ code: 0, bytes: 327680 })));
  await new Promise((r) => setTimeout(r, 300)); // a few polls without the connections: they are closed
  cap.kill('SIGINT');
  const [code] = await once(cap, 'exit');
  await live.evEnded;
  assert.equal(code, 0, live.err);
  assert.match(live.err, /^tcpcapture sockets: \d+ polls \(0 failed, [\d.]+ ms of dumps per poll\), 2 connections, \d+ records written, 2 files; skipped: \d+ local, 0 by port, 0 by address\n$/);

  // One file per connection, named as tcp-info names them.
  const files = listFiles(out);
  assert.equal(files.length, 2, files.join(' '));
  for (const f of files) assert.match(f, /^\d{4}\/\d{2}\/\d{2}\/netns-test_[0-9A-F]{16}\.00000\.jsonl\.zst$/);

  // csvtool reads every file: a Metadata row, then snapshots of the server side of one connection.
  const seen: Record<string, { dport: string; cookie: string; snapshots: number }> = {};
  for (const f of files) {
    const rows = csvRows(join(out, f));
    const [meta, ...snaps] = rows;
    assert.equal(meta!['IDM.Family#0'], '');
    assert.ok(snaps.length >= 1, `${f}: no snapshot`);
    const family = snaps[0]!['IDM.Family#0']!;
    const expect = family === '2' ? { src: '192.0.2.1', dst: '192.0.2.2' } : { src: '2001:db8::1', dst: '2001:db8::2' };
    const cookie = /_([0-9A-F]{16})\./.exec(f)![1]!.replace(/^0+/, '');
    for (const s of snaps) {
      assert.deepEqual(
        [s['IDM.Family#0'], s['IDM.SockID.Src#0'], s['IDM.SockID.Dst#0'], s['IDM.SockID.SPort#0'], s['IDM.SockID.DPort#0'], s['IDM.SockID.Cookie#0']],
        [family, expect.src, expect.dst, '8080', snaps[0]!['IDM.SockID.DPort#0'], cookie],
      );
    }
    assert.ok(Number(snaps[0]!['IDM.SockID.DPort#0']) > 1023);
    const times = snaps.map((s) => s['Timestamp#0']!);
    assert.deepEqual([...times].sort(), times, 'snapshots in poll order');
    // The first 256 KiB went out and were acknowledged a second before the end: some poll saw it. (The last
    // 64 KiB and the close can fall between two polls, as with tcp-info.)
    assert.ok(snaps.some((s) => Number(s['TCP.BytesAcked#0']) >= 262144), `${f}: first part acked`);
    assert.ok(snaps.some((s) => s['IDM.State#0'] === '1'));
    seen[family === '2' ? 'v4' : 'v6'] = { dport: snaps[0]!['IDM.SockID.DPort#0']!, cookie, snapshots: snaps.length };
  }
  assert.deepEqual(Object.keys(seen).sort(), ['v4', 'v6']);

  // Event socket: Open (with the socket's ID) then Close for each connection, nothing for loopback or listeners.
  const lines = live.events.trim().split('\n').map((l) => JSON.parse(l) as { Event: number; UUID: string; ID: null | { SPort: number; DPort: number; SrcIP: string; DstIP: string; Cookie: number } });
  const uuids = files.map((f) => /(netns-test_[0-9A-F]{16})\./.exec(f)![1]!).sort();
  assert.deepEqual([...new Set(lines.map((l) => l.UUID))].sort(), uuids);
  for (const u of uuids) {
    const mine = lines.filter((l) => l.UUID === u);
    assert.deepEqual(mine.map((l) => l.Event), [0, 1]);
    assert.equal(mine[1]!.ID, null);
    const id = mine[0]!.ID!;
    const which = id.SrcIP === '192.0.2.1' ? 'v4' : 'v6';
    assert.deepEqual(
      { SPort: id.SPort, DPort: id.DPort, SrcIP: id.SrcIP, DstIP: id.DstIP, Cookie: id.Cookie.toString(16).toUpperCase() },
      { SPort: 8080, DPort: Number(seen[which]!.dport), SrcIP: which === 'v4' ? '192.0.2.1' : '2001:db8::1', DstIP: which === 'v4' ? '192.0.2.2' : '2001:db8::2', Cookie: seen[which]!.cookie },
    );
  }
});

test('SIGTERM during a connection: its file is completed and readable, and the event socket gets its Close at shutdown', async (t) => {
  if (!serverUp) {
    t.skip(whyNot() ?? 'needs the namespaces and server of the previous test');
    return;
  }
  const out = join(dir, 'out-term');
  const evPath = join(dir, 'events-term.sock');
  const live = await startSockets(['-o', out, '--prefix', 'term', '-q'], evPath);
  const cap = live.cap;
  const fetch = curl(NS_CLI, 'http://192.0.2.1:8080/');
  await waitFor(() => live.events.includes('"Event":0'), 'the Open event');
  await new Promise((r) => setTimeout(r, 200));
  cap.kill('SIGTERM');
  const [code] = await once(cap, 'exit');
  await live.evEnded;
  assert.deepEqual([code, live.err], [0, '']);
  assert.deepEqual(await fetch, { code: 0, bytes: 327680 }, 'the connection itself is not disturbed');
  const files = listFiles(out);
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^\d{4}\/\d{2}\/\d{2}\/term_[0-9A-F]{16}\.00000\.jsonl\.zst$/);
  const rows = csvRows(join(out, files[0]!));
  assert.ok(rows.length >= 2 && rows.slice(1).every((r) => r['IDM.SockID.Dst#0'] === '192.0.2.2' && r['IDM.SockID.SPort#0'] === '8080'));
  const uuid = /(term_[0-9A-F]{16})\./.exec(files[0]!)![1]!;
  assert.deepEqual(
    live.events.trim().split('\n').map((l) => [(JSON.parse(l) as { Event: number }).Event, (JSON.parse(l) as { UUID: string }).UUID]),
    [
      [0, uuid],
      [1, uuid],
    ],
  );
});
