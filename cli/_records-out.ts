/**
 * Where tcpanalyze's records go when they are of several kinds (conn plus
 * the transactions of --decode):
 * - one destination (stdout, or -o FILE): NDJSON and archives interleave
 *   the kinds as they are written (each line names its kind in `record`),
 *   a terminal table shows each kind in blocks with its own columns, and
 *   CSV takes exactly one kind (checked by `chooseKinds`);
 * - a directory (-o DIR/): one file per kind, as Zeek writes one log per
 *   kind: conn.jsonl.zst, http.jsonl.zst, ... (or .jsonl, .csv with
 *   --format), each written under a temporary name and renamed when done.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordSchema, RecordValues } from '../src/records/index.js';
import { TextSink } from '../src/io/sink.js';
import { CsvWriter, MixedTableWriter, NdjsonWriter, TableWriter, fieldColumns, tableColumns, type RecordWriter, type TableWriterOptions } from '../src/output/writers.js';
import { UsageError } from '../src/util/errors.js';
import { openOutput, type Compression, type Output } from './_output.js';
import { ParquetWriter } from '../src/output/parquet.js';
import { recordTable } from '../src/records/ddl.js';

/**
 * Parquet of one kind (--format parquet, -o FILE.parquet, -o DIR/ with
 * --format parquet): streamed a row group at a time, types from the schema,
 * the kind and the archive metadata in the file's key/value metadata.
 */
function parquetWriter(sink: TextSink, schema: RecordSchema, meta: ((kind: string) => string) | undefined): RecordWriter {
  const metadata: Record<string, string> = { 'tcpkit.kind': schema.kind };
  if (meta) metadata['tcpkit'] = meta(schema.kind).trim();
  const w = new ParquetWriter((b) => sink.write(b), recordTable(schema).columns, { metadata });
  return { write: (r) => w.write(r), end: () => w.end() };
}

export type RecordFormat = 'ndjson' | 'csv' | 'table' | 'archive' | 'parquet';

