/**
 * tcpsummary's aggregation: per filter, tcpeek's handshake counts (success
 * with the sessions that had duplicate SYNs or SYN/ACKs; failure by timeout,
 * reject, unreach and tcpkit's abort, from the records' `handshake`, `dup_syn` and
 * `dup_synack`), plus totals of connections, packets and bytes per
 * direction, retransmissions (tshark's tcp.analysis.retransmission, which
 * fast and spurious retransmissions carry too), `conn_state` counts, RTT percentiles over the records' `rtt_ms`
 * (nearest rank) and the top talkers by IP bytes; optionally a group-by
 * table on any record field.
 *
 * Memory: one number per record with an RTT (for exact percentiles) and one
 * entry per distinct talker pair or group value. Past MAX_KEYS distinct keys
 * the smallest half is dropped and the result is marked approximate.
 */
import type { RecordValues } from '../records/schema.js';
import { CONN_ALIASES } from '../records/conn.js';
import { formatIso } from '../util/time.js';
import { emptyCounts, type FilterCounts } from './tcpeek.js';
import { TxnSummary } from './txn-summary.js';
import { BoundedMap, Values, compareKeys, num } from './_stats.js';

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
    } else if (hs === 'timeout' || hs === 'reject' || hs === 'unreach' || hs === 'abort') {
      this.hs.failure.total++;
      this.hs.failure[hs]++;
    }
    this.origPkts += num(r.orig_pkts);
    this.respPkts += num(r.resp_pkts);
    this.origBytes += num(r.orig_bytes);
    this.respBytes += num(r.resp_bytes);
    this.origIpBytes += num(r.orig_ip_bytes);
    this.respIpBytes += num(r.resp_ip_bytes);
    // tshark flags fast and spurious retransmissions tcp.analysis.retransmission
    // too, so the records' retransmission count already includes them
    this.origRetrans += num(r.orig_retransmission);
    this.respRetrans += num(r.resp_retransmission);
    this.origRetransBytes += num(r.orig_retransmitted_bytes);
    this.respRetransBytes += num(r.resp_retransmitted_bytes);
    const st = r.conn_state;
    if (typeof st === 'string' && st !== '') this.states.set(st, (this.states.get(st) ?? 0) + 1);
    const rtt = r.rtt_ms;
    if (typeof rtt === 'number' && Number.isFinite(rtt)) this.rtt.push(rtt);
  }

  /** Adds another group's counters (the groups past --top, summed into one). */
  merge(t: Totals): void {
    this.connections += t.connections;
    for (const k of ['total', 'dupsyn', 'dupsynack'] as const) this.hs.success[k] += t.hs.success[k];
    for (const k of ['total', 'timeout', 'reject', 'unreach', 'abort'] as const) this.hs.failure[k] += t.hs.failure[k];
    this.origPkts += t.origPkts;
    this.respPkts += t.respPkts;
    this.origBytes += t.origBytes;
    this.respBytes += t.respBytes;
    this.origIpBytes += t.origIpBytes;
    this.respIpBytes += t.respIpBytes;
    this.origRetrans += t.origRetrans;
    this.respRetrans += t.respRetrans;
    this.origRetransBytes += t.origRetransBytes;
    this.respRetransBytes += t.respRetransBytes;
    for (const [k, v] of t.states) this.states.set(k, (this.states.get(k) ?? 0) + v);
    this.rtt.addAll(t.rtt);
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

/** Field aliases accepted by --by: the conn record's, as --where accepts them. */
export const BY_ALIASES: Readonly<Record<string, string>> = CONN_ALIASES;

export interface SummaryOptions {
  filterNames: readonly string[];
  /** Record fields to group by (after aliases), comma-separated: the group key is their values joined by spaces. */
  by?: string;
  /** Groups listed (the most connections first); the others are summed into `rest`. 0: all. */
  top?: number;
}

/** Port fields: a TCP port and a UDP port (or an ICMP type) of the same number are different groups. */
const PER_PROTOCOL = new Set(['orig_p', 'resp_p']);
const PROTO_ORDER: Record<string, number> = { tcp: 0, udp: 1, icmp: 2 };


export class SummaryBuilder {
  private readonly filters = new Map<string, FilterSummary>();
  private readonly groups: BoundedMap<Totals> | null;
  private readonly by: string | undefined;
  private readonly byFields: string[];
  /** Transaction records (http, dns, ...): their own totals (txn-summary.ts). */
  private readonly txn: TxnSummary;
  private readonly top: number;
  private readonly perProtocol: boolean;
  records = 0;
  selected = 0;
  /** Interim records (tcpcapture's, of connections still open at a rotation): not counted, their final record is. */
  interim = 0;
  /** Bad lines skipped. */
  skipped = 0;
  /** Earliest ts and latest last_ts, exact: [seconds, nanoseconds, text]. */
  private first: ExactTime | null = null;
  private last: ExactTime | null = null;

  constructor(o: SummaryOptions) {
    for (const n of o.filterNames) this.filters.set(n, new FilterSummary());
    this.by = o.by;
    this.byFields = o.by !== undefined ? o.by.split(',') : [];
    this.top = o.top ?? 0;
    this.perProtocol = o.by !== undefined && PER_PROTOCOL.has(o.by);
    this.groups = o.by !== undefined ? new BoundedMap<Totals>((t) => t.connections) : null;
    this.txn = new TxnSummary(o.by !== undefined ? this.byFields : null);
  }

  /**
   * Counts a record read; `names` are the filters it counts in (may be
   * empty). `tsText`/`lastText` are the exact texts of its ts and last_ts
   * when the caller has the line (rawNumberField), else the parsed numbers
   * are used.
   */
  add(r: RecordValues, names: readonly string[], tsText?: string | null, lastText?: string | null): void {
    this.records++;
    if (r.end_reason === 'interim') {
      this.interim++;
      return;
    }
    if (names.length === 0) return;
    this.selected++;
    const ts = exactTime(tsText ?? r.ts);
    if (ts !== null && (this.first === null || before(ts, this.first))) this.first = ts;
    const last = exactTime(lastText ?? r.last_ts) ?? ts;
    if (last !== null && (this.last === null || before(this.last, last))) this.last = last;
    if (r.record === 'tunnel') return; // a tunnel (tcpanalyze --tunnels) is not a connection; its flows have their own records
    if (r.record !== undefined && r.record !== 'conn' && r.record !== 'flow') {
      this.txn.add(r);
      return;
    }
    for (const n of names) this.filters.get(n)?.add(r);
    if (this.groups !== null && this.byFields.every((f) => f in r)) {
      const key = this.byFields.map((f) => (r[f] === undefined || r[f] === null ? '' : String(r[f]))).join(' ');
      // "\u0000" never occurs in a protocol name: proto, then the value
      this.groups.get(this.perProtocol ? `${r.proto ?? ''}\u0000${key}` : key, () => new Totals()).add(r);
    }
  }

  json(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const filters: Record<string, unknown> = {};
    for (const [n, f] of this.filters) filters[n] = f.json();
    const out: Record<string, unknown> = {
      summary: {
        ...extra,
        from: this.first !== null ? new ExactNumber(this.first[2]) : null,
        to: this.last !== null ? new ExactNumber(this.last[2]) : null,
        from_iso: this.first !== null ? formatIso(this.first[0], this.first[1]) : null,
        to_iso: this.last !== null ? formatIso(this.last[0], this.last[1]) : null,
        records: this.records,
        selected: this.selected,
        interim_records: this.interim,
        skipped_lines: this.skipped,
      },
      filters,
    };
    if (this.groups !== null) {
      const split = (k: string): [string, string] => {
        const i = k.indexOf('\u0000');
        return i < 0 ? ['', k] : [k.slice(0, i), k.slice(i + 1)];
      };
      const sorted = [...this.groups.m.entries()].map(([k, t]) => [...split(k), t] as [string, string, Totals]);
      // the most connections first; ties by protocol, then by value (numbers numerically)
      sorted.sort((a, b) => b[2].connections - a[2].connections || (PROTO_ORDER[a[0]] ?? 9) - (PROTO_ORDER[b[0]] ?? 9) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) || compareKeys(a[1], b[1]));
      const shown = this.top > 0 ? sorted.slice(0, this.top) : sorted;
      const groups = shown.map(([proto, key, t]) => ({ key, ...(this.perProtocol ? { proto } : {}), ...t.json() }));
      let rest: Record<string, unknown> | undefined;
      if (shown.length < sorted.length) {
        const sum = new Totals();
        for (const [, , t] of sorted.slice(shown.length)) sum.merge(t);
        rest = { groups: sorted.length - shown.length, ...sum.json() };
      }
      if (groups.length > 0 || this.txn.empty) out['by'] = { field: this.by, ...(this.perProtocol ? { per_protocol: true } : {}), ...(this.groups.approximate ? { approximate: true } : {}), groups, ...(rest ? { rest } : {}) };
    }
    if (!this.txn.empty) Object.assign(out, this.txn.json());
    return out;
  }
}

