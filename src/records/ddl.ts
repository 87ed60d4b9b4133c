/**
 * Table definitions generated from the record schemas, one dialect per
 * store: JSON Schema (for validating NDJSON), DuckDB, BigQuery and
 * ClickHouse. Nothing here repeats a column list: every statement is derived
 * from the same field table the CSV header and the NDJSON keys come from.
 *
 * Types (the "logical" types below, shared with the tcp-info columns):
 * - `time` fields are TIMESTAMP_NS in DuckDB and Parquet (exact nanoseconds,
 *   UTC); BigQuery's TIMESTAMP holds microseconds, so the nanoseconds are cut
 *   there; ClickHouse gets Decimal128(9) seconds (exact; the server versions
 *   tcpkit is tested with have no DateTime64: src/records/ddl-clickhouse.ts).
 * - `seconds` fields (durations) are exact decimals with 9 fraction digits.
 * - `int` fields are 64-bit signed integers everywhere (exact: never a double).
 * - `list` fields are arrays of strings or of integers (`FieldDef.items`).
 */
import type { FieldDef, RecordSchema } from './schema.js';
import { clickhouseDdl } from './ddl-clickhouse.js';

/** A column's type in the one vocabulary every dialect maps from. */
export type LogicalType =
  | 'string'
  | 'bool'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'timestamp_ns'
  | 'decimal_ns'
  | 'list_string'
  | 'list_int64';

export interface Column {
  name: string;
  type: LogicalType;
  doc: string;
}

/** A table: its name, what one row is, its columns. */
export interface TableDef {
  /** The record kind (`conn`, `http`, ...; `tcpinfo`). */
  kind: string;
  /** The table or view name tcpquery gives the kind (`conns`, `http`, ...). */
  table: string;
  doc: string;
  columns: readonly Column[];
}

/** The logical type of a record field. */
export function logicalType(f: FieldDef): LogicalType {
  switch (f.type) {
    case 'string':
      return 'string';
    case 'int':
      return 'int64';
    case 'float':
      return 'float64';
    case 'bool':
      return 'bool';
    case 'time':
      return 'timestamp_ns';
    case 'seconds':
      return 'decimal_ns';
    case 'list':
      return f.items === 'int' ? 'list_int64' : 'list_string';
  }
}

/** tcpquery's view name of a record kind: the plural for conn, flow and tunnel, the protocol's name for transactions (as Zeek names its logs). */
export function tableName(kind: string): string {
  return kind === 'conn' || kind === 'flow' || kind === 'tunnel' ? `${kind}s` : kind;
}

/** A record schema as a table definition. */
export function recordTable(schema: RecordSchema): TableDef {
  return { kind: schema.kind, table: tableName(schema.kind), doc: schema.doc, columns: schema.fields.map((f) => ({ name: f.name, type: logicalType(f), doc: f.doc })) };
}

const DUCKDB: Record<LogicalType, string> = {
  string: 'VARCHAR',
  bool: 'BOOLEAN',
  float64: 'DOUBLE',
  int64: 'BIGINT',
  int32: 'INTEGER',
  uint8: 'UTINYINT',
  uint16: 'USMALLINT',
  uint32: 'UINTEGER',
  uint64: 'UBIGINT',
  timestamp_ns: 'TIMESTAMP_NS',
  decimal_ns: 'DECIMAL(18,9)',
  list_string: 'VARCHAR[]',
  list_int64: 'BIGINT[]',
};

const BIGQUERY: Record<LogicalType, string> = {
  string: 'STRING',
  bool: 'BOOL',
  float64: 'FLOAT64',
  int64: 'INT64',
  int32: 'INT64',
  uint8: 'INT64',
  uint16: 'INT64',
  uint32: 'INT64',
  // BigQuery has no unsigned 64-bit integer: NUMERIC holds every u64 exactly
  uint64: 'NUMERIC',
  timestamp_ns: 'TIMESTAMP',
  decimal_ns: 'NUMERIC',
  list_string: 'ARRAY<STRING>',
  list_int64: 'ARRAY<INT64>',
};

/** The DuckDB type of a logical type. */
export function duckdbType(t: LogicalType): string {
  return DUCKDB[t];
}

