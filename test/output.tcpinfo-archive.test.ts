/**
 * The tcp-info archive writer (src/output/tcpinfo-archive.ts) and atomic
 * files (src/io/atomic.ts): tcp-info's saver replayed on its own test data
 * gives files whose decompressed content matches the Go saver's byte for
 * byte; rotation and naming; zstd frames; no half file under a final name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Transform } from 'node:stream';
import { decompress } from './_zstd.js';
import { ToolError } from '../src/util/errors.js';
import { AtomicFile, writeFileAtomic } from '../src/io/atomic.js';
import { GoTime } from '../src/tcpinfo/go-time.js';
import type { ArchivalRecord } from '../src/tcpinfo/archival-record.js';
import { makeArchivalRecord, readRawNetlinkMessages } from '../src/tcpinfo/netlink.js';
import { compareRecords, NO_MAJOR_CHANGE } from '../src/tcpinfo/compare.js';
import { RecordCache, recordCookie } from '../src/tcpinfo/cache.js';
import { TcpInfoArchiveWriter, connectionUuid, segmentPath } from '../src/output/tcpinfo-archive.js';
import { listFiles } from './_fixtures.js';

const FIX = new URL('../../fixtures/tcpinfo/', import.meta.url).pathname;
const PREFIX = 'harness.example.com_1553815964';
const T0 = 1_696_939_200_000_000_000n; // 2023-10-10T12:00:00Z

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tcpinfo-archive-'));
}


test("replaying tcp-info's three poll cycles gives the Go saver's 140 files, each with the same decompressed content (sha256)", async () => {
  const dir = tempDir();
  try {
    const msgs = [...readRawNetlinkMessages(decompress(readFileSync(join(FIX, 'repo', 'testdata.zst'))))];
    const w = new TcpInfoArchiveWriter({ dir, uuidPrefix: PREFIX });
    const cache = new RecordCache();
    // As the harness did: IPv6 dump at T, IPv4 dump 1 ms later; cycles 10 ms apart; a fourth, empty cycle closes everything.
    for (let cycle = 0; cycle < 4; cycle++) {
      const t6 = GoTime.fromUnixNanos(T0 + BigInt(cycle) * 10_000_000n);
      const t4 = GoTime.fromUnixNanos(T0 + BigInt(cycle) * 10_000_000n + 1_000_000n);
      for (const m of cycle < 3 ? msgs.slice(cycle * 140, cycle * 140 + 140) : []) {
        const r = makeArchivalRecord(m, { skipLocal: true })!;
        r.timestamp = r.rawIdm![0] === 2 ? t4 : t6;
        if (compareRecords(r, cache.update(r)) > NO_MAJOR_CHANGE) await w.write(recordCookie(r), r, r.timestamp);
      }
      for (const cookie of cache.endCycle().keys()) await w.end(cookie);
    }
    await w.close();
    const manifest = readFileSync(join(FIX, 'harness', 'saver-replay', 'manifest.tsv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    const got = listFiles(dir).map((p) => {
      const data = decompress(readFileSync(join(dir, p)));
      return [p, String(data.toString('latin1').split('\n').length - 1), createHash('sha256').update(data).digest('hex')];
    });
    assert.deepEqual(got, manifest.sort((a, b) => a[0]!.localeCompare(b[0]!)));
    assert.deepEqual([...w.completed].sort(), got.map((g) => g[0]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function record(cookie: bigint, ns: bigint, state = 1): ArchivalRecord {
  const idm = new Uint8Array(72);
  idm[0] = 2;
  idm[1] = state;
  new DataView(idm.buffer).setBigUint64(44, cookie, true);
  return { timestamp: GoTime.fromUnixNanos(ns), rawIdm: idm, attributes: [null], metadata: null };
}

const MIN = 60_000_000_000n;

test('a connection rotates to a new segment on the first write after 10 minutes; later segments go in the directory of the rotation day', async () => {
  const dir = tempDir();
  try {
    const w = new TcpInfoArchiveWriter({ dir, uuidPrefix: 'host_1' });
    const start = 1_696_981_800_000_000_000n; // 2023-10-10T23:50:00Z
    for (const dt of [0n, 5n * MIN, 10n * MIN, 10n * MIN + 1n, 21n * MIN, 25n * MIN]) {
      const r = record(0xabcn, start + dt);
      await w.write(0xabcn, r, r.timestamp);
    }
    await w.close();
    const files = listFiles(dir);
    const content = Object.fromEntries(files.map((f) => [f, decompress(readFileSync(join(dir, f))).toString('utf8').split('\n')]));
    const idm = '"RawIDM":"AgEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAC8CgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"';
    const snap = (ts: string) => `{"Timestamp":"${ts}",${idm},"Attributes":[null]}`;
    assert.deepEqual(content, {
      '2023/10/10/host_1_0000000000000ABC.00000.jsonl.zst': [
        '{"Timestamp":"0001-01-01T00:00:00Z","Metadata":{"UUID":"host_1_0000000000000ABC","Sequence":0,"StartTime":"2023-10-10T23:50:00Z"}}',
        snap('2023-10-10T23:50:00Z'),
        snap('2023-10-10T23:55:00Z'),
        snap('2023-10-11T00:00:00Z'),
        '',
      ],
      '2023/10/11/host_1_0000000000000ABC.00001.jsonl.zst': [
        '{"Timestamp":"0001-01-01T00:00:00Z","Metadata":{"UUID":"host_1_0000000000000ABC","Sequence":1,"StartTime":"2023-10-10T23:50:00Z"}}',
        snap('2023-10-11T00:00:00.000000001Z'),
        '',
      ],
      '2023/10/11/host_1_0000000000000ABC.00002.jsonl.zst': [
        '{"Timestamp":"0001-01-01T00:00:00Z","Metadata":{"UUID":"host_1_0000000000000ABC","Sequence":2,"StartTime":"2023-10-10T23:50:00Z"}}',
        snap('2023-10-11T00:11:00Z'),
        snap('2023-10-11T00:15:00Z'),
        '',
      ],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('segment names follow tcp-info: <prefix>_<cookie %016X>.<seq %05d>.jsonl.zst under the UTC date', () => {
  const t = GoTime.fromUnix(1_566_863_742, 0, -4 * 3600); // 2019-08-26T19:55:42-04:00 = 23:55:42Z
  assert.deepEqual(
    [connectionUuid('gfr14_1554836592_unsafe', 0x135a272n), connectionUuid('h', 0xff000000000000ffn), segmentPath('x_0000000000000001', 183, t)],
    ['gfr14_1554836592_unsafe_000000000135A272', 'h_FF000000000000FF', '2019/08/26/x_0000000000000001.00183.jsonl.zst'],
  );
});

test('the files are single zstd frames with a checksum and no content size, and the zstd CLI accepts them', async () => {
  const dir = tempDir();
  try {
    const w = new TcpInfoArchiveWriter({ dir, uuidPrefix: 'h' });
    const r = record(7n, T0);
    await w.write(7n, r, r.timestamp);
    await w.close();
    const [file] = listFiles(dir);
    const bytes = readFileSync(join(dir, file!));
    const fhd = bytes[4]!;
    assert.deepEqual(
      { magic: bytes.subarray(0, 4).toString('hex'), contentSizeFlag: fhd >> 6, singleSegment: (fhd >> 5) & 1, checksum: (fhd >> 2) & 1 },
      { magic: '28b52ffd', contentSizeFlag: 0, singleSegment: 0, checksum: 1 },
    );
    const z = spawnSync('zstd', ['-t', '-q', join(dir, file!)]);
    if (z.error === undefined) assert.equal(z.status, 0, z.stderr.toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('while a segment is open only a temporary file exists; abort() removes it and leaves no file at all', async () => {
  const dir = tempDir();
  try {
    const w = new TcpInfoArchiveWriter({ dir, uuidPrefix: 'h' });
    const r = record(9n, T0);
    await w.write(9n, r, r.timestamp);
    const during = listFiles(dir);
    assert.equal(during.length, 1);
    assert.match(during[0]!, /^2023\/10\/10\/\.tcpkit-h_0000000000000009\.00000\.jsonl\.zst\.\d+\.[0-9a-f]{12}\.tmp$/);
    await w.abort();
    assert.deepEqual(listFiles(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing compressor is an error, and neither a final nor a temporary file is left', async () => {
  const dir = tempDir();
  try {
    let n = 0;
    const failing = (): Transform =>
      new Transform({
        transform(chunk, _enc, cb) {
          if (++n === 2) cb(new Error('simulated compressor failure'));
          else cb(null, chunk);
        },
      });
    const w = new TcpInfoArchiveWriter({ dir, uuidPrefix: 'h', createCompressor: failing });
    const r = record(5n, T0);
    await assert.rejects(
      (async () => {
        await w.write(5n, r, r.timestamp);
        await w.end(5n);
      })(),
      (e: unknown) => e instanceof ToolError && e.code === 'ARCHIVE_COMPRESS_FAILED' && /simulated compressor failure/.test(e.message),
    );
    assert.deepEqual(listFiles(dir).filter((f) => !f.endsWith('/')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cookie that comes back continues its sequence instead of overwriting its first file (tcp-info truncates it), even on another day', async () => {
  const dir = tempDir();
  try {
    const w = new TcpInfoArchiveWriter({ dir, uuidPrefix: 'h' });
    const r = record(3n, T0);
    await w.write(3n, r, r.timestamp);
    await w.end(3n);
    await w.write(3n, r, r.timestamp);
    await w.end(3n);
    const nextDay = record(3n, T0 + 86_400_000_000_000n);
    await w.write(3n, nextDay, nextDay.timestamp);
    await w.close();
    const meta = (f: string): unknown => JSON.parse(decompress(readFileSync(join(dir, f))).toString().split('\n')[0]!).Metadata;
    assert.deepEqual(
      listFiles(dir).map((f) => [f, meta(f)]),
      [
        ['2023/10/10/h_0000000000000003.00000.jsonl.zst', { UUID: 'h_0000000000000003', Sequence: 0, StartTime: '2023-10-10T12:00:00Z' }],
        ['2023/10/10/h_0000000000000003.00001.jsonl.zst', { UUID: 'h_0000000000000003', Sequence: 1, StartTime: '2023-10-10T12:00:00Z' }],
        ['2023/10/11/h_0000000000000003.00002.jsonl.zst', { UUID: 'h_0000000000000003', Sequence: 2, StartTime: '2023-10-11T12:00:00Z' }],
      ],
    );
    assert.equal(w.skippedExisting, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a segment name already on disk (a previous run) moves to the next free sequence; only overwrite replaces it', async () => {
  const dir = tempDir();
  try {
    const r = record(4n, T0);
    for (let run = 0; run < 3; run++) {
      const w = new TcpInfoArchiveWriter({ dir, uuidPrefix: 'h' });
      await w.write(4n, r, r.timestamp);
      await w.close();
      assert.equal(w.skippedExisting, run);
    }
    const w = new TcpInfoArchiveWriter({ dir, uuidPrefix: 'h', overwrite: true });
    await w.write(4n, r, r.timestamp);
    await w.close();
    assert.deepEqual(listFiles(dir), [0, 1, 2].map((s) => `2023/10/10/h_0000000000000004.0000${s}.jsonl.zst`));
    assert.deepEqual(w.completed, ['2023/10/10/h_0000000000000004.00000.jsonl.zst']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('maxOpenFiles completes the least recently written segment first; that connection continues in its next segment', async () => {
  const dir = tempDir();
  try {
    const w = new TcpInfoArchiveWriter({ dir, uuidPrefix: 'm', maxOpenFiles: 2 });
    const put = async (cookie: bigint, ms: bigint): Promise<void> => {
      const r = record(cookie, T0 + ms * 1_000_000n);
      await w.write(cookie, r, r.timestamp);
    };
    await put(1n, 0n);
    await put(2n, 1n);
    await put(1n, 2n); // 1 is now the most recent
    assert.deepEqual([w.openConnections, listFiles(dir).filter((f) => !f.includes('.tmp')).length], [2, 0]);
    await put(3n, 3n); // completes 2's segment
    await put(2n, 4n); // completes 1's; 2 goes on in .00001
    assert.deepEqual([w.openConnections, w.closedEarly], [2, 2]);
    assert.deepEqual(listFiles(dir).filter((f) => !f.includes('.tmp')), ['2023/10/10/m_0000000000000001.00000.jsonl.zst', '2023/10/10/m_0000000000000002.00000.jsonl.zst']);
    await w.close();
    const lines = (f: string): number => decompress(readFileSync(join(dir, f))).toString().split('\n').length - 1;
    assert.deepEqual(
      listFiles(dir).map((f) => [f, lines(f)]),
      [
        ['2023/10/10/m_0000000000000001.00000.jsonl.zst', 3],
        ['2023/10/10/m_0000000000000002.00000.jsonl.zst', 2],
        ['2023/10/10/m_0000000000000002.00001.jsonl.zst', 2],
        ['2023/10/10/m_0000000000000003.00000.jsonl.zst', 2],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFileAtomic writes whole files, and an aborted AtomicFile leaves nothing behind', async () => {
  const dir = tempDir();
  try {
    const target = join(dir, 'sub', 'out.txt');
    await writeFileAtomic(target, 'hello\n');
    assert.equal(readFileSync(target, 'utf8'), 'hello\n');
    await assert.rejects(writeFileAtomic(target, 'again\n'), (e: unknown) => e instanceof ToolError && e.code === 'ATOMIC_TARGET_EXISTS');
    await writeFileAtomic(target, 'replaced\n', { overwrite: true });
    assert.equal(readFileSync(target, 'utf8'), 'replaced\n');
    const f = await AtomicFile.create(join(dir, 'partial.bin'));
    await f.write(Buffer.alloc(1 << 20));
    assert.equal(existsSync(join(dir, 'partial.bin')), false);
    await f.abort();
    assert.deepEqual(listFiles(dir), ['sub/out.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
