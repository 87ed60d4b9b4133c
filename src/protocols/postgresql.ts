/**
 * PostgreSQL frontend/backend protocol v3: one `postgresql` record per
 * exchange (src/records/postgresql.ts); docs/l7.md ("PostgreSQL") says what
 * is read and how it is checked against Zeek, tshark and DeepFlow.
 *
 * Each side is framed by postgresql-message.ts; this file follows the
 * exchanges. The SSLRequest (or GSSENCRequest) is one record with the
 * server's one-byte answer: on S (or G) it is written with state `tls` and
 * the decoder stops (the TLS decoder does not take over mid-connection);
 * the startup is one record from the StartupMessage to the first
 * ReadyForQuery (authentication requests and responses included); a simple
 * query is one record up to its ReadyForQuery (several statements, COPY
 * and all); an extended-query cycle is one record: the Parse, Bind,
 * Describe, Execute, Close and Flush messages up to a Sync, answered up to
 * the ReadyForQuery the Sync asks for. A cycle is the unit because the
 * server flushes its replies at the Sync: the Executes of one cycle have
 * no timing of their own on the wire. Its statement is the one the first
 * Execute ran, found through the portal's Bind and the statement's Parse
 * (named statements and portals are remembered, bounded). Exchanges may
 * be pipelined (several sent before the first reply): they are answered
 * in order.
 *
 * Captures that begin mid-connection and sides whose framing a capture gap
 * lost are resynchronised where a side starts to speak after the other did
 * (as in mysql.ts), with the checks of _pg-wire.ts.
 */
import { emptyRecord, type RecordValues } from '../records/schema.js';
import { POSTGRESQL_SCHEMA } from '../records/postgresql.js';
import { formatEpoch } from '../util/time.js';
import { ByteBuf, clip, text } from './_bytes.js';
import { CANCEL_REQUEST, GSSENC_REQUEST, MORE, NO, PROTOCOL_3, SSL_REQUEST, YES, authName, fieldName, plausibleBackend, plausibleFrontend, plausibleStartup } from './_pg-wire.js';
import { CLIENT, SERVER, Sniff, type AppContext, type DecoderLimits, type ProtocolDef, type Side, type SniffResult, type StreamDecoder } from './decoder.js';
import { PgFramer, type MessageOwner } from './postgresql-message.js';
import { fingerprint } from './sql-fingerprint.js';

const GATHER = 64;
const GIVE_UP_TURNS = 4;
const P_START = 0;
const P_STARTUP = 1;
const P_READY = 2;

/** One exchange: the frontend's messages and the backend's reply. */
class _Ex {
  arg: string | null = null;
  stmtName: string | null = null;
  portal: string | null = null;
  params = -1;
  t0s = 0; t0n = 0;
  q1s = 0; q1n = 0;
  r0s = -1; r0n = 0;
  r1s = 0; r1n = 0;
  reqBytes = 0;
  respBytes = 0;
  backend: string | null = null;
  backendArg: string | null = null;
  success: boolean | null = null;
  failed = false;
  dataRows = 0;
  tag: string | null = null;
  tagRows = 0;
  commands = 0;
  executes = 0;
  columns = -1;
  sqlState: string | null = null;
  severity: string | null = null;
  message: string | null = null;
  txStatus: string | null = null;
  copy: string | null = null;
  version: string | null = null;
  /** The statement's fingerprint when it came with a remembered statement. */
  fp: string | null = null;
  /** An extended-query cycle whose Sync was sent. */
  synced = false;
  incomplete = false;
  problem: string | null = null;

  constructor(readonly frontend: string) {}
}

class _Side {
  readonly framer: PgFramer;
  candidate = false;
  readonly re = new ByteBuf(GATHER, GATHER);
  reSec = 0;
  reNsec = 0;
  misses = 0;
  everSynced = false;

  constructor(owner: MessageOwner, cap: number) {
    this.framer = new PgFramer(owner, cap);
  }
}

