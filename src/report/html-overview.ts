/**
 * The overview part of the HTML report: totals, conn_state and handshake
 * results, the worst connections by each trouble, distributions, throughput
 * and connections over time, top talkers and server ports, and transaction
 * latency and error rates per service (kind and server port) when
 * application protocols were decoded. Static HTML and SVG.
 */
import type { Chart } from '../graphs/chart.js';
import { esc } from './draw-axes.js';
import { drawChart } from './draw-chart.js';
import type { ConnBrief, Overview } from './overview.js';
import { distributionCharts, timeCharts } from './overview-charts.js';

/** Zeek's conn_state codes (scripts/base/protocols/conn/main.zeek). */
export const CONN_STATES: Record<string, string> = {
  S0: 'connection attempt seen, no reply',
  S1: 'established, not terminated',
  SF: 'normal establishment and termination',
  REJ: 'connection attempt rejected',
  S2: 'established, close attempt by the originator seen (no reply from the responder)',
  S3: 'established, close attempt by the responder seen (no reply from the originator)',
  RSTO: 'established, the originator aborted (sent a RST)',
  RSTR: 'the responder sent a RST',
  RSTOS0: 'the originator sent a SYN then a RST, no SYN/ACK seen',
  RSTRH: 'the responder sent a SYN/ACK then a RST, no SYN seen',
  SH: 'the originator sent a SYN then a FIN, no SYN/ACK seen',
  SHR: 'the responder sent a SYN/ACK then a FIN, no SYN seen',
  OTH: 'no SYN seen, just midstream traffic',
};

export function table(head: string[], rows: (string | number)[][], cls = ''): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => '<tr>' + r.map((c) => `<td>${typeof c === 'number' ? fmtNum(c) : c}</td>`).join('') + '</tr>').join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return String(+v.toPrecision(4));
}

export function fmtBytes(v: number): string {
  const u: [number, string][] = [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']];
  for (const [f, s] of u) if (v >= f) return `${+(v / f).toPrecision(3)} ${s}`;
  return `${v} B`;
}

function chartSvg(c: Chart, width: number, height: number): string {
  return `<div class="static-chart">${drawChart(c, { width, height, id: c.id })}</div>`;
}

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {});
const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
const pct = (a: number, b: number): string => (b > 0 ? `${+((100 * a) / b).toPrecision(3)} %` : '–');

