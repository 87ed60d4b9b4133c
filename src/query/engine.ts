/**
 * tcpquery's engine: DuckDB in the process, with one view per record kind
 * (`conns`, `flows`, `http`, `dns`, `ssl`, `tunnels`, `tcpinfo`), each typed
 * from the one schema (src/records/ddl.ts) whatever the inputs were:
 * - tcpkit records and archives (NDJSON, plain, gzip or zstd; every kind,
 *   interleaved or not) are parsed in Node and appended to the kind's table
 *   (src/query/load.ts);
 * - tcp-info archives go through csvtool's converter into a temporary CSV
 *   that DuckDB reads with the typed columns (src/tcpinfo/columns.ts), plus
 *   the connection's UUID from the archive's metadata line;
 * - Parquet files (tcpkit's `--format parquet`, or any with the kind's
 *   columns) are not loaded: the view reads them where they are.
 * A view holds no rows of a kind no input had, so every query can name
 * every view.
 */
import { mkdtempSync, rmSync, openSync, readSync, closeSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBResult } from '@duckdb/node-api';
import { openInput, type OpenedInput } from '../io/input.js';
import { LineReader } from '../io/lines.js';
import { TextSink } from '../io/sink.js';
import { isCaptureMagic } from '../capture/open.js';
import { detectLineKind } from '../tcpinfo/detect.js';
import { archiveToCsv } from '../tcpinfo/convert.js';
import { TCPINFO_COLUMNS, TCPINFO_TABLE_COLUMNS } from '../tcpinfo/columns.js';
import { SCHEMAS, META_KEY } from '../records/index.js';
import { duckdbType, recordTable, renderDdl, sqlIdent, sqlString, type TableDef } from '../records/ddl.js';
import { ToolError, UsageError } from '../util/errors.js';
import { engineError, loadDuckDB, type DuckDBApi } from './duckdb.js';
import { TableLoader } from './load.js';

/** The tcp-info view: csvtool's columns, typed, and the connection's UUID from the archive's metadata line. */
export const TCPINFO_TABLE: TableDef = {
  kind: 'tcpinfo',
  table: 'tcpinfo',
  doc: 'One row per tcp-info snapshot (m-lab tcp-info archives), in csvtool\'s columns.',
  columns: TCPINFO_TABLE_COLUMNS,
};

/** Every table tcpquery knows: the record kinds, then tcpinfo. */
export function queryTables(): TableDef[] {
  return [...[...SCHEMAS.values()].map(recordTable), TCPINFO_TABLE];
}

/** A table by kind (`conn`) or by view name (`conns`). */
export function findTable(name: string): TableDef | undefined {
  return queryTables().find((t) => t.kind === name || t.table === name);
}

const internal = (kind: string): string => sqlIdent(`_tcpkit_${kind}`);

export interface LoadStats {
  /** Rows appended per kind (records and tcp-info snapshots), Parquet files per kind. */
  rows: Map<string, number>;
  parquet: Map<string, string[]>;
  badLines: number;
  firstBad: ToolError | null;
}

export interface QueryOptions {
  /** DuckDB worker threads (default: DuckDB's, one per core). */
  threads?: number;
  /** DuckDB memory limit (e.g. "2GB"); beyond it DuckDB spills to the temporary directory. */
  memoryLimit?: string;
  /** A line that is not a record (skipped, counted). */
  onBad?: (e: ToolError) => void;
}

export class QuerySession {
  readonly stats: LoadStats = { rows: new Map(), parquet: new Map(), badLines: 0, firstBad: null };
  private readonly loaders = new Map<string, TableLoader>();
  private readonly tcpinfoFiles: { tmp: string; file: string; uuid: string | null }[] = [];
  private closed = false;

  private constructor(
    readonly api: DuckDBApi,
    private readonly db: DuckDBInstance,
    readonly conn: DuckDBConnection,
    private readonly temp: string,
    private readonly o: QueryOptions,
  ) {}

