/**
 * Record writers: NDJSON (schema key order, exact numbers), CSV (header from
 * the schema, quoting by csv-stringify) and an aligned table for terminals.
 * All write text into a TextSink, which batches and applies backpressure.
 */
import { createRequire } from 'node:module';
import type { stringify as Stringify } from 'csv-stringify/sync';
import type { TextSink } from '../io/sink.js';
import { cellText, columns, toJsonLine, type RecordSchema, type RecordValues } from '../records/schema.js';

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

/** Columns of the terminal table: a readable subset, with widths. */
export interface TableColumn {
  field: string;
  title: string;
  width: number;
  align?: 'left' | 'right';
  /** Cell text from the record (default: the field's value). */
  text?: (r: RecordValues) => string;
}

export class TableWriter implements RecordWriter {
  private rows = 0;
  /** The next row starts with the header line again. */
  restart(): void {
    this.rows = 0;
  }
  constructor(private readonly sink: TextSink, private readonly cols: readonly TableColumn[], private readonly headerEvery = 40) {}
  private line(cells: string[]): string {
    return (
      cells
        .map((c, i) => {
          const col = this.cols[i]!;
          const t = c.length > col.width ? c.slice(0, col.width - 1) + '…' : c;
          return col.align === 'right' ? t.padStart(col.width) : t.padEnd(col.width);
        })
        .join('  ')
        .trimEnd() + '\n'
    );
  }
  write(r: RecordValues): void {
    if (this.rows % this.headerEvery === 0) this.sink.write(this.line(this.cols.map((c) => c.title)));
    this.rows++;
    this.sink.write(
      this.line(
        this.cols.map((c) => {
          if (c.text) return c.text(r);
          const v = r[c.field];
          return v === null || v === undefined ? '-' : String(v);
        }),
      ),
    );
  }
  end(): void {
    if (this.rows === 0) this.sink.write(this.line(this.cols.map((c) => c.title)));
  }
}

