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
import { CONN_SCHEMA, SCHEMA_VERSION, TUNNEL_SCHEMA, type RecordRow, type RecordValues } from '../src/records/index.js';
import { AppLayer } from '../src/analysis/app-layer.js';
import { PROTOCOLS, parseDecodeList, parseDecodePorts } from '../src/protocols/registry.js';
import { RecordOutput, chooseKinds, isDirectoryOutput, selectFields, type RecordFormat } from './_records-out.js';
import { UsageError, isToolError, formatWhere, EXIT_DATA, EXIT_OK, type ToolError } from '../src/util/errors.js';
import { checkTerminalInput, isPrematureClose, letSignalsArrive, makeProgram, onStopSignals, terminalWidth, packageVersion, runMain, warn } from './_common.js';
import { byteSize, durationMs, progressLine } from './_args.js';
import { HANDSHAKE_HEADER, countHandshake, emptyCounts, handshakeLine, summaryJson, type FilterCounts } from '../src/output/tcpeek.js';
import { parseFilters, parseLocal } from '../src/filter/index.js';
import { selectorFrom } from './_select.js';
import { formatAddr } from '../src/util/ip.js';
import type { Conn } from '../src/tcp/conn.js';
import { FLAGS_HEADER, flagsLine } from '../src/output/flags.js';
import type { ConnAnalysis } from '../src/analysis/conn-analysis.js';
import { FollowMarks, followConnection } from '../src/analysis/follow.js';
import { transactionLabel } from '../src/output/txn-label.js';
import { kindText, openOutput, outputCompression, outputName, type Compression, type OutputName } from './_output.js';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { createSharedRing } from '../src/io/shared-ring.js';
import { Fifo } from '../src/util/fifo.js';
import { RemoteAnalysis, applyAnalysisRow } from '../src/analysis/remote-analysis.js';
import type { AnalysisWorkerData } from './_analysis-worker.js';
import type { FileReads, InputSpec } from '../src/io/input.js';
import { parseUids, runReport } from './_report.js';

const NAME = 'tcpanalyze';

