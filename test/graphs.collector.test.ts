/**
 * The graph data of real captures: every segment's analysis bits are the
 * flags `tcpanalyze --flags` prints for it, the marks of each direction's
 * time-sequence graph count what the conn record counts, SACK blocks are
 * tcptrace's SACK packets, and the RTT graph ends at the record's smoothed
 * RTT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import { GraphCollector, type ConnGraphData } from '../src/graphs/collector.js';
import { Col, COLS } from '../src/graphs/segment-log.js';
import { connCharts, recordMarks } from '../src/graphs/series.js';
import { flagNames } from '../src/output/flags.js';
import type { RecordValues } from '../src/records/schema.js';
import { FIX } from './_fixtures.js';
import { runTcpanalyze } from './_capture-helpers.js';

/**
 * Every TCP connection's graph data: a records pass for the uids, then the
 * collector, in a pipeline with the full analysis or (as the report's second
 * pass) with connection accounting only, where it analyses the segments itself.
 */
export async function collectAll(file: string, analysis: 'full' | 'flows' = 'flows'): Promise<{ graphs: ConnGraphData[]; records: Map<string, RecordValues> }> {
  const records = new Map<string, RecordValues>();
  await analyzeCaptures([{ path: file }], { onRecord: (r) => void (r['proto'] === 'tcp' && records.set(String(r['uid']), r)) });
  const col = new GraphCollector(new Set(records.keys()));
  await analyzeCaptures([{ path: file }], { analysis, segmentFlags: analysis === 'full', onSegment: col.onSegment, onRecord: (r, c) => col.onRecord(r, c) });
  return { graphs: [...col.graphs.values()], records };
}

const ep = (h: string, p: number): string => `${h}:${p}`;

/** --flags lines as "frame source destination len classes". */
function flagsLines(file: string): string[] {
  const r = runTcpanalyze(['--flags', file]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [frame, , src, dst, len, classes] = l.split('\t');
      return `${frame} ${src} ${dst} ${len} ${classes}`;
    });
}

/** The same lines from the graph data: every logged segment with an analysis bit. */
function graphLines(graphs: ConnGraphData[]): string[] {
  const out: [number, string][] = [];
  for (const g of graphs) {
    const log = g.log;
    assert.equal(log.decimated, false, 'fixtures are small enough to keep every segment');
    for (let i = 0; i < log.n; i++) {
      const row = log.rows.subarray(i * COLS, (i + 1) * COLS);
      const bits = row[Col.BITS]!;
      if (bits === 0) continue;
      const a = ep(g.a, g.aPort), b = ep(g.b, g.bPort);
      const [src, dst] = row[Col.FROM_A] === 1 ? [a, b] : [b, a];
      out.push([row[Col.FRAME]!, `${row[Col.FRAME]} ${src} ${dst} ${row[Col.LEN]} ${flagNames(bits, row[Col.DUP_ACK_NUM]!)}`]);
    }
  }
  return out.sort((x, y) => x[0] - y[0]).map((x) => x[1]);
}

const CAPTURES = ['recorded/http-loss-netem.pcap', 'recorded/http-loss-netem-v6.pcap', 'recorded/zero-window.pcap', 'crafted/scenarios.pcap', 'zeek__tcp-option-sack.pcap', 'deepflow__out-of-order.pcap', 'zeek__tcp-retransmit-fast009.pcap'];

/** Without the tracker's memory of ended connections, the collector's own analysis cannot set reused_ports. */
const noReused = (lines: string[]): string[] => lines.map((l) => l.replace(/,?reused_ports/, '')).filter((l) => !/ $/.test(l));

for (const name of CAPTURES) {
  test(`${name}: every segment's analysis flags in the graph data are the line tcpanalyze --flags prints for it`, async () => {
    const file = join(FIX, name);
    const flags = flagsLines(file);
    assert.deepEqual(graphLines((await collectAll(file, 'full')).graphs), flags, 'the pipeline\'s analysis');
    assert.deepEqual(graphLines((await collectAll(file, 'flows')).graphs), noReused(flags), 'the collector\'s own');
  });

  test(`${name}: the marks of each direction's time-sequence graph count what the conn record counts`, async () => {
    const { graphs, records } = await collectAll(join(FIX, name));
    assert.ok(graphs.length > 0);
    for (const g of graphs) {
      const r = records.get(g.uid)!;
      g.record = r;
      const cc = connCharts(g);
      const want = recordMarks(r);
      for (const d of cc.dirs) {
        for (const k of ['R', 'O', 'P', 'Z', 'dup'] as const) assert.equal(d.marks[k] ?? 0, want[d.dir][k], `${g.uid} ${d.dir} ${k}`);
        // the marks layer holds what the count says
        const tseq = d.charts.find((c) => c.id === 'tseq')!;
        for (const l of tseq.layers.filter((x) => x.kind === 'marks')) assert.equal(l.t.length, d.marks[l.key]);
      }
    }
  });
}

