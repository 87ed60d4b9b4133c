/**
 * The TLS handshake messages tcpkit reads (RFC 8446 §4, RFC 5246 §7.4):
 * ClientHello and ServerHello with their extensions, the HelloRetryRequest
 * (a ServerHello with a fixed random), the ServerKeyExchange's group or DH
 * size, the NewSessionTicket's lifetime hint, and the SSLv2-compatible
 * ClientHello. Each parser takes one whole message body (bounded by the
 * decoder's limits), checks every length before reading, and returns either
 * what it found or the reason the bytes are not that message: it never
 * throws and never reads past `end`.
 */
import { text } from './_bytes.js';

export const EXT_SERVER_NAME = 0;
export const EXT_SUPPORTED_GROUPS = 10;
export const EXT_EC_POINT_FORMATS = 11;
export const EXT_SIGNATURE_ALGORITHMS = 13;
export const EXT_ALPN = 16;
export const EXT_SESSION_TICKET = 35;
export const EXT_PRE_SHARED_KEY = 41;
export const EXT_SUPPORTED_VERSIONS = 43;
export const EXT_PSK_KEY_EXCHANGE_MODES = 45;
export const EXT_KEY_SHARE = 51;
export const EXT_ECH = 0xfe0d;

/** SHA-256("HelloRetryRequest"): the random of a HelloRetryRequest (RFC 8446 §4.1.3). */
const HRR_RANDOM = [
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

export interface ClientHello {
  version: number;
  /** Session id as hex ('' when empty). */
  sessionId: string;
  ciphers: number[];
  compMethods: number[];
  /** Extension types in order. */
  exts: number[];
  serverName: string | null;
  alpn: string[] | null;
  /** The first ALPN value's raw bytes (JA4 looks at its first and last byte). */
  alpnFirst: Uint8Array | null;
  groups: number[] | null;
  pointFormats: number[] | null;
  /** signature_algorithms entries (u16) in order. */
  sigalgs: number[] | null;
  supportedVersions: number[] | null;
  keyShareGroups: number[] | null;
  pskModes: number[] | null;
  psk: boolean;
  /** A SessionTicket extension with a ticket in it. */
  ticket: boolean;
  echKdf: number;
  echAead: number;
  /** An SSLv2-compatible ClientHello (RFC 5246 appendix E.2): ciphers are 3-byte specs, no extensions. */
  v2: boolean;
}

export interface ServerHello {
  version: number;
  hrr: boolean;
  sessionId: string;
  cipher: number;
  compMethod: number;
  exts: number[];
  /** supported_versions' one version, -1 when absent. */
  selectedVersion: number;
  /** key_share group (a HelloRetryRequest's selected group), -1 when absent. */
  keyShareGroup: number;
  alpn: string | null;
  psk: boolean;
}

/** What a parser found, or why the bytes are not that message. */
export type Parsed<T> = { ok: true; v: T } | { ok: false; why: string };

const bad = (why: string): { ok: false; why: string } => ({ ok: false, why });

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function hex(b: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) out += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return out;
}

/** u16 values of b[s, e) (e - s even). */
function u16List(b: Uint8Array, s: number, e: number): number[] {
  const out: number[] = [];
  for (let p = s; p + 1 < e; p += 2) out.push(u16(b, p));
  return out;
}

/** A vector with a 1- or 2-byte length prefix at p, inside [p, end): [start, stop] of its content, or null when it overruns. */
function vec(b: Uint8Array, p: number, end: number, lenBytes: 1 | 2): [number, number] | null {
  if (p + lenBytes > end) return null;
  const n = lenBytes === 1 ? b[p]! : u16(b, p);
  const s = p + lenBytes;
  return s + n > end ? null : [s, s + n];
}

