/**
 * `tcpcapture packets -` fed by a pipe the test writes at its own pace:
 * tcpeek's stats socket (GET totals, REFRESH deltas) against tcpanalyze's
 * summary of the same packets; SIGINT while the pipe is quiet (a clean
 * archive holding tcpanalyze's records with end_reason interrupted, the
 * tcpeek summary, exit 0); the Prometheus endpoint read with a real HTTP
 * client while the capture runs; usage errors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, makeTempDir, pcapHeader, pcapRecord, readPcap, runTcpanalyze, writePcap, type PcapFile } from './_capture-helpers.js';
import { listFiles, markerFrame, readArchive, runTcpcapture, startTcpcapture, type LiveRun, parseRecords as parse, askStatsSocket as ask, waitForPackets, type StatsAnswer } from './_live-packets-helpers.js';
import { summaryText, type FilterCounts } from '../src/output/tcpeek.js';

type Rec = Record<string, string | number | boolean | null>;
const SCENARIOS = fixture('crafted/scenarios.pcap');
const FILTERS = ['-F', 'web:TX@10.0.0.2:80', '-F', 'inbound:RX@*:*', '--local', '10.0.0.1/32'];

let tmp = '';
let cleanup = (): void => {};
let pcap: PcapFile;
before(() => {
  ({ dir: tmp, cleanup } = makeTempDir('tcpcapture-pipe-'));
  pcap = readPcap(readFileSync(SCENARIOS));
});
after(() => cleanup());


/** The first `n` packets as a capture. */
const prefix = (n: number): Buffer => writePcap(pcap.records.slice(0, n), pcap.header);

/** Writes the capture header and records [from, to) into the running command's stdin. */
function feed(run: LiveRun, from: number, to: number): void {
  if (from === 0) run.proc.stdin!.write(pcapHeader(pcap.header));
  for (const r of pcap.records.slice(from, to)) run.proc.stdin!.write(pcapRecord(r, { le: pcap.header.le, nanos: pcap.header.nanos }));
}

/** tcpanalyze --format summary on the first n packets (same filters). */
function summaryOf(n: number): [string, FilterCounts][] {
  const r = runTcpanalyze(['--format', 'summary', ...FILTERS, '-'], { input: prefix(n) });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as Record<string, FilterCounts>[]).map((o) => Object.entries(o)[0]!);
}

/**
 * The first packet count >= `from` after which no handshake is waiting for
 * an answer: tcpanalyze's records of that prefix hold no timeout verdict
 * (a handshake still pending at the end of the input becomes a timeout).
 */
function quietPoint(from: number): number {
  for (let n = from; n <= pcap.records.length; n++) {
    const r = runTcpanalyze(['-'], { input: prefix(n) });
    if (!parse(r.stdout).some((x) => x['handshake'] === 'timeout')) return n;
  }
  throw new Error(`no quiet point after ${from}`);
}

function minus(a: [string, FilterCounts][], b: [string, FilterCounts][]): [string, FilterCounts][] {
  return a.map(([name, x], i) => {
    const y = b[i]![1];
    return [
      name,
      {
        success: { total: x.success.total - y.success.total, dupsyn: x.success.dupsyn - y.success.dupsyn, dupsynack: x.success.dupsynack - y.success.dupsynack },
        failure: { total: x.failure.total - y.failure.total, timeout: x.failure.timeout - y.failure.timeout, reject: x.failure.reject - y.failure.reject, unreach: x.failure.unreach - y.failure.unreach, abort: x.failure.abort - y.failure.abort },
      },
    ];
  });
}

const answer = (filters: [string, FilterCounts][], recv: number): StatsAnswer => [...filters.map(([n, c]) => ({ [n]: c })), { pcap: { stats: { recv, drop: 0, ifdrop: 0 } } }];

