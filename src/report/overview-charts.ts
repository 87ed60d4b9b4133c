/**
 * The overview's charts (src/graphs/chart.ts model): distributions as
 * histograms on a logarithmic axis (RTT, handshake time, duration) or a
 * linear one (retransmission rate), and throughput and connections over
 * capture time.
 */
import type { Chart, Layer } from '../graphs/chart.js';
import type { Histogram } from '../graphs/histogram.js';
import { yRange } from '../graphs/series.js';
import type { Overview } from './overview.js';

function histChart(id: string, title: string, h: Histogram, xLabel: string, unit: Chart['x']['unit'], log: boolean): Chart | null {
  const bins = h.bins();
  if (bins.length === 0) return null;
  const l: Layer = { key: 'hist', kind: 'band', t: [], t2: [], lo: [], hi: [] };
  for (const [a, b, n] of bins) {
    l.t.push(a);
    l.t2!.push(b);
    l.lo!.push(0);
    l.hi!.push(n);
  }
  const extra = [h.zeros > 0 ? `${h.zeros} of exactly 0` : '', h.under > 0 ? `${h.under} below ${bins[0]![0]} ${unit}` : '', h.over > 0 ? `${h.over} above the last bin` : ''].filter((s) => s !== '');
  let max = 0;
  for (const [, , n] of bins) max = Math.max(max, n);
  return {
    id,
    title,
    x: { label: xLabel, unit, lo: bins[0]![0], hi: bins[bins.length - 1]![1], ...(log ? { log: true } : {}) },
    y: { label: 'connections', unit: 'count', lo: 0, hi: max * 1.05 },
    layers: [l],
    note: `${h.n} connections` + (extra.length > 0 ? ` (not drawn: ${extra.join(', ')})` : ''),
  };
}

/** The four distributions that have values. */
export function distributionCharts(ov: Overview): Chart[] {
  const h = ov.hist;
  return [
    histChart('hist-rtt', 'RTT (rtt_ms: handshake RTT, else smoothed)', h.rtt_ms, 'milliseconds', 'ms', true),
    histChart('hist-handshake', 'Handshake time (handshake_ms)', h.handshake_ms, 'milliseconds', 'ms', true),
    histChart('hist-duration', 'Duration', h.duration_s, 'seconds', 's', true),
    histChart('hist-retx', 'Retransmitted segments per packet', h.retransmission_pct, 'percent of the connection\'s packets', 'pct', false),
  ].filter((c): c is Chart => c !== null);
}

/** Throughput (all packets, bits/s per bin) and connections started and open over capture time. */
export function timeCharts(ov: Overview): Chart[] {
  const tb = ov.time;
  const n = tb.used;
  if (n === 0) return [];
  const w = tb.width;
  const bps: Layer = { key: 'bps', kind: 'step', t: [], y: [] };
  const open: Layer = { key: 'open', kind: 'step', t: [], y: [] };
  const started: Layer = { key: 'started', kind: 'step', t: [], y: [] };
  const s = tb.series;
  let running = 0;
  for (let k = 0; k < n; k++) {
    const t = Math.round(k * w * 1e6) / 1e6;
    bps.t.push(t);
    bps.y!.push(Math.round((s['bytes']![k]! * 8) / w));
    // open during bin k: started up to its end, not ended before its start
    running += s['started']![k]!;
    open.t.push(t);
    open.y!.push(running);
    running -= s['ended']![k]!;
    started.t.push(t);
    started.y!.push(s['started']![k]!);
  }
  const x = { label: 'time since the first packet', unit: 's' as const, lo: 0, hi: n * w };
  const [, bHi] = yRange([bps]);
  const [, cHi] = yRange([open, started]);
  const bin = w >= 1 ? `${+w.toPrecision(3)} s` : `${+(w * 1e3).toPrecision(3)} ms`;
  return [
    { id: 'time-bps', title: 'Throughput, all packets', x, y: { label: 'bits per second', unit: 'bps', lo: 0, hi: bHi }, layers: [bps], note: `per ${bin} bin` },
    { id: 'time-conns', title: 'Connections over time', x, y: { label: 'connections', unit: 'count', lo: 0, hi: cHi }, layers: [open, started], note: `per ${bin} bin; open = started by the end of the bin and not ended before it` },
  ];
}
