/**
 * Every command given an input of a kind it does not read (a capture, tcpkit
 * records, a tcp-info archive, CSV from csvtool, a tcpsummary summary)
 * refuses it with one line that says what it is, that it was decompressed
 * when it was, and which command reads it; exit 2, nothing on stdout (csvtool
 * writes no header before a good line).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { FIX, ROOT } from './_fixtures.js';
import { makeTempDir } from './_capture-helpers.js';
import { run, type CommandName } from './_cli.js';

let dir = '';
let cleanup = (): void => {};
const CAP = join(FIX, 'zeek__http-get.pcap');
const ARCHIVE = join(ROOT, 'fixtures/tcpinfo/repo/archiveRecords.jsonl.zst');

before(() => {
  ({ dir, cleanup } = makeTempDir('input-kinds-'));
  const records = run('tcpanalyze', ['--format', 'ndjson', CAP]).stdout;
  writeFileSync(join(dir, 'conns.ndjson'), records);
  writeFileSync(join(dir, 'conns.ndjson.gz'), gzipSync(records));
  writeFileSync(join(dir, 'conns.csv'), run('tcpanalyze', ['--format', 'csv', CAP]).stdout);
  writeFileSync(join(dir, 'snapshots.csv'), run('csvtool', [ARCHIVE]).stdout);
  writeFileSync(join(dir, 'summary.json'), run('tcpsummary', ['-f', 'json'], { input: records }).stdout);
  writeFileSync(join(dir, 'capture.pcap.gz'), gzipSync(readFileSync(CAP)));
});
after(() => cleanup());

const RECORDS_READERS = 'tcpsummary summarises them, tcpfilter selects them, csvtool converts them to CSV';
const CSV_READERS = 'the tcpkit commands read records as NDJSON (tcpanalyze writes it by default, or with -o conns.ndjson)';

test('each command names what a wrong input is and which command reads it', () => {
  const cases: [CommandName, string, string][] = [
    ['tcpanalyze', 'conns.ndjson', `tcpkit records (NDJSON), not a pcap or pcapng capture: ${RECORDS_READERS}`],
    ['tcpanalyze', 'conns.ndjson.gz', `tcpkit records (NDJSON, after gunzip), not a pcap or pcapng capture: ${RECORDS_READERS}`],
    ['tcpanalyze', 'conns.csv', `tcpkit records as CSV (csvtool output), not a pcap or pcapng capture: ${CSV_READERS}`],
    ['tcpanalyze', 'summary.json', 'a tcpsummary JSON summary, not a pcap or pcapng capture: tcpsummary --since takes it as the earlier summary'],
    ['tcpanalyze', ARCHIVE, 'an m-lab tcp-info archive (JSONL, after zstd decompression), not a pcap or pcapng capture: csvtool converts it to CSV, tcpfilter selects its sockets'],
    ['tcpsummary', CAP, 'a pcap or pcapng capture, not tcpkit records (NDJSON): run tcpanalyze on it first (tcpanalyze FILE | tcpsummary)'],
    ['tcpsummary', 'capture.pcap.gz', 'a pcap or pcapng capture (after gunzip), not tcpkit records (NDJSON): run tcpanalyze on it first (tcpanalyze FILE | tcpsummary)'],
    ['tcpsummary', 'conns.csv', `tcpkit records as CSV (csvtool output), not tcpkit records (NDJSON): ${CSV_READERS}`],
    ['tcpsummary', 'summary.json', 'a tcpsummary JSON summary, not tcpkit records (NDJSON): tcpsummary takes it as the earlier summary of --since (tcpsummary NEW-RECORDS --since FILE)'],
    ['csvtool', CAP, 'a pcap or pcapng capture, not a tcp-info archive or tcpkit records: run tcpanalyze on it first (tcpanalyze FILE | csvtool)'],
    ['csvtool', 'conns.csv', 'tcpkit records as CSV (csvtool output), not a tcp-info archive or tcpkit records: it is already CSV (csvtool converts tcpkit NDJSON records and tcp-info archives to CSV)'],
    ['csvtool', 'snapshots.csv', 'tcp-info snapshots as CSV (csvtool output), not a tcp-info archive or tcpkit records: it is already CSV (csvtool converts the archive itself: JSONL, plain or zstd)'],
    ['tcpfilter', 'conns.csv', `tcpkit records as CSV (csvtool output), not a capture, tcpkit records or a tcp-info archive: ${CSV_READERS}`],
    ['tcpfilter', 'summary.json', 'a tcpsummary JSON summary, not a capture, tcpkit records or a tcp-info archive: tcpsummary --since takes it as the earlier summary'],
  ];
  for (const [cmd, file, message] of cases) {
    const r = run(cmd, [file], { cwd: dir });
    assert.equal(r.status, 2, `${cmd} ${file}: ${r.stderr}`);
    assert.deepEqual(r.errLines, [`${cmd}: ${file}: ${message} [INPUT_WRONG_KIND]`]);
    assert.equal(r.stdout, '', `${cmd} ${file}: nothing on stdout`);
  }
});

test('data of no known kind is still a data error naming the first bytes, and says when they were gunzipped', () => {
  const r = run('tcpanalyze', ['-'], { input: gzipSync('hello world\n') });
  assert.deepEqual([r.status, r.errLines], [1, ['tcpanalyze: <stdin> (offset 0 = 0x0): not a pcap or pcapng capture (first bytes 68 65 6c 6c, after gunzip) [CAPTURE_UNKNOWN_FORMAT]']]);
  const f = run('tcpfilter', ['-'], { input: gzipSync('hello world\n') });
  assert.deepEqual([f.status, f.errLines], [1, ['tcpfilter: <stdin> (offset 0 = 0x0): not a capture (pcap, pcapng), tcpkit records or a tcp-info archive (first bytes 68 65 6c 6c 6f 20 77 6f, after gunzip) [TCPFILTER_UNKNOWN_INPUT]']]);
});

test('csvtool writes no header before a bad first line, and the header with the first good row after skipped ones', () => {
  const bad = run('csvtool', ['-'], { input: 'not json\n' });
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, '');
  const oneRecord = readFileSync(join(ROOT, 'fixtures/tcpinfo/edgecases/in/one_record.jsonl'));
  const alone = run('csvtool', ['-'], { input: oneRecord });
  const good = run('csvtool', ['--skip-bad', '-'], { input: Buffer.concat([Buffer.from('not json\n'), oneRecord]) });
  assert.equal(good.status, 0, good.stderr);
  assert.equal(good.stdout, alone.stdout); // header, then the row: the skipped line wrote nothing before them
  assert.match(alone.stdout, /^Timestamp,Observed,/);
});

test('csvtool on a tcpkit archive that holds no record writes the header its metadata line names', () => {
  const out = join(dir, 'none.jsonl.zst');
  const r = run('tcpanalyze', [CAP, '--where', 'conn_state=REJ', '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  const c = run('csvtool', [out]);
  assert.equal(c.status, 0, c.stderr);
  assert.equal(c.stdout, run('tcpanalyze', ['--format', 'csv', CAP]).stdout.split('\n')[0] + '\n');
});
