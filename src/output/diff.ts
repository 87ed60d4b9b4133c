/**
 * tcpdiff's comparison of two runs of the same traffic (a baseline and the
 * current run: captures or records), for regression checks in CI.
 *
 * - Connections (the default): matched by protocol, addresses and ports
 *   (and encapsulation), the n-th occurrence of a tuple with the n-th (port
 *   reuse, merged files), in start order. A connection that appears or
 *   disappears is a regression; so is, on a matched one, any change of
 *   conn_state, the handshake verdict, packet or byte counts, missed bytes
 *   or tshark's analysis-class counts. Timings (RTTs, durations, handshake
 *   times) differ from run to run: they are compared only where a tolerance
 *   names them.
 * - Groups (`by`, e.g. resp_p or service): for traffic whose client ports
 *   change between runs. Each group's connection count, sums of the counted
 *   fields, counts of each conn_state and handshake verdict, and the medians
 *   of timings named by a tolerance, compared the same way; a group that
 *   appears or disappears is a regression.
 * - Transactions (kind http, dns, ...): always by groups (`by`, default the
 *   server port): count, failures, each state's count, and the median and
 *   p99 latency when a tolerance names latency_ms.
 *
 * A tolerance is absolute (`orig_pkts=5`) or relative to the baseline
 * (`rtt_ms=20%`); a change within it is not a regression.
 */
import type { RecordValues } from '../records/schema.js';
import { UsageError } from '../util/errors.js';

export interface Tolerance {
  abs: number;
  rel: number;
}

/** `rtt_ms=20%,orig_pkts=5` -> per field. */
export function parseTolerances(spec: string | undefined): Map<string, Tolerance> {
  const m = new Map<string, Tolerance>();
  if (spec === undefined) return m;
  for (const part of spec.split(',')) {
    const t = part.trim();
    if (t === '') continue;
    const x = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\d+(?:\.\d+)?)\s*(%?)$/.exec(t);
    if (!x) throw new UsageError('USAGE_BAD_TOLERANCE', `--tolerance: expected FIELD=NUMBER or FIELD=NUMBER% (e.g. rtt_ms=20%,orig_pkts=5), got ${JSON.stringify(t)}`);
    const v = Number(x[2]);
    m.set(x[1]!, x[3] === '%' ? { abs: 0, rel: v / 100 } : { abs: v, rel: 0 });
  }
  return m;
}

/** Counted fields of conn records: a change is a regression. */
export const CONN_COUNTS = [
  'orig_pkts', 'resp_pkts', 'orig_bytes', 'resp_bytes', 'orig_ip_bytes', 'resp_ip_bytes', 'missed_bytes',
  'orig_syn_pkts', 'resp_syn_pkts', 'orig_fin_pkts', 'resp_fin_pkts', 'orig_rst_pkts', 'resp_rst_pkts',
  ...['retransmission', 'fast_retransmission', 'spurious_retransmission', 'out_of_order', 'lost_segment', 'ack_lost_segment', 'duplicate_ack', 'zero_window', 'zero_window_probe', 'window_full', 'keep_alive'].flatMap((c) => [`orig_${c}`, `resp_${c}`]),
  'dup_syn', 'dup_synack', 'transactions', 'failed_transactions',
];
/** Values of conn records that must stay the same. */
export const CONN_STATES = ['conn_state', 'handshake', 'service'];
/** Timings: compared only with a tolerance. */
export const TIMINGS = ['duration', 'rtt_ms', 'handshake_ms', 'connect_ms', 'orig_rtt_mean_ms', 'resp_rtt_mean_ms', 'orig_rtt_max_ms', 'resp_rtt_max_ms', 'orig_srtt_ms', 'resp_srtt_ms', 'latency_ms', 'duration_ms'];

export interface Change {
  /** The connection (tuple #n) or the group key. */
  key: string;
  uid: string | null;
  field: string;
  baseline: string | number | null;
  current: string | number | null;
  regression: boolean;
}

export interface DiffResult {
  kind: string;
  by: string[] | null;
  matched: number;
  appeared: { key: string; uid: string | null }[];
  disappeared: { key: string; uid: string | null }[];
  changes: Change[];
  regressions: number;
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : null);

function within(t: Tolerance | undefined, base: number, cur: number): boolean {
  if (t === undefined) return base === cur;
  return Math.abs(cur - base) <= Math.max(t.abs, t.rel * Math.abs(base)) + 1e-12;
}

function tupleKey(r: RecordValues): string {
  const ep = (h: unknown, p: unknown): string => (String(h).includes(':') ? `[${String(h)}]:${String(p)}` : `${String(h)}:${String(p)}`);
  const encap = typeof r['encap'] === 'string' && r['encap'] !== '' ? ` via ${r['encap']}` : '';
  return `${String(r['proto'] ?? 'tcp')} ${ep(r['orig_h'], r['orig_p'])} -> ${ep(r['resp_h'], r['resp_p'])}${encap}`;
}

