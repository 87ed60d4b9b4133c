/**
 * The live packet pipeline behind `tcpcapture packets`: a pcap or pcapng
 * stream (a tcpdump/dumpcap child's stdout, or stdin) runs through the same
 * readers and connection tracker as tcpanalyze; each connection's record is
 * written as it ends into rotating zstd archives (src/live/rotating-archive.ts),
 * connections still open at a rotation get an interim record
 * (`end_reason: "interim"`, same uid as their final record), and with
 * `flowsMs` goProbe-style aggregated flows are written per interval
 * (src/live/flows.ts).
 *
 * Two clocks decide rotations:
 * - `packet`: capture time. A boundary is crossed when the first packet at
 *   or past it arrives (before that packet is analysed), so the same capture
 *   gives the same files on every run (`tcpcapture packets -` uses it).
 * - `wall`: the wall clock, checked four times a second, for live captures.
 *   The tracker's timeouts (idle flows, close lingers, SYN timeouts) then
 *   also run while the link is quiet: capture time is carried forward by the
 *   wall time elapsed since the last packet, less `lagMs`.
 * Boundaries are multiples of the interval since the epoch (UTC); the first
 * interval starts with the capture (first packet, or the start in wall mode).
 */
import { openInput } from '../io/input.js';
import { drivePackets, openCapture } from '../capture/open.js';
import type { PacketView } from '../capture/packet.js';
import { ConnTracker } from '../analysis/tracker.js';
import type { MemoryBudget } from '../util/memory-budget.js';
import { connRecord } from '../analysis/conn-record.js';
import type { Conn } from '../tcp/conn.js';
import { CONN_SCHEMA, FLOW_SCHEMA, toJsonLine } from '../records/index.js';
import { formatEpoch } from '../util/time.js';
import { isToolError } from '../util/errors.js';
import { RotatingArchive } from './rotating-archive.js';
import { FlowAggregator } from './flows.js';

export interface ArchiveMeta {
  tool: string;
  version: string;
  inputs: string[];
  options: Record<string, string | number | boolean | null>;
}

export interface PacketCaptureOptions {
  /** The capture stream (pcap or pcapng, plain or compressed). */
  input: NodeJS.ReadableStream;
  /** Its name in messages. */
  inputName: string;
  clock: 'packet' | 'wall';
  /** Archive rotation interval. */
  rotateMs: number;
  /** Aggregated flow interval, or null for none. */
  flowsMs: number | null;
  /** Output directory. */
  dir: string;
  /** What the metadata line of every archive file says. */
  meta: ArchiveMeta;
  idleTimeoutMs: number;
  closeLingerMs: number;
  synTimeoutMs: number;
  analysis: 'full' | 'flows';
  maxFlows: number;
  /** Memory budget of the analysis state (see TrackerOptions.budget). */
  budget?: MemoryBudget;
  /** Called with each handshake verdict as it is decided (analysis full). */
  onHandshake?: (c: Conn) => void;
  /** Called with each completed archive file (path relative to dir). */
  onFileCompleted?: (relPath: string) => void;
  /** Wall clock in ms since the epoch (default Date.now). */
  now?: () => number;
  /** Wall mode: how far capture time trails the wall clock for timeouts (default 1000 ms). */
  lagMs?: number;
}

export interface PacketCaptureResult {
  /** Data errors (a corrupt or cut capture; an archive file that could not be written); the records before were written. */
  errors: Error[];
  /** Stopped by `stop()` rather than by the end of the input. */
  interrupted: boolean;
}

/**
 * The chunks of a stream until it ends or `stop()` is called; a read pending
 * at the stop ends at once (as the end of the input). Each read has its own
 * small closures: racing every read against one long-lived "stopped"
 * promise would keep every chunk reachable through that promise's reactions.
 */
class StoppableInput implements AsyncIterable<Uint8Array> {
  private stopped = false;
  private cancel: (() => void) | null = null;
  constructor(private readonly stream: NodeJS.ReadableStream) {}

