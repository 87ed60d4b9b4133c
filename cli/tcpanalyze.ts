#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10
/*
 * The V8 flags on the first line keep memory flat in the size of the input:
 * a 4 MB young generation and a 10% old-generation growth step make V8
 * collect finished flows' garbage early instead of growing the heap. Peak RSS
 * on the benchmark capture: 131 MB (1x) and 151 MB (10x) with them, 140 and
 * 300 MB without (same speed).
 */
/**
 * tcpanalyze: rebuild every connection of one or more captures (pcap or
 * pcapng, plain, gzip or zstd; several files are merged by time) and write
 * one record per connection as NDJSON, CSV or a terminal table.
 */
import { Option } from 'commander';
import { analyzeCaptures, describeEvictions, describeSkips } from '../src/analysis/pipeline.js';
import { MemoryBudget } from '../src/util/memory-budget.js';
import { analysisBudgetFor } from '../src/analysis/tracker.js';
import { TextSink } from '../src/io/sink.js';
import { CONN_SCHEMA, type RecordRow, type RecordValues } from '../src/records/index.js';
import { CONN_TABLE_COLUMNS, CsvWriter, NdjsonWriter, TableWriter, type RecordWriter } from '../src/output/writers.js';
import { UsageError, isToolError, formatWhere, EXIT_DATA, EXIT_OK, type ToolError } from '../src/util/errors.js';
import { makeProgram, onStopSignals, packageVersion, runMain, warn } from './_common.js';
import { byteSize, durationMs, progressLine } from './_args.js';
import { HANDSHAKE_HEADER, countHandshake, emptyCounts, handshakeLine, summaryJson, type FilterCounts } from '../src/output/tcpeek.js';
import { parseFilters, parseLocal } from '../src/filter/index.js';
import { selectorFrom } from './_select.js';
import { formatAddr } from '../src/util/ip.js';
import type { Conn } from '../src/tcp/conn.js';
import { FLAGS_HEADER, flagsLine } from '../src/output/flags.js';
import type { ConnAnalysis } from '../src/analysis/conn-analysis.js';
import { followConnection } from '../src/analysis/follow.js';
import { openOutput } from './_output.js';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { createSharedRing } from '../src/io/shared-ring.js';
import { Fifo } from '../src/util/fifo.js';
import { RemoteAnalysis, applyAnalysisRow } from '../src/analysis/remote-analysis.js';
import type { AnalysisWorkerData } from './_analysis-worker.js';
import type { FileReads, InputSpec } from '../src/io/input.js';

const NAME = 'tcpanalyze';

