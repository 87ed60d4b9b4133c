/**
 * tcpcapture packets: live capture through tcpdump (or dumpcap) as a child
 * process, or a pcap/pcapng stream on stdin (`tcpdump -w - | tcpcapture
 * packets -`), analysed as tcpanalyze does; connection records go to
 * rotating zstd archives as connections end (interim records for the ones
 * open at a rotation), tcpeek's handshake lines to stderr, its summary at
 * the end; optional tcpeek stats socket, Prometheus endpoint and goProbe
 * flows. The pipeline is src/live/packet-capture.ts; this file reads the
 * options, starts the child, and handles signals and exit status.
 */
import { accessSync, constants, mkdirSync, unlinkSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UsageError, ToolError, EXIT_DATA, EXIT_OK, isToolError, formatWhere } from '../src/util/errors.js';
import { parseDurationNs } from '../src/util/time.js';
import { parseFilters, parseLocal } from '../src/filter/index.js';
import type { ConnAnalysis } from '../src/analysis/conn-analysis.js';
import { HANDSHAKE_HEADER, handshakeLine, summaryText } from '../src/output/tcpeek.js';
import { CaptureChild, TOOL_PACKAGE, describeExit, findExecutable, toolArgs, type CaptureTool } from '../src/live/child.js';
import { PacketCapture } from '../src/live/packet-capture.js';
import { HandshakeStats } from '../src/live/handshake-stats.js';
import { StatsSocket } from '../src/live/stats-socket.js';
import { Registry, serveMetrics } from '../src/live/prom.js';
import { registerPacketMetrics } from '../src/live/packet-metrics.js';
import { STOP_SIGNALS, packageVersion, warn } from './_common.js';
import { byteSize } from './_args.js';
import { MemoryBudget } from '../src/util/memory-budget.js';
import { analysisBudgetFor } from '../src/analysis/tracker.js';
import type { SubcommandStatus } from './tcpcapture.js';

const NAME = 'tcpcapture';

interface PacketsOptions {
  iface?: string;
  bpf?: string;
  output?: string;
  tool?: CaptureTool;
  snaplen?: string;
  rotate: string;
  flows?: string;
  statsSocket?: string;
  prom?: string;
  filter: string[];
  local?: string;
  analysis: 'full' | 'flows';
  synTimeout: string;
  idleTimeout: string;
  closeLinger: string;
  maxFlows?: string;
  maxMemory: string;
  quiet: boolean;
}

function durationMs(text: string, flag: string, min = 0): number {
  const ns = parseDurationNs(text);
  if (!Number.isFinite(ns) || ns < 0) throw new UsageError('USAGE_BAD_DURATION', `${flag}: "${text}" is not a duration (examples: 300, 90s, 5m, 1h, 250ms)`);
  const ms = ns / 1e6;
  if (ms < min || !Number.isInteger(ms)) throw new UsageError('USAGE_BAD_DURATION', `${flag}: "${text}" must be a whole number of milliseconds, at least ${min} ms`);
  return ms;
}

function wholeNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new UsageError('USAGE_BAD_NUMBER', `${flag}: "${text}" is not a positive whole number`);
  return n;
}

/** `YYYY-MM-DD HH:MM:SS` (UTC) of epoch milliseconds, for the summary. */
function clockText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Which tool to run: the one asked for, else tcpdump, else dumpcap; a missing tool is a usage error saying how to get it. */
function resolveTool(asked: CaptureTool | undefined, pathList: string): { tool: CaptureTool; path: string } {
  if (asked !== undefined) {
    const path = findExecutable(asked, pathList);
    if (path === null) {
      const other = asked === 'tcpdump' ? 'dumpcap' : 'tcpdump';
      throw new UsageError('CAPTURE_TOOL_NOT_FOUND', `${asked} not found: install it (apt-get install ${TOOL_PACKAGE[asked]}) or use --tool ${other}`);
    }
    return { tool: asked, path };
  }
  for (const tool of ['tcpdump', 'dumpcap'] as const) {
    const path = findExecutable(tool, pathList);
    if (path !== null) return { tool, path };
  }
  throw new UsageError(
    'CAPTURE_TOOL_NOT_FOUND',
    'neither tcpdump nor dumpcap found: install one (apt-get install tcpdump, or apt-get install wireshark-common for dumpcap), or pipe a capture in: tcpdump -i IF -w - | tcpcapture packets - --output DIR',
  );
}

