/**
 * The capture tool as a child process: `tcpdump -i IF -U -w -
 * --time-stamp-precision=nano [-s SNAPLEN] [BPF]` (pcap with nanosecond
 * timestamps, each packet flushed as it arrives) or `dumpcap -i IF -w - -q
 * [-s SNAPLEN] [-f BPF]` (pcapng). Its stdout is the capture; its stderr
 * lines are handed on as messages, except the statistics lines, which are
 * parsed into drop counters (src/live/tool-stats.ts).
 *
 * A tool that fails before writing anything is classified from what it
 * printed (no permission, no such interface, a bad filter) into one error
 * line saying how to fix it. The child runs in its own process group, so a
 * terminal's Ctrl-C reaches tcpcapture only; `stop()` then ends the tool with
 * SIGTERM (SIGKILL after a grace time), and the capture is read to its end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ToolError, UsageError } from '../util/errors.js';
import { emptyDrops, parseStatsLine, type DropCounters } from './tool-stats.js';

export type CaptureTool = 'tcpdump' | 'dumpcap';

/** The Debian/Ubuntu package that ships each tool. */
export const TOOL_PACKAGE: Record<CaptureTool, string> = { tcpdump: 'tcpdump', dumpcap: 'wireshark-common' };

export interface CaptureToolOptions {
  iface: string;
  /** Capture filter (BPF), passed to the tool as one argument. */
  bpf?: string | undefined;
  /** Bytes kept of each packet (the tool's default when absent). */
  snaplen?: number | undefined;
}

/** The tool's arguments for a capture to stdout. */
export function toolArgs(tool: CaptureTool, o: CaptureToolOptions): string[] {
  const snap = o.snaplen !== undefined ? ['-s', String(o.snaplen)] : [];
  if (tool === 'tcpdump') return ['-i', o.iface, '-U', '-w', '-', '--time-stamp-precision=nano', ...snap, ...(o.bpf ? [o.bpf] : [])];
  return ['-i', o.iface, '-w', '-', '-q', ...snap, ...(o.bpf ? ['-f', o.bpf] : [])];
}

