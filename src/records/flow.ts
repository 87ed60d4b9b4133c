/**
 * The aggregated flow record (`record: "flow"`), written by `tcpcapture
 * packets --flows INTERVAL`: goProbe's flow model (els0r/goProbe: one row
 * per source, destination, destination port and protocol per 5-minute
 * block, with bytes and packets each way), named by role as conn records
 * are. One record per key and interval; the connections behind a key are
 * summed.
 */
import type { FieldDef, RecordSchema } from './schema.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string, values?: readonly string[]): FieldDef => (values ? { name, type, vocab, doc, values } : { name, type, vocab, doc });

export const FLOW_FIELDS: readonly FieldDef[] = [
  f('ts', 'time', 'tcpkit', 'Start of the interval, seconds since the epoch (9 fraction digits): an interval boundary (a multiple of --flows since the epoch, UTC), or the start of the capture for the first interval.'),
  f('end_ts', 'time', 'tcpkit', 'End of the interval: the next boundary, or the end of the capture for the last interval.'),
  f('ts_iso', 'string', 'tcpkit', 'ts as an RFC 3339 UTC string with 9 fraction digits (exact in every reader; ts as a JSON or CSV number is read as a double).'),
  f('end_ts_iso', 'string', 'tcpkit', 'end_ts as an RFC 3339 UTC string with 9 fraction digits.'),
  f('proto', 'string', 'goprobe', 'Transport protocol: tcp, udp, icmp (ICMPv6 flows are icmp with ip_version 6).', ['tcp', 'udp', 'icmp']),
  f('ip_version', 'int', 'tcpkit', '4 or 6.'),
  f('orig_h', 'string', 'goprobe', "Originator address (goProbe's sip): the connection's orig_h, decided as for conn records."),
  f('resp_h', 'string', 'goprobe', "Responder address (goProbe's dip)."),
  f('resp_p', 'int', 'goprobe', "Responder port (goProbe's dport); for ICMP the conn record's resp_p (code, or the counterpart type)."),
  f('orig_pkts', 'int', 'goprobe', 'Packets sent by the originators during the interval.'),
  f('resp_pkts', 'int', 'goprobe', 'Packets sent by the responders during the interval.'),
  f('orig_ip_bytes', 'int', 'goprobe', 'IP bytes (IPv4 total length, or 40 + IPv6 payload length, as conn records count them) sent by the originators during the interval.'),
  f('resp_ip_bytes', 'int', 'goprobe', 'IP bytes sent by the responders during the interval.'),
  f('conns', 'int', 'tcpkit', 'Connections (conn records, by uid) that sent packets under this key during the interval.'),
];

export const FLOW_SCHEMA: RecordSchema = {
  kind: 'flow',
  doc: 'One record per (orig_h, resp_h, resp_p, proto) and --flows interval: packets and bytes each way (goProbe).',
  fields: FLOW_FIELDS,
};
