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
  BAD_ENCAP: 10,
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
  'encapsulation that could not be decoded',
];

/**
 * Encapsulation layers (outer first) that decodePacket removed on the way to
 * the innermost IP header: link-level wrappers (MPLS labels, PPPoE, ...) and
 * tunnels over IP (IP-in-IP, GRE, ERSPAN) or UDP (VXLAN, Geneve, GTP-U, ...).
 * Names as the `encap` field writes them (src/records/conn.ts).
 */
export const Encap = {
  MPLS: 1,
  PPPOE: 2,
  PBB: 3,
  VNTAG: 4,
  FABRICPATH: 5,
  NSH: 6,
  IP4IN4: 7,
  IP6IN4: 8,
  IP4IN6: 9,
  IP6IN6: 10,
  GRE: 11,
  ERSPAN1: 12,
  ERSPAN2: 13,
  ERSPAN3: 14,
  PPTP: 15,
  WCCP: 16,
  ETHERIP: 17,
  ETH_IN_IP: 18,
  MPLS_IN_IP: 19,
  VXLAN: 20,
  VXLAN_GPE: 21,
  GENEVE: 22,
  GTPU: 23,
  TEREDO: 24,
  AYIYA: 25,
  MPLS_UDP: 26,
  GRE_UDP: 27,
  L2TP: 28,
} as const;

/** `encap` token name and the name of its identifier (empty: none), by Encap value. */
export const ENCAP_NAMES: readonly (readonly [string, string])[] = [
  ['', ''],
  ['mpls', 'label'],
  ['pppoe', 'session'],
  ['pbb', 'isid'],
  ['vntag', ''],
  ['fabricpath', ''],
  ['nsh', 'spi'],
  ['4in4', ''],
  ['6in4', ''],
  ['4in6', ''],
  ['6in6', ''],
  ['gre', 'key'],
  ['erspan1', ''],
  ['erspan2', 'session'],
  ['erspan3', 'session'],
  ['pptp', 'call'],
  ['wccp', ''],
  ['etherip', ''],
  ['eth-in-ip', ''],
  ['mpls-in-ip', ''],
  ['vxlan', 'vni'],
  ['vxlan-gpe', 'vni'],
  ['geneve', 'vni'],
  ['gtpu', 'teid'],
  ['teredo', ''],
  ['ayiya', ''],
  ['mpls-udp', ''],
  ['gre-udp', 'key'],
  ['l2tp', 'session'],
];

/** Encapsulation layers recorded per packet (a longer chain keeps decoding, but only these are named). */
export const MAX_ENCAP = 16;
/** Tunnels over IP or UDP removed per packet at most; a deeper one is an undecodable wrapper. */
export const MAX_TUNNELS = 4;

/** Why a wrapper could not be decoded (counted; the packet goes on as its outer flow). */
export const EncapError = {
  NONE: 0,
  /** Tunnel header shorter than its fixed part or cut by the snaplen. */
  TRUNCATED: 1,
  /** Version, flags or lengths that the tunnel's specification does not allow. */
  MALFORMED: 2,
  /** More than MAX_TUNNELS tunnels inside one another. */
  TOO_DEEP: 3,
} as const;

export const ENCAP_ERROR_NAMES = ['', 'header cut short', 'malformed header', `more than ${MAX_TUNNELS} nested tunnels`];

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
  /** Tunnels over IP or UDP removed (0 = none; at most MAX_TUNNELS). */
  tunnelDepth = 0;
  // ---- encapsulation chain (outer first); written only for encapsulated packets
  /** Layers in encapKind / encapId (at most MAX_ENCAP). */
  encapCount = 0;
  readonly encapKind = new Uint8Array(MAX_ENCAP);
  /** The layer's identifier (label, VNI, key, session, TEID...), -1 when it has none. */
  readonly encapId = new Float64Array(MAX_ENCAP);
  /**
   * Per tunnel (index < tunnelDepth): what the flow keying needs of the
   * carrier. tunKind: Encap value; tunVersion: outer IP version; tunAddr:
   * outer source (4 words) then destination (4 words), as sa0.. are;
   * tunVni: the identifier both directions share (VXLAN/Geneve VNI, GRE key,
   * ERSPAN session, ...) or -1; tunSport/tunDport: the carrying UDP ports
   * (-1 for tunnels over IP); tunIpLen / tunUdpLen: outer IP bytes and UDP
   * payload bytes per the headers; tunTruncated: 1 when the snaplen cut the
   * packet; tunEncap: number of encap layers before this tunnel's own;
   * tunVlan: first VLAN id of the frame that carried it (-1 none).
   */
  readonly tunKind = new Uint8Array(MAX_TUNNELS);
  readonly tunVersion = new Uint8Array(MAX_TUNNELS);
  readonly tunAddr = new Int32Array(8 * MAX_TUNNELS);
  readonly tunVni = new Float64Array(MAX_TUNNELS);
  readonly tunSport = new Int32Array(MAX_TUNNELS);
  readonly tunDport = new Int32Array(MAX_TUNNELS);
  readonly tunIpLen = new Int32Array(MAX_TUNNELS);
  readonly tunUdpLen = new Int32Array(MAX_TUNNELS);
  readonly tunTruncated = new Uint8Array(MAX_TUNNELS);
  readonly tunEncap = new Uint8Array(MAX_TUNNELS);
  readonly tunVlan = new Int32Array(MAX_TUNNELS);
  /** EncapError of a wrapper that could not be decoded (0 none) and the Encap kind it was. */
  encapError = 0;
  encapErrorKind = 0;
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
