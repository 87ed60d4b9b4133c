/**
 * The capture pipeline: inputs -> capture readers (merged by time) -> decode
 * -> flow table -> records. Records are handed to `onRecord` as flows end;
 * the caller writes them (see cli/tcpanalyze.ts).
 */
import { openInput, type InputSpec, type OpenedInput } from '../io/input.js';
import { openCapture, drivePackets, type DriveControl } from '../capture/open.js';
import type { CaptureReader, PacketView } from '../capture/packet.js';
import type { Conn } from '../tcp/conn.js';
import { LINKTYPE_NAMES } from '../capture/packet.js';
import type { RecordValues } from '../records/schema.js';
import { ConnTracker, DEFAULT_TRACKER_OPTIONS, type TrackerStats } from './tracker.js';
import { connRecord } from './conn-record.js';
import { tunnelRecord, type Tunnel } from './tunnels.js';
import type { DefragStats } from '../decode/defrag.js';
import type { FlowAnalysis } from './flow-analysis.js';
import type { AppLayer } from './app-layer.js';
import type { MemoryBudget } from '../util/memory-budget.js';

export interface AnalyzeOptions {
  idleTimeoutMs?: number;
  closeLingerMs?: number;
  synTimeoutMs?: number;
  /** 'full' (default) or 'flows' (connection accounting only; see TrackerOptions). */
  analysis?: 'full' | 'flows';
  /** Most flows held at once (see TrackerOptions.maxFlows). */
  maxFlows?: number;
  /** The memory budget of the analysis state (see TrackerOptions.budget). */
  budget?: MemoryBudget;
  /** Called with each handshake verdict as it is decided. */
  onHandshake?: (c: Conn) => void;
  /** Called for every TCP segment with its analysis flags (0 unless `segmentFlags`). */
  onSegment?: (c: Conn, fromA: boolean, pv: PacketView, frame: number, flags: number) => void;
  /** onSegment reads the analysis flags or state of each segment (see TrackerOptions.segmentFlags). */
  segmentFlags?: boolean;
  /** Called with each finished flow's record (and the flow, valid only during the call). */
  onRecord?: (r: RecordValues, c: Conn) => void;
  /** Called at the end of the input with the `tunnel` record of each tunnel the packets came through. */
  onTunnelRecord?: (r: RecordValues) => void;
  /**
   * Where the full analysis runs (default: on this thread). With a
   * RemoteAnalysis the records given to `onRecord` lack the analysis fields,
   * which the analysis thread sends back later (see remote-analysis.ts).
   */
  analyzer?: FlowAnalysis;
  /**
   * Called after each packet with the number (Conn.serial, creation order) of
   * the flow it was counted in and of the connection an ICMP error quoted
   * (0 when none); for a tunnelled packet also the numbers of the tunnels'
   * UDP flows that counted it (`carriers`, the first `carrierCount`
   * entries). The packet view and the array are valid only during the call.
   */
  onPacketDone?: (pv: PacketView, serial: number, linkedSerial: number, reader: CaptureReader, carriers: Int32Array, carrierCount: number) => void;
  /** Application decoders (src/analysis/app-layer.ts); records get `service` and transaction counts. */
  app?: AppLayer;
  control?: DriveControl;
  /** Damage in a capture file that would be counted and skipped (records of zeros) ends that file as a data error. */
  strict?: boolean;
  /** Called about every 65,536 packets and at each buffer refill, for progress displays. */
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  packets: number;
  /** Bytes consumed from the inputs (decompressed). */
  bytes: number;
  openFlows: number;
}

export interface AnalyzeResult {
  stats: TrackerStats;
  /** Data errors (truncated or corrupt inputs); complete packets before each were analysed. */
  errors: Error[];
  /** Reader-level tolerations and skips by reason. */
  readerSkips: Map<string, number>;
  defrag: DefragStats;
  inputs: { name: string; format: string; compression: string; packets: number }[];
  stopped: boolean;
}

export async function openCaptures(specs: InputSpec[], strict = false): Promise<{ inputs: OpenedInput[]; readers: CaptureReader[] }> {
  const inputs: OpenedInput[] = [];
  const readers: CaptureReader[] = [];
  try {
    for (let i = 0; i < specs.length; i++) {
      const input = await openInput(specs[i]!);
      inputs.push(input);
      readers.push(await openCapture(input, i, strict));
    }
  } catch (e) {
    for (const inp of inputs) await inp.window.close().catch(() => {});
    throw e;
  }
  return { inputs, readers };
}

export async function analyzeCaptures(specs: InputSpec[], opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const { inputs, readers } = await openCaptures(specs, opts.strict === true);
  return analyzeReaders(inputs, readers, opts);
}

/**
 * The same on inputs the caller has opened already (and looked at without
 * consuming, as tcpcheck does to tell captures from records); they are
 * closed when the run ends.
 */
export async function analyzeOpened(opened: OpenedInput[], opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const readers: CaptureReader[] = [];
  try {
    for (let i = 0; i < opened.length; i++) readers.push(await openCapture(opened[i]!, i, opts.strict === true));
  } catch (e) {
    for (const inp of opened) await inp.window.close().catch(() => {});
    throw e;
  }
  return analyzeReaders(opened, readers, opts);
}

