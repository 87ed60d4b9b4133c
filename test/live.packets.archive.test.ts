/**
 * `tcpcapture packets -` on fixture captures (packet time decides the
 * rotations, so every run gives the same files): the archive files are
 * named by their interval's start and complete; csvtool reads each; the
 * final records of all files together are exactly tcpanalyze's records of
 * the capture; the interim records written at each rotation are exactly the
 * connections open then, as tcpanalyze sees them on the capture cut at that
 * boundary; the --flows intervals add up, interval by interval, to the
 * packets and bytes of tcpanalyze's records.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, makeTempDir, readPcap, runTcpanalyze, writePcap, type PcapFile } from './_capture-helpers.js';
import { epochNs, listFiles, nameTimeNs, prefixWithMarker, readArchive, runCsvtool, runTcpcapture, parseRecords as parse } from './_live-packets-helpers.js';

type Rec = Record<string, string | number | boolean | null>;

/** Fixtures with connections that outlive several rotations, with the intervals used (ms). */
const CASES: { name: string; rotateMs: number; flowsMs: number; idle: string }[] = [
  { name: 'zeek__ftp-bigtransfer.pcap', rotateMs: 30_000, flowsMs: 60_000, idle: '5m' },
  { name: 'ndpi__synscan.pcap', rotateMs: 4_000, flowsMs: 5_000, idle: '3s' },
  { name: 'ndpi__6in4tunnel.pcap', rotateMs: 5_000, flowsMs: 4_000, idle: '5s' },
  { name: 'crafted/scenarios.pcap', rotateMs: 2_000, flowsMs: 5_000, idle: '3s' },
  { name: 'recorded/refused-timeout-unreach.pcap', rotateMs: 1_000, flowsMs: 2_000, idle: '2s' },
];

/** Short timeouts (given to both commands), so SYN timeouts and idle flows fall between boundaries. */
const SYN_TIMEOUT_MS = 1000n;

/** At most this many boundaries per capture are checked against a cut capture (each costs a tcpanalyze run). */
const MAX_CUTS = 4;

let tmp = '';
let cleanup = (): void => {};
before(() => {
  ({ dir: tmp, cleanup } = makeTempDir('tcpcapture-archive-'));
});
after(() => cleanup());


/** Evenly spread picks of at most n items. */
function spread<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, i) => xs[Math.floor((i * (xs.length - 1)) / (n - 1))]!);
}

const FLOW_KEY = (r: Rec): string => `${r['proto']}|${r['orig_h']}|${r['resp_h']}|${r['resp_p']}`;