/** A group's totals (connections or transactions). */
class Group {
  count = 0;
  readonly sums = new Map<string, number>();
  readonly values = new Map<string, number>();
  readonly timings = new Map<string, number[]>();
  uid: string | null = null;
}

export class Differ {
  private readonly base = new Map<string, RecordValues[]>();
  private readonly cur = new Map<string, RecordValues[]>();
  private readonly baseGroups = new Map<string, Group>();
  private readonly curGroups = new Map<string, Group>();
  private readonly byFields: string[] | null;

  constructor(
    readonly kind: string,
    by: readonly string[] | null,
    private readonly tol: Map<string, Tolerance>,
  ) {
    // transactions are compared by groups: their connections' ports change with the run
    this.byFields = by !== null && by.length > 0 ? [...by] : kind === 'conn' ? null : ['resp_p'];
  }

  add(side: 'baseline' | 'current', r: RecordValues): void {
    if ((r['record'] ?? 'conn') !== this.kind || r['end_reason'] === 'interim') return;
    if (this.byFields === null) {
      const m = side === 'baseline' ? this.base : this.cur;
      const k = tupleKey(r);
      const list = m.get(k);
      if (list === undefined) m.set(k, [r]);
      else list.push(r);
      return;
    }
    const key = this.byFields.map((f) => (r[f] === null || r[f] === undefined ? '' : String(r[f]))).join(' ');
    const gs = side === 'baseline' ? this.baseGroups : this.curGroups;
    let g = gs.get(key);
    if (g === undefined) gs.set(key, (g = new Group()));
    g.count++;
    const counts = this.kind === 'conn' ? CONN_COUNTS : ['failed'];
    for (const f of counts) {
      const v = f === 'failed' ? (r['failed'] === true ? 1 : 0) : num(r[f]);
      if (v !== null) g.sums.set(f, (g.sums.get(f) ?? 0) + v);
    }
    for (const f of this.kind === 'conn' ? CONN_STATES : ['state', 'status_code', 'rcode_name']) {
      if (r[f] === undefined || r[f] === null) continue;
      const k = `${f}=${String(r[f])}`;
      g.values.set(k, (g.values.get(k) ?? 0) + 1);
    }
    for (const f of this.tol.keys()) {
      if (!TIMINGS.includes(f)) continue;
      const v = num(r[f]);
      if (v === null) continue;
      const list = g.timings.get(f);
      if (list === undefined) g.timings.set(f, [v]);
      else list.push(v);
    }
  }

  result(): DiffResult {
    return this.byFields === null ? this.connResult() : this.groupResult();
  }

  private connResult(): DiffResult {
    const res: DiffResult = { kind: this.kind, by: null, matched: 0, appeared: [], disappeared: [], changes: [], regressions: 0 };
    const byTs = (a: RecordValues, b: RecordValues): number => (num(a['ts']) ?? 0) - (num(b['ts']) ?? 0);
    const keys = [...new Set([...this.base.keys(), ...this.cur.keys()])].sort();
    for (const k of keys) {
      const b = (this.base.get(k) ?? []).sort(byTs);
      const c = (this.cur.get(k) ?? []).sort(byTs);
      for (let i = 0; i < Math.max(b.length, c.length); i++) {
        const key = b.length > 1 || c.length > 1 ? `${k} #${i + 1}` : k;
        const x = b[i], y = c[i];
        if (x === undefined) {
          res.appeared.push({ key, uid: strOrNull(y!['uid']) });
          continue;
        }
        if (y === undefined) {
          res.disappeared.push({ key, uid: strOrNull(x['uid']) });
          continue;
        }
        res.matched++;
        const uid = strOrNull(y['uid']);
        for (const f of CONN_STATES) {
          if (x[f] === y[f]) continue;
          res.changes.push({ key, uid, field: f, baseline: scalar(x[f]), current: scalar(y[f]), regression: true });
        }
        for (const f of [...CONN_COUNTS, ...TIMINGS]) {
          const p = num(x[f]), q = num(y[f]);
          if (p === q) continue;
          const timing = TIMINGS.includes(f);
          if (timing && !this.tol.has(f)) continue;
          if (p !== null && q !== null && within(this.tol.get(f), p, q)) continue;
          res.changes.push({ key, uid, field: f, baseline: p, current: q, regression: true });
        }
      }
    }
    res.regressions = res.appeared.length + res.disappeared.length + res.changes.filter((c) => c.regression).length;
    return res;
  }

