/**
 * GraphCollector: the pipeline's `onSegment` hook for the graphs. It keeps a
 * SegmentLog (segment-log.ts) for the connections it is asked for and
 * ignores the rest, so memory is bounded by the selected connections, not
 * the capture.
 *
 * A connection is recognised at its first segment by its uid, computed as
 * its conn record will compute it (src/analysis/conn-uid.ts: the flow is
 * known before it ends), exactly as `--follow` does; its segments are then
 * logged with what the analysis computed for them (the hook runs after
 * tshark's sequence analysis of the segment): the analysis bits that
 * `--flags` prints, the duplicate-ACK number, the ACK RTT and the smoothed
 * RTT after it, bytes in flight, and the window scaled as tshark scales it.
 * When the connection's record is written (`onRecord`) its log is complete.
 *
 * In a pipeline without the full analysis (analysis 'flows': the report's
 * second pass, 2.5 times faster) the collector runs tshark's sequence
 * analysis itself for the connections it keeps, on the same segments in the
 * same order, so the bits are the same; only reused_ports, which needs the
 * tracker's memory of ended connections, is then never set.
 */
import type { PacketView } from '../capture/packet.js';
import { ACK, SYN, type Decoded } from '../decode/decoded.js';
import type { Conn } from '../tcp/conn.js';
import type { RecordValues } from '../records/schema.js';
import type { ConnAnalysis } from '../analysis/conn-analysis.js';
import { connUid } from '../analysis/conn-uid.js';
import { SeqAnalysis, seqOffset } from '../analysis/seq-analysis.js';
import { formatAddr } from '../util/ip.js';
import { Col, SegmentLog, type SegmentLogOptions } from './segment-log.js';

/** One selected connection's graph data. */
export interface ConnGraphData {
  uid: string;
  /** The connection's number among TCP connections, from 0 (tshark's tcp.stream). */
  tcpStream: number;
  /** Endpoint A (the source of the first packet) and B, as "addr" and port. */
  a: string;
  aPort: number;
  b: string;
  bPort: number;
  /** Which endpoint is the originator (final: a late SYN can settle it). */
  origIsA: boolean;
  /** Time of the first packet (the graphs' time 0), seconds and nanoseconds. */
  firstSec: number;
  firstNsec: number;
  log: SegmentLog;
  /** The conn record, once the connection ended. */
  record: RecordValues | null;
}

interface Tracked {
  g: ConnGraphData;
  /** Per endpoint (0 = A, 1 = B): sequence base known, the base (ISN), and the highest offset seen (for unwrapping). */
  baseSet: [boolean, boolean];
  base: [number, number];
  near: [number, number];
  /** RTT samples counted so far for each endpoint's data (to tell which ACK RTTs counted). */
  rttN: [number, number];
  /** The collector's own sequence analysis, when the pipeline runs none (analysis 'flows'). */
  own: SeqAnalysis | null;
}

export class GraphCollector {
  /** The connections found, by uid, in the order their first segment came. */
  readonly graphs = new Map<string, ConnGraphData>();
  private readonly bySerial = new Map<number, Tracked>();
  private lastSerial = 0;
  private tcpStream = -1;
  private ended = 0;

  /**
   * `uids`: the connections to collect; `logOptions`: the decimation limits
   * (segment-log.ts).
   */
  constructor(
    private readonly uids: ReadonlySet<string>,
    private readonly logOptions: SegmentLogOptions = {},
    /** Connections to collect by tcp.stream number (their order among TCP connections, from 0), told to `onStream` with their uid. */
    private readonly streams: ReadonlySet<number> = new Set(),
    private readonly onStream: (stream: number, uid: string) => void = () => {},
  ) {}

  /** Every requested connection was found and has ended (reading can stop). */
  get complete(): boolean {
    return this.ended === this.uids.size;
  }