/** The overview sections; `linked(uid)` tells whether a connection has its own section (then its uid links to it). */
export function overviewHtml(ov: Overview, linked: (uid: string) => boolean): string {
  const js = ov.summary.json();
  const all = o(o(js['filters'])['all']);
  const out: string[] = [];
  const success = o(all['success']), failure = o(all['failure']);
  const hsTotal = n(success['total']) + n(failure['total']);
  const rtt = o(all['rtt_ms']);
  const protos = [...ov.protos].sort((a, b) => b[1] - a[1]).map(([p, c]) => `${fmtNum(c)} ${esc(p)}`).join(', ');
  out.push('<section id="overview"><h2>Overview</h2><div class="cards">');
  const card = (title: string, value: string, sub: string): void => {
    out.push(`<div class="card"><div class="k">${esc(title)}</div><div class="v">${value}</div><div class="s">${sub}</div></div>`);
  };
  card('connections', fmtNum(n(all['connections'])), protos || '–');
  card('packets', fmtNum(ov.packets), fmtBytes(ov.bytes));
  card('handshakes', `${fmtNum(n(success['total']))} ok`, hsTotal > 0 ? `${fmtNum(n(failure['total']))} failed (${pct(n(failure['total']), hsTotal)}): ${n(failure['timeout'])} timeout, ${n(failure['reject'])} reject, ${n(failure['unreach'])} unreach` : 'none seen');
  card('retransmitted segments', fmtNum(ov.retransmittedSegments), `in ${fmtNum(ov.worstCounts.retransmissions)} of ${fmtNum(ov.tcpConnections)} TCP connections`);
  card('RTT', rtt['p50'] !== undefined ? `${fmtNum(n(rtt['p50']))} ms` : '–', rtt['p50'] !== undefined ? `median; p90 ${fmtNum(n(rtt['p90']))}, p99 ${fmtNum(n(rtt['p99']))}, max ${fmtNum(n(rtt['max']))} ms` : 'no RTT measured');
  card('zero windows', fmtNum(ov.worstCounts.zero_windows), 'connections with a zero window');
  out.push('</div>');
  const states = o(all['conn_state']);
  out.push('<div class="two"><div><h3>Connection states (conn_state)</h3>');
  out.push(table(['state', 'connections', 'meaning'], Object.keys(states).sort((a, b) => n(states[b]) - n(states[a])).map((k) => [`<code>${esc(k)}</code>`, n(states[k]), esc(CONN_STATES[k] ?? '')])));
  out.push('</div><div><h3>Handshakes</h3>');
  out.push(table(['result', 'connections'], [['success', n(success['total'])], ['… with a repeated SYN', n(success['dupsyn'])], ['… with a repeated SYN/ACK', n(success['dupsynack'])], ['timeout', n(failure['timeout'])], ['reject (RST)', n(failure['reject'])], ['unreach (ICMP)', n(failure['unreach'])]]));
  out.push('</div></div></section>');
  out.push(worstHtml(ov, linked));
  const dist = distributionCharts(ov);
  out.push('<section id="distributions"><h2>Distributions</h2><div class="grid">');
  for (const c of dist) out.push(chartSvg(c, 560, 280));
  if (dist.length === 0) out.push('<p class="none">no TCP connections</p>');
  out.push('</div></section>');
  out.push('<section id="time"><h2>Over time</h2>');
  for (const c of timeCharts(ov)) out.push(chartSvg(c, 1140, 280));
  out.push('</section>');
  out.push(talkersHtml(all, o(js['by'])));
  if (js['transactions'] !== undefined) out.push(transactionsHtml(o(js['transactions']), o(js['transactions_by'])));
  return out.join('\n');
}

function connCell(b: ConnBrief, linked: (uid: string) => boolean): string {
  const uid = linked(b.uid) ? `<a href="#conn-${esc(b.uid)}">${esc(b.uid)}</a>` : esc(b.uid);
  return `${uid}<br><span class="ep">${esc(b.orig)} → ${esc(b.resp)}</span>`;
}

function worstHtml(ov: Overview, linked: (uid: string) => boolean): string {
  const out: string[] = ['<section id="worst"><h2>Worst connections</h2><div class="two">'];
  const common = (b: ConnBrief): (string | number)[] => [connCell(b, linked), `<code>${esc(b.conn_state)}</code>`, `<code>${esc(b.history)}</code>`];
  const head = ['connection', 'state', 'history'];
  const lists: [string, keyof Overview['worst'], string[], (b: ConnBrief) => (string | number)[]][] = [
    ['by retransmitted segments', 'retransmissions', ['retransmitted', 'bytes'], (b) => [b.retransmissions, fmtBytes(b.bytes)]],
    ['by RTT (rtt_ms)', 'rtt', ['RTT ms', 'handshake'], (b) => [b.rtt_ms ?? NaN, esc(b.handshake)]],
    ['by zero windows', 'zero_windows', ['zero windows', 'bytes'], (b) => [b.zero_windows, fmtBytes(b.bytes)]],
    ['ended by a reset', 'resets', ['bytes', 'duration s'], (b) => [fmtBytes(b.bytes), b.duration]],
    ['failed handshakes', 'failed_handshakes', ['handshake', 'time'], (b) => [esc(b.handshake), new Date(b.ts * 1000).toISOString().replace('T', ' ').replace('Z', '')]],
  ];
  for (const [title, key, extra, cells] of lists) {
    const rows = ov.worst[key].values();
    const total = ov.worstCounts[key];
    out.push(`<div class="worst" data-list="${key}"><h3>${esc(title)} <small>(${fmtNum(total)} connection${total === 1 ? '' : 's'}${total > rows.length ? `, the first ${rows.length} shown` : ''})</small></h3>`);
    out.push(table([...head, ...extra], rows.map((b) => [...common(b), ...cells(b)])));
    out.push('</div>');
  }
  out.push('</div></section>');
  return out.join('\n');
}