/** The first executable file named `name` in a PATH-style list of folders, or null. */
export function findExecutable(name: string, pathList: string): string | null {
  for (const dir of pathList.split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CaptureChildOptions {
  tool: CaptureTool;
  /** Resolved path of the executable. */
  path: string;
  args: string[];
  iface: string;
  bpf?: string | undefined;
  /** Environment of the child (default: inherited). */
  env?: NodeJS.ProcessEnv;
  /** A stderr line of the tool that is not a statistics line (its own `tcpdump: ` prefix removed). */
  onMessage: (line: string) => void;
  /** Time between SIGTERM and SIGKILL in `stop()` (default 5 s). */
  graceMs?: number;
}

const PERMISSION_RE = /You don't have permission|You do not have permission|Operation not permitted|Permission denied/i;
const NO_DEVICE_RE = /No such device|There is no device named|doesn't exist|no suitable device/i;
const BAD_FILTER_RE = /syntax error|can't parse filter|Invalid capture filter|illegal token|unknown host|parse error/i;

export class CaptureChild {
  readonly stdout: Readable;
  readonly exited: Promise<ChildExit>;
  /** The tool's latest capture counters (updated from its statistics lines). */
  readonly drops: DropCounters = emptyDrops();
  /** The tool wrote its first bytes: the capture is running. */
  started = false;
  /** tcpdump printed `listening on`: it handles SIGUSR1 from now on. */
  private listening = false;
  stopRequested = false;
  exit: ChildExit | null = null;
  private readonly proc: ChildProcess;
  private readonly early: string[] = [];
  private readonly opts: CaptureChildOptions;
  private killTimer: NodeJS.Timeout | null = null;

  constructor(opts: CaptureChildOptions) {
    this.opts = opts;
    this.proc = spawn(opts.path, opts.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: opts.env ?? undefined });
    this.stdout = this.proc.stdout!;
    this.exited = new Promise<ChildExit>((resolve) => {
      this.proc.once('error', (e: NodeJS.ErrnoException) => {
        this.early.push(`${opts.path}: ${e.message}`);
        this.exit ??= { code: 127, signal: null };
        resolve(this.exit);
      });
      this.proc.once('close', (code, signal) => {
        if (this.killTimer) clearTimeout(this.killTimer);
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
    });
    this.stdout.once('readable', () => {
      if (this.stdout.readableLength > 0) this.markStarted();
    });
    let partial = '';
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (s: string) => {
      const parts = (partial + s).split('\n');
      partial = parts.pop()!;
      for (const l of parts) this.line(l);
    });
    this.proc.stderr!.on('end', () => {
      if (partial !== '') this.line(partial);
      partial = '';
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  private markStarted(): void {
    if (this.started) return;
    this.started = true;
    for (const l of this.early.splice(0)) this.opts.onMessage(l);
  }

  private line(raw: string): void {
    const l = raw.replace(/\r/g, '').trimEnd();
    if (l === '') return;
    if (parseStatsLine(l, this.drops)) return;
    if (/^(tcpdump: )?listening on /.test(l)) this.listening = true;
    const msg = this.opts.tool === 'tcpdump' ? l.replace(/^tcpdump: /, '') : l.replace(/^dumpcap: /, '');
    if (this.started) this.opts.onMessage(msg);
    else this.early.push(msg);
  }

  /** Resolves when the tool wrote its first bytes; rejects with a one-line error when it exits first. */
  async whenStarted(): Promise<void> {
    if (this.started) return;
    const first = await Promise.race([
      new Promise<'data'>((resolve) => {
        if (this.started) resolve('data');
        this.stdout.once('readable', () => resolve('data'));
      }),
      this.exited.then(() => 'exit' as const),
    ]);
    if (first === 'data' && this.stdout.readableLength > 0) {
      this.markStarted();
      return;
    }
    // exited (or stdout ended empty): wait for the exit status and stderr
    const exit = await this.exited;
    await new Promise((r) => setImmediate(r));
    if (this.stdout.readableLength > 0) {
      this.markStarted();
      return;
    }
    throw this.failureBeforeStart(exit);
  }

  /** The one-line error for a tool that exited before capturing anything. */
  failureBeforeStart(exit: ChildExit): ToolError {
    const { tool, iface, bpf, path } = this.opts;
    const text = this.early.join('\n');
    const said = this.early.filter((l) => !/^Capturing on /.test(l))[0] ?? '';
    if (PERMISSION_RE.test(text)) {
      return new UsageError(
        'CAPTURE_NO_PERMISSION',
        `${tool} has no permission to capture on ${iface}: run tcpcapture as root, or give ${tool} the capabilities with: sudo setcap cap_net_raw,cap_net_admin=eip ${path}`,
      );
    }
    if (NO_DEVICE_RE.test(text)) return new UsageError('CAPTURE_NO_SUCH_INTERFACE', `${tool} cannot capture on ${iface}: ${said || 'no such interface'} (ip link lists the interfaces)`);
    if (bpf && BAD_FILTER_RE.test(text)) return new UsageError('CAPTURE_BAD_FILTER', `${tool} rejected the capture filter "${bpf}": ${said}`);
    return new ToolError('CAPTURE_TOOL_FAILED', `${tool} ${describeExit(exit)} before capturing anything${said ? `: ${said}` : ''}`);
  }

  /** Asks tcpdump for its counters (SIGUSR1, answered on stderr); dumpcap reports them only at exit. */
  requestStats(): void {
    if (this.opts.tool !== 'tcpdump' || !this.listening || this.exit !== null || this.stopRequested) return;
    try {
      this.proc.kill('SIGUSR1');
    } catch {
      /* already gone */
    }
  }

  /** Ends the capture: SIGTERM now, SIGKILL after the grace time. The capture is then read to its end. */
  stop(): void {
    this.stopRequested = true;
    if (this.exit !== null) return;
    this.signal('SIGTERM');
    if (this.killTimer === null) {
      this.killTimer = setTimeout(() => this.signal('SIGKILL'), this.opts.graceMs ?? 5000);
      this.killTimer.unref();
    }
  }

  /** Kills the tool at once (tcpcapture is exiting abnormally). */
  kill(): void {
    if (this.exit === null) this.signal('SIGKILL');
  }

  /** Signals the tool's whole process group (a wrapper script and what it started go too). */
  private signal(sig: NodeJS.Signals): void {
    const pid = this.proc.pid;
    try {
      if (pid !== undefined) process.kill(-pid, sig);
      else this.proc.kill(sig);
    } catch {
      try {
        this.proc.kill(sig);
      } catch {
        /* already gone */
      }
    }
  }
}

/** `exited with status 3` or `was killed by SIGSEGV`. */
export function describeExit(e: ChildExit): string {
  return e.signal !== null ? `was killed by ${e.signal}` : `exited with status ${e.code}`;
}
