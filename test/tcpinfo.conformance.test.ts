/**
 * Conformance with m-lab's Go csvtool (fixtures/tcpinfo, see SOURCES.md):
 * whole CSV outputs compared byte for byte, in-process (the CLI has its own
 * tests). Where the Go tool fails, the expected result is one error with a
 * stable code at the right line, and the rows of the lines before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { openInput } from '../src/io/input.js';
import { LineReader } from '../src/io/lines.js';
import { ToolError } from '../src/util/errors.js';
import { TextSink } from '../src/io/sink.js';
import { archiveToCsv, checkArchiveCompression } from '../src/tcpinfo/convert.js';
import { CSV_HEADER } from '../src/tcpinfo/csv.js';

const FIX = new URL('../../fixtures/tcpinfo/', import.meta.url).pathname;

interface Converted {
  out: Buffer;
  error: ToolError | null;
}

/** Runs the converter on a file (path) or bytes (stdin-like), collecting stdout bytes and the error. */
async function convert(src: { path: string } | { bytes: Buffer; name?: string }, skipBad = false): Promise<Converted> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  let error: ToolError | null = null;
  try {
    const input =
      'path' in src
        ? await openInput({ path: src.path, windowSize: 1 << 12 })
        : await openInput({ stream: Readable.from([src.bytes]), name: src.name ?? '<stdin>', windowSize: 1 << 12 });
    try {
      checkArchiveCompression(input, 'path' in src ? src.path : undefined);
      await archiveToCsv(new LineReader(input.window), new TextSink(out), { name: input.name, skipBad });
    } finally {
      await input.window.close();
    }
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    error = e;
  }
  return { out: Buffer.concat(chunks), error };
}

function assertSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  const a = actual.toString('latin1').split('\n');
  const e = expected.toString('latin1').split('\n');
  const i = a.findIndex((l, k) => l !== e[k]);
  assert.fail(`${what}: output differs (${actual.length} vs ${expected.length} bytes); first different line ${i + 1}:\n  got  ${a[i]}\n  want ${e[i]}`);
}

const REPO = ['archiveRecords.jsonl', 'finwait2-sample_1554836592_unsafe_000000000135A272.00000.jsonl', 'ndt-7hhhv_1559749627_0000000000062D84.00000.jsonl', 'ndt-jdczh_1553815964_00000000000003E8.00183.jsonl', 'ndt-jdczh_1553815964_00000000000003E8.00185.jsonl'];

for (const name of REPO) {
  test(`the CSV of the tcp-info repository archive ${name} is byte-identical to the Go csvtool's`, async () => {
    const r = await convert({ path: join(FIX, 'repo', `${name}.zst`) });
    assert.equal(r.error, null);
    assertSameBytes(r.out, readFileSync(join(FIX, 'repo-golden', `${name}.csv`)), name);
  });
}