/** Keys whose values are not counters: left out of deltas. */
const NOT_ADDITIVE = new Set(['rtt_ms', 'top_talkers', 'top_talkers_approximate', 'from', 'to', 'from_iso', 'to_iso', 'tool', 'version', 'inputs', 'field', 'approximate']);

type ExactTime = [sec: number, nsec: number, text: string];

/** A time value (epoch seconds as text or number) as exact seconds and nanoseconds, or null. */
function exactTime(v: unknown): ExactTime | null {
  const text = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
  const m = /^(\d+)(?:\.(\d{1,9})\d*)?$/.exec(text);
  if (m === null || Number(m[1]) <= 0) return null;
  return [Number(m[1]), m[2] === undefined ? 0 : Number((m[2] + '00000000').slice(0, 9)), text];
}

function before(a: ExactTime, b: ExactTime): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

const EXACT_MARK = '\u0000exact:';

/** A number written into JSON with its exact digits (JSON.stringify of a double would round it). */
export class ExactNumber {
  constructor(readonly text: string) {}
  toJSON(): string {
    return EXACT_MARK + this.text;
  }
}

/** JSON.stringify for summaries: ExactNumber values come out as the numbers they spell, every digit kept. */
export function stringifySummary(v: unknown, indent = 2): string {
  return JSON.stringify(v, null, indent).replace(/"\\u0000exact:([-0-9.eE+]+)"/g, '$1');
}