class _Owner implements MessageOwner {
  constructor(
    private readonly d: PostgresqlDecoder,
    private readonly side: Side,
  ) {}
  message(type: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    if (this.side === CLIENT) this.d.frontend(type, buf, off, head, len, cut, s0, n0, s1, n1);
    else this.d.backend(type, buf, off, head, len, cut, s0, n0, s1, n1);
  }
  sslByte(b: number, sec: number, nsec: number): void {
    this.d.sslByte(b, sec, nsec);
  }
  wantFor(type: number): number {
    return this.d.wantFor(this.side, type);
  }
  endedInside(sec0: number, nsec0: number): void {
    if (this.side === SERVER) this.d.replyEndedInside(sec0, nsec0);
  }
  lost(why: string, invalid: boolean): void {
    this.d.lost(this.side, why, invalid);
  }
}

export class PostgresqlDecoder implements StreamDecoder {
  private readonly sides: [_Side, _Side];
  private phase = P_START;
  private lastSide = -1;
  private stopped = false;
  private confirmed = false;
  private user: string | null = null;
  private database: string | null = null;
  private app: string | null = null;
  private serverVersion: string | null = null;
  private readonly pending: _Ex[] = [];
  /** The extended-query cycle the client is sending (before its Sync). */
  private cycle: _Ex | null = null;
  /** Prepared statements by name (text, declared parameters) and the statement each portal was bound to; bounded. */
  private readonly stmts = new Map<string, { text: string; params: number; fp: string | null }>();
  private readonly portals = new Map<string, string>();
  private stmtChars = 0;
  private readonly statementWant: number;

  constructor(
    readonly ctx: AppContext,
    private readonly limits: DecoderLimits,
  ) {
    this.sides = [new _Side(new _Owner(this, CLIENT), limits.maxHeaderBytes), new _Side(new _Owner(this, SERVER), limits.maxHeaderBytes)];
    this.statementWant = Math.min(limits.maxHeaderBytes, limits.maxValueChars * 4 + 256);
  }

  // ---- the StreamDecoder calls

  data(side: Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    if (this.stopped) return;
    const s = this.sides[side];
    if (this.lastSide !== side) {
      this.lastSide = side;
      if (!s.framer.synced && !s.candidate) {
        s.candidate = true;
        s.re.clear();
      }
    }
    if (s.framer.synced) s.framer.data(buf, off, len, sec, nsec);
    else if (s.candidate) this.gather(side, s, buf, off, len, sec, nsec);
  }

  gap(side: Side, len: number, sec: number, nsec: number): void {
    if (this.stopped) return;
    const s = this.sides[side];
    if (s.framer.synced) s.framer.gap(len, sec, nsec);
    else {
      s.candidate = false;
      s.re.clear();
    }
  }

  end(side: Side): void {
    if (!this.stopped) this.sides[side].framer.end();
  }

  finish(): void {
    this.cycle = null;
    while (this.pending.length > 0) {
      const x = this.pending.shift()!;
      if (x.r0s < 0) this.write(x, 'unanswered', x.problem ?? 'no reply before the connection ended');
      else this.write(x, 'incomplete', x.problem ?? 'the connection ended inside the reply');
    }
  }

  // ---- finding where messages start

  private gather(side: Side, s: _Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    const re = s.re;
    if (re.len === 0) {
      s.reSec = sec;
      s.reNsec = nsec;
    }
    const n = Math.min(GATHER - re.len, len);
    re.append(buf, off, n);
    const v = this.plausible(side, re.buf, re.len);
    if (v === MORE && re.len < GATHER && n === len) return;
    s.candidate = false;
    if (v === NO || v === MORE) {
      re.clear();
      s.misses++;
      const o = this.sides[side === CLIENT ? SERVER : CLIENT];
      if (!s.everSynced && !o.everSynced && s.misses >= GIVE_UP_TURNS && o.misses >= GIVE_UP_TURNS) this.stop('not PostgreSQL: no plausible message where either side began to speak');
      return;
    }
    s.everSynced = true;
    s.framer.resync();
    const copy = re.buf.slice(0, re.len);
    const kept = re.len;
    re.clear();
    s.framer.data(copy, 0, 1, s.reSec, s.reNsec);
    if (kept > 1 && s.framer.synced && !this.stopped) s.framer.data(copy, 1, kept - 1, sec, nsec);
    if (n < len && s.framer.synced && !this.stopped) s.framer.data(buf, off + n, len - n, sec, nsec);
  }