  stop(): void {
    this.stopped = true;
    const c = this.cancel;
    this.cancel = null;
    c?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const it = (this.stream as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
    const done: IteratorResult<Uint8Array> = { done: true, value: undefined };
    return {
      next: (): Promise<IteratorResult<Uint8Array>> => {
        if (this.stopped) return Promise.resolve(done);
        return new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
          this.cancel = () => resolve(done);
          it.next().then(
            (r) => {
              this.cancel = null;
              resolve(r.done ? done : { done: false, value: typeof r.value === 'string' ? Buffer.from(r.value) : r.value });
            },
            (e: unknown) => {
              this.cancel = null;
              // after a stop, the destroyed stream's error is not news
              if (this.stopped) resolve(done);
              else reject(e);
            },
          );
        });
      },
      return: (): Promise<IteratorResult<Uint8Array>> => Promise.resolve(done),
    };
  }
}

const msToSec = (ms: number): number => Math.floor(ms / 1000);
const msToNsec = (ms: number): number => (((ms % 1000) + 1000) % 1000) * 1e6;
const alignUp = (ms: number, period: number): number => (Math.floor(ms / period) + 1) * period;
const alignDown = (ms: number, period: number): number => Math.floor(ms / period) * period;

export class PacketCapture {
  readonly tracker: ConnTracker;
  readonly conns: RotatingArchive;
  readonly flowsArchive: RotatingArchive | null;
  private readonly flows: FlowAggregator | null;
  private readonly opts: PacketCaptureOptions;
  private readonly now: () => number;
  /** Packets read and their bytes on the wire. */
  packets = 0;
  bytes = 0;
  /** Records written: final, interim, flow. */
  finalRecords = 0;
  interimRecords = 0;
  flowRecords = 0;
  firstSec = -1;
  firstNsec = 0;
  lastSec = -1;
  lastNsec = 0;
  /** Wall clock at run() and at the end. */
  startWallMs = 0;
  endWallMs = 0;
  private interrupted = false;
  /** The capture's file header was read. */
  opened = false;
  private stopNow = false;
  private readonly source: StoppableInput;
  // boundaries (ms since the epoch)
  private nextRotateMs = Infinity;
  private nextFlowsMs = Infinity;
  private nextEventMs = -Infinity;
  private flowStartSec = 0;
  private flowStartNsec = 0;
  // wall mode: the last refill's wall time and capture time
  private syncWallMs = 0;
  private syncPacketMs = -1;
  private timer: NodeJS.Timeout | null = null;
  private tickError: Error | null = null;

  constructor(opts: PacketCaptureOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.source = new StoppableInput(opts.input);
    const metaLine = (record: string) => (sec: number, nsec: number): string =>
      JSON.stringify({ tcpkit: { tool: opts.meta.tool, version: opts.meta.version, record, inputs: opts.meta.inputs, options: opts.meta.options, start: formatEpoch(sec, nsec) } });
    this.conns = new RotatingArchive({
      dir: opts.dir,
      prefix: 'conns',
      metaLine: metaLine(CONN_SCHEMA.kind),
      ...(opts.onFileCompleted ? { onCompleted: opts.onFileCompleted } : {}),
    });
    this.flows = opts.flowsMs !== null ? new FlowAggregator() : null;
    this.flowsArchive =
      opts.flowsMs !== null
        ? new RotatingArchive({
            dir: opts.dir,
            subdir: 'flows',
            prefix: 'flows',
            metaLine: metaLine(FLOW_SCHEMA.kind),
            ...(opts.onFileCompleted ? { onCompleted: opts.onFileCompleted } : {}),
          })
        : null;
    this.tracker = new ConnTracker({
      idleTimeoutMs: opts.idleTimeoutMs,
      closeLingerMs: opts.closeLingerMs,
      synTimeoutMs: opts.synTimeoutMs,
      analysis: opts.analysis,
      maxFlows: opts.maxFlows,
      ...(opts.budget ? { budget: opts.budget } : {}),
      ...(opts.onHandshake ? { onHandshake: opts.onHandshake } : {}),
      onFlowEnd: (c) => this.flowEnded(c),
    });
  }

  /**
   * Stops reading: what was already read is analysed, open connections are
   * written with end_reason interrupted. With `readToEnd` (a child tool that
   * was asked to exit) the input is read until it closes.
   */
  stop(readToEnd = false): void {
    this.interrupted = true;
    if (readToEnd) return;
    this.stopNow = true;
    this.source.stop();
  }

