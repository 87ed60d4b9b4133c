#!/usr/bin/env node
/**
 * csvtool: m-lab tcp-info archives (JSONL, plain or zstd) to CSV on stdout,
 * byte-identical to m-lab's Go csvtool for every input it accepts, but
 * streaming, with clear one-line errors, and without the 64 KiB line limit.
 * Also converts tcpkit NDJSON records (from tcpanalyze) to CSV with the
 * record schema's header. The first line decides which kind the input is.
 */
import { Option } from 'commander';
import type { LineReader } from '../src/io/lines.js';
import { byteSize } from './_args.js';
import { TextSink } from '../src/io/sink.js';
import { ToolError, UsageError, EXIT_OK } from '../src/util/errors.js';
import { archiveToCsv, describeSkipped, openArchive } from '../src/tcpinfo/convert.js';
import { CSV_HEADER } from '../src/tcpinfo/csv.js';
import { detectLineKind, type LineKind } from '../src/tcpinfo/detect.js';
import { refuseWrongInput } from './_input-kind.js';
import { J_ARRAY, J_NULL, J_OBJECT, J_STRING, J_TRUE, J_FALSE, parseGoJson, rawText, unquoteGo, GoJsonError, type JNode } from '../src/tcpinfo/go-json.js';
import type { RecordSchema } from '../src/records/index.js';
import { checkTerminalInput, isPrematureClose, letSignalsArrive, makeProgram, onStopSignals, runMain, warn } from './_common.js';

const NAME = 'csvtool';

// ---------------------------------------------------------------------------
// tcpkit records -> CSV
// ---------------------------------------------------------------------------

/** What csvtool needs to know about a tcpkit record kind. */
export interface CsvSchema {
  /** Value of the `record` key. */
  kind: string;
  /** CSV columns = NDJSON keys, in schema order. */
  columns: string[];
}

/**
 * The record kinds tcpkit knows (src/records), and csv-stringify: loaded only
 * for tcpkit input, which keeps the archive path's start-up short.
 */
interface TcpkitDeps {
  schemas: ReadonlyMap<string, RecordSchema>;
  columns: (s: RecordSchema) => string[];
  stringify: (rows: string[][]) => string;
}

async function loadTcpkitDeps(): Promise<TcpkitDeps> {
  const records = await import('../src/records/index.js');
  const csv = await import('csv-stringify/sync');
  return { schemas: records.SCHEMAS, columns: records.columns, stringify: (rows) => csv.stringify(rows) };
}

/** The CSV schema of a record kind, or undefined when tcpkit does not know it. */
export function schemaFor(deps: TcpkitDeps, kind: string): CsvSchema | undefined {
  const s = deps.schemas.get(kind);
  return s === undefined ? undefined : { kind: s.kind, columns: deps.columns(s) };
}

