/**
 * Record writers: NDJSON (schema key order, exact numbers), CSV (header from
 * the schema, quoting by csv-stringify) and an aligned table for terminals.
 * All write text into a TextSink, which batches and applies backpressure.
 */
import { createRequire } from 'node:module';
import type { stringify as Stringify } from 'csv-stringify/sync';
import type { TextSink } from '../io/sink.js';
import { cellText, columns, toJsonLine, type RecordSchema, type RecordValues } from '../records/schema.js';
import { clock, clockTime, endpoint, fitColumns, fmtCount, fmtMs, fmtSeconds, pairCell, rowCells, schemaColumns, tableLine, type Column, type Laid } from './table.js';

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
  /** The next row starts with the header line again (a new block of a mixed table). */
  restart(): void {
    this.rows = 0;
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

const str = (v: unknown): string => (v === null || v === undefined || v === '' ? '-' : Array.isArray(v) ? v.join(',') : String(v));
const field = (name: string, title: string, priority: number, min: number, width: number, o: Partial<Column> = {}): Column => ({ title, priority, min, width, text: (r) => str(r[name]), ...o });

/** The columns every transaction table starts with: when, and between whom. */
const TXN_HEAD: readonly Column[] = [
  { title: 'start (UTC)', priority: 3, min: 12, width: 23, cut: 'start', text: (r) => clock(r['ts']), short: (r) => clockTime(r['ts']) },
  { title: 'client', priority: 4, min: 21, width: 24, align: 'right', cut: 'endpoint', optional: true, text: (r) => endpoint(r['orig_h'], r['orig_p']) },
  { title: 'server', priority: 2, min: 21, width: 24, cut: 'endpoint', text: (r) => endpoint(r['resp_h'], r['resp_p']) },
];
const latency = (p: number): Column => ({ title: 'latency ms', priority: p, min: 7, width: 10, align: 'right', text: (r) => fmtMs(r['latency_ms']) });
const total = (p: number): Column => ({ title: 'total ms', priority: p, min: 7, width: 9, align: 'right', optional: true, text: (r) => fmtMs(r['duration_ms']) });
const state = (p: number): Column => field('state', 'state', p, 8, 10, { optional: true });

export const HTTP_TABLE_COLUMNS: readonly Column[] = [
  ...TXN_HEAD,
  field('method', 'method', 1, 4, 7),
  field('host', 'host', 5, 8, 20, { optional: true }),
  field('uri', 'uri', 1, 12, 32),
  field('status_code', 'status', 1, 6, 6, { align: 'right' }),
  latency(2),
  total(6),
  { title: 'resp bytes', priority: 6, min: 7, width: 10, align: 'right', optional: true, text: (r) => fmtCount(r['response_body_len']) },
  state(7),
];

export const DNS_TABLE_COLUMNS: readonly Column[] = [
  ...TXN_HEAD,
  field('proto', 'proto', 6, 5, 5, { optional: true }),
  field('query', 'query', 1, 12, 32),
  field('qtype_name', 'type', 2, 4, 6),
  field('rcode_name', 'rcode', 1, 7, 9),
  field('answers', 'answers', 5, 10, 30, { optional: true }),
  latency(2),
  state(7),
];

export const SSL_TABLE_COLUMNS: readonly Column[] = [
  ...TXN_HEAD,
  field('server_name', 'server_name', 1, 10, 24),
  field('version', 'version', 2, 7, 7),
  field('cipher', 'cipher', 6, 10, 30, { optional: true }),
  field('next_protocol', 'alpn', 5, 4, 8, { optional: true }),
  field('ja4', 'ja4', 8, 10, 36, { optional: true }),
  latency(3),
  { title: 'hs ms', priority: 3, min: 6, width: 8, align: 'right', text: (r) => fmtMs(r['handshake_ms']) },
  state(7),
];

export const REDIS_TABLE_COLUMNS: readonly Column[] = [
  ...TXN_HEAD,
  field('cmd_name', 'command', 1, 4, 10),
  field('key', 'key', 1, 8, 28),
  field('reply_type', 'reply', 2, 6, 13),
  field('error_prefix', 'error', 3, 5, 10, { optional: true }),
  latency(2),
  { title: 'reply bytes', priority: 6, min: 7, width: 11, align: 'right', optional: true, text: (r) => fmtCount(r['reply_bytes']) },
  state(7),
];

export const MONGODB_TABLE_COLUMNS: readonly Column[] = [
  ...TXN_HEAD,
  field('command', 'command', 1, 6, 12),
  field('database', 'database', 3, 6, 12, { optional: true }),
  field('collection', 'collection', 2, 8, 16),
  { title: 'ok', priority: 2, min: 2, width: 3, align: 'right', text: (r) => str(r['ok']) },
  field('error_name', 'error', 3, 6, 16, { optional: true }),
  { title: 'docs', priority: 5, min: 4, width: 6, align: 'right', optional: true, text: (r) => fmtCount(r['docs_returned']) },
  latency(2),
  state(7),
];

export const MYSQL_TABLE_COLUMNS: readonly Column[] = [
  ...TXN_HEAD,
  field('cmd', 'command', 1, 5, 12),
  field('arg', 'statement', 1, 12, 48),
  field('error_code', 'error', 2, 5, 6, { optional: true }),
  { title: 'rows', priority: 3, min: 4, width: 7, align: 'right', text: (r) => fmtCount(typeof r['result_rows'] === 'number' && r['result_rows'] > 0 ? r['result_rows'] : r['rows']) },
  latency(2),
  state(7),
];

export const POSTGRESQL_TABLE_COLUMNS: readonly Column[] = [
  ...TXN_HEAD,
  field('frontend', 'request', 3, 7, 14),
  field('frontend_arg', 'statement', 1, 12, 48),
  field('tag', 'tag', 2, 6, 14),
  field('sql_state', 'sqlstate', 2, 5, 8, { optional: true }),
  { title: 'rows', priority: 3, min: 4, width: 7, align: 'right', text: (r) => fmtCount(r['rows']) },
  latency(2),
  state(7),
];

const TABLE_COLUMNS = new Map<string, readonly Column[]>([
  ['conn', CONN_TABLE_COLUMNS],
  ['http', HTTP_TABLE_COLUMNS],
  ['dns', DNS_TABLE_COLUMNS],
  ['ssl', SSL_TABLE_COLUMNS],
  ['redis', REDIS_TABLE_COLUMNS],
  ['mongodb', MONGODB_TABLE_COLUMNS],
  ['mysql', MYSQL_TABLE_COLUMNS],
  ['postgresql', POSTGRESQL_TABLE_COLUMNS],
]);

const IDENTITY = new Set(['ts', 'uid', 'community_id', 'orig_h', 'orig_p', 'resp_h', 'resp_p']);

/**
 * The terminal table's columns for a record kind: its own list, or for a
 * transaction kind the time and endpoints then its fields in schema order,
 * or (a kind without endpoints) every field.
 */
export function tableColumns(schema: RecordSchema): readonly Column[] {
  const own = TABLE_COLUMNS.get(schema.kind);
  if (own) return own;
  if (!schema.fields.some((f) => f.name === 'resp_p')) return schemaColumns(schema);
  const rest = schemaColumns({ ...schema, fields: schema.fields.filter((f) => !IDENTITY.has(f.name)) }).map((c) => ({ ...c, priority: c.priority + 4 }));
  return [...TXN_HEAD, ...rest];
}

/** Columns for exactly the schema's fields, in its order (a table of `--fields`). */
export function fieldColumns(schema: RecordSchema): readonly Column[] {
  return schemaColumns(schema);
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
    private readonly columns: (schema: RecordSchema) => readonly Column[] = tableColumns,
    private readonly o: TableWriterOptions = {},
  ) {}
  write(schema: RecordSchema, r: RecordValues): void {
    let w = this.writers.get(schema.kind);
    if (w === undefined) this.writers.set(schema.kind, (w = new TableWriter(this.sink, this.columns(schema), this.o)));
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