export function addPacketsCommand(program: Command, status: SubcommandStatus): void {
  program
    .command('packets')
    .description('Capture packets (tcpdump or dumpcap as a child process, or a pcap/pcapng stream on stdin with -) and write one record per connection as it ends, into zstd archives rotated every --rotate; tcpeek handshake lines on stderr.')
    .argument('[source]', '- reads a pcap or pcapng stream from stdin instead of starting a capture tool')
    .option('-i, --iface <interface>', 'capture on this interface (with tcpdump or dumpcap)')
    .option('--bpf <expression>', "capture filter (BPF), given to the tool, e.g. 'tcp port 443'")
    .option('-o, --output <dir>', 'archive directory: DIR/YYYY/MM/DD/conns_<start>.jsonl.zst, flows under DIR/flows/ (required)')
    .addOption(new Option('--tool <tool>', 'capture tool (default: tcpdump if installed, else dumpcap)').choices(['tcpdump', 'dumpcap']))
    .option('-s, --snaplen <bytes>', "bytes kept of each packet (default: the tool's); 128 keeps every header the records need and lets the tool keep up on busy links")
    .option('--rotate <duration>', 'start a new archive file at every multiple of this interval (UTC); connections still open get an interim record', '5m')
    .option('--flows <duration>', "also write goProbe-style aggregated flows (orig_h, resp_h, resp_p, proto: packets and bytes each way) per interval, under DIR/flows/")
    .option('--stats-socket <path>', "unix socket answering tcpeek's GET (totals) and REFRESH (change since the last REFRESH) with the summary JSON and the capture counters")
    .option('--prom <address>', 'serve Prometheus metrics at http://ADDRESS/metrics (e.g. :9990 or 127.0.0.1:9990)')
    .option('-F, --filter <expr>', "tcpeek filter for the handshake lines and the summary, repeatable: name:RX|TX@addr[/prefix]:port[:port...][,addr:port...], '%' or '*' as wildcards, no name = exclusion (default: RX:RX@*:* and TX:TX@*:*)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--local <cidrs>', 'comma-separated local networks: TX = connections they originate, RX = connections they accept (default: every originator is local)')
    .addOption(new Option('--analysis <level>', 'full: tshark flags, RTT, Zeek state, handshake verdicts; flows: connection accounting only (no handshake lines)').choices(['full', 'flows']).default('full'))
    .option('--syn-timeout <duration>', 'a SYN with no answer for this long is a handshake timeout', '30s')
    .option('--idle-timeout <duration>', 'write a flow after this long without packets', '5m')
    .option('--close-linger <duration>', "after FIN/FIN or RST, keep a connection this long to count stragglers (Zeek's tcp_close_delay)", '5s')
    .option('--max-memory <bytes>', 'peak memory (RSS) to stay under (suffixes k, m, g): past it flows are written early (end_reason evicted), as tcpanalyze', '512m')
    .option('--max-flows <n>', 'also hold at most this many flows at once (default: as many as --max-memory allows)')
    .option('-q, --quiet', 'no handshake lines, tool messages or progress notes on stderr (errors, drops and the summary still)', false)
    .addHelpText(
      'after',
      `
Examples:
  tcpcapture packets --iface eth0 --output /var/lib/tcpkit
  tcpcapture packets -i eth0 --bpf 'tcp port 443' -o arch --rotate 10m --flows 5m --prom :9990
  tcpdump -i eth0 -U -w - | tcpcapture packets - -o arch
  csvtool arch/2024/05/01/conns_20240501T120000.000000000Z.jsonl.zst > conns.csv
Files are renamed into place when their interval ends; SIGINT or SIGTERM stops the capture,
writes the open connections (end_reason interrupted), completes the files and prints the summary.
Exit status: 0 ok, 1 data error or the capture tool crashed (the archive so far is kept), 2 usage error
(also: capture tool missing or without permission).`,
    )
    .action(async (source: string | undefined, o: PacketsOptions) => {
      status.code = await runPackets(source, o);
    });
}

async function runPackets(source: string | undefined, o: PacketsOptions): Promise<number> {
  // ---- every option is checked before anything starts
  if (source !== undefined && source !== '-') throw new UsageError('USAGE_BAD_SOURCE', `"${source}": the only source argument is - (a capture on stdin); capture live with --iface IF`);
  const fromStdin = source === '-';
  if (fromStdin && o.iface !== undefined) throw new UsageError('USAGE_CONFLICT', '- (stdin) and --iface cannot be combined');
  if (!fromStdin && o.iface === undefined) throw new UsageError('USAGE_NO_SOURCE', 'give --iface IF to capture, or - to read a pcap/pcapng stream from stdin');
  if (fromStdin && (o.bpf !== undefined || o.tool !== undefined || o.snaplen !== undefined)) throw new UsageError('USAGE_CONFLICT', '--bpf, --tool and --snaplen apply to a capture on --iface, not to stdin');
  if (o.output === undefined) throw new UsageError('USAGE_NO_OUTPUT', '--output DIR is required (the archive directory)');
  const rotateMs = durationMs(o.rotate, '--rotate', 1);
  const flowsMs = o.flows !== undefined ? durationMs(o.flows, '--flows', 1) : null;
  const synTimeoutMs = durationMs(o.synTimeout, '--syn-timeout');
  const idleTimeoutMs = durationMs(o.idleTimeout, '--idle-timeout');
  const closeLingerMs = durationMs(o.closeLinger, '--close-linger');
  const maxFlows = o.maxFlows !== undefined ? wholeNumber(o.maxFlows, '--max-flows') : Infinity;
  const budget = new MemoryBudget(analysisBudgetFor(byteSize(o.maxMemory, '--max-memory')));
  const snaplen = o.snaplen !== undefined ? wholeNumber(o.snaplen, '--snaplen') : undefined;
  const filterSet = parseFilters(o.filter);
  const local = o.local !== undefined ? parseLocal(o.local) : null;
  const dir = o.output;
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UsageError('OUTPUT_DIR_UNUSABLE', `cannot write there: ${(e as Error).message}`, { file: dir });
  }
  const tool = fromStdin ? null : resolveTool(o.tool, process.env['PATH'] ?? '');
  const say = (line: string): void => {
    if (!o.quiet) warn(`${NAME}: ${line}`);
  };

  // ---- handshake lines and totals
  const stats = new HandshakeStats(filterSet, local);
  let headerShown = false;
  const onHandshake = (c: Parameters<HandshakeStats['count']>[0]): void => {
    const names = stats.count(c);
    if (o.quiet || names.length === 0) return;
    if (!headerShown) {
      process.stderr.write(HANDSHAKE_HEADER);
      headerShown = true;
    }
    process.stderr.write(handshakeLine(c, (c.aux as ConnAnalysis).hs));
  };

  // ---- the capture tool
  let child: CaptureChild | null = null;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const f of cleanups.splice(0).reverse()) await f().catch(() => {});
  };
  let capture: PacketCapture | null = null;
  let finished = false;
  // an abnormal exit kills the tool and removes the temporary file of the interval being written
  process.once('exit', () => {
    child?.kill();
    if (finished || capture === null) return;
    for (const t of capture.tempPaths()) {
      try {
        unlinkSync(t);
      } catch {
        /* already gone */
      }
    }
  });
  // ---- signals: stop the tool (or stop reading stdin), drain, write, close;
  // before the capture runs, or at a second signal, exit at once
  const onSignal = (): void => {
    const cap = capture;
    if (cap === null || cap.isInterrupted) {
      if (cap !== null) warn(`${NAME}: second signal: exiting without completing the current archive file`);
      process.exit(130);
    }
    if (child !== null) {
      child.stop();
      cap.stop(true);
      // a tool that does not let go of its output after SIGKILL: stop reading anyway
      setTimeout(() => cap.stop(false), 8000).unref();
    } else cap.stop(false);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  cleanups.push(async () => {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  });
  try {
    if (tool !== null) {
      const args = toolArgs(tool.tool, { iface: o.iface!, bpf: o.bpf, snaplen });
      child = new CaptureChild({ tool: tool.tool, path: tool.path, args, iface: o.iface!, bpf: o.bpf, onMessage: (l) => say(`${tool.tool}: ${l}`) });
      await child.whenStarted();
    }
    capture = new PacketCapture({
      input: child !== null ? child.stdout : process.stdin,
      inputName: child !== null ? `${tool!.tool} -i ${o.iface}` : '<stdin>',
      clock: child !== null ? 'wall' : 'packet',
      rotateMs,
      flowsMs,
      dir,
      meta: {
        tool: NAME,
        version: packageVersion(),
        inputs: [child !== null ? o.iface! : '<stdin>'],
        options: {
          tool: tool?.tool ?? null,
          bpf: o.bpf ?? null,
          snaplen: snaplen ?? null,
          clock: child !== null ? 'wall' : 'packet',
          rotate: o.rotate,
          flows: o.flows ?? null,
          analysis: o.analysis,
          idle_timeout: o.idleTimeout,
          close_linger: o.closeLinger,
          syn_timeout: o.synTimeout,
        },
      },
      idleTimeoutMs,
      closeLingerMs,
      synTimeoutMs,
      analysis: o.analysis,
      maxFlows,
      budget,
      onHandshake,
    });
    const cap = capture;
    const counters = (): { recv: number; drop: number; ifdrop: number } => ({ recv: cap.packets, drop: child?.drops.kernel ?? 0, ifdrop: child?.drops.interface ?? 0 });
    if (o.statsSocket !== undefined) {
      const sock = await StatsSocket.listen(o.statsSocket, { cumulative: () => stats.cumulative(), refresh: () => stats.refresh(), counters });
      cleanups.push(() => sock.close());
      say(`stats socket ${o.statsSocket} (send GET or REFRESH)`);
    }
    if (o.prom !== undefined) {
      const reg = new Registry();
      registerPacketMetrics(reg, {
        packets: () => cap.packets,
        bytes: () => cap.bytes,
        openConnections: () => cap.tracker.openFlows,
        records: () => ({ final: cap.finalRecords, interim: cap.interimRecords, flow: cap.flowRecords }),
        files: () => cap.conns.completed.length + (cap.flowsArchive?.completed.length ?? 0),
        handshakes: () => stats.byResult,
        drops: () => ({ kernel: child?.drops.kernel ?? 0, interface: child?.drops.interface ?? 0 }),
      });
      let server;
      try {
        server = await serveMetrics(reg, o.prom);
      } catch (e) {
        throw new UsageError('PROM_LISTEN_FAILED', `--prom ${o.prom}: ${(e as Error).message}`);
      }
      cleanups.push(() => server.close());
      const a = server.address;
      say(`metrics at http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`);
    }
    if (child !== null && tool!.tool === 'tcpdump' && (o.statsSocket !== undefined || o.prom !== undefined)) {
      // tcpdump prints its counters on SIGUSR1: keep the drop counters fresh
      const t = setInterval(() => child!.requestStats(), 5000);
      cleanups.push(async () => clearInterval(t));
    }

    if (!o.quiet) {
      say(child !== null ? `capturing on ${o.iface} with ${tool!.tool}, archives in ${dir}` : `reading a capture from stdin, archives in ${dir}`);
    }

    let runError: unknown = null;
    let res = null;
    try {
      res = await cap.run();
    } catch (e) {
      runError = e;
    }
    finished = true;
    const exit = child !== null ? await child.exited : null;
    await cleanup();

    let code = EXIT_OK;
    if (child !== null && exit !== null) {
      const d = child.drops;
      const line = `${tool!.tool}: ${d.received} packets received by filter, ${d.kernel} dropped by kernel, ${d.interface} dropped by interface`;
      if (d.kernel > 0 || d.interface > 0) warn(`${NAME}: ${line}`);
      else say(line);
      if (!child.stopRequested && (exit.code !== 0 || exit.signal !== null)) {
        warn(`${NAME}: ${new ToolError('CAPTURE_TOOL_CRASHED', `${tool!.tool} ${describeExit(exit)} during the capture; the archive written so far is complete and kept`).describe()}`);
        code = EXIT_DATA;
      }
    }
    if (runError !== null) {
      if (!isToolError(runError)) throw runError;
      warn(`${NAME}: ${runError.describe()}`);
      code = EXIT_DATA;
    }
    for (const e of res?.errors ?? []) {
      warn(`${NAME}: ${isToolError(e) ? e.describe() : `${formatWhere({})}${e.message}`}`);
      code = EXIT_DATA;
    }
    const packetClock = child === null && cap.firstSec >= 0;
    const fromMs = packetClock ? cap.firstSec * 1000 + cap.firstNsec / 1e6 : cap.startWallMs;
    const toMs = packetClock ? cap.lastSec * 1000 + cap.lastNsec / 1e6 : cap.endWallMs;
    if (cap.opened) process.stderr.write(summaryText(stats.cumulative(), clockText(fromMs), clockText(toMs), Math.max(0, toMs - fromMs) / 1000));
    const files = cap.conns.completed.length + (cap.flowsArchive?.completed.length ?? 0);
    if (cap.opened) say(`${cap.packets} packets; ${cap.finalRecords} connection records and ${cap.interimRecords} interim${flowsMs !== null ? `, ${cap.flowRecords} flow records` : ''} in ${files} files under ${dir}`);
    return code;
  } catch (e) {
    await cleanup();
    child?.kill();
    throw e;
  } finally {
    if (child === null) process.stdin.destroy();
  }
}