/** Minimal ustar reader: [name, bytes] of every regular file. */
function untar(tar: Buffer): [string, Buffer][] {
  const files: [string, Buffer][] = [];
  let p = 0;
  while (p + 512 <= tar.length && tar[p] !== 0) {
    const field = (o: number, n: number): string => tar.toString('latin1', p + o, p + o + n).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const prefix = field(345, 155);
    const name = (prefix ? prefix + '/' : '') + field(0, 100);
    const type = String.fromCharCode(tar[p + 156]!);
    if (type === '0' || type === '\0') files.push([name, tar.subarray(p + 512, p + 512 + size)]);
    p += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

test('all 364 archives of the m-lab/etl tarball convert; the 2 zero-byte ones give TCPINFO_EMPTY_ZST; the 122 with a Go golden are byte-identical', async () => {
  const tgz = readdirSync(join(FIX, 'etl')).find((f) => f.endsWith('.tgz'))!;
  const files = untar(gunzipSync(readFileSync(join(FIX, 'etl', tgz))));
  assert.equal(files.length, 364);
  const manifest = new Map(
    readFileSync(join(FIX, 'etl', 'golden', 'MANIFEST.tsv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
      .map(([p, rc]) => [p!.split('/').pop()!.replace(/\.zst$/, ''), Number(rc)] as const),
  );
  const dir = mkdtempSync(join(tmpdir(), 'tcpinfo-etl-'));
  const summary = { converted: 0, emptyZst: [] as string[], otherErrors: [] as string[], identical: 0, different: [] as string[] };
  try {
    for (const [name, bytes] of files) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
      const r = await convert({ path });
      const base = name.split('/').pop()!.replace(/\.zst$/, '');
      if (r.error) {
        if (r.error.code === 'TCPINFO_EMPTY_ZST' && bytes.length === 0) summary.emptyZst.push(base);
        else summary.otherErrors.push(`${base}: ${r.error.describe()}`);
      } else {
        summary.converted++;
      }
      if (manifest.has(base)) {
        const golden = readFileSync(join(FIX, 'etl', 'golden', `${base}.csv`));
        const expectedOut = manifest.get(base) === 0 ? golden : Buffer.alloc(0);
        if ((manifest.get(base) === 0) === (r.error === null) && r.out.equals(expectedOut)) summary.identical++;
        else if (manifest.get(base) !== 0 && r.error?.code === 'TCPINFO_EMPTY_ZST' && r.out.length === 0) summary.identical++;
        else summary.different.push(base);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(summary, {
    converted: 362,
    emptyZst: ['ndt-q5zbq_1555433454_0000000000002E1E.00000.jsonl', 'ndt-q5zbq_1555433454_0000000000002DEE.00000.jsonl'],
    otherErrors: [],
    identical: 122,
    different: [],
  });
});

// ---------------------------------------------------------------------------
// edge cases
// ---------------------------------------------------------------------------

const EDGE = join(FIX, 'edgecases');
const CASES = readdirSync(join(EDGE, 'in'))
  .filter((f) => f.endsWith('.jsonl'))
  .map((f) => f.slice(0, -'.jsonl'.length))
  .sort();

/**
 * The cases where the Go tool fails (exit 1, or 2 for its panic): the code
 * and line of tcpkit's error. Rows before that line are still written.
 */
const GO_FAILURES: Record<string, [string, number]> = {
  attributes_without_rawidm: ['TCPINFO_EMPTY_RECORD', 1],
  bad_json: ['TCPINFO_BAD_JSON', 2],
  base64_missing_padding_attr: ['TCPINFO_BAD_BASE64', 1],
  base64_urlsafe_chars: ['TCPINFO_BAD_BASE64', 1],
  blank_line: ['TCPINFO_BAD_JSON', 2],
  cong_zero_length: ['TCPINFO_EMPTY_CONG', 1],
  empty_object: ['TCPINFO_EMPTY_RECORD', 1],
  empty_rawidm_string: ['TCPINFO_SHORT_RAWIDM', 1],
  json_array_not_object: ['TCPINFO_BAD_TYPE', 1],
  json_null_line: ['TCPINFO_EMPTY_RECORD', 1],
  metadata_bad_starttime: ['TCPINFO_BAD_TIME', 1],
  metadata_sequence_float: ['TCPINFO_BAD_TYPE', 1],
  metadata_sequence_string: ['TCPINFO_BAD_TYPE', 1],
  short_rawidm: ['TCPINFO_SHORT_RAWIDM', 1],
  timestamp_only: ['TCPINFO_EMPTY_RECORD', 1],
  trailing_garbage_after_object: ['TCPINFO_BAD_JSON', 1],
  ts_hour_24: ['TCPINFO_BAD_TIME', 1],
  ts_leap_second: ['TCPINFO_BAD_TIME', 1],
  ts_lowercase_z: ['TCPINFO_BAD_TIME', 1],
  ts_offset_no_colon: ['TCPINFO_BAD_TIME', 1],
  ts_space_sep: ['TCPINFO_BAD_TIME', 1],
  ts_year_10000: ['TCPINFO_BAD_TIME', 1],
  two_objects_one_line: ['TCPINFO_BAD_JSON', 1],
};

/** Go silently stops at a line of >= 64 KiB; tcpkit reads it. Extra rows (copies of one_record's) after Go's output. */
const LONG_LINE_EXTRA_ROWS: Record<string, number> = { line_len_65536: 2, long_line_70k: 2 };

test('the edge-case inputs are the 93 of the conformance set (SUMMARY.tsv), 23 of which make the Go tool fail', () => {
  assert.equal(CASES.length, 93);
  const failing = CASES.filter((c) => readFileSync(join(EDGE, 'out', `${c}.rc`), 'utf8').trim() !== '0');
  assert.deepEqual(failing, Object.keys(GO_FAILURES).sort());
});

test('every edge case where the Go tool succeeds gives its exact CSV (long lines: its CSV plus the rows of the lines it dropped)', async () => {
  const oneRow = readFileSync(join(EDGE, 'out', 'one_record.csv')).subarray(CSV_HEADER.length);
  const mismatches: string[] = [];
  for (const c of CASES) {
    if (GO_FAILURES[c]) continue;
    const r = await convert({ bytes: readFileSync(join(EDGE, 'in', `${c}.jsonl`)) });
    const golden = readFileSync(join(EDGE, 'out', `${c}.csv`));
    const expected = Buffer.concat([golden, ...Array<Buffer>(LONG_LINE_EXTRA_ROWS[c] ?? 0).fill(oneRow)]);
    if (r.error) mismatches.push(`${c}: ${r.error.describe()}`);
    else if (!r.out.equals(expected)) mismatches.push(`${c}: output differs`);
  }
  assert.deepEqual(mismatches, []);
});

test('every edge case where the Go tool fails gives one error with the expected code and line, after the rows of the lines before it', async () => {
  const got: Record<string, [string, number]> = {};
  for (const c of Object.keys(GO_FAILURES)) {
    const input = readFileSync(join(EDGE, 'in', `${c}.jsonl`));
    const r = await convert({ bytes: input });
    assert.ok(r.error, `${c} fails`);
    got[c] = [r.error.code, r.error.context.line ?? 0];
    // The rows already written are exactly the conversion of the lines before the bad one;
    // a bad first line leaves nothing, not even the header (it goes out with the first good row).
    const before = input.toString('latin1').split('\n').slice(0, (r.error.context.line ?? 1) - 1);
    const prefix = await convert({ bytes: Buffer.from(before.map((l) => l + '\n').join(''), 'latin1') });
    assert.equal(prefix.error, null);
    if (before.length === 0) assert.equal(r.out.length, 0, `${c}: nothing before a bad first line`);
    else assertSameBytes(r.out, prefix.out, c);
    assert.equal(r.error.context.file, '<stdin>');
  }
  assert.deepEqual(got, GO_FAILURES);
});

test('the rows written before a bad line are the Go rows of those lines (bad_json: the Metadata row)', async () => {
  const r = await convert({ bytes: readFileSync(join(EDGE, 'in', 'bad_json.jsonl')) });
  assertSameBytes(r.out, readFileSync(join(EDGE, 'out', 'metadata_only.csv')), 'bad_json');
  assert.equal(r.error?.describe(), '<stdin>: line 2 (offset 151 = 0x97): invalid JSON: unexpected end of JSON input [TCPINFO_BAD_JSON]');
});

test('with skipBad every failing edge case is skipped and counted, and the other lines are converted', async () => {
  const input = Buffer.concat(
    ['metadata_only', 'base64_missing_padding_attr', 'one_record', 'cong_zero_length', 'short_rawidm', 'one_record'].map((c) => readFileSync(join(EDGE, 'in', `${c}.jsonl`))),
  );
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  const input2 = await openInput({ stream: Readable.from([input]), name: 'mixed.jsonl' });
  const res = await archiveToCsv(new LineReader(input2.window), new TextSink(out), { name: 'mixed.jsonl', skipBad: true });
  const oneRow = readFileSync(join(EDGE, 'out', 'one_record.csv')).subarray(CSV_HEADER.length);
  assertSameBytes(Buffer.concat(chunks), Buffer.concat([readFileSync(join(EDGE, 'out', 'metadata_only.csv')), oneRow, oneRow]), 'skip-bad');
  assert.deepEqual(
    { lines: res.lines, rows: res.rows, skipped: res.skipped, byCode: res.skippedByCode, first: res.firstSkipped?.describe() },
    {
      lines: 6,
      rows: 3,
      skipped: 3,
      byCode: { TCPINFO_BAD_BASE64: 1, TCPINFO_EMPTY_CONG: 1, TCPINFO_SHORT_RAWIDM: 1 },
      first: 'mixed.jsonl: line 2 (offset 151 = 0x97): illegal base64 data at input byte 20 in Attributes[1] [TCPINFO_BAD_BASE64]',
    },
  );
});