function talkersHtml(all: Obj, by: Obj): string {
  const talk = Array.isArray(all['top_talkers']) ? (all['top_talkers'] as Obj[]) : [];
  const groups = Array.isArray(by['groups']) ? (by['groups'] as Obj[]) : [];
  const ports = [...groups].sort((a, b) => n(o(b['ip_bytes'])['orig']) + n(o(b['ip_bytes'])['resp']) - n(o(a['ip_bytes'])['orig']) - n(o(a['ip_bytes'])['resp'])).slice(0, 10);
  const out = ['<section id="talkers"><h2>Top talkers and server ports</h2><div class="two"><div><h3>Talkers (by IP bytes)</h3>'];
  out.push(table(['originator', 'responder', 'connections', 'packets', 'IP bytes'], talk.map((t) => [esc(String(t['orig_h'])), esc(String(t['resp_h'])), n(t['connections']), n(t['packets']), fmtBytes(n(t['ip_bytes']))])));
  out.push('</div><div><h3>Server ports (by IP bytes)</h3>');
  out.push(
    table(
      ['port', 'connections', 'failed handshakes', 'RTT p50 ms', 'IP bytes'],
      ports.map((g) => [esc(String(g['key'])), n(g['connections']), n(o(g['failure'])['total']), o(g['rtt_ms'])['p50'] !== undefined ? n(o(g['rtt_ms'])['p50']) : '–', fmtBytes(n(o(g['ip_bytes'])['orig']) + n(o(g['ip_bytes'])['resp']))]),
    ),
  );
  out.push('</div></div></section>');
  return out.join('\n');
}

function latency(l: Obj): (string | number)[] {
  return l['p50'] === undefined ? ['–', '–', '–', '–'] : [n(l['p50']), n(l['p90']), n(l['p99']), n(l['max'])];
}

function transactionsHtml(kinds: Obj, by: Obj): string {
  const out = ['<section id="transactions"><h2>Transactions</h2><h3>Per protocol</h3>'];
  const head = ['count', 'failed', 'failure rate', 'per second', 'latency p50 ms', 'p90', 'p99', 'max'];
  out.push(
    table(
      ['protocol', ...head, 'outcomes'],
      Object.entries(kinds).map(([k, t0]) => {
        const t = o(t0);
        const oc = o(t['outcomes']);
        return [`<code>${esc(k)}</code>`, n(t['count']), n(t['failed']), pct(n(t['failed']), n(t['count'])), t['per_second'] === null ? '–' : n(t['per_second']), ...latency(o(t['latency_ms'])), esc(Object.entries(oc).map(([a, b]) => `${a} ${b}`).join(', '))];
      }),
      'txn',
    ),
  );
  const groups = Array.isArray(by['groups']) ? (by['groups'] as Obj[]) : [];
  out.push(`<h3>Per service (protocol and server port, by the time their transactions took)</h3>`);
  out.push(
    table(
      ['protocol', 'port', ...head, 'time share'],
      groups.slice(0, 20).map((g) => [`<code>${esc(String(g['kind']))}</code>`, esc(String(g['key'])), n(g['count']), n(g['failed']), pct(n(g['failed']), n(g['count'])), g['per_second'] === null ? '–' : n(g['per_second']), ...latency(o(g['latency_ms'])), g['time_share'] === null ? '–' : `${+(n(g['time_share']) * 100).toPrecision(3)} %`]),
      'txn',
    ),
  );
  out.push('</section>');
  return out.join('\n');
}
