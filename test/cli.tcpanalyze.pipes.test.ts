/**
 * tcpanalyze in real shell pipelines (`bash -o pipefail -c`): a reader that
 * goes away early (`| head -1`) is a quiet, successful end; a slow reader
 * gets every line (backpressure, not loss); NDJSON piped back in is not a
 * capture and fails with one line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { fixture, makeTempDir, readPcap, runBash, runTcpanalyze, shq, writePcap, TCPANALYZE } from './_capture-helpers.js';

const SYNSCAN = fixture('ndpi__synscan.pcap');
const CLI = `${shq(process.execPath)} ${shq(TCPANALYZE)}`;

let dir = '';
let cleanup = (): void => {};
/** Direct (no pipeline) output of tcpanalyze on synscan, and with --idle-timeout 1ms. */
let direct = '';
let directIdle = '';

function lines(s: string): string[] {
  const l = s.split('\n');
  assert.equal(l.pop(), '', 'output ends with a newline');
  return l;
}

before(() => {
  ({ dir, cleanup } = makeTempDir('tcpanalyze-pipes-'));
  const r = runTcpanalyze([SYNSCAN]);
  assert.equal(r.status, 0, r.stderr);
  direct = r.stdout;
  const r2 = runTcpanalyze(['--idle-timeout', '1ms', SYNSCAN]);
  assert.equal(r2.status, 0, r2.stderr);
  directIdle = r2.stdout;
  assert.ok(lines(direct).length > 1000, 'synscan has many connections');
  assert.ok(Buffer.byteLength(direct) > 1 << 20, 'its output is bigger than a pipe buffer');
});

after(() => cleanup());

test('cat capture | tcpanalyze | head -1 exits 0 under pipefail with exactly one NDJSON line and nothing on stderr.', () => {
  for (let i = 0; i < 3; i++) {
    const r = runBash(`cat ${shq(SYNSCAN)} | ${CLI} | head -1`);
    assert.equal(r.status, 0, `attempt ${i + 1}: status ${r.status}, stderr: ${r.stderr}`);
    assert.equal(r.stderr, '', `attempt ${i + 1}`);
    const l = lines(r.stdout);
    assert.equal(l.length, 1);
    assert.equal(l[0], lines(direct)[0], 'the first record is the same as without the pipe');
  }
});

test('tcpanalyze FILE --format csv | head -1 exits 0 under pipefail and prints just the CSV header.', () => {
  const r = runBash(`${CLI} --format csv ${shq(SYNSCAN)} | head -1`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^ts,uid,community_id,proto,[a-z_,]+\n$/);
});

test('A slow consumer (sleep 1, then cat) still receives every line: wc -l equals the number of records of a direct run.', () => {
  const r = runBash(`cat ${shq(SYNSCAN)} | ${CLI} | (sleep 1; cat) | wc -l`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(Number(r.stdout.trim()), lines(direct).length);
});

test('A slow consumer gets byte-identical output even when records are written while the capture is still being read (--idle-timeout 1ms).', () => {
  // With a 1 ms idle timeout flows end during reading, so a full pipe pauses
  // the reader (backpressure) in the middle of the capture.
  const r = runBash(`cat ${shq(SYNSCAN)} | ${CLI} --idle-timeout 1ms - | (sleep 1; cat)`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, directIdle);
});

test('stdout redirected to a file gets the bytes a pipe gets (the sink reuses its batch buffer after synchronous writes).', () => {
  const out = join(dir, 'direct.ndjson');
  const r = runBash(`${CLI} ${shq(SYNSCAN)} > ${shq(out)}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8'), direct);
});

test('tcpanalyze FILE | tcpanalyze - is a usage error (exit 2) whose one line says the input is tcpkit records and which commands read them.', () => {
  const r = runBash(`${CLI} ${shq(SYNSCAN)} | ${CLI} -`);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'tcpanalyze: <stdin>: tcpkit records (NDJSON), not a pcap or pcapng capture: tcpsummary summarises them, tcpfilter selects them, csvtool converts them to CSV [INPUT_WRONG_KIND]\n');
});

test(
  'A slow consumer of a cut gzip capture still gets the records of every packet that could be decompressed.',
  () => {
    // Regression: decompressed data still buffered in the gunzip stream was
    // dropped when the stream errored while the reader waited on a full pipe
    // (records went missing in about half the runs).
    const whole = readFileSync(SYNSCAN);
    const gz = zlib.gzipSync(whole);
    const cut = gz.subarray(0, Math.floor(gz.length * 0.8));
    const prefix = zlib.gunzipSync(cut, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const recovered = readPcap(prefix);
    const p = readPcap(whole);
    writeFileSync(join(dir, 'cut.pcap.gz'), cut);
    writeFileSync(join(dir, 'recovered.pcap'), writePcap(recovered.records, p.header));
    const ref = runTcpanalyze(['--idle-timeout', '1ms', 'recovered.pcap'], { cwd: dir });
    assert.equal(ref.status, 0, ref.stderr);
    const want = lines(ref.stdout).length;
    const got: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = runBash(`${CLI} --idle-timeout 1ms cut.pcap.gz | (sleep 1; cat) | wc -l`, { cwd: dir });
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        `tcpanalyze: cut.pcap.gz: packet ${recovered.records.length + 1} (offset ${prefix.length} = 0x${prefix.length.toString(16)}): gzip data is corrupt or truncated: unexpected end of file [GZIP_CORRUPT]\n`,
      );
      got.push(Number(r.stdout.trim()));
    }
    assert.deepEqual(got, [want, want, want, want], `records received by a slow consumer in 4 runs, expected ${want} each`);
  },
);
