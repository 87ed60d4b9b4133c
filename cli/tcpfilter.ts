#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10
/**
 * tcpfilter: select connections with tcpeek filters, --where predicates and
 * exclusion lists, from any input tcpkit reads, and write them in the
 * input's kind:
 *   - tcpkit records (NDJSON, plain or zstd; tcpanalyze output or archives):
 *     the selected lines, byte for byte;
 *   - m-lab tcp-info archives: the snapshots of the selected sockets;
 *   - pcap or pcapng captures: every packet of the selected connections.
 * The kind is decided from the content, never from the file name.
 */
import { Option } from 'commander';
import { mkdtemp, open as openFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openInput, type OpenedInput } from '../src/io/input.js';
import { LineReader } from '../src/io/lines.js';
import { TextSink } from '../src/io/sink.js';
import { detectLineKind } from '../src/tcpinfo/detect.js';
import { KNOWN_KINDS, decompressedNote, sniffContent, wrongKindMessage } from '../src/io/sniff.js';
import { isCaptureMagic } from '../src/capture/open.js';
import { filterRecordLines, filterTcpInfoLines, type LineFilterResult } from '../src/output/line-filter.js';
import { filterCapture } from '../src/analysis/capture-filter.js';
import { describeSkips } from '../src/analysis/pipeline.js';
import { EXIT_DATA, EXIT_OK, ToolError, UsageError, isToolError } from '../src/util/errors.js';
import { checkTerminalInput, isPrematureClose, makeProgram, onStopSignals, runMain, warn } from './_common.js';
import { byteSize, durationMs, progressLine } from './_args.js';
import { MemoryBudget } from '../src/util/memory-budget.js';
import { analysisBudgetFor } from '../src/analysis/tracker.js';
import { kindText, openOutput, outputCompression, outputName, type Compression } from './_output.js';
import { ParquetLineTarget } from '../src/output/parquet-rows.js';
import { ArchivalRecordView } from '../src/tcpinfo/archival-record.js';
import { Snapshot } from '../src/tcpinfo/snapshot.js';
import { decodeArchiveLine } from '../src/tcpinfo/convert.js';
import { addSelectOptions, selectorFrom, splitFilterArgs, type SelectOptionValues } from './_select.js';

const NAME = 'tcpfilter';

interface Opts extends SelectOptionValues {
  output?: string;
  write?: string;
  zstd: boolean;
  format?: 'input' | 'parquet';
  invert: boolean;
  kind: 'auto' | 'records' | 'tcpinfo' | 'capture';
  idleTimeout: string;
  closeLinger: string;
  synTimeout: string;
  maxFlows?: string;
  maxMemory: string;
  maxLine: string;
  quiet: boolean;
  stats: boolean;
}

type Kind = 'records' | 'tcpinfo' | 'capture';

/** The input's kind (from its first bytes, or its first line, which `lines` hands out again). */
async function detectKind(input: OpenedInput, lines: LineReader): Promise<Kind> {
  const w = input.window;
  if (w.available === 0) return 'records'; // an empty input is an empty set of records
  if (w.available >= 4 && isCaptureMagic(w.buf.readUInt32BE(w.pos))) return 'capture';
  const head = [...w.buf.subarray(w.pos, w.pos + Math.min(8, w.available))].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  if (await lines.next()) {
    const k = detectLineKind(lines.buf, lines.start, lines.end);
    const content = sniffContent(lines.buf.subarray(lines.start, w.end));
    lines.unread();
    if (k === 'tcpinfo') return 'tcpinfo';
    if (k === 'tcpkit') return 'records';
    if (KNOWN_KINDS.has(content)) throw new UsageError('INPUT_WRONG_KIND', wrongKindMessage(content, 'a capture, tcpkit records or a tcp-info archive', input.compression), { file: input.name });
  }
  throw new ToolError('TCPFILTER_UNKNOWN_INPUT', `not a capture (pcap, pcapng), tcpkit records or a tcp-info archive (first bytes ${head}${decompressedNote(input.compression)})`, { file: input.name, offset: 0 });
}

/**
 * tcpfilter writes what it reads: an output name that says otherwise (a .csv
 * for records, a .jsonl for a capture) is a usage error.
 */
