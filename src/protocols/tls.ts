/**
 * TLS handshakes (RFC 8446, RFC 5246, SSLv3; SSLv2-compatible ClientHello):
 * one `ssl` record per handshake (src/records/ssl.ts), written when the
 * connection ends. DTLS and QUIC are not decoded.
 *
 * Each side is read at the record layer (tls-record.ts); the hellos,
 * ServerKeyExchange, NewSessionTicket, ChangeCipherSpec and alerts are
 * read while they are plaintext, and only record headers afterwards.
 * Which records are encrypted follows Zeek's SSL analyzer (ssl-protocol.pac,
 * ssl-dtls-protocol.pac): a side is encrypted after its ChangeCipherSpec
 * (TLS 1.2 and before; in TLS 1.3 the middlebox-compatibility CCS changes
 * nothing), or from its first application-data record once the server
 * chose TLS 1.3; the session is established at the first encrypted record
 * once both sides are. The ssl.log fields follow Zeek's scripts
 * (base/protocols/ssl/main.zeek and policy ssl-log-ext.zeek): the
 * ClientHello fields come from the latest ClientHello (the second one
 * after a HelloRetryRequest), extension lists accumulate over hellos, and
 * the JA3/JA4 fingerprints are those of the first ClientHello.
 */
import { emptyRecord, type RecordValues } from '../records/schema.js';
import { SSL_SCHEMA } from '../records/ssl.js';
import { formatEpoch } from '../util/time.js';
import { CLIENT, SERVER, Sniff, type AppContext, type DecoderLimits, type ProtocolDef, type Side, type SniffResult, type StreamDecoder } from './decoder.js';
import { ja3, ja3s, ja4 } from './tls-fingerprint.js';
import { parseClientHello, parseServerHello, parseServerKeyExchange, parseV2ClientHello, type ClientHello, type ServerHello } from './tls-hello.js';
import { alertLevelName, alertName, cipherName, groupName, isTls13, versionName } from './tls-names.js';
import { CT_APPDATA, MAX_RECORD, TlsSide, type RecordOwner } from './tls-record.js';

const HS_CLIENT_HELLO = 1;
const HS_SERVER_HELLO = 2;
const HS_NEW_SESSION_TICKET = 4;
const HS_SERVER_KEY_EXCHANGE = 12;
const HS_CLIENT_KEY_EXCHANGE = 16;

/** Zeek's ssl_history letter per handshake message type (main.zeek, ssl_handshake_message). */
const LETTERS: Record<number, string> = {
  0: 'h', 1: 'c', 2: 's', 3: 'v', 4: 't', 5: 'e', 6: 'j', 8: 'o', 11: 'x', 12: 'k', 13: 'r', 14: 'n', 15: 'y',
  16: 'g', 20: 'f', 21: 'w', 22: 'u', 23: 'a', 24: 'p', 254: 'm',
};
const MAX_HISTORY = 100;

/**
 * A TLS record header carrying a ClientHello (CLIENT) or ServerHello
 * (SERVER): type 22, version 3.0-3.4, a plausible length, then the
 * handshake type (and, with the bytes there, a plausible message length);
 * or an SSLv2-compatible ClientHello.
 */
function sniff(buf: Uint8Array, off: number, len: number): SniffResult {
  if (len < 1) return Sniff.MORE;
  const b0 = buf[off]!;
  if (b0 & 0x80) {
    // SSLv2 record header (2 bytes), msg type 1, version 0x0002 or 3.x
    if (len < 5) return Sniff.MORE;
    const b2 = buf[off + 2]!, b3 = buf[off + 3]!, b4 = buf[off + 4]!;
    return b2 === 1 && ((b3 === 3 && b4 <= 4) || (b3 === 0 && b4 === 2)) ? Sniff.CLIENT : Sniff.NO;
  }
  if (b0 !== 22) return Sniff.NO;
  if (len < 2) return Sniff.MORE;
  if (buf[off + 1] !== 3) return Sniff.NO;
  if (len < 3) return Sniff.MORE;
  if (buf[off + 2]! > 4) return Sniff.NO;
  if (len < 6) return Sniff.MORE;
  const rlen = (buf[off + 3]! << 8) | buf[off + 4]!;
  if (rlen < 4 || rlen > MAX_RECORD) return Sniff.NO;
  const t = buf[off + 5]!;
  if (t !== HS_CLIENT_HELLO && t !== HS_SERVER_HELLO) return Sniff.NO;
  if (len >= 9) {
    const hlen = (buf[off + 6]! << 16) | (buf[off + 7]! << 8) | buf[off + 8]!;
    if (hlen < 38) return Sniff.NO;
  }
  return t === HS_CLIENT_HELLO ? Sniff.CLIENT : Sniff.SERVER;
}

