/**
 * Builds the `conn` record (src/records/conn.ts) from a finished flow.
 * Runs once per flow, so plain objects and strings are fine here.
 */
import { emptyRecord, type RecordValues } from '../records/schema.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../decode/decoded.js';
import { Conn, type Half } from '../tcp/conn.js';
import { formatAddr } from '../util/ip.js';
import { formatEpoch, formatIso, formatSpan } from '../util/time.js';
import { connCommunityId, connUid } from './conn-uid.js';
import { ConnAnalysis, HeavyAnalysis } from './conn-analysis.js';
import { Verdict } from './handshake.js';
import { CONN_SCHEMA } from '../records/conn.js';

const FLAG_LETTERS: [number, string][] = [
  [0x02, 'S'], [0x01, 'F'], [0x04, 'R'], [0x08, 'P'], [0x10, 'A'], [0x20, 'U'], [0x40, 'E'], [0x80, 'C'],
];

export function flagLetters(bits: number): string {
  let s = '';
  for (const [b, l] of FLAG_LETTERS) if (bits & b) s += l;
  return s;
}

function protoName(p: number): string {
  return p === IPPROTO_TCP ? 'tcp' : p === IPPROTO_UDP ? 'udp' : 'icmp';
}

const orNull = (v: number): number | null => (v < 0 ? null : v);


export function connRecord(c: Conn): RecordValues {
  const oA = c.origIsA;
  const o: Half = oA ? c.ha : c.hb;
  const r: Half = oA ? c.hb : c.ha;
  const tcp = c.proto === IPPROTO_TCP;
  const cid = connCommunityId(c);
  // Start from a template with every field in schema order (one hidden class
  // for all records; fields not set below stay null).
  const rec: RecordValues = emptyRecord(CONN_SCHEMA);
  rec['ts'] = formatEpoch(c.firstSec, c.firstNsec);
  rec['uid'] = connUid(c, cid);
  rec['community_id'] = cid;
  rec['proto'] = protoName(c.proto);
  rec['ip_version'] = c.ipVersion;
  fillEndpoints(rec, c);
  rec['orig_rule'] = c.origRule;
  rec['encap'] = c.encap;
  rec['tunnel_parents'] = c.parents;
  rec['last_ts'] = formatEpoch(c.lastSec, c.lastNsec);
  rec['duration'] = formatSpan(c.firstSec, c.firstNsec, c.durSec, c.durNsec);
  rec['ts_iso'] = formatIso(c.firstSec, c.firstNsec);
  rec['last_ts_iso'] = formatIso(c.lastSec, c.lastNsec);
  rec['orig_pkts'] = o.pkts;
  rec['resp_pkts'] = r.pkts;
  rec['orig_ip_bytes'] = o.ipBytes;
  rec['resp_ip_bytes'] = r.ipBytes;
  rec['orig_frame_bytes'] = o.frameBytes;
  rec['resp_frame_bytes'] = r.frameBytes;
  rec['orig_payload_bytes'] = o.payloadBytes;
  rec['resp_payload_bytes'] = r.payloadBytes;
  rec['orig_bytes'] = o.maxEnd;
  rec['resp_bytes'] = r.maxEnd;
  rec['orig_truncated_pkts'] = o.truncatedPkts;
  rec['resp_truncated_pkts'] = r.truncatedPkts;
  rec['orig_flags'] = tcp ? flagLetters(o.flagsSeen) : null;
  rec['resp_flags'] = tcp ? flagLetters(r.flagsSeen) : null;
  rec['orig_syn_pkts'] = tcp ? o.synPkts : null;
  rec['resp_syn_pkts'] = tcp ? r.synPkts : null;
  rec['orig_fin_pkts'] = tcp ? o.finPkts : null;
  rec['resp_fin_pkts'] = tcp ? r.finPkts : null;
  rec['orig_rst_pkts'] = tcp ? o.rstPkts : null;
  rec['resp_rst_pkts'] = tcp ? r.rstPkts : null;
  rec['orig_mss'] = tcp ? orNull(o.mss) : null;
  rec['resp_mss'] = tcp ? orNull(r.mss) : null;
  rec['orig_wscale'] = tcp ? orNull(o.wscale) : null;
  rec['resp_wscale'] = tcp ? orNull(r.wscale) : null;
  rec['orig_sack_permitted'] = tcp ? o.sackPermitted : null;
  rec['resp_sack_permitted'] = tcp ? r.sackPermitted : null;
  rec['orig_timestamps'] = tcp ? o.timestamps : null;
  rec['resp_timestamps'] = tcp ? r.timestamps : null;
  rec['tfo'] = tcp ? o.tfo : null;
  rec['window_scaling'] = tcp ? o.wscale >= 0 && r.wscale >= 0 : null;
  rec['sack'] = tcp ? o.sackPermitted && r.sackPermitted : null;
  rec['icmp_errors'] = c.icmpErrors;
  rec['icmp_type'] = orNull(c.icmpType);
  rec['icmp_code'] = orNull(c.icmpCode);
  rec['vlan'] = orNull(c.vlan);
  rec['end_reason'] = c.endReason === 'rst_orig' ? (c.rstFromA === oA ? 'rst_orig' : 'rst_resp') : c.endReason;
  if (c.aux !== null) fillAnalysis(rec, c);
  return rec;
}