  static async open(o: QueryOptions = {}): Promise<QuerySession> {
    const api = await loadDuckDB();
    const temp = mkdtempSync(join(tmpdir(), 'tcpquery-'));
    const config: Record<string, string> = { temp_directory: join(temp, 'spill') };
    if (o.threads !== undefined) config['threads'] = String(o.threads);
    if (o.memoryLimit !== undefined) config['memory_limit'] = o.memoryLimit;
    let db: DuckDBInstance;
    try {
      db = await api.DuckDBInstance.create(':memory:', config);
    } catch (e) {
      rmSync(temp, { recursive: true, force: true });
      throw engineError(e, 'DuckDB settings');
    }
    const conn = await db.connect();
    const s = new QuerySession(api, db, conn, temp, o);
    for (const t of queryTables()) await conn.run(renderDdl(t, 'duckdb', { table: internal(t.kind) }));
    return s;
  }

  /** Reads every input into the session (`-` is `stdin`). */
  async addInputs(files: readonly string[], stdin: NodeJS.ReadableStream): Promise<void> {
    for (const f of files) await this.addInput(f, stdin);
  }

  private async addInput(path: string, stdin: NodeJS.ReadableStream): Promise<void> {
    if (path !== '-' && isParquetFile(path)) {
      const kind = await this.parquetKind(path);
      const list = this.stats.parquet.get(kind) ?? [];
      list.push(path);
      this.stats.parquet.set(kind, list);
      return;
    }
    const input = await openInput(path === '-' ? { path: '-', stream: stdin } : { path });
    try {
      const w = input.window;
      await w.fill(4).catch(() => {});
      if (w.available >= 4 && w.buf.toString('latin1', w.pos, w.pos + 4) === 'PAR1') {
        throw new UsageError('QUERY_PARQUET_STDIN', 'Parquet cannot be read from a pipe: name the file', { file: input.name });
      }
      if (w.available >= 4 && isCaptureMagic(w.buf.readUInt32BE(w.pos))) {
        throw new UsageError('QUERY_CAPTURE_INPUT', 'a packet capture: tcpquery reads records; analyse the capture first (tcpanalyze CAPTURE -o conns.jsonl.zst, or tcpanalyze CAPTURE | tcpquery SQL -)', { file: input.name });
      }
      const lines = new LineReader(w);
      if (!(await lines.next())) return; // empty: no rows
      const kind = detectLineKind(lines.buf, lines.start, lines.end);
      if (kind === 'tcpinfo') {
        const uuid = metadataUuid(lines.buf.toString('utf8', lines.start, lines.end));
        lines.unread();
        await this.addTcpInfo(lines, input, uuid);
        return;
      }
      if (kind !== 'tcpkit') {
        throw new ToolError('QUERY_UNKNOWN_INPUT', 'not tcpkit records, a tcp-info archive, Parquet or a tcpkit archive (first line is neither)', { file: input.name, line: 1 });
      }
      lines.unread();
      await this.addRecords(lines, input);
    } finally {
      await input.window.close().catch(() => {});
    }
  }

  private bad(e: ToolError): void {
    this.stats.badLines++;
    this.stats.firstBad ??= e;
    this.o.onBad?.(e);
  }

