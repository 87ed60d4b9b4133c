/**
 * tcpanalyze --report FILE.html and --plot DIR: reads the captures for the
 * overview and the selected connections' graphs (src/report/collect.ts),
 * then writes the HTML page and the standalone SVG files, each under a
 * temporary name renamed into place when complete.
 *
 * stdin: with --uid the graphs are collected in the one pass over the
 * records; otherwise the selection needs the records first and the capture
 * a second time, so stdin is first copied to a temporary file (deleted at
 * the end; it takes the capture's size on disk).
 */
import { createWriteStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { InputSpec } from '../src/io/input.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { AppLayer } from '../src/analysis/app-layer.js';
import type { ProtocolDef } from '../src/protocols/decoder.js';
import { compileWhere } from '../src/filter/where.js';
import { ReportCollector } from '../src/report/collect.js';
import { GraphSelection } from '../src/report/selection.js';
import { reportHtml } from '../src/report/html.js';
import { connSvgFiles } from '../src/report/svg-file.js';
import { UsageError, isToolError, EXIT_DATA, EXIT_OK, type ToolError } from '../src/util/errors.js';
import { warn } from './_common.js';
import type { MemoryBudget } from '../src/util/memory-budget.js';
import type { Progress } from '../src/analysis/pipeline.js';

export interface ReportRun {
  name: string;
  version: string;
  files: string[];
  report?: string;
  plot?: string;
  uids: string[];
  select?: string;
  top: number;
  protocols: ProtocolDef[];
  decodePorts: Map<string, number[]>;
  maxBuffer: number;
  idleTimeoutMs: number;
  closeLingerMs: number;
  synTimeoutMs: number;
  maxFlows: number;
  /** A fresh memory budget for a pass over the input (--max-memory). */
  budget?: () => MemoryBudget;
  quiet: boolean;
  onProgress?: (p: Progress) => void;
  interrupted: () => boolean;
}

const UID_RE = /^C[0-9A-Za-z]{17}$/;
const STREAM_RE = /^(0|[1-9][0-9]{0,9})$/;

/** --uid values: repeatable, each may list several uids or tcp.stream numbers separated by commas. */
export function parseUids(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) for (const u of v.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (!UID_RE.test(u) && !STREAM_RE.test(u)) throw new UsageError('USAGE_BAD_UID', `--uid: expected a connection uid (C + 17 letters and digits) or a tcp.stream number, got ${JSON.stringify(u)}`);
    if (!out.includes(u)) out.push(u);
  }
  return out;
}

/** `n thing(s)`. */
function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The output paths, checked before the capture is read: --report names a file, --plot a directory. */
function checkOutputs(o: ReportRun): void {
  const kind = (p: string): 'dir' | 'other' | 'none' => {
    try {
      return statSync(p).isDirectory() ? 'dir' : 'other';
    } catch {
      return 'none';
    }
  };
  if (o.report !== undefined && (o.report.endsWith('/') || kind(o.report) === 'dir')) throw new UsageError('USAGE_REPORT_IS_DIRECTORY', `--report ${o.report}: is a directory; name the HTML file to write, e.g. ${join(o.report, 'report.html')}`);
  if (o.plot !== undefined && kind(o.plot) === 'other') throw new UsageError('USAGE_PLOT_NOT_DIRECTORY', `--plot ${o.plot}: exists and is not a directory; name a directory for the SVG files (created if missing)`);
}

export async function runReport(o: ReportRun): Promise<number> {
  checkOutputs(o);
  const selection = new GraphSelection({ uids: o.uids, where: o.select !== undefined ? compileWhere(o.select) : null, top: o.top });
  let spool: string | null = null;
  let files = o.files;
  try {
    if (files.includes('-') && !selection.explicit) {
      // the second pass needs the capture again
      spool = await mkdtemp(join(tmpdir(), 'tcpkit-report-'));
      const path = join(spool, 'stdin.capture');
      await pipeline(process.stdin, createWriteStream(path));
      files = files.map((f) => (f === '-' ? path : f));
    }
    const specs = (): InputSpec[] => files.map((f) => (f === '-' ? { path: f, stream: process.stdin } : { path: f, fileReads: 'ahead' as const }));
    const collector: ReportCollector = new ReportCollector({
      selection,
      overview: o.report !== undefined,
      analyze: {
        idleTimeoutMs: o.idleTimeoutMs,
        closeLingerMs: o.closeLingerMs,
        synTimeoutMs: o.synTimeoutMs,
        maxFlows: o.maxFlows,
        control: { stop: o.interrupted },
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      },
      ...(o.budget ? { budget: o.budget } : {}),
      ...(o.protocols.length > 0 ? { app: new AppLayer({ protocols: o.protocols, ports: o.decodePorts, maxBuffer: o.maxBuffer, onTransaction: (schema, r) => collector.onTransaction(schema.kind, r) }) } : {}),
    });
    const data = await collector.run(specs(), specs);
    let code = EXIT_OK;
    // the second pass meets the same damage as the first: each message once
    const said = new Set<string>();
    for (const res of data.results) {
      for (const e of res.errors) {
        const line = `${o.name}: ${isToolError(e) ? (e as ToolError).describe() : e.message}`;
        if (!said.has(line)) warn(line);
        said.add(line);
        code = EXIT_DATA;
      }
    }
    for (const u of selection.missing()) {
      warn(`${o.name}: --uid ${u}: no TCP connection with that ${STREAM_RE.test(u) ? 'tcp.stream number' : 'uid'} in the input [UID_NOT_FOUND]`);
      code = EXIT_DATA;
    }
    const how = selection.explicit ? `named by --uid (${o.uids.length})` : `the ${o.top} worst${o.select !== undefined ? ` matching --select '${o.select}' (${selection.matched} matched)` : ''}, by retransmissions, zero windows, resets and failed handshakes`;
    if (o.report !== undefined) {
      const html = reportHtml(data, {
        tool: o.name,
        version: o.version,
        inputs: o.files.map((f) => (f === '-' ? '<stdin>' : f)),
        selection: how,
        options: o.protocols.length > 0 ? [`--decode ${o.protocols.map((p) => p.name).join(',')}`] : [],
      });
      await writeFileAtomic(o.report, html, { overwrite: true });
      if (!o.quiet) warn(`${o.name}: ${o.report}: ${count(data.conns.length, 'connection')} with graphs, ${Math.round(Buffer.byteLength(html) / 1024)} KiB`);
    }
    if (o.plot !== undefined) {
      let n = 0;
      for (const c of data.conns) {
        for (const f of connSvgFiles(c.charts)) {
          await writeFileAtomic(join(o.plot, f.name), f.text, { overwrite: true });
          n++;
        }
      }
      if (!o.quiet) warn(`${o.name}: ${o.plot}: ${count(n, 'SVG file')} for ${count(data.conns.length, 'connection')}${data.conns.length === 0 ? ' (no TCP connection to draw)' : ''}`);
    }
    return code;
  } finally {
    if (spool !== null) await rm(spool, { recursive: true, force: true });
  }
}
