/**
 * The HTML report's script: draws each selected connection's graphs from
 * the data embedded in the page (with draw-chart.ts, the same code that
 * writes the standalone SVG files), and makes them interactive:
 *
 *  - the direction buttons switch between the data each endpoint sent;
 *  - the mouse wheel zooms around the pointer (both axes; Shift: time only,
 *    Alt: values only); the four graphs of a connection share the time axis;
 *  - dragging pans; a double click or the reset button restores the view;
 *  - hovering shows the nearest segment, ACK, sample or mark: its frame
 *    number, time, sequence or ACK numbers and analysis flags.
 *
 * Every function here runs in the browser only (the page inlines their
 * source, client-source.ts) and uses only its arguments, built-ins, the
 * page's DOM and the functions of draw-axes.ts and draw-chart.ts.
 */
import type { Chart, ConnCharts, Layer } from '../graphs/chart.js';
import { esc, fmtValue, graphStyles } from './draw-axes.js';
import { drawChart, frameOf, markPosition, px, py, type Frame } from './draw-chart.js';

// the browser's globals (this project compiles without the DOM library)
declare const document: any;
declare const window: any;

export interface ReportPayload {
  flagNames: string[];
  conns: ConnCharts[];
}

/**
 * Decodes the page's data (gzip-compressed JSON in base64, with the
 * browser's DecompressionStream), draws the graphs, and marks the page
 * ready (`<body data-ready>`, which the browser test waits for).
 */
export function reportStart(el: any): void {
  const bin = window.atob(el.textContent.trim());
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const fail = (e: any): void => {
    document.body.setAttribute('data-ready', 'error');
    const p = document.createElement('p');
    p.className = 'none';
    p.textContent = `The graphs could not be drawn: ${e && e.message ? e.message : e} (this browser needs DecompressionStream: Chrome 80, Firefox 113, Safari 16.4 or later).`;
    document.getElementById('connections').appendChild(p);
    throw e;
  };
  if (typeof window.DecompressionStream !== 'function') return fail(new Error('no DecompressionStream'));
  const stream = new window.Blob([bytes]).stream().pipeThrough(new window.DecompressionStream('gzip'));
  new window.Response(stream)
    .json()
    .then((data: ReportPayload) => {
      reportMain(data);
      document.body.setAttribute('data-ready', 'yes');
    })
    .catch(fail);
}

/** Heights of the graphs in the page, by chart id. */
export function chartHeight(id: string): number {
  return id === 'tseq' ? 460 : 300;
}

