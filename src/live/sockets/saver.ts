/**
 * tcp-info's saver (saver/saver.go) for one poll cycle at a time: raw
 * sock_diag messages of both families in, archive files and flow events out.
 *
 * For every message (IPv4 then IPv6, as tcp-info's saver takes them):
 * makeArchivalRecord stamped with its family's poll time; skipped when
 * excluded (exclude.ts) or its cookie is 0; then the record cache
 * (src/tcpinfo/cache.ts) gives the same cookie's record of the previous poll:
 * none → a new connection: Open event, record written; else written iff
 * compareRecords says more than NO_MAJOR_CHANGE. At the end of the cycle,
 * the cookies not seen are closed: their files completed, Close events.
 * `close()` ends every live connection the same way (a clean stop).
 *
 * Memory: one record (the last poll's) per live connection, dropped when
 * the connection goes; files and their compressors only for connections
 * with an open segment.
 */
import type { NetlinkMessage } from '../../tcpinfo/netlink.js';
import { makeArchivalRecord } from '../../tcpinfo/netlink.js';
import type { ArchivalRecord } from '../../tcpinfo/archival-record.js';
import { GoTime } from '../../tcpinfo/go-time.js';
import { RecordCache, recordCookie } from '../../tcpinfo/cache.js';
import { compareRecords, NO_MAJOR_CHANGE } from '../../tcpinfo/compare.js';
import { INET_DIAG_INFO, INET_DIAG_NAMES } from '../../tcpinfo/inet_diag.js';
import { TCPI_BYTES_RECEIVED, TCPI_BYTES_SENT } from '../../tcpinfo/tcp_info.js';
import { connectionUuid, type TcpInfoArchiveWriter } from '../../output/tcpinfo-archive.js';
import { EXCLUDE_REASONS, KEEP, SocketFilter } from './exclude.js';
import { FLOW_CLOSE, FLOW_OPEN, flowEventLine } from './eventsocket.js';
import type { SocketsMetrics } from './metrics.js';

/** One poll: each family's messages and the time taken right after its dump. */
export interface PollCycle {
  v6: readonly NetlinkMessage[];
  v6Time: GoTime;
  v4: readonly NetlinkMessage[];
  v4Time: GoTime;
}

export interface SaverOptions {
  writer: TcpInfoArchiveWriter;
  uuidPrefix: string;
  filter?: SocketFilter;
  /** Receives each FlowEvent line (the event socket). */
  onEvent?: (line: string) => void;
  metrics?: SocketsMetrics;
  /** Unix nanoseconds now, for Close event times (default the system clock). */
  clockNs?: () => bigint;
  /** Zone offset (seconds east of UTC) of Close event times at `ns` (default the host's zone). */
  zoneOffsetSec?: (ns: bigint) => number;
}

export interface SaverCounts {
  cycles: number;
  /** Messages seen (before exclusions). */
  messages: number;
  /** Records kept (after exclusions). */
  snapshots: number;
  /** Records written to archives. */
  written: number;
  opened: number;
  closed: number;
  /** Skipped messages by reason: srcport, local, dstip, cookie0, bad (not a parsable sock_diag message). */
  skipped: Record<string, number>;
}

/** Go struct sizes tcp-info decodes attributes into (inetdiag/structs.go); longer payloads count in large_netlink_total. */
const GO_STRUCT_SIZES: readonly [number, number, string][] = [
  [1, 16, 'MemInfo'],
  [2, 232, 'TCPInfo'],
  [3, 16, 'VegasInfo'],
  [7, 36, 'SockMemInfo'],
  [9, 16, 'DCTCPInfo'],
  [16, 24, 'BBRInfo'],
];
/** Attribute types snapshot.Decode handles (everything else is "skipped"). */
const DECODED_TYPES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17]);

function hostZoneOffset(ns: bigint): number {
  return -new Date(Number(ns / 1_000_000n)).getTimezoneOffset() * 60;
}

function systemClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** bytes_sent, bytes_received of a record's tcp_info (tcp-info GetStats: 0 when INFO < 208 bytes). */
function infoBytes(r: ArchivalRecord, out: [number, number]): boolean {
  const info = r.attributes !== null && r.attributes.length > INET_DIAG_INFO ? r.attributes[INET_DIAG_INFO] : null;
  if (!info || info.length < TCPI_BYTES_SENT + 8) return false;
  const dv = new DataView(info.buffer, info.byteOffset, info.byteLength);
  out[0] = dv.getUint32(TCPI_BYTES_SENT + 4, true) * 4294967296 + dv.getUint32(TCPI_BYTES_SENT, true);
  out[1] = dv.getUint32(TCPI_BYTES_RECEIVED + 4, true) * 4294967296 + dv.getUint32(TCPI_BYTES_RECEIVED, true);
  return true;
}

export class SocketSaver {
  private readonly cache = new RecordCache();
  private readonly o: SaverOptions;
  private readonly filter: SocketFilter;
  /** Live connections seen in the last cycle (the cache's previous map holds their records). */
  private live = new Set<bigint>();
  private readonly clockNs: () => bigint;
  private readonly zone: (ns: bigint) => number;
  readonly counts: SaverCounts = {
    cycles: 0,
    messages: 0,
    snapshots: 0,
    written: 0,
    opened: 0,
    closed: 0,
    skipped: { srcport: 0, local: 0, dstip: 0, cookie0: 0, bad: 0 },
  };
  // Send/receive rate accounting, per second of the IPv4 poll time.
  private rateSecond = -1;
  private sentBytes = 0;
  private receivedBytes = 0;
  private readonly cur: [number, number] = [0, 0];
  private readonly prev: [number, number] = [0, 0];

