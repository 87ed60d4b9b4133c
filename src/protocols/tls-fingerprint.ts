/**
 * TLS client and server fingerprints from parsed hellos:
 *
 * - JA3 (salesforce/ja3, README): MD5 of
 *   "SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats",
 *   decimal values joined by "-", GREASE values (RFC 8701) removed.
 * - JA3S: MD5 of "SSLVersion,Cipher,Extensions" of the ServerHello.
 * - JA4 (FoxIO-LLC/ja4, technical_details/JA4.md, BSD-3-Clause): see ja4().
 *   JA4S and the other JA4+ methods are under the FoxIO License 1.1 and are
 *   not implemented.
 */
import * as nodeCrypto from 'node:crypto';
import type { ClientHello, ServerHello } from './tls-hello.js';
import { EXT_ALPN, EXT_SERVER_NAME } from './tls-hello.js';
import { isGrease } from './tls-names.js';

const noGrease = (v: readonly number[]): number[] => v.filter((x) => !isGrease(x));

/** The JA3 string (before hashing) of a ClientHello. */
export function ja3String(ch: ClientHello): string {
  return [
    ch.version,
    noGrease(ch.ciphers).join('-'),
    noGrease(ch.exts).join('-'),
    noGrease(ch.groups ?? []).join('-'),
    (ch.pointFormats ?? []).join('-'),
  ].join(',');
}

/** Hex digest of a string: the one-shot crypto.hash where Node has it (20.12+; ~3x faster than a Hash object), else createHash. */
const oneShot = (nodeCrypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;
const digestHex: (alg: 'md5' | 'sha256', s: string) => string =
  typeof oneShot === 'function' ? (alg, s) => oneShot(alg, s, 'hex') : (alg, s) => nodeCrypto.createHash(alg).update(s).digest('hex');

export function ja3(ch: ClientHello): string {
  return digestHex('md5', ja3String(ch));
}

export function ja3sString(sh: ServerHello): string {
  return [sh.version, sh.cipher, noGrease(sh.exts).join('-')].join(',');
}

export function ja3s(sh: ServerHello): string {
  return digestHex('md5', ja3sString(sh));
}

const hex4 = (v: number): string => v.toString(16).padStart(4, '0');

/** JA4's 2-character TLS version. */
function ja4Version(v: number): string {
  switch (v) {
    case 0x0304: return '13';
    case 0x0303: return '12';
    case 0x0302: return '11';
    case 0x0301: return '10';
    case 0x0300: return 's3';
    case 0x0002: return 's2';
    case 0xfeff: return 'd1';
    case 0xfefd: return 'd2';
    case 0xfefc: return 'd3';
    default: return '00';
  }
}

const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** JA4's two ALPN characters: first and last of the first value, or of its hex form when either byte is not alphanumeric. */
function ja4Alpn(first: Uint8Array | null): string {
  if (first === null || first.length === 0) return '00';
  const a = first[0]!, z = first[first.length - 1]!;
  if (isAlnum(a) && isAlnum(z)) return String.fromCharCode(a) + String.fromCharCode(z);
  const h = Buffer.from(first).toString('hex');
  return h[0]! + h[h.length - 1]!;
}

const sha12 = (s: string): string => digestHex('sha256', s).slice(0, 12);

/** The three parts of JA4 before hashing (JA4_r, "raw" sorted form): a, ciphers, extensions_sigalgs. */
export function ja4Parts(ch: ClientHello, transport: 't' | 'q' | 'd' = 't'): [string, string, string] {
  const ciphers = noGrease(ch.ciphers);
  const exts = noGrease(ch.exts);
  // version: the highest supported_versions value when the extension is there, else the legacy version
  let v = ch.version;
  if (ch.supportedVersions !== null) {
    const vs = noGrease(ch.supportedVersions);
    if (vs.length > 0) v = Math.max(...vs);
  }
  const two = (n: number): string => String(Math.min(n, 99)).padStart(2, '0');
  const a = transport + ja4Version(v) + (exts.includes(EXT_SERVER_NAME) ? 'd' : 'i') + two(ciphers.length) + two(exts.length) + ja4Alpn(ch.alpnFirst);
  const b = ciphers.map(hex4).sort().join(',');
  const extList = exts.filter((e) => e !== EXT_SERVER_NAME && e !== EXT_ALPN).map(hex4).sort().join(',');
  const sigs = noGrease(ch.sigalgs ?? []).map(hex4).join(',');
  const c = sigs === '' ? extList : `${extList}_${sigs}`;
  return [a, b, c];
}

/**
 * JA4 = a_b_c: a = "t" (TCP), the version (highest non-GREASE
 * supported_versions value, else the legacy version: 13, 12, 11, 10, s3,
 * s2, d1..d3, or 00), "d" when an SNI extension is present else "i", the
 * number of ciphers and of extensions (GREASE not counted, SNI and ALPN
 * counted; at most 99), the first and last characters of the first ALPN
 * value ("00" without one); b = first 12 hex of SHA-256 of the sorted
 * 4-hex cipher list; c = the same of the sorted extension list without SNI
 * and ALPN, then "_" and the signature algorithms in their order (no "_"
 * without them). An empty list hashes to "000000000000".
 */
export function ja4(ch: ClientHello, transport: 't' | 'q' | 'd' = 't'): string {
  const [a, b, c] = ja4Parts(ch, transport);
  const extEmpty = c === '' || c.startsWith('_');
  return `${a}_${b === '' ? '000000000000' : sha12(b)}_${extEmpty ? '000000000000' : sha12(c)}`;
}
