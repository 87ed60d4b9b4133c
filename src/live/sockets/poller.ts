/**
 * The polling loop of tcp-info's collector (collector/collector_linux.go
 * Run, collectDefaultNamespace): every interval, dump IPv6 then IPv4 sockets
 * (each stamped with the time right after its dump), hand the cycle to the
 * saver, wait for the next tick. `reps` polls then stop (0 = until stop()).
 *
 * Differences from tcp-info: the interval is an option (tcp-info: fixed
 * 10 ms ticker); a failed dump skips the whole cycle (tcp-info goes on with
 * the other family only, so every connection of the failed family is closed
 * and reopened under the same name); ten failed polls in a row are an error.
 * Like Go's ticker, a poll that overruns its tick starts the next one at once
 * and drops the missed ticks.
 */
import { AF_INET, AF_INET6 } from '../../tcpinfo/inet_diag.js';
import { GoTime } from '../../tcpinfo/go-time.js';
import { MessageBatch, type SockDiagSource } from './netlink-dump.js';
import type { SocketSaver } from './saver.js';
import type { SocketsMetrics } from './metrics.js';

export interface PollerOptions {
  source: SockDiagSource;
  saver: SocketSaver;
  /** Time between poll starts, in nanoseconds (tcp-info: 10 ms). */
  intervalNs: number;
  /** Polls to run; 0 = until stop(). */
  reps: number;
  metrics?: SocketsMetrics;
  /** Unix time in nanoseconds for record timestamps (default: the system clock at nanosecond resolution). */
  clockNs?: () => bigint;
  /** Told of each failed poll (the cycle is skipped). */
  onPollError?: (e: Error) => void;
  /** Consecutive failed polls that end the run with the last error (default 10). */
  maxConsecutiveErrors?: number;
}

export interface PollSummary {
  polls: number;
  failedPolls: number;
  /** Total time spent in dumps, per family, in nanoseconds. */
  dumpNs: { v6: bigint; v4: bigint };
}

/** Wall-clock Unix nanoseconds with the monotonic clock's resolution. */
export function makeWallClockNs(): () => bigint {
  const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return () => base + process.hrtime.bigint();
}

export class Poller {
  private stopped = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly o: PollerOptions;
  private readonly v6 = new MessageBatch();
  private readonly v4 = new MessageBatch();

  constructor(options: PollerOptions) {
    this.o = options;
  }

  /** Ends the run after the current poll (files are closed by the caller through the saver). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.wake = null;
        resolve();
      }, ms);
    });
  }

  private async dump(family: number, summary: PollSummary): Promise<MessageBatch> {
    const t0 = process.hrtime.bigint();
    const msgs = await this.o.source.dump(family, family === AF_INET6 ? this.v6 : this.v4);
    const dt = process.hrtime.bigint() - t0;
    const af = family === AF_INET6 ? 'ipv6' : 'ipv4';
    if (family === AF_INET6) summary.dumpNs.v6 += dt;
    else summary.dumpNs.v4 += dt;
    this.o.metrics?.syscallTime.observe(Number(dt) / 1e9, { af });
    this.o.metrics?.connectionCount.observe(msgs.count, { af });
    return msgs;
  }

  async run(): Promise<PollSummary> {
    const clock = this.o.clockNs ?? makeWallClockNs();
    const summary: PollSummary = { polls: 0, failedPolls: 0, dumpNs: { v6: 0n, v4: 0n } };
    const interval = BigInt(Math.max(0, Math.round(this.o.intervalNs)));
    const maxErrors = this.o.maxConsecutiveErrors ?? 10;
    let consecutive = 0;
    let next = process.hrtime.bigint();
    let lastStart = -1n;
    while (!this.stopped && (this.o.reps === 0 || summary.polls < this.o.reps)) {
      const start = process.hrtime.bigint();
      if (lastStart >= 0n) this.o.metrics?.pollingInterval.observe(Number(start - lastStart) / 1e9);
      lastStart = start;
      summary.polls++;
      try {
        const v6 = await this.dump(AF_INET6, summary);
        const v6Time = GoTime.fromUnixNanos(clock());
        const v4 = await this.dump(AF_INET, summary);
        const v4Time = GoTime.fromUnixNanos(clock());
        consecutive = 0;
        await this.o.saver.cycle({ v6, v6Time, v4, v4Time });
      } catch (e) {
        if (!isDumpError(e)) throw e;
        summary.failedPolls++;
        this.o.metrics?.errors.inc(1, { type: 'dump failed' });
        this.o.onPollError?.(e as Error);
        if (++consecutive >= maxErrors) throw e;
      }
      if (this.o.reps !== 0 && summary.polls >= this.o.reps) break;
      next += interval;
      const now = process.hrtime.bigint();
      if (next < now) next = now;
      await this.sleep(Number((next - now) / 1_000_000n));
    }
    return summary;
  }
}

/** Errors of a dump (netlink, kernel) as opposed to errors writing the archives. */
function isDumpError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('NETLINK_') && code !== 'NETLINK_UNAVAILABLE' && code !== 'NETLINK_CLOSED';
}
