/**
 * ClickHouse tables for the record kinds, generated from their schemas
 * (nothing here names a record field except the identity fields each kind
 * is keyed by).
 *
 * Types, chosen on the oldest server tcpkit is tested with (Debian's
 * clickhouse-server 18.16, which has no DateTime64 and no nullable sorting
 * keys) and valid on current ones:
 * - `time` -> `Decimal128(9)`: seconds since the epoch with the 9 exact
 *   fraction digits of the NDJSON text (DateTime64(9) arrived in ClickHouse
 *   20.1; Decimal64(9) holds only 9 integer digits, 999,999,999 s).
 *   `toDateTime(toUInt32(ts))` gives a DateTime for time functions.
 * - `seconds` -> `Decimal128(9)` too (durations, exact; a capture whose
 *   clock jumps gives durations of 10 integer digits, over Decimal64(9));
 *   `int` -> `Int64` (exact 64-bit: tcpload sends the number's text as
 *   written, never through a double);
 *   `float` -> `Float64`; `bool` -> `UInt8`; `string` -> `String`; `list` ->
 *   `Array(String)` or `Array(Int64)` by the field's `items` (an array
 *   cannot be Nullable: a null list is loaded as []).
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
 * - Monthly partitions by `ts` (ClickHouse's advice: rarely finer than a
 *   month; an INSERT writes one part per partition it touches), and the day
 *   of `ts` first in the sorting key, so a time range reads its days only.
 *   Both depend on `ts` alone, which never differs between the copies of a
 *   record or a connection's interim and final records (ReplacingMergeTree
 *   replaces only within a partition).
 * `_source` (the input a row was loaded from, set by tcpload) is not part of
 * the identity: the same record loaded from two files is one row.
 */
import type { FieldDef, RecordSchema } from './schema.js';

/** A column: name, type, and for computed columns the MATERIALIZED expression. */
export interface ClickHouseColumn {
  name: string;
  type: string;
  materialized?: string;
  comment?: string;
}

/** How a kind's table is keyed. */
export interface ClickHouseKey {
  /** The sorting key (ReplacingMergeTree's identity; the day of `ts` first, for time ranges). */
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

/** The UTC day of `ts`: first in the sorting keys, so a time range reads only its days' granules. */
const DAY = 'toDate(toDateTime(toUInt32(ts)))';

function has(schema: RecordSchema, name: string): boolean {
  return schema.fields.some((f) => f.name === name);
}

/** A ClickHouse identifier (field names are checked identifiers; other names are quoted when they need it). */
export function chIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** A ClickHouse string literal. */
export function chString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** The fields (in schema order) whose columns are part of the sorting key (not Nullable). */
function keyFields(schema: RecordSchema): Set<string> {
  if (schema.kind === 'flow') return new Set(FLOW_KEY);
  const k = new Set<string>(['ts']);
  if (has(schema, 'uid')) k.add('uid');
  return k;
}

function baseType(f: FieldDef): string {
  switch (f.type) {
    case 'time':
      return 'Decimal128(9)';
    case 'seconds':
      return 'Decimal128(9)';
    case 'int':
      return 'Int64';
    case 'float':
      return 'Float64';
    case 'bool':
      return 'UInt8';
    case 'string':
      return 'String';
    case 'list':
      if (f.items === undefined) throw new Error(`list field ${f.name} does not say what its elements are (FieldDef.items)`);
      return f.items === 'int' ? 'Array(Int64)' : 'Array(String)';
  }
}

/** The ClickHouse type of a field's column. */
export function clickhouseType(schema: RecordSchema, f: FieldDef): string {
  const t = baseType(f);
  return f.type === 'list' || keyFields(schema).has(f.name) ? t : `Nullable(${t})`;
}

/** Hash arguments for one column: nulls hash apart from zeros and empty strings. */
function hashArgs(schema: RecordSchema, f: FieldDef): string[] {
  // cityHash64 takes no Decimal (18.16): times and durations hash as their text
  const dec = f.type === 'time' || f.type === 'seconds';
  const c = chIdent(f.name);
  const t = clickhouseType(schema, f);
  if (!t.startsWith('Nullable(')) return [dec ? `toString(${c})` : c];
  const zero = f.type === 'string' || dec ? "''" : f.type === 'float' ? 'toFloat64(0)' : f.type === 'bool' ? 'toUInt8(0)' : 'toInt64(0)';
  return [`isNull(${c})`, `ifNull(${dec ? `toString(${c})` : c}, ${zero})`];
}

/** How the kind's table is keyed (see the module comment). */
export function clickhouseKey(schema: RecordSchema): ClickHouseKey {
  const partitionBy = `toYYYYMM(${DAY})`;
  if (schema.kind === 'flow') return { orderBy: [...FLOW_KEY], version: null, sharding: 'cityHash64(orig_h, resp_h, resp_p)', partitionBy };
  if (!has(schema, 'ts')) throw new Error(`${schema.kind} records have no ts field to partition by`);
  const uid = has(schema, 'uid');
  if (schema.kind === 'conn') return { orderBy: [DAY, 'uid'], version: '_version', sharding: 'cityHash64(uid)', partitionBy };
  if (schema.kind === 'tunnel') return { orderBy: [DAY, 'uid'], version: null, sharding: 'cityHash64(uid)', partitionBy };
  return { orderBy: uid ? [DAY, 'uid', 'ts', '_id'] : ['ts', '_id'], version: null, sharding: uid ? 'cityHash64(uid)' : 'cityHash64(ts)', partitionBy };
}

/** Every column of the kind's table, the schema's fields first, then tcpkit's own (`_source`, and `_version` or `_id`). */
export function clickhouseColumns(schema: RecordSchema): ClickHouseColumn[] {
  const cols: ClickHouseColumn[] = schema.fields.map((f) => ({ name: f.name, type: clickhouseType(schema, f), comment: f.doc }));
  cols.push({ name: SOURCE_COLUMN, type: 'String', comment: 'The input the row was loaded from (tcpload); not part of the identity.' });
  const key = clickhouseKey(schema);
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
      materialized: `cityHash64(${schema.fields.flatMap((f) => hashArgs(schema, f)).join(', ')})`,
      comment: 'Hash of every value of the record: part of its identity.',
    });
  }
  return cols;
}

