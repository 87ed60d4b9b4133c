/**
 * From a connection's SegmentLog to its charts (chart.ts), per direction of
 * data: the time-sequence graph in tcptrace's vocabulary, RTT, throughput and
 * goodput, and bytes in flight against the receive window and the
 * congestion-limited level. What each line means is in docs/graphs.md.
 *
 * A direction's graphs show the data one endpoint (the sender) sent and what
 * the other (the receiver) answered: its ACKs, windows, SACK blocks,
 * duplicate ACKs and zero windows, and the RTT samples its ACKs gave.
 * Marks come from the analysis bits of the segments, so they are the
 * segments `tcpanalyze --flags` prints: R = retransmission (tshark sets it on
 * fast and spurious retransmissions too), O = out-of-order, P = zero-window
 * probe (sender's), Z = zero window (receiver's), ticks = duplicate ACKs
 * (receiver's); SYN, FIN and RST labels.
 */
import { Flag } from '../analysis/seq-analysis.js';
import type { RecordValues } from '../records/schema.js';
import type { ConnGraphData } from './collector.js';
import { B, Col, COLS, type SegmentLog } from './segment-log.js';
import type { Axis, Chart, ConnCharts, DirCharts, Layer, Unit } from './chart.js';

const FIN = 0x01, SYN = 0x02, RST = 0x04;

/** Moving-average windows the throughput graph picks from (seconds). */
const MA_WINDOWS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/** The moving-average window for a connection lasting `duration` s: about 1/50 of it, 1 ms to 1 s (Wireshark's default is 1 s), never narrower than a bucket. */
export function maWindow(duration: number, bucketWidth = 0): number {
  let w = MA_WINDOWS[0]!;
  for (const c of MA_WINDOWS) if (c <= duration / 50) w = c;
  return Math.max(w, bucketWidth);
}

const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;
const r3 = (x: number): number => Math.round(x * 1e3) / 1e3;

function layer(key: string, kind: Layer['kind'], cols: (keyof Layer)[]): Layer {
  const l: Layer = { key, kind, t: [] };
  for (const c of cols) (l as unknown as Record<string, number[]>)[c] = [];
  return l;
}

/** The charts of one connection. */
export function connCharts(g: ConnGraphData): ConnCharts {
  const log = g.log;
  const o = g.origIsA ? [g.a, g.aPort] : [g.b, g.bPort];
  const p = g.origIsA ? [g.b, g.bPort] : [g.a, g.aPort];
  const ep = (x: (string | number)[]): string => (String(x[0]).includes(':') ? `[${x[0]}]:${x[1]}` : `${x[0]}:${x[1]}`);
  const duration = durationOf(g);
  let marksOver = 0;
  if (log.buckets !== null) for (let k = 0; k < log.opts.buckets; k++) marksOver += log.bucketField(k, 0, B.MARKS_OVER) + log.bucketField(k, 1, B.MARKS_OVER);
  return {
    uid: g.uid,
    tcpStream: g.tcpStream,
    title: `${ep(o)} → ${ep(p)}`,
    t0: `${g.firstSec}.${String(g.firstNsec).padStart(9, '0')}`,
    duration: r6(duration),
    segments: log.segments,
    decimated: log.buckets !== null ? { rows: log.n, bucketWidth: log.width, buckets: log.opts.buckets, marksOver } : null,
    dirs: [dirCharts(g, 'orig', ep(o), ep(p), duration), dirCharts(g, 'resp', ep(p), ep(o), duration)],
  };
}

function durationOf(g: ConnGraphData): number {
  const d = g.record?.['duration'];
  if (d !== undefined && d !== null && Number.isFinite(Number(d))) return Number(d);
  const log = g.log;
  let t = 0;
  for (let i = 0; i < log.n; i++) t = Math.max(t, log.rows[i * COLS + Col.T]!);
  if (log.buckets !== null) t = Math.max(t, log.width * log.opts.buckets);
  return t;
}

/** The graphs of the data `dir` sent. */
export function dirCharts(g: ConnGraphData, dir: 'orig' | 'resp', from: string, to: string, duration = durationOf(g)): DirCharts {
  const senderIsA = (dir === 'orig') === g.origIsA;
  const d = new _DirSeries(g.log, senderIsA, duration);
  const charts = [d.timeSequence(), d.rtt(), d.throughput(), d.inFlight()];
  return { dir, label: `${from} → ${to}`, charts, marks: d.markCounts() };
}

