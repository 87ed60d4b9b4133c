/**
 * Rows for the Parquet writer from what the commands hold: tcpkit record
 * lines (tcpfilter, csvtool: JSON.parse, with the exact text of the time and
 * duration values and of any integer beyond 2^53 read from the line) and
 * tcp-info snapshots (csvtool's cells, typed; the Timestamp in nanoseconds).
 * Also a ByteTarget that turns the NDJSON lines a filter keeps into Parquet.
 */
import { SCHEMAS } from '../records/index.js';
import { recordTable, type TableDef } from '../records/ddl.js';
import { CsvRowWriter } from '../tcpinfo/csv.js';
import { daysFromCivil } from '../tcpinfo/go-time.js';
import type { Snapshot } from '../tcpinfo/snapshot.js';
import { TCPINFO_TABLE_COLUMNS } from '../tcpinfo/columns.js';
import { rawNumber } from '../util/decimal.js';
import { ToolError } from '../util/errors.js';
import { ParquetWriter, type ParquetWriterOptions } from './parquet.js';

export const TCPINFO_PARQUET: TableDef = { kind: 'tcpinfo', table: 'tcpinfo', doc: 'tcp-info snapshots', columns: TCPINFO_TABLE_COLUMNS };

/** A record line's values for `t`'s columns, exact (time and decimal values as their text). */
export function recordRow(t: TableDef, r: Record<string, unknown>, line: string): Record<string, unknown> {
  for (const c of t.columns) {
    const v = r[c.name];
    if (typeof v !== 'number') continue;
    if (c.type === 'timestamp_ns' || c.type === 'decimal_ns' || (c.type === 'int64' && !Number.isSafeInteger(v))) r[c.name] = rawNumber(line, c.name) ?? v;
  }
  return r;
}

/** Cells of one CSV line as Go's encoding/csv writes them (quotes only where needed). */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 0x22) {
      let s = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        s += line.slice(i, q);
        if (line.charCodeAt(q + 1) === 0x22) {
          s += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      cells.push(s);
    } else {
      const c = line.indexOf(',', i);
      cells.push(line.slice(i, c < 0 ? line.length : c));
      i = c < 0 ? line.length : c;
    }
    if (i >= line.length || line.charCodeAt(i) !== 0x2c) return cells;
    i++;
  }
}

/** Turns tcp-info snapshots into rows of TCPINFO_PARQUET's columns. */
export class TcpInfoRows {
  private readonly csv = new CsvRowWriter(1 << 14);
  private uuid: string | null = null;

  /** The row of a snapshot; null for an archive's metadata line (it only sets the UUID of the rows after it). */
  row(snap: Snapshot): Record<string, unknown> | null {
    if (snap.metadata !== null) this.uuid = snap.metadata.uuid;
    const text = this.csv.format(snap);
    const cells = csvCells(text.endsWith('\n') ? text.slice(0, -1) : text);
    if (cells[3] === '') return null; // no inet_diag_msg: the metadata line
    const row: Record<string, unknown> = {};
    const cols = TCPINFO_TABLE_COLUMNS;
    for (let i = 1; i < cols.length - 1; i++) {
      const c = cols[i]!;
      const cell = cells[i] ?? '';
      row[c.name] = cell === '' ? (c.type === 'string' ? '' : null) : c.type === 'string' ? Buffer.from(cell, 'latin1').toString('utf8') : c.type === 'int64' ? (Number.isSafeInteger(Number(cell)) ? Number(cell) : BigInt(cell)) : Number(cell);
    }
    const t = snap.timestamp;
    const secs = BigInt(daysFromCivil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 + t.second - t.offsetSec);
    row['Timestamp'] = secs * 1_000_000_000n + BigInt(t.nsec);
    row['UUID'] = this.uuid;
    return row;
  }
}

/** The table of a record kind, cut to the fields of `kinds` (tcpanalyze --fields) when given. */
export function kindTable(kind: string): TableDef | undefined {
  const s = SCHEMAS.get(kind);
  return s === undefined ? undefined : recordTable(s);
}

/**
 * A ByteTarget (what the line filters write kept lines to) that writes
 * the lines as Parquet: tcpkit records of one kind (the first record's), or
 * tcp-info snapshots (`decode` turns an archive line into a snapshot).
 */
export class ParquetLineTarget {
  private writer: ParquetWriter | null = null;
  private table: TableDef | null = null;
  private readonly rows = new TcpInfoRows();
  private rest = '';
  /** The destination asked to wait during the last write. */
  private blocked = false;
  private readonly out = (b: Buffer): void => {
    if (this.emit(b)) this.blocked = true;
  };

  constructor(
    /** Writes bytes; true when the destination asks to wait (TextSink.write). */
    private readonly emit: (b: Buffer) => boolean,
    private readonly input: 'records' | 'tcpinfo',
    private readonly decode: ((line: Buffer) => Snapshot) | null,
    private readonly o: ParquetWriterOptions = {},
  ) {}

  write(chunk: Buffer): boolean {
    this.blocked = false;
    const emit = this.out;
    if (this.input === 'tcpinfo') {
      let s = 0;
      for (;;) {
        const e = chunk.indexOf(0x0a, s);
        if (e < 0) break;
        const snap = this.decode!(chunk.subarray(s, e));
        const row = this.rows.row(snap);
        if (row !== null) (this.writer ??= new ParquetWriter(emit, TCPINFO_PARQUET.columns, { ...this.o, metadata: { 'tcpkit.kind': 'tcpinfo' } })).write(row);
        s = e + 1;
      }
      return this.blocked;
    }
    const text = this.rest + chunk.toString('utf8');
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') continue;
      const r = JSON.parse(line) as Record<string, unknown>;
      const kind = r['record'];
      if (typeof kind !== 'string') continue; // an archive's metadata line
      if (this.table === null) {
        const t = kindTable(kind);
        if (t === undefined) throw new ToolError('PARQUET_UNKNOWN_KIND', `unknown record kind "${kind}"`);
        this.table = t;
        this.writer = new ParquetWriter(emit, t.columns, { ...this.o, metadata: { 'tcpkit.kind': kind } });
      } else if (kind !== this.table.kind) {
        throw new ToolError('PARQUET_MIXED_KINDS', `a "${kind}" record after "${this.table.kind}" records: a Parquet file holds one record kind (select one kind, e.g. --where 'record == "${this.table.kind}"', or use NDJSON)`);
      }
      this.writer!.write(recordRow(this.table, r, line));
    }
    return this.blocked;
  }

  /** Writes the last row group and the footer (an empty file of the input's kind when nothing was kept). */
  end(): void {
    const emit = this.out;
    this.writer ??= new ParquetWriter(emit, this.input === 'tcpinfo' ? TCPINFO_PARQUET.columns : kindTable('conn')!.columns, { ...this.o, metadata: { 'tcpkit.kind': this.input === 'tcpinfo' ? 'tcpinfo' : 'conn' } });
    this.writer.end();
  }
}
