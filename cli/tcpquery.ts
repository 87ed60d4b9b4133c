#!/usr/bin/env node
/**
 * tcpquery: SQL over tcpkit records, tcp-info archives and Parquet files,
 * with DuckDB embedded (the optional package @duckdb/node-api, loaded only
 * here). Each record kind is a view typed from the record schemas: conns,
 * flows, http, dns, ssl, tunnels, tcpinfo. Prints the result as the other
 * commands print records (a table on a terminal, NDJSON, CSV) or writes
 * Parquet. Also prints each kind's schema as DDL (--schema KIND --dialect D).
 */
import { Option } from 'commander';
import { TextSink } from '../src/io/sink.js';
import { CsvWriter, NdjsonWriter, TableWriter, fieldColumns, type RecordWriter } from '../src/output/writers.js';
import { floatText, type RecordSchema, type RecordValues } from '../src/records/schema.js';
import { DIALECTS, renderDdl } from '../src/records/ddl.js';
import { EXIT_DATA, EXIT_OK, UsageError, type ToolError } from '../src/util/errors.js';
import { makeProgram, runMain, warn } from './_common.js';
import { openOutput } from './_output.js';

const NAME = 'tcpquery';

interface Opts {
  format?: 'table' | 'ndjson' | 'csv' | 'parquet';
  output?: string;
  header: boolean;
  explain: boolean;
  schema?: string;
  dialect: string;
  table?: string;
  threads?: string;
  memoryLimit?: string;
  quiet: boolean;
  stats: boolean;
}

/** NDJSON of a result that is not one record kind: its own column names as keys (any text), values exact as records write them. */
class RowNdjsonWriter implements RecordWriter {
  private readonly keys: string[];
  constructor(private readonly sink: TextSink, private readonly schema: RecordSchema) {
    this.keys = schema.fields.map((f) => JSON.stringify(f.name) + ':');
  }
  write(r: RecordValues): void {
    let s = '{';
    const fields = this.schema.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const v = r[f.name];
      s += (i === 0 ? '' : ',') + this.keys[i]!;
      if (v === null || v === undefined) s += 'null';
      else if (f.type === 'string') s += JSON.stringify(v);
      else if (f.type === 'list') s += JSON.stringify(v);
      else if (f.type === 'float') s += typeof v === 'number' ? (Number.isFinite(v) ? floatText(v) : 'null') : String(v);
      else if (f.type === 'bool') s += v ? 'true' : 'false';
      else s += String(v);
    }
    this.sink.write(s + '}\n');
  }
  end(): void {}
}

