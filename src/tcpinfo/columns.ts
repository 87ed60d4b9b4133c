/**
 * The tcp-info snapshot columns with types, for typed stores (tcpquery's
 * `tcpinfo` view, Parquet, the schema printer): csvtool's 105 columns in its
 * order, each typed as Go prints it (so the values are exactly the CSV
 * cells): u8/u16/u32 unsigned, the int32/int64 fields signed, addresses and
 * the cookie (%X) as text, the Timestamp as nanoseconds.
 *
 * One name differs from csvtool's header: its second `TCP.LastDataRecv`
 * (tcp-info's csv tag typo for LastAckRecv) is `TCP.LastAckRecv` here,
 * because a table cannot hold two columns of one name.
 */
import { BBRINFO, DCTCPINFO, INET_DIAG_MSG, MEMINFO, VEGASINFO } from './inet_diag.js';
import { SK_MEMINFO } from './sock_diag.js';
import { TCP_INFO } from './tcp_info.js';
import { BE16, BE32, COOKIE, I32, I64, IP, U16, U32, U8, type StructDef } from './layout.js';

/** The same vocabulary as src/records/ddl.ts's LogicalType (structurally). */
export type TcpInfoColumnType = 'string' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'timestamp_ns';

export interface TcpInfoColumn {
  name: string;
  type: TcpInfoColumnType;
  doc: string;
}

function kindType(kind: number): TcpInfoColumnType {
  switch (kind) {
    case U8:
      return 'uint8';
    case U16:
    case BE16:
      return 'uint16';
    case U32:
    case BE32:
      return 'uint32';
    case I32:
      return 'int32';
    case I64:
      return 'int64';
    case IP:
    case COOKIE:
      return 'string';
    default:
      throw new Error(`unknown field kind ${kind}`);
  }
}

const structColumns = (d: StructDef, doc: string): TcpInfoColumn[] =>
  d.fields.map((f) => ({ name: f.name === 'LastAckRecv' && d === TCP_INFO ? 'TCP.LastAckRecv' : f.csv, type: kindType(f.kind), doc: `${doc}: ${f.name}` }));

/** The typed columns, in csvtool's order (see the file comment for the one renamed). */
export const TCPINFO_COLUMNS: readonly TcpInfoColumn[] = [
  { name: 'Timestamp', type: 'timestamp_ns', doc: 'Time of the snapshot (UTC, nanoseconds; the archive line\'s RFC 3339 time with its offset applied).' },
  { name: 'Observed', type: 'uint32', doc: 'Bit mask of the netlink attribute types present in the snapshot (csvtool Observed).' },
  { name: 'NotFullyParsed', type: 'uint32', doc: 'Bit mask of the attribute types that could not be fully decoded (csvtool NotFullyParsed).' },
  ...structColumns(INET_DIAG_MSG, 'struct inet_diag_msg'),
  { name: 'CongestionAlgorithm', type: 'string', doc: 'Congestion control algorithm (INET_DIAG_CONG).' },
  { name: 'TOS', type: 'uint8', doc: 'INET_DIAG_TOS.' },
  { name: 'TClass', type: 'uint8', doc: 'INET_DIAG_TCLASS (IPv6 sockets).' },
  { name: 'ClassID', type: 'uint8', doc: 'INET_DIAG_CLASS_ID (its low byte, as tcp-info).' },
  { name: 'Shutdown', type: 'uint8', doc: 'INET_DIAG_SHUTDOWN.' },
  { name: 'Protocol', type: 'uint8', doc: 'INET_DIAG_PROTOCOL.' },
  { name: 'Mark', type: 'uint32', doc: 'INET_DIAG_MARK.' },
  ...structColumns(TCP_INFO, 'struct tcp_info'),
  ...structColumns(MEMINFO, 'struct inet_diag_meminfo'),
  ...structColumns(SK_MEMINFO, 'SK_MEMINFO'),
  ...structColumns(VEGASINFO, 'struct tcpvegas_info'),
  ...structColumns(DCTCPINFO, 'struct tcp_dctcp_info'),
  ...structColumns(BBRINFO, 'struct tcp_bbr_info'),
];

/** The columns of a tcp-info table (tcpquery's view, Parquet files): the snapshot's, then the connection's UUID from the archive's metadata line. */
export const TCPINFO_TABLE_COLUMNS: readonly TcpInfoColumn[] = [
  ...TCPINFO_COLUMNS,
  { name: 'UUID', type: 'string', doc: "The connection's UUID, from the archive's metadata line (null when the file has none)." },
];