/** Builds one direction's series from the rows (and the buckets of a decimated log). */
export class _DirSeries {
  private readonly rows: Float64Array;
  private readonly n: number;
  /** Side of the sender in the rows' FROM_A column (1 = A) and in the buckets (0 = A). */
  private readonly senderRow: number;
  private readonly senderSide: number;
  private readonly decimated: boolean;
  private marks: Record<string, number> = {};

  constructor(
    private readonly log: SegmentLog,
    senderIsA: boolean,
    private readonly duration: number,
  ) {
    this.rows = log.rows;
    this.n = log.n;
    this.senderRow = senderIsA ? 1 : 0;
    this.senderSide = senderIsA ? 0 : 1;
    this.decimated = log.buckets !== null;
  }

  markCounts(): Record<string, number> {
    return this.marks;
  }

  private fromSender(i: number): boolean {
    return this.rows[i * COLS + Col.FROM_A] === this.senderRow;
  }

  private v(i: number, c: number): number {
    return this.rows[i * COLS + c]!;
  }

  private xAxis(): Axis {
    return { label: 'time since the first packet', unit: 's', lo: 0, hi: this.duration > 0 ? this.duration : 1e-3 };
  }

  private chart(id: string, title: string, yLabel: string, unit: Unit, layers: Layer[], note?: string, yFrom?: (l: Layer) => boolean): Chart {
    const kept = layers.filter((l) => l.t.length > 0);
    const [lo, hi] = yRange(kept.filter(yFrom ?? (() => true)));
    return { id, title, x: this.xAxis(), y: { label: yLabel, unit, lo, hi }, layers: kept, ...(note !== undefined ? { note } : {}) };
  }

  /** The time-sequence graph (tcptrace's): the sender's segments, the receiver's ACK line, window line, SACK blocks, and the marks. */
  timeSequence(): Chart {
    const seg = layer('seg', 'ibeam', ['lo', 'hi', 'fr', 'an', 'tf']);
    const ack = layer('ack', 'step', ['y', 'fr']);
    const win = layer('win', 'step', ['y', 'fr']);
    const sack = layer('sack', 'vseg', ['lo', 'hi', 'fr']);
    const sack2 = layer('sack2', 'vseg', ['lo', 'hi', 'fr']);
    const mk: Record<string, Layer> = {};
    // lo: where the sender's segment starts (its end is y); the ACK (y) for a mark of the receiver
    const mark = (key: string, i: number, y: number, lo = y): void => {
      const l = (mk[key] ??= layer(key, 'marks', ['y', 'lo', 'fr', 'an', 'tf']));
      l.t.push(r6(this.v(i, Col.T)));
      l.y!.push(y);
      l.lo!.push(lo);
      l.fr!.push(this.v(i, Col.FRAME));
      l.an!.push(this.v(i, Col.BITS));
      l.tf!.push(this.v(i, Col.TCP_FLAGS));
    };
    const sk = this.log.sack;
    for (let i = 0; i < this.n; i++) {
      const t = r6(this.v(i, Col.T)), fr = this.v(i, Col.FRAME);
      const bits = this.v(i, Col.BITS), tf = this.v(i, Col.TCP_FLAGS);
      if (this.fromSender(i)) {
        const seq = this.v(i, Col.SEQ), len = this.v(i, Col.LEN);
        if (len > 0) {
          seg.t.push(t);
          seg.lo!.push(seq);
          seg.hi!.push(seq + len);
          seg.fr!.push(fr);
          seg.an!.push(bits);
          seg.tf!.push(tf);
        }
        const top = seq + len;
        if (bits & Flag.RETRANSMISSION) mark('R', i, top, seq);
        if (bits & Flag.OUT_OF_ORDER) mark('O', i, top, seq);
        if (bits & Flag.ZERO_WINDOW_PROBE) mark('P', i, top, seq);
        if (tf & SYN) mark('syn', i, seq);
        if (tf & FIN) mark('fin', i, top, seq);
        if (tf & RST) mark('rst', i, seq);
      } else {
        const a = this.v(i, Col.ACK);
        if (a === a) {
          if (!this.decimated) {
            ack.t.push(t);
            ack.y!.push(a);
            ack.fr!.push(fr);
            win.t.push(t);
            win.y!.push(a + this.v(i, Col.WIN));
            win.fr!.push(fr);
          }
          if (bits & Flag.DUPLICATE_ACK) mark('dup', i, a);
          if (bits & Flag.ZERO_WINDOW) mark('Z', i, a);
          if (tf & RST) mark('rst', i, a);
        }
        const ns = this.v(i, Col.SACK_N);
        if (ns > 0 && !this.decimated) {
          const at = this.v(i, Col.SACK_AT);
          for (let k = 0; k < ns; k++) {
            const l = k === 0 ? sack : sack2;
            l.t.push(t);
            l.lo!.push(sk[at + 2 * k]!);
            l.hi!.push(sk[at + 2 * k + 1]!);
            l.fr!.push(fr);
          }
        }
      }
    }
    for (const [k, l] of Object.entries(mk)) this.marks[k] = l.t.length;
    this.marks['sack'] = sack.t.length;
    const layers: Layer[] = [win, ack, sack2, sack, seg];
    let note: string | undefined;
    if (this.decimated) {
      const s = this.senderSide, rcv = 1 - s;
      layers.unshift(this.band('win', rcv, B.EDGE_LO, B.EDGE_HI), this.band('ack', rcv, B.ACK_LO, B.ACK_HI), this.band('sack', rcv, B.SACK_LO, B.SACK_HI), this.band('seg', s, B.SEQ_LO, B.SEQ_HI));
      note = this.decimationNote();
    }
    // marks on top, in a fixed order; the window line does not stretch the y axis (zoom out to see it)
    for (const k of ['dup', 'Z', 'P', 'O', 'R', 'syn', 'fin', 'rst']) if (mk[k]) layers.push(mk[k]!);
    return this.chart('tseq', 'Time-sequence (tcptrace)', 'relative sequence number', 'bytes', layers, note, (l) => l.key !== 'win');
  }

