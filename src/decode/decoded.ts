/**
 * The reused result of decoding one packet: flat numeric fields, no nested
 * objects, no strings. One instance per pipeline; every `decode` call
 * overwrites it (gopacket's DecodingLayerParser idea).
 */

/** IANA protocol numbers used here. */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/** Why a packet could not be decoded down to a flow (skip reasons, counted). */
export const Outcome = {
  OK: 0,
  UNKNOWN_LINKTYPE: 1,
  NOT_IP: 2,
  TRUNCATED_LINK: 3,
  TRUNCATED_IP: 4,
  BAD_IP: 5,
  FRAGMENT: 6,
  OTHER_PROTO: 7,
  TRUNCATED_L4: 8,
  BAD_L4: 9,
} as const;

export const OUTCOME_NAMES = [
  'ok',
  'unknown link type',
  'not IP (ARP, LLC, ...)',
  'link header cut by snaplen',
  'IP header cut by snaplen',
  'malformed IP header',
  'IP fragment (held for reassembly)',
  'IP protocol without flow decoding',
  'transport header cut by snaplen',
  'malformed transport header',
];

/** TCP flag bits as on the wire (byte 13). */
export const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40, CWR = 0x80;

export class Decoded {
  // -0 marks fields that hold doubles (see Half in src/tcp/conn.ts).
  outcome = 0;
  // ---- link
  vlanCount = 0;
  vlanId = -1;
  // ---- IP
  /** 4 or 6 (0 when not IP). */
  ipVersion = 0;
  /**
   * Addresses as signed 32-bit words (read with getInt32 so they stay small
   * integers in V8 and never become heap numbers on the hot path): IPv4 uses
   * a0 only; IPv6 a0..a3. Format with `>>> 0` (util/ip.ts does).
   */
  sa0 = 0; sa1 = 0; sa2 = 0; sa3 = 0;
  da0 = 0; da1 = 0; da2 = 0; da3 = 0;
  /** IP protocol of the transport header (after IPv6 extension headers). */
  proto = 0;
  /** IP bytes as the header states them: IPv4 total length, IPv6 40 + payload length. */
  ipLen = 0;
  ipOff = 0;
  ipId = 0;
  ttl = 0;
  /** Fragment: 1 when this is a fragment (first or not). */
  fragment = 0;
  fragOffset = 0;
  moreFragments = 0;
  /** IPv6: offset just past the Fragment header (start of the fragmentable part). */
  fragHdrEnd = 0;
  /** IP-in-IP encapsulations removed (0 = none). */
  tunnelDepth = 0;
  /** Bytes of Ethernet padding after the IP datagram (not payload). */
  linkPadding = 0;
  // ---- transport
  l4Off = 0;
  /** Transport bytes per the IP header lengths. */
  l4Len = 0;
  /** Transport bytes actually captured (<= l4Len when snaplen cut them). */
  l4Cap = 0;
  sport = 0;
  dport = 0;
  // ---- TCP
  seq = -0;
  ack = -0;
  flags = 0;
  window = 0;
  tcpHdrLen = 0;
  payloadOff = 0;
  /** Payload length per the IP lengths. */
  payloadLen = 0;
  /** Payload bytes captured. */
  payloadCap = 0;
  /** 1 when TCP options or payload were cut by the snaplen. */
  truncated = 0;
  mss = -1;
  wscale = -1;
  sackPermitted = 0;
  hasTimestamps = 0;
  tsVal = -0;
  tsEcr = -0;
  sackCount = 0;
  /** SACK blocks: left0, right0, left1, right1, ... (up to 4 blocks). */
  readonly sack = new Float64Array(8);
  /** TCP Fast Open option: -1 absent, else cookie length (0 = cookie request). */
  tfoCookieLen = -1;
  /** 1 when an option's length field was invalid. */
  badOption = 0;
  // ---- ICMP / ICMPv6
  icmpType = -1;
  icmpCode = -1;
  /** ICMP echo identifier (for flow keys). */
  icmpId = 0;
  /** Embedded ("quoted") original datagram of an ICMP error: 0 when absent. */
  innerVersion = 0;
  innerProto = 0;
  isa0 = 0; isa1 = 0; isa2 = 0; isa3 = 0;
  ida0 = 0; ida1 = 0; ida2 = 0; ida3 = 0;
  innerSport = -1;
  innerDport = -1;
  innerSeq = -1;
}