/** Parses a ClientHello body b[s, end). `maxChars` bounds text values (SNI, ALPN). */
export function parseClientHello(b: Uint8Array, s: number, end: number, maxChars: number): Parsed<ClientHello> {
  if (end - s < 38) return bad(`ClientHello of ${end - s} bytes is too short`);
  const ch: ClientHello = {
    version: u16(b, s), sessionId: '', ciphers: [], compMethods: [], exts: [], serverName: null, alpn: null, alpnFirst: null,
    groups: null, pointFormats: null, sigalgs: null, supportedVersions: null, keyShareGroups: null, pskModes: null,
    psk: false, ticket: false, echKdf: -1, echAead: -1, v2: false,
  };
  let p = s + 34;
  const sid = vec(b, p, end, 1);
  if (sid === null || sid[1] - sid[0] > 32) return bad('ClientHello session id overruns its message');
  ch.sessionId = hex(b, sid[0], sid[1]);
  p = sid[1];
  const cs = vec(b, p, end, 2);
  if (cs === null || (cs[1] - cs[0]) % 2 !== 0) return bad('ClientHello cipher suites overrun its message');
  ch.ciphers = u16List(b, cs[0], cs[1]);
  p = cs[1];
  const cm = vec(b, p, end, 1);
  if (cm === null) return bad('ClientHello compression methods overrun its message');
  for (let i = cm[0]; i < cm[1]; i++) ch.compMethods.push(b[i]!);
  p = cm[1];
  if (p === end) return { ok: true, v: ch }; // no extensions (SSLv3-era clients)
  const ex = vec(b, p, end, 2);
  if (ex === null) return bad('ClientHello extensions overrun its message');
  if (ex[1] !== end) return bad(`ClientHello has ${end - ex[1]} bytes after its extensions`);
  p = ex[0];
  while (p < ex[1]) {
    if (p + 4 > ex[1]) return bad('ClientHello extension header overruns its message');
    const type = u16(b, p);
    const d = vec(b, p + 2, ex[1], 2);
    if (d === null) return bad(`ClientHello extension 0x${type.toString(16).padStart(4, '0')} overruns its message`);
    ch.exts.push(type);
    const why = clientExtension(ch, type, b, d[0], d[1], maxChars);
    if (why !== null) return bad(`ClientHello extension 0x${type.toString(16).padStart(4, '0')}: ${why}`);
    p = d[1];
  }
  return { ok: true, v: ch };
}

/** Reads one ClientHello extension's data b[s, e) into ch; a reason when it is malformed. */
function clientExtension(ch: ClientHello, type: number, b: Uint8Array, s: number, e: number, maxChars: number): string | null {
  switch (type) {
    case EXT_SERVER_NAME: {
      if (s === e) return null; // a server's empty acknowledgement form; tolerated
      const l = vec(b, s, e, 2);
      if (l === null) return 'server name list overruns';
      let p = l[0];
      while (p < l[1]) {
        if (p + 3 > l[1]) return 'server name entry overruns';
        const n = vec(b, p + 1, l[1], 2);
        if (n === null) return 'server name overruns';
        if (b[p] === 0 && ch.serverName === null) ch.serverName = text(b, n[0], Math.min(n[1], n[0] + maxChars));
        p = n[1];
      }
      return null;
    }
    case EXT_ALPN: {
      const l = vec(b, s, e, 2);
      if (l === null) return 'protocol list overruns';
      const names: string[] = [];
      let p = l[0];
      while (p < l[1]) {
        const n = vec(b, p, l[1], 1);
        if (n === null) return 'protocol name overruns';
        if (ch.alpnFirst === null) ch.alpnFirst = b.slice(n[0], n[1]);
        names.push(text(b, n[0], Math.min(n[1], n[0] + maxChars)));
        p = n[1];
      }
      ch.alpn = names;
      return null;
    }
    case EXT_SUPPORTED_GROUPS:
    case EXT_SIGNATURE_ALGORITHMS: {
      const l = vec(b, s, e, 2);
      if (l === null || (l[1] - l[0]) % 2 !== 0) return 'list overruns';
      if (type === EXT_SUPPORTED_GROUPS) ch.groups = u16List(b, l[0], l[1]);
      else ch.sigalgs = u16List(b, l[0], l[1]);
      return null;
    }
    case EXT_EC_POINT_FORMATS:
    case EXT_PSK_KEY_EXCHANGE_MODES: {
      const l = vec(b, s, e, 1);
      if (l === null) return 'list overruns';
      const v: number[] = [];
      for (let i = l[0]; i < l[1]; i++) v.push(b[i]!);
      if (type === EXT_EC_POINT_FORMATS) ch.pointFormats = v;
      else ch.pskModes = v;
      return null;
    }
    case EXT_SUPPORTED_VERSIONS: {
      const l = vec(b, s, e, 1);
      if (l === null || (l[1] - l[0]) % 2 !== 0) return 'version list overruns';
      ch.supportedVersions = u16List(b, l[0], l[1]);
      return null;
    }
    case EXT_KEY_SHARE: {
      const l = vec(b, s, e, 2);
      if (l === null) return 'key share list overruns';
      const groups: number[] = [];
      let p = l[0];
      while (p < l[1]) {
        if (p + 4 > l[1]) return 'key share entry overruns';
        const k = vec(b, p + 2, l[1], 2);
        if (k === null) return 'key exchange value overruns';
        groups.push(u16(b, p));
        p = k[1];
      }
      ch.keyShareGroups = groups;
      return null;
    }
    case EXT_PRE_SHARED_KEY:
      ch.psk = true;
      return null;
    case EXT_SESSION_TICKET:
      ch.ticket = e > s;
      return null;
    case EXT_ECH:
      // ECHClientHello: type (0 = outer), then cipher suite kdf_id, aead_id (RFC 9849 §5)
      if (e - s >= 5 && b[s] === 0) {
        ch.echKdf = u16(b, s + 1);
        ch.echAead = u16(b, s + 3);
      }
      return null;
    default:
      return null;
  }
}

/**
 * An SSLv2-compatible ClientHello body b[s, end) (after the 2-byte record
 * header): msg type 1, version, cipher spec, session id and challenge lengths.
 */
