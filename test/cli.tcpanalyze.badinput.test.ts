/**
 * tcpanalyze on bad input and on the good paths around it: every error is one
 * stderr line `tcpanalyze: <file>: packet N (offset X = 0xHEX): <message> [CODE]`
 * with the right exit status (1 data error, 2 usage error), and the complete
 * packets before a cut or corrupt record are still analysed — stdout equals
 * the output for a capture made of only those packets.
 *
 * All inputs are built in a temporary directory from real captures
 * (fixtures/pcaps) with the writer in _capture-helpers.ts; the CLI runs with
 * that directory as its working directory so file names in messages are short.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { compress as zstdCompress } from './_zstd.js';
import { CONN_SCHEMA } from '../src/records/index.js';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import type { RecordValues } from '../src/records/schema.js';
import {
  PCAPNG_EPB,
  fixture,
  makeTempDir,
  offsetText,
  pcapRecord,
  pcapngBlocks,
  pcapngEpb,
  pcapngIdb,
  pcapngShb,
  readPcap,
  reEscape,
  runTcpanalyze,
  writePcap,
  type CliResult,
  type PcapFile,
} from './_capture-helpers.js';

let dir = '';
let cleanup = (): void => {};
let smtp: PcapFile;
let smtpBytes: Buffer;

/** Writes `bytes` as `name` in the temp dir and returns the name. */
function put(name: string, bytes: Buffer | string): string {
  writeFileSync(join(dir, name), bytes);
  return name;
}

function run(args: string[], input?: Buffer | string): CliResult {
  return runTcpanalyze(args, { cwd: dir, ...(input === undefined ? {} : { input }) });
}

/** Runs a capture that must be clean (exit 0, no stderr) and returns its stdout. */
function cleanOutput(name: string): string {
  const r = run([name]);
  assert.equal(r.status, 0, `reference run on ${name} failed: ${r.stderr}`);
  assert.equal(r.stderr, '', `reference run on ${name} wrote to stderr`);
  return r.stdout;
}

