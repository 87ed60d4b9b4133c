/**
 * linux/netlink.h + rtnetlink attributes as tcp-info reads them
 * (netlink/netlink.go, archival-record.go): raw SOCK_DIAG messages to
 * ArchivalRecords (`MakeArchivalRecord`).
 *
 * A message is a 16-byte little-endian nlmsghdr (len u32, type u16, flags u16,
 * seq u32, pid u32) and a payload: struct inet_diag_msg (72 bytes) followed by
 * route attributes {rta_len u16, rta_type u16, value}, each padded to 4 bytes.
 */
import { ToolError } from '../util/errors.js';
import type { ArchivalRecord } from './archival-record.js';
import { GoTime } from './go-time.js';
import { INET_DIAG_MAX_GO, INET_DIAG_MSG_SIZE } from './inet_diag.js';

export const NLMSG_HDRLEN = 16;
export const SOCK_DIAG_BY_FAMILY = 20;
export const RTA_HDRLEN = 4;

export interface NetlinkMessage {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Payload (len - 16 bytes). */
  data: Uint8Array;
}

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

/**
 * Splits concatenated raw messages (a file of naked messages, as
 * `LoadRawNetlinkMessage` reads them: header.len - 16 payload bytes each).
 */
export function* readRawNetlinkMessages(buf: Uint8Array, name = 'netlink data'): Generator<NetlinkMessage> {
  let p = 0;
  let index = 0;
  while (p < buf.length) {
    index++;
    if (buf.length - p < NLMSG_HDRLEN) {
      throw new ToolError('NETLINK_TRUNCATED', `message header needs ${NLMSG_HDRLEN} bytes, ${buf.length - p} left`, { file: name, packet: index, offset: p });
    }
    const len = u32(buf, p);
    if (len < NLMSG_HDRLEN || p + len > buf.length) {
      throw new ToolError('NETLINK_BAD_LENGTH', `message length ${len} does not fit (${buf.length - p} bytes left)`, { file: name, packet: index, offset: p });
    }
    yield { len, type: u16(buf, p + 4), flags: u16(buf, p + 6), seq: u32(buf, p + 8), pid: u32(buf, p + 12), data: buf.subarray(p + NLMSG_HDRLEN, p + len) };
    p += len;
  }
}

export interface RouteAttr {
  type: number;
  /** Value bytes (a view into the message). */
  value: Uint8Array;
}

/** Go's ParseRouteAttr: rta_len < 4 or past the end is EINVAL. */
export function parseRouteAttrs(b: Uint8Array): RouteAttr[] {
  const out: RouteAttr[] = [];
  let p = 0;
  while (b.length - p >= RTA_HDRLEN) {
    const len = u16(b, p);
    if (len < RTA_HDRLEN || len > b.length - p) {
      throw new ToolError('NETLINK_BAD_ATTRIBUTE', `route attribute length ${len} is invalid (${b.length - p} bytes left; Go: invalid argument)`, { offset: p });
    }
    out.push({ type: u16(b, p + 2), value: b.subarray(p + RTA_HDRLEN, p + len) });
    p += (len + 3) & ~3;
  }
  return out;
}

/** Go's isLocal on an address field: loopback, link-local unicast, multicast or unspecified. */
export function isLocalAddress(b: Uint8Array, o: number): boolean {
  let rest = 0;
  for (let i = 4; i < 16; i++) rest |= b[o + i]!;
  let v4: number[] | null = null;
  if (rest === 0) v4 = [b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!];
  else {
    let head = 0;
    for (let i = 0; i < 10; i++) head |= b[o + i]!;
    if (head === 0 && b[o + 10] === 0xff && b[o + 11] === 0xff) v4 = [b[o + 12]!, b[o + 13]!, b[o + 14]!, b[o + 15]!];
  }
  if (v4 !== null) {
    const [a, c] = [v4[0]!, v4[1]!];
    return a === 127 || (a === 169 && c === 254) || (a >= 224 && a <= 239) || (a | c | v4[2]! | v4[3]!) === 0;
  }
  let all = 0;
  for (let i = 0; i < 15; i++) all |= b[o + i]!;
  if (all === 0 && (b[o + 15] === 1 || b[o + 15] === 0)) return true; // ::1, ::
  if (b[o] === 0xfe && (b[o + 1]! & 0xc0) === 0x80) return true; // fe80::/10
  return b[o] === 0xff; // ff00::/8
}

export interface MakeRecordOptions {
  /** Drop loopback / link-local / multicast / unspecified connections (tcp-info always does). */
  skipLocal?: boolean;
  /** Timestamp to put on the record (default Go's zero time, as MakeArchivalRecord leaves it). */
  timestamp?: GoTime;
}

/**
 * Go's netlink.MakeArchivalRecord: RawIDM = first 72 payload bytes;
 * Attributes[type] = value for every attribute, length = highest type + 1
 * (at most 2 * INET_DIAG_MAX + 1; higher types dropped; a repeated type:
 * last wins); no attributes at all gives `[null]`. Returns null when the
 * message is skipped (local), throws on a message Go rejects.
 */
export function makeArchivalRecord(msg: NetlinkMessage, options: MakeRecordOptions = {}): ArchivalRecord | null {
  if (msg.type !== SOCK_DIAG_BY_FAMILY) throw new ToolError('NETLINK_NOT_TYPE_20', `message type ${msg.type} is not SOCK_DIAG_BY_FAMILY (20)`);
  if (msg.data.length < INET_DIAG_MSG_SIZE) {
    throw new ToolError('NETLINK_SHORT_MESSAGE', `payload of ${msg.data.length} bytes is shorter than struct inet_diag_msg (${INET_DIAG_MSG_SIZE})`);
  }
  const raw = msg.data.subarray(0, INET_DIAG_MSG_SIZE);
  if (options.skipLocal && (isLocalAddress(raw, 8) || isLocalAddress(raw, 24))) return null;
  const attrs = parseRouteAttrs(msg.data.subarray(INET_DIAG_MSG_SIZE));
  let max = 0;
  for (const a of attrs) if (a.type > max) max = a.type;
  if (max > 2 * INET_DIAG_MAX_GO) max = 2 * INET_DIAG_MAX_GO;
  const attributes: (Uint8Array | null)[] = new Array<Uint8Array | null>(max + 1).fill(null);
  for (const a of attrs) if (a.type <= max) attributes[a.type] = a.value;
  return { timestamp: options.timestamp ?? new GoTime(), rawIdm: raw, attributes, metadata: null };
}
