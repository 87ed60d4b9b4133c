/**
 * The connection record (`record: "conn"`): one per TCP connection, UDP flow
 * or ICMP flow. Names follow Zeek's conn.log wherever Zeek has the concept;
 * tcpkit's own fields use the same orig_/resp_ role prefixes and put units in
 * their names. Field meanings are documented here and nowhere else.
 */
import type { FieldDef, RecordSchema } from './schema.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string, values?: readonly string[]): FieldDef => (values ? { name, type, vocab, doc, values } : { name, type, vocab, doc });

/** Zeek's conn_state codes. */
export const CONN_STATES = ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'] as const;
/** Handshake verdicts: tcpeek's, and tcpkit's abort. */
export const HANDSHAKE_VALUES = ['success', 'reject', 'timeout', 'unreach', 'abort'] as const;

/**
 * Other names for conn fields, accepted wherever a field is named (`--where`,
 * tcpsummary `--by`): the names other tools use for the same values.
 */
export const CONN_ALIASES: Readonly<Record<string, string>> = {
  dst_port: 'resp_p',
  src_port: 'orig_p',
  dst: 'resp_h',
  src: 'orig_h',
  dst_ip: 'resp_h',
  src_ip: 'orig_h',
  state: 'conn_state',
};

/** Both roles of a per-direction field. */
function both(stem: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string): FieldDef[] {
  return [f(`orig_${stem}`, type, vocab, `${doc} (sent by the originator)`), f(`resp_${stem}`, type, vocab, `${doc} (sent by the responder)`)];
}

