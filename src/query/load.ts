/**
 * tcpkit records (NDJSON lines) into DuckDB tables typed from the schema.
 *
 * How the records get there was measured (docs/query.md, "Loading"): on
 * 110,000 conn records (278 MB of NDJSON, two busy cores) DuckDB's own
 * read_json took 3.3 s of CPU but reads `ts` through a double (1710252008.
 * 307204096 for .307204000: the nanoseconds are lost, and no column type
 * avoids it); rewriting the time values as JSON strings first and then
 * read_json took 11.1 s; converting to CSV in Node then read_csv 16 s;
 * JSON.parse in Node with DuckDB's appender 6.7 s. So: each line is parsed
 * in Node (JSON.parse, and the exact text of the time fields and of any
 * integer beyond 2^53 is read from the line itself), and whole columns go
 * to DuckDB as data chunks of 2,048 rows through the appender.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { DuckDBApi } from './duckdb.js';
import type { LogicalType, TableDef } from '../records/ddl.js';
import { rawNumber, scaledDecimal } from '../util/decimal.js';

export { rawNumber, scaledDecimal };

const CHUNK_ROWS = 2048;

type Convert = (v: unknown, line: string, name: string) => DuckDBValue;

/** Per logical type: a JSON value (and its line, for exact text) to the value DuckDB's vector takes. */
function converter(api: DuckDBApi, t: LogicalType): Convert {
  const int: Convert = (v, line, name) => {
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) return BigInt(v);
      const raw = rawNumber(line, name);
      return raw !== null && /^-?\d+$/.test(raw) ? BigInt(raw) : BigInt(Math.trunc(v));
    }
    return BigInt(String(v));
  };
  switch (t) {
    case 'string':
      return (v) => (typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
    case 'bool':
      return (v) => v === true || v === 'true';
    case 'float64':
      return (v) => Number(v);
    case 'int64':
    case 'uint64':
      return int;
    case 'int32':
    case 'uint8':
    case 'uint16':
    case 'uint32':
      return (v) => Number(v);
    case 'timestamp_ns':
      return (v, line, name) => new api.DuckDBTimestampNanosecondsValue(scaledDecimal(typeof v === 'string' ? v : (rawNumber(line, name) ?? String(v)), 9));
    case 'decimal_ns':
      return (v, line, name) => new api.DuckDBDecimalValue(scaledDecimal(typeof v === 'string' ? v : (rawNumber(line, name) ?? String(v)), 9), 18, 9);
    case 'list_string':
      return (v) => new api.DuckDBListValue((Array.isArray(v) ? v : [v]).map((x) => String(x)));
    case 'list_int64':
      return (v) => new api.DuckDBListValue((Array.isArray(v) ? v : [v]).map((x) => BigInt(typeof x === 'number' ? Math.trunc(x) : String(x))));
  }
}

/** Appends records of one kind to its table, a chunk of columns at a time. */
export class TableLoader {
  private readonly cols: DuckDBValue[][];
  private readonly names: string[];
  private readonly convert: Convert[];
  private readonly types: DuckDBType[];
  private n = 0;
  rows = 0;

  private constructor(
    private readonly api: DuckDBApi,
    private readonly appender: DuckDBAppender,
    readonly table: TableDef,
  ) {
    this.names = table.columns.map((c) => c.name);
    this.convert = table.columns.map((c) => converter(api, c.type));
    this.types = table.columns.map((_c, i) => appender.columnType(i));
    this.cols = table.columns.map(() => new Array<DuckDBValue>(CHUNK_ROWS));
  }

  static async create(api: DuckDBApi, conn: DuckDBConnection, table: TableDef, tableName: string): Promise<TableLoader> {
    return new TableLoader(api, await conn.createAppender(tableName), table);
  }

  /** One record (the object JSON.parse made of `line`). */
  add(r: Record<string, unknown>, line: string): void {
    const n = this.n;
    for (let i = 0; i < this.names.length; i++) {
      const name = this.names[i]!;
      const v = r[name];
      this.cols[i]![n] = v === null || v === undefined ? null : this.convert[i]!(v, line, name);
    }
    this.rows++;
    if (++this.n === CHUNK_ROWS) this.flushChunk();
  }

  private flushChunk(): void {
    if (this.n === 0) return;
    const chunk = this.api.DuckDBDataChunk.create(this.types, this.n);
    chunk.setColumns(this.n === CHUNK_ROWS ? this.cols : this.cols.map((c) => c.slice(0, this.n)));
    this.appender.appendDataChunk(chunk);
    this.n = 0;
  }

  /** Appends what is buffered and closes the appender. */
  close(): void {
    this.flushChunk();
    this.appender.closeSync();
  }
}