async function main(): Promise<number> {
  const program = makeProgram(NAME, 'Rebuild every TCP connection (and UDP/ICMP flow) of packet captures and write one record per connection.')
    .argument('[files...]', 'pcap or pcapng captures, plain, gzip or zstd (detected by content); several are merged by timestamp; none or - reads stdin')
    .addOption(new Option('-f, --format <format>', 'output format: ndjson, csv, table, summary (tcpeek handshake totals as JSON), archive (zstd NDJSON with a first metadata line), or parquet (one kind per file; with -o or a pipe) (default: what the -o name says (.csv, .ndjson/.jsonl/.json, .txt for a table, .parquet; .jsonl.zst is an archive), else table on a terminal and ndjson elsewhere; a name that contradicts --format is an error)').choices(['ndjson', 'csv', 'table', 'summary', 'archive', 'parquet']))
    .option('-z, --zstd', 'compress the output with zstd (implied by --format archive and by -o FILE.zst; -o FILE.gz compresses with gzip)', false)
    .option('--handshakes', 'print one tcpeek-style line per handshake (time, timestamp, source, destination, result, dup SYN, dup SYN/ACK) instead of records', false)
    .option('--flags', 'print one line per TCP segment with tshark analysis flags (frame, time, direction, length, classes) instead of records', false)
    .addOption(new Option('--analysis <level>', 'full: tshark analysis flags, RTT, Zeek state and history, handshake verdicts; flows: connection accounting only (packets, bytes, options, Community ID), about 2.5x faster, the analysis fields stay empty').choices(['full', 'flows']).default('full'))
    .option('-F, --filter <expr>', "tcpeek filter for --format summary and --handshakes, repeatable: name:RX|TX@addr[/prefix]:port[:port...][,addr:port...], '%' or '*' as wildcards, no name = exclusion (default: RX:RX@*:* and TX:TX@*:*)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--local <cidrs>', 'comma-separated local networks: TX = connections they originate, RX = connections they accept (default: every originator is local)')
    .option('--where <expr>', "write only the records for which this predicate holds, e.g. 'conn_state=REJ', 'orig_retransmission+resp_retransmission>0' (docs/filters.md)")
    .option('--exclude-file <file>', 'leave out records matching a DataDog-style exclusion list (JSON; docs/filters.md)')
    .option('--syn-timeout <duration>', 'a SYN with no answer for this long (capture time) is a handshake timeout', '30s')
    .option('--decode <protocols>', `decode application transactions: a comma-separated list of ${PROTOCOLS.map((p) => p.name).join(', ')}, or all; found by port, else by their first bytes (docs/l7.md)`)
    .option('--decode-port <proto:ports>', 'more server ports for a decoded protocol, repeatable: http:8080,8000', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--records <kinds>', 'record kinds to write: conn and the transaction kinds of --decode (http, ...), comma-separated, or all (default: all the run produces)')
    .option('--fields <fields>', 'write only these fields, in this order (comma-separated; each kind gets those it has): compact outputs and goldens')
    .option('--sort <fields>', 'write the records sorted by these fields (comma-separated) when the run ends, instead of as connections end (holds every record in memory)')
    .option('--follow <uid>', 'write one connection\'s reassembled byte streams (a conn uid, or a tcp.stream number as tshark counts them), like tshark -z follow,tcp')
    .addOption(new Option('--follow-format <format>', 'with --follow: ascii, hex or raw, as tshark').choices(['ascii', 'hex', 'raw']).default('ascii'))
    .option('--report <file>', 'write a one-page HTML report instead of records: overview, worst connections, distributions, and graphs of the selected connections (docs/graphs.md)')
    .option('--plot <dir>', 'write the selected connections\' graphs as standalone SVG files into DIR: UID-orig|resp-tseq|rtt|tput|inflight.svg')
    .option('--uid <uids>', 'with --report or --plot: the connections to draw (uids or tcp.stream numbers as Wireshark counts them, comma-separated or repeated); one pass, so stdin works as is', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--select <expr>', "with --report or --plot: draw the worst connections for which this --where predicate holds, e.g. 'orig_retransmission+resp_retransmission>0' (default: the worst of all)")
    .option('--top <n>', 'with --report or --plot: how many of the worst connections to draw', '10')
    .option('--max-buffer <bytes>', 'out-of-order bytes held for reassembly (--follow, --decode), all connections together (suffixes k, m, g; default: an eighth of the analysis state --max-memory allows, 38 MB of 512m)')
    .option('-o, --output <file>', 'write to FILE instead of stdout (written to a temporary name, renamed when complete); a directory (DIR/) gets one file per record kind: conn.jsonl.zst, http.jsonl.zst, ...')
    .option('--threads <n>', 'threads for records of the full analysis: 2 runs the analysis on a second thread (same output; more CPU time and about 60 MB more memory, faster only where memory bandwidth is not the limit), 1 keeps everything on one; auto = 2 on machines with 4 or more CPUs', '1')
    .option('--max-memory <bytes>', 'peak memory (RSS) to stay under (suffixes k, m, g; at least 64m): the analysis state (flows, their analysis, reassembly and fragment buffers) gets (this - 80 MB) / 1.4, and when it is used up flows are written early (end_reason evicted): those that closed first, then the least recently active embryonic flows (no payload, no answer yet; a quarter of the state at most), then the least recently active others', '512m')
    .option('--max-flows <n>', 'also hold at most this many flows at once (default: as many as --max-memory allows)')
    .option('--idle-timeout <duration>', 'write a flow after this much capture time without packets', '5m')
    .option('--close-linger <duration>', "after its close (FIN/FIN, a RST, or a FIN the peer never answered), a connection takes packets for this long (capture time: final ACKs, retransmitted FINs); the next packet starts a new connection (Zeek's tcp_close_delay)", '5s')
    .option('--tunnels', "NDJSON: after the conn records, one tunnel record per tunnel the packets came through (Zeek's tunnel.log; docs/encapsulation.md)", false)
    .option('--wide', 'the table with every column at full width, nothing shortened (implies --format table; without it the table fits the terminal, the least important columns left out)', false)
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
  tcpanalyze --decode http,dns,tls capture.pcap -o logs/
  tcpanalyze --decode http --records http --where 'status_code>=500 or latency_ms>50' capture.pcap
  tcpanalyze --decode all capture.pcap --report report.html
  tcpanalyze capture.pcap --plot graphs/ --uid CgOPZkHLHPCJTRoZ6R
Exit status: 0 ok, 1 data error (corrupt or truncated input; complete packets before it are still written), 2 usage error.`,
    );
  program.parse(process.argv);
  const o = program.opts<{
    format?: 'ndjson' | 'csv' | 'table' | 'summary' | 'archive' | 'parquet';
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
    decode?: string;
    decodePort: string[];
    records?: string;
    fields?: string;
    sort?: string;
    maxBuffer?: string;
    maxMemory: string;
    output?: string;
    idleTimeout: string;
    maxFlows?: string;
    threads: string;
    closeLinger: string;
    header: boolean;
    tunnels: boolean;
    report?: string;
    plot?: string;
    uid: string[];
    select?: string;
    top: string;
    wide: boolean;
    strict: boolean;
    quiet: boolean;
    stats: boolean;
  }>();
  checkTerminalInput(NAME, program.args, 'a pcap or pcapng capture', 'tcpanalyze capture.pcap, or tcpdump -w - | tcpanalyze -');
  const files = program.args.length === 0 ? ['-'] : program.args;
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('USAGE_STDIN_TWICE', 'stdin (-) can be given only once');
  const idleTimeoutMs = durationMs(o.idleTimeout, '--idle-timeout');
  const closeLingerMs = durationMs(o.closeLinger, '--close-linger');
  const synTimeoutMs = durationMs(o.synTimeout, '--syn-timeout');
  const view = checkModes(o, (k) => program.getOptionValueSource(k) === 'cli');
  const maxMemory = byteSize(o.maxMemory, '--max-memory');
  if (maxMemory < 64 * 1024 * 1024) throw new UsageError('USAGE_BAD_SIZE', `--max-memory: "${o.maxMemory}" is below the least, 64m`);
  const budget = new MemoryBudget(analysisBudgetFor(maxMemory));
  const maxBuffer = o.maxBuffer !== undefined ? byteSize(o.maxBuffer, '--max-buffer') : budget.share(1 / 8);
  const protocols = o.decode !== undefined ? parseDecodeList(o.decode) : [];
  const decodePorts = parseDecodePorts(o.decodePort);
  for (const name of decodePorts.keys()) {
    if (!protocols.some((p) => p.name === name)) throw new UsageError('USAGE_CONFLICT', `--decode-port ${name}:...: ${name} is not decoded; add it to --decode`);
  }
  if (protocols.length > 0 && (o.handshakes || o.flags || o.format === 'summary')) {
    throw new UsageError('USAGE_CONFLICT', '--decode writes transaction records; it cannot be combined with --handshakes, --flags or --format summary (with --follow it marks where each transaction starts)');
  }
  if (o.records !== undefined && (o.handshakes || o.flags || o.format === 'summary' || o.follow !== undefined)) {
    throw new UsageError('USAGE_CONFLICT', '--records selects record kinds; --handshakes, --flags, --format summary and --follow write no records');
  }
  const threads = o.threads === 'auto' ? (availableParallelism() >= 4 ? 2 : 1) : Number(o.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError('USAGE_BAD_NUMBER', `--threads: "${o.threads}" is not auto or a positive whole number`);
  const maxFlows = o.maxFlows === undefined ? Infinity : Number(o.maxFlows);
  if (o.maxFlows !== undefined && (!Number.isInteger(maxFlows) || maxFlows < 1)) throw new UsageError('USAGE_BAD_NUMBER', `--max-flows: "${o.maxFlows}" is not a positive whole number`);
  const toTerminal = (o.output === undefined || o.output === '-') && process.stdout.isTTY === true;
  const dirOut = isDirectoryOutput(o.output);
  const { format, compression } = outputFormat(o, view, toTerminal, dirOut);
  if (format === 'parquet' && toTerminal) throw new UsageError('USAGE_BINARY_TO_TERMINAL', 'will not write Parquet to a terminal; use -o FILE.parquet or a pipe');
  if (compression !== 'none' && toTerminal) throw new UsageError('USAGE_BINARY_TO_TERMINAL', `will not write ${compression} data to a terminal; use -o FILE or a pipe`);
  if (o.tunnels && view !== 'records') {
    throw new UsageError('USAGE_CONFLICT', '--tunnels adds tunnel records to the records: it cannot be combined with --handshakes, --flags, --format summary or --follow');
  }
  const pictures = o.report !== undefined || o.plot !== undefined;
  if (!pictures && (o.uid.length > 0 || o.select !== undefined)) throw new UsageError('USAGE_CONFLICT', '--uid and --select choose the connections of --report or --plot; give one of them');
  if (pictures) {
    const clash = [o.handshakes && '--handshakes', o.flags && '--flags', o.follow !== undefined && '--follow', o.format !== undefined && '--format', o.output !== undefined && '--output', o.records !== undefined && '--records', o.fields !== undefined && '--fields', o.sort !== undefined && '--sort', o.tunnels && '--tunnels', o.where !== undefined && '--where', o.analysis === 'flows' && '--analysis flows'].filter(Boolean);
    if (clash.length > 0) throw new UsageError('USAGE_CONFLICT', `--report and --plot write files of their own: they cannot be combined with ${clash.join(', ')}`);
    if (o.uid.length > 0 && o.select !== undefined) throw new UsageError('USAGE_CONFLICT', '--uid names the connections to draw; --select cannot be combined with it');
    const top = Number(o.top);
    if (!Number.isInteger(top) || top < 1) throw new UsageError('USAGE_BAD_NUMBER', `--top: "${o.top}" is not a positive whole number`);
    const progress = process.stderr.isTTY === true && !o.quiet ? progressLine(NAME) : null;
    let stopped = false;
    const offSignals = onStopSignals(() => {
      stopped = true;
    });
    if (files.includes('-')) readsStdin = true;
    try {
      return await runReport({
        name: NAME, version: packageVersion(), files, report: o.report, plot: o.plot, uids: parseUids(o.uid), select: o.select, top,
        protocols, decodePorts, maxBuffer, idleTimeoutMs, closeLingerMs, synTimeoutMs, maxFlows, quiet: o.quiet,
        budget: () => new MemoryBudget(analysisBudgetFor(maxMemory)),
        ...(progress ? { onProgress: progress.update } : {}),
        interrupted: () => stopped,
      });
    } finally {
      progress?.clear();
      offSignals();
    }
  }

  // every option is checked before anything is created
  const filterSet = parseFilters(o.filter);
  const local = o.local !== undefined ? parseLocal(o.local) : null;
  // --where and --exclude-file select the records written (-F is tcpeek's, for --handshakes and summary)
  const recordSelector = o.where !== undefined || o.excludeFile !== undefined ? selectorFrom({ filter: [], where: o.where, excludeFile: o.excludeFile }) : null;
  const toDir = view === 'records' && dirOut;
  const kinds = selectFields(chooseKinds([CONN_SCHEMA, ...protocols.flatMap((p) => p.schemas), ...(o.tunnels ? [TUNNEL_SCHEMA] : [])], o.records, (format === 'csv' || format === 'parquet') && !toDir, format === 'parquet' ? 'Parquet' : 'CSV'), o.fields);
  const sort = o.sort !== undefined ? o.sort.split(',').map((f) => f.trim()).filter((f) => f !== '') : undefined;
  for (const f of sort ?? []) if (!kinds.some((k) => k.fields.some((x) => x.name === f))) throw new UsageError('USAGE_BAD_FIELD', `--sort: "${f}" is not a field of the records written`);
  const archiveMeta = (kind: string): string =>
    JSON.stringify({
      tcpkit: {
        tool: NAME,
        version: packageVersion(),
        schema_version: SCHEMA_VERSION,
        record: kind,
        inputs: files.map((f) => (f === '-' ? '<stdin>' : f)),
        options: { analysis: o.analysis, idle_timeout: o.idleTimeout, close_linger: o.closeLinger, syn_timeout: o.synTimeout, ...(protocols.length > 0 ? { decode: protocols.map((p) => p.name).join(',') } : {}) },
      },
    }) + '\n';
  // records go to a RecordOutput (one destination, or one file per kind); the other views write text to `sink`
  const recOut =
    view === 'records'
      ? toDir
        ? await RecordOutput.directory(o.output!, { kinds, format: format as RecordFormat, header: o.header, zstd: false, meta: archiveMeta, ...(sort ? { sort } : {}), keepEmpty: new Set(o.records !== undefined ? kinds.map((k) => k.kind) : ['conn']) })
        : await RecordOutput.single(o.output, { kinds, format: format as RecordFormat, header: o.header, zstd: compression === 'zstd', compression, meta: archiveMeta, fieldsChosen: o.fields !== undefined, table: { width: toTerminal ? terminalWidth() : Infinity, wide: o.wide }, ...(sort ? { sort } : {}) })
      : null;
  const out = recOut === null ? await openOutput(o.output, { compression }) : null;
  const sink = out !== null ? new TextSink(out.stream, undefined, out.copiesWrites) : null;
  const wantsConn = recOut === null || recOut.wants('conn');
  // records of the full analysis: the analysis runs on a second thread, which writes them (not with --decode: transactions are written on this thread as they finish)
  const twoThreads = threads >= 2 && view === 'records' && o.analysis !== 'flows' && protocols.length === 0;
  const writeConn = (r: RecordValues): void => {
    if (wantsConn && (recordSelector === null || recordSelector.accepts(r))) recOut!.write(CONN_SCHEMA, r);
  };
  const followMarks = o.follow !== undefined && protocols.length > 0 ? new FollowMarks() : null;
  const app =
    followMarks !== null
      ? new AppLayer({
          protocols,
          ports: decodePorts,
          maxBuffer,
          onTransaction: (schema, r) => followMarks.add(r['uid'], r['ts'], (n) => transactionLabel(schema.kind, n, r)),
        })
      : protocols.length > 0
      ? new AppLayer({
          protocols,
          ports: decodePorts,
          maxBuffer,
          onTransaction: (schema, r) => {
            if (recOut!.wants(schema.kind) && (recordSelector === null || recordSelector.accepts(r))) recOut!.write(schema, r);
          },
        })
      : null;
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
  if (view === 'handshakes') sink!.write(HANDSHAKE_HEADER);
  if (view === 'flags') sink!.write(FLAGS_HEADER);

  let interrupted = false;
  // Progress on stderr, only when it is a terminal (and not --quiet): bytes read, packets/s, open flows.
  const progress = process.stderr.isTTY === true && !o.quiet ? progressLine(NAME) : null;
  const onStop = (): void => {
    interrupted = true;
    // a pipe whose writer stays open would keep a read pending forever
    if (files.includes('-')) process.stdin.destroy();
  };
  if (view === 'follow' && o.follow !== undefined) {
    const fsink = sink!;
    const offSignals = onStopSignals(onStop);
    const res = await followConnection(files.map((f) => inputSpec(f, 'ahead')), o.follow, o.followFormat, (t) => fsink.write(String(t)), {
      maxBuffer,
      budget,
      idleTimeoutMs,
      closeLingerMs,
      control: { stop: () => interrupted || fsink.closed, wait: () => (fsink.closed ? null : fsink.ready()) },
      ...(app !== null && followMarks !== null ? { app, marks: followMarks } : {}),
    });
    offSignals();
    await fsink.flush();
    if (fsink.error) throw fsink.error;
    await out!.commit(true);
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
    if (res.unmarked > 0) warn(`${NAME}: --follow: the connection's text passed 64 MiB before it ended; ${res.unmarked} transactions after that are not marked (${res.marked} are)`);
    if (o.stats && !o.quiet) {
      for (const [i, st] of res.streams.entries()) warn(`${NAME}: node ${i}: ${JSON.stringify(st)}`);
      warn(`${NAME}: reassembly pool: ${JSON.stringify(res.pool)}`);
    }
    return code;
  }
  const offSignals = onStopSignals(onStop);

  const analysisThread = twoThreads
    ? startAnalysisThread((r) => {
        writeConn(r);
      }, synTimeoutMs)
    : null;
  const tunnelRecords: RecordValues[] = [];
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
        else if (recOut !== null) writeConn(r);
      },
      ...(progress ? { onProgress: progress.update } : {}),
      ...(o.tunnels ? { onTunnelRecord: (r: RecordValues) => tunnelRecords.push(r) } : {}),
      ...(view === 'handshakes' || view === 'summary'
        ? {
            onHandshake: (c) => {
              const hs = (c.aux as ConnAnalysis).hs;
              const names = matching(c);
              if (names.length === 0) return;
              if (view === 'handshakes') sink!.write(handshakeLine(c, hs));
              else for (const n of names) countHandshake(summaries.get(n)!, hs);
            },
          }
        : {}),
      ...(view === 'flags'
        ? {
            segmentFlags: true,
            onSegment: (c, fromA, pv, frame, bits, d) => {
              if (bits !== 0) {
                const sa = (c.aux as ConnAnalysis).seq;
                sink!.write(flagsLine(c, fromA, pv, frame, bits, d.payloadLen, sa.dupAckNum));
              }
            },
          }
        : {}),
      ...(app !== null ? { app } : {}),
      control: {
        stop: () => interrupted || (recOut !== null ? recOut.closed : sink!.closed),
        wait: () => (recOut !== null ? (recOut.closed ? null : recOut.ready()) : sink!.closed ? null : sink!.ready()),
      },
    },
  );
  } catch (e) {
    // Ctrl-C before stdin sent a byte: nothing to write, a quiet normal exit
    const emptyStdin = isToolError(e) && e.code === 'CAPTURE_EMPTY' && e.context.file === '<stdin>';
    if (emptyStdin && !interrupted) await letSignalsArrive();
    if (!(interrupted && (isPrematureClose(e) || emptyStdin))) throw e;
    res = null;
  } finally {
    // the analysis thread writes the last records once it has every event
    if (analysisThread) await analysisThread.finish();
  }
  progress?.clear();
  if (res === null) {
    // Ctrl-C before any data: what was opened is closed, nothing more
    offSignals();
    if (recOut !== null) await recOut.finish(true);
    else {
      await sink!.flush();
      await out!.commit(true);
    }
    return EXIT_OK;
  }
  if (recOut !== null) {
    // tunnel records last: every conn record that names a tunnel comes before it
    for (const r of tunnelRecords) recOut.write(TUNNEL_SCHEMA, r);
    offSignals();
    await recOut.finish(true);
  } else {
    if (view === 'summary') sink!.write(summaryJson([...summaries]) + '\n');
    await sink!.flush();
    offSignals();
    if (sink!.error) throw sink!.error;
    await out!.commit(true);
  }

  let code = EXIT_OK;
  for (const e of res.errors) {
    if (interrupted && isPrematureClose(e)) continue; // stdin closed by the signal
    if (isToolError(e)) warn(`${NAME}: ${(e as ToolError).describe()}`);
    else warn(`${NAME}: ${formatWhere({})}${e.message}`);
    code = EXIT_DATA;
  }
  const evictions = describeEvictions(res.stats, o.maxMemory, o.maxFlows ?? null);
  if (evictions && !o.quiet) warn(`${NAME}: ${evictions}`);
  if (app !== null && !o.quiet) {
    const st = app.stats;
    const gaveUp = [...st.stopped].map(([k, v]) => `${v} ${k}`);
    if (gaveUp.length > 0) warn(`${NAME}: decoders gave up on ${gaveUp.join('; ')}`);
    if (o.stats) {
      const list = (m: Map<string, number>): string => [...m].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
      warn(`${NAME}: decoded flows: ${list(st.claimed)} (confirmed: ${list(st.confirmed)}); transactions: ${list(st.transactions)}; ${st.bytes} bytes decoded, ${st.gapBytes} bytes in gaps`);
      if (st.weird.size > 0) warn(`${NAME}: protocol oddities: ${list(st.weird)}`);
    }
  }
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