  readonly onSegment = (c: Conn, fromA: boolean, pv: PacketView, frame: number, bits: number, d: Decoded): void => {
    let tr = this.bySerial.get(c.serial);
    if (tr === undefined) {
      if (c.serial <= this.lastSerial) return;
      // the first segment of a TCP connection
      this.lastSerial = c.serial;
      this.tcpStream++;
      const uid = connUid(c);
      const byStream = this.streams.has(this.tcpStream);
      if ((!this.uids.has(uid) && !byStream) || this.graphs.has(uid)) return;
      if (byStream) this.onStream(this.tcpStream, uid);
      const g: ConnGraphData = {
        uid,
        tcpStream: this.tcpStream,
        a: formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3),
        aPort: c.aPort,
        b: formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3),
        bPort: c.bPort,
        origIsA: c.origIsA,
        firstSec: c.firstSec,
        firstNsec: c.firstNsec,
        log: new SegmentLog(this.logOptions),
        record: null,
      };
      this.graphs.set(uid, g);
      tr = { g, baseSet: [false, false], base: [0, 0], near: [0, 0], rttN: [0, 0], own: c.aux === null ? new SeqAnalysis() : null };
      this.bySerial.set(c.serial, tr);
    }
    this.add(tr, c, fromA, pv, frame, bits, d);
  };

  /** The pipeline's onRecord: completes the log of a collected connection. */
  onRecord(r: RecordValues, c: Conn): void {
    const tr = this.bySerial.get(c.serial);
    if (tr === undefined) return;
    this.bySerial.delete(c.serial);
    tr.g.record = r;
    tr.g.origIsA = c.origIsA;
    this.ended++;
  }

  private add(tr: Tracked, c: Conn, fromA: boolean, pv: PacketView, frame: number, bits: number, d: Decoded): void {
    let sa: SeqAnalysis;
    if (tr.own !== null) {
      sa = tr.own;
      bits = sa.onSegment(fromA, d, pv.sec, pv.nsec, frame);
    } else sa = (c.aux as ConnAnalysis).seq;
    const log = tr.g.log;
    const row = log.row;
    const x = fromA ? 0 : 1, y = 1 - x;
    const flags = d.flags;
    row[Col.T] = pv.sec - tr.g.firstSec + (pv.nsec - tr.g.firstNsec) / 1e9;
    row[Col.FROM_A] = fromA ? 1 : 0;
    row[Col.FRAME] = frame;
    if (!tr.baseSet[x]) {
      tr.baseSet[x] = true;
      tr.base[x] = flags & SYN ? d.seq : (d.seq - 1) >>> 0;
    }
    const seq = seqOffset(tr.base[x], d.seq, tr.near[x]);
    const len = d.payloadLen;
    row[Col.SEQ] = seq;
    row[Col.LEN] = len;
    if (seq + len > tr.near[x]) tr.near[x] = seq + len;
    if (flags & ACK) {
      if (!tr.baseSet[y]) {
        tr.baseSet[y] = true;
        tr.base[y] = (d.ack - 1) >>> 0;
      }
      const ack = seqOffset(tr.base[y], d.ack, tr.near[y]);
      if (ack > tr.near[y]) tr.near[y] = ack;
      row[Col.ACK] = ack;
    } else row[Col.ACK] = NaN;
    row[Col.WIN] = sa.scaledWindow(fromA, d.window, flags);
    row[Col.TCP_FLAGS] = flags;
    row[Col.BITS] = bits;
    row[Col.DUP_ACK_NUM] = sa.dupAckNum;
    // an ACK from this side measures the RTT of the peer's data
    if (sa.hasAckRtt) {
      const n = sa.rttSamples(!fromA);
      row[Col.RTT] = sa.ackRttMs;
      row[Col.RTT_VALID] = n > tr.rttN[y] ? 1 : 0;
      tr.rttN[y] = n;
      row[Col.SRTT] = n > 0 ? sa.srttMs(!fromA) : NaN;
      row[Col.RTTVAR] = n > 0 ? sa.rttvarMs(!fromA) : NaN;
    } else {
      row[Col.RTT] = NaN;
      row[Col.RTT_VALID] = 0;
      row[Col.SRTT] = NaN;
      row[Col.RTTVAR] = NaN;
    }
    row[Col.BIF] = sa.bytesInFlight >= 0 ? sa.bytesInFlight : NaN;
    const sn = d.sackCount;
    row[Col.SACK_N] = sn;
    if (sn > 0) {
      // SACK blocks acknowledge the peer's data: offsets in its sequence space
      if (!tr.baseSet[y]) {
        tr.baseSet[y] = true;
        tr.base[y] = (d.sack[0]! - 1) >>> 0;
      }
      for (let k = 0; k < 2 * sn; k++) log.rowSack[k] = seqOffset(tr.base[y], d.sack[k]!, tr.near[y]);
    }
    log.commit();
  }
}
