/**
 * Scales, ticks, number formats and the style table of the graphs.
 *
 * These functions run in Node (standalone SVG files) and in the browser
 * (the HTML report inlines their source, src/report/client-source.ts): each
 * uses only its arguments, built-ins and the other functions listed in
 * CLIENT_FUNCTIONS, never an import or a module-level value.
 */
import type { Unit } from '../graphs/chart.js';

export interface Style {
  color: string;
  label: string;
  /** How a legend swatch and a marks layer look. */
  glyph?: 'letter' | 'tick' | 'label' | 'dot' | 'band' | 'line' | 'ibeam';
  /** The letter or label of a marks layer. */
  text?: string;
  opacity?: number;
}

/**
 * The colours: Wireshark's tcptrace graph for segments (#204a87), the ACK
 * line and duplicate-ACK ticks (#725000), the receive window (#4e9a06) and
 * SACK blocks (#cc0000 the first, #600000 the others); tcptrace's letters
 * R (red), O (orange), Z (magenta), P (pink) for the marks.
 */
export function graphStyles(): Record<string, Style> {
  return {
    seg: { color: '#204a87', label: 'segment (I-beam: its first to last byte)', glyph: 'ibeam' },
    ack: { color: '#725000', label: 'ACK line', glyph: 'line' },
    win: { color: '#4e9a06', label: 'receive window (ACK + window)', glyph: 'line' },
    sack: { color: '#cc0000', label: 'SACK block (first)', glyph: 'ibeam' },
    sack2: { color: '#600000', label: 'SACK block (others)', glyph: 'ibeam' },
    dup: { color: '#725000', label: 'duplicate ACK', glyph: 'tick' },
    R: { color: '#cc0000', label: 'retransmission', glyph: 'letter', text: 'R' },
    O: { color: '#ce5c00', label: 'out-of-order', glyph: 'letter', text: 'O' },
    Z: { color: '#c000c0', label: 'zero window', glyph: 'letter', text: 'Z' },
    P: { color: '#e0529c', label: 'zero-window probe', glyph: 'letter', text: 'P' },
    syn: { color: '#2e3436', label: 'SYN', glyph: 'label', text: 'SYN' },
    fin: { color: '#2e3436', label: 'FIN', glyph: 'label', text: 'FIN' },
    rst: { color: '#a40000', label: 'RST', glyph: 'label', text: 'RST' },
    rtt: { color: '#204a87', label: 'RTT sample', glyph: 'dot' },
    'rtt-karn': { color: '#888a85', label: 'RTT of resent data (not in SRTT)', glyph: 'dot' },
    srtt: { color: '#ce5c00', label: 'smoothed RTT', glyph: 'line' },
    rto: { color: '#fcaf3e', label: 'RTO (SRTT + 4 RTTVAR)', glyph: 'band', opacity: 0.35 },
    tput: { color: '#204a87', label: 'throughput', glyph: 'line' },
    goodput: { color: '#4e9a06', label: 'goodput (bytes not sent before)', glyph: 'line' },
    bif: { color: '#204a87', label: 'bytes in flight', glyph: 'dot' },
    rwnd: { color: '#4e9a06', label: 'receive window', glyph: 'line' },
    cwnd: { color: '#75507b', label: 'congestion-limited level (estimate)', glyph: 'line' },
    hist: { color: '#3465a4', label: 'connections', glyph: 'band', opacity: 0.85 },
    bps: { color: '#204a87', label: 'bits per second', glyph: 'line' },
    open: { color: '#75507b', label: 'connections open', glyph: 'line' },
    started: { color: '#4e9a06', label: 'connections started', glyph: 'line' },
  };
}

/** A round step (1, 2 or 5 times a power of ten) for about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** Tick values of a linear axis, and their step. */
export function linearTicks(lo: number, hi: number, count: number): { ticks: number[]; step: number } {
  if (!(hi > lo)) return { ticks: [lo], step: 1 };
  let step = niceStep(hi - lo, count);
  if ((hi - lo) / step > 50) step = (hi - lo) / 50;
  const ticks: number[] = [];
  // multiples of the step, rounded to 12 digits (0.6, not 0.6000000000000001)
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(k === 0 ? 0 : +(k * step).toPrecision(12));
  return { ticks, step };
}

/** Tick values of a logarithmic axis: powers of ten, with 2 and 5 when few decades are shown. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
  const mult = b - a <= 3 ? [1, 2, 5] : [1];
  for (let e = a; e <= b; e++) for (const m of mult) {
    const v = m * Math.pow(10, e);
    if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
  }
  return out;
}

/** A number as digits and an SI prefix (k, M, G), with the digits `step` needs (at most 3 decimals). */
export function siParts(v: number, step: number): [string, string] {
  const a = Math.abs(v);
  const units: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [f, s] of units) if (a >= f) return [fmtPlain(v / f, Math.min(step / f, 1)), s];
  return [fmtPlain(v, Math.min(step, 1)), ''];
}

/** Digits of v for a step: as many decimals as the step has (up to 6). */
export function fmtPlain(v: number, step: number): string {
  let digits = 0;
  if (step > 0 && step < 1) {
    const m = /e-(\d+)$/.exec(String(+step.toPrecision(10)));
    digits = m ? Number(m[1]) : (String(+step.toPrecision(10)).split('.')[1] ?? '').length;
  } else if (step > 0 && step % 1 !== 0) digits = (String(+step.toPrecision(10)).split('.')[1] ?? '').length;
  return v.toFixed(Math.min(6, digits));
}

/** A tick label for a value of `unit`, knowing the tick step and the largest magnitude on the axis (one time unit per axis). */
export function fmtTick(v: number, unit: Unit, step: number, ref: number = Math.abs(v)): string {
  if (unit === 's') {
    const s = Math.max(ref, step);
    if (s >= 1) return fmtPlain(v, step) + ' s';
    if (s >= 1e-3) return fmtPlain(v * 1e3, step * 1e3) + ' ms';
    return fmtPlain(v * 1e6, step * 1e6) + ' µs';
  }
  if (unit === 'ms') return fmtPlain(v, step) + ' ms';
  if (unit === 'pct') return fmtPlain(v, step) + ' %';
  const [n, p] = siParts(v, step);
  if (unit === 'bps') return n + ' ' + p + 'bit/s';
  if (unit === 'bytes') return n + ' ' + p + 'B';
  return n + p;
}

/** A value for a tooltip: full precision the unit deserves. */
export function fmtValue(v: number, unit: Unit): string {
  if (v === null || v !== v) return '–';
  if (unit === 's') return v.toFixed(6) + ' s';
  if (unit === 'ms') return v.toFixed(3) + ' ms';
  if (unit === 'bps') return siParts(v, Math.abs(v) / 1000 || 1).join(' ') + 'bit/s';
  if (unit === 'pct') return v.toFixed(2) + ' %';
  return String(Math.round(v));
}

/** Escapes text for SVG and HTML. */
export function esc(s: string): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A coordinate with one decimal. */
export function c1(v: number): number {
  return Math.round(v * 10) / 10;
}