  private decimationNote(): string {
    const w = this.log.width;
    return `decimated: ${this.log.segments.toLocaleString('en-US')} segments; every marked segment drawn, the rest as their envelope per ${fmtSeconds(w)} bucket`;
  }

  /** A band layer of bucket fields lo..hi of `side`. */
  private band(key: string, side: number, fLo: number, fHi: number): Layer {
    const l = layer(key, 'band', ['lo', 'hi', 'n', 'fr', 'fr2']);
    const log = this.log;
    l.w = log.width;
    for (let k = 0; k < log.opts.buckets; k++) {
      const a = log.bucketField(k, side, fLo), b = log.bucketField(k, side, fHi);
      if (!(a <= b)) continue;
      l.t.push(r6(k * log.width));
      l.lo!.push(a);
      l.hi!.push(b);
      l.n!.push(log.bucketField(k, side, B.N));
      l.fr!.push(log.bucketField(k, side, B.FRAME_LO));
      l.fr2!.push(log.bucketField(k, side, B.FRAME_HI));
    }
    return l;
  }

  /** RTT samples (the receiver's ACKs of the sender's data) with the smoothed RTT and the RTO band (SRTT + 4 RTTVAR, RFC 6298, without a minimum). */
  rtt(): Chart {
    const rtt = layer('rtt', 'dots', ['y', 'fr']);
    const karn = layer('rtt-karn', 'dots', ['y', 'fr']);
    const srtt = layer('srtt', 'step', ['y']);
    const rto = layer('rto', 'band', ['lo', 'hi']);
    const pushSmooth = (t: number, s: number, v: number): void => {
      srtt.t.push(t);
      srtt.y!.push(r3(s));
      rto.t.push(t);
      rto.lo!.push(r3(s));
      rto.hi!.push(r3(s + 4 * v));
    };
    const layers: Layer[] = [rto, srtt, karn, rtt];
    if (this.decimated) {
      const log = this.log, rcv = 1 - this.senderSide;
      layers.unshift(this.band('rtt', rcv, B.RTT_LO, B.RTT_HI));
      for (let k = 0; k < log.opts.buckets; k++) {
        const s = log.bucketField(k, rcv, B.SRTT);
        if (s === s) pushSmooth(r6((k + 1) * log.width), s, log.bucketField(k, rcv, B.RTTVAR));
      }
    }
    // a decimated log keeps marked segments only: their samples would not be the samples; the buckets' envelope is
    for (let i = 0; i < (this.decimated ? 0 : this.n); i++) {
      if (this.fromSender(i)) continue;
      const ms = this.v(i, Col.RTT);
      if (ms !== ms) continue;
      const t = r6(this.v(i, Col.T));
      const l = this.v(i, Col.RTT_VALID) === 1 ? rtt : karn;
      l.t.push(t);
      l.y!.push(r3(ms));
      l.fr!.push(this.v(i, Col.FRAME));
      const s = this.v(i, Col.SRTT);
      if (s === s && l === rtt) pushSmooth(t, s, this.v(i, Col.RTTVAR));
    }
    return this.chart('rtt', 'Round-trip time', 'RTT', 'ms', layers, this.decimated ? this.decimationNote() : undefined);
  }

