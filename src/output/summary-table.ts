/**
 * tcpsummary --format table: the JSON summary (src/output/summary.ts) as
 * aligned text for a terminal: one row per filter, then the top talkers of
 * each filter, then the --by groups.
 */

type Obj = Record<string, unknown>;

function o(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

function n(v: unknown): string {
  if (v !== null && typeof v === 'object' && 'text' in v) return String((v as { text: unknown }).text); // an exact number
  return typeof v === 'number' ? String(v) : v === null || v === undefined ? '-' : String(v);
}

function pair(v: unknown): string {
  const p = o(v);
  return `${n(p['orig'])}/${n(p['resp'])}`;
}

function rtt(v: unknown): string {
  const r = o(v);
  return r['p50'] === undefined ? '-' : `${n(r['p50'])}/${n(r['p90'])}/${n(r['p99'])}`;
}

/** Right-aligns numeric-looking cells, left-aligns the first column. */
export function alignedTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

const COLS = ['conns', 'success', 'dupsyn', 'dupsynack', 'timeout', 'reject', 'unreach', 'pkts o/r', 'ip_bytes o/r', 'retrans o/r', 'rtt_ms p50/p90/p99'];

function countsRow(name: string, t: Obj): string[] {
  const s = o(t['success']), f = o(t['failure']);
  return [name, n(t['connections']), n(s['total']), n(s['dupsyn']), n(s['dupsynack']), n(f['timeout']), n(f['reject']), n(f['unreach']), pair(t['packets']), pair(t['ip_bytes']), pair(t['retransmissions']), rtt(t['rtt_ms'])];
}

export function summaryTable(summary: unknown): string {
  const s = o(summary);
  const head = o(s['summary']);
  let out = `records ${n(head['records'])}, selected ${n(head['selected'])}` + (head['skipped_lines'] ? `, skipped lines ${n(head['skipped_lines'])}` : '') + (head['since'] !== undefined ? `, since ${n(head['since'])}` : '') + '\n\n';
  const filters = o(s['filters']);
  out += alignedTable(['filter', ...COLS], Object.entries(filters).map(([k, v]) => countsRow(k, o(v))));
  for (const [k, v] of Object.entries(filters)) {
    const top = o(v)['top_talkers'];
    if (!Array.isArray(top) || top.length === 0) continue;
    out += `\ntop talkers (${k}), by IP bytes\n`;
    out += alignedTable(['orig_h', 'resp_h', 'conns', 'pkts', 'ip_bytes'], top.map((t) => [n(o(t)['orig_h']), n(o(t)['resp_h']), n(o(t)['connections']), n(o(t)['packets']), n(o(t)['ip_bytes'])]));
  }
  const by = o(s['by']);
  if (Array.isArray(by['groups'])) {
    out += `\nby ${n(by['field'])}${by['approximate'] ? ' (approximate: too many distinct values)' : ''}\n`;
    out += alignedTable([n(by['field']), ...COLS], (by['groups'] as unknown[]).map((g) => countsRow(n(o(g)['key']) || '(empty)', o(g))));
  }
  return out;
}