async function main(): Promise<number> {
  const program = makeProgram(
    NAME,
    'Run SQL (DuckDB, embedded) over tcpkit records and archives of every kind, tcp-info archives and Parquet files. Each kind is a view typed from the record schemas: conns, flows, http, dns, ssl, redis, mongodb, mysql, postgresql, tunnels, tcpinfo.',
  )
    .argument('[sql]', "the query, e.g. 'SELECT resp_p, count(*) FROM conns GROUP BY 1'")
    .argument('[files...]', 'records (NDJSON, plain, gzip or zstd; tcpkit archives), tcp-info archives, Parquet files; none or - reads stdin')
    .addOption(new Option('-f, --format <format>', 'output format: table, ndjson, csv, or parquet (with -o) (default: table on a terminal, else ndjson; parquet when -o ends in .parquet)').choices(['table', 'ndjson', 'csv', 'parquet']))
    .option('-o, --output <file>', 'write to FILE instead of stdout (temporary name, renamed when complete); zstd when it ends in .zst; Parquet when it ends in .parquet')
    .option('--no-header', 'CSV: leave out the header line')
    .option('--explain', "print DuckDB's plan for the query instead of running it", false)
    .option('--schema <kind>', 'print the table definition of a kind (conn, flow, http, dns, ssl, redis, mongodb, mysql, postgresql, tunnel, tcpinfo; or a view name) and exit')
    .addOption(new Option('--dialect <dialect>', 'with --schema: the dialect').choices([...DIALECTS.keys()]).default('duckdb'))
    .option('--table <name>', 'with --schema: the table name in the statement (default: the view name)')
    .option('--threads <n>', "DuckDB's worker threads (default: one per core)")
    .option('--memory-limit <size>', "DuckDB's memory limit, e.g. 2GB (beyond it, it spills to a temporary directory)")
    .option('-q, --quiet', 'no warnings on stderr', false)
    .option('--stats', 'print the rows loaded per view on stderr', false)
    .addHelpText(
      'after',
      `
Views: conns, flows, http, dns, ssl, redis, mongodb, mysql, postgresql, tunnels (tcpkit records), tcpinfo (tcp-info snapshots,
csvtool's columns). Times are TIMESTAMP_NS (UTC), durations DECIMAL(18,9), counters BIGINT.
Examples:
  tcpquery 'SELECT resp_p, count(*), quantile_cont(handshake_ms, 0.99) FROM conns GROUP BY 1 ORDER BY 2 DESC' day*.jsonl.zst
  tcpanalyze capture.pcap | tcpquery 'SELECT conn_state, count(*) FROM conns GROUP BY 1'
  tcpquery 'SELECT * FROM conns WHERE handshake_ms > 100' conns.parquet -o slow.parquet
  tcpquery 'SELECT date_trunc(''minute'', "Timestamp") m, avg("TCP.RTT") FROM tcpinfo GROUP BY 1' archive/*.jsonl.zst
  tcpquery --schema conn --dialect bigquery
Exit status: 0 ok, 1 data error (unreadable input, skipped lines), 2 usage or SQL error.`,
    );
  program.parse(process.argv);
  const o = program.opts<Opts>();
  const [sql, ...files] = program.args as string[];

  if (o.schema !== undefined) {
    const { findTable } = await import('../src/query/engine.js');
    const t = findTable(o.schema);
    if (t === undefined) throw new UsageError('USAGE_BAD_RECORD_KIND', `--schema: "${o.schema}" is not a record kind (conn, flow, http, dns, ssl, redis, mongodb, mysql, postgresql, tunnel, tcpinfo)`);
    process.stdout.write(renderDdl(t, o.dialect, o.table !== undefined ? { table: o.table } : {}));
    return EXIT_OK;
  }
  if (sql === undefined || sql.trim() === '') throw new UsageError('USAGE_MISSING_SQL', 'no query: tcpquery SQL [FILES...] (or --schema KIND)');
  const threads = o.threads === undefined ? undefined : Number(o.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new UsageError('USAGE_BAD_NUMBER', `--threads: "${o.threads}" is not a positive whole number`);
  const toTerminal = !o.output && process.stdout.isTTY === true;
  const format = o.format ?? (o.output?.endsWith('.parquet') ? 'parquet' : toTerminal ? 'table' : 'ndjson');
  if (format === 'parquet' && (o.output === undefined || o.output === '-')) throw new UsageError('USAGE_CONFLICT', '--format parquet writes a file: name it with -o FILE.parquet');
  const inputs = files.length > 0 ? files : process.stdin.isTTY === true ? [] : ['-'];

  const { QuerySession } = await import('../src/query/engine.js');
  let shown = 0;
  const session = await QuerySession.open({
    ...(threads !== undefined ? { threads } : {}),
    ...(o.memoryLimit !== undefined ? { memoryLimit: o.memoryLimit } : {}),
    onBad: (e: ToolError) => {
      if (!o.quiet && shown++ < 3) warn(`${NAME}: skipped: ${e.describe()}`);
    },
  });
  try {
    await session.addInputs(inputs, process.stdin);
    await session.finishLoading();
    const st = session.stats;
    if (o.stats && !o.quiet) {
      const parts = [...st.rows].map(([k, n]) => `${k} ${n}`);
      for (const [k, p] of st.parquet) parts.push(`${k} ${p.length} Parquet file${p.length === 1 ? '' : 's'}`);
      warn(`${NAME}: loaded ${parts.length > 0 ? parts.join(', ') : 'nothing'}`);
    }
    if (st.badLines > 0 && !o.quiet) warn(`${NAME}: ${st.badLines} input line${st.badLines === 1 ? '' : 's'} skipped (not records); the first: ${st.firstBad!.describe()}`);
    if (o.explain) {
      process.stdout.write((await session.explain(sql)) + '\n');
      return st.badLines > 0 ? EXIT_DATA : EXIT_OK;
    }
    if (format === 'parquet') {
      const { resultKind, resultShape } = await import('../src/query/result.js');
      // the kind (when the result is one) goes in the file's metadata, so tcpquery reads it back as that view
      const probe = await session.stream(`SELECT * FROM (${sql.replace(/;\s*$/, '')}) LIMIT 0`);
      const kind = resultKind(resultShape(probe).schema.fields);
      await session.copyToParquet(sql, o.output!, kind === 'row' ? null : kind);
      return st.badLines > 0 ? EXIT_DATA : EXIT_OK;
    }
    const { resultShape, resultRecords } = await import('../src/query/result.js');
    const result = await session.stream(sql);
    const shape = resultShape(result);
    const zstd = o.output?.endsWith('.zst') ?? false;
    const out = await openOutput(o.output, { zstd });
    const sink = new TextSink(out.stream, undefined, out.copiesWrites);
    const schema = shape.schema;
    const writer: RecordWriter =
      format === 'csv'
        ? new CsvWriter(sink, schema, o.header)
        : format === 'table'
          ? new TableWriter(sink, fieldColumns(schema))
          : schema.kind !== 'row'
            ? new NdjsonWriter(sink, schema)
            : new RowNdjsonWriter(sink, schema);
    try {
      for await (const rows of resultRecords(result, shape)) {
        for (const r of rows) writer.write(r);
        await sink.ready();
        if (sink.closed) break;
      }
    } catch (e) {
      await sink.flush().catch(() => {});
      await out.commit(false).catch(() => {});
      const { engineError } = await import('../src/query/duckdb.js');
      throw engineError(e);
    }
    writer.end();
    await sink.flush();
    if (sink.error) throw sink.error;
    await out.commit(true);
    return st.badLines > 0 ? EXIT_DATA : EXIT_OK;
  } finally {
    session.close();
  }
}

runMain(NAME, main);