function checkOutputName(path: string | undefined, kind: Kind): void {
  const n = outputName(path);
  if (n.kind === null || n.kind === 'text') return;
  const fits = kind === 'capture' ? n.kind === 'pcap' || n.kind === 'pcapng' : n.kind === 'ndjson' || n.kind === 'json';
  if (fits) return;
  const what = kind === 'capture' ? 'a capture, so it writes packets (.pcap or .pcapng)' : kind === 'tcpinfo' ? 'a tcp-info archive, so it writes its snapshots as JSONL (.jsonl or .jsonl.zst)' : 'tcpkit records, so it writes NDJSON (.ndjson, .jsonl or .jsonl.zst)';
  const hint = n.kind === 'csv' ? '; for CSV, pipe the output into csvtool' : kind !== 'capture' && (n.kind === 'pcap' || n.kind === 'pcapng') ? '; to get the packets, run tcpfilter on the capture itself' : '';
  throw new UsageError('USAGE_CONFLICT', `the output name ${path} says ${kindText(n.kind)}, but the input is ${what}${hint}`);
}

/** Copies the rest of a (decompressed) input into a temporary file, for the capture's second pass. */
async function spool(input: OpenedInput): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tcpfilter-'));
  const path = join(dir, 'capture');
  const fh = await openFile(path, 'w');
  try {
    const w = input.window;
    for (;;) {
      if (w.available > 0) {
        await fh.write(w.buf, w.pos, w.available);
        w.pos = w.end;
      }
      if (!(await w.fill(1))) break;
    }
  } finally {
    await fh.close();
  }
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

