/**
 * tcpsummary's aggregation: per filter, tcpeek's handshake counts (success
 * with the sessions that had duplicate SYNs or SYN/ACKs; failure by timeout,
 * reject and unreach, from the records' `handshake`, `dup_syn` and
 * `dup_synack`), plus totals of connections, packets and bytes per
 * direction, retransmissions (tshark's retransmission + fast + spurious
 * classes), `conn_state` counts, RTT percentiles over the records' `rtt_ms`
 * (nearest rank) and the top talkers by IP bytes; optionally a group-by
 * table on any record field.
 *
 * Memory: one number per record with an RTT (for exact percentiles) and one
 * entry per distinct talker pair or group value. Past MAX_KEYS distinct keys
 * the smallest half is dropped and the result is marked approximate.
 */
import type { RecordValues } from '../records/schema.js';
import { emptyCounts, type FilterCounts } from './tcpeek.js';
import { TxnSummary, compareKeys } from './txn-summary.js';
import { BoundedMap, Values, num } from './_stats.js';

export const TOP_TALKERS = 10;



/** Counters of one filter or one group. */
export class Totals {
  /** tcpeek's per-filter counts (the shape its stats socket answers, src/output/tcpeek.ts). */
  readonly hs: FilterCounts = emptyCounts();
  connections = 0;
  origPkts = 0; respPkts = 0;
  origBytes = 0; respBytes = 0;
  origIpBytes = 0; respIpBytes = 0;
  origRetrans = 0; respRetrans = 0;
  origRetransBytes = 0; respRetransBytes = 0;
  readonly states = new Map<string, number>();
  readonly rtt = new Values();

  add(r: RecordValues): void {
    this.connections++;
    const hs = r.handshake;
    if (hs === 'success') {
      this.hs.success.total++;
      if (num(r.dup_syn) > 0) this.hs.success.dupsyn++;
      if (num(r.dup_synack) > 0) this.hs.success.dupsynack++;
    } else if (hs === 'timeout' || hs === 'reject' || hs === 'unreach') {
      this.hs.failure.total++;
      this.hs.failure[hs]++;
    }
    this.origPkts += num(r.orig_pkts);
    this.respPkts += num(r.resp_pkts);
    this.origBytes += num(r.orig_bytes);
    this.respBytes += num(r.resp_bytes);
    this.origIpBytes += num(r.orig_ip_bytes);
    this.respIpBytes += num(r.resp_ip_bytes);
    this.origRetrans += num(r.orig_retransmission) + num(r.orig_fast_retransmission) + num(r.orig_spurious_retransmission);
    this.respRetrans += num(r.resp_retransmission) + num(r.resp_fast_retransmission) + num(r.resp_spurious_retransmission);
    this.origRetransBytes += num(r.orig_retransmitted_bytes);
    this.respRetransBytes += num(r.resp_retransmitted_bytes);
    const st = r.conn_state;
    if (typeof st === 'string' && st !== '') this.states.set(st, (this.states.get(st) ?? 0) + 1);
    const rtt = r.rtt_ms;
    if (typeof rtt === 'number' && Number.isFinite(rtt)) this.rtt.push(rtt);
  }

  json(): Record<string, unknown> {
    const states: Record<string, number> = {};
    for (const k of [...this.states.keys()].sort()) states[k] = this.states.get(k)!;
    return {
      success: { ...this.hs.success },
      failure: { ...this.hs.failure },
      connections: this.connections,
      packets: { orig: this.origPkts, resp: this.respPkts },
      bytes: { orig: this.origBytes, resp: this.respBytes },
      ip_bytes: { orig: this.origIpBytes, resp: this.respIpBytes },
      retransmissions: { orig: this.origRetrans, resp: this.respRetrans },
      retransmitted_bytes: { orig: this.origRetransBytes, resp: this.respRetransBytes },
      conn_state: states,
      rtt_ms: this.rtt.stats(),
    };
  }
}

interface Talker {
  orig_h: string;
  resp_h: string;
  connections: number;
  ip_bytes: number;
  packets: number;
}


class FilterSummary {
  readonly totals = new Totals();
  readonly talkers = new BoundedMap<Talker>((t) => t.ip_bytes);

  add(r: RecordValues): void {
    this.totals.add(r);
    const o = typeof r.orig_h === 'string' ? r.orig_h : '';
    const s = typeof r.resp_h === 'string' ? r.resp_h : '';
    const t = this.talkers.get(`${o} ${s}`, () => ({ orig_h: o, resp_h: s, connections: 0, ip_bytes: 0, packets: 0 }));
    t.connections++;
    t.ip_bytes += num(r.orig_ip_bytes) + num(r.resp_ip_bytes);
    t.packets += num(r.orig_pkts) + num(r.resp_pkts);
  }

  json(): Record<string, unknown> {
    const top = [...this.talkers.m.values()].sort((a, b) => b.ip_bytes - a.ip_bytes || b.connections - a.connections).slice(0, TOP_TALKERS);
    return { ...this.totals.json(), top_talkers: top, ...(this.talkers.approximate ? { top_talkers_approximate: true } : {}) };
  }
}

