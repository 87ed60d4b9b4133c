/**
 * PostgreSQL frontend/backend protocol v3 vocabulary: the startup-phase
 * request codes, Zeek's names of authentication requests and of error and
 * notice fields (scripts/base/protocols/postgresql/consts.zeek, after
 * PostgreSQL's "Error and Notice Message Fields"), and the checks that
 * tell whether a message plausibly starts at a place (used where a capture
 * begins mid-connection, and after a capture gap lost the framing).
 */

export const PROTOCOL_3 = 0x00030000;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** Zeek's names of authentication request codes (auth_ids). */
const AUTH: Record<number, string> = {
  2: 'KerberosV5', 3: 'CleartextPassword', 5: 'MD5Password', 6: 'SCMCredential', 7: 'GSS', 8: 'GSSContinue', 9: 'SSPI', 10: 'SASL', 11: 'SASLContinue', 12: 'SASLFinal',
};

export function authName(code: number): string {
  return AUTH[code] ?? `unknown-${code}`;
}

/** Zeek's names of the fields of ErrorResponse and NoticeResponse (error_ids). */
const FIELDS: Record<number, string> = {
  0x53: 'SeverityLocalized', 0x56: 'Severity', 0x43: 'Code', 0x4d: 'Message', 0x44: 'Detail', 0x48: 'Hint', 0x50: 'Position', 0x70: 'InternalPosition',
  0x71: 'InternalQuery', 0x57: 'Where', 0x73: 'Schema', 0x74: 'Table', 0x63: 'Column', 0x64: 'Data', 0x6e: 'Constraint', 0x46: 'File', 0x4c: 'Line', 0x52: 'Routine',
};

export function fieldName(code: number): string {
  return FIELDS[code] ?? `unknown-${String.fromCharCode(code)}`;
}

// plausible() verdicts
export const NO = 0;
export const MORE = 1;
export const YES = 2;

const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** Text-ish bytes: no control characters but tab, CR and LF, and no NUL before `n` bytes (unless allowed at the end). */
function printable(b: Uint8Array, o: number, n: number): boolean {
  for (let i = o; i < o + n; i++) {
    const x = b[i]!;
    if ((x < 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d) || x === 0x7f) return false;
  }
  return true;
}

/** An untyped startup-phase message at b[0 ..]: a StartupMessage of protocol 3, an SSLRequest, a GSSENCRequest or a CancelRequest. */
export function plausibleStartup(b: Uint8Array, n: number): number {
  if (n < 8) return MORE;
  const len = u32(b, 0);
  const code = u32(b, 4);
  if ((code === SSL_REQUEST || code === GSSENC_REQUEST) && len === 8) return YES;
  if (code === CANCEL_REQUEST && len === 16) return YES;
  if (code >>> 16 !== 3 || len < 9 || len > 10000) return NO;
  // parameter names: printable text ending with NUL
  const end = Math.min(n, len);
  if (end < 12) return n >= len ? NO : MORE;
  return b[8]! >= 0x61 && b[8]! <= 0x7a ? YES : NO;
}

/** A frontend message at b[0 ..] (mid-connection): a query, an extended-query message, a Sync, Terminate or FunctionCall. */
export function plausibleFrontend(b: Uint8Array, n: number): number {
  if (n < 5) return MORE;
  const t = b[0]!;
  const len = u32(b, 1);
  if (len < 4 || len > 0x3fffffff) return NO;
  const body = Math.min(n - 5, len - 4);
  switch (t) {
    case 0x51: // Q
      if (len < 6) return NO;
      if (body < Math.min(len - 4, 16)) return MORE;
      {
        let e = 5;
        while (e < 5 + Math.min(body, 16) && b[e] !== 0) e++;
        return e > 5 && printable(b, 5, e - 5) && b[5]! > 0x20 ? YES : NO;
      }
    case 0x50: // P: statement name, NUL, query
      if (len < 8) return NO;
      if (body < Math.min(len - 4, 24)) return MORE;
      {
        let i = 5;
        while (i < 5 + body && b[i] !== 0) i++;
        if (i >= 5 + body) return body === len - 4 ? NO : i - 5 > 63 ? NO : MORE;
        if (!printable(b, 5, i - 5)) return NO;
        const q = i + 1;
        let e = q;
        while (e < Math.min(5 + body, q + 16) && b[e] !== 0) e++;
        return e > q && printable(b, q, e - q) && b[q]! > 0x20 ? YES : NO;
      }
    case 0x42: // B: portal, statement, ...
      return len >= 12 ? YES : NO;
    case 0x45: // E: portal, NUL, max rows
      return len >= 9 ? YES : NO;
    case 0x44: // D: 'S' or 'P', name
    case 0x43: // C
      if (len < 6) return NO;
      return b[5] === 0x53 || b[5] === 0x50 ? YES : NO;
    case 0x53: // S
    case 0x48: // H
    case 0x58: // X
      return len === 4 ? YES : NO;
    case 0x46: // F: function OID, ...
      return len >= 14 ? YES : NO;
    default:
      return NO;
  }
}

/** A backend message that starts a reply at b[0 ..]. */
export function plausibleBackend(b: Uint8Array, n: number): number {
  if (n < 5) return MORE;
  const t = b[0]!;
  const len = u32(b, 1);
  if (len < 4 || len > 0x3fffffff) return NO;
  switch (t) {
    case 0x31: // 1 ParseComplete
    case 0x32: // 2 BindComplete
    case 0x33: // 3 CloseComplete
    case 0x49: // I EmptyQueryResponse
    case 0x6e: // n NoData
    case 0x73: // s PortalSuspended
      return len === 4 ? YES : NO;
    case 0x5a: // Z
      if (len !== 5) return NO;
      if (n < 6) return MORE;
      return b[5] === 0x49 || b[5] === 0x54 || b[5] === 0x45 ? YES : NO;
    case 0x43: // C: a tag of capital letters
      if (len < 5) return NO;
      if (n < 6) return MORE;
      return b[5]! >= 0x41 && b[5]! <= 0x5a ? YES : NO;
    case 0x45: // E, N: field codes
    case 0x4e:
      if (len < 5) return NO;
      if (n < 6) return MORE;
      return FIELDS[b[5]!] !== undefined ? YES : NO;
    case 0x54: // T, D, t: a 16-bit count
    case 0x44:
    case 0x74:
      return len >= 6 ? YES : NO;
    case 0x47: // G, H, W: copy responses
    case 0x48:
    case 0x57:
      return len >= 7 ? YES : NO;
    case 0x52: // R: an authentication request
      if (len < 8) return NO;
      if (n < 9) return MORE;
      return AUTH[u32(b, 5)] !== undefined || u32(b, 5) === 0 ? YES : NO;
    default:
      return NO;
  }
}