/** One handshake being followed. */
class _Handshake {
  tsSec = -1; tsNsec = 0;
  chSec = -1; chNsec = 0;
  firstCh: ClientHello | null = null;
  ch: ClientHello | null = null;
  sh: ServerHello | null = null;
  hrr = false;
  /** The latest server hello was a HelloRetryRequest (a ClientHello is expected next, in the same handshake). */
  afterHrr = false;
  shSec = -1; shNsec = 0;
  version = -1;
  curve: string | null = null;
  dhBits = -1;
  ticketLifetime = -1;
  clientExts: number[] = [];
  serverExts: number[] = [];
  serverVersion = -1;
  selectedVersion = -1;
  keyShareGroup = -1;
  alpn: string | null = null;
  resumed = false;
  clientPsk = false;
  ticketEmptySession = false;
  clientKeyExchange = false;
  lastAlert = -1;
  lastAlertLevel = -1;
  lastAlertBy: Side = CLIENT;
  fatal = false;
  encrypted = [false, false];
  established = false;
  estSec = -1; estNsec = 0;
  history = '';
  invalid = false;
  incomplete = false;
  problem: string | null = null;
  recordBase = [0, 0];
}

/** A side's reader reports to the decoder with its role. */
class _Owner implements RecordOwner {
  constructor(
    private readonly d: TlsDecoder,
    private readonly side: Side,
  ) {}
  record(type: number, _version: number, _length: number, sec: number, nsec: number): boolean {
    return this.d.record(this.side, type, sec, nsec);
  }
  wantMessage(type: number): boolean {
    return this.side === CLIENT ? type === HS_CLIENT_HELLO : type === HS_SERVER_HELLO || type === HS_SERVER_KEY_EXCHANGE || type === HS_NEW_SESSION_TICKET;
  }
  message(type: number, length: number, body: Uint8Array | null, sec: number, nsec: number): void {
    this.d.message(this.side, type, length, body, sec, nsec);
  }
  ccs(): void {
    this.d.ccs(this.side);
  }
  alert(level: number, desc: number): void {
    this.d.alert(this.side, level, desc);
  }
  v2Record(body: Uint8Array, sec: number, nsec: number): void {
    this.d.v2Record(this.side, body, sec, nsec);
  }
  lost(why: string, invalid: boolean): void {
    this.d.lost(this.side, why, invalid);
  }
  weird(name: string): void {
    this.d.ctx.weird(name);
  }
}

export class TlsDecoder implements StreamDecoder {
  private readonly sides: [TlsSide, TlsSide];
  private h: _Handshake | null = null;
  private confirmed = false;
  private stopped = false;
  private notTls = false;

  constructor(
    readonly ctx: AppContext,
    private readonly limits: DecoderLimits,
  ) {
    this.sides = [new TlsSide(new _Owner(this, CLIENT), HS_CLIENT_HELLO, limits.maxHeaderBytes), new TlsSide(new _Owner(this, SERVER), HS_SERVER_HELLO, limits.maxHeaderBytes)];
  }

  data(side: Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    if (!this.stopped) this.sides[side].data(buf, off, len, sec, nsec);
  }

  gap(side: Side, len: number): void {
    if (!this.stopped) this.sides[side].gap(len);
  }

  end(): void {}

  finish(): void {
    const h = this.h;
    this.h = null;
    if (h !== null && !this.notTls) this.write(h);
  }

