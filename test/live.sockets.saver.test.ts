/**
 * The saver of `tcpcapture sockets` (src/live/sockets/saver.ts) fed with
 * tcp-info's recorded netlink messages as successive polls: the files and
 * flow events equal what tcp-info's own saver produced for them, csvtool
 * reads the files back into the Go csvtool's rows, a reappearing cookie gets
 * a new file instead of overwriting, and the exclusions work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress } from './_zstd.js';
import { SocketSaver } from '../src/live/sockets/saver.js';
import { openSocketsArchive } from '../src/live/sockets/archive.js';
import { SocketFilter, dstIpKeys, parsePortList } from '../src/live/sockets/exclude.js';
import { ToolError } from '../src/util/errors.js';
import { T0, HARNESS_PREFIX, TCPINFO_FIX, CSVTOOL, RAW_MESSAGES, archiveLines, cookieHex, fixtureCycle, listFiles } from './_sockets-helpers.js';

const PINNED_CLOSE_NS = T0 + 1_000_000_000n; // the harness pinned Close times to 12:00:01Z

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tcpcapture-sockets-'));
}

async function replay(dir: string, options: { filter?: SocketFilter; polls?: number[] } = {}): Promise<{ saver: SocketSaver; events: string[] }> {
  const events: string[] = [];
  const writer = openSocketsArchive({ dir, uuidPrefix: HARNESS_PREFIX });
  const saver = new SocketSaver({
    writer,
    uuidPrefix: HARNESS_PREFIX,
    onEvent: (l) => events.push(l),
    clockNs: () => PINNED_CLOSE_NS,
    zoneOffsetSec: () => 0,
    ...(options.filter ? { filter: options.filter } : {}),
  });
  for (const i of options.polls ?? [0, 1, 2, 3]) await saver.cycle(fixtureCycle(i));
  await saver.close();
  return { saver, events };
}

test("three recorded polls and an empty one give tcp-info's 140 files (same decompressed bytes) and its 140 Open and 140 Close events", async () => {
  const dir = tempDir();
  try {
    const { saver, events } = await replay(dir);
    const manifest = readFileSync(join(TCPINFO_FIX, 'harness', 'saver-replay', 'manifest.tsv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
      .sort((a, b) => a[0]!.localeCompare(b[0]!));
    const got = listFiles(dir).map((p) => {
      const data = decompress(readFileSync(join(dir, p)));
      return [p, String(data.toString('latin1').split('\n').length - 1), createHash('sha256').update(data).digest('hex')];
    });
    assert.deepEqual(got, manifest);
    const golden = readFileSync(join(TCPINFO_FIX, 'harness', 'saver-replay', 'events.jsonl'), 'utf8').trim().split('\n');
    // Opens come in the order tcp-info's saver takes the sockets (IPv4 first, then IPv6); closes in map order.
    assert.deepEqual(events.slice(0, 140), golden.slice(0, 140));
    assert.deepEqual(events.slice(140).sort(), golden.slice(140).sort());
    assert.deepEqual(saver.counts, {
      cycles: 4,
      messages: 420,
      snapshots: 420,
      written: 143,
      opened: 140,
      closed: 140,
      skipped: { srcport: 0, local: 0, dstip: 0, cookie0: 0, bad: 0 },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("csvtool reads the saver's files back into the Go csvtool's rows for the same records, at their poll times", async () => {
  const dir = tempDir();
  try {
    await replay(dir);
    // Which message each file holds: every socket's poll-0 message, plus the poll-1 message of the 3 that changed (Go Compare golden).
    const compare = readFileSync(join(TCPINFO_FIX, 'harness', 'compare', 'compare-testdata.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('cycle='))
      .map((l) => /^cycle=(\d) index=(\d+) cookie=([0-9A-F]{16}) change=(\d)/.exec(l)!);
    const golden = readFileSync(join(TCPINFO_FIX, 'repo-golden', 'archiveRecords.jsonl.csv'), 'utf8').split('\n');
    const header = golden[0]!;
    const metadataRow = readFileSync(join(TCPINFO_FIX, 'edgecases', 'out', 'metadata_only.csv'), 'utf8').split('\n')[1]!;
    const pollTime = (cycle: number, index: number): string => {
      const v4 = RAW_MESSAGES[index]!.data[0] === 2;
      const ms = cycle * 10 + (v4 ? 1 : 0);
      return ms === 0 ? '2023-10-10T12:00:00Z' : `2023-10-10T12:00:00.${String(ms).padStart(3, '0').replace(/0+$/, '')}Z`;
    };
    const rowsByCookie = new Map<string, string[]>();
    for (const m of compare) {
      const [cycle, index, cookie, change] = [Number(m[1]), Number(m[2]), m[3]!, Number(m[4])];
      if (cycle > 0 && change === 0) continue;
      const row = golden[index + 1]!.replace(/^2009-05-29T23:59:59Z,/, pollTime(cycle, index) + ',');
      rowsByCookie.set(cookie, [...(rowsByCookie.get(cookie) ?? [metadataRow]), row]);
    }
    const files = listFiles(dir);
    const expected = [header, ...files.flatMap((f) => rowsByCookie.get(/_([0-9A-F]{16})\.00000\.jsonl\.zst$/.exec(f)![1]!)!), ''].join('\n');
    // All 140 files through one csvtool run (concatenated zstd frames on stdin) ...
    const all = Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
    const r = spawnSync(process.execPath, [CSVTOOL], { input: all, maxBuffer: 1 << 26 });
    assert.equal(r.stderr.toString(), '');
    assert.equal(r.stdout.toString(), expected);
    // ... and the three files with two snapshots one by one, by name.
    for (const f of files.filter((p) => archiveLines(join(dir, p)).length === 3)) {
      const one = spawnSync(process.execPath, [CSVTOOL, join(dir, f)]);
      const cookie = /_([0-9A-F]{16})\./.exec(f)![1]!;
      assert.equal(one.status, 0);
      assert.equal(one.stdout.toString(), [header, ...rowsByCookie.get(cookie)!, ''].join('\n'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cookie missing from one poll and seen again continues its sequence in this run, and a later run skips names already on disk', async () => {
  const dir = tempDir();
  try {
    const target = RAW_MESSAGES[0]!;
    const cookie = cookieHex(target);
    const onlyTarget = (_m: unknown, index: number): boolean => index % 140 === 0;
    const events: string[] = [];
    const run = async (polls: [number, boolean][]): Promise<void> => {
      const writer = openSocketsArchive({ dir, uuidPrefix: 'h' });
      const saver = new SocketSaver({ writer, uuidPrefix: 'h', onEvent: (l) => events.push(l.slice(0, 11)), clockNs: () => PINNED_CLOSE_NS, zoneOffsetSec: () => 0 });
      for (const [i, present] of polls) await saver.cycle(fixtureCycle(i, present ? onlyTarget : () => false));
      await saver.close();
    };
    await run([
      [0, true],
      [1, false],
      [2, true],
    ]);
    await run([[0, true]]);
    const files = listFiles(dir);
    assert.deepEqual(files, [0, 1, 2].map((s) => `2023/10/10/h_${cookie}.0000${s}.jsonl.zst`));
    const meta = files.map((f) => JSON.parse(archiveLines(join(dir, f))[0]!).Metadata);
    assert.deepEqual(meta, [
      { UUID: `h_${cookie}`, Sequence: 0, StartTime: '2023-10-10T12:00:00Z' },
      { UUID: `h_${cookie}`, Sequence: 1, StartTime: '2023-10-10T12:00:00.02Z' },
      { UUID: `h_${cookie}`, Sequence: 2, StartTime: '2023-10-10T12:00:00Z' },
    ]);
    assert.deepEqual(files.map((f) => archiveLines(join(dir, f)).length), [2, 2, 2]);
    assert.deepEqual(events, ['{"Event":0,', '{"Event":1,', '{"Event":0,', '{"Event":1,', '{"Event":0,', '{"Event":1,']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--exclude-srcport and --exclude-dstip skip sockets before the cache: no file, no event, counted by reason', async () => {
  // Pick a port and a destination seen in the data (of sockets other than the port's).
  const sport = (i: number): number => (RAW_MESSAGES[i]!.data[4]! << 8) | RAW_MESSAGES[i]!.data[5]!;
  const idm = (i: number): Uint8Array => RAW_MESSAGES[i]!.data;
  const port = sport(0);
  const v4 = RAW_MESSAGES.slice(0, 140).findIndex((m) => m.data[0] === 2 && ((m.data[4]! << 8) | m.data[5]!) !== port)!;
  const dst = `${idm(v4)[24]}.${idm(v4)[25]}.${idm(v4)[26]}.${idm(v4)[27]}`;
  const excluded = new Set(
    RAW_MESSAGES.slice(0, 140)
      .filter((m) => ((m.data[4]! << 8) | m.data[5]!) === port || (m.data[0] === 2 && Buffer.from(m.data.subarray(24, 28)).equals(Buffer.from(idm(v4).subarray(24, 28)))))
      .map(cookieHex),
  );
  assert.ok(excluded.size >= 2 && excluded.size < 140, `${excluded.size} sockets excluded`);
  const dir = tempDir();
  try {
    const filter = new SocketFilter({ srcPorts: parsePortList([`${port},65535`]), dstIps: dstIpKeys([dst]) });
    const { saver, events } = await replay(dir, { filter });
    const cookies = listFiles(dir).map((f) => /_([0-9A-F]{16})\./.exec(f)![1]!);
    const all = new Set(RAW_MESSAGES.slice(0, 140).map(cookieHex));
    assert.deepEqual(cookies, [...all].filter((c) => !excluded.has(c)).sort());
    assert.equal(events.length, 2 * cookies.length);
    assert.ok(events.every((e) => ![...excluded].some((c) => e.includes(c))));
    const s = saver.counts.skipped;
    assert.equal(s['srcport']! + s['dstip']!, 3 * excluded.size);
    assert.ok(s['srcport']! > 0 && s['dstip']! > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exclusion lists: ports up to 65535 (tcp-info rejects those above 32767), IPv4 matching both raw forms, clear usage errors', () => {
  assert.deepEqual(parsePortList(['9100,9990', '40000', ' 65535 ']), [9100, 9990, 40000, 65535]);
  for (const bad of ['65536', '-1', 'http', '1.5']) {
    assert.throws(
      () => parsePortList([bad]),
      (e: unknown) => e instanceof ToolError && e.code === 'USAGE_BAD_PORT' && e.exitCode === 2 && e.message === `--exclude-srcport: "${bad}" is not a port number (0-65535)`,
    );
  }
  const hex = (keys: Uint8Array[]): string[] => keys.map((k) => Buffer.from(k).toString('hex'));
  assert.deepEqual(hex(dstIpKeys(['192.0.2.1', '2001:db8::2,::ffff:198.51.100.7'])), [
    'c0000201000000000000000000000000',
    '00000000000000000000ffffc0000201',
    '20010db8000000000000000000000002',
    '00000000000000000000ffffc6336407',
    'c6336407000000000000000000000000',
  ]);
  assert.throws(() => dstIpKeys(['192.0.2.300']), (e: unknown) => e instanceof ToolError && e.code === 'USAGE_BAD_ADDRESS');
  // The local rule: loopback and unspecified peers are skipped, documentation addresses kept.
  const msg = (src: number[], dst: number[], sport: number): Uint8Array => {
    const b = new Uint8Array(72);
    b[0] = 2;
    b[4] = sport >> 8;
    b[5] = sport & 255;
    b.set(src, 8);
    b.set(dst, 24);
    return b;
  };
  const f = new SocketFilter({ srcPorts: [443], dstIps: dstIpKeys(['198.51.100.7']) });
  assert.deepEqual(
    [
      f.check(msg([192, 0, 2, 1], [192, 0, 2, 2], 80)),
      f.check(msg([127, 0, 0, 1], [192, 0, 2, 2], 80)),
      f.check(msg([192, 0, 2, 1], [0, 0, 0, 0], 80)),
      f.check(msg([192, 0, 2, 1], [192, 0, 2, 2], 443)),
      f.check(msg([192, 0, 2, 1], [198, 51, 100, 7], 80)),
      new SocketFilter({ local: false }).check(msg([127, 0, 0, 1], [127, 0, 0, 1], 80)),
    ],
    [0, 2, 2, 1, 3, 0],
  );
});