test('the SACK blocks of the lossy download are the segments tcptrace counts as SACK packets (176), in the server\'s sequence space', async () => {
  const { graphs, records } = await collectAll(join(FIX, 'recorded/http-loss-netem.pcap'));
  const g = graphs[0]!;
  g.record = records.get(g.uid)!;
  const resp = connCharts(g).dirs.find((d) => d.dir === 'resp')!;
  assert.equal(resp.marks['sack'], 176);
  const tseq = resp.charts[0]!;
  const seg = tseq.layers.find((l) => l.key === 'seg')!;
  const top = Math.max(...seg.hi!);
  for (const key of ['sack', 'sack2']) {
    const l = tseq.layers.find((x) => x.key === key);
    for (let i = 0; l && i < l.t.length; i++) {
      assert.ok(l.lo![i]! < l.hi![i]! && l.lo![i]! >= 0 && l.hi![i]! <= top + 1, `${key} block ${l.lo![i]}-${l.hi![i]} within the data sent (up to ${top})`);
    }
  }
});

test('the RTT graph ends at the smoothed RTT and RTT variation the conn record reports', async () => {
  const { graphs, records } = await collectAll(join(FIX, 'recorded/http-loss-netem.pcap'));
  const g = graphs[0]!;
  const r = (g.record = records.get(g.uid)!);
  for (const d of connCharts(g).dirs) {
    const rtt = d.charts.find((c) => c.id === 'rtt')!;
    const srtt = rtt.layers.find((l) => l.key === 'srtt')!;
    const rto = rtt.layers.find((l) => l.key === 'rto')!;
    const last = srtt.y!.length - 1;
    assert.equal(srtt.y![last], Math.round((r[`${d.dir}_srtt_ms`] as number) * 1e3) / 1e3);
    const samples = rtt.layers.find((l) => l.key === 'rtt')!;
    assert.equal(samples.t.length, r[`${d.dir}_rtt_samples`], 'one point per RTT sample the record counts (Karn-ambiguous ones apart)');
    assert.ok(Math.abs(rto.hi![last]! - (srtt.y![last]! + 4 * (r[`${d.dir}_rttvar_ms`] as number))) < 0.002);
  }
});

test('sequence numbers are unwrapped past 2^32: the server that starts at ISN 0xffffffff sends from relative 1 upwards', async () => {
  const { graphs } = await collectAll(join(FIX, 'crafted/isn-wrap.pcap'));
  for (const g of graphs) {
    for (const d of connCharts(g).dirs) {
      const seg = d.charts[0]!.layers.find((l) => l.key === 'seg');
      if (!seg) continue;
      for (let i = 0; i < seg.t.length; i++) assert.ok(seg.lo![i]! >= 1 && seg.hi![i]! < 1e7, `segment ${seg.lo![i]}-${seg.hi![i]}`);
    }
  }
});

test('throughput integrates to the payload bytes sent and goodput to the unique bytes (both as the record counts them)', async () => {
  const { graphs, records } = await collectAll(join(FIX, 'recorded/http-loss-netem.pcap'));
  const g = graphs[0]!;
  const r = (g.record = records.get(g.uid)!);
  const resp = connCharts(g).dirs.find((d) => d.dir === 'resp')!;
  const ch = resp.charts.find((c) => c.id === 'tput')!;
  const integral = (key: string): number => {
    const l = ch.layers.find((x) => x.key === key)!;
    let bits = 0;
    for (let i = 0; i + 1 < l.t.length; i++) bits += l.y![i]! * (l.t[i + 1]! - l.t[i]!);
    return bits / 8;
  };
  // each point is rounded to 1 bit/s and each time to 1 µs: allow 0.5 %
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= b * 0.005;
  assert.ok(near(integral('tput'), r['resp_payload_bytes'] as number), `${integral('tput')} vs ${r['resp_payload_bytes']}`);
  assert.ok(near(integral('goodput'), r['resp_unique_bytes'] as number), `${integral('goodput')} vs ${r['resp_unique_bytes']}`);
});
