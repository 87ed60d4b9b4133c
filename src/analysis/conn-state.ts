/**
 * Zeek's `conn_state` as one pure function of the two endpoint states
 * (Zeek's scripts/base/protocols/conn/main.zeek, function conn_state()).
 * The endpoint states are Zeek's (TCP_Endpoint.h EndpointState, UDP
 * UDP_EndpointState); the decision order below is Zeek's, rule for rule.
 */
import { IPPROTO_TCP, IPPROTO_UDP } from '../decode/decoded.js';

/** Zeek's TCP endpoint states (analyzer/protocol/tcp/TCP_Endpoint.h), in Zeek's order. */
export const TcpState = {
  INACTIVE: 0,
  SYN_SENT: 1,
  SYN_ACK_SENT: 2,
  PARTIAL: 3,
  ESTABLISHED: 4,
  CLOSED: 5,
  RESET: 6,
} as const;

export const TCP_STATE_NAMES = ['INACTIVE', 'SYN_SENT', 'SYN_ACK_SENT', 'PARTIAL', 'ESTABLISHED', 'CLOSED', 'RESET'] as const;

/** Zeek's UDP endpoint states: a packet was seen from that side or not. */
export const UdpState = { INACTIVE: 0, ACTIVE: 1 } as const;

/** Zeek's RSTOS0 test: the whole history matches /^\^?S[^HAFGIQ]*R.*$/ (Zeek compares a pattern with `==`, an anchored match). */
const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R/;

/**
 * The conn_state code. `proto` is the IP protocol number (6 TCP, 17 UDP,
 * anything else: ICMP etc.); `os`/`rs` the originator's and responder's
 * endpoint state (TcpState or UdpState); `origSize`/`respSize` Zeek's
 * endpoint sizes (only the REJ rule looks at them); `history` Zeek's history
 * string (only the RSTOS0 rule looks at it).
 */
export function connState(proto: number, os: number, rs: number, origSize: number, respSize: number, history: string): string {
  if (proto === IPPROTO_TCP) {
    const oInactive = os === TcpState.INACTIVE || os === TcpState.PARTIAL;
    const rInactive = rs === TcpState.INACTIVE || rs === TcpState.PARTIAL;
    if (rs === TcpState.RESET) {
      if (os === TcpState.SYN_SENT || os === TcpState.SYN_ACK_SENT || (os === TcpState.RESET && origSize === 0 && respSize === 0)) return 'REJ';
      if (oInactive) return 'RSTRH';
      return 'RSTR';
    }
    if (os === TcpState.RESET) {
      if (rInactive) return RSTOS0_HISTORY.test(history) ? 'RSTOS0' : 'OTH';
      return 'RSTO';
    }
    if (rs === TcpState.CLOSED && os === TcpState.CLOSED) return 'SF';
    if (os === TcpState.CLOSED) return rInactive ? 'SH' : 'S2';
    if (rs === TcpState.CLOSED) return oInactive ? 'SHR' : 'S3';
    if (os === TcpState.SYN_SENT && rs === TcpState.INACTIVE) return 'S0';
    if (os === TcpState.ESTABLISHED && rs === TcpState.ESTABLISHED) return 'S1';
    return 'OTH';
  }
  if (proto === IPPROTO_UDP) {
    if (os === UdpState.ACTIVE) return rs === UdpState.ACTIVE ? 'SF' : 'S0';
    return rs === UdpState.ACTIVE ? 'SHR' : 'OTH';
  }
  return 'OTH';
}