async function analyzeReaders(inputs: OpenedInput[], readers: CaptureReader[], opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const tracker = new ConnTracker({
    idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_TRACKER_OPTIONS.idleTimeoutMs,
    closeLingerMs: opts.closeLingerMs ?? DEFAULT_TRACKER_OPTIONS.closeLingerMs,
    synTimeoutMs: opts.synTimeoutMs ?? DEFAULT_TRACKER_OPTIONS.synTimeoutMs,
    analysis: opts.analysis ?? 'full',
    maxFlows: opts.maxFlows ?? DEFAULT_TRACKER_OPTIONS.maxFlows,
    ...(opts.budget ? { budget: opts.budget } : {}),
    ...(opts.onHandshake ? { onHandshake: opts.onHandshake } : {}),
    ...(opts.onSegment ? { onSegment: opts.onSegment } : {}),
    ...(opts.segmentFlags ? { segmentFlags: true } : {}),
    ...(opts.analyzer ? { analyzer: opts.analyzer } : {}),
    ...(opts.onTunnelRecord ? { onTunnel: (t: Tunnel) => opts.onTunnelRecord!(tunnelRecord(t, tracker.tunnels)) } : {}),
    ...(opts.app ? { app: opts.app } : {}),
    onFlowEnd: opts.onRecord
      ? opts.app
        ? (c) => {
            const r = connRecord(c);
            opts.app!.fillConnRecord(c, r);
            opts.onRecord!(r, c);
          }
        : (c) => opts.onRecord!(connRecord(c), c)
      : () => {},
  });
  let result;
  try {
    const control = opts.control ?? {};
    const progress = opts.onProgress;
    const stop = control.stop ?? (() => false);
    const polled: DriveControl = progress
      ? {
          ...control,
          stop: () => {
            let bytes = 0;
            for (const inp of inputs) bytes += inp.window.offset;
            progress({ packets: tracker.stats.packets, bytes, openFlows: tracker.openFlows });
            return stop();
          },
        }
      : control;
    const done = opts.onPacketDone;
    const onPacket = done
      ? (p: PacketView): void => {
          tracker.onPacket(p);
          done(p, tracker.lastSerial, tracker.lastLinkedSerial, readers[p.input]!, tracker.lastCarriers, tracker.lastCarrierCount);
        }
      : (p: PacketView): void => tracker.onPacket(p);
    result = await drivePackets(readers, inputs, onPacket, polled);
  } finally {
    for (const inp of inputs) await inp.window.close().catch(() => {});
  }
  tracker.finish(result.stopped ? 'interrupted' : 'eof');
  const readerSkips = new Map<string, number>();
  for (const r of readers) for (const [k, v] of r.skips) readerSkips.set(k, (readerSkips.get(k) ?? 0) + v);
  return {
    stats: tracker.stats,
    errors: result.errors,
    readerSkips,
    defrag: tracker.defrag.stats,
    inputs: inputs.map((inp, i) => ({ name: inp.name, format: readers[i]!.format, compression: inp.compression, packets: readers[i]!.packets })),
    stopped: result.stopped,
  };
}

/** One line describing packets that were not analysed (empty when none). */
export function describeSkips(res: AnalyzeResult): string {
  const parts: string[] = [];
  for (const [k, v] of res.stats.notAnalysed) {
    if (k === 'unknown link type') {
      const lts = [...res.stats.unknownLinkTypes].map(([lt, n]) => `${n} with link type ${lt}${LINKTYPE_NAMES[lt] ? ` (${LINKTYPE_NAMES[lt]})` : ''}`);
      parts.push(`${v} unknown link type: ${lts.join(', ')}`);
    } else parts.push(`${v} ${k}`);
  }
  for (const [k, v] of res.readerSkips) parts.push(`${v} ${k}`);
  for (const [k, v] of res.stats.undecodedEncaps) parts.push(`${v} undecodable wrapper (${k})`);
  for (const [k, v] of res.stats.innerNotAnalysed) parts.push(`${v} inside a tunnel: ${k}`);
  const incomplete = res.defrag.incompleteFragments;
  if (incomplete > 0) parts.push(`${incomplete} IP fragments of datagrams that never completed`);
  return parts.join('; ');
}

/**
 * One line saying how many flows were written early and why (empty when
 * none): `maxMemory` and `maxFlows` are the option values as the user gave
 * them (maxFlows null when not given).
 */
export function describeEvictions(stats: TrackerStats, maxMemory: string, maxFlows: string | null): string {
  if (stats.evictedFlows === 0) return '';
  const parts: string[] = [];
  if (stats.evictedEmbryonic > 0) parts.push(`${stats.evictedEmbryonic} embryonic (no payload, no answer) past their quarter of --max-memory ${maxMemory}`);
  if (stats.evictedForMemory > 0) parts.push(`${stats.evictedForMemory} to keep the analysis state within --max-memory ${maxMemory}`);
  if (stats.evictedForCount > 0) parts.push(`${stats.evictedForCount} at --max-flows ${maxFlows ?? ''}`);
  return `${stats.evictedFlows} flows written early (end_reason evicted): ${parts.join(', ')}`;
}