test('the stats socket answers GET with the totals and REFRESH with the change since the last REFRESH, as tcpanalyze --format summary counts the same packets', async () => {
  const k1 = quietPoint(Math.floor(pcap.records.length / 3));
  const k2 = quietPoint(Math.max(k1 + 1, Math.floor((2 * pcap.records.length) / 3)));
  const s1 = summaryOf(k1);
  const s2 = summaryOf(k2);
  assert.notDeepEqual(s1, s2, 'the second part adds handshakes');
  const sock = join(tmp, 'stats.sock');
  const run = startTcpcapture(['packets', '-', '--output', join(tmp, 'stats-arch'), '--stats-socket', sock, ...FILTERS, '-q']);
  try {
    feed(run, 0, k1);
    assert.deepEqual(await waitForPackets(sock, k1), answer(s1, k1), 'GET after the first part');
    assert.deepEqual(JSON.parse(await ask(sock, 'REFRESH\r\n')), answer(s1, k1), 'the first REFRESH: everything since the start');
    assert.deepEqual(JSON.parse(await ask(sock, 'REFRESH\n')), answer(minus(s1, s1), 0), 'REFRESH again: nothing new');
    feed(run, k1, k2);
    assert.deepEqual(await waitForPackets(sock, k2), answer(s2, k2), 'GET after the second part: totals');
    assert.deepEqual(JSON.parse(await ask(sock, 'REFRESH\n')), answer(minus(s2, s1), k2 - k1), 'REFRESH: the second part only');
    assert.deepEqual(JSON.parse(await ask(sock, 'STATUS\n')), { error: 'unknown request "STATUS": send GET or REFRESH' });
    run.proc.stdin!.end();
    const done = await run.done;
    assert.equal(done.code, 0, run.stderr());
    assert.equal(existsSync(sock), false, 'the socket file is removed at the end');
  } finally {
    run.proc.kill('SIGKILL');
  }
});

test('SIGINT while the input pipe is quiet: exit 0, complete archive files holding tcpanalyze\'s records of the packets read (open ones end_reason interrupted), and the tcpeek summary', async () => {
  const k = Math.floor(pcap.records.length / 2);
  const sock = join(tmp, 'sigint.sock');
  const out = join(tmp, 'sigint-arch');
  // records written 1 s after their close, so the first 2-s archive is not empty
  const run = startTcpcapture(['packets', '-', '--output', out, '--rotate', '2s', '--close-linger', '1s', '--stats-socket', sock, ...FILTERS]);
  try {
    feed(run, 0, k);
    await waitForPackets(sock, k);
    run.proc.kill('SIGINT'); // the pipe stays open: tcpcapture stops reading by itself
    const done = await run.done;
    assert.equal(done.code, 0, run.stderr());
  } finally {
    run.proc.kill('SIGKILL');
  }
  const files = listFiles(out);
  assert.ok(files.length >= 2, `rotated (${files})`);
  assert.deepEqual(files.filter((f) => f.includes('.tcpkit-')), [], 'no temporary file');
  const ref = runTcpanalyze(['--close-linger', '1s', '-'], { input: prefix(k) }); // -F selects handshakes, not records
  const want = parse(ref.stdout).map((r) => (r['end_reason'] === 'eof' ? { ...r, end_reason: 'interrupted' } : r));
  assert.ok(want.some((r) => r['end_reason'] === 'interrupted'), 'connections were open at the signal');
  const got = files.flatMap((f) => parse(readArchive(join(out, f)).lines.join('\n'))).filter((r) => r['end_reason'] !== 'interim');
  const byUid = (a: Rec, b: Rec): number => String(a['uid']).localeCompare(String(b['uid']));
  assert.deepEqual(got.sort(byUid), want.sort(byUid));
  // the summary: pending handshakes became timeouts at the stop, as at the end of tcpanalyze's input
  const first = pcap.records[0]!.ts, last = pcap.records[k - 1]!.ts;
  const clock = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19).replace('T', ' ');
  const text = summaryText(summaryOf(k), clock(first), clock(last), Math.max(0, Number(last - first) / 1e9));
  assert.ok(run.stderr().includes(text), `summary on stderr:\n${run.stderr()}\nexpected:\n${text}`);
  assert.match(run.stderr(), /failure \(reject\)|success/);
});

