/**
 * tcpsummary --format table: the JSON summary (src/output/summary.ts) as
 * tables that fit the terminal (src/output/table.ts): one row per filter,
 * then the top talkers of each filter, then the --by groups and the total of
 * the groups past --top. The least important columns go first when the
 * terminal is narrow; `wide` keeps them all.
 */
import { fmtCount, fmtMs, renderTable, type Column } from './table.js';

type Obj = Record<string, unknown>;

function o(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function n(v: unknown): string {
  if (v !== null && typeof v === 'object' && 'text' in v) return String((v as { text: unknown }).text); // an exact number
  return typeof v === 'number' ? String(v) : v === null || v === undefined ? '-' : String(v);
}

function pair(v: unknown, f: (x: unknown) => string = n): string {
  const p = o(v);
  return `${f(p['orig'])}/${f(p['resp'])}`;
}

function rtt(v: unknown): string {
  const r = o(v);
  return r['p50'] === undefined ? '-' : `${fmtMs(r['p50'])}/${fmtMs(r['p90'])}/${fmtMs(r['p99'])}`;
}

/** A row: its name (filter, group key) and its counters. */
type Row = { name: string; t: Obj };

const sub = (t: Obj, a: string, b: string): unknown => o(t[a])[b];

/** The counter columns of filters and groups, most important first by priority. */
function counterColumns(first: string): Column<Row>[] {
  return [
    { title: first, priority: 1, min: 6, width: 12, text: (r) => r.name },
    { title: 'conns', priority: 1, min: 5, width: 7, align: 'right', text: (r) => n(r.t['connections']) },
    { title: 'success', priority: 2, min: 7, width: 7, align: 'right', text: (r) => n(sub(r.t, 'success', 'total')) },
    { title: 'dupsyn', priority: 7, min: 6, width: 6, align: 'right', optional: true, text: (r) => n(sub(r.t, 'success', 'dupsyn')) },
    { title: 'dupsynack', priority: 8, min: 9, width: 9, align: 'right', optional: true, text: (r) => n(sub(r.t, 'success', 'dupsynack')) },
    { title: 'timeout', priority: 3, min: 7, width: 7, align: 'right', text: (r) => n(sub(r.t, 'failure', 'timeout')) },
    { title: 'reject', priority: 3, min: 6, width: 6, align: 'right', text: (r) => n(sub(r.t, 'failure', 'reject')) },
    { title: 'unreach', priority: 4, min: 7, width: 7, align: 'right', text: (r) => n(sub(r.t, 'failure', 'unreach')) },
    { title: 'abort', priority: 5, min: 5, width: 5, align: 'right', optional: true, text: (r) => n(sub(r.t, 'failure', 'abort')) },
    { title: 'pkts o/r', priority: 6, min: 9, width: 13, align: 'right', optional: true, text: (r) => pair(r.t['packets'], fmtCount) },
    { title: 'ip_bytes o/r', priority: 4, min: 12, width: 15, align: 'right', text: (r) => pair(r.t['ip_bytes'], fmtCount) },
    { title: 'retrans o/r', priority: 2, min: 11, width: 11, align: 'right', text: (r) => pair(r.t['retransmissions'], fmtCount) },
    { title: 'rtt ms p50/p90/p99', priority: 2, min: 18, width: 20, align: 'right', text: (r) => rtt(r.t['rtt_ms']) },
  ];
}

type Talker = Obj;
const TALKER_COLUMNS: Column<Talker>[] = [
  { title: 'orig_h', priority: 1, min: 15, width: 39, align: 'right', cut: 'middle', text: (t) => n(t['orig_h']) },
  { title: 'resp_h', priority: 1, min: 15, width: 39, cut: 'middle', text: (t) => n(t['resp_h']) },
  { title: 'conns', priority: 2, min: 5, width: 7, align: 'right', text: (t) => n(t['connections']) },
  { title: 'pkts', priority: 3, min: 6, width: 8, align: 'right', text: (t) => fmtCount(t['packets']) },
  { title: 'ip_bytes', priority: 2, min: 8, width: 8, align: 'right', text: (t) => fmtCount(t['ip_bytes']) },
];

export interface SummaryTableOptions {
  /** Terminal width (Infinity: nothing is left out). */
  width?: number;
  /** Every column, nothing shortened. */
  wide?: boolean;
}

export function summaryTable(summary: unknown, opts: SummaryTableOptions = {}): string {
  const width = opts.width ?? Infinity;
  const wide = opts.wide ?? false;
  const s = o(summary);
  const head = o(s['summary']);
  let out =
    `records ${n(head['records'])}, selected ${n(head['selected'])}` +
    (head['skipped_lines'] ? `, skipped lines ${n(head['skipped_lines'])}` : '') +
    (head['since'] !== undefined ? `, since ${n(head['since'])}` : '') +
    '\n' +
    (head['from_iso'] ? `from ${String(head['from_iso']).replace('T', ' ').slice(0, 23)} to ${String(head['to_iso']).replace('T', ' ').slice(0, 23)} UTC\n` : '') +
    '\n';
  const filters = o(s['filters']);
  out += renderTable(counterColumns('filter'), Object.entries(filters).map(([k, v]) => ({ name: k, t: o(v) })), width, wide);
  for (const [k, v] of Object.entries(filters)) {
    const top = o(v)['top_talkers'];
    if (!Array.isArray(top) || top.length === 0) continue;
    out += `\ntop talkers (${k}), by IP bytes\n`;
    out += renderTable(TALKER_COLUMNS, top.map(o), width, wide);
  }
  const by = o(s['by']);
  if (Array.isArray(by['groups']) && (by['groups'] as unknown[]).length > 0) {
    const perProto = by['per_protocol'] === true;
    const field = n(by['field']);
    out += `\nby ${field}${perProto ? ' (per protocol)' : ''}${by['approximate'] ? ' (approximate: too many distinct values)' : ''}\n`;
    const rows: Row[] = (by['groups'] as unknown[]).map((g) => {
      const key = n(o(g)['key']) || '(empty)';
      return { name: perProto ? `${n(o(g)['proto'])}/${key}` : key, t: o(g) };
    });
    const rest = o(by['rest']);
    if (by['rest'] !== undefined) rows.push({ name: `(${n(rest['groups'])} more)`, t: rest });
    out += renderTable(counterColumns(perProto ? `proto/${field}` : field), rows, width, wide);
  }
  const txn = o(s['transactions']);
  if (Object.keys(txn).length > 0) {
    out += '\ntransactions\n';
    out += renderTable(txnColumns(['kind', (r) => r.name]), Object.entries(txn).map(([k, v]) => ({ name: k, t: o(v) })), width, wide);
  }
  const tby = o(s['transactions_by']);
  if (Array.isArray(tby['groups'])) {
    out += `\ntransactions by ${n(tby['field'])}${tby['approximate'] ? ' (approximate: too many distinct values)' : ''}\n`;
    const rows: Row[] = (tby['groups'] as unknown[]).map((g) => ({ name: n(o(g)['key']) || '(empty)', t: o(g) }));
    out += renderTable(txnColumns(['kind', (r) => n(r.t['kind'])], [n(tby['field']), (r) => r.name]), rows, width, wide);
  }
  return out;
}

/** Columns of a transaction table: the naming columns given, then count, rate, failures, latency, time share and outcomes. */
function txnColumns(...names: [string, (r: Row) => string][]): Column<Row>[] {
  const cols: Column<Row>[] = names.map(([title, text], i) => ({ title, priority: 1, min: Math.max(4, title.length), width: i === names.length - 1 ? 28 : 8, cut: 'end' as const, text }));
  const t = (r: Row): Obj => r.t;
  return [
    ...cols,
    { title: 'count', priority: 1, min: 5, width: 7, align: 'right', text: (r) => fmtCount(t(r)['count']) },
    { title: 'per_s', priority: 5, min: 5, width: 7, align: 'right', optional: true, text: (r) => n(t(r)['per_second']) || '-' },
    { title: 'failed', priority: 2, min: 6, width: 6, align: 'right', text: (r) => fmtCount(t(r)['failed']) },
    { title: 'fail_%', priority: 3, min: 6, width: 6, align: 'right', text: (r) => (typeof t(r)['failure_rate'] === 'number' ? ((t(r)['failure_rate'] as number) * 100).toFixed(1) : '-') },
    { title: 'latency ms p50/p90/p99', priority: 2, min: 14, width: 22, align: 'right', text: (r) => rtt(o(t(r)['latency_ms'])) },
    { title: 'max', priority: 4, min: 5, width: 7, align: 'right', text: (r) => fmtMs(o(t(r)['latency_ms'])['max']) },
    { title: 'time_%', priority: 3, min: 6, width: 6, align: 'right', text: (r) => (typeof t(r)['time_share'] === 'number' ? ((t(r)['time_share'] as number) * 100).toFixed(1) : '-') },
    { title: 'outcomes', priority: 6, min: 8, width: 30, optional: true, text: (r) => Object.entries(o(t(r)['outcomes'])).map(([k, v]) => `${k}:${n(v)}`).join(' ') || '-' },
  ];
}