type View = 'records' | 'summary' | 'handshakes' | 'flags' | 'follow';
type Format = 'ndjson' | 'csv' | 'table' | 'summary' | 'archive' | 'parquet';

interface ModeOptions {
  format?: Format;
  handshakes: boolean;
  flags: boolean;
  follow?: string;
  filter: string[];
  local?: string;
  where?: string;
  excludeFile?: string;
  analysis: 'full' | 'flows';
  header: boolean;
  wide: boolean;
  output?: string;
  zstd: boolean;
}

/** The one view the options ask for; options that view cannot honour are usage errors. */
function checkModes(o: ModeOptions, given: (option: string) => boolean): View {
  const conflict = (m: string): never => {
    throw new UsageError('USAGE_CONFLICT', m);
  };
  const modes = [o.handshakes ? '--handshakes' : '', o.flags ? '--flags' : '', o.follow !== undefined ? '--follow' : '', o.format === 'summary' ? '--format summary' : ''].filter((m) => m !== '');
  if (modes.length > 1) conflict(`${modes[0]} and ${modes[1]} are different outputs: give one of them`);
  const view: View = o.follow !== undefined ? 'follow' : o.handshakes ? 'handshakes' : o.flags ? 'flags' : o.format === 'summary' ? 'summary' : 'records';
  const mode = modes[0] ?? '';
  if ((view === 'handshakes' || view === 'flags' || view === 'follow') && o.format !== undefined) {
    conflict(`${mode} writes its own text lines; --format ${o.format} applies to connection records`);
  }
  if (o.analysis === 'flows' && (view === 'handshakes' || view === 'flags' || view === 'summary')) {
    conflict(`--analysis flows has no handshake verdicts or segment flags; use --analysis full with ${mode}`);
  }
  if ((view === 'records' || view === 'flags' || view === 'follow') && (o.filter.length > 0 || o.local !== undefined)) {
    conflict(`-F and --local choose the handshakes that --handshakes and --format summary count${view === 'records' ? '; to select records use --where (or tcpfilter, which takes tcpeek filters)' : `, not what ${mode} writes`}`);
  }
  if (view !== 'records' && (o.where !== undefined || o.excludeFile !== undefined)) {
    conflict(`${o.where !== undefined ? '--where' : '--exclude-file'} selects connection records, which ${mode} does not write${view === 'handshakes' || view === 'summary' ? ' (-F and --local select its handshakes)' : ''}`);
  }
  if (!o.header && !(view === 'records' && (o.format === 'csv' || outputName(o.output).kind === 'csv'))) conflict('--no-header applies to CSV output (--format csv)');
  if (given('followFormat') && view !== 'follow') conflict('--follow-format applies to --follow');
  if (o.wide && (view !== 'records' || (o.format !== undefined && o.format !== 'table'))) conflict(`--wide applies to the table, not to ${view === 'records' ? `--format ${o.format}` : mode}`);
  return view;
}