/** Packets and IP bytes each way per flow key, from conn records (tcpanalyze) or flow records. */
function flowTotals(recs: Rec[]): Map<string, [number, number, number, number]> {
  const m = new Map<string, [number, number, number, number]>();
  for (const r of recs) {
    const k = FLOW_KEY(r);
    const t = m.get(k) ?? [0, 0, 0, 0];
    t[0] += Number(r['orig_pkts']);
    t[1] += Number(r['resp_pkts']);
    t[2] += Number(r['orig_ip_bytes']);
    t[3] += Number(r['resp_ip_bytes']);
    m.set(k, t);
  }
  return new Map([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

for (const c of CASES) {
  test(`${c.name} through tcpcapture packets - --rotate ${c.rotateMs}ms --flows ${c.flowsMs}ms: files, final records, interim records and flows agree with tcpanalyze`, () => {
    const cap = fixture(c.name);
    const TIMEOUTS = ['--syn-timeout', `${SYN_TIMEOUT_MS}ms`, '--idle-timeout', c.idle];
    const pcap: PcapFile = readPcap(readFileSync(cap));
    const out = join(tmp, c.name.replace(/\W/g, '_'));
    const rotateNs = BigInt(c.rotateMs) * 1_000_000n;
    const flowsNs = BigInt(c.flowsMs) * 1_000_000n;
    const r = runTcpcapture(['packets', '-', '--output', out, '--rotate', `${c.rotateMs}ms`, '--flows', `${c.flowsMs}ms`, ...TIMEOUTS, '-q'], { input: readFileSync(cap) });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');

    const files = listFiles(out);
    assert.deepEqual(files.filter((f) => /(^|\/)\.tcpkit-/.test(f)), [], 'no temporary file is left');
    const connFiles = files.filter((f) => !f.startsWith('flows/'));
    const flowFiles = files.filter((f) => f.startsWith('flows/')).map((f) => f.slice('flows/'.length));
    assert.ok(connFiles.length >= 3, `several rotations (${connFiles.length} files)`);

    // ---- names: the first file starts with the first packet, the others at multiples of --rotate
    const firstTs = pcap.records[0]!.ts;
    const starts = connFiles.map(nameTimeNs);
    // intervals in which no record was written leave no file
    assert.ok(starts[0] === firstTs || (starts[0]! > firstTs && starts[0]! % rotateNs === 0n), 'the first file starts with the first packet, or at a later boundary');
    for (let i = 1; i < starts.length; i++) {
      assert.equal(starts[i]! % rotateNs, 0n, `${connFiles[i]} starts on a multiple of --rotate`);
      assert.ok(starts[i]! > starts[i - 1]!, 'names sort by time');
    }
    const archives = connFiles.map((f) => readArchive(join(out, f)));
    for (const [i, a] of archives.entries()) {
      assert.equal(epochNs(a.meta.tcpkit.start), starts[i], `${connFiles[i]}: metadata start = name`);
      assert.deepEqual(
        { tool: a.meta.tcpkit.tool, record: a.meta.tcpkit.record, inputs: a.meta.tcpkit.inputs, rotate: a.meta.tcpkit.options['rotate'] },
        { tool: 'tcpcapture', record: 'conn', inputs: ['<stdin>'], rotate: `${c.rotateMs}ms` },
      );
    }

    // ---- final records: every file's non-interim records together are tcpanalyze's records
    const ref = runTcpanalyze([...TIMEOUTS, cap]);
    assert.equal(ref.status, 0, ref.stderr);
    const finals = archives.flatMap((a) => a.lines.filter((l) => !l.includes('"end_reason":"interim"')));
    assert.deepEqual([...finals].sort(), ref.stdout.split('\n').filter((l) => l !== '').sort(), 'final records = tcpanalyze records');

    // each record is in the file of the interval in which it was written: its last packet came before that interval's end
    const ends = starts.map((s) => (s / rotateNs + 1n) * rotateNs);
    for (const [i, a] of archives.entries()) {
      for (const rec of parse(a.lines.join('\n'))) assert.ok(epochNs(rec['last_ts'] as number) < ends[i]!, `${connFiles[i]}: ${rec['uid']} last_ts before the interval's end`);
    }
    assert.equal(archives.at(-1)!.lines.filter((l) => l.includes('"end_reason":"interim"')).length, 0, 'the last file holds no interim record');

    // ---- interim records at boundary B = the connections open at B in the capture cut at B (a marker frame moves time to B)
    const interimOf = archives.map((a) => parse(a.lines.join('\n')).filter((x) => x['end_reason'] === 'interim'));
    assert.ok(interimOf.some((x) => x.length > 0), 'some connection spans a rotation');
    const cuts = spread(
      archives.map((_, i) => i).slice(0, -1),
      MAX_CUTS,
    );
    // the files with interim records come first in the choice when there are many
    const chosen = [...new Set([...spread(cuts.filter((i) => interimOf[i]!.length > 0), MAX_CUTS - 1), ...cuts])].slice(0, MAX_CUTS);
    for (const i of chosen) {
      const interim = interimOf[i]!;
      const b = ends[i]!;
      const cut = runTcpanalyze([...TIMEOUTS, '-'], { input: prefixWithMarker(pcap, b) });
      assert.equal(cut.status, 0, cut.stderr);
      const want = parse(cut.stdout)
        .filter((x) => x['end_reason'] === 'eof')
        .map((x) => {
          const y: Rec = { ...x, end_reason: 'interim' };
          // a handshake still waiting at B (SYN less than --syn-timeout before, in whole ms as the
          // tracker counts) has no verdict yet; the end of the cut capture made it a timeout
          const synMs = epochNs(x['ts'] as number) / 1_000_000n;
          if (x['handshake'] === 'timeout' && b / 1_000_000n - synMs <= SYN_TIMEOUT_MS) y['handshake'] = '';
          return y;
        });
      const byUid = (a: Rec, z: Rec): number => String(a['uid']).localeCompare(String(z['uid']));
      assert.deepEqual([...interim].sort(byUid), want.sort(byUid), `interim records of ${connFiles[i]} (boundary ${b})`);
    }

    // ---- csvtool reads every file; its final rows are tcpanalyze's CSV rows
    const refCsv = runTcpanalyze(['--format', 'csv', ...TIMEOUTS, cap]);
    const [refHeader, ...refRows] = refCsv.stdout.split('\n').filter((l) => l !== '');
    const uidCol = refHeader!.split(',').indexOf('uid');
    const rowByUid = new Map(refRows.map((row) => [row.split(',')[uidCol]!, row]));
    let csvFinals = 0;
    for (const f of connFiles) {
      const cv = runCsvtool(join(out, f));
      assert.equal(cv.status, 0, `csvtool ${f}: ${cv.stderr}`);
      const [header, ...rows] = cv.stdout.split('\n').filter((l) => l !== '');
      assert.equal(header, refHeader);
      assert.equal(rows.length, readArchive(join(out, f)).lines.length, `${f}: one CSV row per record`);
      for (const row of rows) {
        if (row.includes(',interim,')) continue;
        csvFinals++;
        assert.equal(row, rowByUid.get(row.split(',')[uidCol]!), `${f}: CSV row of a final record`);
      }
    }
    assert.equal(csvFinals, refRows.length);

    // ---- flows: names, intervals, and sums that match the conn records interval by interval
    assert.ok(flowFiles.length >= 2, `several flow intervals (${flowFiles.length})`);
    const flowStarts = flowFiles.map(nameTimeNs);
    assert.ok(flowStarts[0] === firstTs || (flowStarts[0]! > firstTs && flowStarts[0]! % flowsNs === 0n));
    for (let i = 1; i < flowStarts.length; i++) assert.equal(flowStarts[i]! % flowsNs, 0n);
    const flowArchives = flowFiles.map((f) => readArchive(join(out, 'flows', f)));
    const lastTs = pcap.records.at(-1)!.ts;
    const flowsSeen: Rec[] = [];
    for (const [i, a] of flowArchives.entries()) {
      assert.equal(a.meta.tcpkit.record, 'flow');
      const recs = parse(a.lines.join('\n'));
      assert.ok(recs.length > 0, `${flowFiles[i]}: an interval file holds records`);
      const end = i === flowArchives.length - 1 ? lastTs : (flowStarts[i]! / flowsNs + 1n) * flowsNs;
      for (const x of recs) {
        assert.equal(epochNs(x['ts'] as number), flowStarts[i], `${flowFiles[i]}: ts = interval start`);
        assert.equal(epochNs(x['end_ts'] as number), end, `${flowFiles[i]}: end_ts = interval end`);
        assert.ok(Number(x['conns']) >= 1 && Number(x['orig_pkts']) + Number(x['resp_pkts']) >= 1);
      }
      const cv = runCsvtool(join(out, 'flows', flowFiles[i]!));
      assert.equal(cv.status, 0, cv.stderr);
      assert.equal(cv.stdout.split('\n').filter((l) => l !== '').length, recs.length + 1);
      flowsSeen.push(...recs);
      // packets up to this interval's end = the conn records of the capture cut there
      if (i < flowArchives.length - 1 && spread(flowArchives.map((_, k) => k).slice(0, -1), MAX_CUTS).includes(i)) {
        const cut = runTcpanalyze([...TIMEOUTS, '-'], { input: writePcap(pcap.records.filter((p) => p.ts < end), pcap.header) });
        assert.deepEqual(flowTotals(flowsSeen), flowTotals(parse(cut.stdout)), `flows up to ${end}`);
      }
    }
    assert.deepEqual(flowTotals(flowsSeen), flowTotals(parse(ref.stdout)), 'all flow intervals = all conn records');
  });
}
