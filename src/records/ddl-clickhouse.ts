/**
 * ClickHouse tables for the record kinds (and tcp-info snapshots), generated
 * from their table definitions (src/records/ddl.ts: the same columns and
 * logical types as every other dialect; nothing here names a record field
 * except the identity fields each kind is keyed by). This is tcpkit's one
 * ClickHouse DDL: `tcpquery --schema KIND --dialect clickhouse` prints it
 * and tcpload creates its tables with it.
 *
 * Types, chosen on the oldest server tcpkit is tested with (Debian's
 * clickhouse-server 18.16, which has no DateTime64 and no nullable sorting
 * keys) and valid on current ones:
 * - `time` (timestamp_ns) -> `Decimal128(9)`: seconds since the epoch with the 9 exact
 *   fraction digits of the NDJSON text (DateTime64(9) arrived in ClickHouse
 *   20.1; Decimal64(9) holds only 9 integer digits, 999,999,999 s).
 *   `toDateTime(toUInt32(ts))` gives a DateTime for time functions.
 * - `seconds` -> `Decimal128(9)` too (durations, exact; a capture whose
 *   clock jumps gives durations of 10 integer digits, over Decimal64(9));
 *   `int` -> `Int64` (exact 64-bit: tcpload sends the number's text as
 *   written, never through a double);
 *   `float` -> `Float64`; `bool` -> `UInt8`; `string` -> `String`; `list` ->
 *   `Array(String)` or `Array(Int64)` by the field's `items` (an array
 *   cannot be Nullable: a null list is loaded as []); tcp-info's unsigned
 *   counters keep their widths (UInt8 .. UInt64).
 * - Every column but the key columns is Nullable (a record's null is "not
 *   applicable / unknown", not zero).
 *
 * Keys: tables are `ReplacingMergeTree`s whose sorting key is the record's
 * identity, so a row sent twice (a retried batch, a resumed load, the same
 * file loaded again) is one row once parts merge, and `SELECT ... FINAL`
 * (or `OPTIMIZE TABLE ... FINAL`) shows it once at any time:
 * - conn, tunnel: `uid`. A conn record's version (`_version`) orders a
 *   connection's records by `last_ts`, a final record above an interim one at
 *   the same time, so tcpcapture's interim records (same uid, counters so
 *   far) are replaced by the connection's final record.
 * - transaction kinds (http, dns, ssl, ...: every kind with `uid` and `ts`):
 *   `(uid, ts, _id)`, where `_id` is a hash of every value of the record:
 *   several transactions of one connection may share a `ts` (pipelined
 *   requests in one segment), and not every kind has a per-connection index.
 *   Two records equal in every value are one row.
 * - flow: the interval and the goProbe key `(ts, proto, ip_version, orig_h,
 *   resp_h, resp_p)`.
 * - tcpinfo (no uid; `Timestamp` is its time): `(day, Timestamp, _id)`.
 * - Monthly partitions by `ts` (ClickHouse's advice: rarely finer than a
 *   month; an INSERT writes one part per partition it touches), and the day
 *   of `ts` first in the sorting key, so a time range reads its days only.
 *   Both depend on `ts` alone, which never differs between the copies of a
 *   record or a connection's interim and final records (ReplacingMergeTree
 *   replaces only within a partition).
 * `_source` (the input a row was loaded from, set by tcpload) is not part of
 * the identity: the same record loaded from two files is one row.
 */
import type { Column, LogicalType, TableDef } from './ddl.js';

/** A column: name, type, and for computed columns the MATERIALIZED expression. */
export interface ClickHouseColumn {
  name: string;
  type: string;
  materialized?: string;
  comment?: string;
}

/** How a kind's table is keyed. */
export interface ClickHouseKey {
  /** The sorting key (ReplacingMergeTree's identity; the day of the time column first, for time ranges). */
  orderBy: string[];
  /** The ReplacingMergeTree version column, or null (the last inserted copy stays). */
  version: string | null;
  /** The Distributed table's sharding expression: a connection's records (conn and transactions) go to one shard. */
  sharding: string;
  partitionBy: string;
}

/** The column that records the input a row came from (tcpload sets it; not part of the identity). */
export const SOURCE_COLUMN = '_source';

const FLOW_KEY = ['ts', 'proto', 'ip_version', 'orig_h', 'resp_h', 'resp_p'];