/** Field aliases accepted by --by. */
export const BY_ALIASES: Record<string, string> = {
  dst_port: 'resp_p',
  src_port: 'orig_p',
  dst: 'resp_h',
  src: 'orig_h',
  dst_ip: 'resp_h',
  src_ip: 'orig_h',
  state: 'conn_state',
};

export interface SummaryOptions {
  filterNames: readonly string[];
  /** Record fields to group by (after aliases), comma-separated: the group key is their values joined by spaces. */
  by?: string;
}

export class SummaryBuilder {
  private readonly filters = new Map<string, FilterSummary>();
  private readonly groups: BoundedMap<Totals> | null;
  private readonly by: string | undefined;
  private readonly byFields: string[];
  /** Transaction records (http, dns, ...): their own totals (txn-summary.ts). */
  private readonly txn: TxnSummary;
  records = 0;
  selected = 0;
  /** Interim records (tcpcapture's, of connections still open at a rotation): not counted, their final record is. */
  interim = 0;
  /** Bad lines skipped. */
  skipped = 0;
  private first = Infinity;
  private last = -Infinity;

  constructor(o: SummaryOptions) {
    for (const n of o.filterNames) this.filters.set(n, new FilterSummary());
    this.by = o.by;
    this.byFields = o.by !== undefined ? o.by.split(',') : [];
    this.groups = o.by !== undefined ? new BoundedMap<Totals>((t) => t.connections) : null;
    this.txn = new TxnSummary(o.by !== undefined ? this.byFields : null);
  }

  /** Counts a record read; `names` are the filters it counts in (may be empty). */
  add(r: RecordValues, names: readonly string[]): void {
    this.records++;
    if (r.end_reason === 'interim') {
      this.interim++;
      return;
    }
    if (names.length === 0) return;
    this.selected++;
    const ts = num(r.ts);
    if (ts > 0 && ts < this.first) this.first = ts;
    const last = num(r.last_ts) || ts;
    if (last > this.last) this.last = last;
    if (r.record === 'tunnel') return; // a tunnel (tcpanalyze --tunnels) is not a connection; its flows have their own records
    if (r.record !== undefined && r.record !== 'conn' && r.record !== 'flow') {
      this.txn.add(r);
      return;
    }
    for (const n of names) this.filters.get(n)?.add(r);
    if (this.groups !== null && this.byFields.every((f) => f in r)) {
      const key = this.byFields.map((f) => (r[f] === undefined || r[f] === null ? '' : String(r[f]))).join(' ');
      this.groups.get(key, () => new Totals()).add(r);
    }
  }

  json(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const filters: Record<string, unknown> = {};
    for (const [n, f] of this.filters) filters[n] = f.json();
    const out: Record<string, unknown> = {
      summary: {
        ...extra,
        from: Number.isFinite(this.first) ? this.first : null,
        to: Number.isFinite(this.last) ? this.last : null,
        records: this.records,
        selected: this.selected,
        interim_records: this.interim,
        skipped_lines: this.skipped,
      },
      filters,
    };
    if (this.groups !== null) {
      const groups = [...this.groups.m.entries()]
        .sort((a, b) => b[1].connections - a[1].connections || compareKeys(a[0], b[0]))
        .map(([key, t]) => ({ key, ...t.json() }));
      if (groups.length > 0 || this.txn.empty) out['by'] = { field: this.by, ...(this.groups.approximate ? { approximate: true } : {}), groups };
    }
    if (!this.txn.empty) Object.assign(out, this.txn.json());
    return out;
  }
}

/** Keys whose values are not counters: left out of deltas. */
const NOT_ADDITIVE = new Set(['rtt_ms', 'top_talkers', 'top_talkers_approximate', 'from', 'to', 'tool', 'version', 'inputs', 'field', 'approximate']);

/**
 * The difference `cur - prev` of two summaries, as tcpeekstat's REFRESH: every
 * counter subtracted (missing in `prev` counts as 0); RTT percentiles and top
 * talkers are not differences of counters and are left out; groups are
 * matched by key.
 */
export function summaryDelta(cur: unknown, prev: unknown): unknown {
  if (typeof cur === 'number') return typeof prev === 'number' ? cur - prev : cur;
  if (Array.isArray(cur)) {
    const byKey = new Map<string, unknown>();
    if (Array.isArray(prev)) for (const p of prev) if (p && typeof p === 'object' && 'key' in p) byKey.set(String((p as { key: unknown }).key), p);
    return cur.map((c) => (c && typeof c === 'object' && 'key' in c ? summaryDelta(c, byKey.get(String((c as { key: unknown }).key))) : c));
  }
  if (cur !== null && typeof cur === 'object') {
    const out: Record<string, unknown> = {};
    const p = prev !== null && typeof prev === 'object' && !Array.isArray(prev) ? (prev as Record<string, unknown>) : {};
    for (const [k, v] of Object.entries(cur as Record<string, unknown>)) {
      if (NOT_ADDITIVE.has(k)) continue;
      out[k] = k === 'key' ? v : summaryDelta(v, p[k]);
    }
    return out;
  }
  return cur;
}