  get isInterrupted(): boolean {
    return this.interrupted;
  }

  /** The first archive error, if any (the capture stops on it). */
  get archiveError(): Error | null {
    return this.tickError ?? this.conns.error ?? this.flowsArchive?.error ?? null;
  }

  private flowEnded(c: Conn): void {
    this.flows?.onEnd(c);
    this.conns.write(toJsonLine(CONN_SCHEMA, connRecord(c)));
    this.finalRecords++;
  }

  private readonly onPacket = (pv: PacketView): void => {
    this.packets++;
    this.bytes += pv.origlen;
    if (this.firstSec < 0) this.firstPacket(pv);
    this.lastSec = pv.sec;
    this.lastNsec = pv.nsec;
    if (this.opts.clock === 'packet') {
      const ms = pv.sec * 1000 + Math.floor(pv.nsec / 1_000_000);
      if (ms >= this.nextEventMs) this.crossBoundaries(ms);
    }
    this.tracker.onPacket(pv);
  };

  private firstPacket(pv: PacketView): void {
    this.firstSec = pv.sec;
    this.firstNsec = pv.nsec;
    if (this.opts.clock !== 'packet') return;
    const ms = pv.sec * 1000 + Math.floor(pv.nsec / 1_000_000);
    this.begin(ms, pv.sec, pv.nsec);
  }

  /** The first interval starts at (sec, nsec) = `ms`. */
  private begin(ms: number, sec: number, nsec: number): void {
    this.conns.start(sec, nsec);
    this.nextRotateMs = alignUp(ms, this.opts.rotateMs);
    if (this.flowsArchive !== null) {
      this.flowsArchive.start(sec, nsec);
      this.flowStartSec = sec;
      this.flowStartNsec = nsec;
      this.nextFlowsMs = alignUp(ms, this.opts.flowsMs!);
    }
    this.nextEventMs = Math.min(this.nextRotateMs, this.nextFlowsMs);
  }

  /** Handles every boundary at or before `ms` (capture or wall time) in time order. */
  private crossBoundaries(ms: number): void {
    while (ms >= this.nextEventMs) {
      const t = this.nextEventMs;
      // capture time: what ends before the boundary is written before it (wall time: tick() runs the timeouts)
      if (this.opts.clock === 'packet') this.tracker.advanceTo(t);
      if (t === this.nextFlowsMs) this.endFlowInterval(t);
      if (t === this.nextRotateMs) this.rotateConns(t);
      // Nothing open: the intervals up to `ms` would be empty, so skip them.
      if (this.tracker.openFlows === 0) {
        if (ms >= this.nextRotateMs) {
          const b = alignDown(ms, this.opts.rotateMs);
          this.conns.rotate(msToSec(b), msToNsec(b));
          this.nextRotateMs = b + this.opts.rotateMs;
        }
        if (this.flows !== null && this.flows.size === 0 && ms >= this.nextFlowsMs) {
          const b = alignDown(ms, this.opts.flowsMs!);
          this.flowsArchive!.rotate(msToSec(b), msToNsec(b));
          this.flowStartSec = msToSec(b);
          this.flowStartNsec = msToNsec(b);
          this.nextFlowsMs = b + this.opts.flowsMs!;
        }
      }
      this.nextEventMs = Math.min(this.nextRotateMs, this.nextFlowsMs);
    }
  }

  /** Interim records for the open connections, then the archive moves on to the interval starting at `t`. */
  private rotateConns(t: number): void {
    this.tracker.emitInterim((c) => {
      const r = connRecord(c);
      r['end_reason'] = 'interim';
      this.conns.write(toJsonLine(CONN_SCHEMA, r));
      this.interimRecords++;
    });
    this.conns.rotate(msToSec(t), msToNsec(t));
    this.nextRotateMs = t + this.opts.rotateMs;
  }