const CSV_SPECIAL = /[",\r\n]/;

/** Cell text of a JSON value: null -> empty, numbers verbatim (exact decimals), strings unescaped. */
function cellOf(b: Buffer, n: JNode | undefined): string {
  if (n === undefined || n.type === J_NULL) return '';
  if (n.type === J_STRING) return n.escaped ? (JSON.parse(b.toString('utf8', n.start, n.end)) as string) : b.toString('utf8', n.start + 1, n.end - 1);
  if (n.type === J_TRUE) return 'true';
  if (n.type === J_FALSE) return 'false';
  // a list field is its elements joined by commas, as tcpanalyze --format csv writes it (cellText)
  if (n.type === J_ARRAY) return (JSON.parse(b.toString('utf8', n.start, n.end)) as unknown[]).map((x) => (x === null ? '' : String(x))).join(',');
  return n.type === J_OBJECT ? b.toString('utf8', n.start, n.end) : rawText(b, n);
}

/** Renders tcpkit records of one kind as CSV rows in schema order (csv-stringify quoting). */
export class RecordCsvRenderer {
  constructor(
    readonly schema: CsvSchema,
    private readonly stringify: (rows: string[][]) => string,
  ) {}
  header(): string {
    return this.stringify([this.schema.columns]);
  }
  row(values: ReadonlyMap<string, string>): string {
    const cells = this.schema.columns.map((c) => values.get(c) ?? '');
    return cells.every((c) => !CSV_SPECIAL.test(c)) ? cells.join(',') + '\n' : this.stringify([cells]);
  }
}

/** Reads the values of one tcpkit record line; throws a ToolError (without location) on anything else. */
function recordValues(b: Buffer, start: number, end: number): Map<string, string> | null {
  let root: JNode;
  try {
    root = parseGoJson(b, start, end);
  } catch (e) {
    if (e instanceof GoJsonError) throw new ToolError('CSVTOOL_BAD_JSON', `invalid JSON: ${e.message}`);
    throw e;
  }
  if (root.type !== J_OBJECT) throw new ToolError('CSVTOOL_NOT_A_RECORD', 'expected a JSON object (a tcpkit record)');
  const values = new Map<string, string>();
  for (const { key, value } of root.entries!) values.set(Buffer.from(unquoteGo(b, key)).toString('utf8'), cellOf(b, value));
  const kind = values.get('record');
  if (kind === undefined || kind === '') {
    if (values.has('tcpkit') && root.entries!.length === 1) return null; // metadata line
    if (detectLineKind(b, start, end) === 'tcpinfo') {
      throw new ToolError('CSVTOOL_MIXED_INPUT', 'a tcp-info archive record in tcpkit NDJSON: mixed input is not supported');
    }
    throw new ToolError('CSVTOOL_NOT_A_RECORD', 'the object has no "record" key (not a tcpkit record)');
  }
  return values;
}

interface SkipCount {
  skipped: number;
  lines: number;
  byCode: Record<string, number>;
  first: ToolError | null;
}

async function recordsToCsv(lines: LineReader, sink: TextSink, name: string, header: boolean, skipBad: boolean, only: string | undefined, headerWithoutRows: () => boolean = () => true): Promise<SkipCount> {
  let renderer: RecordCsvRenderer | null = null;
  let headerDue = header;
  const deps = await loadTcpkitDeps();
  if (only !== undefined && !deps.schemas.has(only)) throw new UsageError('USAGE_BAD_RECORD_KIND', `--records: unknown record kind "${only}" (known: ${[...deps.schemas.keys()].join(', ')})`);
  const count: SkipCount = { skipped: 0, lines: 0, byCode: {}, first: null };
  const schemaOf = (kind: string): CsvSchema => {
    const schema = schemaFor(deps, kind);
    if (schema === undefined) throw new ToolError('CSVTOOL_UNKNOWN_RECORD_KIND', `unknown record kind "${kind}" (known: ${[...deps.schemas.keys()].join(', ')})`);
    return schema;
  };
  // --records KIND: the header is that kind's, whatever else the input holds
  if (only !== undefined) renderer = new RecordCsvRenderer(schemaOf(only), deps.stringify);
  for (;;) {
    while (lines.nextBuffered()) {
      count.lines++;
      try {
        if (lines.tooLong) throw lines.tooLongError();
        const values = recordValues(lines.buf, lines.start, lines.end);
        if (values === null) {
          // an archive's metadata line names its record kind: the header is known before any record
          const kind = archiveRecordKind(lines.buf, lines.start, lines.end);
          if (renderer === null && kind !== null && schemaFor(deps, kind) !== undefined) renderer = new RecordCsvRenderer(schemaOf(kind), deps.stringify);
          continue;
        }
        const kind = values.get('record')!;
        if (only !== undefined && kind !== only) continue;
        if (renderer === null) renderer = new RecordCsvRenderer(schemaOf(kind), deps.stringify);
        else if (kind !== renderer.schema.kind) {
          throw new ToolError('CSVTOOL_MIXED_RECORD_KINDS', `a "${kind}" record after "${renderer.schema.kind}" records: one CSV holds one record kind (choose one with --records ${renderer.schema.kind})`);
        }
        if (headerDue) {
          headerDue = false;
          sink.write(renderer.header());
        }
        if (sink.write(renderer.row(values))) await sink.ready();
        if (sink.closed) return count;
      } catch (e) {
        if (!(e instanceof ToolError)) throw e;
        const err = new ToolError(e.code, e.message, { file: name, line: lines.lineNo, offset: lines.lineOffset });
        if (!skipBad) {
          await sink.flush();
          throw err;
        }
        count.skipped++;
        count.byCode[err.code] = (count.byCode[err.code] ?? 0) + 1;
        count.first ??= err;
      }
    }
    if (!(await lines.fill())) break;
  }
  // records of a known kind but no rows (an archive of nothing): the header alone
  if (headerDue && renderer !== null && headerWithoutRows()) sink.write(renderer.header());
  await sink.flush();
  return count;
}

/** The record kind a tcpkit archive's metadata line names ({"tcpkit":{"record":"conn",...}}), or null. */
function archiveRecordKind(b: Buffer, start: number, end: number): string | null {
  try {
    const v = JSON.parse(b.toString('utf8', start, end)) as { tcpkit?: { record?: unknown } };
    return typeof v.tcpkit?.record === 'string' ? v.tcpkit.record : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// command line
// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const program = makeProgram(
    NAME,
    'Convert m-lab tcp-info archives (JSONL, plain or zstd-compressed) to CSV on stdout, byte-identical to m-lab\'s Go csvtool; ' +
      'also tcpkit NDJSON records (tcpanalyze output) to CSV. The first line decides which kind the input is.',
  )
    .argument('[file]', 'archive or NDJSON file, plain or zstd/gzip (detected by content); none or - reads stdin')
    .option('--skip-bad', 'skip lines that cannot be decoded, count them on stderr and exit 0 (without it: stop at the first bad line, exit 1)', false)
    .option('--max-line <bytes>', 'longest input line held (suffixes k, m, g); a longer line is a bad line, skipped as it streams by without being held in memory', '1m')
    .addOption(new Option('--kind <kind>', 'input kind: auto (decided by the first line), tcpinfo or tcpkit').choices(['auto', 'tcpinfo', 'tcpkit']).default('auto'))
    .option('--no-header', 'leave out the CSV header line (default: header on)')
    .addOption(new Option('-f, --format <format>', "output format: csv, or parquet (typed columns, compressed; tcp-info snapshots in csvtool's columns plus the archive's UUID, metadata lines left out) (default: parquet when -o ends in .parquet)").choices(['csv', 'parquet']))
    .option('-o, --output <file>', 'write to FILE instead of stdout (temporary name, renamed when complete)')
    .option('--records <kind>', 'tcpkit records of several kinds (tcpanalyze --decode): convert those of this kind (conn, http, ...) and skip the others')
    .addHelpText(
      'after',
      `
Examples:
  csvtool ndt-jdczh_1553815964_00000000000003E8.00183.jsonl.zst > snapshots.csv
  zstd -dc archive.jsonl.zst | csvtool > snapshots.csv
  csvtool --skip-bad damaged.jsonl.zst | head
  tcpanalyze capture.pcap | csvtool > conns.csv
Exit status: 0 ok, 1 data error (rows before the bad line are kept), 2 usage error.
Differences from m-lab's Go csvtool: docs/csvtool.md.`,
    );
  program.parse(process.argv);
  const o = program.opts<{ skipBad: boolean; kind: 'auto' | 'tcpinfo' | 'tcpkit'; header: boolean; records?: string; maxLine: string; format?: 'csv' | 'parquet'; output?: string }>();
  const format = o.format ?? (o.output?.endsWith('.parquet') ? 'parquet' : 'csv');
  if (format === 'parquet' && (o.output === undefined || o.output === '-') && process.stdout.isTTY === true) throw new UsageError('USAGE_BINARY_TO_TERMINAL', 'will not write Parquet to a terminal; use -o FILE.parquet or a pipe');
  const file = program.args[0];
  checkTerminalInput(NAME, program.args, 'a tcp-info archive or tcpkit records', 'csvtool archive.jsonl.zst, or tcpanalyze capture.pcap | csvtool');
  const maxLine = byteSize(o.maxLine, '--max-line');
  const fromStdin = file === undefined || file === '-';
  let interrupted = false;
  if (fromStdin) {
    // Ctrl-C (or SIGTERM, SIGHUP) stops reading a pipe: the rows so far are written, exit 0 (a second one exits at once)
    onStopSignals(() => {
      interrupted = true;
      process.stdin.destroy();
    });
  }
  let input;
  try {
    input = await openArchive(file, process.stdin);
  } catch (e) {
    if (interrupted && isPrematureClose(e)) return EXIT_OK; // before stdin sent a byte: a quiet exit
    throw e;
  }
  try {
    // a capture, CSV or a summary is refused at once, with the command that reads it
    const { kind: content, lines } = await refuseWrongInput(input, ['records', 'tcpinfo', 'json', 'text', 'empty'], 'a tcp-info archive or tcpkit records', {
      capture: 'run tcpanalyze on it first (tcpanalyze FILE | csvtool)',
      'records-csv': 'it is already CSV (csvtool converts tcpkit NDJSON records and tcp-info archives to CSV)',
      'tcpinfo-csv': 'it is already CSV (csvtool converts the archive itself: JSONL, plain or zstd)',
      csv: 'csvtool converts tcp-info archives and tcpkit NDJSON records to CSV',
    }, maxLine);
    let kind: LineKind | 'auto' = o.kind;
    if (kind === 'auto') {
      kind = 'tcpinfo';
      if (content !== 'empty' && (await lines.next())) {
        if (detectLineKind(lines.buf, lines.start, lines.end) === 'tcpkit') kind = 'tcpkit';
        lines.unread();
      }
    }
    // -o: loaded only then (most runs write to stdout)
    const out = o.output !== undefined ? await (await import('./_output.js')).openOutput(o.output) : null;
    const sink = out ? new TextSink(out.stream, undefined, out.copiesWrites) : new TextSink(process.stdout, undefined, true);
    if (format === 'parquet') {
      const { toParquet } = await import('./_csvtool-parquet.js');
      const r = await toParquet(lines, sink, input.name, kind, { skipBad: o.skipBad, records: o.records });
      await out?.commit(true);
      if (r.skipped > 0) warn(`${NAME}: ${input.name}: ${r.skipped} of ${r.lines} lines skipped; the first: ${r.first!.describe()}`);
      return EXIT_OK;
    }
    if (kind === 'tcpkit') {
      const c = await recordsToCsv(lines, sink, input.name, o.header, o.skipBad, o.records, () => !interrupted);
      await out?.commit(true);
      if (c.skipped > 0) warn(`${NAME}: ${input.name}: ${describeSkipped({ lines: c.lines, rows: 0, skipped: c.skipped, skippedByCode: c.byCode, firstSkipped: c.first, outputClosed: false })}`);
      return EXIT_OK;
    }
    // on stdin the header of a row-less input waits for a Ctrl-C that ended the pipe with it
    const r = await archiveToCsv(lines, sink, { name: input.name, skipBad: o.skipBad, header: o.header, headerWithoutRows: () => !fromStdin });
    if (r.rows === 0 && o.header && fromStdin && !r.outputClosed) {
      if (!interrupted) await letSignalsArrive();
      if (!interrupted) sink.write(CSV_HEADER);
    }
    await sink.flush();
    await out?.commit(true);
    if (r.skipped > 0) warn(`${NAME}: ${input.name}: ${describeSkipped(r)}`);
    return EXIT_OK;
  } catch (e) {
    if (interrupted && isPrematureClose(e)) return EXIT_OK;
    throw e;
  } finally {
    await input.window.close().catch(() => {});
    // After an error the writer of a pipe may still be running (`tail -f x | csvtool`): stop reading stdin so we exit now.
    if (fromStdin) process.stdin.destroy();
  }
}

runMain(NAME, main);
