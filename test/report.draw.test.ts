/**
 * Drawing charts: the page's script is the drawing code itself (evaluated
 * alone it draws what Node draws), standalone SVG files are well-formed and
 * self-contained, thinning never drops a mark, ticks are readable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import type { Chart, Layer } from '../src/graphs/chart.js';
import { drawChart } from '../src/report/draw-chart.js';
import { fmtTick, linearTicks } from '../src/report/draw-axes.js';
import { clientScript, drawingSource } from '../src/report/client-source.js';
import { standaloneSvg } from '../src/report/svg-file.js';

function bigChart(n: number, marks: number): Chart {
  const seg: Layer = { key: 'seg', kind: 'ibeam', t: [], lo: [], hi: [], fr: [], an: [], tf: [] };
  const r: Layer = { key: 'R', kind: 'marks', t: [], y: [], fr: [], an: [], tf: [] };
  for (let i = 0; i < n; i++) {
    seg.t.push(i / n);
    seg.lo!.push(i * 1448);
    seg.hi!.push((i + 1) * 1448);
    seg.fr!.push(i + 1);
    seg.an!.push(0);
    seg.tf!.push(0x18);
  }
  for (let i = 0; i < marks; i++) {
    r.t.push(i / marks);
    r.y!.push(i * 1448 * (n / marks));
    r.fr!.push(i);
    r.an!.push(1);
    r.tf!.push(0x18);
  }
  return { id: 'tseq', title: 'Time-sequence <test> & "quotes"', x: { label: 'time', unit: 's', lo: 0, hi: 1 }, y: { label: 'seq', unit: 'bytes', lo: 0, hi: n * 1448 }, layers: [seg, r], note: 'a note' };
}

test('the page script, evaluated alone, draws exactly what Node draws (it uses no import or module value)', () => {
  const chart = bigChart(3000, 40);
  const o = { width: 700, height: 400, id: 'x', view: { x0: 0.1, x1: 0.6, y0: 0, y1: 2e6 } };
  const sandbox: Record<string, unknown> = { chart, o };
  runInNewContext(`${drawingSource()}\nresult = drawChart(chart, o);`, sandbox);
  assert.equal(sandbox['result'], drawChart(chart, o));
  // the whole client script parses and defines the page entry points
  const names: Record<string, unknown> = {};
  runInNewContext(clientScript('null').replace(/\nreportStart\(null\);\n$/, '\nnames.ok = [typeof reportStart, typeof reportMain, typeof nearestPoint, typeof tooltipHtml];'), { names });
  assert.deepEqual([...(names['ok'] as string[])], ['function', 'function', 'function', 'function']);
});

/** Tag balance of an XML text (no comments or CDATA in ours), and its elements' names. */
function xmlElements(s: string): string[] {
  const stack: string[] = [];
  const seen: string[] = [];
  for (const m of s.replace(/^<\?xml[^>]*\?>\s*/, '').matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, attrs, selfClose] = m;
    assert.ok(!/[<&](?![a-z#]+;)/.test(attrs!), `attribute text escaped in <${name}>`);
    if (close) assert.equal(stack.pop(), name, `closing </${name}>`);
    else {
      seen.push(name!);
      if (!selfClose) stack.push(name!);
    }
  }
  assert.deepEqual(stack, [], 'every element closed');
  return seen;
}

test('a standalone SVG file is well-formed, names the SVG namespace, uses common fonts and loads nothing', () => {
  const svg = standaloneSvg(bigChart(500, 10), 'C1-orig-tseq');
  assert.match(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
  assert.match(svg, /font-family="DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"/);
  assert.doesNotMatch(svg, /href=|url\((?!#)|@import|<image|<script|<foreignObject/);
  const els = new Set(xmlElements(svg));
  for (const e of els) assert.ok(['svg', 'rect', 'text', 'g', 'path', 'circle', 'clipPath', 'title'].includes(e), `element <${e}>`);
  assert.match(svg, /Time-sequence &lt;test&gt; &amp; &quot;quotes&quot;/);
  assert.match(svg, /<title>retransmission: frame 0, 0 s<\/title>/, 'marks carry tooltips where no script runs');
});

test('with more points than pixel columns the segments become one stroke per column, and every mark is still drawn', () => {
  const svg = drawChart(bigChart(50_000, 1234), { width: 800, height: 400, id: 'c' });
  assert.match(svg, /<g class="layer" data-key="seg" data-thinned="50000">/);
  const group = /<g class="layer" data-key="R" data-count="1234" data-drawn="1234"[^>]*>(.*?)<\/g>/.exec(svg);
  assert.ok(group, 'the R marks group');
  assert.equal(group[1]!.match(/<text class="mark"/g)!.length, 1234);
  assert.ok(svg.length < 400_000, `${svg.length} bytes`);
  // zoomed in, only what is in view is drawn
  const z = drawChart(bigChart(50_000, 1234), { width: 800, height: 400, id: 'c', view: { x0: 0.5, x1: 0.51, y0: 0, y1: 1e8 } });
  assert.match(z, /data-key="R" data-count="1234" data-drawn="1[0-9]"/);
  assert.match(z, /<g class="layer" data-key="seg"><path/, 'few enough segments in view to draw each');
});

test('ticks are round numbers with units, one time unit per axis', () => {
  assert.deepEqual(linearTicks(0, 1, 5).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual([0, 0.2, 0.4].map((v) => fmtTick(v, 's', 0.2, 1.2)), ['0.0 s', '0.2 s', '0.4 s']);
  assert.deepEqual([0, 0.05, 0.1].map((v) => fmtTick(v, 's', 0.05, 0.28)), ['0 ms', '50 ms', '100 ms']);
  assert.equal(fmtTick(0.000125, 's', 0.000025, 0.0002), '125 µs');
  assert.equal(fmtTick(1_500_000, 'bytes', 500_000), '1.5 MB');
  assert.equal(fmtTick(250_000, 'bytes', 50_000), '250 kB');
  assert.equal(fmtTick(900, 'bytes', 100), '900 B');
  assert.equal(fmtTick(20_000_000, 'bps', 10_000_000), '20 Mbit/s');
  assert.equal(fmtTick(12.5, 'ms', 2.5), '12.5 ms');
});