async function main(): Promise<number> {
  const program = addSelectOptions(
    makeProgram(NAME, 'Select connections with tcpeek filters, --where predicates and exclusion lists, and write them in the input\'s kind: tcpkit records (NDJSON, plain or zstd), tcp-info archive snapshots, or the packets of a pcap/pcapng capture.').argument(
      '[args...]',
      "tcpeek filters ('name:TX@10.0.0.0/8:443', ':RX@%:22') and one input: records, tcp-info archive or capture, plain, gzip or zstd (detected by content); none or - reads stdin",
    ),
  )
    .option('-o, --output <file>', 'write to FILE instead of stdout (temporary name, renamed when complete), in the input\'s kind; zstd when it ends in .zst, gzip in .gz; for captures .pcap or .pcapng picks the format; a name of another kind (.csv) is an error')
    .option('-w, --write <file>', 'the same as -o (tcpdump\'s spelling, for captures)')
    .option('-z, --zstd', 'compress the output with zstd', false)
    .addOption(new Option('-f, --format <format>', "records and tcp-info input: 'input' writes the kept lines as they are; 'parquet' writes them as Parquet (one record kind; tcp-info snapshots in csvtool's columns) (default: parquet when -o ends in .parquet)").choices(['input', 'parquet']))
    .option('-v, --invert', 'keep what does NOT match (as grep -v)', false)
    .addOption(new Option('--kind <kind>', 'input kind (default: decided by the content)').choices(['auto', 'records', 'tcpinfo', 'capture']).default('auto'))
    .option('--idle-timeout <duration>', 'captures: as tcpanalyze, a flow ends after this much capture time without packets', '5m')
    .option('--close-linger <duration>', 'captures: as tcpanalyze, time a closed connection collects stragglers', '5s')
    .option('--syn-timeout <duration>', 'captures: a SYN unanswered this long is a handshake timeout', '30s')
    .option('--max-memory <bytes>', 'captures: peak memory (RSS) to stay under; flows are written early past it (see tcpanalyze)', '512m')
    .option('--max-flows <n>', 'captures: also hold at most this many flows at once (see tcpanalyze)')
    .option('--max-line <bytes>', 'records and archives: longest input line held (suffixes k, m, g); a longer line is a bad line, skipped as it streams by without being held in memory', '1m')
    .option('-q, --quiet', 'no warnings or statistics on stderr', false)
    .option('--stats', 'print how many records, snapshots or connections were kept and dropped to stderr (always when stderr is a terminal, unless --quiet)', false)
    .addHelpText(
      'after',
      `
Examples:
  tcpanalyze day1.pcapng.zst | tcpfilter 'slow:TX@10.0.0.0/8:443' | tcpsummary
  tcpfilter --local 10.0.0.0/8 ':RX@%:22' conns.jsonl.zst -o no-ssh.jsonl.zst
  tcpfilter --where 'conn_state=REJ or handshake=timeout' conns.ndjson
  tcpfilter --local 192.0.2.0/24 'RX@%:443' capture.pcap -w https.pcap
  tcpfilter 'TX@%:443' ndt-archive.jsonl.zst -o https-sockets.jsonl.zst
Filters: docs/filters.md. Without --local every connection counts as TX (outgoing).
On tcp-info archives the socket's own side is local, and --where sees proto, ip_version, orig_h, orig_p, resp_h and resp_p.
Exit status: 0 ok, 1 data error (unreadable lines are skipped and counted; a damaged capture keeps what came before), 2 usage error.`,
    );
  program.parse(process.argv);
  const o = program.opts<Opts>();
  const { filters, files } = splitFilterArgs(program.args);
  if (files.length > 1) throw new UsageError('USAGE_ONE_INPUT', `one input at a time (got ${files.length}: ${files.join(', ')}); a filter argument looks like name:TX@addr:port`);
  if (o.output !== undefined && o.write !== undefined) throw new UsageError('USAGE_CONFLICT', '-o and -w name the same output: give one');
  const outPath = o.output ?? o.write;
  checkTerminalInput(NAME, files, 'a capture, tcpkit records or a tcp-info archive', "tcpfilter 'TX@%:443' conns.jsonl.zst, or tcpanalyze capture.pcap | tcpfilter 'TX@%:443'");
  const file = files[0] ?? '-';
  const selector = selectorFrom(o, filters);
  const analysis = {
    idleTimeoutMs: durationMs(o.idleTimeout, '--idle-timeout'),
    closeLingerMs: durationMs(o.closeLinger, '--close-linger'),
    synTimeoutMs: durationMs(o.synTimeout, '--syn-timeout'),
    maxFlows: o.maxFlows === undefined ? Infinity : Number(o.maxFlows),
    budget: new MemoryBudget(analysisBudgetFor(byteSize(o.maxMemory, '--max-memory'))),
  };
  if (o.maxFlows !== undefined && (!Number.isInteger(analysis.maxFlows) || analysis.maxFlows < 1)) throw new UsageError('USAGE_BAD_NUMBER', `--max-flows: "${o.maxFlows}" is not a positive whole number`);

  const maxLine = byteSize(o.maxLine, '--max-line');
  const stdin = file === '-';
  let interrupted = false;
  const offSignals = onStopSignals(() => {
    interrupted = true;
    // a pipe whose writer stays open would keep a read pending forever
    if (stdin) process.stdin.destroy();
  });
  const quietStop = (): number => {
    offSignals();
    return EXIT_OK;
  };
  let input: OpenedInput;
  try {
    input = await openInput({ path: file, stream: process.stdin, windowSize: 1 << 20 });
  } catch (e) {
    if (interrupted && isPrematureClose(e)) return quietStop(); // Ctrl-C before stdin sent a byte
    throw e;
  }
  let kind: Kind;
  let lines: LineReader;
  try {
    await input.window.fill(4); // a LineReader sees the bytes buffered when it is made
    lines = new LineReader(input.window, { maxLine, name: input.name });
    kind = o.kind === 'auto' ? await detectKind(input, lines) : o.kind;
    // One rule for empty inputs (README, Exit status): 0 bytes are an empty set of records, and not a
    // capture, which needs its file header: a capture asked for (-w, -o FILE.pcap[ng], --kind capture) is CAPTURE_EMPTY.
    const capName = outPath !== undefined && /\.pcap(ng)?(\.zst)?$/.test(outPath);
    if (input.window.available === 0 && input.window.eof && (kind === 'capture' || o.write !== undefined || capName)) {
      throw new ToolError('CAPTURE_EMPTY', 'empty input (0 bytes): not a capture', { file: input.name, offset: 0 });
    }
  } catch (e) {
    await input.window.close().catch(() => {});
    if (interrupted && isPrematureClose(e)) return quietStop();
    throw e;
  }
  // a tcp-info socket's own side is local, so only records and captures need --local for RX
  if (!o.quiet && kind !== 'tcpinfo') for (const w of selector.warnings()) warn(`${NAME}: warning: ${w}`);
  const parquet = (o.format ?? (outPath?.endsWith('.parquet') ? 'parquet' : 'input')) === 'parquet';
  let compression: Compression;
  try {
    if (kind !== 'capture') {
      const analysisOption = ['idleTimeout', 'closeLinger', 'synTimeout', 'maxFlows', 'maxMemory'].find((k) => program.getOptionValueSource(k) === 'cli');
      if (analysisOption !== undefined) {
        const flag = '--' + analysisOption.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
        throw new UsageError('USAGE_CONFLICT', `${flag} applies to captures (it shapes how their connections are rebuilt), but the input is ${kind === 'tcpinfo' ? 'a tcp-info archive' : 'tcpkit records'}`);
      }
    }
    if (parquet && kind === 'capture') throw new UsageError('USAGE_CONFLICT', '--format parquet writes records or tcp-info snapshots; a capture is filtered into a capture (analyse it with tcpanalyze --format parquet)');
    compression = outputCompression(outPath, o.zstd);
    if (parquet && compression !== 'none') throw new UsageError('USAGE_CONFLICT', `Parquet compresses its own pages: name the output ${outPath} without .gz or .zst, and leave out -z`);
    if (!parquet) checkOutputName(outPath, kind);
    if ((outPath === undefined || outPath === '-') && process.stdout.isTTY === true && (compression !== 'none' || kind === 'capture' || parquet)) {
      throw new UsageError('USAGE_BINARY_TO_TERMINAL', `will not write ${kind === 'capture' ? 'a capture' : parquet ? 'Parquet' : `${compression} data`} to a terminal; use -o FILE or a pipe`);
    }
  } catch (e) {
    await input.window.close().catch(() => {});
    throw e;
  }


  // what was kept and dropped: asked for (--stats), or on a terminal, where someone reads it
  const showCounts = (o.stats || process.stderr.isTTY === true) && !o.quiet;
  const out = await openOutput(outPath, { compression });
  const sink = new TextSink(out.stream, undefined, out.copiesWrites);
  const stop = (): boolean => interrupted || sink.closed;
  let bad = 0;
  let firstBad: ToolError | null = null;
  let code = EXIT_OK;
  try {
    if (kind === 'capture') {
      let spooled: { path: string; remove: () => Promise<void> } | null = null;
      let path = file;
      if (stdin) {
        spooled = await spool(input);
        path = spooled.path;
      }
      await input.window.close().catch(() => {});
      try {
        const base = outPath?.replace(/\.(zst|gz)$/i, '') ?? '';
        const format = base.endsWith('.pcapng') ? 'pcapng' : base.endsWith('.pcap') ? 'pcap' : 'input';
        const progress = process.stderr.isTTY === true && !o.quiet ? progressLine(NAME) : null;
        const res = await filterCapture(
          { path, name: stdin ? '<stdin>' : file },
          { selector, invert: o.invert, format, target: sink, analysis, control: { stop, wait: () => (sink.closed ? null : sink.ready()) }, ...(progress ? { onProgress: progress.update } : {}) },
        );
        progress?.clear();
        for (const e of res.analysis.errors) {
          warn(`${NAME}: ${isToolError(e) ? (e as ToolError).describe() : e.message}`);
          code = EXIT_DATA;
        }
        const skips = describeSkips(res.analysis);
        if (skips && !o.quiet) warn(`${NAME}: not analysed (not written): ${skips}`);
        if (showCounts) warn(`${NAME}: kept ${res.selectedFlows} of ${res.flows} flows (${res.flows - res.selectedFlows} dropped): ${res.writtenPackets} of ${res.packets} packets (${res.format})`);
      } finally {
        await spooled?.remove();
      }
    } else {
      let pq: ParquetLineTarget | null = null;
      if (parquet) {
        const view = new ArchivalRecordView();
        const snap = new Snapshot();
        pq = new ParquetLineTarget((b) => sink.write(b), kind === 'tcpinfo' ? 'tcpinfo' : 'records', (line) => decodeArchiveLine(line, 0, line.length, view, snap));
      }
      const lf = {
        name: input.name,
        selector,
        invert: o.invert,
        target: pq ?? sink,
        wait: () => sink.ready(),
        stop,
        bad: (e: ToolError) => {
          bad++;
          firstBad ??= e;
          if (bad <= 3 && !o.quiet) warn(`${NAME}: skipped: ${e.describe()}`);
        },
      };
      let res: LineFilterResult;
      try {
        res = kind === 'tcpinfo' ? await filterTcpInfoLines(lines, lf) : await filterRecordLines(lines, lf);
        pq?.end();
      } finally {
        await input.window.close().catch(() => {});
        if (stdin) process.stdin.destroy();
      }
      if (bad > 0) {
        code = EXIT_DATA;
        if (!o.quiet) warn(`${NAME}: ${input.name}: ${bad} of ${res.lines} lines skipped (not ${kind === 'tcpinfo' ? 'tcp-info snapshots' : 'tcpkit records'}); the first: ${firstBad!.describe()}`);
      }
      if (showCounts) warn(`${NAME}: kept ${res.kept} of ${res.records} ${kind === 'tcpinfo' ? 'snapshots' : 'records'} (${res.records - res.kept} dropped)`);
    }
    await sink.flush();
    if (sink.error) throw sink.error;
    await out.commit(true);
  } catch (e) {
    await sink.flush().catch(() => {});
    await out.commit(true).catch(() => {});
    if (interrupted) return code; // the read the signal cut short is not a data error
    throw e;
  } finally {
    offSignals();
  }
  return code;
}

runMain(NAME, main);
