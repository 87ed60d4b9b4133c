#!/usr/bin/env node
/**
 * tcpsummary: tcpkit records in, one JSON summary out: per tcpeek filter,
 * tcpeek's handshake counts plus totals of connections, packets, bytes,
 * retransmissions, conn_state, RTT percentiles and top talkers; group-by
 * tables with --by; differences from an earlier summary with --since, as
 * tcpeekstat's REFRESH. See src/output/summary.ts for every figure's meaning.
 */
import { Option } from 'commander';
import { readFileSync } from 'node:fs';
import { openInput } from '../src/io/input.js';
import type { LineReader } from '../src/io/lines.js';
import { rawNumberField, readRecordLines } from '../src/records/ndjson-reader.js';
import { BY_ALIASES, ExactNumber, SummaryBuilder, stringifySummary, summaryDelta } from '../src/output/summary.js';
import { summaryTable } from '../src/output/summary-table.js';
import { ALL_FIELDS, CONN_SCHEMA } from '../src/records/index.js';
import { invalidField } from '../src/records/validate.js';
import { refuseWrongInput } from './_input-kind.js';
import { EXIT_DATA, EXIT_OK, ToolError, UsageError } from '../src/util/errors.js';
import { checkTerminalInput, isPrematureClose, letSignalsArrive, makeProgram, onStopSignals, terminalWidth, packageVersion, runMain, warn } from './_common.js';
import { byteSize, progressLine } from './_args.js';
import { addSelectOptions, selectorFrom, splitFilterArgs, type SelectOptionValues } from './_select.js';

const NAME = 'tcpsummary';

interface Opts extends SelectOptionValues {
  format?: 'json' | 'table';
  by?: string;
  top: string;
  wide: boolean;
  since?: string;
  quiet: boolean;
  maxLine: string;
}

