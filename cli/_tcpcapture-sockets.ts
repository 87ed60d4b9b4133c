/**
 * tcpcapture sockets: m-lab tcp-info's daemon. Polls the kernel's TCP socket
 * statistics over netlink sock_diag (IPv6 then IPv4, every --interval) in
 * the current network namespace, and writes tcp-info's per-connection
 * archives under --output (`YYYY/MM/DD/<prefix>_<COOKIE>.<seq>.jsonl.zst`),
 * a record each time a connection changes enough; optional event socket
 * (Open/Close FlowEvent lines) and Prometheus /metrics. SIGINT or SIGTERM
 * completes every open file and exits 0. The library is src/live/sockets/.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError, ToolError, isToolError } from '../src/util/errors.js';
import { parseDurationNs } from '../src/util/time.js';
import { serveMetrics } from '../src/live/prom.js';
import { SockDiagSocket } from '../src/live/sockets/netlink-dump.js';
import { SocketFilter, dstIpKeys, parsePortList } from '../src/live/sockets/exclude.js';
import { SocketSaver } from '../src/live/sockets/saver.js';
import { EventSocketServer } from '../src/live/sockets/eventsocket.js';
import { SocketsMetrics } from '../src/live/sockets/metrics.js';
import { Poller, type PollSummary } from '../src/live/sockets/poller.js';
import { defaultMaxOpenFiles, openSocketsArchive } from '../src/live/sockets/archive.js';
import { defaultUuidPrefix, readUuidPrefixFile } from '../src/live/sockets/uuid-prefix.js';
import { STOP_SIGNALS, warn } from './_common.js';
import type { SubcommandStatus } from './tcpcapture.js';

const NAME = 'tcpcapture sockets';

interface SocketsOptions {
  output?: string;
  interval: string;
  reps: string;
  prefix?: string;
  uuidPrefixFile?: string;
  excludeSrcport?: string[];
  excludeDstip?: string[];
  eventsocket?: string;
  prom?: string;
  maxOpenFiles?: string;
  quiet: boolean;
}

const collect = (v: string, acc: string[] | undefined): string[] => [...(acc ?? []), v];

export function addSocketsCommand(program: Command, status: SubcommandStatus): void {
  program
    .command('sockets')
    .description("poll the kernel's TCP socket statistics (netlink sock_diag) and write m-lab tcp-info archives: one file per connection, a record when it changes")
    .option('-o, --output <dir>', 'directory of the archive tree YYYY/MM/DD/<prefix>_<COOKIE>.<seq>.jsonl.zst (created if missing; required)')
    .option('--interval <duration>', 'time between polls (tcp-info: 10ms, fixed)', '10ms')
    .option('--reps <n>', 'number of polls, then stop; 0 = until SIGINT/SIGTERM', '0')
    .option('--prefix <text>', "UUID prefix of the file names (default as tcp-info: <hostname>_<boot time>_unsafe)")
    .option('--uuid-prefix-file <file>', 'read the UUID prefix from FILE (its bytes as they are, as tcp-info -uuid-prefix-file)')
    .option('--exclude-srcport <ports>', 'skip sockets with these source ports (comma-separated, repeatable; 0-65535)', collect)
    .option('--exclude-dstip <addrs>', 'skip sockets with these destination addresses (comma-separated, repeatable; IPv4 also matches ::ffff:a.b.c.d)', collect)
    .option('--eventsocket <path>', "serve tcp-info's flow events (JSON lines: Event 0 = open, 1 = close) on this unix socket")
    .option('--prom <addr>', "serve Prometheus metrics (tcp-info's names) at http://ADDR/metrics, e.g. :9990")
    .option('--max-open-files <n>', 'most archive files open at once; beyond, the least recently written is completed and its connection goes on in its next file (bounds descriptors and memory, 0.1-0.3 MB each; default 4096, less when the open-file limit is lower)')
    .option('-q, --quiet', 'no summary or warnings on stderr', false)
    .addHelpText(
      'after',
      `
Loopback, link-local, multicast and unspecified addresses are never recorded (tcp-info's rule), so
listening sockets and connections to 127.0.0.1 or ::1 are skipped. Runs in the current network
namespace: use \`ip netns exec NS tcpcapture sockets ...\` for another one.

Examples:
  tcpcapture sockets --output /var/spool/tcpinfo --prom :9990
  tcpcapture sockets -o out --interval 100ms --reps 50 --exclude-srcport 9100,9990 --eventsocket /run/tcpinfo.sock
  csvtool out/2024/05/01/host_1714521600_unsafe_0000000000004B1B.00000.jsonl.zst > conn.csv
Exit status: 0 ok (also after SIGINT/SIGTERM, every file completed), 1 data or system error, 2 usage error.`,
    )
    .action(async (o: SocketsOptions) => {
      status.code = await runSockets(o);
    });
}

function intervalNs(text: string): number {
  const ns = parseDurationNs(text);
  if (!Number.isFinite(ns) || ns <= 0) throw new UsageError('USAGE_BAD_DURATION', `--interval: "${text}" is not a positive duration (examples: 10ms, 1s, 500us)`);
  return ns;
}

function wholeNumber(text: string, flag: string, min: number, hint: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new UsageError('USAGE_BAD_NUMBER', `${flag}: "${text}" is not a whole number${hint}`);
  return Number(text);
}

async function runSockets(o: SocketsOptions): Promise<number> {
  if (!o.output) throw new UsageError('USAGE_MISSING_OUTPUT', '--output DIR is required');
  if (o.prefix !== undefined && o.uuidPrefixFile !== undefined) throw new UsageError('USAGE_CONFLICT', '--prefix and --uuid-prefix-file cannot be combined');
  if (o.prefix === '') throw new UsageError('USAGE_BAD_PREFIX', '--prefix cannot be empty');
  const interval = intervalNs(o.interval);
  const nReps = wholeNumber(o.reps, '--reps', 0, ' (0 = forever)');
  const maxOpenFiles = o.maxOpenFiles === undefined ? defaultMaxOpenFiles() : wholeNumber(o.maxOpenFiles, '--max-open-files', 1, ' of at least 1');
  const filter = new SocketFilter({ srcPorts: parsePortList(o.excludeSrcport ?? []), dstIps: dstIpKeys(o.excludeDstip ?? []), local: true });
  const uuidPrefix = o.prefix ?? (o.uuidPrefixFile !== undefined ? readUuidPrefixFile(o.uuidPrefixFile) : defaultUuidPrefix());
  const dir = resolve(o.output);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new ToolError('OUTPUT_DIR_FAILED', `cannot create the output directory: ${(e as Error).message}`, { file: dir });
  }

  const metrics = new SocketsMetrics();
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (e) {
        if (!o.quiet) warn(`${NAME}: ${(e as Error).message}`);
      }
    }
  };
  let saver: SocketSaver;
  let poller: Poller;
  try {
    if (o.prom !== undefined) {
      let prom;
      try {
        prom = await serveMetrics(metrics.registry, o.prom);
      } catch (e) {
        throw new UsageError('USAGE_BAD_PROM', `--prom ${o.prom}: ${(e as Error).message}`);
      }
      closers.push(prom.close);
    }
    const events = o.eventsocket !== undefined ? await EventSocketServer.listen(o.eventsocket) : null;
    if (events) closers.push(() => events.close());
    const source = new SockDiagSocket({ onError: (type) => metrics.errors.inc(1, { type }) });
    closers.push(() => source.close());
    const writer = openSocketsArchive({ dir, uuidPrefix, metrics, maxOpenFiles });
    saver = new SocketSaver({ writer, uuidPrefix, filter, metrics, ...(events ? { onEvent: (line: string) => events.send(line) } : {}) });
    poller = new Poller({
      source,
      saver,
      intervalNs: interval,
      reps: nReps,
      metrics,
      onPollError: (e) => {
        if (!o.quiet) warn(`${NAME}: poll skipped: ${isToolError(e) ? (e as ToolError).describe() : e.message}`);
      },
    });
  } catch (e) {
    await closeAll();
    throw e;
  }

  let signals = 0;
  const onSignal = (): void => {
    if (++signals > 1) process.exit(130);
    poller.stop();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  let runError: unknown = null;
  let summary: PollSummary | null = null;
  try {
    summary = await poller.run();
  } catch (e) {
    runError = e;
  }
  try {
    await saver.close();
  } catch (e) {
    runError ??= e;
  }
  await closeAll();
  for (const s of STOP_SIGNALS) process.off(s, onSignal);
  if (runError !== null) throw runError;

  if (!o.quiet && summary !== null) {
    const c = saver.counts;
    const perDump = summary.polls > 0 ? (Number(summary.dumpNs.v6 + summary.dumpNs.v4) / 1e6 / summary.polls).toFixed(2) : '0';
    warn(
      `${NAME}: ${summary.polls} polls (${summary.failedPolls} failed, ${perDump} ms of dumps per poll), ${c.opened} connections, ` +
        `${c.written} records written, ${metrics.newFiles.value()} files; skipped: ${c.skipped['local']} local, ${c.skipped['srcport']} by port, ${c.skipped['dstip']} by address`,
    );
  }
  return 0;
}
