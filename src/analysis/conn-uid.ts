/**
 * A flow's Community ID and uid, as its record writes them. Computed when
 * the record is built, or earlier when a tunnelled flow names its carrier
 * as a parent (tunnel_parents), then kept on the flow (Conn.uidText).
 */
import { IPPROTO_TCP, IPPROTO_UDP } from '../decode/decoded.js';
import type { Conn } from '../tcp/conn.js';
import { communityId } from './community-id.js';
import { stableUid } from './uid.js';

/** Community ID v1 of the flow's 5-tuple (the innermost one for tunnelled flows, as Zeek and Suricata compute it). */
export function connCommunityId(c: Conn): string {
  const oA = c.origIsA;
  const oW = oA ? [c.a0, c.a1, c.a2, c.a3] : [c.b0, c.b1, c.b2, c.b3];
  const rW = oA ? [c.b0, c.b1, c.b2, c.b3] : [c.a0, c.a1, c.a2, c.a3];
  const oP = oA ? c.aPort : c.bPort;
  const rP = oA ? c.bPort : c.aPort;
  const isIcmp = c.proto !== IPPROTO_TCP && c.proto !== IPPROTO_UDP;
  // one-way ICMP messages keep their direction in the Community ID
  const oneWay = isIcmp && c.origRule !== 'icmp';
  return communityId(c.ipVersion, c.proto, oW, oP, rW, rP, oneWay);
}

/** The flow's uid: from its Community ID, first timestamp and flow number. */
export function connUid(c: Conn, cid = connCommunityId(c)): string {
  return c.uidText ?? stableUid(cid, c.firstSec, c.firstNsec, c.serial);
}
