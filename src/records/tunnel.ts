/**
 * The tunnel record (`record: "tunnel"`), written by `tcpanalyze --tunnels`
 * at the end of the input: one per tunnel the packets came through (Zeek's
 * tunnel.log, which logs each tunnel's discovery and close as two lines,
 * here summarised as one record). A tunnel is what tunnelled flows are keyed
 * by (docs/encapsulation.md): kind, outer address pair, shared identifier.
 */
import type { FieldDef, RecordSchema } from './schema.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string): FieldDef => ({ name, type, vocab, doc });

export const TUNNEL_FIELDS: readonly FieldDef[] = [
  f('ts', 'time', 'zeek', 'Time of the first packet through the tunnel.'),
  f('uid', 'string', 'zeek', "The tunnel's uid: what tunnel_parents names for tunnels over IP (for tunnels over UDP, tunnel_parents names the carrying UDP flows, whose records have the ports)."),
  f('tunnel_type', 'string', 'zeek', "Zeek's tunnel_type, lower case and by tcpkit's encap names: 4in4, 6in4, 4in6, 6in6, gre, erspan1, erspan2, erspan3, wccp, pptp, etherip, eth-in-ip, mpls-in-ip, vxlan, vxlan-gpe, geneve, gtpu, teredo, ayiya, mpls-udp, gre-udp, l2tp."),
  f('encap', 'string', 'tcpkit', 'The tunnel as an encap layer (`vxlan:vni=42`).'),
  f('ip_version', 'int', 'tcpkit', 'IP version of the outer header, 4 or 6.'),
  f('orig_h', 'string', 'zeek', 'Outer source address of the first packet.'),
  f('resp_h', 'string', 'zeek', 'Outer destination address of the first packet.'),
  f('vni', 'int', 'tcpkit', 'The identifier both directions share and the tunnel is keyed by: VXLAN / VXLAN-GPE / Geneve VNI, GRE key, ERSPAN session (empty when none).'),
  f('tunnel_parents', 'string', 'zeek', 'Uid of the tunnel this one is nested in (empty when it is the outermost).'),
  f('last_ts', 'time', 'tcpkit', 'Time of the last packet through the tunnel.'),
  f('pkts', 'int', 'tcpkit', 'Packets through the tunnel, both directions.'),
  f('ip_bytes', 'int', 'tcpkit', 'Outer IP bytes of those packets, as their headers state them.'),
  f('conns', 'int', 'tcpkit', 'Flows (conn records) keyed by this tunnel, that is whose innermost tunnel it was.'),
];

export const TUNNEL_SCHEMA: RecordSchema = {
  kind: 'tunnel',
  doc: 'One record per tunnel (tcpanalyze --tunnels, at the end of the input): Zeek\'s tunnel.log as a summary.',
  fields: TUNNEL_FIELDS,
};