  private plausible(side: Side, b: Uint8Array, n: number): number {
    if (side === CLIENT) {
      if (this.phase === P_START) {
        const v = plausibleStartup(b, n);
        if (v === YES) {
          this.sides[CLIENT].framer.untyped = true;
          return YES;
        }
        if (v === MORE) return MORE;
      }
      const v = plausibleFrontend(b, n);
      if (v === YES) {
        this.sides[CLIENT].framer.untyped = false;
        if (this.phase === P_START) this.phase = P_READY;
      }
      return v;
    }
    const x = this.pending[0];
    if (x === undefined || x.r0s >= 0) return NO;
    if (x.frontend === 'ssl_request' || x.frontend === 'gssenc_request') {
      this.sides[SERVER].framer.expectSslByte = true;
      return YES;
    }
    return plausibleBackend(b, n);
  }

  wantFor(side: Side, type: number): number {
    if (side === CLIENT) {
      switch (type) {
        case 0: return 4096; // startup
        case 0x51: case 0x50: return this.statementWant; // Q, P
        case 0x42: return 1024; // B
        case 0x45: case 0x44: case 0x43: case 0x46: return 256; // E, D, C, F
        default: return 0; // p (passwords stay out), d, S, H, X
      }
    }
    switch (type) {
      case 0x45: case 0x4e: return 4096; // E, N
      case 0x43: case 0x53: return 512; // C, S
      case 0x52: return 64; // R
      case 0x54: case 0x5a: case 0x47: case 0x48: case 0x57: return 8; // T, Z, G, H, W
      default: return 0;
    }
  }

  // ---- the client

  frontend(type: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    if (this.stopped) return;
    const bytes = len + (type === 0 ? 4 : 5);
    if (type === 0) return this.startupMessage(buf, off, head, len, cut, s0, n0, s1, n1);
    let x: _Ex | null = null;
    switch (type) {
      case 0x51: // Query
        x = this.open('simple_query', s0, n0);
        x.arg = this.textAt(buf, off, off + head, head < len);
        break;
      case 0x50: // Parse
      case 0x42: // Bind
      case 0x44: // Describe
      case 0x45: // Execute
      case 0x43: // Close
      case 0x48: // Flush
        x = this.cycle ??= this.open('extended_query', s0, n0);
        this.extended(x, type, buf, off, head, len);
        break;
      case 0x53: // Sync
        x = this.cycle ?? this.open('extended_query', s0, n0);
        x.synced = true;
        this.cycle = null;
        break;
      case 0x46: { // FunctionCall
        x = this.open('function_call', s0, n0);
        if (head >= 4) x.arg = String(u32(buf, off));
        break;
      }
      case 0x58: { // Terminate: Zeek logs it at once
        const t = new _Ex('terminate');
        t.t0s = t.q1s = s0;
        t.t0n = t.q1n = n0;
        t.reqBytes = bytes;
        this.write(t, 'complete', null);
        return;
      }
      default:
        // p (authentication responses), d, c, f (COPY data from the client): part of the exchange under way
        x = this.pending.length > 0 ? this.pending[this.pending.length - 1]! : null;
        if (x === null) {
          this.ctx.weird('frontend message outside an exchange');
          return;
        }
    }
    x.reqBytes += bytes;
    if (x.r0s < 0) {
      x.q1s = s1;
      x.q1n = n1;
    }
    if (cut && !x.incomplete) {
      x.incomplete = true;
      x.problem ??= 'a capture gap inside a frontend message';
    }
  }

  /** A new exchange, waiting for its reply. */
  private open(frontend: string, s0: number, n0: number): _Ex {
    const x = new _Ex(frontend);
    x.t0s = s0;
    x.t0n = n0;
    if (this.pending.length >= this.limits.maxPending) {
      const old = this.pending.shift()!;
      this.ctx.weird('too many exchanges waiting for replies');
      this.write(old, 'unanswered', `more than ${this.limits.maxPending} exchanges waiting`);
    }
    this.pending.push(x);
    if (this.phase === P_START) this.phase = P_READY;
    return x;
  }

