/**
 * Record writers: NDJSON (schema key order, exact numbers), CSV (header from
 * the schema, quoting by csv-stringify) and an aligned table for terminals.
 * All write text into a TextSink, which batches and applies backpressure.
 */
import { createRequire } from 'node:module';
import type { stringify as Stringify } from 'csv-stringify/sync';
import type { TextSink } from '../io/sink.js';
import { cellText, columns, toJsonLine, type RecordSchema, type RecordValues } from '../records/schema.js';
import { clock, clockTime, endpoint, fitColumns, fmtCount, fmtMs, fmtSeconds, pairCell, rowCells, tableLine, type Column, type Laid } from './table.js';

export interface RecordWriter {
  write(r: RecordValues): void;
  end(): void;
}

export class NdjsonWriter implements RecordWriter {
  constructor(private readonly sink: TextSink, private readonly schema: RecordSchema) {}
  write(r: RecordValues): void {
    this.sink.write(toJsonLine(this.schema, r) + '\n');
  }
  end(): void {}
}

const CSV_SPECIAL = /[",\r\n]/;

let csvStringify: typeof Stringify | null = null;
/** csv-stringify loads on first use (13 ms of start-up that NDJSON runs do not need). */
function stringify(rows: string[][]): string {
  csvStringify ??= (createRequire(import.meta.url)('csv-stringify/sync') as { stringify: typeof Stringify }).stringify;
  return csvStringify(rows);
}

export class CsvWriter implements RecordWriter {
  private headerDone = false;
  constructor(private readonly sink: TextSink, private readonly schema: RecordSchema, private readonly header = true) {}
  private writeHeader(): void {
    this.headerDone = true;
    if (this.header) this.sink.write(stringify([columns(this.schema)]));
  }
  write(r: RecordValues): void {
    if (!this.headerDone) this.writeHeader();
    const cells = this.schema.fields.map((f) => cellText(f, r[f.name]));
    // Fast path: no cell needs quoting; otherwise csv-stringify decides.
    if (cells.every((c) => !CSV_SPECIAL.test(c))) this.sink.write(cells.join(',') + '\n');
    else this.sink.write(stringify([cells]));
  }
  end(): void {
    if (!this.headerDone) this.writeHeader();
  }
}

export interface TableWriterOptions {
  /** Terminal width in characters (Infinity: a file, nothing is cut). */
  width?: number;
  /** Every column at its natural width, no cell shortened. */
  wide?: boolean;
  /** The header is repeated every this many rows. */
  headerEvery?: number;
}

/**
 * A table for a terminal, streamed: the columns (src/output/table.ts) are
 * laid out once for the width, so rows line up without being buffered.
 */
export class TableWriter implements RecordWriter {
  private rows = 0;
  private readonly laid: Laid<RecordValues>[];
  private readonly header: string;
  private readonly wide: boolean;
  private readonly headerEvery: number;
  constructor(private readonly sink: TextSink, cols: readonly Column[], o: TableWriterOptions = {}) {
    this.wide = o.wide ?? false;
    this.headerEvery = o.headerEvery ?? 40;
    this.laid = fitColumns(cols, o.width ?? Infinity, { wide: this.wide });
    this.header = tableLine(this.laid, this.laid.map((l) => l.col.title), 2, this.wide);
  }
  write(r: RecordValues): void {
    if (this.rows % this.headerEvery === 0) this.sink.write(this.header);
    this.rows++;
    this.sink.write(tableLine(this.laid, rowCells(this.laid, r), 2, this.wide));
  }
  end(): void {
    if (this.rows === 0) this.sink.write(this.header);
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : null);

/**
 * The conn record's terminal table, most important first: who talked to whom
 * (the endpoints, never without their ports), how it went (state, handshake,
 * RTT), then volume, time and the rest. --wide shows them all, uncut.
 */
export const CONN_TABLE_COLUMNS: readonly Column[] = [
  { title: 'start (UTC)', priority: 3, min: 12, width: 23, cut: 'start', text: (r) => clock(r['ts']), short: (r) => clockTime(r['ts']) },
  { title: 'proto', priority: 5, min: 5, width: 5, text: (r) => String(r['proto'] ?? '-') },
  { title: 'originator', priority: 1, min: 21, width: 28, align: 'right', cut: 'endpoint', text: (r) => endpoint(r['orig_h'], r['orig_p']) },
  { title: 'responder', priority: 1, min: 21, width: 28, cut: 'endpoint', text: (r) => endpoint(r['resp_h'], r['resp_p']) },
  { title: 'state', priority: 2, min: 6, width: 6, text: (r) => String(r['conn_state'] ?? '-') },
  { title: 'handshake', priority: 4, min: 9, width: 9, text: (r) => (r['handshake'] === null || r['handshake'] === '' ? '-' : String(r['handshake'])) },
  { title: 'rtt ms', priority: 2, min: 6, width: 7, align: 'right', text: (r) => fmtMs(r['rtt_ms']) },
  { title: 'dur s', priority: 6, min: 7, width: 7, align: 'right', optional: true, text: (r) => fmtSeconds(r['duration']) },
  { title: 'pkts o/r', priority: 7, min: 9, width: 11, align: 'right', optional: true, text: (r) => pairCell(fmtCount(num(r['orig_pkts'])), fmtCount(num(r['resp_pkts']))) },
  { title: 'bytes o/r', priority: 5, min: 11, width: 13, align: 'right', text: (r) => pairCell(fmtCount(num(r['orig_bytes'])), fmtCount(num(r['resp_bytes']))) },
  { title: 'rexmt o/r', priority: 6, min: 9, width: 9, align: 'right', optional: true, text: (r) => (r['orig_retransmission'] === null ? '-' : pairCell(fmtCount(num(r['orig_retransmission'])), fmtCount(num(r['resp_retransmission'])))) },
  { title: 'history', priority: 8, min: 8, width: 12, optional: true, text: (r) => String(r['history'] ?? '-') },
  { title: 'end', priority: 8, min: 8, width: 11, optional: true, text: (r) => String(r['end_reason'] ?? '-') },
  { title: 'uid', priority: 9, min: 18, width: 18, optional: true, text: (r) => String(r['uid'] ?? '-') },
];
