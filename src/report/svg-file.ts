/**
 * Standalone SVG files of a connection's graphs (`tcpanalyze --plot DIR`):
 * valid on their own (XML declaration, xmlns, a white background, common
 * fonts with a generic fallback), with <title> tooltips on the marks since
 * no script runs in a document or a ticket.
 */
import type { Chart, ConnCharts } from '../graphs/chart.js';
import { drawChart } from './draw-chart.js';

export const SVG_WIDTH = 1000;
export const SVG_HEIGHT = 520;

export function standaloneSvg(chart: Chart, id: string, width = SVG_WIDTH, height = SVG_HEIGHT): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + drawChart(chart, { width, height, id, standalone: true, titles: true }) + '\n';
}

/** File names and contents of one connection's graphs: UID-<orig|resp>-<tseq|rtt|tput|inflight>.svg. */
export function connSvgFiles(cc: ConnCharts): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const d of cc.dirs) {
    for (const ch of d.charts) {
      const id = `${cc.uid}-${d.dir}-${ch.id}`;
      out.push({ name: `${id}.svg`, text: standaloneSvg({ ...ch, title: `${ch.title}: ${d.label} (${cc.uid})` }, id) });
    }
  }
  return out;
}