  /** Writes the flow records of the interval ending at `t` (ms) or at (sec, nsec) given. */
  private endFlowInterval(t: number, endSec = msToSec(t), endNsec = msToNsec(t)): void {
    const recs = this.flows!.closeInterval(this.tracker.table.all(), formatEpoch(this.flowStartSec, this.flowStartNsec), formatEpoch(endSec, endNsec));
    for (const r of recs) this.flowsArchive!.write(toJsonLine(FLOW_SCHEMA, r));
    this.flowRecords += recs.length;
    this.flowsArchive!.rotate(endSec, endNsec);
    this.flowStartSec = endSec;
    this.flowStartNsec = endNsec;
    this.nextFlowsMs = t + this.opts.flowsMs!;
  }

  /** Wall mode, four times a second: timeouts while the link is quiet, then any boundary passed. */
  private tick(): void {
    try {
      const wall = this.now();
      if (this.syncPacketMs >= 0) this.tracker.advanceTo(this.syncPacketMs + (wall - this.syncWallMs) - (this.opts.lagMs ?? 1000));
      if (wall >= this.nextEventMs) this.crossBoundaries(wall);
    } catch (e) {
      this.tickError ??= e instanceof Error ? e : new Error(String(e));
    }
  }

  /** Reads the capture to its end (or to `stop()`), writing records; completes every archive file. */
  async run(): Promise<PacketCaptureResult> {
    const o = this.opts;
    this.startWallMs = this.now();
    if (o.clock === 'wall') {
      this.begin(this.startWallMs, msToSec(this.startWallMs), msToNsec(this.startWallMs));
      this.timer = setInterval(() => this.tick(), 250);
    }
    const errors: Error[] = [];
    try {
      let input;
      let reader;
      try {
        input = await openInput({ stream: this.source as unknown as NodeJS.ReadableStream, name: o.inputName });
        reader = await openCapture(input);
        this.opened = true;
      } catch (e) {
        // stopped before a capture header arrived: nothing was captured
        if (this.interrupted && isToolError(e) && /^CAPTURE_(EMPTY|TRUNCATED)$/.test(e.code)) input = null;
        else throw e;
      }
      if (input && reader) {
        try {
          const res = await drivePackets([reader], [input], this.onPacket, {
            stop: () => this.stopNow || this.archiveError !== null,
            wait: () => {
              if (o.clock === 'wall') {
                this.syncWallMs = this.now();
                this.syncPacketMs = this.firstSec >= 0 ? this.tracker.nowMs : -1;
              }
              return this.conns.wait() ?? this.flowsArchive?.wait() ?? null;
            },
          });
          for (const e of res.errors) {
            // a record cut by stopping on purpose is not a data error
            if (this.interrupted && isToolError(e) && e.code.includes('TRUNCATED')) continue;
            errors.push(e);
          }
        } finally {
          await input.window.close().catch(() => {});
        }
      }
    } finally {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
    }
    this.endWallMs = this.now();
    this.tracker.finish(this.interrupted ? 'interrupted' : 'eof');
    if (this.flows !== null && this.flowsArchive!.isStarted) {
      const [sec, nsec] = o.clock === 'packet' ? [this.lastSec, this.lastNsec] : [msToSec(this.endWallMs), msToNsec(this.endWallMs)];
      const recs = this.flows.closeInterval([], formatEpoch(this.flowStartSec, this.flowStartNsec), formatEpoch(sec, nsec));
      for (const r of recs) this.flowsArchive!.write(toJsonLine(FLOW_SCHEMA, r));
      this.flowRecords += recs.length;
    }
    let closeError: unknown = null;
    for (const a of [this.conns, this.flowsArchive]) {
      if (a === null) continue;
      try {
        await a.close();
      } catch (e) {
        closeError ??= e;
      }
    }
    if (this.tickError !== null) throw this.tickError;
    if (closeError !== null) {
      // every file that could not be completed, one error each
      errors.push(...this.conns.failures, ...(this.flowsArchive?.failures ?? []));
      if (errors.length === 0) throw closeError;
    }
    return { errors, interrupted: this.interrupted };
  }

  /** Temporary names of archive files being written (for removal at an abnormal exit). */
  tempPaths(): string[] {
    return [...this.conns.tempPaths(), ...(this.flowsArchive?.tempPaths() ?? [])];
  }
}