  private startupMessage(buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    const code = head >= 4 ? u32(buf, off) : -1;
    let x: _Ex;
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      x = this.open(code === SSL_REQUEST ? 'ssl_request' : 'gssenc_request', s0, n0);
      this.sides[SERVER].framer.expectSslByte = true;
    } else if (code === CANCEL_REQUEST) {
      x = new _Ex('cancel_request');
      x.t0s = x.q1s = s0;
      x.t0n = x.q1n = n0;
      x.reqBytes = len + 4;
      if (head >= 8) x.arg = String(u32(buf, off + 4));
      this.confirm();
      this.write(x, 'complete', null);
      return;
    } else if (code >>> 16 === PROTOCOL_3 >>> 16) {
      x = this.open('startup', s0, n0);
      x.version = `${code >>> 16}.${code & 0xffff}`;
      // name, value pairs, each NUL-terminated, then a NUL
      let p = off + 4;
      const end = off + head;
      while (p < end && buf[p] !== 0) {
        const k0 = p;
        while (p < end && buf[p] !== 0) p++;
        const k = text(buf, k0, p);
        const v0 = ++p;
        while (p < end && buf[p] !== 0) p++;
        const v = clip(text(buf, v0, Math.min(p, end)), this.limits.maxValueChars);
        p++;
        if (k === 'user') this.user = v;
        else if (k === 'database') this.database = v;
        else if (k === 'application_name') this.app = v;
      }
      this.database ??= this.user; // PostgreSQL's default
      this.sides[CLIENT].framer.untyped = false;
      this.phase = P_STARTUP;
      this.confirm();
    } else {
      this.ctx.weird('unknown startup request code');
      this.stop(`not PostgreSQL: startup request code ${code}`);
      return;
    }
    x.reqBytes = len + 4;
    x.q1s = s1;
    x.q1n = n1;
    if (cut) {
      x.incomplete = true;
      x.problem = 'a capture gap inside the startup message';
    }
  }

  /** Parse, Bind, Describe, Execute, Close or Flush of an extended-query cycle. */
  private extended(x: _Ex, type: number, buf: Uint8Array, off: number, head: number, len: number): void {
    const end = off + head;
    if (type === 0x50) {
      const n0 = nul(buf, off, end);
      const name = text(buf, off, n0);
      const q0 = Math.min(n0 + 1, end);
      const q1 = nul(buf, q0, end);
      const stmt = this.textAt(buf, q0, q1, q1 >= end && head < len);
      const params = q1 + 3 <= end ? (buf[q1 + 1]! << 8) | buf[q1 + 2]! : -1;
      this.remember(name, stmt, params);
      if (x.executes === 0) {
        x.arg ??= stmt;
        x.stmtName ??= name;
        if (x.params < 0) x.params = params;
      }
      return;
    }
    if (type === 0x42) {
      const p1 = nul(buf, off, end);
      const portal = text(buf, off, p1);
      const s0 = Math.min(p1 + 1, end);
      const s1 = nul(buf, s0, end);
      const stmt = text(buf, s0, s1);
      this.bind(portal, stmt);
      // parameter format codes, then the parameter count
      let p = s1 + 1;
      if (p + 2 <= end) {
        const nf = (buf[p]! << 8) | buf[p + 1]!;
        p += 2 + 2 * nf;
        if (p + 2 <= end && x.executes === 0) x.params = (buf[p]! << 8) | buf[p + 1]!;
      }
      if (x.executes === 0) {
        x.portal ??= portal;
        x.stmtName ??= stmt;
      }
      return;
    }
    if (type === 0x45) {
      const portal = text(buf, off, nul(buf, off, end));
      x.executes++;
      if (x.executes === 1) {
        x.portal = portal;
        const stmtName = this.portals.get(portal);
        const s = stmtName !== undefined ? this.stmts.get(stmtName) : undefined;
        if (stmtName !== undefined) x.stmtName = stmtName;
        if (s !== undefined) {
          x.arg = s.text;
          // a named statement run many times is fingerprinted once
          x.fp = s.fp ??= fingerprint(s.text, 'postgresql');
          if (x.params < 0) x.params = s.params;
        }
      }
      return;
    }
    if (type === 0x43 && head >= 2) {
      // Close: forget the statement or portal
      const name = text(buf, off + 1, nul(buf, off + 1, end));
      if (buf[off] === 0x53) this.forget(name);
      else this.portals.delete(name);
    }
  }

  private bind(portal: string, stmt: string): void {
    this.portals.delete(portal);
    this.portals.set(portal, stmt);
    while (this.portals.size > this.limits.maxPending) this.portals.delete(this.portals.keys().next().value as string);
  }

  private remember(name: string, stmt: string, params: number): void {
    this.forget(name);
    this.stmts.set(name, { text: stmt, params, fp: null });
    this.stmtChars += stmt.length;
    const maxChars = 32 * this.limits.maxValueChars;
    while (this.stmts.size > this.limits.maxPending || this.stmtChars > maxChars) {
      this.forget(this.stmts.keys().next().value as string);
      this.ctx.weird('prepared statement forgotten (too many)');
    }
  }

  private forget(name: string): void {
    const s = this.stmts.get(name);
    if (s === undefined) return;
    this.stmtChars -= s.text.length;
    this.stmts.delete(name);
  }

  /** A statement's text at buf[start, end) (without its NUL), clipped; `truncated`: it went on past what was kept. */
  private textAt(buf: Uint8Array, start: number, end: number, truncated: boolean): string {
    let e = nul(buf, start, end);
    const max = this.limits.maxValueChars;
    if (!truncated || e < end) return clip(text(buf, start, e), max);
    while (e > start && (buf[e - 1]! & 0xc0) === 0x80 && end - e < 3) e--;
    if (e > start && buf[e - 1]! >= 0xc0) e--;
    const t = text(buf, start, e);
    return t.length >= max ? clip(t, max) : t + '…';
  }

  // ---- the server

  sslByte(b: number, sec: number, nsec: number): void {
    const x = this.pending[0];
    if (x === undefined || (x.frontend !== 'ssl_request' && x.frontend !== 'gssenc_request')) {
      this.ctx.weird('SSL answer without a request');
      return;
    }
    this.pending.shift();
    x.r0s = x.r1s = sec;
    x.r0n = x.r1n = nsec;
    x.respBytes = 1;
    x.backend = 'ssl_reply';
    x.backendArg = String.fromCharCode(b);
    x.success = b !== 0x4e;
    this.confirm();
    if (b === 0x4e) {
      this.write(x, x.incomplete ? 'incomplete' : 'complete', x.problem);
      return;
    }
    this.write(x, 'tls', x.frontend === 'ssl_request' ? 'the server accepted the SSLRequest: the rest of the connection is TLS' : 'the server accepted the GSSENCRequest: the rest of the connection is GSSAPI-encrypted');
    this.stop('the connection switched to encryption');
  }

  backend(type: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    if (this.stopped) return;
    const x = this.pending[0];
    if (x === undefined || x.frontend === 'ssl_request' || x.frontend === 'gssenc_request') {
      // asynchronous messages (ParameterStatus, NotificationResponse, NoticeResponse) need no exchange
      if (type !== 0x53 && type !== 0x41 && type !== 0x4e) this.ctx.weird('backend message without an exchange');
      return;
    }
    if (x.r0s < 0) {
      x.r0s = s0;
      x.r0n = n0;
    }
    x.r1s = s1;
    x.r1n = n1;
    x.respBytes += len + 5;
    if (cut && !x.incomplete) {
      x.incomplete = true;
      x.problem ??= 'a capture gap inside the reply';
    }
    const end = off + head;
    switch (type) {
      case 0x52: { // Authentication
        if (head < 4) break;
        const code = u32(buf, off);
        if (code === 0) {
          x.backend = 'auth_ok';
          x.success = true;
        } else {
          x.backend = x.backend !== null && !x.backend.endsWith('auth') ? x.backend + ',auth_request' : 'auth_request';
          x.backendArg = x.backendArg === null ? authName(code) : x.backendArg + ',' + authName(code);
        }
        break;
      }
      case 0x53: { // ParameterStatus
        const k1 = nul(buf, off, end);
        if (text(buf, off, k1) === 'server_version') this.serverVersion = clip(text(buf, k1 + 1, nul(buf, k1 + 1, end)), 128);
        break;
      }
      case 0x45: // ErrorResponse
      case 0x4e: { // NoticeResponse
        const fields = this.fields(x, buf, off, end, type === 0x45);
        x.backendArg = x.backendArg === null ? fields : x.backendArg + ',' + fields;
        if (type === 0x45) {
          x.backend = x.backend === null ? 'error' : x.backend + ',error';
          x.success = false;
          x.failed = true;
          if (x.frontend === 'startup') this.done(x, null);
        }
        break;
      }
      case 0x54: // RowDescription
        if (x.columns < 0 && head >= 2) x.columns = (buf[off]! << 8) | buf[off + 1]!;
        break;
      case 0x44: // DataRow
        x.dataRows++;
        break;
      case 0x43: { // CommandComplete
        const t = text(buf, off, nul(buf, off, end));
        x.tag = clip(t, 128);
        x.commands++;
        const m = /(\d+)$/.exec(t);
        if (m !== null) x.tagRows += Number(m[1]);
        break;
      }
      case 0x49: // EmptyQueryResponse
        x.commands++;
        break;
      case 0x47:
        x.copy = 'in';
        break;
      case 0x48:
        x.copy = 'out';
        break;
      case 0x57:
        x.copy = 'both';
        break;
      case 0x5a: { // ReadyForQuery
        x.txStatus = head >= 1 ? String.fromCharCode(buf[off]!) : null;
        if (x.success === null) x.success = x.txStatus === 'I' || x.txStatus === 'T';
        this.phase = P_READY;
        this.done(x, x.incomplete ? x.problem : null);
        break;
      }
      default:
        break; // 1, 2, 3, t, n, s, K, V, A, d, c, v
    }
  }

  /** An ErrorResponse's or NoticeResponse's fields as Zeek writes them (Name=value, joined by commas). */
  private fields(x: _Ex, buf: Uint8Array, p: number, end: number, error: boolean): string {
    const out: string[] = [];
    while (p < end && buf[p] !== 0) {
      const code = buf[p]!;
      const v0 = p + 1;
      const v1 = nul(buf, v0, end);
      const v = clip(text(buf, v0, v1), this.limits.maxValueChars);
      out.push(`${fieldName(code)}=${v}`);
      if (error) {
        if (code === 0x43) x.sqlState = v;
        else if (code === 0x56) x.severity = v;
        else if (code === 0x53) x.severity ??= v;
        else if (code === 0x4d) x.message = v;
      }
      p = v1 + 1;
    }
    return clip(out.join(','), this.limits.maxValueChars);
  }

  replyEndedInside(sec0: number, nsec0: number): void {
    const x = this.pending[0];
    if (x !== undefined && x.r0s < 0) {
      x.r0s = x.r1s = sec0;
      x.r0n = x.r1n = nsec0;
    }
  }

  lost(side: Side, why: string, invalid: boolean): void {
    this.ctx.weird(invalid ? 'bad message length' : 'framing lost in a capture gap');
    if (side === SERVER) {
      const x = this.pending.shift();
      if (x === undefined) return;
      if (invalid) this.write(x, 'invalid', why);
      else this.write(x, 'incomplete', x.r0s >= 0 ? `reply cut by ${why}` : `reply lost in ${why}`);
    } else if (this.cycle !== null) {
      if (invalid) {
        this.cycle.problem = why;
        this.pending.splice(this.pending.indexOf(this.cycle), 1);
        this.write(this.cycle, 'invalid', why);
      } else {
        this.cycle.incomplete = true;
        this.cycle.problem ??= `frontend messages lost in ${why}`;
      }
      this.cycle = null;
    }
  }

  // ---- records

  private done(x: _Ex, problem: string | null): void {
    const i = this.pending.indexOf(x);
    if (i >= 0) this.pending.splice(i, 1);
    this.confirm();
    this.write(x, x.incomplete ? 'incomplete' : 'complete', problem);
  }

  private write(x: _Ex, state: string, problem: string | null): void {
    const r: RecordValues = emptyRecord(POSTGRESQL_SCHEMA);
    r['ts'] = formatEpoch(x.t0s, x.t0n);
    const before = x.frontend === 'ssl_request' || x.frontend === 'gssenc_request' || x.frontend === 'cancel_request';
    if (!before) {
      r['user'] = this.user;
      r['database'] = this.database;
      r['application_name'] = this.app;
    }
    r['frontend'] = x.frontend;
    r['frontend_arg'] = x.arg;
    r['backend'] = x.backend;
    r['backend_arg'] = x.backendArg;
    r['success'] = x.success;
    const query = x.frontend === 'simple_query' || x.frontend === 'extended_query' || x.frontend === 'function_call';
    if (query && !x.failed && x.txStatus !== null) r['rows'] = x.dataRows;
    if (x.frontend === 'simple_query' || x.frontend === 'extended_query') r['fingerprint'] = x.arg === null ? null : x.fp !== null && x.executes > 0 ? x.fp : fingerprint(x.arg, 'postgresql');
    else if (x.frontend === 'startup') r['fingerprint'] = 'administrator command: Connect';
    else if (x.frontend === 'terminate') r['fingerprint'] = 'administrator command: Quit';
    else if (x.frontend === 'function_call') r['fingerprint'] = `function call ${x.arg ?? '?'}`;
    r['tag'] = x.tag;
    if (x.commands > 0) {
      r['tag_rows'] = x.tagRows;
      r['commands'] = x.commands;
    }
    if (x.frontend === 'extended_query') r['executes'] = x.executes;
    r['statement'] = x.stmtName;
    r['portal'] = x.portal;
    if (x.params >= 0) r['params'] = x.params;
    if (x.columns >= 0) r['columns'] = x.columns;
    r['sql_state'] = x.sqlState;
    r['error_severity'] = x.severity;
    r['error_message'] = x.message;
    r['transaction_status'] = x.txStatus;
    r['copy'] = x.copy;
    r['protocol_version'] = x.version;
    if (x.frontend === 'startup') r['db_version'] = this.serverVersion;
    r['request_bytes'] = x.reqBytes;
    r['request_end_ts'] = formatEpoch(x.q1s, x.q1n);
    if (x.r0s >= 0) {
      r['response_bytes'] = x.respBytes;
      r['response_ts'] = formatEpoch(x.r0s, x.r0n);
      r['response_end_ts'] = formatEpoch(x.r1s, x.r1n);
      r['latency_ms'] = ms(x.q1s, x.q1n, x.r0s, x.r0n);
      r['duration_ms'] = ms(x.t0s, x.t0n, x.r1s, x.r1n);
    }
    r['state'] = state;
    r['problem'] = state === 'complete' ? null : problem;
    this.ctx.emit(POSTGRESQL_SCHEMA, r, x.failed);
  }

  private confirm(): void {
    if (this.confirmed) return;
    this.confirmed = true;
    this.ctx.confirm();
  }

  private stop(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.sides) s.framer.dead = true;
    this.ctx.stop(why);
  }
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Offset of the next NUL in buf[p, end) (end when there is none). */
function nul(buf: Uint8Array, p: number, end: number): number {
  while (p < end && buf[p] !== 0) p++;
  return p;
}