  private async addRecords(lines: LineReader, input: OpenedInput): Promise<void> {
    for (;;) {
      while (lines.nextBuffered()) {
        const text = lines.buf.toString('utf8', lines.start, lines.end);
        let r: Record<string, unknown>;
        try {
          const v = JSON.parse(text) as unknown;
          if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
          r = v as Record<string, unknown>;
        } catch (e) {
          if (text.trim() === '') continue;
          this.bad(new ToolError('RECORD_BAD_JSON', `invalid JSON: ${(e as Error).message}`, { file: input.name, line: lines.lineNo, offset: lines.lineOffset }));
          continue;
        }
        const kind = r['record'];
        if (typeof kind !== 'string') {
          if (r[META_KEY] !== undefined) continue; // an archive's metadata line
          this.bad(new ToolError('RECORD_NOT_A_RECORD', 'the object has no "record" key (not a tcpkit record)', { file: input.name, line: lines.lineNo, offset: lines.lineOffset }));
          continue;
        }
        let loader = this.loaders.get(kind);
        if (loader === undefined) {
          const schema = SCHEMAS.get(kind);
          if (schema === undefined) {
            this.bad(new ToolError('RECORD_UNKNOWN_KIND', `unknown record kind "${kind}" (known: ${[...SCHEMAS.keys()].join(', ')})`, { file: input.name, line: lines.lineNo, offset: lines.lineOffset }));
            continue;
          }
          loader = await TableLoader.create(this.api, this.conn, recordTable(schema), `_tcpkit_${kind}`);
          this.loaders.set(kind, loader);
        }
        try {
          loader.add(r, text);
        } catch (e) {
          this.bad(new ToolError('RECORD_BAD_VALUE', `a value does not fit its column: ${(e as Error).message}`, { file: input.name, line: lines.lineNo, offset: lines.lineOffset }));
        }
      }
      if (!(await lines.fill())) break;
    }
  }

  private async addTcpInfo(lines: LineReader, input: OpenedInput, uuid: string | null): Promise<void> {
    const tmp = join(this.temp, `tcpinfo-${this.tcpinfoFiles.length}.csv`);
    const out = createWriteStream(tmp);
    const sink = new TextSink(out);
    const r = await archiveToCsv(lines, sink, { name: input.name, skipBad: true, header: true });
    out.end();
    await once(out, 'close');
    if (r.skipped > 0) {
      this.stats.badLines += r.skipped;
      if (r.firstSkipped) {
        this.stats.firstBad ??= r.firstSkipped;
        this.o.onBad?.(r.firstSkipped);
      }
    }
    this.tcpinfoFiles.push({ tmp, file: input.name, uuid });
  }

  /** The record kind a Parquet file holds: its tcpkit metadata, else the kind whose fields its columns are. */
  private async parquetKind(path: string): Promise<string> {
    try {
      const kv = await this.conn.runAndReadAll(`SELECT decode(value) FROM parquet_kv_metadata(${sqlString(path)}) WHERE decode(key) = 'tcpkit.kind'`);
      const v = kv.getRows()[0]?.[0];
      if (typeof v === 'string' && findTable(v)) return findTable(v)!.kind;
      const cols = await this.conn.runAndReadAll(`SELECT name FROM parquet_schema(${sqlString(path)}) WHERE num_children IS NULL OR num_children = 0`);
      const names = new Set(cols.getRows().map((row) => String(row[0])));
      let best: TableDef | null = null;
      let bestHits = 0;
      for (const t of queryTables()) {
        const hits = t.columns.filter((c) => names.has(c.name)).length;
        if (hits > bestHits) {
          best = t;
          bestHits = hits;
        }
      }
      if (best === null || bestHits < Math.max(1, names.size * 0.8)) {
        throw new ToolError('QUERY_PARQUET_KIND', 'a Parquet file whose columns are not those of a tcpkit record kind (and without tcpkit.kind metadata)', { file: path });
      }
      return best.kind;
    } catch (e) {
      if (e instanceof ToolError) throw e;
      throw new ToolError('QUERY_PARQUET_UNREADABLE', engineError(e, 'Parquet').message, { file: path });
    }
  }

