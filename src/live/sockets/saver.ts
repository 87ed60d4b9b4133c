/**
 * tcp-info's saver (saver/saver.go, cache/cache.go) for one poll cycle at a
 * time: raw sock_diag payloads of both families in, archive files and flow
 * events out.
 *
 * For every payload (IPv4 then IPv6, as tcp-info's saver takes them):
 * skipped when excluded (exclude.ts), malformed or its cookie is 0; a cookie
 * not seen in the previous poll is a new connection: Open event, record
 * written; else the record is written iff it differs from the previous
 * poll's by more than NO_MAJOR_CHANGE (tcp-info's Compare, done on the raw
 * bytes by raw-compare.ts). Written records are built with
 * makeArchivalRecord and stamped with their family's poll time. At the end
 * of the cycle the cookies not seen are closed: files completed, Close
 * events. `close()` ends every live connection the same way (a clean stop).
 *
 * Memory: per live connection, its last payload (a view into the last
 * poll's datagrams) and an attribute table; nothing else is allocated per
 * socket and poll. Files and compressors exist only for connections with an
 * open segment (see archive.ts).
 */
import { makeArchivalRecord } from '../../tcpinfo/netlink.js';
import type { ArchivalRecord } from '../../tcpinfo/archival-record.js';
import { GoTime } from '../../tcpinfo/go-time.js';
import { NO_MAJOR_CHANGE } from '../../tcpinfo/compare.js';
import { INET_DIAG_INFO, INET_DIAG_MSG_SIZE, INET_DIAG_NAMES } from '../../tcpinfo/inet_diag.js';
import { TCPI_BYTES_RECEIVED, TCPI_BYTES_SENT } from '../../tcpinfo/tcp_info.js';
import { SOCK_DIAG_BY_FAMILY, NLMSG_HDRLEN } from '../../tcpinfo/netlink.js';
import { connectionUuid, type TcpInfoArchiveWriter } from '../../output/tcpinfo-archive.js';
import { EXCLUDE_REASONS, KEEP, SocketFilter } from './exclude.js';
import { FLOW_CLOSE, FLOW_OPEN, flowEventLine } from './eventsocket.js';
import type { SocketsMetrics } from './metrics.js';
import type { MessageBatch } from './netlink-dump.js';
import { compareRaw, newAttrTable, parseAttrTable } from './raw-compare.js';

/** One poll: each family's payloads and the time taken right after its dump. */
export interface PollCycle {
  v6: MessageBatch;
  v6Time: GoTime;
  v4: MessageBatch;
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
  /** Skipped messages by reason: srcport, local, dstip, cookie0, bad (not a parsable sock_diag payload). */
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

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

/** Little-endian u64 as a double (exact below 2^53: byte counters). */
function u64n(b: Uint8Array, o: number): number {
  return u32(b, o + 4) * 4294967296 + u32(b, o);
}

/** One live connection: its last payload and attribute table. */
class Conn {
  buf: Uint8Array;
  off: number;
  len: number;
  tab: Int32Array;
  seen: number;
  constructor(
    readonly cookie: bigint,
    buf: Uint8Array,
    off: number,
    len: number,
    tab: Int32Array,
    seen: number,
  ) {
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.tab = tab;
    this.seen = seen;
  }
}

/** Map key of a cookie: a number when exact (below 2^53, in practice always), else a bigint. */
function cookieKey(lo: number, hi: number): number | bigint {
  return hi < 0x200000 ? hi * 4294967296 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}

export class SocketSaver {
  private readonly o: SaverOptions;
  private readonly filter: SocketFilter;
  private readonly conns = new Map<number | bigint, Conn>();
  private scratch = newAttrTable();
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

  constructor(options: SaverOptions) {
    this.o = options;
    this.filter = options.filter ?? new SocketFilter();
    this.clockNs = options.clockNs ?? systemClockNs;
    this.zone = options.zoneOffsetSec ?? hostZoneOffset;
  }

  /** Connections currently open (seen in the last cycle). */
  get liveConnections(): number {
    return this.conns.size;
  }

  /** Handles one poll cycle; resolves when its writes are done (backpressure for the poller). */
  async cycle(c: PollCycle): Promise<void> {
    const cycle = ++this.counts.cycles;
    await this.family(c.v4, c.v4Time, cycle);
    await this.family(c.v6, c.v6Time, cycle);
    let live = 0;
    for (const [key, conn] of this.conns) {
      if (conn.seen === cycle) {
        live++;
        continue;
      }
      this.conns.delete(key);
      await this.endConnection(conn.cookie);
    }
    this.o.metrics?.cacheCount.observe(live);
    this.rates(c.v4Time);
  }