export function parseV2ClientHello(b: Uint8Array, s: number, end: number): Parsed<ClientHello> {
  if (end - s < 9 || b[s] !== 1) return bad('not an SSLv2 ClientHello');
  const specs = u16(b, s + 3), sid = u16(b, s + 5), chal = u16(b, s + 7);
  if (specs % 3 !== 0 || s + 9 + specs + sid + chal !== end) return bad('SSLv2 ClientHello lengths do not add up');
  const ciphers: number[] = [];
  for (let p = s + 9; p < s + 9 + specs; p += 3) ciphers.push((b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!);
  return {
    ok: true,
    v: {
      version: u16(b, s + 1), sessionId: hex(b, s + 9 + specs, s + 9 + specs + sid), ciphers, compMethods: [], exts: [],
      serverName: null, alpn: null, alpnFirst: null, groups: null, pointFormats: null, sigalgs: null, supportedVersions: null,
      keyShareGroups: null, pskModes: null, psk: false, ticket: false, echKdf: -1, echAead: -1, v2: true,
    },
  };
}

/** Parses a ServerHello (or HelloRetryRequest) body b[s, end). */
export function parseServerHello(b: Uint8Array, s: number, end: number, maxChars: number): Parsed<ServerHello> {
  if (end - s < 38) return bad(`ServerHello of ${end - s} bytes is too short`);
  let hrr = true;
  for (let i = 0; i < 32; i++) {
    if (b[s + 2 + i] !== HRR_RANDOM[i]) {
      hrr = false;
      break;
    }
  }
  const sh: ServerHello = { version: u16(b, s), hrr, sessionId: '', cipher: 0, compMethod: 0, exts: [], selectedVersion: -1, keyShareGroup: -1, alpn: null, psk: false };
  let p = s + 34;
  const sid = vec(b, p, end, 1);
  if (sid === null || sid[1] - sid[0] > 32) return bad('ServerHello session id overruns its message');
  sh.sessionId = hex(b, sid[0], sid[1]);
  p = sid[1];
  if (p + 3 > end) return bad('ServerHello cipher suite overruns its message');
  sh.cipher = u16(b, p);
  sh.compMethod = b[p + 2]!;
  p += 3;
  if (p === end) return { ok: true, v: sh };
  const ex = vec(b, p, end, 2);
  if (ex === null) return bad('ServerHello extensions overrun its message');
  if (ex[1] !== end) return bad(`ServerHello has ${end - ex[1]} bytes after its extensions`);
  p = ex[0];
  while (p < ex[1]) {
    if (p + 4 > ex[1]) return bad('ServerHello extension header overruns its message');
    const type = u16(b, p);
    const d = vec(b, p + 2, ex[1], 2);
    if (d === null) return bad(`ServerHello extension 0x${type.toString(16).padStart(4, '0')} overruns its message`);
    sh.exts.push(type);
    const [ds, de] = d;
    if (type === EXT_SUPPORTED_VERSIONS && de - ds >= 2) sh.selectedVersion = u16(b, ds);
    else if (type === EXT_KEY_SHARE && de - ds >= 2) sh.keyShareGroup = u16(b, ds);
    else if (type === EXT_PRE_SHARED_KEY) sh.psk = true;
    else if (type === EXT_ALPN) {
      const l = vec(b, ds, de, 2);
      const n = l === null ? null : vec(b, l[0], l[1], 1);
      if (n === null) return bad('ServerHello ALPN overruns its extension');
      sh.alpn = text(b, n[0], Math.min(n[1], n[0] + maxChars));
    }
    p = de;
  }
  return { ok: true, v: sh };
}

/** What a ServerKeyExchange says: an ECDHE named curve, or the DH public value's size in bits. */
export interface KeyExchange {
  curve: number;
  dhBits: number;
}

/**
 * The key exchange of a ServerKeyExchange body b[s, end), read according
 * to the chosen cipher suite's name (ECDHE_/ECDH_anon: curve_type 3 and a
 * named curve; DHE_/DH_anon: p, g, then Ys). Null when neither applies or
 * the body is too short.
 */
export function parseServerKeyExchange(b: Uint8Array, s: number, end: number, cipherName: string): KeyExchange | null {
  if (/_ECDHE_|_ECDH_anon_|_ECDH_ANON_/.test(cipherName)) {
    if (end - s >= 3 && b[s] === 3) return { curve: u16(b, s + 1), dhBits: -1 };
    return null;
  }
  if (/_DHE_|_DH_anon_|_DH_ANON_/.test(cipherName)) {
    const pv = vec(b, s, end, 2);
    const g = pv === null ? null : vec(b, pv[1], end, 2);
    const ys = g === null ? null : vec(b, g[1], end, 2);
    if (ys === null) return null;
    return { curve: -1, dhBits: (ys[1] - ys[0]) * 8 };
  }
  return null;
}

