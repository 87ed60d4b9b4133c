/**
 * The output format and compression follow the -o file name unless
 * --format says otherwise; a name that contradicts --format, -z or the
 * command's kind of output is a usage error, as are options the chosen
 * mode cannot honour. Nothing is written when the options are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { FIX } from './_fixtures.js';
import { makeTempDir, shq } from './_capture-helpers.js';
import { bin, run } from './_cli.js';

const CAP = join(FIX, 'zeek__http-get.pcap');
const GZIP_MAGIC = '1f8b';
const ZSTD_MAGIC = '28b52ffd';

function zstdText(path: string): string {
  // decompressed by the command that reads archives
  const r = run('csvtool', ['--kind', 'tcpkit', path]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('tcpanalyze -o NAME writes the format and compression the name says', () => {
  const { dir, cleanup } = makeTempDir('outnames-');
  try {
    const out = (name: string, args: string[] = []): Buffer => {
      const r = run('tcpanalyze', [CAP, '-o', join(dir, name), ...args]);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      return readFileSync(join(dir, name));
    };
    assert.match(out('conns.csv').toString(), /^ts,uid,community_id,proto,/);
    assert.match(out('conns.ndjson').toString(), /^\{"record":"conn","ts":/);
    assert.match(out('conns.json').toString(), /^\{"record":"conn","ts":/);
    const gz = out('conns.json.gz');
    assert.equal(gz.subarray(0, 2).toString('hex'), GZIP_MAGIC);
    assert.match(gunzipSync(gz).toString(), /^\{"record":"conn","ts":/);
    const csvGz = out('conns.csv.gz');
    assert.match(gunzipSync(csvGz).toString(), /^ts,uid,/);
    const csvZst = out('conns.csv.zst');
    assert.equal(csvZst.subarray(0, 4).toString('hex'), ZSTD_MAGIC);
    const archive = out('conns.jsonl.zst');
    assert.equal(archive.subarray(0, 4).toString('hex'), ZSTD_MAGIC);
    assert.match(zstdText(join(dir, 'conns.jsonl.zst')), /^ts,uid,/); // csvtool skips the metadata line
    assert.match(out('conns.txt').toString(), /^start \(UTC\)/);
    // --format wins where the name says nothing against it
    assert.match(out('conns.out', ['--format', 'csv']).toString(), /^ts,uid,/);
    assert.match(out('summary.json', ['--format', 'summary']).toString(), /^\[\{"RX":/);
  } finally {
    cleanup();
  }
});

test('a contradiction between --format, -z, the mode and the -o name is a usage error naming both, and writes nothing', () => {
  const { dir, cleanup } = makeTempDir('outnames-');
  try {
    const cases: [string[], string][] = [
      [['--format', 'csv', '-o', 'x.ndjson'], '--format csv contradicts the output name x.ndjson (NDJSON): give one of them, or make them agree'],
      [['--format', 'table', '-o', 'x.csv'], '--format table contradicts the output name x.csv (CSV): give one of them, or make them agree'],
      [['--format', 'summary', '-o', 'x.csv'], '--format summary contradicts the output name x.csv (CSV): give one of them, or make them agree'],
      [['--format', 'archive', '-o', 'x.jsonl.gz'], '--format archive is zstd-compressed, but the output name x.jsonl.gz says gzip: name it .jsonl.zst'],
      [['--format', 'archive', '-o', 'x.jsonl'], '--format archive is zstd-compressed: name the output x.jsonl.zst'],
      [['-z', '-o', 'x.csv.gz'], '-z (zstd) contradicts the output name x.csv.gz (gzip): give one of them'],
      [['-o', 'x.parquet.zst'], 'Parquet compresses its own pages: name the output x.parquet.zst without .gz or .zst, and leave out -z'],
      [['--format', 'parquet', '-o', 'x.csv'], '--format parquet contradicts the output name x.csv (CSV): give one of them, or make them agree'],
      [['-o', 'x.pcap'], 'the output name x.pcap says a pcap capture, but tcpanalyze writes connection records (tcpfilter writes the packets of selected connections)'],
      [['--handshakes', '-o', 'x.csv'], '--handshakes (text lines) contradicts the output name x.csv (CSV): give one of them, or make them agree'],
    ];
    for (const [args, message] of cases) {
      const r = run('tcpanalyze', [CAP, ...args], { cwd: dir });
      assert.equal(r.status, 2, args.join(' '));
      assert.deepEqual(r.errLines, [`tcpanalyze: ${message} [USAGE_CONFLICT]`]);
      assert.equal(r.stdout, '');
    }
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    cleanup();
  }
});

test('tcpanalyze rejects options the chosen mode cannot honour, with a one-line reason', () => {
  const cases: [string[], string][] = [
    [['--flags', '--format', 'csv'], '--flags writes its own text lines; --format csv applies to connection records'],
    [['--handshakes', '--format', 'ndjson'], '--handshakes writes its own text lines; --format ndjson applies to connection records'],
    [['--handshakes', '--follow', '0'], '--handshakes and --follow are different outputs: give one of them'],
    [['--handshakes', '--flags'], '--handshakes and --flags are different outputs: give one of them'],
    [['--follow', '0', '--format', 'summary'], '--follow and --format summary are different outputs: give one of them'],
    [['-F', 'web:TX@%:80'], '-F and --local choose the handshakes that --handshakes and --format summary count; to select records use --where (or tcpfilter, which takes tcpeek filters)'],
    [['--flags', '--local', '10.0.0.0/8'], '-F and --local choose the handshakes that --handshakes and --format summary count, not what --flags writes'],
    [['--format', 'summary', '--where', 'conn_state=SF'], '--where selects connection records, which --format summary does not write (-F and --local select its handshakes)'],
    [['--follow', '0', '--where', 'conn_state=SF'], '--where selects connection records, which --follow does not write'],
    [['--no-header'], '--no-header applies to CSV output (--format csv)'],
    [['--follow-format', 'hex'], '--follow-format applies to --follow'],
    [['--analysis', 'flows', '--flags'], '--analysis flows has no handshake verdicts or segment flags; use --analysis full with --flags'],
  ];
  for (const [args, message] of cases) {
    const r = run('tcpanalyze', [...args, CAP]);
    assert.equal(r.status, 2, args.join(' '));
    assert.deepEqual(r.errLines, [`tcpanalyze: ${message} [USAGE_CONFLICT]`]);
    assert.equal(r.stdout, '');
  }
  // what each mode does take still runs
  for (const args of [['--format', 'csv', '--no-header', '--where', 'conn_state=SF'], ['--handshakes', '-F', 'web:TX@%:80'], ['--format', 'summary', '--local', '10.0.0.0/8'], ['--follow', '0', '--follow-format', 'hex']]) {
    const r = run('tcpanalyze', [...args, CAP]);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0);
  }
});

test('tcpfilter writes the input\'s kind: an -o name of another kind is a usage error; .gz compresses with gzip', () => {
  const { dir, cleanup } = makeTempDir('outnames-');
  try {
    const records = run('tcpanalyze', ['--format', 'ndjson', CAP]).stdout;
    const bad: [string[], string | Buffer, string][] = [
      [['-o', 'y.csv'], records, 'the output name y.csv says CSV, but the input is tcpkit records, so it writes NDJSON (.ndjson, .jsonl or .jsonl.zst); for CSV, pipe the output into csvtool'],
      [['-o', 'y.pcap'], records, 'the output name y.pcap says a pcap capture, but the input is tcpkit records, so it writes NDJSON (.ndjson, .jsonl or .jsonl.zst); to get the packets, run tcpfilter on the capture itself'],
      [[CAP, '-o', 'y.jsonl'], '', 'the output name y.jsonl says NDJSON, but the input is a capture, so it writes packets (.pcap or .pcapng)'],
      [[CAP, '-z', '-w', 'y.pcap.gz'], '', '-z (zstd) contradicts the output name y.pcap.gz (gzip): give one of them'],
    ];
    for (const [args, input, message] of bad) {
      const r = run('tcpfilter', args, { input, cwd: dir });
      assert.equal(r.status, 2, args.join(' '));
      assert.deepEqual(r.errLines, [`tcpfilter: ${message} [USAGE_CONFLICT]`]);
    }
    const late = run('tcpfilter', ['--idle-timeout', '1m'], { input: records, cwd: dir });
    assert.deepEqual([late.status, late.errLines], [2, ['tcpfilter: --idle-timeout applies to captures (it shapes how their connections are rebuilt), but the input is tcpkit records [USAGE_CONFLICT]']]);
    assert.deepEqual(readdirSync(dir), []);
    let r = run('tcpfilter', ['-o', 'y.ndjson.gz'], { input: records, cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(gunzipSync(readFileSync(join(dir, 'y.ndjson.gz'))).toString(), records);
    r = run('tcpfilter', [CAP, '-w', 'y.pcap.gz'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(gunzipSync(readFileSync(join(dir, 'y.pcap.gz'))), readFileSync(CAP));
    assert.ok(!existsSync(join(dir, 'y.jsonl')));
  } finally {
    cleanup();
  }
});

test('-o naming a FIFO (or a device such as /dev/null) writes into it and leaves it in place, never renaming a regular file over it', () => {
  const { dir, cleanup } = makeTempDir('outnames-');
  try {
    const fifo = join(dir, 'pipe');
    const got = join(dir, 'got.csv');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // a reader on the FIFO, then the command writing into it
    const r = spawnSync('bash', ['-c', `cat ${shq(fifo)} > ${shq(got)} & ${shq(process.execPath)} ${shq(bin('tcpanalyze'))} ${shq(CAP)} --format csv -o ${shq(fifo)}; s=$?; wait; exit $s`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
    assert.equal(readFileSync(got, 'utf8'), run('tcpanalyze', [CAP, '--format', 'csv']).stdout);
    const f = spawnSync('bash', ['-c', `cat ${shq(fifo)} > ${shq(got)} & ${shq(process.execPath)} ${shq(bin('tcpfilter'))} ${shq(CAP)} -w ${shq(fifo)}; s=$?; wait; exit $s`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(f.status, 0, f.stderr);
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
    assert.deepEqual(readFileSync(got), readFileSync(CAP));
  } finally {
    cleanup();
  }
});
