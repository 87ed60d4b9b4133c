/**
 * tcpsummary on transaction records (http, dns, ssl, ...): the RED view an
 * SRE asks of a capture, per record kind and per --by group: how many
 * (rate over the time the records span), how many failed (each record's
 * `failed`: HTTP 4xx/5xx or no response, DNS rcode other than NOERROR or no
 * response, TLS alert or no ServerHello), and how long they took
 * (`latency_ms`: request end to first response byte; `duration_ms` where
 * the kind has it), as nearest-rank percentiles; plus each kind's outcome
 * breakdown (HTTP status classes, DNS rcode names, TLS states) and the
 * record states (complete, incomplete, unanswered, ...). Each total also
 * sums the time the transactions took (`duration_ms`, else `latency_ms`):
 * groups are ranked by it, as pt-query-digest ranks statements, with each
 * group's share of its kind's total.
 */
import type { RecordValues } from '../records/schema.js';
import { BoundedMap, Values, compareKeys, num } from './_stats.js';

/** Field naming a transaction's outcome, per kind (its values are counted). */
const OUTCOME: Record<string, (r: RecordValues) => string | null> = {
  http: (r) => (typeof r['status_code'] === 'number' ? `${Math.floor(r['status_code'] / 100)}xx` : null),
  dns: (r) => (typeof r['rcode_name'] === 'string' ? r['rcode_name'] : null),
  ssl: (r) => (typeof r['last_alert'] === 'string' && r['last_alert'] !== '' ? `alert ${r['last_alert']}` : null),
  redis: (r) => (typeof r['error_prefix'] === 'string' && r['error_prefix'] !== '' ? `error ${r['error_prefix']}` : typeof r['reply_type'] === 'string' ? r['reply_type'] : null),
  mongodb: (r) => (typeof r['error_name'] === 'string' && r['error_name'] !== '' ? r['error_name'] : typeof r['error_code'] === 'number' ? `error ${r['error_code']}` : r['ok'] === 1 || r['ok'] === true ? 'ok' : null),
  // MySQL: the ERR packet's code and SQL state (1146 42S02), else ok
  mysql: (r) => (typeof r['error_code'] === 'number' ? `error ${r['error_code']}${typeof r['sql_state'] === 'string' ? ' ' + r['sql_state'] : ''}` : r['success'] === true ? 'ok' : null),
  // PostgreSQL: the ErrorResponse's SQLSTATE (42P01), else ok
  postgresql: (r) => (typeof r['sql_state'] === 'string' && r['sql_state'] !== '' ? `error ${r['sql_state']}` : r['success'] === true ? 'ok' : null),
};

export class TxnTotals {
  count = 0;
  failed = 0;
  private first = Infinity;
  private last = -Infinity;
  readonly latency = new Values();
  readonly duration = new Values();
  /** Sum of each transaction's time (duration_ms, else latency_ms), ms. */
  timeMs = 0;
  readonly states = new Map<string, number>();
  readonly outcomes = new Map<string, number>();

  add(r: RecordValues): void {
    this.count++;
    if (r['failed'] === true) this.failed++;
    const ts = num(r['ts']);
    if (ts > 0) {
      if (ts < this.first) this.first = ts;
      if (ts > this.last) this.last = ts;
    }
    const l = r['latency_ms'];
    if (typeof l === 'number' && Number.isFinite(l)) this.latency.push(l);
    const d = r['duration_ms'];
    if (typeof d === 'number' && Number.isFinite(d)) {
      this.duration.push(d);
      if (d > 0) this.timeMs += d;
    } else if (typeof l === 'number' && Number.isFinite(l) && l > 0) this.timeMs += l;
    const st = r['state'];
    if (typeof st === 'string') this.states.set(st, (this.states.get(st) ?? 0) + 1);
    const oc = OUTCOME[String(r['record'])]?.(r) ?? null;
    if (oc !== null) this.outcomes.set(oc, (this.outcomes.get(oc) ?? 0) + 1);
  }

  json(totalMs = this.timeMs): Record<string, unknown> {
    const sorted = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    const span = this.last - this.first;
    return {
      count: this.count,
      total_time_ms: Math.round(this.timeMs * 1000) / 1000,
      time_share: totalMs > 0 ? Math.round((this.timeMs / totalMs) * 1e4) / 1e4 : null,
      failed: this.failed,
      failure_rate: this.count > 0 ? Math.round((this.failed / this.count) * 1e6) / 1e6 : null,
      per_second: span > 0 ? Math.round((this.count / span) * 1000) / 1000 : null,
      latency_ms: this.latency.stats(),
      duration_ms: this.duration.stats(),
      outcomes: sorted(this.outcomes),
      states: sorted(this.states),
    };
  }
}

/** Per-kind totals and, with --by, per-group totals of the kinds that have every --by field. */
export class TxnSummary {
  private readonly kinds = new Map<string, TxnTotals>();
  private readonly groups = new Map<string, BoundedMap<TxnTotals>>();
  /** Kinds seen without every --by field (left out of the groups). */
  private readonly ungrouped = new Set<string>();

  constructor(private readonly by: readonly string[] | null) {}

  add(r: RecordValues): void {
    const kind = String(r['record']);
    let t = this.kinds.get(kind);
    if (t === undefined) this.kinds.set(kind, (t = new TxnTotals()));
    t.add(r);
    if (this.by === null) return;
    if (!this.by.every((f) => f in r)) {
      this.ungrouped.add(kind);
      return;
    }
    let g = this.groups.get(kind);
    if (g === undefined) this.groups.set(kind, (g = new BoundedMap<TxnTotals>((x) => x.count)));
    const key = this.by.map((f) => (r[f] === null || r[f] === undefined ? '' : String(r[f]))).join(' ');
    g.get(key, () => new TxnTotals()).add(r);
  }

  get empty(): boolean {
    return this.kinds.size === 0;
  }

  json(): Record<string, unknown> {
    const out: Record<string, unknown> = { transactions: Object.fromEntries([...this.kinds].map(([k, t]) => [k, t.json()])) };
    if (this.by !== null && (this.groups.size > 0 || this.ungrouped.size > 0)) {
      const groups: Record<string, unknown>[] = [];
      let approximate = false;
      for (const [kind, g] of this.groups) {
        approximate ||= g.approximate;
        const total = this.kinds.get(kind)?.timeMs ?? 0;
        // ranked by the time spent, as pt-query-digest ranks statements; then by count
        const rows = [...g.m.entries()].sort((a, b) => b[1].timeMs - a[1].timeMs || b[1].count - a[1].count || compareKeys(a[0], b[0]));
        for (const [key, t] of rows) groups.push({ kind, key, ...t.json(total) });
      }
      out['transactions_by'] = { field: this.by.join(','), ...(approximate ? { approximate: true } : {}), ...(this.ungrouped.size > 0 ? { kinds_without_fields: [...this.ungrouped].sort() } : {}), groups };
    }
    return out;
  }
}