/** An earlier summary: its parsed JSON, and its `to` as written (every digit of the time). */
function readPrevious(path: string): { summary: unknown; to: string | null } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError('SINCE_UNREADABLE', `--since: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || !('filters' in v)) throw new Error('no "filters" key (not a tcpsummary JSON summary)');
    const to = /"to":\s*(\d+(?:\.\d+)?)/.exec(text);
    return { summary: v, to: to ? to[1]! : null };
  } catch (e) {
    throw new UsageError('SINCE_NOT_A_SUMMARY', `--since: ${(e as Error).message}`, { file: path });
  }
}

async function main(): Promise<number> {
  const program = addSelectOptions(
    makeProgram(NAME, 'Summarise tcpkit connection records (tcpanalyze or tcpfilter output, NDJSON plain or zstd) as JSON: per tcpeek filter, handshake success and failure counts, connections, packets, bytes, retransmissions, conn_state, RTT percentiles and top talkers.').argument(
      '[args...]',
      "tcpeek filters ('web:TX@%:80:443') and the records' file (none or - reads stdin; several files are summarised together)",
    ),
  )
    .addOption(new Option('-f, --format <format>', 'json, or table for a terminal (default: table on a terminal, else json)').choices(['json', 'table']))
    .option('--by <fields>', `also group by record fields, comma-separated (${Object.keys(BY_ALIASES).join(', ')} or any record field: conn_state, resp_p, service; for transactions host,method, route, query, server_name, ...)`)
    .option('--top <n>', 'with --by: list the N groups with the most connections and sum the others into one "rest" (0: list every group)', '20')
    .option('--wide', 'table: every column at full width, nothing left out or shortened (default: the table fits the terminal)', false)
    .option('--since <summary.json>', 'print the difference from an earlier summary (counters only, as tcpeekstat REFRESH; RTT percentiles and top talkers are left out)')
    .option('--max-line <bytes>', 'longest input line held (suffixes k, m, g); a longer line is a bad line, skipped as it streams by without being held in memory', '1m')
    .option('-q, --quiet', 'no warnings on stderr', false)
    .addHelpText(
      'after',
      `
Examples:
  tcpanalyze capture.pcap | tcpsummary
  tcpanalyze day1.pcapng.zst | tcpfilter 'slow:TX@10.0.0.0/8:443' | tcpsummary
  tcpsummary --local 10.0.0.0/8 'web:TX@%:80:443' ':RX@%:22' conns.jsonl.zst
  tcpsummary --by dst_port --format table conns.jsonl.zst
  tcpsummary conns-today.jsonl.zst --since yesterday.json
  tcpanalyze --decode http capture.pcap | tcpsummary --by host,route --format table
Without filters every record counts in "all". Exit status: 0 ok, 1 data error (unreadable lines are skipped and counted), 2 usage error.`,
    );
  program.parse(process.argv);
  const o = program.opts<Opts>();
  const { filters, files } = splitFilterArgs(program.args);
  checkTerminalInput(NAME, files, 'tcpkit records', 'tcpsummary conns.jsonl.zst, or tcpanalyze capture.pcap | tcpsummary');
  const selector = selectorFrom(o, filters);
  let by: string | undefined;
  if (o.by !== undefined) {
    const fields = o.by.split(',').map((f) => f.trim()).filter((f) => f !== '');
    if (fields.length === 0) throw new UsageError('USAGE_BAD_FIELD', '--by: no field named');
    by = fields
      .map((f) => {
        const name = BY_ALIASES[f] ?? f;
        if (!ALL_FIELDS.some((x) => x.name === name)) throw new UsageError('USAGE_BAD_FIELD', `--by: unknown field "${f}" (a field of conn or transaction records, or ${Object.keys(BY_ALIASES).join(', ')})`);
        return name;
      })
      .join(',');
  }
  const previous = o.since !== undefined ? readPrevious(o.since) : undefined;
  const previousSummary = previous?.summary;
  const maxLine = byteSize(o.maxLine, '--max-line');
  if (!o.quiet) for (const w of selector.warnings()) warn(`${NAME}: warning: ${w}`);
  const format = o.format ?? (process.stdout.isTTY === true || o.wide ? 'table' : 'json');

  let interrupted = false;
  const offSignals = onStopSignals(() => {
    interrupted = true;
    // a pipe whose writer stays open would keep a read pending forever
    process.stdin.destroy();
  });

  const top = Number(o.top);
  if (!Number.isInteger(top) || top < 0) throw new UsageError('USAGE_BAD_NUMBER', `--top: "${o.top}" is not a whole number (0 lists every group)`);
  if (program.getOptionValueSource('top') === 'cli' && by === undefined) throw new UsageError('USAGE_CONFLICT', '--top applies to the groups of --by');
  if (o.wide && o.format === 'json') throw new UsageError('USAGE_CONFLICT', '--wide applies to the table, not to --format json');
  const summary = new SummaryBuilder({ filterNames: selector.filterNames, top, ...(by !== undefined ? { by } : {}) });
  let bad = 0;
  let code = EXIT_OK;
  let dataError: unknown = null;
  const inputs = files.length === 0 ? ['-'] : files;
  const progress = process.stderr.isTTY === true && !o.quiet ? progressLine(NAME, 'records') : null;
  let bytesBefore = 0;
  for (const file of inputs) {
    if (interrupted) break;
    let input;
    try {
      input = await openInput({ path: file, stream: process.stdin, windowSize: 1 << 20 });
    } catch (e) {
      if (interrupted && isPrematureClose(e)) break; // Ctrl-C before stdin sent a byte
      throw e;
    }
    let lines: LineReader;
    try {
      ({ lines } = await refuseWrongInput(input, ['records', 'json', 'text', 'empty'], 'tcpkit records (NDJSON)', {
        capture: 'run tcpanalyze on it first (tcpanalyze FILE | tcpsummary)',
        tcpinfo: 'csvtool converts it to CSV, tcpfilter selects its sockets',
        summary: 'tcpsummary takes it as the earlier summary of --since (tcpsummary NEW-RECORDS --since FILE)',
      }, maxLine));
      const res = await readRecordLines(lines, input.name, {
        record: (r, buf, start, end) => {
          // forged or damaged values (2^64 packets, an RTT of 1e308) reject the record, as a bad line
          const why = r['record'] === 'conn' ? invalidField(CONN_SCHEMA, r) : null;
          if (why !== null) {
            bad++;
            code = EXIT_DATA;
            if (bad <= 3 && !o.quiet) warn(`${NAME}: skipped: ${new ToolError('RECORD_BAD_VALUE', why, { file: input.name, line: lines.lineNo, offset: lines.lineOffset }).describe()}`);
            return false;
          }
          // the exact times from the line: JSON.parse made doubles of them
          summary.add(r, selector.names(r), rawNumberField(buf, start, end, 'ts'), rawNumberField(buf, start, end, 'last_ts'));
          if (progress !== null && (summary.records & 0xffff) === 0) progress.update({ packets: summary.records, bytes: bytesBefore + input.window.offset, openFlows: -1 });
          return false;
        },
        bad: (e: ToolError) => {
          bad++;
          if (bad <= 3 && !o.quiet) warn(`${NAME}: skipped: ${e.describe()}`);
        },
        stop: () => interrupted,
      });
      if (res.bad > 0) code = EXIT_DATA;
    } catch (e) {
      if (interrupted) break; // the read cut short by the signal
      // a damaged input (truncated zstd, unreadable file): summarise what came before it
      if (e instanceof UsageError) throw e;
      dataError = e;
      break;
    } finally {
      bytesBefore += input.window.offset;
      await input.window.close().catch(() => {});
      if (file === '-') process.stdin.destroy();
    }
  }
  progress?.clear();
  // interrupted before any record arrived: a quiet exit, no empty summary
  const nothing = summary.records === 0 && bad === 0 && dataError === null;
  if (nothing && inputs.includes('-') && !interrupted) await letSignalsArrive();
  if (interrupted && nothing) return EXIT_OK;
  summary.skipped = bad;
  const json = summary.json({ tool: NAME, version: packageVersion(), inputs: inputs.map((f) => (f === '-' ? '<stdin>' : f)), ...(interrupted ? { interrupted: true } : {}) });
  let result: unknown = json;
  if (previous !== undefined) {
    result = summaryDelta(json, previousSummary);
    const prevTo = previous.to;
    (result as { summary: Record<string, unknown> }).summary['since'] = prevTo !== null ? new ExactNumber(prevTo) : null;
  }
  const width = process.stdout.isTTY === true ? terminalWidth() : Infinity;
  process.stdout.write(format === 'table' ? summaryTable(result, { width, wide: o.wide }) : stringifySummary(result) + '\n');
  offSignals();
  if (bad > 0 && !o.quiet) warn(`${NAME}: ${bad} unreadable lines skipped (not counted in the summary)`);
  if (dataError !== null) throw dataError;
  return code;
}

runMain(NAME, main);
