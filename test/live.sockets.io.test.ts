/**
 * The outside edges of `tcpcapture sockets`: the sock_diag request bytes,
 * real dumps from the kernel (any user, current namespace, loopback
 * connections made by the test), the event socket protocol with real unix
 * socket clients, Prometheus /metrics over HTTP with node's fetch, the
 * poller's reps / stop / failed polls, and the command's usage errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolError } from '../src/util/errors.js';
import { serveMetrics } from '../src/live/prom.js';
import { encodeSockDiagRequest, MessageBatch, SockDiagSocket, TCPINFO_IDIAG_EXT, TCPINFO_IDIAG_STATES, type SockDiagSource } from '../src/live/sockets/netlink-dump.js';
import { EventSocketServer, flowEventLine, FLOW_OPEN } from '../src/live/sockets/eventsocket.js';
import { SocketSaver } from '../src/live/sockets/saver.js';
import { SocketsMetrics } from '../src/live/sockets/metrics.js';
import { Poller } from '../src/live/sockets/poller.js';
import { openSocketsArchive } from '../src/live/sockets/archive.js';
import { defaultUuidPrefix, readUuidPrefixFile } from '../src/live/sockets/uuid-prefix.js';
import { makeArchivalRecord, type NetlinkMessage } from '../src/tcpinfo/netlink.js';
import { GoTime } from '../src/tcpinfo/go-time.js';
import { INET_DIAG_INFO } from '../src/tcpinfo/inet_diag.js';
import { SocketFilter } from '../src/live/sockets/exclude.js';
import { HARNESS_PREFIX, T0, TCPCAPTURE, TCPINFO_FIX, batchMessages, fillBatch, fixtureCycle, listFiles } from './_sockets-helpers.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tcpcapture-sockets-io-'));
}

test("the request is tcp-info's inet_diag_req_v2 dump: all 8 extensions, every state but SYN_RECV, TIME_WAIT and CLOSE", () => {
  // linux/tcp_states.h: ESTABLISHED 1 .. CLOSING 11; tcp-info clears SYN_RECV (3), TIME_WAIT (6), CLOSE (7).
  const states = [0, 1, 2, 4, 5, 8, 9, 10, 11].reduce((a, s) => a | (1 << s), 0);
  // INET_DIAG_MEMINFO (1) .. INET_DIAG_SHUTDOWN (8), bit type-1 each.
  const ext = [1, 2, 3, 4, 5, 6, 7, 8].reduce((a, t) => a | (1 << (t - 1)), 0);
  assert.deepEqual([TCPINFO_IDIAG_STATES, TCPINFO_IDIAG_EXT], [0xf37, 0xff]);
  assert.deepEqual([states, ext], [0xf37, 0xff]);
  const hdr = (seq: string): string => '48000000' + '1400' + '0103' + seq + '00000000';
  assert.equal(encodeSockDiagRequest(10, 7).toString('hex'), hdr('07000000') + '0a06ff00' + '370f0000' + '00'.repeat(48));
  assert.equal(encodeSockDiagRequest(2, 0x01020304).toString('hex'), hdr('04030201') + '0206ff00' + '370f0000' + '00'.repeat(48));
});

/** `n` loopback connections to a local server; resolves with the server's port and a closer. */
async function loopbackConnections(host: string, n: number): Promise<{ port: number; clients: Socket[]; close: () => Promise<void> }> {
  const accepted: Socket[] = [];
  const server: Server = createServer((s) => accepted.push(s));
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const clients: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const c = connect(port, host);
    await once(c, 'connect');
    clients.push(c);
  }
  while (accepted.length < n) await new Promise((r) => setTimeout(r, 5));
  return {
    port,
    clients,
    close: async () => {
      for (const s of [...clients, ...accepted]) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const sportOf = (m: NetlinkMessage): number => (m.data[4]! << 8) | m.data[5]!;
const dportOf = (m: NetlinkMessage): number => (m.data[6]! << 8) | m.data[7]!;

test('a real dump (no root needed) returns every socket of 150 loopback connections across many datagrams, raw and parsable', async () => {
  const conns = await loopbackConnections('127.0.0.1', 150);
  const sock = new SockDiagSocket();
  try {
    const msgs = batchMessages(await sock.dump(2));
    const mine = msgs.filter((m) => sportOf(m) === conns.port || dportOf(m) === conns.port);
    // 150 client sockets, 150 accepted ones, 1 listener.
    assert.equal(mine.length, 301);
    const states = mine.map((m) => m.data[1]).sort((a, b) => a! - b!);
    assert.deepEqual([states.filter((s) => s === 1).length, states.filter((s) => s === 10).length], [300, 1]);
    for (const m of mine) {
      assert.equal(m.type, 20);
      const r = makeArchivalRecord(m, { timestamp: GoTime.fromUnixNanos(T0) })!;
      assert.equal(r.rawIdm!.length, 72);
      assert.ok(r.attributes![INET_DIAG_INFO]!.length >= 104, 'tcp_info present');
      assert.notEqual(Buffer.from(r.rawIdm!.subarray(44, 52)).readBigUInt64LE(), 0n, 'cookie');
      assert.equal(new SocketFilter().check(r.rawIdm!), 2, 'loopback is skipped as local');
    }
    // The socket stays usable: a second dump, then IPv6.
    assert.equal(batchMessages(await sock.dump(2)).filter((m) => sportOf(m) === conns.port).length, 151);
    assert.ok((await sock.dump(10)).count >= 0);
  } finally {
    sock.close();
    await conns.close();
  }
  await assert.rejects(sock.dump(2), (e: unknown) => e instanceof ToolError && e.code === 'NETLINK_CLOSED');
});

/** Reads lines from a unix socket client until `n` lines or the end. */
async function readLines(c: Socket, n: number): Promise<string[]> {
  let text = '';
  c.setEncoding('utf8');
  for await (const chunk of c) {
    text += chunk as string;
    if (text.split('\n').length - 1 >= n) break;
  }
  return text.split('\n').filter((l) => l !== '');
}

test('event socket: every client gets Open then Close lines in tcp-info FlowEvent JSON; a stale socket file is replaced', async () => {
  const dir = tempDir();
  const path = join(dir, 'events.sock');
  writeFileSync(path, 'stale');
  const server = await EventSocketServer.listen(path);
  try {
    const a = connect(path);
    const b = connect(path);
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    while (server.clientCount < 2) await new Promise((r) => setTimeout(r, 5));
    const pick = (_m: unknown, i: number): boolean => i % 140 < 3;
    const saver = new SocketSaver({
      writer: openSocketsArchive({ dir: join(dir, 'out'), uuidPrefix: HARNESS_PREFIX }),
      uuidPrefix: HARNESS_PREFIX,
      onEvent: (l) => server.send(l),
      clockNs: () => T0 + 1_000_000_000n,
      zoneOffsetSec: () => 0,
    });
    await saver.cycle(fixtureCycle(0, pick));
    await saver.cycle(fixtureCycle(1, pick));
    await saver.cycle(fixtureCycle(3));
    const [la, lb] = await Promise.all([readLines(a, 6), readLines(b, 6)]);
    const golden = readFileSync(join(TCPINFO_FIX, 'harness', 'saver-replay', 'events.jsonl'), 'utf8').trim().split('\n');
    const cookies = la.map((l) => (JSON.parse(l) as { UUID: string }).UUID);
    const expected = [...golden.slice(0, 140), ...golden.slice(140)].filter((l) => cookies.some((c) => l.includes(`"UUID":"${c}"`)));
    assert.equal(la.length, 6);
    assert.deepEqual(la.slice(0, 3), expected.filter((l) => l.startsWith('{"Event":0')));
    assert.deepEqual([...la.slice(3)].sort(), expected.filter((l) => l.startsWith('{"Event":1')).sort());
    assert.deepEqual(lb, la);
    await saver.close();
    await server.close();
    assert.equal(existsSync(path), false, 'the socket file is removed on close');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('event socket: a client that does not read is dropped once its backlog passes the limit; the others get every line', async () => {
  const dir = tempDir();
  const path = join(dir, 'ev.sock');
  const server = await EventSocketServer.listen(path, { maxBufferedBytes: 64 * 1024 });
  try {
    const stuck = connect(path);
    const reader = connect(path);
    stuck.pause();
    await Promise.all([once(stuck, 'connect'), once(reader, 'connect')]);
    while (server.clientCount < 2) await new Promise((r) => setTimeout(r, 5));
    const idm = new Uint8Array(72);
    idm[0] = 2;
    const line = flowEventLine(FLOW_OPEN, GoTime.fromUnixNanos(T0), 'x'.repeat(200), idm);
    const lines = 20000;
    const got = readLines(reader, lines);
    // Small bursts, so that the reading client never falls 64 KiB behind.
    for (let i = 0; i < lines; i++) {
      server.send(line);
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal((await got).length, lines);
    assert.equal(server.droppedClients, 1);
    assert.equal(server.clientCount, 1);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A sock_diag source replaying the fixture polls; poll numbers in `fail` throw a dump error once. */
function fixtureSource(fail: Set<number> = new Set()): SockDiagSource & { calls: number } {
  let poll = 0;
  return {
    calls: 0,
    async dump(family: number, into: MessageBatch): Promise<MessageBatch> {
      this.calls++;
      if (family === 10) {
        if (fail.delete(poll)) throw new ToolError('NETLINK_TIMEOUT', 'simulated');
        return fillBatch(into, batchMessages(fixtureCycle(poll).v6));
      }
      return fillBatch(into, batchMessages(fixtureCycle(poll++).v4));
    },
    close() {},
  };
}

/** Prometheus text format: `name{labels} value` lines into a map. */
function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    const i = l.lastIndexOf(' ');
    m.set(l.slice(0, i), Number(l.slice(i + 1)));
  }
  return m;
}

test("--prom: tcp-info's metric names in the Prometheus text format over HTTP, with the poll's counts", async () => {
  const dir = tempDir();
  const metrics = new SocketsMetrics();
  const prom = await serveMetrics(metrics.registry, '127.0.0.1:0');
  try {
    const saver = new SocketSaver({ writer: openSocketsArchive({ dir, uuidPrefix: 'p', metrics }), uuidPrefix: 'p', metrics });
    let t = T0;
    const poller = new Poller({ source: fixtureSource(), saver, intervalNs: 1e6, reps: 4, metrics, clockNs: () => (t += 600_000_000n) });
    assert.deepEqual((await poller.run()).polls, 4);
    await saver.close();
    const res = await fetch(`http://127.0.0.1:${prom.address.port}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const m = parseMetrics(text);
    const pick = (names: string[]): Record<string, number | undefined> => Object.fromEntries(names.map((n) => [n, m.get(n)]));
    assert.deepEqual(
      pick([
        'tcpinfo_snapshot_total',
        'tcpinfo_new_file_total',
        'tcpinfo_flow_events_total{event="open"}',
        'tcpinfo_flow_events_total{event="close"}',
        'tcpinfo_connection_count_histogram_count{af="ipv6"}',
        'tcpinfo_connection_count_histogram_sum{af="ipv6"}',
        'tcpinfo_connection_count_histogram_sum{af="ipv4"}',
        'tcpinfo_syscall_time_histogram_count{af="ipv4"}',
        'tcpinfo_syscall_time_histogram_bucket{af="ipv4",le="+Inf"}',
        'tcpinfo_polling_interval_histogram_count',
        'tcpinfo_cache_count_histogram_count',
        'tcpinfo_cache_count_histogram_sum',
        'tcpinfo_cache_count_histogram_bucket{le="125"}',
        'tcpinfo_cache_count_histogram_bucket{le="160"}',
        'tcpinfo_send_rate_histogram_count',
      ]),
      {
        tcpinfo_snapshot_total: 420,
        tcpinfo_new_file_total: 140,
        'tcpinfo_flow_events_total{event="open"}': 140,
        'tcpinfo_flow_events_total{event="close"}': 140,
        'tcpinfo_connection_count_histogram_count{af="ipv6"}': 4,
        'tcpinfo_connection_count_histogram_sum{af="ipv6"}': 375,
        'tcpinfo_connection_count_histogram_sum{af="ipv4"}': 45,
        'tcpinfo_syscall_time_histogram_count{af="ipv4"}': 4,
        'tcpinfo_syscall_time_histogram_bucket{af="ipv4",le="+Inf"}': 4,
        tcpinfo_polling_interval_histogram_count: 3,
        tcpinfo_cache_count_histogram_count: 4,
        tcpinfo_cache_count_histogram_sum: 420,
        'tcpinfo_cache_count_histogram_bucket{le="125"}': 1,
        'tcpinfo_cache_count_histogram_bucket{le="160"}': 4,
        tcpinfo_send_rate_histogram_count: 3,
      },
    );
    for (const name of ['tcpinfo_syscall_time_histogram', 'tcpinfo_polling_interval_histogram', 'tcpinfo_connection_count_histogram', 'tcpinfo_cache_count_histogram', 'tcpinfo_send_rate_histogram', 'tcpinfo_receive_rate_histogram']) {
      assert.match(text, new RegExp(`^# TYPE ${name} histogram$`, 'm'));
    }
    for (const name of ['tcpinfo_error_total', 'tcpinfo_new_file_total', 'tcpinfo_snapshot_total', 'large_netlink_total', 'netlink_skipped_total', 'tcpinfo_flow_events_total']) {
      assert.match(text, new RegExp(`^# TYPE ${name} counter$`, 'm'));
    }
    // Buckets are cumulative: never decreasing, ending at the count.
    const buckets = [...m].filter(([k]) => k.startsWith('tcpinfo_polling_interval_histogram_bucket')).map(([, v]) => v);
    assert.equal(buckets.length, 31);
    assert.ok(buckets.every((v, i) => i === 0 || v >= buckets[i - 1]!));
    assert.equal(buckets[30], 3);
  } finally {
    await prom.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the poller: a failed dump skips its poll (no connection closed) and is counted; ten failures in a row end the run; stop() ends it early', async () => {
  const dir = tempDir();
  try {
    const metrics = new SocketsMetrics();
    const saver = new SocketSaver({ writer: openSocketsArchive({ dir, uuidPrefix: 'f' }), uuidPrefix: 'f', metrics });
    const errors: string[] = [];
    const poller = new Poller({ source: fixtureSource(new Set([1])), saver, intervalNs: 1e6, reps: 4, metrics, onPollError: (e) => errors.push((e as ToolError).code) });
    const s = await poller.run();
    assert.deepEqual([s.polls, s.failedPolls, errors, metrics.errors.value({ type: 'dump failed' })], [4, 1, ['NETLINK_TIMEOUT'], 1]);
    // Polls 0, 1 (retried after the failure) and 2 ran: nobody was closed and reopened.
    assert.deepEqual([saver.counts.cycles, saver.counts.opened, saver.counts.closed, saver.liveConnections], [3, 140, 0, 140]);
    await saver.close();
    assert.equal(listFiles(dir).length, 140);

    const broken: SockDiagSource = { dump: () => Promise.reject(new ToolError('NETLINK_ERROR', 'simulated')), close() {} };
    const p2 = new Poller({ source: broken, saver: new SocketSaver({ writer: openSocketsArchive({ dir, uuidPrefix: 'g' }), uuidPrefix: 'g' }), intervalNs: 1e5, reps: 0 });
    await assert.rejects(p2.run(), (e: unknown) => e instanceof ToolError && e.code === 'NETLINK_ERROR');

    const empty: SockDiagSource = { dump: (_f, into) => Promise.resolve(fillBatch(into, [])), close() {} };
    const forever = new Poller({ source: empty, saver: new SocketSaver({ writer: openSocketsArchive({ dir: join(dir, 'x'), uuidPrefix: 'h' }), uuidPrefix: 'h' }), intervalNs: 50e6, reps: 0 });
    const running = forever.run();
    setTimeout(() => forever.stop(), 120);
    const started = Date.now();
    const fs = await running;
    assert.ok(fs.polls >= 2 && fs.polls <= 5, `${fs.polls} polls in about 120 ms at 50 ms`);
    assert.ok(Date.now() - started < 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the default UUID prefix is m-lab/uuid's <hostname>_<boot time>_unsafe", () => {
  // now 1700000000.250 s, up 1000.5 s: boot at 1699998999.75 -> Unix() = 1699998999.
  assert.equal(defaultUuidPrefix(() => 'host.example', () => '1000.50 3000.10\n', 1_700_000_000_250), 'host.example_1699998999_unsafe');
  assert.equal(defaultUuidPrefix(() => 'h', () => 'garbage', 0), 'h_BADBOOTTIME');
  assert.equal(
    defaultUuidPrefix(
      () => {
        throw new Error('no');
      },
      () => '1 1',
    ),
    'BADHOSTNAME',
  );
});

test('--uuid-prefix-file: the prefix is the file content byte for byte (not trimmed); a missing or empty file is an error', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'p'), 'mlab1-abc01_1714521600\n');
    writeFileSync(join(dir, 'empty'), '');
    assert.equal(readUuidPrefixFile(join(dir, 'p')), 'mlab1-abc01_1714521600\n');
    for (const f of ['missing', 'empty']) {
      assert.throws(() => readUuidPrefixFile(join(dir, f)), (e: unknown) => e instanceof ToolError && e.code === 'UUID_PREFIX_FILE' && e.context.file === join(dir, f));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2 with one line, before any socket or file is opened', () => {
  const dir = tempDir();
  try {
    const cases: [string[], string][] = [
      [[], 'tcpcapture: --output DIR is required [USAGE_MISSING_OUTPUT]\n'],
      [['-o', join(dir, 'o'), '--interval', '0'], 'tcpcapture: --interval: "0" is not a positive duration (examples: 10ms, 1s, 500us) [USAGE_BAD_DURATION]\n'],
      [['-o', join(dir, 'o'), '--reps', '-3'], 'tcpcapture: --reps: "-3" is not a whole number (0 = forever) [USAGE_BAD_NUMBER]\n'],
      [['-o', join(dir, 'o'), '--exclude-srcport', '80,65536'], 'tcpcapture: --exclude-srcport: "65536" is not a port number (0-65535) [USAGE_BAD_PORT]\n'],
      [['-o', join(dir, 'o'), '--exclude-dstip', 'example.com'], 'tcpcapture: --exclude-dstip: "example.com" is not an IPv4 or IPv6 address [USAGE_BAD_ADDRESS]\n'],
      [['-o', join(dir, 'o'), '--prefix', 'a', '--uuid-prefix-file', 'f'], 'tcpcapture: --prefix and --uuid-prefix-file cannot be combined [USAGE_CONFLICT]\n'],
    ];
    for (const [args, err] of cases) {
      const r = spawnSync(process.execPath, [TCPCAPTURE, 'sockets', ...args]);
      assert.deepEqual([r.status, r.stderr.toString(), r.stdout.toString()], [2, err, ''], args.join(' '));
    }
    assert.equal(existsSync(join(dir, 'o')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