/**
 * The difference `cur - prev` of two summaries, as tcpeekstat's REFRESH: every
 * counter subtracted (missing in `prev` counts as 0); RTT percentiles and top
 * talkers are not differences of counters and are left out; groups are
 * matched by key.
 */
export function summaryDelta(cur: unknown, prev: unknown): unknown {
  if (typeof cur === 'number') return typeof prev === 'number' ? cur - prev : cur;
  if (Array.isArray(cur)) {
    // groups match by key (and protocol, for port groups)
    const id = (g: object): string => `${String((g as { key: unknown }).key)}\u0000${String((g as { proto?: unknown }).proto ?? '')}`;
    const byKey = new Map<string, unknown>();
    if (Array.isArray(prev)) for (const p of prev) if (p && typeof p === 'object' && 'key' in p) byKey.set(id(p), p);
    return cur.map((c) => (c && typeof c === 'object' && 'key' in c ? summaryDelta(c, byKey.get(id(c))) : c));
  }
  if (cur !== null && typeof cur === 'object') {
    const out: Record<string, unknown> = {};
    const p = prev !== null && typeof prev === 'object' && !Array.isArray(prev) ? (prev as Record<string, unknown>) : {};
    for (const [k, v] of Object.entries(cur as Record<string, unknown>)) {
      if (NOT_ADDITIVE.has(k)) continue;
      out[k] = k === 'key' || k === 'proto' ? v : summaryDelta(v, p[k]);
    }
    return out;
  }
  return cur;
}