/** A double-quoted SQL identifier (DuckDB, standard SQL). */
export function sqlIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** A single-quoted SQL string literal. */
export function sqlString(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

const backtick = (name: string): string => '`' + name.replace(/`/g, '\\`') + '`';

/** The first sentence of a field's documentation, on one line (for comments and descriptions). */
function summary(doc: string, max = 160): string {
  const one = doc.replace(/\s+/g, ' ').trim();
  const m = /^(.*?[.!?])(\s|$)/.exec(one);
  const s = m ? m[1]! : one;
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

export interface DdlOptions {
  /** Table name (default: the kind's view name; may be qualified, as `dataset.conns`). */
  table?: string;
}

/** One dialect: what it is for, and how a table definition is printed in it. */
export interface Dialect {
  name: string;
  describe: string;
  render(t: TableDef, o: DdlOptions): string;
}

function jsonSchemaType(t: LogicalType): Record<string, unknown> {
  switch (t) {
    case 'string':
      return { type: ['string', 'null'] };
    case 'bool':
      return { type: ['boolean', 'null'] };
    case 'float64':
      return { type: ['number', 'null'] };
    case 'timestamp_ns':
      return { type: ['number', 'null'], description: 'seconds since the epoch, 9 exact fraction digits (read the text, not a double, to keep the nanoseconds)' };
    case 'decimal_ns':
      return { type: ['number', 'null'], description: 'seconds, 9 exact fraction digits' };
    case 'list_string':
      return { type: ['array', 'null'], items: { type: 'string' } };
    case 'list_int64':
      return { type: ['array', 'null'], items: { type: 'integer' } };
    default:
      return { type: ['integer', 'null'] };
  }
}

/**
 * The dialects `tcpquery --schema KIND --dialect NAME` prints.
 * The `clickhouse` entry is the table tcpload creates
 * (src/records/ddl-clickhouse.ts: a ReplacingMergeTree keyed by the record's
 * identity).
 */
export const DIALECTS: ReadonlyMap<string, Dialect> = new Map<string, Dialect>([
  [
    'json-schema',
    {
      name: 'json-schema',
      describe: 'JSON Schema (draft 2020-12) of one NDJSON record line',
      render: (t) =>
        JSON.stringify(
          {
            $schema: 'https://json-schema.org/draft/2020-12/schema',
            title: `tcpkit ${t.kind} record`,
            description: t.doc,
            type: 'object',
            properties: {
              ...(t.kind === 'tcpinfo' ? {} : { record: { const: t.kind, description: 'The record kind.' } }),
              ...Object.fromEntries(t.columns.map((c) => [c.name, { ...jsonSchemaType(c.type), ...(jsonSchemaType(c.type)['description'] ? {} : { description: summary(c.doc, 400) }) }])),
            },
            required: t.kind === 'tcpinfo' ? [] : ['record'],
          },
          null,
          2,
        ) + '\n',
    },
  ],
  [
    'duckdb',
    {
      name: 'duckdb',
      describe: 'DuckDB CREATE TABLE (the types tcpquery gives its views)',
      render: (t, o) =>
        `-- tcpkit ${t.kind} records: ${summary(t.doc)}\nCREATE TABLE ${o.table ?? sqlIdent(t.table)} (\n` +
        t.columns.map((c, i) => `  ${sqlIdent(c.name)} ${DUCKDB[c.type]}${i < t.columns.length - 1 ? ',' : ''} -- ${summary(c.doc)}`).join('\n') +
        '\n);\n',
    },
  ],
  [
    'bigquery',
    {
      name: 'bigquery',
      describe: 'BigQuery CREATE TABLE (TIMESTAMP keeps microseconds: the nanoseconds are cut)',
      render: (t, o) =>
        `CREATE TABLE ${backtick(o.table ?? t.table)} (\n` +
        t.columns.map((c) => `  ${backtick(c.name)} ${BIGQUERY[c.type]} OPTIONS(description=${JSON.stringify(summary(c.doc, 1000))})`).join(',\n') +
        `\n)\nOPTIONS(description=${JSON.stringify(`tcpkit ${t.kind} records: ${summary(t.doc)}`)});\n`,
    },
  ],
  [
    'clickhouse',
    {
      name: 'clickhouse',
      describe: "ClickHouse CREATE TABLE: the ReplacingMergeTree keyed by the record's identity that tcpload creates",
      render: (t, o) => clickhouseDdl(t, o.table !== undefined ? { table: o.table } : {}),
    },
  ],
]);

/** The statement (or document) defining `t` in `dialect`. */
export function renderDdl(t: TableDef, dialect: string, o: DdlOptions = {}): string {
  const d = DIALECTS.get(dialect);
  if (d === undefined) throw new Error(`unknown dialect ${dialect}`);
  return d.render(t, o);
}
