/**
 * tcpanalyze's analysis thread (see src/analysis/remote-analysis.ts): replays
 * the capture thread's events and sends back, in order, the analysis fields
 * of each record (ANALYSIS_FIELDS) in messages of ROWS records; `{ done: true }`
 * ends the stream. The capture thread completes, selects and writes the
 * records, which balances the work of the two.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runRemoteAnalysis } from '../src/analysis/remote-analysis.js';
import type { SharedRing } from '../src/io/shared-ring.js';
import type { RecordRow } from '../src/records/schema.js';

export interface AnalysisWorkerData {
  ring: SharedRing;
  synTimeoutMs: number;
}

/** Records per message. */
const ROWS = 256;

const port = parentPort!;
const o = workerData as AnalysisWorkerData;
let rows: RecordRow[] = [];
runRemoteAnalysis(o.ring, o.synTimeoutMs, (row) => {
  rows.push(row);
  if (rows.length === ROWS) {
    port.postMessage(rows);
    rows = [];
  }
});
if (rows.length > 0) port.postMessage(rows);
port.postMessage({ done: true });