  /** The handshake being followed, started by a record of `side` (already counted) when there is none. */
  private hs(side: Side, sec: number, nsec: number): _Handshake {
    let h = this.h;
    if (h === null) {
      h = this.h = new _Handshake();
      h.tsSec = sec;
      h.tsNsec = nsec;
      h.recordBase = [this.sides[CLIENT].records, this.sides[SERVER].records];
      h.recordBase[side]! -= 1;
    }
    return h;
  }

  // ---- from the record readers

  record(side: Side, type: number, sec: number, nsec: number): boolean {
    const h = this.hs(side, sec, nsec);
    if (!h.encrypted[side] && type === CT_APPDATA && isTls13(h.version)) h.encrypted[side] = true;
    if (!h.encrypted[side]) return false;
    if (!h.established && h.encrypted[CLIENT] && h.encrypted[SERVER]) {
      h.established = true;
      h.estSec = sec;
      h.estNsec = nsec;
    }
    return true;
  }

  message(side: Side, type: number, _length: number, body: Uint8Array | null, sec: number, nsec: number): void {
    let h = this.hs(side, sec, nsec);
    if (side === CLIENT && type === HS_CLIENT_HELLO && h.sh !== null && !h.afterHrr) {
      // a new handshake on the same connection
      this.write(h);
      this.h = null;
      h = this.hs(side, sec, nsec);
    }
    let letter = LETTERS[type] ?? 'z';
    if (side === CLIENT) {
      if (type === HS_CLIENT_HELLO) this.clientHello(h, body, sec, nsec);
      else if (type === HS_CLIENT_KEY_EXCHANGE) h.clientKeyExchange = true;
    } else if (type === HS_SERVER_HELLO) {
      if (this.serverHello(h, body, sec, nsec)) letter = 'j';
    } else if (type === HS_SERVER_KEY_EXCHANGE && body !== null && h.sh !== null) {
      const kx = parseServerKeyExchange(body, 0, body.length, cipherName(h.sh.cipher));
      if (kx !== null && kx.curve >= 0) h.curve = groupName(kx.curve);
      if (kx !== null && kx.dhBits >= 0) h.dhBits = kx.dhBits;
    } else if (type === HS_NEW_SESSION_TICKET && body !== null && body.length >= 4) {
      h.ticketLifetime = ((body[0]! << 24) | (body[1]! << 16) | (body[2]! << 8) | body[3]!) >>> 0;
    }
    this.history(h, side, letter);
  }

  private clientHello(h: _Handshake, body: Uint8Array | null, sec: number, nsec: number): void {
    if (h.chSec < 0) {
      h.chSec = h.tsSec = sec;
      h.chNsec = h.tsNsec = nsec;
    }
    h.afterHrr = false;
    if (body === null) return;
    const r = parseClientHello(body, 0, body.length, this.limits.maxValueChars);
    if (!r.ok) return this.invalid(h, r.why);
    this.takeClientHello(h, r.v);
  }

  private takeClientHello(h: _Handshake, ch: ClientHello): void {
    h.firstCh ??= ch;
    h.ch = ch;
    for (const e of ch.exts) h.clientExts.push(e);
    if (ch.psk) h.clientPsk = true;
    // Zeek: a ticket offered with no (or an all-zero) session id makes a CCS without a key exchange a resumption
    h.ticketEmptySession = ch.ticket && /^(0{64})?$/.test(ch.sessionId);
    this.confirm();
  }

  /** Reads a server hello; true when it is a HelloRetryRequest. */
  private serverHello(h: _Handshake, body: Uint8Array | null, sec: number, nsec: number): boolean {
    if (h.shSec < 0) {
      h.shSec = sec;
      h.shNsec = nsec;
    }
    if (body === null) return false;
    const r = parseServerHello(body, 0, body.length, this.limits.maxValueChars);
    if (!r.ok) {
      this.invalid(h, r.why);
      return false;
    }
    const sh = r.v;
    h.sh = sh;
    h.afterHrr = sh.hrr;
    if (sh.hrr) h.hrr = true;
    h.serverVersion = sh.version;
    for (const e of sh.exts) h.serverExts.push(e);
    if (sh.selectedVersion >= 0) h.version = h.selectedVersion = sh.selectedVersion;
    else if (h.version < 0) h.version = sh.version;
    if (sh.keyShareGroup >= 0) {
      h.keyShareGroup = sh.keyShareGroup;
      h.curve = groupName(sh.keyShareGroup);
    }
    if (sh.alpn !== null) h.alpn = sh.alpn;
    const ch = h.ch;
    if (ch !== null) {
      const sid = ch.sessionId;
      if (sid !== '' && !/^0{64}$/.test(sid) && sid === sh.sessionId && !isTls13(h.version)) h.resumed = true;
      if (h.clientPsk && sh.psk) h.resumed = true;
    }
    this.confirm();
    return sh.hrr;
  }

