/**
 * A chart (src/graphs/chart.ts) as an SVG element: title, note, legend,
 * axes with ticks and units, and its layers clipped to the plot area.
 *
 * The drawing thins what cannot be seen, never a mark: when a layer (other
 * than a band) has more points in view than 1.5 times the plot's pixel
 * columns, the points of each column become one vertical stroke from their
 * lowest to their highest value (the envelope at screen resolution). Marks
 * (R, O, Z, P, duplicate-ACK ticks, SYN/FIN/RST) are always drawn one by
 * one, as elements of a group that says how many it has (`data-count`);
 * past 4,000 in view, as one path.
 *
 * Runs in Node and in the browser: see the note in draw-axes.ts.
 */
import type { Chart, Layer } from '../graphs/chart.js';
import { c1, esc, fmtTick, graphStyles, linearTicks, logTicks, type Style } from './draw-axes.js';

export interface View {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export interface DrawOptions {
  width: number;
  height: number;
  /** Element id prefix (clip path ids must be unique in a page). */
  id: string;
  /** The visible domain (default: the chart's axes). */
  view?: View;
  /** A standalone file: xmlns and a white background. */
  standalone?: boolean;
  /** <title> tooltips on marks (for standalone files, where no script runs). */
  titles?: boolean;
}

/** Where the plot area is and what it shows. */
export interface Frame {
  ml: number;
  mt: number;
  pw: number;
  ph: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  xlog: boolean;
  ylog: boolean;
}

export function frameOf(chart: Chart, o: DrawOptions): Frame {
  const legendRows = legendLayout(chart, o.width).rows;
  const mt = 22 + (chart.note ? 14 : 0) + legendRows * 15 + 8;
  const ml = 74, mr = 14, mb = 38;
  const v = o.view ?? { x0: chart.x.lo, x1: chart.x.hi, y0: chart.y.lo, y1: chart.y.hi };
  return { ml, mt, pw: Math.max(20, o.width - ml - mr), ph: Math.max(20, o.height - mt - mb), x0: v.x0, x1: v.x1, y0: v.y0, y1: v.y1, xlog: chart.x.log === true, ylog: chart.y.log === true };
}

export function px(f: Frame, t: number): number {
  if (f.xlog) return f.ml + ((Math.log10(t) - Math.log10(f.x0)) / (Math.log10(f.x1) - Math.log10(f.x0))) * f.pw;
  return f.ml + ((t - f.x0) / (f.x1 - f.x0)) * f.pw;
}

export function py(f: Frame, v: number): number {
  if (f.ylog) return f.mt + f.ph - ((Math.log10(v) - Math.log10(f.y0)) / (Math.log10(f.y1) - Math.log10(f.y0))) * f.ph;
  return f.mt + f.ph - ((v - f.y0) / (f.y1 - f.y0)) * f.ph;
}

/** Legend entries (one per style key, in the style table's order) and how many rows they take. */
export function legendLayout(chart: Chart, width: number): { items: { key: string; x: number; row: number }[]; rows: number } {
  const styles = graphStyles();
  const seen: Record<string, boolean> = {};
  const items: { key: string; x: number; row: number }[] = [];
  let x = 74, row = 0;
  for (const l of chart.layers) seen[l.key] = true;
  for (const key of Object.keys(styles)) {
    if (!seen[key]) continue;
    const wItem = 22 + styles[key]!.label.length * 6 + 14;
    if (x + wItem > width - 10 && x > 74) {
      x = 74;
      row++;
    }
    items.push({ key, x, row });
    x += wItem;
  }
  return { items, rows: items.length > 0 ? row + 1 : 0 };
}

/** The chart as an <svg> element. */
export function drawChart(chart: Chart, o: DrawOptions): string {
  const f = frameOf(chart, o);
  const styles = graphStyles();
  const w = o.width, h = o.height;
  const out: string[] = [];
  out.push(
    `<svg${o.standalone ? ' xmlns="http://www.w3.org/2000/svg"' : ''} class="chart" data-chart="${esc(chart.id)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="DejaVu Sans, Verdana, Arial, Helvetica, sans-serif" font-size="11"` +
      ` data-x0="${f.x0}" data-x1="${f.x1}" data-y0="${f.y0}" data-y1="${f.y1}">`,
  );
  if (o.standalone) out.push(`<rect width="${w}" height="${h}" fill="#ffffff"/>`);
  out.push(`<text x="${f.ml}" y="15" font-size="13" font-weight="bold" fill="#222">${esc(chart.title)}</text>`);
  if (chart.note) out.push(`<text x="${f.ml}" y="30" fill="#555">${esc(chart.note)}</text>`);
  const lg = legendLayout(chart, w);
  const ly = 22 + (chart.note ? 14 : 0) + 8;
  for (const it of lg.items) out.push(legendItem(styles[it.key]!, it.x, ly + it.row * 15));
  out.push(drawAxes(chart, f));
  out.push(`<clipPath id="${esc(o.id)}-clip"><rect x="${f.ml}" y="${f.mt}" width="${f.pw}" height="${f.ph}"/></clipPath><g clip-path="url(#${esc(o.id)}-clip)">`);
  for (const l of chart.layers) out.push(drawLayer(l, f, styles[l.key] ?? { color: '#000', label: l.key }, chart, o));
  out.push('</g>');
  out.push(`<rect x="${f.ml}" y="${f.mt}" width="${f.pw}" height="${f.ph}" fill="none" stroke="#888"/>`);
  out.push('</svg>');
  return out.join('');
}

export function legendItem(s: Style, x: number, y: number): string {
  const col = s.color;
  let sw: string;
  if (s.glyph === 'letter' || s.glyph === 'label') sw = `<text x="${x + 2}" y="${y + 4}" font-weight="bold" font-size="${s.glyph === 'label' ? 8 : 11}" fill="${col}">${esc(s.text ?? '')}</text>`;
  else if (s.glyph === 'dot') sw = `<circle cx="${x + 8}" cy="${y}" r="2.5" fill="${col}"/>`;
  else if (s.glyph === 'band') sw = `<rect x="${x}" y="${y - 5}" width="16" height="10" fill="${col}" fill-opacity="${s.opacity ?? 0.4}"/>`;
  else if (s.glyph === 'tick') sw = `<path d="M${x + 8} ${y - 5}V${y + 5}" stroke="${col}" stroke-width="1.5"/>`;
  else if (s.glyph === 'ibeam') sw = `<path d="M${x + 8} ${y - 5}V${y + 5}M${x + 5} ${y - 5}h6M${x + 5} ${y + 5}h6" stroke="${col}" stroke-width="1.3" fill="none"/>`;
  else sw = `<path d="M${x} ${y}h16" stroke="${col}" stroke-width="2"/>`;
  return `<g class="legend" data-key="${esc(s.label)}">${sw}<text x="${x + 22}" y="${y + 4}" fill="#333">${esc(s.label)}</text></g>`;
}

export function drawAxes(chart: Chart, f: Frame): string {
  const out: string[] = ['<g class="axes">'];
  const xt = f.xlog ? { ticks: logTicks(f.x0, f.x1), step: 0 } : linearTicks(f.x0, f.x1, Math.max(2, Math.floor(f.pw / 90)));
  const yt = f.ylog ? { ticks: logTicks(f.y0, f.y1), step: 0 } : linearTicks(f.y0, f.y1, Math.max(2, Math.floor(f.ph / 38)));
  const xref = Math.max(Math.abs(f.x0), Math.abs(f.x1)), yref = Math.max(Math.abs(f.y0), Math.abs(f.y1));
  const bottom = f.mt + f.ph;
  for (const v of xt.ticks) {
    const x = c1(px(f, v));
    out.push(`<path d="M${x} ${f.mt}V${bottom}" stroke="#ececec"/><path d="M${x} ${bottom}v4" stroke="#888"/>`);
    out.push(`<text x="${x}" y="${bottom + 15}" text-anchor="middle" fill="#333">${esc(fmtTick(v, chart.x.unit, xt.step || v, xref))}</text>`);
  }
  for (const v of yt.ticks) {
    const y = c1(py(f, v));
    out.push(`<path d="M${f.ml} ${y}H${f.ml + f.pw}" stroke="#ececec"/><path d="M${f.ml - 4} ${y}h4" stroke="#888"/>`);
    out.push(`<text x="${f.ml - 6}" y="${y + 4}" text-anchor="end" fill="#333">${esc(fmtTick(v, chart.y.unit, yt.step || v, yref))}</text>`);
  }
  out.push(`<text x="${f.ml + f.pw / 2}" y="${bottom + 31}" text-anchor="middle" fill="#555">${esc(chart.x.label)}</text>`);
  out.push(`<text transform="translate(13 ${f.mt + f.ph / 2}) rotate(-90)" text-anchor="middle" fill="#555">${esc(chart.y.label)}</text>`);
  out.push('</g>');
  return out.join('');
}

/** Indices of the layer's points whose time is in view (with the neighbours just outside, so lines reach the edges). */
export function inView(t: number[], f: Frame, w: number): number[] {
  const idx: number[] = [];
  const n = t.length;
  for (let i = 0; i < n; i++) {
    const a = t[i]!, b = a + w;
    if (b >= f.x0 && a <= f.x1) idx.push(i);
    else if (a < f.x0 && i + 1 < n && t[i + 1]! >= f.x0) idx.push(i);
    else if (a > f.x1 && i > 0 && t[i - 1]! <= f.x1) idx.push(i);
  }
  return idx;
}

/** One layer as a <g>. */
export function drawLayer(l: Layer, f: Frame, s: Style, chart: Chart, o: DrawOptions): string {
  const col = s.color;
  const idx = inView(l.t, f, l.w ?? 0);
  const dense = idx.length > f.pw * 1.5;
  const d: string[] = [];
  const Y = (v: number): number => c1(Math.max(-1e5, Math.min(1e5, py(f, v))));
  const X = (t: number): number => c1(Math.max(-1e5, Math.min(1e5, px(f, t))));
  const gap = (v: number | null | undefined): boolean => v === null || v === undefined || v !== v;
  const head = `<g class="layer" data-key="${esc(l.key)}"`;
  if (l.kind === 'marks') {
    const items: string[] = [];
    const glyph = s.glyph ?? 'letter';
    // past 4,000 in view, marks are drawn as one path of small diamonds
    if (idx.length > 4000) {
      for (const i of idx) d.push(`M${X(l.t[i]!)} ${Y(l.y![i]!) - 3}l3 3l-3 3l-3 -3z`);
      return `${head} data-count="${l.t.length}" data-drawn="${idx.length}" fill="${col}"><path d="${d.join('')}"/></g>`;
    }
    for (const i of idx) {
      const x = X(l.t[i]!), y = Y(l.y![i]!);
      const title = o.titles ? `<title>${esc(`${s.label}: frame ${l.fr ? l.fr[i] : '?'}, ${l.t[i]} s${l.lo && chart.id === 'tseq' ? `, ${markPosition(l.key, l.lo[i]!, l.y![i]!)}` : ''}`)}</title>` : '';
      if (glyph === 'tick') items.push(`<path class="mark" d="M${x} ${y - 4}V${y + 4}">${title}</path>`);
      else if (glyph === 'label') items.push(`<text class="mark" x="${x > f.ml + f.pw - 24 ? x - 2 : x + 2}" y="${y + 11}"${x > f.ml + f.pw - 24 ? ' text-anchor="end"' : ''}>${esc(s.text ?? '')}${title}</text>`);
      else items.push(`<text class="mark" x="${x}" y="${y - 3}" text-anchor="middle">${esc(s.text ?? '')}${title}</text>`);
    }
    const paint = glyph === 'tick' ? `stroke="${col}" stroke-width="1.5" fill="none"` : `fill="${col}" font-weight="bold" font-size="${glyph === 'label' ? 8 : 11}"`;
    return `${head} data-count="${l.t.length}" data-drawn="${idx.length}" ${paint}>${items.join('')}</g>`;
  }
  if (dense && l.kind !== 'band') {
    // one stroke per pixel column, from its lowest to its highest value
    const cols: Record<number, [number, number]> = {};
    for (const i of idx) {
      const c = Math.round(px(f, l.t[i]!));
      const lo = l.lo ? l.lo[i]! : l.y![i]!, hi = l.hi ? l.hi[i]! : l.y![i]!;
      if (gap(lo) || gap(hi)) continue;
      const e = cols[c];
      if (e === undefined) cols[c] = [lo, hi];
      else {
        if (lo < e[0]) e[0] = lo;
        if (hi > e[1]) e[1] = hi;
      }
    }
    for (const k of Object.keys(cols)) {
      const e = cols[Number(k)]!;
      const y0 = Y(e[0]), y1 = Y(e[1]);
      d.push(`M${k} ${y0 + 0.5}V${Math.min(y1, y0 - 0.5) - 0.5}`);
    }
    return `${head} data-thinned="${idx.length}"><path d="${d.join('')}" stroke="${col}" stroke-width="1.2" fill="none"/></g>`;
  }
  if (l.kind === 'ibeam' || l.kind === 'vseg') {
    for (const i of idx) {
      const x = X(l.t[i]!), y0 = Y(l.lo![i]!), y1 = Y(l.hi![i]!);
      d.push(`M${x} ${y0}V${y1}`);
      if (l.kind === 'ibeam' && y0 - y1 > 3) d.push(`M${x - 2} ${y0}h4M${x - 2} ${y1}h4`);
    }
    return `${head}><path d="${d.join('')}" stroke="${col}" stroke-width="${l.kind === 'vseg' ? 2 : 1.3}" fill="none"/></g>`;
  }
  if (l.kind === 'step' || l.kind === 'line') {
    let pen = false;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!;
      const v = l.y![i]!;
      if (gap(v)) {
        pen = false;
        continue;
      }
      const x = X(l.t[i]!), y = Y(v);
      if (!pen) d.push(`M${x} ${y}`);
      else if (l.kind === 'step') d.push(`H${x}V${y}`);
      else d.push(`L${x} ${y}`);
      pen = true;
    }
    if (pen && l.kind === 'step') d.push(`H${X(Math.min(chart.x.hi, f.x1 + (f.x1 - f.x0)))}`);
    return `${head}><path d="${d.join('')}" stroke="${col}" stroke-width="${l.key === 'win' || l.key === 'rwnd' ? 1.2 : 1.5}" fill="none" stroke-linejoin="round"/></g>`;
  }
  if (l.kind === 'dots') {
    for (const i of idx) {
      const v = l.y![i]!;
      if (gap(v)) continue;
      d.push(`M${X(l.t[i]!) - 1.6} ${Y(v)}a1.6 1.6 0 1 0 3.2 0a1.6 1.6 0 1 0 -3.2 0`);
    }
    return `${head}><path d="${d.join('')}" fill="${col}"/></g>`;
  }
  // band
  const op = s.opacity ?? 0.45;
  if (l.w !== undefined || l.t2 !== undefined) {
    for (const i of idx) {
      const x0 = X(l.t[i]!), x1 = Math.max(X(l.t2 !== undefined ? l.t2[i]! : l.t[i]! + l.w!), x0 + 1);
      d.push(`M${x0} ${Y(l.lo![i]!)}H${x1}V${Y(l.hi![i]!)}H${x0}Z`);
    }
    return `${head}><path d="${d.join('')}" fill="${col}" fill-opacity="${op}" stroke="${col}" stroke-opacity="${op}" stroke-width="0.5"/></g>`;
  }
  // held from each point to the next (the last to the end of the axis)
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    const a = l.lo![i]!, b = l.hi![i]!;
    if (gap(a) || gap(b)) continue;
    const x0 = X(l.t[i]!), x1 = k + 1 < idx.length ? X(l.t[idx[k + 1]!]!) : X(Math.min(chart.x.hi, f.x1 + (f.x1 - f.x0)));
    if (x1 > x0) d.push(`M${x0} ${Y(a)}H${x1}V${Y(b)}H${x0}Z`);
  }
  return `${head}><path d="${d.join('')}" fill="${col}" fill-opacity="${op}"/></g>`;
}

/** Where a time-sequence mark sits: the sender's segment (seq lo..y) or the receiver's ACK (y). */
export function markPosition(key: string, lo: number, y: number): string {
  if (key === 'dup' || key === 'Z') return `ACK ${y}`;
  if (key === 'syn' || (key === 'rst' && lo === y)) return `seq ${y}`;
  return `seq ${lo}–${y} (${y - lo} bytes)`;
}