/** Each logical type's ClickHouse type (before Nullable). */
const CLICKHOUSE: Record<LogicalType, string> = {
  string: 'String',
  bool: 'UInt8',
  float64: 'Float64',
  int64: 'Int64',
  int32: 'Int32',
  uint8: 'UInt8',
  uint16: 'UInt16',
  uint32: 'UInt32',
  uint64: 'UInt64',
  // DateTime64(9) arrived in 20.1; Decimal64(9) holds only 9 integer digits
  timestamp_ns: 'Decimal128(9)',
  decimal_ns: 'Decimal128(9)',
  list_string: 'Array(String)',
  list_int64: 'Array(Int64)',
};

function has(t: TableDef, name: string): boolean {
  return t.columns.some((c) => c.name === name);
}

/** The time column a table is partitioned and ordered by: `ts`, or tcp-info's `Timestamp`. */
function timeColumn(t: TableDef): string {
  if (has(t, 'ts')) return 'ts';
  if (has(t, 'Timestamp')) return 'Timestamp';
  throw new Error(`${t.kind} has no time column (ts) to partition by`);
}

/** The UTC day of a time column: first in the sorting keys, so a time range reads only its days' granules. */
const day = (time: string): string => `toDate(toDateTime(toUInt32(${chIdent(time)})))`;

/** A ClickHouse identifier (field names are checked identifiers; other names are quoted when they need it). */
export function chIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** A ClickHouse string literal. */
export function chString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** The columns that are part of the sorting key (not Nullable). */
function keyColumns(t: TableDef): Set<string> {
  if (t.kind === 'flow') return new Set(FLOW_KEY);
  const k = new Set<string>([timeColumn(t)]);
  if (has(t, 'uid')) k.add('uid');
  return k;
}

/** The ClickHouse type of a column. */
export function clickhouseType(t: TableDef, c: Column): string {
  const base = CLICKHOUSE[c.type];
  return base.startsWith('Array(') || keyColumns(t).has(c.name) ? base : `Nullable(${base})`;
}

/** Hash arguments for one column: nulls hash apart from zeros and empty strings. */
function hashArgs(t: TableDef, c: Column): string[] {
  // cityHash64 takes no Decimal (18.16): times and durations hash as their text
  const dec = c.type === 'timestamp_ns' || c.type === 'decimal_ns';
  const id = chIdent(c.name);
  const value = dec ? `toString(${id})` : id;
  if (!clickhouseType(t, c).startsWith('Nullable(')) return [value];
  const base = CLICKHOUSE[c.type];
  const zero = c.type === 'string' || dec ? "''" : `to${base}(0)`;
  return [`isNull(${id})`, `ifNull(${value}, ${zero})`];
}

/** How the kind's table is keyed (see the module comment). */
export function clickhouseKey(t: TableDef): ClickHouseKey {
  const time = timeColumn(t);
  const partitionBy = `toYYYYMM(${day(time)})`;
  if (t.kind === 'flow') return { orderBy: [...FLOW_KEY], version: null, sharding: 'cityHash64(orig_h, resp_h, resp_p)', partitionBy };
  const uid = has(t, 'uid');
  if (t.kind === 'conn') return { orderBy: [day(time), 'uid'], version: '_version', sharding: 'cityHash64(uid)', partitionBy };
  if (t.kind === 'tunnel') return { orderBy: [day(time), 'uid'], version: null, sharding: 'cityHash64(uid)', partitionBy };
  return {
    orderBy: uid ? [day(time), 'uid', chIdent(time), '_id'] : [day(time), chIdent(time), '_id'],
    version: null,
    sharding: uid ? 'cityHash64(uid)' : `cityHash64(toString(${chIdent(time)}))`,
    partitionBy,
  };
}

/** Every column of the kind's table, the definition's first, then tcpkit's own (`_source`, and `_version` or `_id`). */
export function clickhouseColumns(t: TableDef): ClickHouseColumn[] {
  const cols: ClickHouseColumn[] = t.columns.map((c) => ({ name: c.name, type: clickhouseType(t, c), comment: c.doc }));
  cols.push({ name: SOURCE_COLUMN, type: 'String', comment: 'The input the row was loaded from (tcpload); not part of the identity.' });
  const key = clickhouseKey(t);
  if (key.version === '_version') {
    // last_ts in ns, doubled, plus 1 for a record that is not interim: a final record replaces the interim ones
    cols.push({
      name: '_version',
      type: 'UInt64',
      materialized: "toUInt64(ifNull(last_ts, ts) * 1000000000) * 2 + (ifNull(end_reason, '') != 'interim')",
      comment: 'Which of a connection\'s records stays: the latest last_ts, a final record over an interim one.',
    });
  }
  if (key.orderBy.includes('_id')) {
    cols.push({
      name: '_id',
      type: 'UInt64',
      materialized: `cityHash64(${t.columns.flatMap((c) => hashArgs(t, c)).join(', ')})`,
      comment: 'Hash of every value of the record: part of its identity.',
    });
  }
  return cols;
}

