/**
 * The one-page HTML report: self-contained (styles, data and script inline;
 * no fonts, images or requests from elsewhere), so it opens offline from a
 * file, a CI artifact or a mail attachment. The overview is static HTML and
 * SVG; each selected connection's graphs are drawn by the page's script
 * from the data embedded as JSON (client.ts), which is what makes zoom,
 * pan and hover possible without writing every segment into the page
 * twice. Same inputs and options, same bytes: nothing in the page depends
 * on the clock, the time zone or the locale.
 */
import { gzipSync } from 'node:zlib';
import { FLAG_NAMES } from '../analysis/seq-analysis.js';
import type { ConnCharts } from '../graphs/chart.js';
import type { RecordValues } from '../records/schema.js';
import { esc } from './draw-axes.js';
import { clientScript } from './client-source.js';
import type { Collected } from './collect.js';
import { fmtBytes, fmtNum, overviewHtml } from './html-overview.js';

export interface ReportMeta {
  tool: string;
  version: string;
  /** Input names as given (stdin as "<stdin>"). */
  inputs: string[];
  /** How the connections with graphs were chosen, for the heading (e.g. "the 10 worst"). */
  selection: string;
  /** Options worth showing (decode, timeouts), already formatted. */
  options: string[];
}

const CSS = `
body{font:14px/1.45 "DejaVu Sans",Verdana,Arial,Helvetica,sans-serif;color:#222;margin:0;background:#fafafa}
header,main{max-width:1200px;margin:0 auto;padding:0 24px}
header{padding-top:18px}h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}h3 small,.meta{color:#666;font-weight:normal}
section{scroll-margin-top:36px}nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:6px 24px;z-index:2;font-size:13px}nav a{margin-right:14px}
a{color:#204a87}code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:160px;flex:1}
.card .k{color:#666;font-size:12px}.card .v{font-size:20px;font-weight:bold}.card .s{color:#555;font-size:12px}
.two{display:grid;grid-template-columns:1fr 1fr;gap:18px}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:10px}
table{border-collapse:collapse;background:#fff;font-size:12.5px;width:100%}th,td{border:1px solid #e2e2e2;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f0f0f0}
td .ep{color:#555;font-size:11.5px}.none{color:#777;font-style:italic}
.static-chart,.chart-box{background:#fff;border:1px solid #ddd;border-radius:6px;margin:6px 0;overflow:hidden}
section.conn{border-top:2px solid #204a87;margin-top:26px;padding-top:4px}section.conn h3{font-size:16px}
.controls{display:flex;gap:8px;align-items:center;flex-wrap:wrap;font-size:12.5px;color:#555}
button{font:inherit;font-size:12.5px;border:1px solid #aaa;background:#fff;border-radius:4px;padding:3px 9px;cursor:pointer}button.on{background:#204a87;color:#fff;border-color:#204a87}
.chart-box{cursor:crosshair;user-select:none}.marks-info{font-size:12.5px;color:#333;margin:4px 0}
.tip{position:fixed;display:none;background:#fffff0;border:1px solid #999;border-radius:4px;padding:5px 8px;font-size:12px;pointer-events:none;z-index:5;max-width:320px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
table.record td:first-child{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:11.5px;white-space:nowrap}
footer{max-width:1200px;margin:30px auto;padding:0 24px;color:#666;font-size:12px}
@media (max-width:900px){.two{grid-template-columns:1fr}}
`;