test('--prom serves the metrics in the Prometheus text format to an HTTP client while the capture runs', async () => {
  const k = quietPoint(Math.floor(pcap.records.length / 2));
  const recs = pcap.records.slice(0, k);
  // a non-IP frame 1 ms after the last packet moves time on: connections closed by then (linger 0) are written
  const marker = markerFrame(recs.reduce((m, r) => (r.ts > m ? r.ts : m), 0n) + 1_000_000n);
  const cut = writePcap([...recs, marker], pcap.header);
  const ref = parse(runTcpanalyze(['--close-linger', '0ms', '-'], { input: cut }).stdout);
  const verdicts = (v: string): number => ref.filter((r) => r['handshake'] === v).length;
  const sock = join(tmp, 'prom.sock');
  const run = startTcpcapture(['packets', '-', '--output', join(tmp, 'prom-arch'), '--close-linger', '0ms', '--prom', '127.0.0.1:0', '--stats-socket', sock]);
  try {
    const m = await run.waitFor(/metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/);
    run.proc.stdin!.write(cut);
    await waitForPackets(sock, k + 1);
    const res = await fetch(m[1]!);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const bytes = [...recs, marker].reduce((s, r) => s + (r.origLen ?? r.data.length), 0);
    const expected = [
      '# HELP tcpcapture_packets_total Packets read from the capture.',
      '# TYPE tcpcapture_packets_total counter',
      `tcpcapture_packets_total ${k + 1}`,
      '# HELP tcpcapture_bytes_total Bytes on the wire of the packets read (the original length of every frame).',
      '# TYPE tcpcapture_bytes_total counter',
      `tcpcapture_bytes_total ${bytes}`,
      '# HELP tcpcapture_connections_open TCP connections, UDP and ICMP flows currently tracked (not yet written as final records).',
      '# TYPE tcpcapture_connections_open gauge',
      `tcpcapture_connections_open ${ref.filter((r) => r['end_reason'] === 'eof').length}`,
      '# HELP tcpcapture_records_total Records written to the archives, by kind: final and interim conn records, flow records.',
      '# TYPE tcpcapture_records_total counter',
      `tcpcapture_records_total{kind="final"} ${ref.filter((r) => r['end_reason'] !== 'eof').length}`,
      'tcpcapture_records_total{kind="interim"} 0',
      'tcpcapture_records_total{kind="flow"} 0',
      '# HELP tcpcapture_archive_files_total Archive files completed and renamed into place.',
      '# TYPE tcpcapture_archive_files_total counter',
      'tcpcapture_archive_files_total 0',
      '# HELP tcpcapture_handshakes_total TCP handshakes by verdict (tcpeek): success, reject (RST), timeout (no answer within --syn-timeout), unreach (ICMP destination unreachable), abort (the SYN sender reset first; tcpkit extension).',
      '# TYPE tcpcapture_handshakes_total counter',
      `tcpcapture_handshakes_total{result="success"} ${verdicts('success')}`,
      `tcpcapture_handshakes_total{result="reject"} ${verdicts('reject')}`,
      `tcpcapture_handshakes_total{result="timeout"} ${verdicts('timeout')}`,
      `tcpcapture_handshakes_total{result="unreach"} ${verdicts('unreach')}`,
      `tcpcapture_handshakes_total{result="abort"} ${verdicts('abort')}`,
      '# HELP tcpcapture_drops_total Packets the capture lost, as tcpdump or dumpcap report them (libpcap ps_drop: kernel buffer full; ps_ifdrop: interface).',
      '# TYPE tcpcapture_drops_total counter',
      'tcpcapture_drops_total{by="kernel"} 0',
      'tcpcapture_drops_total{by="interface"} 0',
      '',
    ].join('\n');
    assert.equal(await res.text(), expected);
    assert.equal((await fetch(m[1]!.replace('/metrics', '/nothing'))).status, 404);
    run.proc.stdin!.end();
    assert.equal((await run.done).code, 0, run.stderr());
    await assert.rejects(fetch(m[1]!), 'the endpoint is closed at the end');
  } finally {
    run.proc.kill('SIGKILL');
  }
});

