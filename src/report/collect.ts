/**
 * Reading a capture for a report or for graphs: the overview and the
 * selection from the records, then the graph data of the selected
 * connections.
 *
 * With connections named by uid the graph data is collected in the same
 * pass as the records (the collector knows a connection by its uid at its
 * first segment). A selection by predicate or by "worst" needs the records
 * first, so the capture is read twice: pass 1 writes the records into the
 * overview and the selection, pass 2 collects the graph data of the
 * selected uids and stops reading once all of them have ended. Pass 2 runs
 * without application decoders and with connection accounting only (the
 * collector runs the sequence analysis of the selected connections
 * itself): neither changes a flow boundary, so the uids are the same; the
 * records shown are pass 1's (with their analysis and transaction fields). Input that cannot be read twice (stdin) is the caller's to keep:
 * tcpanalyze copies it to a temporary file first.
 */
import type { InputSpec } from '../io/input.js';
import type { RecordValues } from '../records/schema.js';
import type { AppLayer } from '../analysis/app-layer.js';
import { analyzeCaptures, type AnalyzeOptions, type AnalyzeResult } from '../analysis/pipeline.js';
import { GraphCollector } from '../graphs/collector.js';
import type { SegmentLogOptions } from '../graphs/segment-log.js';
import { connCharts } from '../graphs/series.js';
import type { ConnCharts } from '../graphs/chart.js';
import { Overview } from './overview.js';
import type { GraphSelection } from './selection.js';
import type { MemoryBudget } from '../util/memory-budget.js';

export interface CollectOptions {
  selection: GraphSelection;
  /** Build the overview (the HTML report); --plot alone does not need it. */
  overview?: boolean;
  /** The analysis options of the run (timeouts decide flow boundaries, hence uids). */
  analyze: Pick<AnalyzeOptions, 'idleTimeoutMs' | 'closeLingerMs' | 'synTimeoutMs' | 'maxFlows' | 'control' | 'onProgress'>;
  /** Application decoders for pass 1; their transaction records should go to `onTransaction`. */
  app?: AppLayer;
  logOptions?: SegmentLogOptions;
  /** A fresh memory budget for each pass (the analysis state's limit, --max-memory). */
  budget?: () => MemoryBudget;
}

export interface Collected {
  overview: Overview | null;
  /** The selected connections' charts, in report order, with their records. */
  conns: { charts: ConnCharts; record: RecordValues }[];
  /** Pass 1's result, and pass 2's when there was one. */
  results: AnalyzeResult[];
}

export class ReportCollector {
  readonly overview: Overview | null;

  constructor(private readonly o: CollectOptions) {
    this.overview = o.overview === false ? null : new Overview();
  }

  /** A transaction record of kind `kind` (http, dns, ssl, ...) from the application decoders (for the overview). */
  readonly onTransaction = (kind: string, r: RecordValues): void => {
    this.overview?.addRecord({ record: kind, ...r });
  };

  /** Reads `specs` once, and `again()` a second time when the selection needs it. */
  async run(specs: InputSpec[], again: () => InputSpec[]): Promise<Collected> {
    const sel = this.o.selection;
    const ov = this.overview;
    const first = sel.explicit ? new GraphCollector(new Set(sel.namedUids), this.o.logOptions, new Set(sel.namedStreams), (n, uid) => sel.resolveStream(n, uid)) : null;
    const results: AnalyzeResult[] = [];
    results.push(
      await analyzeCaptures(specs, {
        ...this.o.analyze,
        ...(this.o.app ? { app: this.o.app } : {}),
        ...(this.o.budget ? { budget: this.o.budget() } : {}),
        // the graphs read each segment's analysis bits and state from its first packet
        ...(first ? { segmentFlags: true } : {}),
        onRecord: (r, c) => {
          ov?.addRecord(r);
          sel.offer(r);
          first?.onRecord(r, c);
        },
        ...(first ? { onSegment: first.onSegment } : {}),
        ...(ov ? { onPacketDone: (pv) => ov.addPacket(pv) } : {}),
      }),
    );
    const records = sel.records();
    let collector = first;
    if (collector === null && records.length > 0 && !results[0]!.stopped) {
      collector = new GraphCollector(new Set(records.map((r) => String(r['uid']))), this.o.logOptions);
      const c = collector;
      const stop = this.o.analyze.control?.stop;
      results.push(
        await analyzeCaptures(again(), {
          ...this.o.analyze,
          // connection accounting only: the collector analyses the selected connections itself
          analysis: 'flows',
          ...(this.o.budget ? { budget: this.o.budget() } : {}),
          onSegment: c.onSegment,
          onRecord: (r, conn) => c.onRecord(r, conn),
          control: { ...this.o.analyze.control, stop: () => c.complete || (stop?.() ?? false) },
        }),
      );
    }
    const conns: Collected['conns'] = [];
    for (const r of records) {
      const g = collector?.graphs.get(String(r['uid']));
      if (g === undefined) continue;
      g.record = r;
      conns.push({ charts: connCharts(g), record: r });
    }
    return { overview: ov, conns, results };
  }
}