  /** Throughput (every payload byte sent, retransmissions too) and goodput (bytes not seen before: the record's unique bytes), moving averages in bits/s. */
  throughput(): Chart {
    const win = maWindow(this.duration, this.decimated ? this.log.width : 0);
    // the moving average is constant between the instants it changes
    const tput = layer('tput', 'step', ['y']);
    const good = layer('goodput', 'step', ['y']);
    // (time, bytes, new bytes) events in time order
    const ev: number[] = [];
    if (this.decimated) {
      const log = this.log, s = this.senderSide;
      for (let k = 0; k < log.opts.buckets; k++) {
        const b = log.bucketField(k, s, B.BYTES);
        if (b > 0) ev.push((k + 1) * log.width, b, log.bucketField(k, s, B.NEW_BYTES));
      }
    } else {
      for (let i = 0; i < this.n; i++) {
        if (!this.fromSender(i)) continue;
        const len = this.v(i, Col.LEN);
        if (len > 0) ev.push(this.v(i, Col.T), len, this.v(i, Col.NEW));
      }
    }
    // the average changes when a segment enters the window (at its time) and when it leaves (its time + the window)
    let i = 0, j = 0, sum = 0, sumNew = 0;
    while (j < ev.length) {
      let t: number;
      if (i < ev.length && ev[i]! < ev[j]! + win) {
        t = ev[i]!;
        sum += ev[i + 1]!;
        sumNew += ev[i + 2]!;
        i += 3;
      } else {
        t = ev[j]! + win;
        sum -= ev[j + 1]!;
        sumNew -= ev[j + 2]!;
        j += 3;
      }
      // one point per instant: the last event at a time gives its value
      const at = r6(t);
      if (tput.t.length > 0 && tput.t[tput.t.length - 1] === at) {
        tput.t.pop();
        tput.y!.pop();
        good.t.pop();
        good.y!.pop();
      }
      tput.t.push(at);
      tput.y!.push(Math.max(0, Math.round((sum * 8) / win)));
      good.t.push(at);
      good.y!.push(Math.max(0, Math.round((sumNew * 8) / win)));
    }
    const note = `moving average over ${fmtSeconds(win)}` + (this.decimated ? `; ${this.decimationNote()}` : '');
    return this.chart('tput', 'Throughput and goodput', 'bits per second', 'bps', [tput, good], note, undefined);
  }

