/**
 * linux/tcp.h struct tcp_info (INET_DIAG_INFO) as tcp-info's Go
 * `tcp.LinuxTCPInfo` reads it: 232 bytes (kernel 5.4). Older kernels send
 * less (104 .. 224 bytes: missing fields read as 0); kernels >= 6.2 send
 * more (240, 248, 280 bytes: the extra fields are ignored and the record is
 * flagged NotFullyParsed). Kernel u64 counters are Go int64 and the two
 * segment counters Go int32, so they print signed.
 */
import { I32, I64, U32, U8, defineStruct } from './layout.js';

export const TCP_INFO = defineStruct('LinuxTCPInfo', 232, 'TCP', [
  ['State', 0, U8], // tcpi_state
  ['CAState', 1, U8], // tcpi_ca_state
  ['Retransmits', 2, U8],
  ['Probes', 3, U8],
  ['Backoff', 4, U8],
  ['Options', 5, U8],
  ['WScale', 6, U8], // snd_wscale:4 | rcv_wscale:4, printed as one byte
  ['AppLimited', 7, U8], // delivery_rate_app_limited:1 (+ fastopen_client_fail:2), one byte
  ['RTO', 8, U32],
  ['ATO', 12, U32],
  ['SndMSS', 16, U32],
  ['RcvMSS', 20, U32],
  ['Unacked', 24, U32],
  ['Sacked', 28, U32],
  ['Lost', 32, U32],
  ['Retrans', 36, U32],
  ['Fackets', 40, U32],
  ['LastDataSent', 44, U32],
  ['LastAckSent', 48, U32],
  ['LastDataRecv', 52, U32],
  ['LastAckRecv', 56, U32, 'LastDataRecv'], // csv tag typo in tcp-info: the header repeats TCP.LastDataRecv
  ['PMTU', 60, U32],
  ['RcvSsThresh', 64, U32],
  ['RTT', 68, U32],
  ['RTTVar', 72, U32],
  ['SndSsThresh', 76, U32],
  ['SndCwnd', 80, U32],
  ['AdvMSS', 84, U32],
  ['Reordering', 88, U32],
  ['RcvRTT', 92, U32],
  ['RcvSpace', 96, U32],
  ['TotalRetrans', 100, U32],
  ['PacingRate', 104, I64], // ~0 (unlimited) prints -1
  ['MaxPacingRate', 112, I64],
  ['BytesAcked', 120, I64],
  ['BytesReceived', 128, I64],
  ['SegsOut', 136, I32],
  ['SegsIn', 140, I32],
  ['NotsentBytes', 144, U32],
  ['MinRTT', 148, U32],
  ['DataSegsIn', 152, U32],
  ['DataSegsOut', 156, U32],
  ['DeliveryRate', 160, I64],
  ['BusyTime', 168, I64],
  ['RWndLimited', 176, I64],
  ['SndBufLimited', 184, I64],
  ['Delivered', 192, U32],
  ['DeliveredCE', 196, U32],
  ['BytesSent', 200, I64],
  ['BytesRetrans', 208, I64],
  ['DSackDups', 216, U32],
  ['ReordSeen', 220, U32],
  ['RcvOooPack', 224, U32],
  ['SndWnd', 228, U32],
]);

/** Offsets used by change detection and stats (archival-record.go). */
export const TCPI_LAST_DATA_SENT = 44;
export const TCPI_PMTU = 60;
export const TCPI_BYTES_RECEIVED = 128;
export const TCPI_BUSY_TIME = 168;
export const TCPI_BYTES_SENT = 200;