export interface ClickHouseTableOptions {
  /** The table, optionally database-qualified (`tcpkit.conn`). */
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

function columnLines(schema: RecordSchema, comments: boolean, computed = true): string {
  return clickhouseColumns(schema)
    .filter((c) => computed || c.materialized === undefined)
    .map((c) => `  ${chIdent(c.name)} ${c.type}${c.materialized !== undefined ? ` MATERIALIZED ${c.materialized}` : ''}${comments && c.comment !== undefined ? ` COMMENT ${chString(c.comment)}` : ''}`)
    .join(',\n');
}

/** `CREATE TABLE` for one record kind: a ReplacingMergeTree keyed by the record's identity. */
export function clickhouseCreateTable(schema: RecordSchema, o: ClickHouseTableOptions): string {
  const key = clickhouseKey(schema);
  return (
    `CREATE TABLE ${o.ifNotExists === false ? '' : 'IF NOT EXISTS '}${qualified(o.table)}\n(\n${columnLines(schema, o.comments !== false)}\n)\n` +
    `ENGINE = ReplacingMergeTree(${key.version ?? ''})\nPARTITION BY ${key.partitionBy}\nORDER BY (${key.orderBy.join(', ')})`
  );
}

export interface ClickHouseDistributedOptions {
  /** The Distributed table, optionally database-qualified (`tcpkit.conn_all`). */
  table: string;
  /** The cluster (a `remote_servers` entry of the servers' configuration). */
  cluster: string;
  /** The local table on every shard, database-qualified (`tcpkit.conn`). */
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
export function clickhouseCreateDistributed(schema: RecordSchema, o: ClickHouseDistributedOptions): string {
  const dot = o.local.indexOf('.');
  if (dot < 0) throw new Error(`the local table "${o.local}" must name its database (db.table)`);
  const key = clickhouseKey(schema);
  return (
    `CREATE TABLE ${o.ifNotExists === false ? '' : 'IF NOT EXISTS '}${qualified(o.table)}\n(\n${columnLines(schema, false, false)}\n)\n` +
    `ENGINE = Distributed(${chIdent(o.cluster)}, ${chIdent(o.local.slice(0, dot))}, ${chIdent(o.local.slice(dot + 1))}, ${key.sharding})`
  );
}

/**
 * The DDL for a kind, as `tcpkit schema --dialect clickhouse` prints it: the
 * table, and with `cluster` the Distributed table `<table>_all` over it.
 */
export function clickhouseDdl(schema: RecordSchema, o: { table?: string; database?: string; cluster?: string } = {}): string {
  const db = o.database ?? 'tcpkit';
  const table = `${db}.${o.table ?? schema.kind}`;
  const out = [clickhouseCreateTable(schema, { table }) + ';'];
  if (o.cluster !== undefined) out.push(clickhouseCreateDistributed(schema, { table: `${table}_all`, cluster: o.cluster, local: table }) + ';');
  return out.join('\n\n') + '\n';
}

/** The list fields of a kind (a null list is loaded as an empty array). */
export function listFields(schema: RecordSchema): string[] {
  return schema.fields.filter((f) => f.type === 'list').map((f) => f.name);
}