/** Sets up every connection section of the page. */
export function reportMain(data: ReportPayload): void {
  const tip = document.createElement('div');
  tip.className = 'tip';
  document.body.appendChild(tip);
  const sections = document.querySelectorAll('section.conn');
  for (const sec of sections) {
    const cc: ConnCharts = data.conns[Number(sec.getAttribute('data-index'))]!;
    const st = { dir: defaultDir(cc), x0: 0, x1: 0, y: {} as Record<string, [number, number]>, pending: false };
    const boxes = sec.querySelectorAll('.chart-box');
    const charts = (): Chart[] => cc.dirs[st.dir]!.charts;
    const reset = (): void => {
      const c0 = charts()[0]!;
      st.x0 = c0.x.lo;
      st.x1 = c0.x.hi;
      st.y = {};
      for (const c of charts()) st.y[c.id] = [c.y.lo, c.y.hi];
    };
    const opts = (box: any, c: Chart): any => ({ width: Math.max(480, box.clientWidth || 900), height: chartHeight(c.id), id: `${cc.uid}-${c.id}`, view: { x0: st.x0, x1: st.x1, y0: st.y[c.id]![0], y1: st.y[c.id]![1] } });
    const render = (): void => {
      st.pending = false;
      const list = charts();
      for (let k = 0; k < boxes.length; k++) {
        const c = list[k];
        if (c !== undefined) boxes[k].innerHTML = drawChart(c, opts(boxes[k], c));
      }
      for (const b of sec.querySelectorAll('button.dir')) b.classList.toggle('on', Number(b.getAttribute('data-dir')) === st.dir);
      const m = cc.dirs[st.dir]!.marks;
      const info = sec.querySelector('.marks-info');
      if (info) info.textContent = Object.keys(m).filter((k) => m[k]! > 0).map((k) => `${graphStyles()[k]?.label ?? k}: ${m[k]}`).join(' · ') || 'no marks';
    };
    const later = (): void => {
      if (!st.pending) {
        st.pending = true;
        window.requestAnimationFrame(render);
      }
    };
    reset();
    render();
    for (const b of sec.querySelectorAll('button.dir')) {
      b.addEventListener('click', () => {
        st.dir = Number(b.getAttribute('data-dir'));
        reset();
        render();
      });
    }
    const rb = sec.querySelector('button.reset');
    if (rb) rb.addEventListener('click', () => {
      reset();
      render();
    });
    for (let k = 0; k < boxes.length; k++) {
      const box = boxes[k];
      let drag: { mx: number; my: number; x0: number; x1: number; y: [number, number] } | null = null;
      const at = (e: any): { c: Chart; f: Frame; mx: number; my: number } => {
        const c = charts()[k]!;
        const r = box.getBoundingClientRect();
        return { c, f: frameOf(c, opts(box, c)), mx: e.clientX - r.left, my: e.clientY - r.top };
      };
      box.addEventListener('wheel', (e: any) => {
        e.preventDefault();
        const { c, f, mx, my } = at(e);
        const z = e.deltaY > 0 ? 1.25 : 0.8;
        const tx = st.x0 + ((mx - f.ml) / f.pw) * (st.x1 - st.x0);
        const yv = st.y[c.id]!;
        const ty = yv[0] + ((f.mt + f.ph - my) / f.ph) * (yv[1] - yv[0]);
        if (!e.altKey) {
          st.x0 = tx - (tx - st.x0) * z;
          st.x1 = tx + (st.x1 - tx) * z;
        }
        if (!e.shiftKey) st.y[c.id] = [ty - (ty - yv[0]) * z, ty + (yv[1] - ty) * z];
        later();
      }, { passive: false });
      box.addEventListener('mousedown', (e: any) => {
        const { c, mx, my } = at(e);
        drag = { mx, my, x0: st.x0, x1: st.x1, y: [st.y[c.id]![0], st.y[c.id]![1]] };
        e.preventDefault();
      });
      box.addEventListener('mousemove', (e: any) => {
        const { c, f, mx, my } = at(e);
        if (drag !== null && e.buttons === 1) {
          const dx = ((mx - drag.mx) / f.pw) * (drag.x1 - drag.x0);
          const dy = ((my - drag.my) / f.ph) * (drag.y[1] - drag.y[0]);
          st.x0 = drag.x0 - dx;
          st.x1 = drag.x1 - dx;
          st.y[c.id] = [drag.y[0] + dy, drag.y[1] + dy];
          tip.style.display = 'none';
          later();
          return;
        }
        drag = null;
        const hit = nearestPoint(c, f, mx, my);
        if (hit === null) {
          tip.style.display = 'none';
          return;
        }
        tip.innerHTML = tooltipHtml(c, hit.layer, hit.i, data.flagNames);
        tip.style.display = 'block';
        tip.style.left = `${Math.min(e.clientX + 14, window.innerWidth - 330)}px`;
        tip.style.top = `${e.clientY + 14}px`;
      });
      box.addEventListener('mouseup', () => {
        drag = null;
      });
      box.addEventListener('mouseleave', () => {
        drag = null;
        tip.style.display = 'none';
      });
      box.addEventListener('dblclick', () => {
        reset();
        render();
      });
    }
  }
}

/** The direction shown first: the one with more retransmissions, else more segments. */
export function defaultDir(cc: ConnCharts): number {
  let best = 0, bestScore = -1;
  cc.dirs.forEach((d, i) => {
    const seg = d.charts[0]!.layers.find((l) => l.key === 'seg');
    const score = (d.marks['R'] ?? 0) * 1e9 + (seg ? seg.t.length : 0);
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  });
  return best;
}