export const CONN_FIELDS: readonly FieldDef[] = [
  f('ts', 'time', 'zeek', 'Time of the first packet, seconds since the epoch with 9 exact fraction digits (nanoseconds as captured). Readers that parse JSON or CSV numbers as doubles (jq, pandas, DuckDB) keep it to about 0.2 µs; ts_iso keeps every digit.'),
  f('uid', 'string', 'zeek', 'Stable connection id: "C" + 17 base62 characters derived from the 5-tuple, the first timestamp and the flow number, so the same capture gives the same uids on every run.'),
  f('community_id', 'string', 'community-id', 'Community ID v1 (seed 0) of the 5-tuple, as Zeek and Suricata compute it, for joining with their logs.'),
  f('proto', 'string', 'zeek', 'Transport protocol: tcp, udp, icmp (ICMPv6 flows are icmp with ip_version 6, as in Zeek).', ['tcp', 'udp', 'icmp']),
  f('ip_version', 'int', 'tcpkit', '4 or 6.'),
  f('orig_h', 'string', 'zeek', 'Originator address (the SYN sender; see orig_rule).'),
  f('orig_p', 'int', 'zeek', 'Originator port (ICMP: the message type, as Zeek).'),
  f('resp_h', 'string', 'zeek', 'Responder address.'),
  f('resp_p', 'int', 'zeek', 'Responder port (ICMP: the code, or the counterpart type for request/reply pairs, as Community ID).'),
  f('orig_rule', 'string', 'tcpkit', 'How the originator was decided: syn (it sent the SYN), synack (it received the SYN/ACK), ports (ephemeral vs well-known port heuristic, as goProbe and DataDog), first (sender of the first packet), icmp (request/reply type).', ['syn', 'synack', 'ports', 'first', 'icmp']),
  f('encap', 'string', 'tcpkit', "The encapsulation the flow's first packet came through, outer layer first, separated by spaces, each as name[:id=value]: mpls:label=N, pppoe:session=N, pbb:isid=N, vntag, fabricpath, nsh:spi=N, 4in4 / 6in4 / 4in6 / 6in6 (IP in IP), gre[:key=N], erspan1, erspan2:session=N, erspan3:session=N, wccp, pptp:call=N, etherip, eth-in-ip, mpls-in-ip, vxlan:vni=N, vxlan-gpe:vni=N, geneve:vni=N, gtpu:teid=N, teredo, ayiya, mpls-udp, gre-udp, l2tp:session=N (e.g. `vxlan:vni=42`; VLAN tags are in vlan). Empty when none. A tunnelled flow is keyed by its inner 5-tuple and the tunnel (its kind, outer address pair and the VNI, GRE key or ERSPAN session both directions share): the same inner 5-tuple in two tunnels is two flows."),
  f('tunnel_parents', 'string', 'zeek', "Uids of what carried the flow's packets, comma-separated (Zeek's tunnel_parents): for tunnels over UDP (VXLAN, Geneve, GTP-U, Teredo, AYIYA...) the conn records of the carrying UDP flows (one per direction and source port, as Zeek logs them); for tunnels over IP (IP in IP, GRE, ERSPAN) the tunnel's own uid. Empty when not tunnelled."),
  f('last_ts', 'time', 'tcpkit', 'Time of the last packet of the flow.'),
  f('duration', 'seconds', 'zeek', "Zeek's duration, in seconds (exact): from ts to the last packet before both sides had closed (sent a FIN or RST), the packet that closed the second side included; packets after that (the last ACK of a FIN exchange, a late RST) move last_ts only."),
  f('ts_iso', 'string', 'zeek', 'ts as an RFC 3339 / ISO 8601 UTC string with 9 fraction digits (2024-05-01T12:00:00.123456789Z), as Zeek writes ts in its JSON logs with JSON::TS_ISO8601: use it where nanoseconds matter, since text keeps them in every reader (DuckDB: CAST(ts_iso AS TIMESTAMP_NS); pandas: pd.to_datetime).'),
  f('last_ts_iso', 'string', 'tcpkit', 'last_ts as an RFC 3339 UTC string with 9 fraction digits.'),
  ...both('pkts', 'int', 'zeek', 'Packets'),
  ...both('ip_bytes', 'int', 'zeek', 'IP bytes: the IPv4 total length or 40 + IPv6 payload length of every packet, as the headers state them'),
  ...both('frame_bytes', 'int', 'tshark', 'Frame bytes: the original (on-the-wire) length of every frame, as tshark -z conv counts bytes'),
  ...both('payload_bytes', 'int', 'tcpkit', 'Transport payload bytes of every packet, retransmissions included (per the IP lengths, so snaplen cuts do not shrink it)'),
  ...both('bytes', 'int', 'zeek', 'Payload bytes as Zeek counts them: for TCP the span of sequence numbers covered (so retransmissions count once and gaps count as if seen); for UDP and ICMP the payload sum'),
  ...both('truncated_pkts', 'int', 'tcpkit', 'Packets whose bytes were cut by the capture snaplen'),
  ...both('flags', 'string', 'tcpkit', 'Every TCP flag seen, as letters: S SYN, F FIN, R RST, P PSH, A ACK, U URG, E ECE, C CWR'),
  ...both('syn_pkts', 'int', 'tcptrace', 'Packets with SYN set'),
  ...both('fin_pkts', 'int', 'tcptrace', 'Packets with FIN set'),
  ...both('rst_pkts', 'int', 'tcpkit', 'Packets with RST set'),
  ...both('mss', 'int', 'tcptrace', 'MSS option of the SYN or SYN/ACK (empty when absent)'),
  ...both('wscale', 'int', 'tcptrace', 'Window-scale shift of the SYN or SYN/ACK (empty when absent)'),
  ...both('sack_permitted', 'bool', 'tcptrace', 'SACK-permitted option in the SYN or SYN/ACK'),
  ...both('timestamps', 'bool', 'tcptrace', 'Timestamp option in the SYN or SYN/ACK'),
  f('tfo', 'bool', 'tshark', 'The originator used TCP Fast Open (option 34 in its SYN).'),
  f('window_scaling', 'bool', 'tcpkit', 'Window scaling in effect (both SYN and SYN/ACK carried the option, RFC 7323 §2.2).'),
  f('sack', 'bool', 'tcpkit', 'SACK in effect (both sides offered SACK-permitted).'),
  f('icmp_errors', 'int', 'tcpkit', 'ICMP/ICMPv6 error messages whose quoted header names this flow (not counted in its packets, as Zeek; tshark counts them in its conversation).'),
  f('icmp_type', 'int', 'tcpkit', 'Type of the last ICMP error quoting this flow (or, for an ICMP flow, its first message type).'),
  f('icmp_code', 'int', 'tcpkit', 'Code of that ICMP message.'),
  f('vlan', 'int', 'zeek', "Outer 802.1Q VLAN id of the first packet (empty when untagged); for a tunnelled flow, of the frame inside the tunnel, as Zeek's."),
  f('end_reason', 'string', 'tcpkit', 'Why the record was written: fin (both FINs seen, or a FIN the other side never answered), rst_orig or rst_resp (a RST from that side), idle (no packet for --idle-timeout of capture time), eof (input ended while open), interrupted (SIGINT, SIGTERM or SIGHUP), evicted (written early to keep the analysis state within --max-memory, or at --max-flows: flows that closed first, then embryonic flows with no payload and no answer, then the least recently active), interim (tcpcapture: the connection was still open at an archive rotation; its counters so far, and a later record with the same uid is the final one).', ['fin', 'rst_orig', 'rst_resp', 'idle', 'eof', 'interrupted', 'evicted', 'interim']),
  // ---- TCP analysis (part 2)
  f('conn_state', 'string', 'zeek', "Zeek's connection state code (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH), from one pure function of the endpoint states, as Zeek's conn_state().", CONN_STATES),
  f('history', 'string', 'zeek', "Zeek's history letters: upper case originator, lower case responder; s SYN, h SYN/ACK, a pure ACK, d data, f FIN, r RST, g content gap, t retransmitted data, w zero window, i inconsistent, q multi-flag, ^ roles flipped; repetition rules as Zeek."),
  f('missed_bytes', 'int', 'zeek', 'Bytes in content gaps, both directions, as Zeek counts them: a hole in one side\'s data counts when the other side acknowledges past it (the receiver got bytes the capture missed), whatever its size; a hole never acknowledged, such as data lost before the receiver or a capture cut off, counts nowhere here (as in Zeek, whose reassembler reports gaps only on such an ACK) but shows in orig_lost_segment / resp_lost_segment and as orig_bytes minus orig_unique_bytes (likewise resp_).'),
  f('handshake', 'string', 'tcpeek', 'Handshake verdict: success, reject (RST answered the SYN), timeout (no answer within --syn-timeout or before the end of the capture), unreach (an ICMP destination-unreachable quoting the SYN), abort (a tcpkit extension: the SYN sender itself reset before completing the handshake, so the client gave up: an application connect timeout or cancel, or the RST of a SYN scan after the SYN/ACK); empty for connections picked up mid-stream.', HANDSHAKE_VALUES),
  f('handshake_ms', 'float', 'tshark', "tshark's iRTT (tcp.analysis.initial_rtt), ms: from the last SYN (a re-sent SYN restarts it) to the first segment after it with ACK and without SYN, from either side (normally the ACK completing the handshake; the RST/ACK of a refusal). The network round trip seen from the capture point; empty when no SYN was seen or nothing answered it (handshake timeout). Use it for RTT; use connect_ms for how long connecting took."),
  f('connect_ms', 'float', 'tcpeek', "Connect time, ms: from the first SYN to the ACK that completed the handshake, SYN retransmissions included: how long connect() took as the client saw it (tcpeek's handshake time). Empty unless handshake is success. Equals handshake_ms when no SYN was re-sent; a one-second SYN retry adds a second here, not to handshake_ms."),
  f('dup_syn', 'int', 'tcpeek', 'Duplicate SYNs: SYNs from the originator after the first (same ISN).'),
  f('dup_synack', 'int', 'tcpeek', 'Duplicate SYN/ACKs from the responder after the first.'),
  f('reused_ports', 'int', 'tshark', 'SYNs that reused the 4-tuple of an earlier connection with a different ISN (tshark tcp.analysis.reused_ports; the earlier connection was written first).'),
  ...both('retransmission', 'int', 'tshark', 'Segments tshark would flag tcp.analysis.retransmission'),
  ...both('fast_retransmission', 'int', 'tshark', 'Segments flagged tcp.analysis.fast_retransmission'),
  ...both('spurious_retransmission', 'int', 'tshark', 'Segments flagged tcp.analysis.spurious_retransmission'),
  ...both('out_of_order', 'int', 'tshark', 'Segments flagged tcp.analysis.out_of_order'),
  ...both('lost_segment', 'int', 'tshark', 'Segments flagged tcp.analysis.lost_segment (previous segment not captured)'),
  ...both('ack_lost_segment', 'int', 'tshark', 'Segments flagged tcp.analysis.ack_lost_segment (ACKed unseen segment)'),
  ...both('duplicate_ack', 'int', 'tshark', 'Segments flagged tcp.analysis.duplicate_ack'),
  ...both('zero_window', 'int', 'tshark', 'Segments flagged tcp.analysis.zero_window'),
  ...both('zero_window_probe', 'int', 'tshark', 'Segments flagged tcp.analysis.zero_window_probe'),
  ...both('zero_window_probe_ack', 'int', 'tshark', 'Segments flagged tcp.analysis.zero_window_probe_ack'),
  ...both('window_full', 'int', 'tshark', 'Segments flagged tcp.analysis.window_full'),
  ...both('window_update', 'int', 'tshark', 'Segments flagged tcp.analysis.window_update'),
  ...both('keep_alive', 'int', 'tshark', 'Segments flagged tcp.analysis.keep_alive'),
  ...both('keep_alive_ack', 'int', 'tshark', 'Segments flagged tcp.analysis.keep_alive_ack'),
  ...both('unique_bytes', 'int', 'tcptrace', 'Payload bytes sent for the first time: bytes of sequence space not covered by an earlier captured segment, whatever the analysis flags (an out-of-order segment filling a gap is unique; retransmitted copies are not)'),
  ...both('retransmitted_bytes', 'int', 'tcptrace', 'Payload bytes sent again: bytes of sequence space already covered by an earlier captured segment (retransmissions of any kind, keep-alive bytes); unique_bytes + retransmitted_bytes = payload_bytes'),
  ...both('max_bytes_in_flight', 'int', 'tshark', 'Peak unacknowledged bytes (tshark tcp.analysis.bytes_in_flight at its maximum; 0 when tshark would show none)'),
  ...both('rtt_samples', 'int', 'tshark', 'ACK RTT samples taken for data (and SYN/FIN) this side sent, measured when the peer\'s ACK acknowledged a segment exactly (tshark tcp.analysis.ack_rtt: from the oldest listed segment whose end the ACK equals); Karn: none when that data was sent more than once, none of zero or negative duration'),
  ...both('rtt_min_ms', 'float', 'tcptrace', 'Smallest RTT sample, ms, for data this side sent'),
  ...both('rtt_mean_ms', 'float', 'tcptrace', 'Mean RTT sample, ms'),
  ...both('rtt_max_ms', 'float', 'tcptrace', 'Largest RTT sample, ms'),
  ...both('rtt_stdev_ms', 'float', 'tcptrace', 'Sample standard deviation (n - 1) of the RTT samples, ms (0 for one sample)'),
  ...both('srtt_ms', 'float', 'datadog', 'Smoothed RTT as a kernel computes it (RFC 6298: first sample r gives srtt = r, then srtt = 7/8 srtt + 1/8 sample), ms, after the last sample (DataDog RTT)'),
  ...both('rttvar_ms', 'float', 'datadog', 'RTT variance as a kernel computes it (RFC 6298: first sample r gives r/2, then rttvar = 3/4 rttvar + 1/4 |srtt - sample| with the previous srtt), ms (DataDog RTTVar)'),
  f('rtt_ms', 'float', 'tcpkit', "One RTT for the connection: handshake_ms (tshark's iRTT, from the last SYN) when known, else the smoothed RTT of the direction with more samples. Never includes SYN retries (connect_ms does)."),
  ...both('overlap_conflicts', 'int', 'tshark', 'Retransmitted bytes that differ from the bytes first seen at the same sequence numbers (tshark tcp.segment.overlap.conflict)'),
  // ---- application decoding (--decode)
  f('service', 'string', 'zeek', "The application protocol a decoder confirmed (a well-formed first message), in Zeek's names: http, dns, ssl; empty without --decode or when no decoder recognised the flow. Found by port or by the first bytes, so HTTP on port 5000 is http."),
  f('transactions', 'int', 'tcpkit', 'Transaction records written for this flow (HTTP request/response pairs, DNS queries, TLS handshakes); empty when no decoder claimed the flow.'),
  f('failed_transactions', 'int', 'tcpkit', "Of those, the failed ones, in each protocol's meaning: HTTP status 4xx/5xx or no response, DNS rcode other than NOERROR or no response, a TLS alert or no ServerHello."),
];

export const CONN_SCHEMA: RecordSchema = {
  kind: 'conn',
  doc: 'One record per TCP connection, UDP flow or ICMP flow.',
  fields: CONN_FIELDS,
};