  ccs(side: Side): void {
    const h = this.h!;
    this.history(h, side, 'i');
    if (side === CLIENT && h.ticketEmptySession && !h.clientKeyExchange) h.resumed = true;
    if (!isTls13(h.version)) h.encrypted[side] = true;
  }

  alert(side: Side, level: number, desc: number): void {
    const h = this.h!;
    this.history(h, side, 'l');
    h.lastAlert = desc;
    h.lastAlertLevel = level;
    h.lastAlertBy = side;
    if (level === 2) h.fatal = true;
  }

  v2Record(side: Side, body: Uint8Array, sec: number, nsec: number): void {
    const h = this.hs(side, sec, nsec);
    if (side !== CLIENT) return;
    const r = parseV2ClientHello(body, 0, body.length);
    if (!r.ok) return this.invalid(h, r.why);
    h.chSec = h.tsSec = sec;
    h.chNsec = h.tsNsec = nsec;
    this.ctx.weird('SSLv2-compatible ClientHello');
    this.takeClientHello(h, r.v);
    this.history(h, side, 'c');
  }

  lost(side: Side, why: string, invalid: boolean): void {
    const h = this.h;
    if (invalid && why.startsWith('not TLS') && (h === null || (h.ch === null && h.sh === null))) {
      // nothing TLS on this connection: no record, and nothing more to read
      this.notTls = true;
      this.stop(why);
      return;
    }
    const hh = this.hs(side, 0, 0);
    if (invalid) this.invalid(hh, why);
    else if (!hh.established) {
      hh.incomplete = true;
      hh.problem ??= `${why} of the ${side === CLIENT ? 'client' : 'server'}'s stream`;
    } else this.ctx.weird('gap after the handshake');
    if (this.sides[0].dead && this.sides[1].dead) this.stop(invalid ? 'invalid TLS' : 'gap in the TLS handshake');
  }

  // ---- helpers

  private stop(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ctx.stop(why);
  }

  private confirm(): void {
    if (this.confirmed) return;
    this.confirmed = true;
    this.ctx.confirm();
  }

  private invalid(h: _Handshake, why: string): void {
    this.ctx.weird(why.replace(/[0-9]+/g, 'N'));
    h.invalid = true;
    h.problem ??= why;
  }

  private history(h: _Handshake, side: Side, letter: string): void {
    if (h.established || h.history.length >= MAX_HISTORY) return;
    h.history += side === CLIENT ? letter.toUpperCase() : letter;
  }