  /**
   * Bytes in flight (tshark's, after each data segment) against the
   * receiver's window and the congestion-limited level: the most bytes in
   * flight within the last smoothed RTT, drawn where that stays more than
   * one segment below the receive window (the window did not limit the
   * sender, so its congestion window did): an estimate from outside.
   */
  inFlight(): Chart {
    const bif = layer('bif', this.decimated ? 'line' : 'dots', ['y', 'fr']);
    const rwnd = layer('rwnd', 'step', ['y', 'fr']);
    const cwnd = layer('cwnd', 'line', ['y']);
    const layers: Layer[] = [rwnd, cwnd, bif];
    // (time, bytes in flight, smoothed RTT s, receive window, segment size) for the estimate
    let srtt = NaN, wnd = NaN, mss = 0;
    const ev: number[] = [];
    if (this.decimated) {
      const log = this.log, s = this.senderSide, rcv = 1 - s;
      layers.unshift(this.band('rwnd', rcv, B.WIN_LO, B.WIN_HI));
      for (let k = 0; k < log.opts.buckets; k++) {
        const sr = log.bucketField(k, rcv, B.SRTT);
        if (sr === sr) srtt = sr / 1000;
        const wl = log.bucketField(k, rcv, B.WIN_LO);
        if (Number.isFinite(wl)) wnd = wl;
        const n = log.bucketField(k, s, B.N), bytes = log.bucketField(k, s, B.BYTES);
        if (n > 0 && bytes > 0) mss = Math.max(mss, bytes / n);
        const b = log.bucketField(k, s, B.BIF_HI);
        if (!Number.isFinite(b)) continue;
        const t = (k + 0.5) * log.width;
        bif.t.push(r6(t));
        bif.y!.push(b);
        bif.fr!.push(log.bucketField(k, s, B.FRAME_HI));
        ev.push(t, b, srtt, wnd, mss);
      }
    } else {
      for (let i = 0; i < this.n; i++) {
        const t = this.v(i, Col.T);
        if (!this.fromSender(i)) {
          const s = this.v(i, Col.SRTT);
          if (s === s) srtt = s / 1000;
          if (this.v(i, Col.ACK) === this.v(i, Col.ACK)) {
            wnd = this.v(i, Col.WIN);
            rwnd.t.push(r6(t));
            rwnd.y!.push(wnd);
            rwnd.fr!.push(this.v(i, Col.FRAME));
          }
          continue;
        }
        mss = Math.max(mss, this.v(i, Col.LEN));
        const b = this.v(i, Col.BIF);
        if (b !== b) continue;
        bif.t.push(r6(t));
        bif.y!.push(b);
        bif.fr!.push(this.v(i, Col.FRAME));
        ev.push(t, b, srtt, wnd, mss);
      }
    }
    // sliding maximum of bytes in flight over the last smoothed RTT (a deque of event indices)
    const dq: number[] = [];
    let h = 0;
    for (let i = 0; i < ev.length; i += 5) {
      const t = ev[i]!, b = ev[i + 1]!, s = ev[i + 2]!, w = ev[i + 3]!, m = ev[i + 4]!;
      while (dq.length > h && ev[dq[dq.length - 1]! + 1]! <= b) dq.pop();
      dq.push(i);
      while (h < dq.length && ev[dq[h]!]! <= t - (s === s ? s : 0)) h++;
      if (h > 4096) {
        dq.splice(0, h);
        h = 0;
      }
      const max = ev[dq[h]! + 1]!;
      cwnd.t.push(r6(t));
      cwnd.y!.push(s === s && w === w && max < w - m ? max : NaN);
    }
    return this.chart('inflight', 'Bytes in flight', 'bytes', 'bytes', layers, this.decimated ? this.decimationNote() : undefined);
  }
}

/** Lowest and highest value of the layers (y, lo, hi), padded by 4 %; [0, 1] when empty. */
export function yRange(layers: Layer[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const l of layers) {
    for (const col of [l.y, l.lo, l.hi]) {
      if (col === undefined) continue;
      for (const v of col) {
        if (v !== v || v === null) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (!(lo <= hi)) return [0, 1];
  if (lo === hi) return [lo - 1 < 0 && lo >= 0 ? 0 : lo - 1, hi + 1];
  const pad = (hi - lo) * 0.04;
  return [lo >= 0 && lo - pad < 0 ? 0 : lo - pad, hi + pad];
}

export function fmtSeconds(s: number): string {
  if (s >= 1) return `${+s.toPrecision(3)} s`;
  if (s >= 1e-3) return `${+(s * 1e3).toPrecision(3)} ms`;
  return `${+(s * 1e6).toPrecision(3)} µs`;
}

/** The record's retransmissions (segments with tshark's retransmission bit) per direction. */
export function recordMarks(r: RecordValues): { orig: Record<string, number>; resp: Record<string, number> } {
  const n = (k: string): number => (typeof r[k] === 'number' ? (r[k] as number) : 0);
  return {
    orig: { R: n('orig_retransmission'), O: n('orig_out_of_order'), P: n('orig_zero_window_probe'), Z: n('resp_zero_window'), dup: n('resp_duplicate_ack') },
    resp: { R: n('resp_retransmission'), O: n('resp_out_of_order'), P: n('resp_zero_window_probe'), Z: n('orig_zero_window'), dup: n('orig_duplicate_ack') },
  };
}
