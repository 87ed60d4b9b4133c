/**
 * goProbe-style aggregated flows for `tcpcapture packets --flows INTERVAL`:
 * per interval, one `flow` record (src/records/flow.ts) per originator,
 * responder, responder port and protocol, with packets and IP bytes each
 * way (goProbe's sip, dip, dport, proto key and its 5-minute blocks).
 *
 * Nothing runs per packet: the connection tracker already counts packets
 * and bytes per direction. At each interval boundary every open connection
 * adds what it sent since the previous boundary; a connection that ends adds
 * what it sent since the last boundary it saw. So each packet counts once,
 * in the interval in which it arrived (the boundary is taken when the first
 * packet at or past it arrives, or at the wall-clock tick in live mode).
 * Memory: one entry per connection open at a boundary, one row per key.
 */
import { IPPROTO_TCP, IPPROTO_UDP } from '../decode/decoded.js';
import type { Conn } from '../tcp/conn.js';
import { emptyRecord, FLOW_SCHEMA, type RecordValues } from '../records/index.js';
import { formatAddr } from '../util/ip.js';
import { isoFromEpochText } from '../util/time.js';

interface Row {
  proto: number;
  ipVersion: number;
  origH: string;
  respH: string;
  respP: number;
  origPkts: number;
  respPkts: number;
  origBytes: number;
  respBytes: number;
  conns: number;
}

/** Counters of a connection already counted: packets and IP bytes of sides A and B. */
type Seen = [number, number, number, number];

const protoName = (p: number): string => (p === IPPROTO_TCP ? 'tcp' : p === IPPROTO_UDP ? 'udp' : 'icmp');

export class FlowAggregator {
  private readonly seen = new Map<Conn, Seen>();
  private rows = new Map<string, Row>();

  /** Keys with traffic in the current interval. */
  get size(): number {
    return this.rows.size;
  }

  /** A connection ends (before its record is written): what it sent since the last boundary counts now. */
  onEnd(c: Conn): void {
    const s = this.seen.get(c);
    if (s !== undefined) this.seen.delete(c);
    this.add(c, s);
  }

  /**
   * The interval [start, end) ends: adds every open connection's packets
   * since the last boundary, and returns the interval's records (sorted by
   * key) and starts the next interval empty.
   */
  closeInterval(open: Iterable<Conn>, startTs: string, endTs: string): RecordValues[] {
    for (const c of open) {
      const s = this.seen.get(c);
      this.add(c, s);
      const now: Seen = [c.ha.pkts, c.hb.pkts, c.ha.ipBytes, c.hb.ipBytes];
      if (s === undefined) this.seen.set(c, now);
      else s.splice(0, 4, ...now);
    }
    const rows = [...this.rows.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    this.rows = new Map();
    return rows.map(([, r]) => {
      const rec = emptyRecord(FLOW_SCHEMA);
      rec['ts'] = startTs;
      rec['end_ts'] = endTs;
      rec['ts_iso'] = isoFromEpochText(startTs);
      rec['end_ts_iso'] = isoFromEpochText(endTs);
      rec['proto'] = protoName(r.proto);
      rec['ip_version'] = r.ipVersion;
      rec['orig_h'] = r.origH;
      rec['resp_h'] = r.respH;
      rec['resp_p'] = r.respP;
      rec['orig_pkts'] = r.origPkts;
      rec['resp_pkts'] = r.respPkts;
      rec['orig_ip_bytes'] = r.origBytes;
      rec['resp_ip_bytes'] = r.respBytes;
      rec['conns'] = r.conns;
      return rec;
    });
  }

  private add(c: Conn, s: Seen | undefined): void {
    const aPkts = c.ha.pkts - (s ? s[0] : 0);
    const bPkts = c.hb.pkts - (s ? s[1] : 0);
    if (aPkts === 0 && bPkts === 0) return;
    const aBytes = c.ha.ipBytes - (s ? s[2] : 0);
    const bBytes = c.hb.ipBytes - (s ? s[3] : 0);
    const oA = c.origIsA;
    const origH = oA ? formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3) : formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3);
    const respH = oA ? formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3) : formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3);
    const respP = oA ? c.bPort : c.aPort;
    // the key sorts by protocol, then addresses and port (text order)
    const key = `${protoName(c.proto)}|${c.ipVersion}|${origH}|${respH}|${String(respP).padStart(5, '0')}`;
    let r = this.rows.get(key);
    if (r === undefined) {
      r = { proto: c.proto, ipVersion: c.ipVersion, origH, respH, respP, origPkts: 0, respPkts: 0, origBytes: 0, respBytes: 0, conns: 0 };
      this.rows.set(key, r);
    }
    r.origPkts += oA ? aPkts : bPkts;
    r.respPkts += oA ? bPkts : aPkts;
    r.origBytes += oA ? aBytes : bBytes;
    r.respBytes += oA ? bBytes : aBytes;
    r.conns++;
  }
}