test('usage errors exit 2 with one line: no source, - with --iface, no --output, a bad --rotate', () => {
  const out = join(tmp, 'usage');
  const cases: [string[], string][] = [
    [['packets', '--output', out], 'tcpcapture: give --iface IF to capture, or - to read a pcap/pcapng stream from stdin [USAGE_NO_SOURCE]\n'],
    [['packets', '-', '--iface', 'eth0', '--output', out], 'tcpcapture: - (stdin) and --iface cannot be combined [USAGE_CONFLICT]\n'],
    [['packets', '-'], 'tcpcapture: --output DIR is required (the archive directory) [USAGE_NO_OUTPUT]\n'],
    [['packets', '-', '--output', out, '--rotate', 'soon'], 'tcpcapture: --rotate: "soon" is not a duration (examples: 300, 90s, 5m, 1h, 250ms) [USAGE_BAD_DURATION]\n'],
    [['packets', 'capture.pcap', '--output', out], 'tcpcapture: "capture.pcap": the only source argument is - (a capture on stdin); capture live with --iface IF [USAGE_BAD_SOURCE]\n'],
  ];
  for (const [args, err] of cases) {
    const r = runTcpcapture(args);
    assert.deepEqual({ status: r.status, stderr: r.stderr, stdout: r.stdout }, { status: 2, stderr: err, stdout: '' }, args.join(' '));
  }
});

test('a capture that is not pcap on stdin is a data error (exit 1), says what it is, and leaves no archive file', () => {
  const out = join(tmp, 'notpcap');
  const r = runTcpcapture(['packets', '-', '--output', out, '-q'], { input: Buffer.from('{"record":"conn"}\n') });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'tcpcapture: <stdin>: tcpkit records (NDJSON), not a pcap or pcapng capture: tcpsummary summarises them, tcpfilter selects them, csvtool converts them to CSV [INPUT_WRONG_KIND]\n');
  assert.deepEqual(listFiles(out), []);
});

test('a second run of the same capture into the same folder replaces no file: exit 1, one line per file, each naming where its new data is', () => {
  const out = join(tmp, 'twice');
  const input = readFileSync(SCENARIOS);
  const first = runTcpcapture(['packets', '-', '--output', out, '--rotate', '5s', '-q'], { input });
  assert.equal(first.status, 0, first.stderr);
  const files = listFiles(out);
  const before = files.map((f) => readFileSync(join(out, f)));
  const second = runTcpcapture(['packets', '-', '--output', out, '--rotate', '5s', '-q'], { input });
  assert.equal(second.status, 1);
  const lines = second.stderr.split('\n').filter((l) => l.startsWith('tcpcapture: '));
  const named = lines.map((l) => {
    const m = /^tcpcapture: (.+): will not replace an existing file; the new data is in (.+) \[ATOMIC_TARGET_EXISTS\]$/.exec(l);
    assert.ok(m, l);
    assert.ok(existsSync(m[2]!), `${m[2]} holds the new data`);
    assert.deepEqual(readArchive(m[2]!).lines, readArchive(m[1]!).lines, 'the same records as the first run');
    return m[1]!.slice(out.length + 1);
  });
  assert.deepEqual(named.sort(), files);
  assert.deepEqual(
    files.map((f) => readFileSync(join(out, f))),
    before,
    'the first run\'s files are unchanged',
  );
});

test('an archive folder that cannot be created is an error naming it (exit 1)', () => {
  const out = join(tmp, 'blocked');
  // a file where the year folder should be
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, '2023'), 'not a folder\n');
  const r = runTcpcapture(['packets', '-', '--output', out, '-q'], { input: readFileSync(SCENARIOS) });
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr.split('\n')[0],
    `tcpcapture: ${out}/2023/11/14/conns_20231114T221320.000000000Z.jsonl.zst: cannot create directory ${out}/2023/11/14: ENOTDIR: not a directory, mkdir '${out}/2023/11/14' [ATOMIC_MKDIR_FAILED]`,
  );
});