const endpoint = (h: unknown, p: unknown): string => (String(h).includes(':') ? `[${h}]:${p}` : `${h}:${p}`);
/** Epoch seconds text (9 fraction digits) as UTC `YYYY-MM-DD HH:MM:SS.mmm`. */
const clock = (ts: unknown): string => {
  const [sec, frac = '0'] = String(ts).split('.');
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19).replace('T', ' ')}.${frac.slice(0, 3)}`;
};

export const CONN_TABLE_COLUMNS: readonly TableColumn[] = [
  { field: 'ts', title: 'start (UTC)', width: 23, text: (r) => clock(r['ts']) },
  { field: 'proto', title: 'proto', width: 5 },
  { field: 'orig_h', title: 'originator', width: 30, align: 'right', text: (r) => endpoint(r['orig_h'], r['orig_p']) },
  { field: 'resp_h', title: 'responder', width: 30, text: (r) => endpoint(r['resp_h'], r['resp_p']) },
  { field: 'duration', title: 'seconds', width: 10, align: 'right', text: (r) => Number(r['duration']).toFixed(3) },
  { field: 'orig_pkts', title: 'o_pkts', width: 7, align: 'right' },
  { field: 'resp_pkts', title: 'r_pkts', width: 7, align: 'right' },
  { field: 'orig_bytes', title: 'o_bytes', width: 10, align: 'right' },
  { field: 'resp_bytes', title: 'r_bytes', width: 10, align: 'right' },
  { field: 'handshake', title: 'handshake', width: 9 },
  { field: 'rtt_ms', title: 'rtt_ms', width: 8, align: 'right', text: (r) => (r['rtt_ms'] === null ? '-' : Number(r['rtt_ms']).toFixed(1)) },
  { field: 'orig_retransmission', title: 'o_rexmt', width: 7, align: 'right' },
  { field: 'resp_retransmission', title: 'r_rexmt', width: 7, align: 'right' },
  { field: 'conn_state', title: 'state', width: 6 },
  { field: 'history', title: 'history', width: 14 },
  { field: 'end_reason', title: 'end', width: 8 },
];

/** Milliseconds with a precision that suits their size. */
const msText = (v: unknown): string => {
  if (typeof v !== 'number') return '-';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
};

export const HTTP_TABLE_COLUMNS: readonly TableColumn[] = [
  { field: 'ts', title: 'start (UTC)', width: 23, text: (r) => clock(r['ts']) },
  { field: 'orig_h', title: 'client', width: 24, align: 'right', text: (r) => endpoint(r['orig_h'], r['orig_p']) },
  { field: 'resp_h', title: 'server', width: 24, text: (r) => endpoint(r['resp_h'], r['resp_p']) },
  { field: 'method', title: 'method', width: 7 },
  { field: 'host', title: 'host', width: 20 },
  { field: 'uri', title: 'uri', width: 32 },
  { field: 'status_code', title: 'status', width: 6, align: 'right' },
  { field: 'latency_ms', title: 'latency_ms', width: 10, align: 'right', text: (r) => msText(r['latency_ms']) },
  { field: 'duration_ms', title: 'total_ms', width: 9, align: 'right', text: (r) => msText(r['duration_ms']) },
  { field: 'response_body_len', title: 'resp_bytes', width: 10, align: 'right' },
  { field: 'state', title: 'state', width: 10 },
];

const list = (v: unknown): string => (Array.isArray(v) ? v.join(',') : v === null || v === undefined ? '-' : String(v));

export const DNS_TABLE_COLUMNS: readonly TableColumn[] = [
  { field: 'ts', title: 'start (UTC)', width: 23, text: (r) => clock(r['ts']) },
  { field: 'orig_h', title: 'client', width: 24, align: 'right', text: (r) => endpoint(r['orig_h'], r['orig_p']) },
  { field: 'resp_h', title: 'server', width: 24, text: (r) => endpoint(r['resp_h'], r['resp_p']) },
  { field: 'proto', title: 'proto', width: 5 },
  { field: 'query', title: 'query', width: 32 },
  { field: 'qtype_name', title: 'type', width: 6 },
  { field: 'rcode_name', title: 'rcode', width: 9 },
  { field: 'answers', title: 'answers', width: 30, text: (r) => list(r['answers']) },
  { field: 'latency_ms', title: 'latency_ms', width: 10, align: 'right', text: (r) => msText(r['latency_ms']) },
  { field: 'state', title: 'state', width: 10 },
];

export const SSL_TABLE_COLUMNS: readonly TableColumn[] = [
  { field: 'ts', title: 'start (UTC)', width: 23, text: (r) => clock(r['ts']) },
  { field: 'orig_h', title: 'client', width: 24, align: 'right', text: (r) => endpoint(r['orig_h'], r['orig_p']) },
  { field: 'resp_h', title: 'server', width: 24, text: (r) => endpoint(r['resp_h'], r['resp_p']) },
  { field: 'server_name', title: 'server_name', width: 24 },
  { field: 'version', title: 'version', width: 7 },
  { field: 'cipher', title: 'cipher', width: 30 },
  { field: 'next_protocol', title: 'alpn', width: 8 },
  { field: 'ja4', title: 'ja4', width: 36 },
  { field: 'latency_ms', title: 'latency_ms', width: 10, align: 'right', text: (r) => msText(r['latency_ms']) },
  { field: 'handshake_ms', title: 'hs_ms', width: 8, align: 'right', text: (r) => msText(r['handshake_ms']) },
  { field: 'state', title: 'state', width: 10 },
];

const TABLE_COLUMNS = new Map<string, readonly TableColumn[]>([
  ['conn', CONN_TABLE_COLUMNS],
  ['http', HTTP_TABLE_COLUMNS],
  ['dns', DNS_TABLE_COLUMNS],
  ['ssl', SSL_TABLE_COLUMNS],
]);

/** The terminal table's columns for a record kind: its own, or the time, the endpoints and the first fields of its schema. */
export function tableColumns(schema: RecordSchema): readonly TableColumn[] {
  const own = TABLE_COLUMNS.get(schema.kind);
  if (own) return own;
  const skip = new Set(['ts', 'uid', 'community_id', 'orig_h', 'orig_p', 'resp_h', 'resp_p']);
  return [
    { field: 'ts', title: 'start (UTC)', width: 23, text: (r) => clock(r['ts']) },
    { field: 'orig_h', title: 'client', width: 24, align: 'right', text: (r) => endpoint(r['orig_h'], r['orig_p']) },
    { field: 'resp_h', title: 'server', width: 24, text: (r) => endpoint(r['resp_h'], r['resp_p']) },
    ...schema.fields.filter((f) => !skip.has(f.name)).slice(0, 8).map((f): TableColumn => ({ field: f.name, title: f.name, width: Math.max(8, Math.min(24, f.name.length + 2)), align: f.type === 'string' ? 'left' : 'right' })),
  ];
}

/** Columns for exactly the schema's fields, in its order (a table of `--fields`). */
export function fieldColumns(schema: RecordSchema): readonly TableColumn[] {
  return schema.fields.map((f): TableColumn => {
    if (f.name === 'ts') return { field: 'ts', title: 'start (UTC)', width: 23, text: (r) => clock(r['ts']) };
    const typical = f.name === 'uid' || f.name.endsWith('_uid') ? 18 : f.type === 'string' || f.type === 'list' ? 24 : f.type === 'bool' ? 5 : f.type === 'int' ? 10 : 13;
    return { field: f.name, title: f.name, width: Math.max(f.name.length, typical), align: f.type === 'string' || f.type === 'list' ? 'left' : 'right' };
  });
}

/**
 * Records of several kinds in one terminal table: each kind keeps its own
 * columns, and a change of kind starts a new block with the kind's name and
 * its header line.
 */
export class MixedTableWriter {
  private last: string | null = null;
  private readonly writers = new Map<string, TableWriter>();
  constructor(
    private readonly sink: TextSink,
    private readonly columns: (schema: RecordSchema) => readonly TableColumn[] = tableColumns,
  ) {}
  write(schema: RecordSchema, r: RecordValues): void {
    let w = this.writers.get(schema.kind);
    if (w === undefined) this.writers.set(schema.kind, (w = new TableWriter(this.sink, this.columns(schema))));
    if (this.last !== schema.kind) {
      if (this.last !== null) this.sink.write('\n');
      this.sink.write(`[${schema.kind}]\n`);
      w.restart();
      this.last = schema.kind;
    }
    w.write(r);
  }
  end(): void {}
}
