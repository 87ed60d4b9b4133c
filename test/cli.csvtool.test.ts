/**
 * The csvtool command (cli/csvtool.ts) as a user runs it: files and stdin,
 * zstd by content, concatenated frames, exit codes 0/1/2, one-line errors,
 * --skip-bad, --help/--version, `| head`, and tcpkit NDJSON records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress, decompress } from './_zstd.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CSVTOOL = join(ROOT, 'dist', 'cli', 'csvtool.js');
const TCPANALYZE = join(ROOT, 'dist', 'cli', 'tcpanalyze.js');
const FIX = join(ROOT, 'fixtures', 'tcpinfo');
const NDT = 'ndt-jdczh_1553815964_00000000000003E8.00183.jsonl';
const NDT_ZST = join(FIX, 'repo', `${NDT}.zst`);
const NDT_CSV = readFileSync(join(FIX, 'repo-golden', `${NDT}.csv`));
const FIN = 'finwait2-sample_1554836592_unsafe_000000000135A272.00000.jsonl';

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(args: string[], input?: Buffer | string): Run {
  const r = spawnSync(process.execPath, [CSVTOOL, ...args], { input, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function withTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'csvtool-cli-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('csvtool FILE.zst, csvtool - < FILE.zst, and plain JSONL on stdin all print the Go csvtool CSV with exit 0 and nothing on stderr', () => {
  const plain = decompress(readFileSync(NDT_ZST));
  for (const r of [run([NDT_ZST]), run(['-'], readFileSync(NDT_ZST)), run([], plain)]) {
    assert.deepEqual({ status: r.status, stderr: r.stderr, same: r.stdout.equals(NDT_CSV) }, { status: 0, stderr: '', same: true });
  }
});

test('concatenated zstd frames without content size (two archives) on stdin give the header once and the rows of both', () => {
  const both = Buffer.concat([readFileSync(NDT_ZST), readFileSync(join(FIX, 'repo', `${FIN}.zst`))]);
  // Both were written by the zstd CLI from a pipe: frames without a content size (descriptor bits 7-6 = 0).
  assert.deepEqual([readFileSync(NDT_ZST)[4]! >> 6, readFileSync(join(FIX, 'repo', `${FIN}.zst`))[4]! >> 6], [0, 0]);
  const r = run([], both);
  const fin = readFileSync(join(FIX, 'repo-golden', `${FIN}.csv`));
  const header = NDT_CSV.indexOf(10) + 1;
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.equals(Buffer.concat([NDT_CSV, fin.subarray(header)])));
});

test('a bad line stops with exit 1 and one stderr line naming file, line, offset and problem; the rows before it are on stdout', () => {
  withTemp((dir) => {
    const lines = decompress(readFileSync(NDT_ZST)).toString('latin1').split('\n');
    lines[2] = lines[2]!.replace('"Attributes":[null,"', '"Attributes":[null,"!');
    const file = join(dir, 'archive.jsonl');
    writeFileSync(file, lines.join('\n'), 'latin1');
    const r = run([file]);
    const offset = lines[0]!.length + lines[1]!.length + 2;
    assert.deepEqual(
      { status: r.status, stderr: r.stderr, stdout: r.stdout.toString('latin1') },
      {
        status: 1,
        stderr: `csvtool: ${file}: line 3 (offset ${offset} = 0x${offset.toString(16)}): illegal base64 data at input byte 0 in Attributes[1] [TCPINFO_BAD_BASE64]\n`,
        stdout: NDT_CSV.toString('latin1').split('\n').slice(0, 3).join('\n') + '\n',
      },
    );
  });
});

test('--skip-bad skips and counts the bad lines, converts the rest, and exits 0', () => {
  const lines = decompress(readFileSync(NDT_ZST)).toString('latin1').split('\n');
  const good = NDT_CSV.toString('latin1').split('\n');
  lines[5] = '{"Timestamp":';
  lines[9] = '{}';
  const r = run(['--skip-bad'], Buffer.from(lines.join('\n'), 'latin1'));
  const off = lines.slice(0, 5).join('\n').length + 1;
  assert.deepEqual(
    { status: r.status, stderr: r.stderr, stdout: r.stdout.toString('latin1') },
    {
      status: 0,
      stderr:
        `csvtool: <stdin>: skipped 2 bad lines of 151 (1 TCPINFO_BAD_JSON, 1 TCPINFO_EMPTY_RECORD); first: <stdin>: line 6 (offset ${off} = 0x${off.toString(16)}): invalid JSON: unexpected end of JSON input [TCPINFO_BAD_JSON]\n`,
      stdout: good.filter((_, i) => i !== 6 && i !== 10).join('\n'),
    },
  );
});

test('a zero-byte .zst file (as in the m-lab/etl tarball) is a clear data error, exit 1', () => {
  withTemp((dir) => {
    const file = join(dir, 'ndt-q5zbq_1555433454_0000000000002E1E.00000.jsonl.zst');
    writeFileSync(file, '');
    const r = run([file]);
    assert.deepEqual(
      { status: r.status, stderr: r.stderr, stdout: r.stdout.toString() },
      { status: 1, stderr: `csvtool: ${file}: empty file: a .zst archive must hold at least one zstd frame (0 bytes; Go csvtool: ZSTD error) [TCPINFO_EMPTY_ZST]\n`, stdout: '' },
    );
  });
});

test('a truncated .zst keeps the rows decoded before the damage and exits 1 with one line', () => {
  withTemp((dir) => {
    const big = join(FIX, 'repo', 'ndt-7hhhv_1559749627_0000000000062D84.00000.jsonl.zst');
    const file = join(dir, 'truncated.jsonl.zst');
    writeFileSync(file, readFileSync(big).subarray(0, 40000));
    const r = run([file]);
    const golden = readFileSync(join(FIX, 'repo-golden', 'ndt-7hhhv_1559749627_0000000000062D84.00000.jsonl.csv'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^csvtool: \S+truncated\.jsonl\.zst: zstd data is corrupt or truncated: .* \(after line \d+\) \[ZSTD_CORRUPT\]\n$/);
    assert.ok(r.stdout.length > 100_000, 'rows before the damage are written');
    assert.ok(golden.subarray(0, r.stdout.length).equals(r.stdout), 'and they are the Go rows');
  });
});

test('usage errors exit 2 with one message: unknown option, two files, bad --kind; a missing file is named', () => {
  const results = [run(['--bogus']), run(['a', 'b']), run(['--kind', 'xml']), run(['/nonexistent/archive.jsonl.zst'])].map((r) => [r.status, r.stderr, r.stdout.length]);
  assert.deepEqual(results, [
    [2, "csvtool: error: unknown option '--bogus'\n", 0],
    [2, 'csvtool: error: too many arguments. Expected 1 argument but got 2.\n', 0],
    [2, "csvtool: error: option '--kind <kind>' argument 'xml' is invalid. Allowed choices are auto, tcpinfo, tcpkit.\n", 0],
    [2, 'csvtool: /nonexistent/archive.jsonl.zst: no such file [INPUT_NOT_FOUND]\n', 0],
  ]);
});

test('--help lists every option with its default and examples; --version prints the version; both exit 0', () => {
  const help = run(['--help']);
  const version = run(['--version']);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.deepEqual([help.status, version.status, version.stdout.toString()], [0, 0, `csvtool (tcpkit) ${pkg.version}\n`]);
  assert.equal(
    help.stdout.toString(),
    `Usage: csvtool [options] [file]

Convert m-lab tcp-info archives (JSONL, plain or zstd-compressed) to CSV on
stdout, byte-identical to m-lab's Go csvtool; also tcpkit NDJSON records
(tcpanalyze output) to CSV. The first line decides which kind the input is.

Arguments:
  file                   archive or NDJSON file, plain or zstd/gzip (detected by
                         content); none or - reads stdin

Options:
  -V, --version          print the version and exit
  --skip-bad             skip lines that cannot be decoded, count them on stderr
                         and exit 0 (without it: stop at the first bad line,
                         exit 1) (default: false)
  --max-line <bytes>     longest input line held (suffixes k, m, g); a longer
                         line is a bad line, skipped as it streams by without
                         being held in memory (default: "1m")
  --kind <kind>          input kind: auto (decided by the first line), tcpinfo
                         or tcpkit (choices: "auto", "tcpinfo", "tcpkit",
                         default: "auto")
  --no-header            leave out the CSV header line (default: header on)
  -f, --format <format>  output format: csv, or parquet (typed columns,
                         compressed; tcp-info snapshots in csvtool's columns
                         plus the archive's UUID, metadata lines left out)
                         (default: parquet when -o ends in .parquet) (choices:
                         "csv", "parquet")
  -o, --output <file>    write to FILE instead of stdout (temporary name,
                         renamed when complete)
  --records <kind>       tcpkit records of several kinds (tcpanalyze --decode):
                         convert those of this kind (conn, http, ...) and skip
                         the others
  -h, --help             print this help and exit

Examples:
  csvtool ndt-jdczh_1553815964_00000000000003E8.00183.jsonl.zst > snapshots.csv
  zstd -dc archive.jsonl.zst | csvtool > snapshots.csv
  csvtool --skip-bad damaged.jsonl.zst | head
  tcpanalyze capture.pcap | csvtool > conns.csv
Exit status: 0 ok, 1 data error (rows before the bad line are kept), 2 usage error.
Differences from m-lab's Go csvtool: docs/csvtool.md.
`,
  );
});

test('csvtool FILE | head -1 exits 0 under pipefail with just the header and nothing on stderr', () => {
  const big = join(FIX, 'repo', 'ndt-7hhhv_1559749627_0000000000062D84.00000.jsonl.zst');
  for (let i = 0; i < 3; i++) {
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${shq(process.execPath)} ${shq(CSVTOOL)} ${shq(big)} | head -1`]);
    assert.deepEqual([r.status, r.stderr.toString(), r.stdout.toString()], [0, '', NDT_CSV.toString('latin1').split('\n')[0] + '\n']);
  }
});

test('--no-header leaves out the header line only', () => {
  const r = run(['--no-header', NDT_ZST]);
  assert.equal(r.status, 0);
  assert.ok(r.stdout.equals(NDT_CSV.subarray(NDT_CSV.indexOf(10) + 1)));
});

test("tcpkit NDJSON from tcpanalyze (plain or zstd) becomes the same CSV tcpanalyze writes itself", () => {
  for (const pcap of ['deepflow__ip-fragment.pcap', 'deepflow__out-of-order.pcap', 'deepflow__client-keep-alive.pcap']) {
    const path = join(ROOT, 'fixtures', 'pcaps', pcap);
    const nd = spawnSync(process.execPath, [TCPANALYZE, '--format', 'ndjson', path], { maxBuffer: 1 << 26 });
    const csv = spawnSync(process.execPath, [TCPANALYZE, '--format', 'csv', path], { maxBuffer: 1 << 26 });
    assert.equal(nd.status, 0, nd.stderr.toString());
    for (const input of [nd.stdout, compress(nd.stdout)]) {
      const r = run([], input);
      assert.deepEqual([r.status, r.stderr, r.stdout.toString()], [0, '', csv.stdout.toString()], pcap);
    }
  }
});

test('mixed input is refused with a clear message: a tcpkit record in an archive, and an archive line in tcpkit NDJSON', () => {
  const archive = decompress(readFileSync(NDT_ZST)).toString('latin1').split('\n').slice(0, 3);
  const record = '{"record":"conn","uid":"C1"}';
  const a = run([], [...archive, record, ''].join('\n'));
  const b = run([], [record, archive[1], ''].join('\n'));
  assert.deepEqual(
    [a.status, a.stderr, b.status, b.stderr],
    [
      1,
      `csvtool: <stdin>: line 4 (offset ${archive.join('\n').length + 1} = 0x${(archive.join('\n').length + 1).toString(16)}): a tcpkit record (key "record") in a tcp-info archive: mixed input is not supported [TCPINFO_MIXED_INPUT]\n`,
      1,
      'csvtool: <stdin>: line 2 (offset 29 = 0x1d): a tcp-info archive record in tcpkit NDJSON: mixed input is not supported [CSVTOOL_MIXED_INPUT]\n',
    ],
  );
});

test('an empty input gives the header only, as the Go tool does', () => {
  const r = run([], '');
  assert.deepEqual([r.status, r.stderr, r.stdout.toString()], [0, '', NDT_CSV.toString('latin1').split('\n')[0] + '\n']);
});

test('the usage examples in docs/csvtool.md run and exit 0', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'csvtool.md'), 'utf8');
  const block = /<!-- examples:csvtool -->\n```sh\n([\s\S]*?)```\n<!-- \/examples:csvtool -->/.exec(doc);
  assert.ok(block, 'docs/csvtool.md has the examples block');
  const commands = block[1]!.trim().split('\n');
  assert.ok(commands.length >= 4);
  const prelude = `csvtool() { ${shq(process.execPath)} ${shq(CSVTOOL)} "$@"; }; tcpanalyze() { ${shq(process.execPath)} ${shq(TCPANALYZE)} "$@"; };`;
  const failed = commands.filter((c) => spawnSync('bash', ['-o', 'pipefail', '-c', `${prelude} ${c}`], { cwd: ROOT }).status !== 0);
  assert.deepEqual(failed, []);
});

test('after a bad line csvtool exits at once even though the writer of its stdin pipe is still running', async () => {
  const child = spawn(process.execPath, [CSVTOOL], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.write(readFileSync(join(FIX, 'edgecases', 'in', 'bad_json.jsonl')));
  // stdin stays open: a `tail -f archive | csvtool` that never ends.
  const timer = setTimeout(() => child.kill(), 10_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  child.stdin.destroy();
  assert.deepEqual([code, stderr], [1, 'csvtool: <stdin>: line 2 (offset 151 = 0x97): invalid JSON: unexpected end of JSON input [TCPINFO_BAD_JSON]\n']);
});

test('a congestion-algorithm attribute that is not UTF-8 goes into the CSV byte for byte, as Go writes string(raw) (no U+FFFD: base64 is decoded after JSON); only a leading space rune or , " CR LF quote it', () => {
  const line = readFileSync(join(FIX, 'edgecases', 'in', 'cong_bbr.jsonl'), 'utf8').trim();
  const cases: [Buffer, Buffer][] = [
    [Buffer.from([0xff, 0xfe, 0x63, 0x75, 0x62, 0x69, 0x63, 0x00]), Buffer.from([0xff, 0xfe, 0x63, 0x75, 0x62, 0x69, 0x63])],
    // U+00A0 (NO-BREAK SPACE, UTF-8 c2 a0) first is Unicode space: quoted; a lone 0xa0 is not a rune at all: not quoted
    [Buffer.from([0xc2, 0xa0, 0x78, 0x00]), Buffer.from([0x22, 0xc2, 0xa0, 0x78, 0x22])],
    [Buffer.from([0xa0, 0x78, 0x00]), Buffer.from([0xa0, 0x78])],
  ];
  for (const [attr, cell] of cases) {
    const input = line.replace('"YmJyAA=="', JSON.stringify(attr.toString('base64')));
    assert.notEqual(input, line);
    const r = run([], input + '\n');
    assert.equal(r.status, 0, r.stderr);
    const row = r.stdout.subarray(r.stdout.indexOf(0x0a) + 1);
    // the cell sits between the 18th and 19th commas (column 19, CongestionAlgorithm)
    let at = -1;
    for (let i = 0; i < 18; i++) at = row.indexOf(0x2c, at + 1);
    const end = row.indexOf(Buffer.from(',0,'), at + 1);
    assert.ok(row.subarray(at + 1, end).equals(cell), `${attr.toString('hex')}: cell ${row.subarray(at + 1, end).toString('hex')}`);
  }
});

test('--max-line: a longer line is a bad line, skipped without being held (with --skip-bad the rest converts); a bad size is a usage error', () => {
  const plain = decompress(readFileSync(NDT_ZST)).toString();
  const lines = plain.trim().split('\n');
  const input = [lines[0], `{"Timestamp":"${'x'.repeat(3 << 20)}"}`, ...lines.slice(1)].join('\n') + '\n';
  const strict = run([], input);
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, /^csvtool: <stdin>: line 2 \(offset \d+ = 0x[0-9a-f]+\): line longer than the 1048576-byte limit \(--max-line\): skipped without reading it into memory \[INPUT_LINE_TOO_LONG\]\n$/);
  const skip = run(['--skip-bad'], input);
  assert.equal(skip.status, 0);
  assert.ok(skip.stdout.equals(NDT_CSV), 'every other line converts as without it');
  assert.match(skip.stderr, /skipped 1 bad line of \d+ \(1 INPUT_LINE_TOO_LONG\)/);
  const bigger = run(['--max-line', '4m'], input);
  assert.equal(bigger.status, 1);
  assert.match(bigger.stderr, /TCPINFO_BAD_TIME|invalid|\[TCPINFO_/, 'held whole under a 4 MiB limit, and then a bad timestamp');
  const bad = run(['--max-line', 'lots'], input);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--max-line: "lots" is not a size/);
});