/** The point of a hoverable layer (one with frame numbers) nearest to (mx, my), within 10 pixels; marks win ties. */
export function nearestPoint(c: Chart, f: Frame, mx: number, my: number): { layer: Layer; i: number } | null {
  let best: { layer: Layer; i: number } | null = null;
  let bestD = 10;
  for (const l of c.layers) {
    if (!l.fr) continue;
    const bias = l.kind === 'marks' ? 4 : 0;
    // a mark is found where its glyph is drawn: a letter above its point, a label below, a tick on it
    const glyph = l.kind === 'marks' ? (graphStyles()[l.key]?.glyph ?? 'letter') : 'tick';
    const off = glyph === 'letter' ? -7 : glyph === 'label' ? 8 : 0;
    for (let i = 0; i < l.t.length; i++) {
      const t = l.t[i]!;
      let dx: number;
      if (l.w !== undefined) {
        const a = px(f, t), b = px(f, t + l.w);
        dx = mx < a ? a - mx : mx > b ? mx - b : 0;
      } else dx = Math.abs(px(f, t) - mx);
      if (dx > bestD + bias) continue;
      let dy: number;
      if (l.y) {
        const v = l.y[i]!;
        if (v === null || v !== v) continue;
        dy = Math.abs(py(f, v) + off - my);
      } else {
        const a = py(f, l.hi![i]!), b = py(f, l.lo![i]!);
        dy = my < a ? a - my : my > b ? my - b : 0;
      }
      const d = Math.sqrt(dx * dx + dy * dy) - bias;
      if (d < bestD) {
        bestD = d;
        best = { layer: l, i };
      }
    }
  }
  return best;
}

/** The tooltip of point i of a layer: what it is, its frame(s), time, values and flags. */
export function tooltipHtml(c: Chart, l: Layer, i: number, flagNames: string[]): string {
  const s = graphStyles()[l.key];
  const rows: string[] = [`<b>${esc(s ? s.label : l.key)}</b>`];
  if (l.n) rows.push(`${l.n[i]} segments, frames ${l.fr![i]}–${l.fr2![i]}`);
  else rows.push(`frame ${l.fr![i]}`);
  rows.push(`time ${fmtValue(l.t[i]!, 's')}${l.w !== undefined ? ` – ${fmtValue(l.t[i]! + l.w, 's')}` : ''}`);
  const u = c.y.unit;
  if (l.kind === 'ibeam') rows.push(`seq ${l.lo![i]}–${l.hi![i]} (${l.hi![i]! - l.lo![i]!} bytes)`);
  else if (l.kind === 'marks' && l.lo && l.y) rows.push(markPosition(l.key, l.lo[i]!, l.y[i]!));
  else if (l.lo && l.hi) {
    // a decimated bucket's range, in the time-sequence graph named by what it is the range of
    const what: Record<string, string> = { seg: 'seq ', ack: 'ACK ', win: 'ACK + window ', sack: 'SACK edges ' };
    rows.push(`${c.id === 'tseq' ? (what[l.key] ?? '') : ''}${fmtValue(l.lo[i]!, u)} – ${fmtValue(l.hi[i]!, u)}`);
  }
  else if (l.y) {
    // what the value is, in the time-sequence graph
    const what: Record<string, string> = { ack: 'ACK ', dup: 'ACK ', Z: 'ACK ', win: 'ACK + window ', R: 'next seq ', O: 'next seq ', P: 'next seq ', fin: 'next seq ', syn: 'seq ', rst: 'seq ' };
    rows.push(`${c.id === 'tseq' ? (what[l.key] ?? '') : ''}${fmtValue(l.y[i]!, u)}`);
  }
  if (l.tf) {
    const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
    const tf = l.tf[i]!;
    rows.push('TCP ' + names.filter((_, b) => tf & (1 << b)).join(' '));
  }
  if (l.an && l.an[i]) {
    const an = l.an[i]!;
    rows.push('<i>' + flagNames.filter((_, b) => an & (1 << b)).join(', ') + '</i>');
  }
  return rows.join('<br>');
}