  private async family(batch: MessageBatch, time: GoTime, cycle: number): Promise<void> {
    const m = this.o.metrics;
    const counts = this.counts;
    for (let i = 0; i < batch.count; i++) {
      const b = batch.bufs[i]!;
      const off = batch.offs[i]!;
      const len = batch.lens[i]!;
      counts.messages++;
      if (len < INET_DIAG_MSG_SIZE) {
        counts.skipped['bad']!++;
        m?.errors.inc(1, { type: 'bad netlink message' });
        continue;
      }
      const why = this.filter.check(b, off);
      if (why !== KEEP) {
        counts.skipped[EXCLUDE_REASONS[why]!]!++;
        continue;
      }
      const lo = u32(b, off + 44);
      const hi = u32(b, off + 48);
      if (lo === 0 && hi === 0) {
        counts.skipped['cookie0']!++;
        continue;
      }
      const tab = this.scratch;
      if (!parseAttrTable(b, off, len, tab)) {
        counts.skipped['bad']!++;
        m?.errors.inc(1, { type: 'bad netlink message' });
        continue;
      }
      const key = cookieKey(lo, hi);
      let conn = this.conns.get(key);
      if (conn !== undefined && conn.seen === cycle) continue; // the same socket twice in one poll: keep the first
      counts.snapshots++;
      m?.snapshots.inc();
      let write = true;
      if (conn === undefined) {
        conn = new Conn((BigInt(hi) << 32n) | BigInt(lo), b, off, len, tab, cycle);
        this.scratch = newAttrTable();
        this.conns.set(key, conn);
        counts.opened++;
        if (m) this.account(b, tab, null, null);
        this.o.onEvent?.(flowEventLine(FLOW_OPEN, time, connectionUuid(this.o.uuidPrefix, conn.cookie), b.subarray(off, off + INET_DIAG_MSG_SIZE)));
        m?.flowEvents.inc(1, { event: 'open' });
      } else {
        write = compareRaw(b, off, tab, conn.buf, conn.off, conn.tab) > NO_MAJOR_CHANGE;
        if (m) this.account(b, tab, conn.buf, conn.tab);
        this.scratch = conn.tab;
        conn.buf = b;
        conn.off = off;
        conn.len = len;
        conn.tab = tab;
        conn.seen = cycle;
      }
      if (!write) continue;
      counts.written++;
      const rec = makeArchivalRecord({ len: len + NLMSG_HDRLEN, type: SOCK_DIAG_BY_FAMILY, flags: 0, seq: 0, pid: 0, data: b.subarray(off, off + len) }, { timestamp: time })!;
      if (m) this.attributeMetrics(rec);
      await this.o.writer.write(conn.cookie, rec, time);
    }
  }

  private async endConnection(cookie: bigint): Promise<void> {
    this.counts.closed++;
    await this.o.writer.end(cookie);
    const ns = this.clockNs();
    const off = this.zone(ns);
    const utc = GoTime.fromUnixNanos(ns);
    const t = off === 0 ? utc : GoTime.fromUnix(utc.unixSeconds(), utc.nsec, off, false);
    this.o.onEvent?.(flowEventLine(FLOW_CLOSE, t, connectionUuid(this.o.uuidPrefix, cookie), null));
    this.o.metrics?.flowEvents.inc(1, { event: 'close' });
  }

  /** Ends every live connection (files completed, Close events): a clean stop. */
  async close(): Promise<void> {
    let first: unknown = null;
    for (const [key, conn] of this.conns) {
      this.conns.delete(key);
      try {
        await this.endConnection(conn.cookie);
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

  /** Adds the bytes sent and received since the previous poll (all of them for a new connection; tcp-info GetStats needs INFO >= 208 bytes). */
  private account(b: Uint8Array, tab: Int32Array, prev: Uint8Array | null, pt: Int32Array | null): void {
    const io = tab[2 * INET_DIAG_INFO]!;
    if (io < 0 || tab[2 * INET_DIAG_INFO + 1]! < TCPI_BYTES_SENT + 8) return;
    const sent = u64n(b, io + TCPI_BYTES_SENT);
    const received = u64n(b, io + TCPI_BYTES_RECEIVED);
    if (prev === null) {
      this.sentBytes += sent;
      this.receivedBytes += received;
      return;
    }
    const po = pt![2 * INET_DIAG_INFO]!;
    if (po < 0 || pt![2 * INET_DIAG_INFO + 1]! < TCPI_BYTES_SENT + 8) return;
    const ps = u64n(prev, po + TCPI_BYTES_SENT);
    const pr = u64n(prev, po + TCPI_BYTES_RECEIVED);
    if (sent >= ps) this.sentBytes += sent - ps;
    if (received >= pr) this.receivedBytes += received - pr;
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