export interface ClickHouseTableOptions {
  /** The table, optionally database-qualified (`tcpkit.conns`). */
  table: string;
  /** `CREATE TABLE IF NOT EXISTS` (default true). */
  ifNotExists?: boolean;
  /** Column comments from the schema's docs (default true). */
  comments?: boolean;
}

function qualified(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? chIdent(name) : `${chIdent(name.slice(0, dot))}.${chIdent(name.slice(dot + 1))}`;
}

function columnLines(t: TableDef, comments: boolean, computed = true): string {
  return clickhouseColumns(t)
    .filter((c) => computed || c.materialized === undefined)
    .map((c) => `  ${chIdent(c.name)} ${c.type}${c.materialized !== undefined ? ` MATERIALIZED ${c.materialized}` : ''}${comments && c.comment !== undefined ? ` COMMENT ${chString(c.comment)}` : ''}`)
    .join(',\n');
}

/** `CREATE TABLE` for one kind: a ReplacingMergeTree keyed by the record's identity. */
export function clickhouseCreateTable(t: TableDef, o: ClickHouseTableOptions): string {
  const key = clickhouseKey(t);
  return (
    `CREATE TABLE ${o.ifNotExists === false ? '' : 'IF NOT EXISTS '}${qualified(o.table)}\n(\n${columnLines(t, o.comments !== false)}\n)\n` +
    `ENGINE = ReplacingMergeTree(${key.version ?? ''})\nPARTITION BY ${key.partitionBy}\nORDER BY (${key.orderBy.join(', ')})`
  );
}

export interface ClickHouseDistributedOptions {
  /** The Distributed table, optionally database-qualified (`tcpkit.conns`). */
  table: string;
  /** The cluster (a `remote_servers` entry of the servers' configuration). */
  cluster: string;
  /** The local table on every shard, database-qualified (`tcpkit.conns_local`). */
  local: string;
  ifNotExists?: boolean;
}

/**
 * `CREATE TABLE ... ENGINE = Distributed` over the shards' local tables
 * (each created with `clickhouseCreateTable`), sharded by the connection
 * (`cityHash64(uid)`): every copy of a record lands on the same shard, where
 * its ReplacingMergeTree replaces it, and a connection's conn and
 * transaction records sit together. The computed columns (`_version`,
 * `_id`) are left out: a Distributed table would compute them and then fail
 * to insert them into the shards' tables, which compute their own.
 */
export function clickhouseCreateDistributed(t: TableDef, o: ClickHouseDistributedOptions): string {
  const dot = o.local.indexOf('.');
  if (dot < 0) throw new Error(`the local table "${o.local}" must name its database (db.table)`);
  const key = clickhouseKey(t);
  return (
    `CREATE TABLE ${o.ifNotExists === false ? '' : 'IF NOT EXISTS '}${qualified(o.table)}\n(\n${columnLines(t, false, false)}\n)\n` +
    `ENGINE = Distributed(${chIdent(o.cluster)}, ${chIdent(o.local.slice(0, dot))}, ${chIdent(o.local.slice(dot + 1))}, ${key.sharding})`
  );
}

/**
 * The DDL as `tcpquery --schema KIND --dialect clickhouse` prints it: the
 * table, and with `cluster` the Distributed table over it (the table itself
 * then `<table>_local` on every shard, as tcpload --cluster names them).
 */
export function clickhouseDdl(t: TableDef, o: { table?: string; cluster?: string } = {}): string {
  const table = o.table ?? t.table;
  if (o.cluster === undefined) return clickhouseCreateTable(t, { table }) + ';\n';
  const local = table.includes('.') ? `${table}_local` : `default.${table}_local`;
  return clickhouseCreateTable(t, { table: local }) + ';\n\n' + clickhouseCreateDistributed(t, { table, cluster: o.cluster, local }) + ';\n';
}
