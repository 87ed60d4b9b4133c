/**
 * linux/inet_diag.h as tcp-info uses it (inetdiag/structs.go, inetdiag.go):
 * attribute types, struct inet_diag_msg (RawIDM), and the small structs
 * carried by attributes (inet_diag_meminfo, tcpvegas_info, tcp_dctcp_info,
 * tcp_bbr_info).
 */
import { BE16, BE32, COOKIE, I64, IP, U16, U32, U8, defineStruct } from './layout.js';

// INET_DIAG_* attribute types (the index into ArchivalRecord.Attributes).
export const INET_DIAG_NONE = 0;
export const INET_DIAG_MEMINFO = 1;
export const INET_DIAG_INFO = 2;
export const INET_DIAG_VEGASINFO = 3;
export const INET_DIAG_CONG = 4;
export const INET_DIAG_TOS = 5;
export const INET_DIAG_TCLASS = 6;
export const INET_DIAG_SKMEMINFO = 7;
export const INET_DIAG_SHUTDOWN = 8;
export const INET_DIAG_DCTCPINFO = 9;
export const INET_DIAG_PROTOCOL = 10;
export const INET_DIAG_SKV6ONLY = 11;
export const INET_DIAG_LOCALS = 12;
export const INET_DIAG_PEERS = 13;
export const INET_DIAG_PAD = 14;
export const INET_DIAG_MARK = 15;
export const INET_DIAG_BBRINFO = 16;
export const INET_DIAG_CLASS_ID = 17;
export const INET_DIAG_MD5SIG = 18;
export const INET_DIAG_ULP_INFO = 19;
export const INET_DIAG_SK_BPF_STORAGES = 20;
export const INET_DIAG_CGROUP_ID = 21;
export const INET_DIAG_SOCKOPT = 22;
/** Go's INET_DIAG_MAX (the kernel has more); MakeArchivalRecord keeps types up to 2 * this. */
export const INET_DIAG_MAX_GO = 19;

export const INET_DIAG_NAMES: readonly string[] = [
  'NONE', 'MEMINFO', 'INFO', 'VEGASINFO', 'CONG', 'TOS', 'TCLASS', 'SKMEMINFO', 'SHUTDOWN', 'DCTCPINFO', 'PROTOCOL',
  'SKV6ONLY', 'LOCALS', 'PEERS', 'PAD', 'MARK', 'BBRINFO', 'CLASS_ID', 'MD5SIG', 'ULP_INFO', 'SK_BPF_STORAGES',
  'CGROUP_ID', 'SOCKOPT',
];

/** sizeof(struct inet_diag_msg), already 4-aligned: the RawIDM length. */
export const INET_DIAG_MSG_SIZE = 72;

export const AF_INET = 2;
export const AF_INET6 = 10;

/** struct inet_diag_msg with struct inet_diag_sockid expanded (csv prefix IDM). */
export const INET_DIAG_MSG = defineStruct('InetDiagMsg', INET_DIAG_MSG_SIZE, 'IDM', [
  ['Family', 0, U8], // idiag_family
  ['State', 1, U8], // idiag_state (TCP state)
  ['Timer', 2, U8], // idiag_timer
  ['Retrans', 3, U8], // idiag_retrans
  ['SPort', 4, BE16, 'SockID.SPort'], // id.idiag_sport (__be16)
  ['DPort', 6, BE16, 'SockID.DPort'], // id.idiag_dport (__be16)
  ['Src', 8, IP, 'SockID.Src'], // id.idiag_src (__be32[4])
  ['Dst', 24, IP, 'SockID.Dst'], // id.idiag_dst
  ['Interface', 40, BE32, 'SockID.Interface'], // id.idiag_if: host order, read big-endian by Go
  ['Cookie', 44, COOKIE, 'SockID.Cookie'], // id.idiag_cookie (__u32[2], [0] low)
  ['Expires', 52, U32], // idiag_expires
  ['Rqueue', 56, U32], // idiag_rqueue
  ['Wqueue', 60, U32], // idiag_wqueue
  ['UID', 64, U32], // idiag_uid
  ['Inode', 68, U32], // idiag_inode
]);

/** struct inet_diag_meminfo (INET_DIAG_MEMINFO). */
export const MEMINFO = defineStruct('MemInfo', 16, 'MemInfo', [
  ['Rmem', 0, U32],
  ['Wmem', 4, U32],
  ['Fmem', 8, U32],
  ['Tmem', 12, U32],
]);

/** struct tcpvegas_info (INET_DIAG_VEGASINFO; also Westwood and Illinois). */
export const VEGASINFO = defineStruct('VegasInfo', 16, 'Vegas', [
  ['Enabled', 0, U32],
  ['RTTCount', 4, U32],
  ['RTT', 8, U32],
  ['MinRTT', 12, U32],
]);

/** struct tcp_dctcp_info (INET_DIAG_DCTCPINFO). */
export const DCTCPINFO = defineStruct('DCTCPInfo', 16, 'DCTCP', [
  ['Enabled', 0, U16],
  ['CEState', 2, U16],
  ['Alpha', 4, U32],
  ['ABEcn', 8, U32],
  ['ABTot', 12, U32],
]);

/**
 * struct tcp_bbr_info (INET_DIAG_BBRINFO): bw_lo, bw_hi, min_rtt, pacing_gain,
 * cwnd_gain = 20 bytes; Go's struct is 24 (int64 BW), so 20 is "short" (ok).
 */
export const BBRINFO = defineStruct('BBRInfo', 24, 'BBR', [
  ['BW', 0, I64],
  ['MinRTT', 8, U32],
  ['PacingGain', 12, U32],
  ['CwndGain', 16, U32],
]);