/** Exactly one stderr line, matching `re`. */
function assertOneErrorLine(r: CliResult, re: RegExp): void {
  assert.equal(r.errLines.length, 1, `expected one stderr line, got:\n${r.stderr}`);
  assert.match(r.errLines[0]!, re);
  assert.ok(r.stderr.endsWith('\n'), 'the error line ends with a newline');
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

/** Exactly one stderr line, equal to `line`. */
function assertErrorLine(r: CliResult, line: string): void {
  assert.equal(r.stderr, line + '\n');
}

function ndjsonLines(s: string): Record<string, unknown>[] {
  return s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

before(() => {
  ({ dir, cleanup } = makeTempDir('tcpanalyze-badinput-'));
  smtpBytes = readFileSync(fixture('zeek__smtp.pcap'));
  smtp = readPcap(smtpBytes);
  assert.equal(smtp.records.length, 125);
  assert.equal(smtp.trailing, 0);
});

after(() => cleanup());

// ---------------------------------------------------------------------------
// not a capture / not a file

test('A text file is rejected as an unknown format with exit 1, one error line at offset 0 naming its first bytes, and nothing on stdout.', () => {
  put('notes.txt', 'hello, this is not a capture\n');
  const r = run(['notes.txt']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assertErrorLine(r, 'tcpanalyze: notes.txt (offset 0 = 0x0): not a pcap or pcapng capture (first bytes 68 65 6c 6c) [CAPTURE_UNKNOWN_FORMAT]');
});

test('An empty file is a data error CAPTURE_EMPTY at offset 0 with exit 1 and nothing on stdout.', () => {
  put('empty.pcap', Buffer.alloc(0));
  const r = run(['empty.pcap']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assertErrorLine(r, 'tcpanalyze: empty.pcap (offset 0 = 0x0): empty input (0 bytes): not a capture [CAPTURE_EMPTY]');
});

test('A file shorter than a magic number is CAPTURE_TRUNCATED at offset 0 with exit 1.', () => {
  put('three.pcap', smtpBytes.subarray(0, 3));
  const r = run(['three.pcap']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assertErrorLine(r, 'tcpanalyze: three.pcap (offset 0 = 0x0): input of 3 bytes is too short to be a capture [CAPTURE_TRUNCATED]');
});

test('A pcap file header cut after 10 bytes is PCAP_TRUNCATED_HEADER at offset 0 with exit 1.', () => {
  put('hdr10.pcap', smtpBytes.subarray(0, 10));
  const r = run(['hdr10.pcap']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assertErrorLine(r, 'tcpanalyze: hdr10.pcap (offset 0 = 0x0): file header cut short: 10 of 24 bytes [PCAP_TRUNCATED_HEADER]');
});

test('A pcap header with version 3.4 is PCAP_BAD_VERSION at offset 4, and one with reserved link-type bits is PCAP_BAD_LINKTYPE at offset 20.', () => {
  const v = Buffer.from(smtpBytes);
  v.writeUInt16LE(3, 4);
  put('v34.pcap', v);
  const r1 = run(['v34.pcap']);
  assert.equal(r1.status, 1);
  assert.equal(r1.stdout, '');
  assertErrorLine(r1, 'tcpanalyze: v34.pcap (offset 4 = 0x4): unsupported pcap version 3.4 (expected 2.4) [PCAP_BAD_VERSION]');

  const l = Buffer.from(smtpBytes);
  l.writeUInt32LE(0x00300001, 20);
  put('lt.pcap', l);
  const r2 = run(['lt.pcap']);
  assert.equal(r2.status, 1);
  assert.equal(r2.stdout, '');
  assertErrorLine(r2, 'tcpanalyze: lt.pcap (offset 20 = 0x14): link-type field has reserved bits set (0x00300000) [PCAP_BAD_LINKTYPE]');
});

test('A pcap-looking file whose magic is damaged in its last byte is CAPTURE_UNKNOWN_FORMAT, not a crash.', () => {
  const b = Buffer.from(smtpBytes);
  b[3] = 0x00;
  put('magic.pcap', b);
  const r = run(['magic.pcap']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assertErrorLine(r, 'tcpanalyze: magic.pcap (offset 0 = 0x0): not a pcap or pcapng capture (first bytes d4 c3 b2 00) [CAPTURE_UNKNOWN_FORMAT]');
});

test('A directory given as input is a usage error INPUT_IS_DIRECTORY with exit 2 and nothing on stdout.', () => {
  mkdirSync(join(dir, 'adir'), { recursive: true });
  const r = run(['adir']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assertErrorLine(r, 'tcpanalyze: adir: is a directory, not a capture or archive file [INPUT_IS_DIRECTORY]');
});

test('A missing file is a usage error INPUT_NOT_FOUND with exit 2, even after a good file, and nothing is written to stdout.', () => {
  put('good.pcap', smtpBytes);
  const r1 = run(['no-such.pcap']);
  assert.equal(r1.status, 2);
  assert.equal(r1.stdout, '');
  assertErrorLine(r1, 'tcpanalyze: no-such.pcap: no such file [INPUT_NOT_FOUND]');

  const r2 = run(['good.pcap', 'no-such.pcap']);
  assert.equal(r2.status, 2);
  assert.equal(r2.stdout, '', 'inputs are all opened before any record is written');
  assertErrorLine(r2, 'tcpanalyze: no-such.pcap: no such file [INPUT_NOT_FOUND]');
});

// ---------------------------------------------------------------------------
// classic pcap: cut and corrupt records

test('A pcap cut in the middle of a record header reports PCAP_TRUNCATED_RECORD for that packet at its offset, exits 1, and writes exactly the records of the complete packets before it.', () => {
  const k = 40; // complete packets kept
  const cutAt = smtp.records[k]!.offset + 7;
  put('cut-hdr.pcap', smtpBytes.subarray(0, cutAt));
  put('first40.pcap', writePcap(smtp.records.slice(0, k), smtp.header));
  const expected = cleanOutput('first40.pcap');
  assert.notEqual(expected, '', 'the first 40 packets make at least one record');

  const r = run(['cut-hdr.pcap']);
  assert.equal(r.status, 1);
  assertErrorLine(r, `tcpanalyze: cut-hdr.pcap: packet ${k + 1} (${offsetText(smtp.records[k]!.offset)}): record header cut short: 7 of 16 bytes [PCAP_TRUNCATED_RECORD]`);
  assert.equal(r.stdout, expected);
});

test('A pcap cut in the middle of packet data reports PCAP_TRUNCATED_RECORD with how many data bytes arrived, exits 1, and writes exactly the records of the complete packets before it.', () => {
  const k = 77;
  const rec = smtp.records[k]!;
  assert.ok(rec.data.length > 20);
  put('cut-data.pcap', smtpBytes.subarray(0, rec.offset + 16 + 20));
  put('first77.pcap', writePcap(smtp.records.slice(0, k), smtp.header));
  const expected = cleanOutput('first77.pcap');

  const r = run(['cut-data.pcap']);
  assert.equal(r.status, 1);
  assertErrorLine(r, `tcpanalyze: cut-data.pcap: packet ${k + 1} (${offsetText(rec.offset)}): packet data cut short: 20 of ${rec.data.length} bytes [PCAP_TRUNCATED_RECORD]`);
  assert.equal(r.stdout, expected);
});

test('A pcap record whose length field is 0x7fffffff is PCAP_BAD_RECORD_LENGTH at that record, little- and big-endian, and the packets before it are still analysed.', () => {
  const k = 60;
  for (const le of [true, false]) {
    const tag = le ? 'le' : 'be';
    const head = writePcap(smtp.records.slice(0, k), { ...smtp.header, le });
    const bad = pcapRecord(smtp.records[k]!, { le, inclLen: 0x7fffffff });
    const rest = Buffer.concat(smtp.records.slice(k + 1).map((r) => pcapRecord(r, { le })));
    put(`absurd-${tag}.pcap`, Buffer.concat([head, bad, rest]));
    put(`first60-${tag}.pcap`, head);
    const expected = cleanOutput(`first60-${tag}.pcap`);

    const r = run([`absurd-${tag}.pcap`]);
    assert.equal(r.status, 1, tag);
    assertErrorLine(r, `tcpanalyze: absurd-${tag}.pcap: packet ${k + 1} (${offsetText(head.length)}): record length 2147483647 is absurd (snaplen 262144) [PCAP_BAD_RECORD_LENGTH]`);
    assert.equal(r.stdout, expected, tag);
  }
});

test('With --analysis flows (plain files read on demand) a cut pcap gives the same error line and exit 1, and the flows records of the complete packets before the cut.', () => {
  for (const [k, extra, name] of [
    [40, 7, 'flows-cut-hdr.pcap'],
    [77, 16 + 20, 'flows-cut-data.pcap'],
  ] as const) {
    const rec = smtp.records[k]!;
    put(name, smtpBytes.subarray(0, rec.offset + extra));
    put(`flows-first${k}.pcap`, writePcap(smtp.records.slice(0, k), smtp.header));
    const clean = run(['--analysis', 'flows', `flows-first${k}.pcap`]);
    assert.equal(clean.status, 0);
    assert.notEqual(clean.stdout, '');
    const r = run(['--analysis', 'flows', name]);
    assert.equal(r.status, 1, name);
    const what = extra === 7 ? 'record header cut short: 7 of 16 bytes' : `packet data cut short: 20 of ${rec.data.length} bytes`;
    assertErrorLine(r, `tcpanalyze: ${name}: packet ${k + 1} (${offsetText(rec.offset)}): ${what} [PCAP_TRUNCATED_RECORD]`);
    assert.equal(r.stdout, clean.stdout, name);
  }
});

// ---------------------------------------------------------------------------
// pcapng

test('A pcapng block whose length is not a multiple of 4 is PCAPNG_BAD_BLOCK_LENGTH at that block and its length field, and the packets before it are still analysed.', () => {
  const src = readFileSync(fixture('zeek__pcapng-multi-interface.pcapng'));
  const blocks = pcapngBlocks(src);
  const b = blocks[5]!; // the third EPB
  assert.equal(b.type, PCAPNG_EPB);
  const bad = Buffer.from(src);
  bad.writeUInt32LE(b.length + 1, b.offset + 4);
  put('badlen.pcapng', bad);
  put('badlen-prefix.pcapng', src.subarray(0, b.offset));
  const expected = cleanOutput('badlen-prefix.pcapng');

  const r = run(['badlen.pcapng']);
  assert.equal(r.status, 1);
  assertErrorLine(r, `tcpanalyze: badlen.pcapng: block ${b.number} (${offsetText(b.offset + 4)}): block length ${b.length + 1} is invalid (must be a multiple of 4, 12..16777216) [PCAPNG_BAD_BLOCK_LENGTH]`);
  assert.equal(r.stdout, expected);
});

test('A pcapng block whose trailing length differs from its leading length is PCAPNG_LENGTH_MISMATCH at the trailer offset, and the packets before it are still analysed.', () => {
  const src = readFileSync(fixture('zeek__pcapng-multi-interface.pcapng'));
  const b = pcapngBlocks(src)[6]!;
  assert.equal(b.type, PCAPNG_EPB);
  const bad = Buffer.from(src);
  const trailerAt = b.offset + b.length - 4;
  bad.writeUInt32LE(b.length + 8, trailerAt);
  put('mismatch.pcapng', bad);
  put('mismatch-prefix.pcapng', src.subarray(0, b.offset));
  const expected = cleanOutput('mismatch-prefix.pcapng');

  const r = run(['mismatch.pcapng']);
  assert.equal(r.status, 1);
  assertErrorLine(r, `tcpanalyze: mismatch.pcapng: block ${b.number} (${offsetText(trailerAt)}): block total length in header ${b.length} and trailer ${b.length + 8} differ [PCAPNG_LENGTH_MISMATCH]`);
  assert.equal(r.stdout, expected);
});

test('A multi-section pcapng cut in the middle of a big-endian packet block is PCAPNG_TRUNCATED_BLOCK naming the packet, the block and its offset, and the complete blocks before it are still analysed.', () => {
  const src = readFileSync(fixture('pcapngtg__le-test202.pcapng'));
  const blocks = pcapngBlocks(src);
  assert.equal(blocks.at(-1)!.offset + blocks.at(-1)!.length, src.length, 'the fixture parses to its end');
  // the EPB in the second (big-endian) section
  const b = blocks.find((x) => !x.le && x.type === PCAPNG_EPB)!;
  assert.ok(b, 'the fixture has a big-endian EPB');
  const packetsBefore = blocks.filter((x) => x.offset < b.offset && (x.type === 2 || x.type === 3 || x.type === PCAPNG_EPB)).length;
  put('cut.pcapng', src.subarray(0, b.offset + 50));
  put('cut-prefix.pcapng', src.subarray(0, b.offset));
  const expected = cleanOutput('cut-prefix.pcapng');

  const r = run(['cut.pcapng']);
  assert.equal(r.status, 1);
  assertErrorLine(
    r,
    `tcpanalyze: cut.pcapng: packet ${packetsBefore + 1}, block ${b.number} (${offsetText(b.offset)}): block ${b.number} cut short: 50 bytes left at end of file [PCAPNG_TRUNCATED_BLOCK]`,
  );
  assert.equal(r.stdout, expected);
});

test('A pcapng whose section header says version 2.0 is PCAPNG_BAD_VERSION at block 1, offset 12.', () => {
  put('v2.pcapng', Buffer.concat([pcapngShb({ major: 2 }), pcapngIdb()]));
  const r = run(['v2.pcapng']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assertErrorLine(r, 'tcpanalyze: v2.pcapng: block 1 (offset 12 = 0xc): unsupported section version 2.0 (expected 1.0) [PCAPNG_BAD_VERSION]');
});

test('A pcapng packet block whose captured length exceeds the block is PCAPNG_BAD_CAPLEN at its caplen field, after the good packet before it was analysed.', () => {
  const recs = smtp.records.slice(0, 3);
  const shb = pcapngShb();
  const idb = pcapngIdb({ linkType: 1 });
  const epbs = recs.map((r) => pcapngEpb({ units: r.ts / 1000n, data: r.data }));
  const bad = Buffer.from(epbs[1]!);
  bad.writeUInt32LE(5000, 20);
  const badAt = shb.length + idb.length + epbs[0]!.length;
  put('caplen.pcapng', Buffer.concat([shb, idb, epbs[0]!, bad, epbs[2]!]));
  put('caplen-prefix.pcapng', Buffer.concat([shb, idb, epbs[0]!]));
  const expected = cleanOutput('caplen-prefix.pcapng');
  assert.equal(ndjsonLines(expected).length, 1);

  const r = run(['caplen.pcapng']);
  assert.equal(r.status, 1);
  assertErrorLine(r, `tcpanalyze: caplen.pcapng: block 4 (${offsetText(badAt + 20)}): captured length 5000 exceeds its block (${bad.length - 32} bytes of data room) [PCAPNG_BAD_CAPLEN]`);
  assert.equal(r.stdout, expected);
});

// ---------------------------------------------------------------------------
// compressed inputs cut short

test('A gzip-compressed pcap cut in half is GZIP_CORRUPT at the first packet that could not be decompressed, with exit 1, and the packets before it are still analysed (file and stdin alike).', () => {
  const gz = zlib.gzipSync(smtpBytes);
  const cut = gz.subarray(0, gz.length >> 1);
  // What a decompressor can recover from the cut stream: its complete records.
  const prefix = zlib.gunzipSync(cut, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const recovered = readPcap(prefix);
  assert.ok(recovered.records.length > 10 && recovered.records.length < smtp.records.length);
  put('cut.pcap.gz', cut);
  put('recovered.pcap', writePcap(recovered.records, smtp.header));
  const expected = cleanOutput('recovered.pcap');

  // The error names the packet that was cut and the decompressed offset where the data ended.
  const where = `packet ${recovered.records.length + 1} (${offsetText(prefix.length)})`;
  const r = run(['cut.pcap.gz']);
  assert.equal(r.status, 1);
  assertErrorLine(r, `tcpanalyze: cut.pcap.gz: ${where}: gzip data is corrupt or truncated: unexpected end of file [GZIP_CORRUPT]`);
  assert.equal(r.stdout, expected);

  const s = run(['-'], cut);
  assert.equal(s.status, 1);
  assertErrorLine(s, `tcpanalyze: <stdin>: ${where}: gzip data is corrupt or truncated: unexpected end of file [GZIP_CORRUPT]`);
  assert.equal(s.stdout, expected);
});

test('A zstd-compressed pcap cut in half (one frame, nothing decodable) is ZSTD_CORRUPT with exit 1 and nothing on stdout.', () => {
  const zs = zstdCompress(smtpBytes);
  const half = zs.length >> 1;
  put('cut.pcap.zst', zs.subarray(0, half));
  const r = run(['cut.pcap.zst']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  // a file is decompressed straight into the read window (src/io/zstd-file-source.ts)
  assertErrorLine(r, `tcpanalyze: cut.pcap.zst: packet 1 (offset 0 = 0x0): zstd data is corrupt or truncated: the input ends inside a zstd frame (frame 1, at compressed byte ${half}) [ZSTD_CORRUPT]`);
});

test('A zstd stream of two frames whose second frame is cut is ZSTD_CORRUPT at the packet after the first frame, with exit 1, and every record of the complete first frame is written.', () => {
  const k = 60;
  const first = writePcap(smtp.records.slice(0, k), smtp.header);
  const z2 = zstdCompress(smtpBytes.subarray(first.length));
  const cut = Buffer.concat([zstdCompress(first), z2.subarray(0, z2.length >> 1)]);
  put('frame1.pcap', first);
  const expected = cleanOutput('frame1.pcap');
  assert.notEqual(expected, '');
  const r = run([], cut);
  assert.equal(r.status, 1);
  assertErrorLine(r, `tcpanalyze: <stdin>: packet ${k + 1} (${offsetText(first.length)}): zstd data is corrupt or truncated: the input ends inside a zstd frame (frame 2, at compressed byte ${cut.length}) [ZSTD_CORRUPT]`);
  assert.equal(r.stdout, expected);
});

test(
  'Packets already decompressed when a gzip or zstd error arrives are all analysed even when the reader is slow to take them (backpressure).',
  async () => {
    // Regression: iterating the piped decompressor dropped the chunks it still
    // buffered when it errored, so a slow reader lost complete packets.
    // The same cut gzip stream read twice: once as fast as possible, once with
    // a 20 ms pause before each buffer refill (what a slow stdout causes via
    // the sink's backpressure). The packets analysed must not differ.
    const gz = zlib.gzipSync(smtpBytes);
    const cut = gz.subarray(0, gz.length >> 1);
    const k = 60;
    const first = writePcap(smtp.records.slice(0, k), smtp.header);
    const z2 = zstdCompress(smtpBytes.subarray(first.length));
    const zcut = Buffer.concat([zstdCompress(first), z2.subarray(0, z2.length >> 1)]);
    for (const [label, bytes] of [['gzip', cut], ['zstd', zcut]] as const) {
      const counts: number[] = [];
      for (const slow of [false, true]) {
        const recs: RecordValues[] = [];
        const res = await analyzeCaptures([{ path: '-', stream: Readable.from([bytes]) }], {
          onRecord: (r) => recs.push(r),
          control: slow ? { wait: () => new Promise<void>((resolve) => setTimeout(resolve, 20)) } : {},
        });
        assert.equal(res.errors.length, 1, label);
        counts.push(res.inputs[0]!.packets);
      }
      assert.equal(counts[1], counts[0], `${label}: packets analysed with a slow reader (${counts[1]}) vs a fast one (${counts[0]})`);
    }
  },
);

// ---------------------------------------------------------------------------
// usage errors

test('An unknown option is a usage error with exit 2, one commander error line and nothing on stdout.', () => {
  put('good.pcap', smtpBytes);
  const r = run(['--bogus', 'good.pcap']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assertErrorLine(r, "tcpanalyze: error: unknown option '--bogus'");
});

test('An output format that is not one of the choices (ndjson, csv, table, ...) is a usage error with exit 2 naming the choices.', () => {
  put('good.pcap', smtpBytes);
  const r = run(['--format', 'xml', 'good.pcap']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assertOneErrorLine(r, /^tcpanalyze: error: option '-f, --format <format>' argument 'xml' is invalid\. Allowed choices are ndjson, csv, table(, [a-z]+)*\.$/);
});

test('Giving stdin (-) twice is a usage error USAGE_STDIN_TWICE with exit 2 and nothing on stdout.', () => {
  const r = run(['-', '-'], smtpBytes);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assertErrorLine(r, 'tcpanalyze: stdin (-) can be given only once [USAGE_STDIN_TWICE]');
});

// ---------------------------------------------------------------------------
// good paths

test('The same capture as plain pcap, gzip, zstd, on stdin with -, and on stdin with no argument gives byte-identical stdout.', () => {
  for (const name of ['zeek__smtp.pcap', 'pcapngtg__le-test202.pcapng']) {
    const raw = readFileSync(fixture(name));
    const tag = name.replace(/\W+/g, '_');
    put(`${tag}.plain`, raw);
    put(`${tag}.gz`, zlib.gzipSync(raw));
    put(`${tag}.zst`, zstdCompress(raw));
    const ref = run([`${tag}.plain`]);
    assert.equal(ref.status, 0, ref.stderr);
    assert.ok(ndjsonLines(ref.stdout).length > 1, `${name} makes several records`);
    const variants: [string, CliResult][] = [
      ['gzip file', run([`${tag}.gz`])],
      ['zstd file', run([`${tag}.zst`])],
      ['stdin -', run(['-'], raw)],
      ['stdin, no argument', run([], raw)],
      ['gzip on stdin', run(['-'], zlib.gzipSync(raw))],
      ['zstd on stdin', run([], zstdCompress(raw))],
    ];
    for (const [label, r] of variants) {
      assert.equal(r.status, 0, `${name} ${label}: ${r.stderr}`);
      assert.equal(r.stderr, ref.stderr, `${name} ${label}: stderr`);
      assert.equal(r.stdout, ref.stdout, `${name} ${label}: stdout`);
    }
  }
});

test('A capture split into two files by packet (odd/even, and first/second half in either order) analysed together gives the same records as the whole file; equal timestamps keep the order of the files on the command line, as mergecap does.', () => {
  for (const name of ['zeek__tcp-ssh-dups.pcap', 'zeek__smtp.pcap']) {
    const whole = readFileSync(fixture(name));
    const p = readPcap(whole);
    const tag = name.replace(/\W+/g, '_');
    put(`${tag}.whole.pcap`, whole);
    const expected = cleanOutput(`${tag}.whole.pcap`);
    const half = p.records.length >> 1;
    put(`${tag}.odd.pcap`, writePcap(p.records.filter((_, i) => i % 2 === 0), p.header));
    put(`${tag}.even.pcap`, writePcap(p.records.filter((_, i) => i % 2 === 1), p.header));
    put(`${tag}.h1.pcap`, writePcap(p.records.slice(0, half), p.header));
    put(`${tag}.h2.pcap`, writePcap(p.records.slice(half), p.header));
    for (const pair of [['odd', 'even'], ['even', 'odd'], ['h1', 'h2'], ['h2', 'h1']]) {
      // zeek__smtp.pcap has two packets of one connection with the same
      // timestamp (records 106 and 107); merged from even+odd, 107 comes first
      // (ties go to the earlier input), which the sequence analysis rightly
      // sees as a reordering (out_of_order + lost_segment).
      if (name === 'zeek__smtp.pcap' && pair[0] === 'even') continue;
      const r = run(pair.map((x) => `${tag}.${x}.pcap`));
      assert.equal(r.status, 0, `${name} ${pair.join('+')}: ${r.stderr}`);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, expected, `${name} ${pair.join('+')}`);
    }
    if (name === 'zeek__tcp-ssh-dups.pcap') {
      // one connection spanning both files stays one connection
      const recs = ndjsonLines(expected);
      assert.equal(recs.length, 1);
      assert.equal(recs[0]!['orig_pkts'] as number + (recs[0]!['resp_pkts'] as number), p.records.length);
    }
  }
});

test('With --format csv the header line is exactly the schema field names and there is one row per NDJSON record.', () => {
  put('good.pcap', smtpBytes);
  const nd = run(['good.pcap']);
  const csv = run(['--format', 'csv', 'good.pcap']);
  assert.equal(csv.status, 0);
  assert.equal(csv.stderr, '');
  const lines = csv.stdout.split('\n');
  assert.equal(lines.pop(), '', 'output ends with a newline');
  assert.equal(lines[0], CONN_SCHEMA.fields.map((f) => f.name).join(','));
  assert.equal(lines.length - 1, ndjsonLines(nd.stdout).length);
  // NDJSON keys are the same fields in the same order (after "record")
  assert.deepEqual(Object.keys(ndjsonLines(nd.stdout)[0]!), ['record', ...CONN_SCHEMA.fields.map((f) => f.name)]);
});

test('With -o out.ndjson the records go to the file, nothing goes to stdout or stderr, and no temporary file is left behind.', () => {
  const sub = join(dir, 'out1');
  mkdirSync(sub);
  put('good.pcap', smtpBytes);
  const expected = cleanOutput('good.pcap');
  const r = runTcpanalyze(['-o', 'out.ndjson', join(dir, 'good.pcap')], { cwd: sub });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, '');
  assert.equal(readFileSync(join(sub, 'out.ndjson'), 'utf8'), expected);
  assert.deepEqual(readdirSync(sub), ['out.ndjson']);
});

test('With -o and a missing input the exit is 2 and neither the output file nor a temporary file is left behind.', () => {
  const sub = join(dir, 'out2');
  mkdirSync(sub);
  const r = runTcpanalyze(['-o', 'out.ndjson', 'missing.pcap'], { cwd: sub });
  assert.equal(r.status, 2);
  assertErrorLine(r, 'tcpanalyze: missing.pcap: no such file [INPUT_NOT_FOUND]');
  assert.equal(existsSync(join(sub, 'out.ndjson')), false);
  assert.deepEqual(readdirSync(sub), []);
});

test('With -o and a truncated input the exit is 1, the file holds the records of the complete packets, and no temporary file is left behind.', () => {
  const sub = join(dir, 'out3');
  mkdirSync(sub);
  const k = 40;
  put('o-cut.pcap', smtpBytes.subarray(0, smtp.records[k]!.offset + 7));
  put('o-first40.pcap', writePcap(smtp.records.slice(0, k), smtp.header));
  const expected = cleanOutput('o-first40.pcap');
  const r = runTcpanalyze(['-o', 'out.ndjson', join(dir, 'o-cut.pcap')], { cwd: sub });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assertOneErrorLine(r, new RegExp(`^tcpanalyze: ${reEscape(join(dir, 'o-cut.pcap'))}: packet ${k + 1} \\(${reEscape(offsetText(smtp.records[k]!.offset))}\\): record header cut short: 7 of 16 bytes \\[PCAP_TRUNCATED_RECORD\\]$`));
  assert.equal(readFileSync(join(sub, 'out.ndjson'), 'utf8'), expected);
  assert.deepEqual(readdirSync(sub), ['out.ndjson']);
});