function iso(t: number): string {
  return new Date(t * 1000).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** The record as a two-column table (fields with a value only). */
function recordTable(r: RecordValues): string {
  const rows = Object.entries(r)
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(Array.isArray(v) ? v.join(', ') : String(v))}</td></tr>`);
  return `<table class="record"><tbody>${rows.join('')}</tbody></table>`;
}

function connSection(cc: ConnCharts, r: RecordValues, i: number): string {
  const out: string[] = [];
  const v = (k: string): string => esc(String(r[k] ?? ''));
  out.push(`<section class="conn" id="conn-${esc(cc.uid)}" data-index="${i}" data-uid="${esc(cc.uid)}">`);
  out.push(`<h3>${esc(cc.title)} <small><code>${esc(cc.uid)}</code> · <code>tcp.stream eq ${cc.tcpStream}</code> · ${v('conn_state')} <code>${v('history')}</code> · handshake ${v('handshake') || '–'} · ${fmtNum(cc.duration)} s · ${fmtNum(cc.segments)} segments</small></h3>`);
  out.push('<div class="controls">data sent by: ');
  cc.dirs.forEach((d, k) => out.push(`<button class="dir" data-dir="${k}">${esc(d.dir === 'orig' ? 'originator' : 'responder')}: ${esc(d.label)}</button>`));
  out.push('<button class="reset">reset zoom</button><span>wheel: zoom (Shift: time only, Alt: values only) · drag: pan · double-click: reset · hover: details</span></div>');
  out.push('<div class="marks-info"></div>');
  if (cc.decimated) {
    const dm = cc.decimated;
    out.push(`<p class="meta">Decimated: ${fmtNum(cc.segments)} segments; ${fmtNum(dm.rows)} marked segments drawn one by one${dm.marksOver > 0 ? ` (${fmtNum(dm.marksOver)} more counted in their buckets)` : ''}, everything else as its envelope in ${fmtNum(dm.buckets)} buckets of ${fmtNum(dm.bucketWidth * 1000)} ms.</p>`);
  }
  for (const c of cc.dirs[0]!.charts) out.push(`<div class="chart-box" data-chart="${esc(c.id)}"></div>`);
  out.push(`<details><summary>conn record</summary>${recordTable(r)}</details></section>`);
  return out.join('\n');
}

/** The whole page. */
export function reportHtml(data: Collected, meta: ReportMeta): string {
  const ov = data.overview;
  const linkedUids = new Set(data.conns.map((c) => c.charts.uid));
  const span = ov?.span ?? null;
  const title = meta.inputs.length === 1 ? `tcpkit report: ${meta.inputs[0]}` : `tcpkit report: ${meta.inputs.length} captures`;
  const out: string[] = [];
  out.push(`<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head><body>`);
  out.push(`<header><h1>${esc(title)}</h1><div class="meta">`);
  if (meta.inputs.length > 1) out.push(`${esc(meta.inputs.join(', '))}<br>`);
  if (span !== null && ov !== null) out.push(`${esc(iso(span.first))} to ${esc(iso(span.last))} (${fmtNum(+(span.last - span.first).toFixed(6))} s) · ${fmtNum(ov.packets)} packets, ${fmtBytes(ov.bytes)} · `);
  out.push(`made by ${esc(meta.tool)} ${esc(meta.version)}${meta.options.length > 0 ? ' · ' + esc(meta.options.join(' ')) : ''}</div></header>`);
  out.push('<nav><a href="#overview">overview</a><a href="#worst">worst</a><a href="#distributions">distributions</a><a href="#time">over time</a><a href="#talkers">talkers</a>');
  if (ov !== null && ov.summary.json()['transactions'] !== undefined) out.push('<a href="#transactions">transactions</a>');
  out.push(`<a href="#connections">connections (${data.conns.length})</a></nav><main>`);
  if (ov !== null) out.push(overviewHtml(ov, (u) => linkedUids.has(u)));
  out.push(`<section id="connections"><h2>Connections with graphs: ${esc(meta.selection)}</h2>`);
  if (data.conns.length === 0) out.push('<p class="none">no TCP connection selected</p>');
  else out.push('<p class="meta">' + data.conns.map((c) => `<a href="#conn-${esc(c.charts.uid)}">${esc(c.charts.uid)}</a>`).join(' · ') + '</p>');
  data.conns.forEach((c, i) => out.push(connSection(c.charts, c.record, i)));
  out.push('</section></main>');
  out.push(`<footer>Graphs in tcptrace's and Wireshark's vocabulary: R retransmission, O out-of-order, Z zero window, P zero-window probe, ticks duplicate ACKs; colours and the decimation rule in tcpkit's docs/graphs.md.</footer>`);
  // the graph data as gzip-compressed JSON in base64: about 6 times smaller than the JSON (numbers compress well)
  const json = JSON.stringify({ flagNames: FLAG_NAMES, conns: data.conns.map((c) => c.charts) });
  out.push(`<script type="application/octet-stream" id="tcpkit-data" data-encoding="gzip+base64">${gzipSync(json, { level: 9 }).toString('base64')}</script>`);
  out.push(`<noscript><p>The connection graphs are drawn by the page's script; the overview above does not need it.</p></noscript>`);
  const script = clientScript("document.getElementById('tcpkit-data')").replace(/<\/(script)/gi, '<\\/$1');
  out.push(`<script>${script}</script></body></html>\n`);
  return out.join('\n');
}