  /** Ends loading: closes the appenders, reads the tcp-info CSVs, and creates the views. */
  async finishLoading(): Promise<void> {
    for (const [kind, l] of this.loaders) {
      try {
        l.close();
      } catch (e) {
        throw engineError(e, `loading ${kind} records`);
      }
      this.stats.rows.set(kind, l.rows);
    }
    this.loaders.clear();
    if (this.tcpinfoFiles.length > 0) {
      const t = TCPINFO_TABLE;
      const csvCols = TCPINFO_COLUMNS.map((c) => `${sqlString(c.name)}: ${sqlString(duckdbType(c.type))}`).join(', ');
      const files = this.tcpinfoFiles.map((f) => `(${sqlString(f.tmp)}, ${f.uuid === null ? 'NULL' : sqlString(f.uuid)})`).join(', ');
      const sql =
        `INSERT INTO ${internal('tcpinfo')} SELECT ${t.columns.map((c) => (c.name === 'UUID' ? 'm.uuid' : `c.${sqlIdent(c.name)}`)).join(', ')} ` +
        `FROM read_csv([${this.tcpinfoFiles.map((f) => sqlString(f.tmp)).join(', ')}], header = true, auto_detect = false, quote = '"', escape = '"', filename = true, columns = {${csvCols}}) c ` +
        `JOIN (VALUES ${files}) m(tmp, uuid) ON c.filename = m.tmp WHERE c."IDM.Family" IS NOT NULL`;
      try {
        await this.conn.run(sql);
      } catch (e) {
        throw engineError(e, 'reading tcp-info snapshots');
      }
      const n = await this.conn.runAndReadAll(`SELECT count(*) FROM ${internal('tcpinfo')}`);
      this.stats.rows.set('tcpinfo', Number(n.getRows()[0]![0]));
      for (const f of this.tcpinfoFiles) rmSync(f.tmp, { force: true });
    }
    for (const t of queryTables()) {
      const parquet = this.stats.parquet.get(t.kind);
      const cols = t.columns.map((c) => sqlIdent(c.name)).join(', ');
      let body = `SELECT * FROM ${internal(t.kind)}`;
      if (parquet && parquet.length > 0) {
        body += ` UNION ALL BY NAME SELECT * FROM read_parquet([${parquet.map(sqlString).join(', ')}], union_by_name = true)`;
        body = `SELECT ${cols} FROM (${body})`;
      }
      try {
        await this.conn.run(`CREATE VIEW ${sqlIdent(t.table)} AS ${body}`);
      } catch (e) {
        throw engineError(e, `the ${t.table} view over ${parquet?.join(', ') ?? 'the records'}`);
      }
    }
  }

  /** Runs a statement and streams its result. */
  async stream(sql: string): Promise<DuckDBResult> {
    try {
      return await this.conn.stream(sql);
    } catch (e) {
      throw engineError(e);
    }
  }

  /** The plan DuckDB would run (EXPLAIN), as text. */
  async explain(sql: string): Promise<string> {
    try {
      const r = await this.conn.runAndReadAll(`EXPLAIN ${sql}`);
      return r.getRows().map((row) => String(row[1])).join('\n');
    } catch (e) {
      throw engineError(e);
    }
  }

  /** Writes a query's result to a Parquet file with DuckDB's COPY (zstd), marked with the kind when it is one. */
  async copyToParquet(sql: string, path: string, kind: string | null): Promise<void> {
    const kv = kind ? `, KV_METADATA {'tcpkit.kind': ${sqlString(kind)}}` : '';
    try {
      await this.conn.run(`COPY (${sql.replace(/;\s*$/, '')}) TO ${sqlString(path)} (FORMAT PARQUET, COMPRESSION ZSTD${kv})`);
    } catch (e) {
      throw engineError(e);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.closeSync();
      this.db.closeSync();
    } finally {
      rmSync(this.temp, { recursive: true, force: true });
    }
  }
}

/** A file that starts with Parquet's magic. */
export function isParquetFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false; // openInput reports it
  }
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === 'PAR1';
  } finally {
    closeSync(fd);
  }
}

/** The UUID of a tcp-info archive's metadata line, when the line is one. */
function metadataUuid(line: string): string | null {
  if (!line.includes('"Metadata"')) return null;
  try {
    const o = JSON.parse(line) as { Metadata?: { UUID?: unknown } };
    return typeof o.Metadata?.UUID === 'string' ? o.Metadata.UUID : null;
  } catch {
    return null;
  }
}