/** Which kinds of output name each format may be written under (null: a name that says nothing). */
const NAME_KINDS: Record<Format | 'lines', readonly (OutputName['kind'])[]> = {
  parquet: ['parquet', null],
  csv: ['csv', 'text', null],
  ndjson: ['ndjson', 'json', 'text', null],
  archive: ['ndjson', null],
  table: ['text', null],
  summary: ['json', 'text', null],
  lines: ['text', null],
};

/**
 * The output format and compression: --format when given, else what the -o
 * name says (.csv, .ndjson/.jsonl/.json, .txt; .gz, .zst; .jsonl.zst is an
 * archive), else a table on a terminal and NDJSON elsewhere. A name that
 * contradicts --format or -z is a usage error.
 */
function outputFormat(o: ModeOptions, view: View, toTerminal: boolean, dirOut: boolean): { format: Format; compression: Compression } {
  if (dirOut && view === 'records') {
    // -o DIR/: one file per record kind, named by the format (checked by RecordOutput.directory)
    const format = o.format ?? 'archive';
    return { format, compression: format === 'archive' ? 'zstd' : 'none' };
  }
  const name = outputName(o.output);
  let compression = outputCompression(o.output, o.zstd);
  let format: Format;
  if (view === 'summary') format = 'summary';
  else if (view !== 'records') format = 'ndjson'; // unused: lines of their own
  else if (o.format !== undefined) format = o.format;
  else if (o.wide) format = 'table';
  else if (name.kind === 'csv') format = 'csv';
  else if (name.kind === 'parquet') format = 'parquet';
  else if (name.kind === 'text') format = 'table';
  else if (o.output !== undefined && o.output !== '-') format = compression === 'zstd' && name.kind !== 'json' ? 'archive' : 'ndjson';
  else format = toTerminal ? 'table' : 'ndjson';
  const allowed = NAME_KINDS[view === 'records' || view === 'summary' ? format : 'lines'];
  if (!allowed.includes(name.kind)) {
    if (name.kind === 'pcap' || name.kind === 'pcapng') {
      throw new UsageError('USAGE_CONFLICT', `the output name ${o.output} says ${kindText(name.kind)}, but tcpanalyze writes connection records (tcpfilter writes the packets of selected connections)`);
    }
    const what = view === 'records' || view === 'summary' ? `--format ${format}` : o.handshakes ? '--handshakes (text lines)' : o.flags ? '--flags (text lines)' : '--follow (the stream text)';
    throw new UsageError('USAGE_CONFLICT', `${what} contradicts the output name ${o.output} (${kindText(name.kind!)}): give one of them, or make them agree`);
  }
  if (format === 'parquet') {
    if (compression !== 'none') throw new UsageError('USAGE_CONFLICT', `Parquet compresses its own pages: name the output ${o.output} without .gz or .zst, and leave out -z`);
  }
  if (format === 'archive') {
    if (compression === 'gzip') throw new UsageError('USAGE_CONFLICT', `--format archive is zstd-compressed, but the output name ${o.output} says gzip: name it .jsonl.zst`);
    if (name.kind !== null && compression === 'none') throw new UsageError('USAGE_CONFLICT', `--format archive is zstd-compressed: name the output ${o.output}.zst`);
    compression = 'zstd';
  }
  return { format, compression };
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