  /** Writes the handshake's record. */
  private write(h: _Handshake): void {
    if (h.ch === null && h.sh === null && !h.invalid) return;
    const r: RecordValues = emptyRecord(SSL_SCHEMA);
    const ch = h.ch, sh = h.sh;
    r['ts'] = formatEpoch(h.tsSec, h.tsNsec);
    if (h.version >= 0) r['version'] = versionName(h.version);
    if (sh !== null) r['cipher'] = cipherName(sh.cipher);
    r['curve'] = h.curve;
    r['server_name'] = ch?.serverName ?? null;
    r['resumed'] = h.resumed;
    if (h.lastAlert >= 0) {
      r['last_alert'] = alertName(h.lastAlert);
      r['last_alert_level'] = alertLevelName(h.lastAlertLevel);
      r['last_alert_by'] = h.lastAlertBy === CLIENT ? 'client' : 'server';
    }
    r['next_protocol'] = h.alpn;
    r['established'] = h.established;
    r['ssl_history'] = h.history;
    if (h.serverVersion >= 0) r['server_version'] = h.serverVersion;
    if (ch !== null) {
      r['client_version'] = ch.version;
      r['client_ciphers'] = ch.ciphers;
      if (h.clientExts.length > 0) r['ssl_client_exts'] = h.clientExts;
      r['point_formats'] = ch.pointFormats;
      r['client_curves'] = ch.groups;
      r['orig_alpn'] = ch.alpn;
      r['client_supported_versions'] = ch.supportedVersions;
      r['psk_key_exchange_modes'] = ch.pskModes;
      r['client_key_share_groups'] = ch.keyShareGroups;
      r['client_comp_methods'] = ch.v2 ? null : ch.compMethods;
      if (ch.sigalgs !== null) {
        r['sigalgs'] = ch.sigalgs.map((v) => v & 0xff);
        r['hashalgs'] = ch.sigalgs.map((v) => v >> 8);
      }
      if (ch.echKdf >= 0) {
        r['ech_kdf_id'] = ch.echKdf;
        r['ech_aead_id'] = ch.echAead;
      }
    }
    if (h.serverExts.length > 0) r['ssl_server_exts'] = h.serverExts;
    if (h.ticketLifetime >= 0) r['ticket_lifetime_hint'] = h.ticketLifetime;
    if (h.dhBits >= 0) r['dh_param_size'] = h.dhBits;
    if (h.selectedVersion >= 0) r['server_supported_version'] = h.selectedVersion;
    if (h.keyShareGroup >= 0) r['server_key_share_group'] = h.keyShareGroup;
    const first = h.firstCh;
    if (first !== null && !first.v2) {
      r['ja3'] = ja3(first);
      r['ja4'] = ja4(first);
    }
    if (sh !== null) r['ja3s'] = ja3s(sh);
    r['hrr'] = h.hrr;
    if (h.shSec >= 0) r['server_hello_ts'] = formatEpoch(h.shSec, h.shNsec);
    if (h.established) r['established_ts'] = formatEpoch(h.estSec, h.estNsec);
    if (h.chSec >= 0 && h.shSec >= 0) r['latency_ms'] = ms(h.chSec, h.chNsec, h.shSec, h.shNsec);
    if (h.chSec >= 0 && h.established) r['handshake_ms'] = ms(h.chSec, h.chNsec, h.estSec, h.estNsec);
    r['client_records'] = this.sides[CLIENT].records - h.recordBase[CLIENT]!;
    r['server_records'] = this.sides[SERVER].records - h.recordBase[SERVER]!;
    let state: string;
    let problem = h.problem;
    if (h.invalid) state = 'invalid';
    else if (h.fatal) {
      state = 'alert';
      problem ??= `fatal alert ${alertName(h.lastAlert)} from the ${h.lastAlertBy === CLIENT ? 'client' : 'server'}`;
    } else if (h.established) {
      state = 'complete';
      problem = null;
    } else if (h.shSec < 0 && ch !== null && !h.incomplete) {
      state = 'unanswered';
      problem ??= 'no ServerHello before the connection ended';
    } else {
      state = 'incomplete';
      problem ??= ch === null ? 'no ClientHello (the capture began after it)' : 'the connection ended before the handshake completed';
    }
    r['state'] = state;
    r['problem'] = problem;
    this.ctx.emit(SSL_SCHEMA, r, h.fatal || h.shSec < 0);
  }
}

/** b - a in milliseconds (exact nanoseconds divided by 10^6). */
function ms(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return ((bSec - aSec) * 1e9 + (bNsec - aNsec)) / 1e6;
}

export const TLS: ProtocolDef = {
  name: 'tls',
  aliases: ['ssl'],
  service: 'ssl',
  schemas: [SSL_SCHEMA],
  // Zeek's SSL ports (scripts/base/protocols/ssl/main.zeek, ssl_ports)
  tcpPorts: [443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223],
  udpPorts: [],
  sniff,
  stream: (ctx, limits) => new TlsDecoder(ctx, limits),
};
