/**
 * The tables tcpload writes to, found or created on the server.
 *
 * Names: with `clickhouse://host/db.table` one kind goes to `table`; with
 * `clickhouse://host/db` each kind goes to a table named as tcpquery names
 * its view (conns, flows, tunnels, http, dns, ssl, ...), so one query runs
 * unchanged on both. On a cluster (`cluster` set) that name is the Distributed
 * table and each shard holds `<name>_local`, so queries read the same names
 * on one server and on a cluster.
 */
import type { RecordSchema } from '../records/schema.js';
import { recordTable, tableName } from '../records/ddl.js';
import { SOURCE_COLUMN, chIdent, chString, clickhouseColumns, clickhouseCreateDistributed, clickhouseCreateTable } from '../records/ddl-clickhouse.js';
import { ToolError } from '../util/errors.js';
import type { ClickHouseHttp, ClickHouseTarget } from './clickhouse-http.js';
import type { KindTable } from './clickhouse-load.js';

export interface TableSetup {
  /** Create the database and missing tables, and add missing columns (ALTER TABLE ... ADD COLUMN). */
  create: boolean;
  /** Insert into Distributed tables over this cluster (created with `create`). */
  cluster: string | null;
  /** Lines for the user (columns added, fields not loaded). */
  note: (line: string) => void;
  /** Retries the setup queries through the loader's policy. */
  attempt: <T>(fn: () => Promise<T>, what: string) => Promise<T>;
}

/** The table a kind's records go to (database-qualified), and on a cluster its shards' local table. */
export function tableNames(target: ClickHouseTarget, kind: string, cluster: string | null): { insert: string; local: string } {
  const name = target.table ?? tableName(kind);
  return { insert: `${target.database}.${name}`, local: `${target.database}.${cluster !== null ? name + '_local' : name}` };
}

async function columnsOf(http: ClickHouseHttp, qualified: string, s: TableSetup): Promise<Map<string, string>> {
  const dot = qualified.indexOf('.');
  const sql = `SELECT name, type FROM system.columns WHERE database = ${chString(qualified.slice(0, dot))} AND table = ${chString(qualified.slice(dot + 1))} FORMAT TSV`;
  const text = await s.attempt(() => http.query(sql), `reading the columns of ${qualified}`);
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [name, type] = line.split('\t');
    m.set(name!, type!);
  }
  return m;
}

/** Finds (or with `create`, creates) the table of each kind; returns what to insert into. */
export async function prepareTables(http: ClickHouseHttp, target: ClickHouseTarget, kinds: readonly RecordSchema[], s: TableSetup): Promise<KindTable[]> {
  if (s.create) await s.attempt(() => http.query(`CREATE DATABASE IF NOT EXISTS ${chIdent(target.database)}`), `creating database ${target.database}`);
  const out: KindTable[] = [];
  for (const schema of kinds) {
    const names = tableNames(target, schema.kind, s.cluster);
    const def = recordTable(schema);
    if (s.create) {
      await s.attempt(() => http.query(clickhouseCreateTable(def, { table: names.local })), `creating ${names.local}`);
      if (s.cluster !== null) await s.attempt(() => http.query(clickhouseCreateDistributed(def, { table: names.insert, cluster: s.cluster!, local: names.local })), `creating ${names.insert}`);
    }
    // every table tcpload writes through: the local one, and the Distributed one over it
    const tables = s.cluster !== null ? [names.local, names.insert] : [names.insert];
    let have = new Map<string, string>();
    for (const t of tables) {
      let cols = await columnsOf(http, t, s);
      if (cols.size === 0) {
        throw new ToolError('LOAD_NO_TABLE', `table ${t} does not exist on ${target.host}:${target.port}${s.create ? '' : ' (add --create to create it from the schema)'}`);
      }
      const missing = clickhouseColumns(def).filter((c) => c.materialized === undefined && !cols.has(c.name));
      if (missing.length > 0 && s.create) {
        const alter = `ALTER TABLE ${t} ${missing.map((c) => `ADD COLUMN ${chIdent(c.name)} ${c.type}`).join(', ')}`;
        await s.attempt(() => http.query(alter), `adding columns to ${t}`);
        s.note(`${t}: added ${missing.length} columns of ${schema.kind} records (${missing.map((c) => c.name).join(', ')})`);
        cols = await columnsOf(http, t, s);
      }
      have = cols;
    }
    const fields = schema.fields.map((f) => f.name).filter((n) => have.has(n));
    const lacking = schema.fields.map((f) => f.name).filter((n) => !have.has(n));
    if (lacking.length > 0) s.note(`${names.insert} has no column for ${lacking.length} fields of ${schema.kind} records, not loaded: ${lacking.join(', ')} (--create adds them)`);
    if (fields.length === 0) throw new ToolError('LOAD_NO_COLUMNS', `table ${names.insert} has none of the fields of ${schema.kind} records`);
    const columns = have.has(SOURCE_COLUMN) ? [...fields, SOURCE_COLUMN] : fields;
    out.push({ schema, table: names.insert, columns });
  }
  return out;
}