async function main(): Promise<number> {
  const program = makeProgram(NAME, 'Rebuild every TCP connection (and UDP/ICMP flow) of packet captures and write one record per connection.')
    .argument('[files...]', 'pcap or pcapng captures, plain, gzip or zstd (detected by content); several are merged by timestamp; none or - reads stdin')
    .addOption(new Option('-f, --format <format>', 'output format: ndjson, csv, table, summary (tcpeek handshake totals as JSON), or archive (zstd NDJSON with a first metadata line) (default: table on a terminal, else ndjson; archive when -o ends in .zst)').choices(['ndjson', 'csv', 'table', 'summary', 'archive']))
    .option('-z, --zstd', 'compress the output with zstd (implied by --format archive and by -o FILE.zst)', false)
    .option('--handshakes', 'print one tcpeek-style line per handshake (time, timestamp, source, destination, result, dup SYN, dup SYN/ACK) instead of records', false)
    .option('--flags', 'print one line per TCP segment with tshark analysis flags (frame, time, direction, length, classes) instead of records', false)
    .addOption(new Option('--analysis <level>', 'full: tshark analysis flags, RTT, Zeek state and history, handshake verdicts; flows: connection accounting only (packets, bytes, options, Community ID), about 2.5x faster, the analysis fields stay empty').choices(['full', 'flows']).default('full'))
    .option('-F, --filter <expr>', "tcpeek filter for --format summary and --handshakes, repeatable: name:RX|TX@addr[/prefix]:port[:port...][,addr:port...], '%' or '*' as wildcards, no name = exclusion (default: RX:RX@*:* and TX:TX@*:*)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--local <cidrs>', 'comma-separated local networks: TX = connections they originate, RX = connections they accept (default: every originator is local)')
    .option('--where <expr>', "write only the records for which this predicate holds, e.g. 'conn_state=REJ', 'orig_retransmission+resp_retransmission>0' (docs/filters.md)")
    .option('--exclude-file <file>', 'leave out records matching a DataDog-style exclusion list (JSON; docs/filters.md)')
    .option('--syn-timeout <duration>', 'a SYN with no answer for this long (capture time) is a handshake timeout', '30s')
    .option('--follow <uid>', 'write one connection\'s reassembled byte streams (a conn uid, or a tcp.stream number as tshark counts them), like tshark -z follow,tcp')
    .addOption(new Option('--follow-format <format>', 'with --follow: ascii, hex or raw, as tshark').choices(['ascii', 'hex', 'raw']).default('ascii'))
    .option('--max-buffer <bytes>', 'with --follow: out-of-order bytes held for reassembly, both directions together (suffixes k, m, g; default: an eighth of the analysis state --max-memory allows, 38 MB of 512m)')
    .option('-o, --output <file>', 'write to FILE instead of stdout (written to a temporary name, renamed when complete)')
    .option('--threads <n>', 'threads for records of the full analysis: 2 runs the analysis on a second thread (same output; more CPU time and about 60 MB more memory, faster only where memory bandwidth is not the limit), 1 keeps everything on one; auto = 2 on machines with 4 or more CPUs', '1')
    .option('--max-memory <bytes>', 'peak memory (RSS) to stay under (suffixes k, m, g; at least 64m): the analysis state (flows, their analysis, reassembly and fragment buffers) gets (this - 80 MB) / 1.4, and when it is used up flows are written early (end_reason evicted): those that closed first, then the least recently active embryonic flows (no payload, no answer yet; a quarter of the state at most), then the least recently active others', '512m')
    .option('--max-flows <n>', 'also hold at most this many flows at once (default: as many as --max-memory allows)')
    .option('--idle-timeout <duration>', 'write a flow after this much capture time without packets', '5m')
    .option('--close-linger <duration>', 'after FIN/FIN or RST, keep a connection this long (capture time) to count stragglers (final ACKs, retransmitted FINs)', '1s')
    .option('--no-header', 'CSV: leave out the header line')
    .option('--strict', 'treat any packet that could not be analysed as a data error (exit 1)', false)
    .option('-q, --quiet', 'no warnings or statistics on stderr', false)
    .option('--stats', 'print capture statistics to stderr at the end', false)
    .addHelpText(
      'after',
      `
Examples:
  tcpanalyze capture.pcapng > conns.ndjson
  tcpanalyze --format csv day1.pcap.zst day2.pcap.zst > conns.csv
  tcpdump -i eth0 -w - | tcpanalyze -
  tcpanalyze --handshakes capture.pcap
  tcpanalyze --format summary --local 10.0.0.0/8 -F 'web:TX@%:80:443' -F ':RX@%:22' capture.pcap
  tcpanalyze capture.pcap -o conns.jsonl.zst && csvtool conns.jsonl.zst > conns.csv
  tcpanalyze --follow CgOPZkHLHPCJTRoZ6R --follow-format hex capture.pcap
Exit status: 0 ok, 1 data error (corrupt or truncated input; complete packets before it are still written), 2 usage error.`,
    );
  program.parse(process.argv);
  const o = program.opts<{
    format?: 'ndjson' | 'csv' | 'table' | 'summary' | 'archive';
    zstd: boolean;
    handshakes: boolean;
    flags: boolean;
    synTimeout: string;
    filter: string[];
    local?: string;
    where?: string;
    excludeFile?: string;
    analysis: 'full' | 'flows';
    follow?: string;
    followFormat: 'ascii' | 'hex' | 'raw';
    maxBuffer?: string;
    maxMemory: string;
    output?: string;
    idleTimeout: string;
    maxFlows?: string;
    threads: string;
    closeLinger: string;
    header: boolean;
    strict: boolean;
    quiet: boolean;
    stats: boolean;
  }>();
  const files = program.args.length === 0 ? ['-'] : program.args;
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('USAGE_STDIN_TWICE', 'stdin (-) can be given only once');
  const idleTimeoutMs = durationMs(o.idleTimeout, '--idle-timeout');
  const closeLingerMs = durationMs(o.closeLinger, '--close-linger');
  const synTimeoutMs = durationMs(o.synTimeout, '--syn-timeout');
  if (o.handshakes && o.flags) throw new UsageError('USAGE_CONFLICT', '--handshakes and --flags cannot be combined');
  if (o.analysis === 'flows' && (o.handshakes || o.flags || o.format === 'summary')) {
    throw new UsageError('USAGE_CONFLICT', '--analysis flows has no handshake verdicts or segment flags; use --analysis full with --handshakes, --flags or --format summary');
  }
  const maxMemory = byteSize(o.maxMemory, '--max-memory');
  if (maxMemory < 64 * 1024 * 1024) throw new UsageError('USAGE_BAD_SIZE', `--max-memory: "${o.maxMemory}" is below the least, 64m`);
  const budget = new MemoryBudget(analysisBudgetFor(maxMemory));
  const maxBuffer = o.maxBuffer !== undefined ? byteSize(o.maxBuffer, '--max-buffer') : budget.share(1 / 8);
  const threads = o.threads === 'auto' ? (availableParallelism() >= 4 ? 2 : 1) : Number(o.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError('USAGE_BAD_NUMBER', `--threads: "${o.threads}" is not auto or a positive whole number`);
  const maxFlows = o.maxFlows === undefined ? Infinity : Number(o.maxFlows);
  if (o.maxFlows !== undefined && (!Number.isInteger(maxFlows) || maxFlows < 1)) throw new UsageError('USAGE_BAD_NUMBER', `--max-flows: "${o.maxFlows}" is not a positive whole number`);
  const toTerminal = !o.output && process.stdout.isTTY === true;
  const format = o.format ?? (o.output?.endsWith('.zst') ? 'archive' : toTerminal ? 'table' : 'ndjson');
  const zstd = o.zstd || format === 'archive' || (o.output?.endsWith('.zst') ?? false);
  if (zstd && !o.output && process.stdout.isTTY === true) throw new UsageError('USAGE_BINARY_TO_TERMINAL', 'will not write zstd data to a terminal; use -o FILE or a pipe');

  // every option is checked before anything is created
  const filterSet = parseFilters(o.filter);
  const local = o.local !== undefined ? parseLocal(o.local) : null;
  // --where and --exclude-file select the records written (-F is tcpeek's, for --handshakes and summary)
  const recordSelector = o.where !== undefined || o.excludeFile !== undefined ? selectorFrom({ filter: [], where: o.where, excludeFile: o.excludeFile }) : null;
  const out = await openOutput(o.output, { zstd });
  const sink = new TextSink(out.stream, undefined, out.copiesWrites);
  const view = o.handshakes ? 'handshakes' : o.flags ? 'flags' : format === 'summary' ? 'summary' : 'records';
  // records of the full analysis: the analysis runs on a second thread, which writes them
  const twoThreads = threads >= 2 && view === 'records' && o.analysis !== 'flows' && o.follow === undefined;
  const writer: RecordWriter | null =
    view !== 'records' ? null : format === 'csv' ? new CsvWriter(sink, CONN_SCHEMA, o.header) : format === 'table' ? new TableWriter(sink, CONN_TABLE_COLUMNS) : new NdjsonWriter(sink, CONN_SCHEMA);
  const summaries = new Map<string, FilterCounts>(filterSet.filters.map((f) => [f.name, emptyCounts()]));
  /** The names of the filters a handshake's connection matches (tcpeek: it counts in each). */
  const matching = (c: Conn): string[] => {
    const oA = c.origIsA;
    return filterSet.match(
      {
        proto: 'tcp',
        orig_h: oA ? formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3) : formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3),
        orig_p: oA ? c.aPort : c.bPort,
        resp_h: oA ? formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3) : formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3),
        resp_p: oA ? c.bPort : c.aPort,
      },
      local,
    );
  };
  if (format === 'archive' && view === 'records' && o.follow === undefined) {
    // tcpkit archives open with one metadata line that readers skip or use
    sink.write(
      JSON.stringify({
        tcpkit: {
          tool: NAME,
          version: packageVersion(),
          record: CONN_SCHEMA.kind,
          inputs: files.map((f) => (f === '-' ? '<stdin>' : f)),
          options: { analysis: o.analysis, idle_timeout: o.idleTimeout, close_linger: o.closeLinger, syn_timeout: o.synTimeout },
        },
      }) + '\n',
    );
  }
  if (view === 'handshakes') sink.write(HANDSHAKE_HEADER);
  if (view === 'flags') sink.write(FLAGS_HEADER);

  let interrupted = false;
  // Progress on stderr, only when it is a terminal (and not --quiet): bytes read, packets/s, open flows.
  const progress = process.stderr.isTTY === true && !o.quiet ? progressLine(NAME) : null;
  const onStop = (): void => {
    interrupted = true;
    // a pipe whose writer stays open would keep a read pending forever
    if (files.includes('-')) process.stdin.destroy();
  };
  if (o.follow !== undefined) {
    const offSignals = onStopSignals(onStop);
    const res = await followConnection(files.map((f) => inputSpec(f, 'ahead')), o.follow, o.followFormat, (t) => sink.write(String(t)), {
      maxBuffer,
      budget,
      idleTimeoutMs,
      closeLingerMs,
      control: { stop: () => interrupted || sink.closed, wait: () => (sink.closed ? null : sink.ready()) },
    });
    offSignals();
    await sink.flush();
    if (sink.error) throw sink.error;
    await out.commit(true);
    let code = EXIT_OK;
    for (const e of res.analysis.errors) {
      if (interrupted && (e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') continue; // stdin closed by the signal
      warn(`${NAME}: ${isToolError(e) ? (e as ToolError).describe() : e.message}`);
      code = EXIT_DATA;
    }
    if (!res.found) {
      warn(`${NAME}: --follow ${o.follow}: no TCP connection with that uid or stream number in the input [FOLLOW_NOT_FOUND]`);
      return EXIT_DATA;
    }
    if (o.stats && !o.quiet) {
      for (const [i, st] of res.streams.entries()) warn(`${NAME}: node ${i}: ${JSON.stringify(st)}`);
      warn(`${NAME}: reassembly pool: ${JSON.stringify(res.pool)}`);
    }
    return code;
  }
  const offSignals = onStopSignals(onStop);

  const analysisThread = twoThreads
    ? startAnalysisThread((r) => {
        if (recordSelector === null || recordSelector.accepts(r)) writer!.write(r);
      }, synTimeoutMs)
    : null;
  let res;
  try {
    res = await analyzeCaptures(
    // connection accounting alone parses faster than reads ahead pay for (FileReads)
    files.map((f) => inputSpec(f, o.analysis === 'flows' ? 'on-demand' : 'ahead')),
    {
      idleTimeoutMs,
      closeLingerMs,
      synTimeoutMs,
      analysis: o.analysis,
      maxFlows,
      budget,
      strict: o.strict,
      ...(analysisThread ? { analyzer: analysisThread.analysis } : {}),
      onRecord: (r) => {
        if (analysisThread) analysisThread.pending(r);
        else if (writer !== null && (recordSelector === null || recordSelector.accepts(r))) writer.write(r);
      },
      ...(progress ? { onProgress: progress.update } : {}),
      ...(view === 'handshakes' || view === 'summary'
        ? {
            onHandshake: (c) => {
              const hs = (c.aux as ConnAnalysis).hs;
              const names = matching(c);
              if (names.length === 0) return;
              if (view === 'handshakes') sink.write(handshakeLine(c, hs));
              else for (const n of names) countHandshake(summaries.get(n)!, hs);
            },
          }
        : {}),
      ...(view === 'flags'
        ? {
            segmentFlags: true,
            onSegment: (c, fromA, pv, frame, bits) => {
              if (bits !== 0) {
                const sa = (c.aux as ConnAnalysis).seq;
                sink.write(flagsLine(c, fromA, pv, frame, bits, 0, sa.dupAckNum));
              }
            },
          }
        : {}),
      control: { stop: () => interrupted || sink.closed, wait: () => (sink.closed ? null : sink.ready()) },
    },
  );
  } finally {
    // the analysis thread writes the last records once it has every event
    if (analysisThread) await analysisThread.finish();
  }
  progress?.clear();
  writer?.end();
  if (view === 'summary') sink.write(summaryJson([...summaries]) + '\n');
  await sink.flush();
  offSignals();
  if (sink.error) throw sink.error;
  await out.commit(res.errors.length === 0 || true);

  let code = EXIT_OK;
  for (const e of res.errors) {
    if (interrupted && (e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') continue; // stdin closed by the signal
    if (isToolError(e)) warn(`${NAME}: ${(e as ToolError).describe()}`);
    else warn(`${NAME}: ${formatWhere({})}${e.message}`);
    code = EXIT_DATA;
  }
  const evictions = describeEvictions(res.stats, o.maxMemory, o.maxFlows ?? null);
  if (evictions && !o.quiet) warn(`${NAME}: ${evictions}`);
  const skips = describeSkips(res);
  if (skips && !o.quiet) warn(`${NAME}: not analysed: ${skips}`);
  if (skips && o.strict) code = EXIT_DATA;
  if (o.stats && !o.quiet) {
    const s = res.stats;
    warn(
      `${NAME}: ${s.packets} packets in ${res.inputs.map((i) => `${i.name} (${i.format}${i.compression === 'none' ? '' : ', ' + i.compression})`).join(', ')}; ` +
        `${s.flows} flows (peak ${s.peakOpenFlows} open); ${s.truncatedPackets} truncated by snaplen; ${s.icmpErrorsLinked} ICMP errors linked to flows`,
    );
    const mb = (x: number): string => (x / 2 ** 20).toFixed(1);
    warn(
      `${NAME}: analysis state peak ${mb(budget.peak)} of ${mb(budget.limit)} MiB (--max-memory ${o.maxMemory}): ` +
        budget.accounts.map((a) => `${a.name} ${mb(a.peak)}`).join(', ') +
        `; ${s.embryonicEnded} flows ended embryonic (no payload, no answer)`,
    );
  }
  return code;
}

interface AnalysisThread {
  analysis: RemoteAnalysis;
  /** A record whose flow just ended, without its analysis fields (they come from the thread, in the same order). */
  pending(r: RecordValues): void;
  /** Ends the event stream and waits until every pending record was completed and handed on. */
  finish(): Promise<void>;
}

/**
 * Starts the analysis thread (cli/_analysis-worker.ts). Records built here
 * wait in a queue until their analysis fields come back; then they go to
 * `onRecord`, in the order the flows ended.
 */
function startAnalysisThread(onRecord: (r: RecordValues) => void, synTimeoutMs: number): AnalysisThread {
  const ring = createSharedRing(1 << 21);
  const analysis = new RemoteAnalysis(ring);
  // loaded here, not at start-up: one thread is the default
  const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  const worker = new Worker(new URL('./_analysis-worker.js', import.meta.url), { workerData: { ring, synTimeoutMs } satisfies AnalysisWorkerData });
  const queue = new Fifo<RecordValues>();
  let completed = 0;
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: RecordRow[] | { done: true }) => {
      if (!Array.isArray(m)) {
        if (queue.length === 0) resolve();
        else reject(new Error(`the analysis thread completed ${completed} of ${completed + queue.length} records`));
        return;
      }
      for (const row of m) {
        const r = queue.shift();
        if (r === undefined) {
          reject(new Error('the analysis thread sent more records than flows ended'));
          return;
        }
        completed++;
        applyAnalysisRow(r, row);
        onRecord(r);
      }
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the analysis thread stopped (exit code ${code}) before completing every record`)));
  });
  return {
    analysis,
    pending(r) {
      queue.push(r);
    },
    async finish() {
      analysis.close();
      await done;
    },
  };
}

/** Whether an input is stdin (process.stdin is created only then: making it loads modules a file run does not need). */
let readsStdin = false;

function inputSpec(f: string, fileReads: FileReads): InputSpec {
  if (f !== '-') return { path: f, fileReads };
  readsStdin = true;
  return { path: f, stream: process.stdin };
}

runMain(NAME, async () => {
  try {
    return await main();
  } finally {
    // Do not wait for a writer that keeps stdin open after we stopped reading.
    if (readsStdin) process.stdin.destroy();
  }
});
