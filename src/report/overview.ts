/**
 * The report's overview, aggregated while the capture is read, in memory
 * bounded by constants (not by the capture): tcpsummary's totals
 * (src/output/summary.ts: conn_state, handshake verdicts, packets, bytes,
 * RTT percentiles, top talkers, groups by server port, and the transaction
 * totals of txn-summary.ts per kind and server port), the worst connections
 * by each trouble, histograms of RTT, handshake time, duration and
 * retransmission rate, and throughput and connections over capture time.
 */
import type { PacketView } from '../capture/packet.js';
import type { RecordValues } from '../records/schema.js';
import { SummaryBuilder } from '../output/summary.js';
import { num } from '../output/_stats.js';
import { Histogram } from '../graphs/histogram.js';
import { TimeBins } from '../graphs/time-bins.js';
import { TopK, connBytes } from './selection.js';

export const WORST_ROWS = 10;

/** What a worst-connections table shows of a connection. */
export interface ConnBrief {
  uid: string;
  ts: number;
  orig: string;
  resp: string;
  conn_state: string;
  history: string;
  handshake: string;
  rtt_ms: number | null;
  retransmissions: number;
  zero_windows: number;
  duration: number;
  bytes: number;
  service: string;
}

const FAILED = new Set(['timeout', 'reject', 'unreach']);
const RESET_STATES = new Set(['REJ', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH']);

function hostPort(h: unknown, p: unknown): string {
  const s = String(h ?? '');
  return s.includes(':') ? `[${s}]:${p}` : `${s}:${p}`;
}

export function brief(r: RecordValues): ConnBrief {
  const rtt = r['rtt_ms'];
  return {
    uid: String(r['uid']),
    ts: num(r['ts']),
    orig: hostPort(r['orig_h'], r['orig_p']),
    resp: hostPort(r['resp_h'], r['resp_p']),
    conn_state: String(r['conn_state'] ?? ''),
    history: String(r['history'] ?? ''),
    handshake: String(r['handshake'] ?? ''),
    rtt_ms: typeof rtt === 'number' ? rtt : null,
    retransmissions: num(r['orig_retransmission']) + num(r['resp_retransmission']),
    zero_windows: num(r['orig_zero_window']) + num(r['resp_zero_window']),
    duration: num(r['duration']),
    bytes: connBytes(r),
    service: String(r['service'] ?? ''),
  };
}

export class Overview {
  /** tcpsummary's aggregation over every record, grouped by server port. */
  readonly summary = new SummaryBuilder({ filterNames: ['all'], by: 'resp_p' });
  readonly worst = {
    retransmissions: new TopK<ConnBrief>(WORST_ROWS),
    rtt: new TopK<ConnBrief>(WORST_ROWS),
    zero_windows: new TopK<ConnBrief>(WORST_ROWS),
    resets: new TopK<ConnBrief>(WORST_ROWS),
    failed_handshakes: new TopK<ConnBrief>(WORST_ROWS),
  };
  /** Connections in each worst list's class (retransmitting, with an RTT, with zero windows, reset, failed). */
  readonly worstCounts = { retransmissions: 0, rtt: 0, zero_windows: 0, resets: 0, failed_handshakes: 0 };
  readonly hist = {
    rtt_ms: Histogram.log(),
    handshake_ms: Histogram.log(),
    duration_s: Histogram.log(4, -6, 5),
    retransmission_pct: Histogram.linear(0, 100, 20),
  };
  readonly time = new TimeBins(['bytes', 'packets', 'started', 'ended']);
  readonly protos = new Map<string, number>();
  tcpConnections = 0;
  retransmittedSegments = 0;
  packets = 0;
  bytes = 0;
  private firstPacket = Infinity;
  private lastPacket = -Infinity;

  /** Counts a packet (the pipeline's onPacketDone): throughput over capture time. */
  addPacket(pv: PacketView): void {
    const t = pv.sec + pv.nsec / 1e9;
    if (t < this.firstPacket) this.firstPacket = t;
    if (t > this.lastPacket) this.lastPacket = t;
    this.packets++;
    this.bytes += pv.origlen;
    this.time.add('bytes', t, pv.origlen);
    this.time.add('packets', t, 1);
  }

  get span(): { first: number; last: number } | null {
    return this.packets > 0 ? { first: this.firstPacket, last: this.lastPacket } : null;
  }

  /** Counts a record: a connection (conn) or a transaction (http, dns, ssl, ...). */
  addRecord(r: RecordValues): void {
    this.summary.add(r, ['all']);
    if (r['record'] !== undefined && r['record'] !== 'conn') return;
    const proto = String(r['proto']);
    this.protos.set(proto, (this.protos.get(proto) ?? 0) + 1);
    const ts = num(r['ts']);
    const last = num(r['last_ts']) || ts;
    this.time.add('started', ts, 1);
    this.time.add('ended', last, 1);
    if (proto !== 'tcp') return;
    this.tcpConnections++;
    const b = brief(r);
    const later = -b.ts;
    this.retransmittedSegments += b.retransmissions;
    if (b.retransmissions > 0) {
      this.worstCounts.retransmissions++;
      this.worst.retransmissions.offer([b.retransmissions, b.bytes, later], b);
    }
    if (b.rtt_ms !== null) {
      this.worstCounts.rtt++;
      this.worst.rtt.offer([b.rtt_ms, later], b);
      this.hist.rtt_ms.add(b.rtt_ms);
    }
    if (b.zero_windows > 0) {
      this.worstCounts.zero_windows++;
      this.worst.zero_windows.offer([b.zero_windows, later], b);
    }
    if (RESET_STATES.has(b.conn_state) || String(r['end_reason']).startsWith('rst')) {
      this.worstCounts.resets++;
      this.worst.resets.offer([b.bytes, later], b);
    }
    if (FAILED.has(b.handshake)) {
      this.worstCounts.failed_handshakes++;
      this.worst.failed_handshakes.offer([later], b);
    }
    const hs = r['handshake_ms'];
    if (typeof hs === 'number') this.hist.handshake_ms.add(hs);
    this.hist.duration_s.add(b.duration);
    const pkts = num(r['orig_pkts']) + num(r['resp_pkts']);
    if (pkts > 0) this.hist.retransmission_pct.add((100 * b.retransmissions) / pkts);
  }
}