/** The originator's and responder's addresses and ports. */
export function fillEndpoints(rec: RecordValues, c: Conn): void {
  if (c.origIsA) {
    rec['orig_h'] = formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3);
    rec['orig_p'] = c.aPort;
    rec['resp_h'] = formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3);
    rec['resp_p'] = c.bPort;
  } else {
    rec['orig_h'] = formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3);
    rec['orig_p'] = c.bPort;
    rec['resp_h'] = formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3);
    rec['resp_p'] = c.aPort;
  }
}

/**
 * The analysis fields of a flow's record, from its ConnAnalysis (Conn.aux):
 * Zeek state and history, tshark flag counts, RTT, handshake. `rec` must
 * already hold the endpoint fields (fillEndpoints).
 */
export function fillAnalysis(rec: RecordValues, c: Conn): void {
  const oA = c.origIsA;
  const tcp = c.proto === IPPROTO_TCP;
  const ca = c.aux as ConnAnalysis;
  ca.zeek.fill(rec, oA, c.proto);
  if (!tcp) {
    rec['missed_bytes'] = 0;
    return;
  }
  ca.seq.fill(rec, oA);
  // Zeek's own gap accounting decides missed_bytes (its field, its meaning)
  rec['missed_bytes'] = ca.zeek.missedBytes;
  ca.hs.fill(rec);
  rec['reused_ports'] = ca.reusedPorts;
  // tshark's iRTT (from the last SYN); connect_ms (from the first SYN) is the handshake's.
  // An unanswered SYN has none: a later ACK of its sender measures no round trip
  const irttNs = ca.hs.verdict === Verdict.TIMEOUT ? -1 : ca.seq.initialRttNs();
  rec['handshake_ms'] = irttNs >= 0 ? Number((irttNs / 1e6).toFixed(6)) : null;
  const best = irttNs >= 0 ? irttNs / 1e6 : ca.seq.bestSrttMs();
  rec['rtt_ms'] = best >= 0 ? Number(best.toFixed(6)) : null;
}

/**
 * The fields fillAnalysis() may set, in schema order: found once by running
 * it for each protocol on a record that notes the names it is given, so the
 * list cannot fall behind the fill functions.
 */
export const ANALYSIS_FIELDS: readonly string[] = (() => {
  const set = new Set<string>();
  const noting = new Proxy({} as RecordValues, {
    set(_t, k) {
      set.add(String(k));
      return true;
    },
    get: () => null,
  });
  for (const proto of [IPPROTO_TCP, IPPROTO_UDP, 1]) {
    const c = new Conn();
    c.proto = proto;
    const ca = new ConnAnalysis();
    ca.heavy = new HeavyAnalysis();
    c.aux = ca;
    fillAnalysis(noting, c);
  }
  return CONN_SCHEMA.fields.map((f) => f.name).filter((n) => set.has(n));
})();