/** b - a in milliseconds. */
function ms(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return ((bSec - aSec) * 1e9 + (bNsec - aNsec)) / 1e6;
}

/**
 * A client's first message: an SSLRequest or GSSENCRequest (8 bytes with
 * their codes), a CancelRequest (16 bytes), or a StartupMessage of protocol
 * 3 whose first parameter name starts with a lower-case letter.
 */
function sniff(buf: Uint8Array, off: number, len: number): SniffResult {
  if (len < 8) return len >= 4 && (buf[off] !== 0 || buf[off + 1] !== 0) ? Sniff.NO : Sniff.MORE;
  const b = buf.subarray(off, off + len);
  const v = plausibleStartup(b, len);
  if (v === YES) {
    if (u32(b, 4) >>> 16 === 3) {
      // the first parameter name must be text ending with a NUL
      let i = 8;
      while (i < len && b[i] !== 0) {
        if (b[i]! < 0x5f || b[i]! > 0x7a) return Sniff.NO;
        i++;
      }
      if (i === len && len < u32(b, 0)) return Sniff.MORE;
    }
    return Sniff.CLIENT;
  }
  return v === MORE ? Sniff.MORE : Sniff.NO;
}

export const POSTGRESQL: ProtocolDef = {
  name: 'postgresql',
  aliases: ['pgsql', 'postgres'],
  service: 'postgresql',
  schemas: [POSTGRESQL_SCHEMA],
  // Zeek's PostgreSQL port (scripts/base/protocols/postgresql/main.zeek)
  tcpPorts: [5432],
  udpPorts: [],
  sniff,
  stream: (ctx, limits) => new PostgresqlDecoder(ctx, limits),
};