/** `-o` names a directory: it ends with a slash or is an existing directory. */
export function isDirectoryOutput(path: string | undefined): boolean {
  if (path === undefined || path === '-') return false;
  if (path.endsWith('/')) return true;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The kinds to write: `--records` (comma-separated, or `all`) out of those
 * the run produces (conn plus each decoded protocol's kinds); all of them
 * by default. CSV to one destination takes one kind.
 */
export function chooseKinds(available: readonly RecordSchema[], records: string | undefined, csvToOne: boolean, format = 'CSV'): RecordSchema[] {
  let chosen: RecordSchema[];
  if (records === undefined || records.trim() === 'all') chosen = [...available];
  else {
    chosen = [];
    for (const part of records.split(',')) {
      const k = part.trim();
      if (k === '') continue;
      const s = available.find((x) => x.kind === k);
      if (s === undefined) {
        throw new UsageError('USAGE_BAD_RECORD_KIND', `--records: "${k}" is not a record kind of this run (it writes: ${available.map((x) => x.kind).join(', ')}; transaction kinds come with --decode)`);
      }
      if (!chosen.includes(s)) chosen.push(s);
    }
    if (chosen.length === 0) throw new UsageError('USAGE_BAD_RECORD_KIND', '--records: no record kind named');
  }
  if (csvToOne && chosen.length > 1) {
    throw new UsageError('USAGE_CSV_ONE_KIND', `${format} holds one record kind and this run writes ${chosen.map((x) => x.kind).join(', ')}: choose one with --records, or write one file per kind with -o DIR/`);
  }
  return chosen;
}

interface Dest {
  out: Output;
  sink: TextSink;
  write: (schema: RecordSchema, r: RecordValues) => void;
  writer: { end(): void };
  /** -o DIR/: a kind's file that got no record is removed at the end (Zeek writes no log for no events). */
  dropIfEmpty?: boolean;
  rows?: number;
}

/**
 * `--fields`: each kind's schema cut down to the named fields it has, in the
 * order named (a field no chosen kind has is a usage error; a kind with none
 * of them is one too).
 */
export function selectFields(kinds: readonly RecordSchema[], fields: string | undefined): RecordSchema[] {
  if (fields === undefined) return [...kinds];
  const names = fields.split(',').map((f) => f.trim()).filter((f) => f !== '');
  if (names.length === 0) throw new UsageError('USAGE_BAD_FIELD', '--fields: no field named');
  for (const n of names) {
    if (!kinds.some((k) => k.fields.some((f) => f.name === n))) throw new UsageError('USAGE_BAD_FIELD', `--fields: "${n}" is not a field of ${kinds.map((k) => k.kind).join(' or ')} records`);
  }
  return kinds.map((k) => {
    const sel = names.map((n) => k.fields.find((f) => f.name === n)).filter((f): f is NonNullable<typeof f> => f !== undefined);
    if (sel.length === 0) throw new UsageError('USAGE_BAD_FIELD', `--fields: ${k.kind} records have none of ${names.join(', ')} (leave the kind out with --records)`);
    return { ...k, fields: sel };
  });
}

/** A comparator for `--sort` fields: numbers (and exact time text) by value, text by code points, nulls first. */
export function recordOrder(fields: readonly string[]): (a: RecordValues, b: RecordValues) => number {
  return (a, b) => {
    for (const f of fields) {
      const x = a[f], y = b[f];
      if (x === y) continue;
      if (x === null || x === undefined) return -1;
      if (y === null || y === undefined) return 1;
      const nx = typeof x === 'number' ? x : Number(x), ny = typeof y === 'number' ? y : Number(y);
      const c = Number.isFinite(nx) && Number.isFinite(ny) && typeof x !== 'boolean' ? nx - ny : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
      if (c !== 0) return c;
    }
    return 0;
  };
}

export interface RecordOutputOptions {
  kinds: readonly RecordSchema[];
  /** `--fields` cut the kinds: a table shows exactly their fields. */
  fieldsChosen?: boolean;
  /** Compression of a single destination (gzip or zstd from the -o name); else `zstd` says. */
  compression?: Compression;
  /** A table's terminal width and --wide. */
  table?: TableWriterOptions;
  /** `--sort`: hold every record and write them sorted by these fields when the run ends. */
  sort?: readonly string[];
  format: RecordFormat;
  /** CSV header line. */
  header: boolean;
  /** Compress with zstd (archives; -o FILE.zst). */
  zstd: boolean;
  /** The archive's metadata line for a kind (archives only). */
  meta?: (kind: string) => string;
  /** -o DIR/: the kinds whose file is kept even without records (conn, and those --records names); others' empty files are removed. */
  keepEmpty?: ReadonlySet<string>;
}

export class RecordOutput {
  /** Records held for `--sort`, per kind, with their schema. */
  private held: Map<string, { schema: RecordSchema; rows: RecordValues[] }> | null = null;
  private order: ((a: RecordValues, b: RecordValues) => number) | null = null;

  private constructor(
    private readonly dests: Dest[],
    private readonly byKind: Map<string, Dest>,
    private readonly schemas: Map<string, RecordSchema>,
  ) {}

  private sorted(sort: readonly string[] | undefined): this {
    if (sort !== undefined && sort.length > 0) {
      this.held = new Map();
      this.order = recordOrder(sort);
    }
    return this;
  }

  /** One destination: stdout or a file (`path`), the kinds interleaved. */
  static async single(path: string | undefined, o: RecordOutputOptions): Promise<RecordOutput> {
    const out = await openOutput(path, o.compression !== undefined ? { compression: o.compression } : { zstd: o.zstd });
    const sink = new TextSink(out.stream, undefined, out.copiesWrites);
    let w: (schema: RecordSchema, r: RecordValues) => void;
    let writer: { end(): void };
    if (o.format === 'csv') {
      const csv: RecordWriter = new CsvWriter(sink, o.kinds[0]!, o.header);
      w = (_s, r) => csv.write(r);
      writer = csv;
    } else if (o.format === 'parquet') {
      const pq = parquetWriter(sink, o.kinds[0]!, o.meta);
      w = (_s, r) => pq.write(r);
      writer = pq;
    } else if (o.format === 'table') {
      const cols = o.fieldsChosen ? fieldColumns : tableColumns;
      if (o.kinds.length === 1) {
        const t = new TableWriter(sink, cols(o.kinds[0]!), o.table);
        w = (_s, r) => t.write(r);
        writer = t;
      } else {
        const t = new MixedTableWriter(sink, cols, o.table);
        w = (s, r) => t.write(s, r);
        writer = t;
      }
    } else {
      if (o.format === 'archive' && o.meta) sink.write(o.meta(o.kinds.length === 1 ? o.kinds[0]!.kind : o.kinds.map((k) => k.kind).join(',')));
      const nd = new Map(o.kinds.map((s) => [s.kind, new NdjsonWriter(sink, s)]));
      w = (s, r) => nd.get(s.kind)?.write(r);
      writer = { end: () => {} };
    }
    const d: Dest = { out, sink, write: w, writer };
    return new RecordOutput([d], new Map(o.kinds.map((k) => [k.kind, d])), new Map(o.kinds.map((k) => [k.kind, k]))).sorted(o.sort);
  }

  /** A directory: one file per kind, named after it. */
  static async directory(dir: string, o: RecordOutputOptions): Promise<RecordOutput> {
    if (o.format === 'table') throw new UsageError('USAGE_CONFLICT', '-o DIR/ writes files: choose --format ndjson, csv, parquet or archive (the default), not table');
    if (!existsSync(dir)) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new UsageError('OUTPUT_OPEN_FAILED', `cannot create the directory: ${(e as Error).message}`, { file: dir });
      }
    }
    const ext = o.format === 'csv' ? '.csv' : o.format === 'parquet' ? '.parquet' : o.format === 'ndjson' ? '.jsonl' : '.jsonl.zst';
    const dests: Dest[] = [];
    const byKind = new Map<string, Dest>();
    for (const s of o.kinds) {
      const out = await openOutput(join(dir, s.kind + ext), { zstd: ext.endsWith('.zst') });
      const sink = new TextSink(out.stream, undefined, out.copiesWrites);
      let writer: RecordWriter;
      if (o.format === 'csv') writer = new CsvWriter(sink, s, o.header);
      else if (o.format === 'parquet') writer = parquetWriter(sink, s, o.meta);
      else {
        if (o.meta && ext.endsWith('.zst')) sink.write(o.meta(s.kind));
        writer = new NdjsonWriter(sink, s);
      }
      const keepEmpty = o.keepEmpty === undefined || o.keepEmpty.has(s.kind);
      const d: Dest = keepEmpty
        ? { out, sink, write: (_s, r) => writer.write(r), writer }
        : {
            out,
            sink,
            write: (_s, r) => {
              d.rows!++;
              writer.write(r);
            },
            writer,
            dropIfEmpty: true,
            rows: 0,
          };
      dests.push(d);
      byKind.set(s.kind, d);
    }
    return new RecordOutput(dests, byKind, new Map(o.kinds.map((k) => [k.kind, k]))).sorted(o.sort);
  }

  /** Whether records of this kind are written. */
  wants(kind: string): boolean {
    return this.byKind.has(kind);
  }

  /** Writes a record of `schema`'s kind with the fields this output was given for the kind (--fields). */
  write(schema: RecordSchema, r: RecordValues): void {
    const own = this.schemas.get(schema.kind);
    if (own === undefined) return;
    if (this.held !== null) {
      let h = this.held.get(schema.kind);
      if (h === undefined) this.held.set(schema.kind, (h = { schema: own, rows: [] }));
      h.rows.push(r);
      return;
    }
    this.byKind.get(schema.kind)!.write(own, r);
  }

  /** A destination went away (EPIPE): stop reading. */
  get closed(): boolean {
    return this.dests.some((d) => d.sink.closed);
  }

  /** Resolves when every destination can take more (backpressure). */
  async ready(): Promise<void> {
    for (const d of this.dests) await d.sink.ready();
  }

  /** The first write error of any destination. */
  get error(): Error | null {
    for (const d of this.dests) if (d.sink.error) return d.sink.error;
    return null;
  }

  /** Ends the writers (a table or CSV with no rows still writes its header), flushes and commits every file. */
  async finish(keep: boolean): Promise<void> {
    if (this.held !== null) {
      // --sort: each kind's records in order, the kinds in the order they were chosen
      for (const [kind, h] of [...this.held].sort((a, b) => [...this.schemas.keys()].indexOf(a[0]) - [...this.schemas.keys()].indexOf(b[0]))) {
        h.rows.sort(this.order!);
        const d = this.byKind.get(kind)!;
        for (const r of h.rows) {
          d.write(h.schema, r);
          if (d.sink.closed) break;
        }
      }
      this.held = null;
    }
    for (const d of this.dests) d.writer.end();
    for (const d of this.dests) await d.sink.flush();
    const e = this.error;
    if (e) throw e;
    for (const d of this.dests) await d.out.commit(keep && !(d.dropIfEmpty === true && d.rows === 0));
  }
}