  private groupResult(): DiffResult {
    const res: DiffResult = { kind: this.kind, by: this.byFields, matched: 0, appeared: [], disappeared: [], changes: [], regressions: 0 };
    const keys = [...new Set([...this.baseGroups.keys(), ...this.curGroups.keys()])].sort(compareGroupKeys);
    for (const key of keys) {
      const b = this.baseGroups.get(key), c = this.curGroups.get(key);
      if (b === undefined) {
        res.appeared.push({ key, uid: null });
        continue;
      }
      if (c === undefined) {
        res.disappeared.push({ key, uid: null });
        continue;
      }
      res.matched++;
      const cmp = (field: string, p: number, q: number, timing: boolean): void => {
        if (p === q) return;
        if (timing && !this.tol.has(field)) return;
        if (within(this.tol.get(field), p, q)) return;
        res.changes.push({ key, uid: null, field, baseline: p, current: q, regression: true });
      };
      cmp('count', b.count, c.count, false);
      for (const f of new Set([...b.sums.keys(), ...c.sums.keys()])) cmp(f, b.sums.get(f) ?? 0, c.sums.get(f) ?? 0, false);
      for (const f of new Set([...b.values.keys(), ...c.values.keys()])) cmp(f, b.values.get(f) ?? 0, c.values.get(f) ?? 0, false);
      for (const f of this.tol.keys()) {
        const p = median(b.timings.get(f)), q = median(c.timings.get(f));
        if (p !== null && q !== null) cmp(`median(${f})`, p, q, false);
      }
    }
    res.regressions = res.appeared.length + res.disappeared.length + res.changes.length;
    return res;
  }
}

function median(xs: number[] | undefined): number | null {
  if (xs === undefined || xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1]!;
}

function compareGroupKeys(a: string, b: string): number {
  const x = Number(a), y = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const scalar = (v: unknown): string | number | null => (typeof v === 'string' || typeof v === 'number' ? v : v === null || v === undefined ? null : String(v));

/**
 * A tcpsummary summary against another: every counter of the `filters`
 * (and of `by` groups matched by key, and of `transactions`) must be the
 * same, or within a tolerance named by its key (`retransmissions=5`);
 * percentile objects (rtt_ms, latency_ms) are compared only with a
 * tolerance on their name. Returns the changes (paths like
 * `filters.all.packets.orig`).
 */
export function diffSummaries(base: unknown, cur: unknown, tol: Map<string, Tolerance>): Change[] {
  const out: Change[] = [];
  const PERCENTILES = new Set(['rtt_ms', 'latency_ms', 'duration_ms', 'handshake_ms']);
  const SKIP = new Set(['top_talkers', 'top_talkers_approximate', 'per_second', 'time_share', 'total_time_ms', 'failure_rate']);
  const walk = (a: unknown, b: unknown, path: string[], timing: string | null): void => {
    const last = path[path.length - 1] ?? '';
    if (SKIP.has(last)) return;
    if (typeof a === 'number' || typeof b === 'number') {
      const p = typeof a === 'number' ? a : null, q = typeof b === 'number' ? b : null;
      if (p === q) return;
      const name = timing ?? last;
      const t = tol.get(name) ?? tol.get(path.join('.'));
      if (timing !== null && t === undefined) return;
      if (p !== null && q !== null && within(t, p, q)) return;
      out.push({ key: path.slice(0, -1).join('.'), uid: null, field: last, baseline: p, current: q, regression: true });
      return;
    }
    if (Array.isArray(a) || Array.isArray(b)) {
      // groups matched by their key (and kind)
      const id = (g: unknown): string => (g !== null && typeof g === 'object' ? `${String((g as Record<string, unknown>)['kind'] ?? '')}|${String((g as Record<string, unknown>)['key'])}` : '');
      const am = new Map((Array.isArray(a) ? a : []).map((g) => [id(g), g]));
      const bm = new Map((Array.isArray(b) ? b : []).map((g) => [id(g), g]));
      for (const k of new Set([...am.keys(), ...bm.keys()])) {
        const label = k.replace(/^\|/, '');
        if (!am.has(k) || !bm.has(k)) {
          out.push({ key: [...path, label].join('.'), uid: null, field: am.has(k) ? 'disappeared' : 'appeared', baseline: am.has(k) ? 1 : 0, current: bm.has(k) ? 1 : 0, regression: true });
          continue;
        }
        walk(am.get(k), bm.get(k), [...path, label], timing);
      }
      return;
    }
    if ((a !== null && typeof a === 'object') || (b !== null && typeof b === 'object')) {
      const ao = (a ?? {}) as Record<string, unknown>, bo = (b ?? {}) as Record<string, unknown>;
      for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
        if (k === 'key' || k === 'kind') continue;
        walk(ao[k], bo[k], [...path, k], timing ?? (PERCENTILES.has(k) ? k : null));
      }
    }
  };
  const pick = (s: unknown, k: string): unknown => (s !== null && typeof s === 'object' ? (s as Record<string, unknown>)[k] : undefined);
  for (const k of ['filters', 'by', 'transactions', 'transactions_by']) walk(pick(base, k), pick(cur, k), [k], null);
  return out;
}
