/**
 * A tcp-info snapshot seen as a connection for the filters: the socket's
 * addresses and ports from its raw inet_diag_msg (linux/inet_diag.h:
 * idiag_family at byte 0, id.idiag_sport and id.idiag_dport big-endian at 4
 * and 6, id.idiag_src and id.idiag_dst at 8 and 24). The socket is on the
 * measuring host, so its source side is local; which side originated is
 * decided by the port heuristic (src/util/ports.ts), as for a flow whose SYN
 * was not seen.
 */
import type { RecordValues } from '../records/schema.js';
import { formatAddr } from '../util/ip.js';
import { clientByPorts } from '../util/ports.js';

const AF_INET = 2;
const AF_INET6 = 10;

export interface SocketRecord {
  record: RecordValues;
  /** The local socket originated the connection (tcpeek TX). */
  tx: boolean;
  /** The local socket accepted it (tcpeek RX). */
  rx: boolean;
}

function word(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) | 0;
}

/** The socket's endpoints, or null when the bytes are too short or the family is not IP. */
export function socketRecord(idm: Uint8Array): SocketRecord | null {
  if (idm.length < 40) return null;
  const family = idm[0]!;
  if (family !== AF_INET && family !== AF_INET6) return null;
  const v = family === AF_INET ? 4 : 6;
  const sport = (idm[4]! << 8) | idm[5]!;
  const dport = (idm[6]! << 8) | idm[7]!;
  const src = v === 4 ? formatAddr(4, word(idm, 8), 0, 0, 0) : formatAddr(6, word(idm, 8), word(idm, 12), word(idm, 16), word(idm, 20));
  const dst = v === 4 ? formatAddr(4, word(idm, 24), 0, 0, 0) : formatAddr(6, word(idm, 24), word(idm, 28), word(idm, 32), word(idm, 36));
  const localIsClient = clientByPorts(sport, dport) >= 0;
  const record: RecordValues = localIsClient
    ? { record: 'socket', proto: 'tcp', ip_version: v, orig_h: src, orig_p: sport, resp_h: dst, resp_p: dport }
    : { record: 'socket', proto: 'tcp', ip_version: v, orig_h: dst, orig_p: dport, resp_h: src, resp_p: sport };
  return { record, tx: localIsClient, rx: !localIsClient };
}