  constructor(options: SaverOptions) {
    this.o = options;
    this.filter = options.filter ?? new SocketFilter();
    this.clockNs = options.clockNs ?? systemClockNs;
    this.zone = options.zoneOffsetSec ?? hostZoneOffset;
  }

  /** Connections currently open (seen in the last cycle). */
  get liveConnections(): number {
    return this.live.size;
  }

  /** Handles one poll cycle; resolves when its writes are done (backpressure for the poller). */
  async cycle(c: PollCycle): Promise<void> {
    const seen = new Set<bigint>();
    await this.family(c.v4, c.v4Time, seen);
    await this.family(c.v6, c.v6Time, seen);
    const gone = this.cache.endCycle();
    for (const cookie of gone.keys()) await this.endConnection(cookie);
    this.live = seen;
    this.counts.cycles++;
    this.o.metrics?.cacheCount.observe(seen.size);
    this.rates(c.v4Time);
  }

  private async family(msgs: readonly NetlinkMessage[], time: GoTime, seen: Set<bigint>): Promise<void> {
    const m = this.o.metrics;
    for (const msg of msgs) {
      this.counts.messages++;
      let r: ArchivalRecord | null;
      try {
        r = makeArchivalRecord(msg, { timestamp: time });
      } catch {
        this.counts.skipped['bad']!++;
        m?.errors.inc(1, { type: 'bad netlink message' });
        continue;
      }
      const why = this.filter.check(r!.rawIdm!);
      if (why !== KEEP) {
        this.counts.skipped[EXCLUDE_REASONS[why]!]!++;
        continue;
      }
      const rec = r!;
      const cookie = recordCookie(rec);
      if (cookie === 0n) {
        this.counts.skipped['cookie0']!++;
        continue;
      }
      if (seen.has(cookie)) continue; // the same socket twice in one poll: keep the first
      seen.add(cookie);
      this.counts.snapshots++;
      m?.snapshots.inc();
      const old = this.cache.update(rec, cookie);
      this.account(rec, old);
      if (old === null) {
        this.counts.opened++;
        this.o.onEvent?.(flowEventLine(FLOW_OPEN, time, connectionUuid(this.o.uuidPrefix, cookie), rec.rawIdm));
        m?.flowEvents.inc(1, { event: 'open' });
      } else if (compareRecords(rec, old) <= NO_MAJOR_CHANGE) {
        continue;
      }
      this.counts.written++;
      if (m) this.attributeMetrics(rec);
      await this.o.writer.write(cookie, rec, time);
    }
  }

  private async endConnection(cookie: bigint): Promise<void> {
    this.counts.closed++;
    await this.o.writer.end(cookie);
    const ns = this.clockNs();
    const t = GoTime.fromUnixNanos(ns);
    const off = this.zone(ns);
    const local = off === 0 ? t : GoTime.fromUnix(t.unixSeconds() + 0, t.nsec, off, false);
    this.o.onEvent?.(flowEventLine(FLOW_CLOSE, local, connectionUuid(this.o.uuidPrefix, cookie), null));
    this.o.metrics?.flowEvents.inc(1, { event: 'close' });
  }

  /** Ends every live connection (files completed, Close events): a clean stop. */
  async close(): Promise<void> {
    const gone = this.cache.endCycle();
    this.live = new Set();
    let first: unknown = null;
    for (const cookie of gone.keys()) {
      try {
        await this.endConnection(cookie);
      } catch (e) {
        first ??= e;
      }
    }
    try {
      await this.o.writer.close();
    } catch (e) {
      first ??= e;
    }
    if (first !== null) throw first;
  }

  private account(rec: ArchivalRecord, old: ArchivalRecord | null): void {
    if (!this.o.metrics || !infoBytes(rec, this.cur)) return;
    if (old !== null && infoBytes(old, this.prev)) {
      if (this.cur[0] >= this.prev[0]) this.sentBytes += this.cur[0] - this.prev[0];
      if (this.cur[1] >= this.prev[1]) this.receivedBytes += this.cur[1] - this.prev[1];
    } else if (old === null) {
      this.sentBytes += this.cur[0];
      this.receivedBytes += this.cur[1];
    }
  }

  /** Once per second of poll time: the bits sent and received by all connections during the last second. */
  private rates(time: GoTime): void {
    const m = this.o.metrics;
    if (!m) return;
    const sec = time.unixSeconds();
    if (this.rateSecond === -1) this.rateSecond = sec;
    if (sec === this.rateSecond) return;
    m.sendRate.observe(this.sentBytes * 8);
    m.receiveRate.observe(this.receivedBytes * 8);
    this.sentBytes = 0;
    this.receivedBytes = 0;
    this.rateSecond = sec;
  }

  private attributeMetrics(rec: ArchivalRecord): void {
    const m = this.o.metrics!;
    const attrs = rec.attributes ?? [];
    for (const [type, size, name] of GO_STRUCT_SIZES) {
      const a = attrs[type];
      if (a && a.length > size) m.largeNetlink.inc(1, { type: name });
    }
    for (let t = 0; t < attrs.length; t++) {
      if (attrs[t] && !DECODED_TYPES.has(t)) m.netlinkSkipped.inc(1, { type: t >= 11 && t <= 14 ? `INET_DIAG_${INET_DIAG_NAMES[t]}` : String(t) });
    }
  }
}
