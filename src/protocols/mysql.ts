/**
 * MySQL and MariaDB client/server protocol: one `mysql` record per command
 * and its reply (src/records/mysql.ts), the login included; docs/l7.md
 * ("MySQL and MariaDB") says what is read and how it is checked.
 *
 * Each side is framed by mysql-packet.ts (packets, 16 MB continuation,
 * compressed frames); this file follows the connection: the server's
 * greeting, the client's handshake response (or its SSLRequest: then the
 * login is written with state `tls` and the decoder stops, since the TLS
 * decoder does not take over mid-connection), the authentication exchange,
 * then commands, queued in order (a client may send several before the
 * first reply), each answered by OK, ERR, EOF, a result set (column count,
 * column definitions, rows, EOF or, with CLIENT_DEPRECATE_EOF, an OK packet
 * with the 0xfe header; several with SERVER_MORE_RESULTS_EXISTS), a
 * prepared statement's description, a LOCAL INFILE request and the file's
 * transfer, or nothing (quit, stmt_close, stmt_send_long_data).
 *
 * Captures that begin mid-connection, and sides whose framing a capture
 * gap lost, are resynchronised where a side starts to speak after the
 * other did (a "turn": MySQL is request/response, so a command starts
 * where the client speaks again, a reply where the server does): the first
 * bytes there must pass a strict check (a known command with a plausible
 * length and argument, a reply's first packet with sequence id 1, or a
 * compressed frame holding one), else the turn is skipped. Whether the
 * connection is compressed is then told by the frame headers themselves,
 * as DeepFlow does; whether EOF packets are deprecated by the length of
 * the packet after the column definitions.
 */
import { emptyRecord, type RecordValues } from '../records/schema.js';
import { MYSQL_SCHEMA } from '../records/mysql.js';
import { formatEpoch } from '../util/time.js';
import { ByteBuf, clip, text } from './_bytes.js';
import {
  CLIENT_COMPRESS, CLIENT_CONNECT_WITH_DB, CLIENT_DEPRECATE_EOF, CLIENT_PLUGIN_AUTH,
  CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA, CLIENT_PROTOCOL_41, CLIENT_QUERY_ATTRIBUTES, CLIENT_SECURE_CONNECTION, CLIENT_SSL,
  CLIENT_ZSTD_COMPRESSION_ALGORITHM, COM_BINLOG_DUMP, COM_BINLOG_DUMP_GTID, COM_CHANGE_USER, COM_CREATE_DB, COM_DROP_DB, COM_FIELD_LIST,
  COM_INIT_DB, COM_PROCESS_INFO, COM_PROCESS_KILL, COM_QUERY, COM_STATISTICS, COM_STMT_CLOSE, COM_STMT_EXECUTE, COM_STMT_FETCH,
  COM_STMT_PREPARE, COM_STMT_RESET, COM_STMT_SEND_LONG_DATA, Reader, SERVER_MORE_RESULTS_EXISTS, SERVER_STATUS_CURSOR_EXISTS,
  adminCommand, commandName, hasNoReply, isBareCommand,
} from './_mysql-wire.js';
import { CLIENT, SERVER, Sniff, type AppContext, type DecoderLimits, type ProtocolDef, type Side, type SniffResult, type StreamDecoder } from './decoder.js';
import { COMPRESSED, MysqlFramer, PLAIN, type PacketOwner } from './mysql-packet.js';
import { fingerprint } from './sql-fingerprint.js';

// connection phases
const P_START = 0;
const P_GREETED = 1;
const P_AUTH = 2;
const P_COMMAND = 3;

// where a reply is
const R_FIRST = 0;
const R_COLDEFS = 1;
const R_COLEOF = 2;
const R_ROWS = 3;
const R_PREP_PARAMS = 4;
const R_PREP_PARAMS_EOF = 5;
const R_PREP_COLS = 6;
const R_PREP_COLS_EOF = 7;
const R_FIELDS = 8;
const R_INFILE = 9;
const R_AUTH = 10;
const R_BINLOG = 11;
/** A prepared statement's description is complete. */
const R_PREP_DONE = 12;

/** Columns a result set may declare (MySQL's limit is 4096 per table); more is taken for a lie. */
export const MAX_COLUMNS = 65535;
/** Bytes gathered at a candidate packet start before deciding. */
const GATHER = 96;
/** Turns without a plausible packet on either side before the decoder gives up on a connection. */
const GIVE_UP_TURNS = 4;
/** Bytes kept of a server packet while rows and column definitions stream (the first byte decides; an OK packet that ends them fits in 32). */
const ROW_WANT = 32;

// plausible() verdicts
const NO = 0;
const MORE = 1;
const YES_PLAIN = 2;
const YES_COMPRESSED = 3;

/** One command (or the login) and its reply. */
class _Cmd {
  code = -1;
  arg = '';
  stmt: string | null = null;
  /** The fingerprint an EXECUTE of this statement gets (fp is the record's own). */
  stmtFp: string | null = null;
  fp: string | null = null;
  stmtId = -1;
  params = -1;
  columns = -1;
  nextSeq = 1;
  t0s = 0; t0n = 0;
  t1s = 0; t1n = 0;
  r0s = -1; r0n = 0;
  r1s = 0; r1n = 0;
  reqBytes = 0;
  respBytes = 0;
  st = R_FIRST;
  left = 0;
  resultRows = 0;
  resultSets = 0;
  rows = -1;
  insertId = -1;
  warnings = -1;
  success: boolean | null = null;
  errCode = -1;
  sqlState: string | null = null;
  errMsg: string | null = null;
  problem: string | null = null;
  incomplete = false;
  invalid = false;
  // a prepared statement's description
  prepCols = 0;
  // login
  login = false;
  caps = -1;
  plugin: string | null = null;
}

/** A side: its framer and the gathering of candidate bytes while it is not in step. */
class _Side {
  framer: MysqlFramer;
  /** Gathering bytes at a candidate start (the first bytes of a turn). */
  candidate = false;
  readonly re = new ByteBuf(GATHER, GATHER);
  reSec = 0;
  reNsec = 0;
  misses = 0;
  everSynced = false;

  constructor(owner: PacketOwner, cap: number) {
    this.framer = new MysqlFramer(owner, cap);
  }
}

class _Owner implements PacketOwner {
  constructor(
    private readonly d: MysqlDecoder,
    private readonly side: Side,
  ) {}
  packet(seq: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    if (this.side === CLIENT) this.d.clientPacket(seq, buf, off, head, len, cut, s0, n0, s1, n1);
    else this.d.serverPacket(seq, buf, off, head, len, cut, s0, n0, s1, n1);
  }
  endedInside(sec0: number, nsec0: number): void {
    if (this.side === SERVER) this.d.replyEndedInside(sec0, nsec0);
  }
  lost(why: string): void {
    this.d.lost(this.side, why);
  }
  weird(name: string): void {
    this.d.ctx.weird(name);
  }
}

export class MysqlDecoder implements StreamDecoder {
  private readonly sides: [_Side, _Side];
  private readonly r = new Reader();
  private phase = P_START;
  private lastSide = -1;
  private stopped = false;
  private confirmed = false;
  // what the handshake said
  private serverCaps = -1;
  private clientCaps = -1;
  /** EOF packets deprecated (CLIENT_DEPRECATE_EOF): 1 yes, 0 no, -1 not known (mid-connection). */
  private deprecateEof = -1;
  private compressed = false;
  private serverVersion: string | null = null;
  private user: string | null = null;
  private database: string | null = null;
  private login: _Cmd | null = null;
  /** Commands sent and not yet answered, oldest first. */
  private readonly pending: _Cmd[] = [];
  /** Prepared statements by id: text, parameter and column counts (bounded). */
  private readonly stmts = new Map<number, { text: string; params: number; columns: number; fp: string }>();
  private stmtChars = 0;
  private lastStmtId = -1;
  /** A reply broke the protocol: server packets are dropped until a later command's reply starts. */
  private absorbing = false;
  private readonly clientWant: number;

  constructor(
    readonly ctx: AppContext,
    private readonly limits: DecoderLimits,
  ) {
    this.sides = [new _Side(new _Owner(this, CLIENT), limits.maxHeaderBytes), new _Side(new _Owner(this, SERVER), limits.maxHeaderBytes)];
    this.clientWant = Math.min(limits.maxHeaderBytes, limits.maxValueChars * 4 + 64);
    this.sides[CLIENT].framer.want = this.clientWant;
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
    if (s.framer.synced) {
      s.framer.data(buf, off, len, sec, nsec);
      return;
    }
    if (!s.candidate) return;
    this.gather(side, s, buf, off, len, sec, nsec);
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
    if (this.stopped) return;
    this.sides[side].framer.end();
  }

  finish(): void {
    if (this.login !== null) {
      const l = this.login;
      this.login = null;
      if (l.r0s < 0) this.write(l, 'unanswered', 'no reply to the handshake response before the connection ended');
      else this.write(l, 'incomplete', 'the connection ended during the authentication');
    }
    while (this.pending.length > 0) {
      const c = this.pending.shift()!;
      if (c.r0s < 0) this.write(c, 'unanswered', 'no reply before the connection ended');
      else this.write(c, 'incomplete', 'the connection ended inside the reply');
    }
  }

  // ---- finding where packets start

  /** Gathers the first bytes of a turn until plausible() decides whether a packet starts there. */
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
    if (v !== YES_PLAIN && v !== YES_COMPRESSED) {
      re.clear();
      s.misses++;
      const other = this.sides[side === CLIENT ? SERVER : CLIENT];
      if (!s.everSynced && !other.everSynced && s.misses >= GIVE_UP_TURNS && other.misses >= GIVE_UP_TURNS) this.stop('not MySQL: no plausible packet where either side began to speak');
      return;
    }
    s.everSynced = true;
    if (v === YES_COMPRESSED && !this.compressed) {
      this.compressed = true;
      this.ctx.weird('compressed protocol recognised mid-connection');
      this.sides[side === CLIENT ? SERVER : CLIENT].framer.mode = COMPRESSED;
    }
    s.framer.resync(v === YES_COMPRESSED ? COMPRESSED : PLAIN);
    // the gathered bytes (the first came at reSec, the others with this chunk), then the rest of the chunk
    const copy = re.buf.slice(0, re.len);
    const kept = re.len;
    re.clear();
    s.framer.data(copy, 0, 1, s.reSec, s.reNsec);
    if (kept > 1 && s.framer.synced && !this.stopped) s.framer.data(copy, 1, kept - 1, sec, nsec);
    if (n < len && s.framer.synced && !this.stopped) s.framer.data(buf, off + n, len - n, sec, nsec);
  }

  /** Does a packet (or a compressed frame holding one) start at b[0]? */
  private plausible(side: Side, b: Uint8Array, n: number): number {
    const mode = this.sides[side].framer.mode;
    const known = this.compressed || this.phase !== P_START;
    if (!known || mode === PLAIN) {
      const v = this.plausiblePacket(side, b, 0, n);
      if (v !== NO || known) return v;
    }
    // a compressed frame: 7-byte header, then either the packets as they are (uncompressed length 0) or zlib data
    if (n < 7) return MORE;
    const clen = b[0]! | (b[1]! << 8) | (b[2]! << 16);
    const raw = b[4]! | (b[5]! << 8) | (b[6]! << 16);
    if (clen < 4) return NO;
    if (raw === 0) {
      const v = this.plausiblePacket(side, b, 7, Math.min(n, 7 + clen));
      if (v === YES_PLAIN) {
        const inner = b[7]! | (b[8]! << 8) | (b[9]! << 16);
        return inner + 4 <= clen ? YES_COMPRESSED : NO;
      }
      return v;
    }
    if (n < 9) return MORE;
    const c0 = b[7]!, c1 = b[8]!;
    // a zlib header (RFC 1950): deflate, a window of at most 32 KiB, the check bits right
    return (c0 & 0x0f) === 8 && c0 >> 4 <= 7 && ((c0 << 8) | c1) % 31 === 0 && raw >= 4 ? YES_COMPRESSED : NO;
  }

  /** A plain packet at b[o ..]: a command (client) or the start of a reply or greeting (server). */
  private plausiblePacket(side: Side, b: Uint8Array, o: number, n: number): number {
    if (n - o < 5) return MORE;
    const len = b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
    const seq = b[o + 3]!;
    const c = b[o + 4]!;
    const avail = n - o - 4;
    if (len === 0) return NO;
    if (side === CLIENT) {
      if (seq === 1 && (this.phase === P_START || this.phase === P_GREETED)) return this.plausibleHandshakeResponse(b, o + 4, Math.min(avail, len), len);
      if (seq !== 0) return NO;
      return plausibleCommand(b, o + 4, Math.min(avail, len), len);
    }
    if (this.phase === P_START && seq === 0) {
      if (c === 10) {
        const end = o + 4 + Math.min(avail, len);
        for (let i = o + 5; i < end; i++) {
          const x = b[i]!;
          if (x === 0) return i > o + 5 && isDigit(b[o + 5]!) && len >= i - o - 4 + 15 ? YES_PLAIN : NO;
          if (x < 0x20 || x > 0x7e) return NO;
        }
        return avail >= len || avail >= GATHER - o - 4 ? NO : MORE;
      }
      return c === 0xff && len >= 3 && len < 1024 ? YES_PLAIN : NO;
    }
    // a reply's first packet: only where a command waits for one
    if (this.pending.length === 0 || this.pending[0]!.r0s >= 0 || seq !== this.pending[0]!.nextSeq) return NO;
    const cmd = this.pending[0]!.code;
    if (c === 0x00) return len >= 7 || (len >= 3 && cmd !== COM_STMT_PREPARE) ? YES_PLAIN : NO;
    if (c === 0xff) {
      if (avail < 3) return MORE;
      const code = b[o + 5]! | (b[o + 6]! << 8);
      return len >= 3 && code >= 1000 ? YES_PLAIN : NO;
    }
    if (c === 0xfe) return len < 9 ? YES_PLAIN : NO;
    if (cmd === COM_STATISTICS) return YES_PLAIN;
    if (c === 0xfb) return cmd === COM_QUERY ? YES_PLAIN : NO;
    // a column count
    if (cmd !== COM_QUERY && cmd !== COM_STMT_EXECUTE && cmd !== COM_PROCESS_INFO) return NO;
    if (c < 0xfb) return len <= 2 ? YES_PLAIN : NO;
    if (c === 0xfc) return len >= 3 && len <= 4 ? YES_PLAIN : NO;
    return NO;
  }

  /** A HandshakeResponse41 (or an SSLRequest): capabilities with protocol 4.1, then 19 zero filler bytes. */
  private plausibleHandshakeResponse(b: Uint8Array, o: number, avail: number, len: number): number {
    if (len < 32) return NO;
    if (avail < 32) return MORE;
    const caps = b[o]! | (b[o + 1]! << 8);
    if ((caps & CLIENT_PROTOCOL_41) === 0) return NO;
    for (let i = o + 9; i < o + 28; i++) if (b[i] !== 0) return NO;
    return YES_PLAIN;
  }

  // ---- packets

  clientPacket(seq: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    if (this.stopped) return;
    const phase = this.phase;
    if ((phase === P_START || phase === P_GREETED) && seq === 1) {
      this.handshakeResponse(buf, off, head, len, cut, s0, n0, s1, n1);
      return;
    }
    if (phase === P_AUTH && seq !== 0) {
      // authentication data (an auth switch response, a password, a public key request)
      if (this.login !== null) this.login.reqBytes += wire(len);
      return;
    }
    const c = this.pending.length > 0 ? this.pending[this.pending.length - 1]! : null;
    if (c !== null && seq !== 0 && (c.st === R_INFILE || c.st === R_AUTH)) {
      // the file of a LOAD DATA LOCAL INFILE (an empty packet ends it), or change_user's authentication data
      c.reqBytes += wire(len);
      c.nextSeq = (seq + 1) & 0xff;
      if (c.st === R_INFILE && len === 0) c.st = R_FIRST;
      return;
    }
    if (phase === P_AUTH && this.login !== null) {
      this.ctx.weird('command before the login completed');
      const l = this.login;
      this.login = null;
      this.write(l, 'incomplete', 'a command came before the server accepted the login');
    }
    this.phase = P_COMMAND;
    if (seq !== 0) this.ctx.weird('command with a sequence id other than 0');
    this.command(seq, buf, off, head, len, cut, s0, n0, s1, n1);
  }

  serverPacket(seq: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    if (this.stopped) return;
    if (this.phase === P_START && seq === 0 && head > 0 && (buf[off] === 10 || buf[off] === 9)) {
      this.greeting(buf, off, head);
      return;
    }
    if (this.phase === P_START && seq === 0 && head > 0 && buf[off] === 0xff) {
      // the server refused the connection before greeting it (too many connections, host blocked)
      const l = new _Cmd();
      l.login = true;
      l.t0s = l.t1s = l.r0s = l.r1s = s0;
      l.t0n = l.t1n = l.r0n = l.r1n = n0;
      l.respBytes = wire(len);
      this.err(l, buf, off, head);
      this.write(l, cut ? 'incomplete' : 'complete', cut ? 'a capture gap inside the reply' : null);
      return;
    }
    if (this.phase === P_AUTH || (this.login !== null && this.phase !== P_COMMAND)) {
      this.authReply(seq, buf, off, head, len, cut, s0, n0, s1, n1);
      return;
    }
    const c = this.pending.length > 0 ? this.pending[0]! : null;
    if (c === null) {
      this.ctx.weird('reply without a command');
      return;
    }
    if (this.absorbing) {
      if (c.r0s >= 0 || seq !== c.nextSeq) return;
      this.absorbing = false;
    }
    if (seq !== c.nextSeq) this.ctx.weird('sequence id out of order');
    c.nextSeq = (seq + 1) & 0xff;
    if (c.r0s < 0) {
      c.r0s = s0;
      c.r0n = n0;
    }
    c.r1s = s1;
    c.r1n = n1;
    c.respBytes += wire(len);
    if (cut && !c.incomplete) {
      c.incomplete = true;
      c.problem ??= 'a capture gap inside the reply';
    }
    this.reply(c, buf, off, head, len);
    this.sides[SERVER].framer.want = this.pending.length > 0 && this.pending[0]!.st !== R_FIRST ? ROW_WANT : 4096;
  }

  /** The server's side ended inside a packet: a reply that had not started did start. */
  replyEndedInside(sec0: number, nsec0: number): void {
    const c = this.pending[0];
    if (c !== undefined && c.r0s < 0 && !this.absorbing) {
      c.r0s = c.r1s = sec0;
      c.r0n = c.r1n = nsec0;
    }
  }

  lost(side: Side, why: string): void {
    if (side === SERVER) {
      // the reply being read cannot be finished; later replies are found again at a turn
      const c = this.pending[0];
      if (c !== undefined && c.r0s >= 0) {
        this.pending.shift();
        this.write(c, 'incomplete', `reply cut by ${why}`);
      } else if (c !== undefined) {
        this.pending.shift();
        this.write(c, 'incomplete', `reply lost in ${why}`);
      }
      if (this.login !== null) {
        const l = this.login;
        this.login = null;
        this.write(l, 'incomplete', `authentication cut by ${why}`);
        this.phase = P_COMMAND;
      }
    }
    this.ctx.weird('framing lost in a capture gap');
  }

  // ---- the connection phase

  private greeting(buf: Uint8Array, off: number, head: number): void {
    const r = this.r.reset(buf, off, off + head);
    const proto = r.u8();
    const vEnd = r.nul();
    this.serverVersion = clip(text(buf, r.pos, vEnd), this.limits.maxValueChars);
    r.pos = Math.min(vEnd + 1, r.end);
    if (proto === 10) {
      r.skip(4 + 8 + 1);
      let caps = r.u16();
      if (r.left() > 0) {
        r.skip(1 + 2);
        caps |= r.u16() << 16;
        r.skip(1 + 6);
        r.skip(4); // reserved (MariaDB: its extended capabilities when CLIENT_MYSQL is clear)
      }
      if (!r.bad) this.serverCaps = caps >>> 0;
    }
    this.phase = P_GREETED;
    this.confirm();
  }

  private handshakeResponse(buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    const r = this.r.reset(buf, off, off + head);
    const l = new _Cmd();
    l.login = true;
    l.t0s = s0;
    l.t0n = n0;
    l.t1s = s1;
    l.t1n = n1;
    l.reqBytes = wire(len);
    let caps = r.u16();
    if (caps & CLIENT_PROTOCOL_41) {
      r.pos = off;
      caps = r.u32();
      r.skip(4 + 1 + 23);
    } else r.skip(3);
    l.caps = caps >>> 0;
    this.clientCaps = l.caps;
    this.phase = P_AUTH;
    if (caps & CLIENT_SSL && len === 32) {
      // an SSLRequest: TLS follows on this connection, which this decoder cannot read
      this.confirm();
      this.write(l, 'tls', 'the client switched to TLS (SSLRequest): the rest of the connection is encrypted');
      this.stop('the connection switched to TLS');
      return;
    }
    const uEnd = r.nul();
    this.user = clip(text(buf, r.pos, uEnd), this.limits.maxValueChars);
    r.pos = Math.min(uEnd + 1, r.end);
    if (caps & CLIENT_PROTOCOL_41) {
      if (caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
        const n = r.lenenc();
        r.skip(n < 0 ? 0 : n);
      } else if (caps & CLIENT_SECURE_CONNECTION) r.skip(r.u8());
      else r.pos = Math.min(r.nul() + 1, r.end);
    } else r.pos = Math.min(r.nul() + 1, r.end);
    if (caps & CLIENT_CONNECT_WITH_DB && r.left() > 0 && !r.bad) {
      const dEnd = r.nul();
      this.database = clip(text(buf, r.pos, dEnd), this.limits.maxValueChars);
      r.pos = Math.min(dEnd + 1, r.end);
    }
    if (caps & CLIENT_PLUGIN_AUTH && r.left() > 0 && !r.bad) {
      const pEnd = r.nul();
      l.plugin = clip(text(buf, r.pos, pEnd), 64);
      r.pos = Math.min(pEnd + 1, r.end);
    }
    l.arg = this.user;
    if (cut) {
      l.incomplete = true;
      l.problem = 'a capture gap inside the handshake response';
    }
    const both = this.serverCaps >= 0 ? this.serverCaps & l.caps : l.caps;
    this.deprecateEof = both & CLIENT_DEPRECATE_EOF ? 1 : 0;
    this.login = l;
    this.confirm();
  }

  private authReply(seq: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    const l = this.login;
    if (l === null) return;
    if (l.r0s < 0) {
      l.r0s = s0;
      l.r0n = n0;
    }
    l.r1s = s1;
    l.r1n = n1;
    l.respBytes += wire(len);
    l.nextSeq = (seq + 1) & 0xff;
    if (cut) {
      l.incomplete = true;
      l.problem ??= 'a capture gap inside the reply';
    }
    const c = head > 0 ? buf[off]! : -1;
    if (c === 0xfe && head > 1) {
      // an auth switch request names the plugin the server wants
      const r = this.r.reset(buf, off + 1, off + head);
      l.plugin = clip(text(buf, r.pos, r.nul()), 64);
      return;
    }
    if (c !== 0x00 && c !== 0xff) return; // more authentication data
    this.login = null;
    if (c === 0xff) this.err(l, buf, off, head);
    else {
      this.ok(l, buf, off, head);
      // compression starts after the server's OK, on both sides
      const both = this.serverCaps >= 0 ? this.serverCaps & l.caps : l.caps;
      if (both & CLIENT_ZSTD_COMPRESSION_ALGORITHM && !(both & CLIENT_COMPRESS)) {
        this.write(l, l.incomplete ? 'incomplete' : 'complete', l.problem);
        this.stop('zstd-compressed protocol: not decoded');
        return;
      }
      if (both & CLIENT_COMPRESS) {
        this.compressed = true;
        this.sides[SERVER].framer.startCompression();
        this.sides[CLIENT].framer.startCompression();
      }
    }
    this.phase = P_COMMAND;
    this.write(l, l.incomplete ? 'incomplete' : 'complete', l.problem);
  }

  // ---- commands

  private command(seq: number, buf: Uint8Array, off: number, head: number, len: number, cut: boolean, s0: number, n0: number, s1: number, n1: number): void {
    if (head === 0) {
      this.ctx.weird('empty command packet');
      return;
    }
    const c = new _Cmd();
    const code = buf[off]!;
    c.code = code;
    c.nextSeq = (seq + 1) & 0xff;
    c.t0s = s0;
    c.t0n = n0;
    c.t1s = s1;
    c.t1n = n1;
    c.reqBytes = wire(len);
    const truncated = head < len;
    if (cut) {
      c.incomplete = true;
      c.problem = 'a capture gap inside the command';
    }
    const r = this.r.reset(buf, off + 1, off + head);
    switch (code) {
      case COM_QUERY:
      case COM_STMT_PREPARE: {
        let start = off + 1;
        if (code === COM_QUERY) start = this.queryStart(buf, off + 1, off + head);
        if (start < 0) {
          c.problem ??= 'query attributes with parameters: statement not read';
          c.arg = '';
        } else c.stmt = c.arg = this.statement(buf, start, off + head, truncated);
        break;
      }
      case COM_INIT_DB:
      case COM_CREATE_DB:
      case COM_DROP_DB:
        c.arg = this.statement(buf, off + 1, off + head, truncated);
        break;
      case COM_FIELD_LIST:
        c.arg = clip(text(buf, off + 1, r.nul()), this.limits.maxValueChars);
        break;
      case COM_PROCESS_KILL: {
        const id = r.u32();
        c.arg = r.bad ? '' : String(id);
        break;
      }
      case COM_CHANGE_USER:
        c.arg = clip(text(buf, off + 1, r.nul()), this.limits.maxValueChars);
        break;
      case COM_STMT_EXECUTE:
      case COM_STMT_FETCH:
      case COM_STMT_RESET:
      case COM_STMT_CLOSE:
      case COM_STMT_SEND_LONG_DATA: {
        let id = r.u32();
        if (!r.bad) {
          // MariaDB: id 0xffffffff is the statement prepared last (pipelined prepare and execute)
          if (id === 0xffffffff && this.lastStmtId >= 0) id = this.lastStmtId;
          c.stmtId = id;
          const p = this.stmts.get(id);
          if (p !== undefined) {
            c.stmt = c.arg = p.text;
            c.stmtFp = p.fp;
            c.params = p.params;
            if (code === COM_STMT_EXECUTE) c.columns = p.columns;
          }
          if (code === COM_STMT_CLOSE) this.forget(id);
        }
        break;
      }
      default:
        break;
    }
    // pt-query-digest's statements: the query; PREPARE <text>; EXECUTE <text> (pt puts the values in: they
    // fingerprint to ? anyway); DEALLOCATE PREPARE <id> and RESET <id>; other commands by name. A prepared
    // statement's EXECUTE fingerprint is made once, at its prepare, and kept with its text.
    if (code === COM_QUERY) c.fp = c.stmt !== null ? fingerprint(c.stmt) : adminCommand(code);
    else if (code === COM_STMT_PREPARE) {
      if (c.stmt !== null) {
        c.fp = fingerprint('PREPARE ' + c.stmt);
        c.stmtFp = fingerprint('EXECUTE ' + c.stmt);
      }
    } else if (code === COM_STMT_EXECUTE) c.fp = c.stmtFp;
    else if (code === COM_STMT_CLOSE && c.stmtId >= 0) c.fp = fingerprint(`DEALLOCATE PREPARE ${c.stmtId}`);
    else if (code === COM_STMT_RESET && c.stmtId >= 0) c.fp = fingerprint(`RESET ${c.stmtId}`);
    else c.fp = adminCommand(code);
    if (code === COM_STMT_FETCH) c.st = R_ROWS;
    else if (code === COM_FIELD_LIST) c.st = R_FIELDS;
    else if (code === COM_BINLOG_DUMP || code === COM_BINLOG_DUMP_GTID) c.st = R_BINLOG;
    if (hasNoReply(code)) {
      this.write(c, c.incomplete ? 'incomplete' : 'complete', c.problem);
      return;
    }
    if (this.pending.length >= this.limits.maxPending) {
      const old = this.pending.shift()!;
      this.ctx.weird('too many commands waiting for replies');
      this.write(old, 'unanswered', `more than ${this.limits.maxPending} commands waiting`);
    }
    this.pending.push(c);
  }

  /**
   * Where a COM_QUERY's statement starts: after the query attributes when
   * the client negotiated them (parameter count 0 and 1 parameter set: the
   * "00 01" DeepFlow skips); -1 when attributes with parameters precede it.
   */
  private queryStart(buf: Uint8Array, p: number, end: number): number {
    const qa = this.clientCaps >= 0 ? (this.clientCaps & CLIENT_QUERY_ATTRIBUTES) !== 0 && (this.serverCaps < 0 || (this.serverCaps & CLIENT_QUERY_ATTRIBUTES) !== 0) : end - p >= 3 && buf[p] === 0 && buf[p + 1] === 1;
    if (!qa) return p;
    const r = this.r.reset(buf, p, end);
    const n = r.lenenc();
    r.lenenc();
    if (r.bad || n !== 0) return n === 0 ? p : -1;
    return r.pos;
  }

  /** Statement text of buf[start, end), clipped; `truncated`: the packet went on past end (an ellipsis marks it). */
  private statement(buf: Uint8Array, start: number, end: number, truncated: boolean): string {
    const max = this.limits.maxValueChars;
    if (truncated) {
      // do not cut a UTF-8 sequence in two
      let e = end;
      while (e > start && (buf[e - 1]! & 0xc0) === 0x80 && end - e < 3) e--;
      if (e > start && buf[e - 1]! >= 0xc0) e--;
      const t = text(buf, start, e);
      return t.length >= max ? clip(t, max) : t + '…';
    }
    return clip(text(buf, start, end), max);
  }

  private remember(id: number, text: string, params: number, columns: number, fp: string): void {
    const old = this.stmts.get(id);
    if (old !== undefined) this.forget(id);
    this.stmts.set(id, { text, params, columns, fp });
    this.stmtChars += text.length;
    this.lastStmtId = id;
    // bounded: at most maxPending statements and 32 values' worth of text
    const maxChars = 32 * this.limits.maxValueChars;
    while (this.stmts.size > this.limits.maxPending || this.stmtChars > maxChars) {
      const first = this.stmts.keys().next().value as number;
      this.forget(first);
      this.ctx.weird('prepared statement forgotten (too many)');
    }
  }

  private forget(id: number): void {
    const s = this.stmts.get(id);
    if (s === undefined) return;
    this.stmtChars -= s.text.length;
    this.stmts.delete(id);
  }

  // ---- replies

  private reply(c: _Cmd, buf: Uint8Array, off: number, head: number, len: number): void {
    const b0 = head > 0 ? buf[off]! : -1;
    // a terminator: EOF, or OK with the 0xfe header (not a row: a row starting with 0xfe is 2^24 bytes or more)
    const term = b0 === 0xfe && len < 0xffffff;
    switch (c.st) {
      case R_FIRST:
        return this.first(c, buf, off, head, len, b0);
      case R_COLDEFS:
      case R_PREP_PARAMS:
      case R_PREP_COLS:
        if (b0 === 0xff) return this.fail(c, buf, off, head);
        if (term) {
          this.ctx.weird('terminator inside the column definitions');
          return this.afterDefs(c, true, buf, off, head, len);
        }
        if (--c.left > 0) return;
        return this.afterDefs(c, false, buf, off, head, len);
      case R_COLEOF:
      case R_PREP_PARAMS_EOF:
      case R_PREP_COLS_EOF:
        if (b0 === 0xff) return this.fail(c, buf, off, head);
        if (term && (this.deprecateEof === 0 || (this.deprecateEof < 0 && len <= 5))) {
          if (this.deprecateEof < 0) this.deprecateEof = 0;
          const status = this.eofStatus(buf, off, head, len);
          if (c.st === R_COLEOF) {
            if (status & SERVER_STATUS_CURSOR_EXISTS) return this.done(c);
            c.st = R_ROWS;
            return;
          }
          c.st = c.st === R_PREP_PARAMS_EOF ? R_PREP_COLS : R_PREP_DONE;
          return this.prepNext(c);
        }
        // no EOF here: EOF packets are deprecated
        if (this.deprecateEof < 0) this.deprecateEof = 1;
        if (c.st === R_COLEOF) {
          c.st = R_ROWS;
          return this.reply(c, buf, off, head, len);
        }
        c.st = c.st === R_PREP_PARAMS_EOF ? R_PREP_COLS : R_PREP_DONE;
        this.prepNext(c);
        if (this.pending[0] === c) this.reply(c, buf, off, head, len);
        else this.ctx.weird('packet after a prepared statement description');
        return;
      case R_ROWS:
      case R_FIELDS:
      case R_BINLOG:
        if (b0 === 0xff) return this.fail(c, buf, off, head);
        if (term) return this.terminator(c, buf, off, head, len);
        if (c.st === R_FIELDS) c.columns = (c.columns < 0 ? 0 : c.columns) + 1;
        else c.resultRows++;
        return;
      case R_INFILE:
        this.ctx.weird('server packet during the LOCAL INFILE transfer');
        return;
      case R_AUTH:
        if (b0 === 0xff) return this.fail(c, buf, off, head);
        if (b0 === 0x00) {
          this.ok(c, buf, off, head);
          if (c.code === COM_CHANGE_USER) this.user = c.arg;
          return this.done(c);
        }
        return; // an auth switch request or more authentication data: the client answers
      default:
        return;
    }
  }

  /** The first packet of a reply (or of the next result set). */
  private first(c: _Cmd, buf: Uint8Array, off: number, head: number, len: number, b0: number): void {
    const code = c.code;
    if (b0 === 0xff) return this.fail(c, buf, off, head);
    if (code === COM_STATISTICS) {
      // a human-readable status string, not an OK packet
      c.success = true;
      return this.done(c);
    }
    if (b0 === 0x00 && code === COM_STMT_PREPARE) {
      // COM_STMT_PREPARE_OK: statement id, columns, parameters, then their definitions
      const r = this.r.reset(buf, off + 1, off + head);
      c.stmtId = r.u32();
      const cols = r.u16();
      const params = r.u16();
      r.skip(1);
      const warnings = r.u16();
      if (r.bad && len < 12) return this.invalid(c, `prepare reply of ${len} bytes`);
      c.columns = cols;
      c.params = params;
      c.prepCols = cols;
      if (!r.bad) c.warnings = warnings;
      c.success = true;
      if (c.stmt !== null) this.remember(c.stmtId, c.stmt, params, cols, c.stmtFp ?? fingerprint('EXECUTE ' + c.stmt));
      c.st = R_PREP_PARAMS;
      c.left = params;
      if (params === 0) {
        c.st = R_PREP_COLS;
        this.prepNext(c);
      }
      return;
    }
    if (b0 === 0x00 || (b0 === 0xfe && len < 9)) {
      if (code === COM_CHANGE_USER && b0 === 0xfe) {
        c.st = R_AUTH;
        return;
      }
      let status: number;
      if (b0 === 0x00 || len > 5) status = this.ok(c, buf, off, head);
      else {
        c.success = true;
        if (c.rows < 0) c.rows = 0;
        status = this.eofStatus(buf, off, head, len);
      }
      // a multi-statement query or a CALL: another result follows
      if (status & SERVER_MORE_RESULTS_EXISTS && (code === COM_QUERY || code === COM_STMT_EXECUTE)) return;
      if (code === COM_INIT_DB && c.success) this.database = c.arg;
      if (code === COM_CHANGE_USER && c.success) this.user = c.arg;
      return this.done(c);
    }
    if (code === COM_CHANGE_USER) {
      c.st = R_AUTH;
      return;
    }
    if (b0 === 0xfb && code === COM_QUERY) {
      // LOCAL INFILE: the client sends the file, then an empty packet; the server answers OK or ERR
      c.st = R_INFILE;
      return;
    }
    if (code !== COM_QUERY && code !== COM_STMT_EXECUTE && code !== COM_PROCESS_INFO) {
      // a reply this command does not have: count it, and take the next terminator as its end
      this.ctx.weird(`unexpected reply to ${commandName(code)}`);
      c.st = R_ROWS;
      return this.reply(c, buf, off, head, len);
    }
    // a result set: the column count (and, with optional metadata, whether column definitions follow)
    const r = this.r.reset(buf, off, off + head);
    const n = r.lenenc();
    if (r.bad || n < 0) return this.invalid(c, 'bad column count');
    if (n > MAX_COLUMNS) return this.invalid(c, `column count ${n > Number.MAX_SAFE_INTEGER ? 'over 2^53' : n} over ${MAX_COLUMNS}`);
    if (n === 0) return this.invalid(c, 'column count 0');
    c.resultSets++;
    if (c.columns < 0) c.columns = n;
    const metadataFollows = r.left() > 0 ? r.u8() : 1;
    c.success = true;
    if (metadataFollows === 0) {
      c.st = this.deprecateEof === 1 ? R_ROWS : R_COLEOF;
      return;
    }
    c.st = R_COLDEFS;
    c.left = n;
  }

  /** The column (or parameter) definitions ended: `term` when a terminator came early. */
  private afterDefs(c: _Cmd, term: boolean, buf: Uint8Array, off: number, head: number, len: number): void {
    if (c.st === R_COLDEFS) {
      if (term) return this.terminator(c, buf, off, head, len);
      c.st = this.deprecateEof === 1 ? R_ROWS : R_COLEOF;
      return;
    }
    if (term) {
      c.st = c.st === R_PREP_PARAMS ? R_PREP_COLS : R_PREP_DONE;
      return this.prepNext(c);
    }
    if (this.deprecateEof === 1) {
      c.st = c.st === R_PREP_PARAMS ? R_PREP_COLS : R_PREP_DONE;
      return this.prepNext(c);
    }
    c.st = c.st === R_PREP_PARAMS ? R_PREP_PARAMS_EOF : R_PREP_COLS_EOF;
  }

  /** A prepared statement's description goes on with its columns, or ends. */
  private prepNext(c: _Cmd): void {
    if (c.st === R_PREP_COLS) {
      c.left = c.prepCols;
      if (c.prepCols > 0) return;
    }
    this.done(c);
  }

  /** EOF or OK(0xfe) after rows: the result set ends; another may follow. */
  private terminator(c: _Cmd, buf: Uint8Array, off: number, head: number, len: number): void {
    let status: number;
    if (this.deprecateEof === 1 || (this.deprecateEof < 0 && len > 5)) {
      status = this.ok(c, buf, off, head);
    } else {
      status = this.eofStatus(buf, off, head, len);
      c.success = true;
    }
    // Zeek: a reply that ends with EOF has rows 0
    if (c.rows < 0) c.rows = 0;
    if (status & SERVER_MORE_RESULTS_EXISTS && c.st === R_ROWS) {
      c.st = R_FIRST;
      return;
    }
    this.done(c);
  }

  /** Reads an EOF packet's status flags (and warnings); 0 when absent. */
  private eofStatus(buf: Uint8Array, off: number, head: number, len: number): number {
    if (len < 5 || head < 5) return 0;
    const r = this.r.reset(buf, off + 1, off + head);
    const w = r.u16();
    const status = r.u16();
    void w;
    return status;
  }

  /** Reads an OK packet into the command; returns its status flags. */
  private ok(c: _Cmd, buf: Uint8Array, off: number, head: number): number {
    const r = this.r.reset(buf, off + 1, off + head);
    const affected = r.lenenc();
    const insertId = r.lenenc();
    let status = 0;
    c.success = true;
    if (!r.bad) {
      c.rows = affected > Number.MAX_SAFE_INTEGER ? -1 : affected;
      if (affected > Number.MAX_SAFE_INTEGER) c.problem ??= 'affected rows over 2^53';
      c.insertId = insertId > Number.MAX_SAFE_INTEGER ? -1 : insertId;
      const caps = this.clientCaps;
      if (caps < 0 || caps & CLIENT_PROTOCOL_41) {
        status = r.u16();
        const w = r.u16();
        if (!r.bad) c.warnings = w;
      }
    }
    return status;
  }

  /** An ERR packet ends the reply. */
  private fail(c: _Cmd, buf: Uint8Array, off: number, head: number): void {
    this.err(c, buf, off, head);
    this.done(c);
  }

  private err(c: _Cmd, buf: Uint8Array, off: number, head: number): void {
    const r = this.r.reset(buf, off + 1, off + head);
    c.success = false;
    const code = r.u16();
    if (!r.bad) c.errCode = code;
    if (r.left() >= 6 && buf[r.pos] === 0x23) {
      c.sqlState = text(buf, r.pos + 1, r.pos + 6);
      r.pos += 6;
    }
    c.errMsg = clip(text(buf, r.pos, r.end), this.limits.maxValueChars);
  }

  private invalid(c: _Cmd, why: string): void {
    c.invalid = true;
    c.problem = why;
    this.ctx.weird(why.replace(/[0-9]+/g, 'N'));
    this.absorbing = true;
    this.done(c);
  }

  /** The command's reply is complete: write it. */
  private done(c: _Cmd): void {
    const i = this.pending.indexOf(c);
    if (i >= 0) this.pending.splice(i, 1);
    if (!this.confirmed && c.success !== null && !c.invalid) this.confirm();
    this.write(c, c.invalid ? 'invalid' : c.incomplete ? 'incomplete' : 'complete', c.problem);
  }

  private write(c: _Cmd, state: string, problem: string | null): void {
    const r: RecordValues = emptyRecord(MYSQL_SCHEMA);
    r['ts'] = formatEpoch(c.t0s, c.t0n);
    if (c.login) {
      r['cmd'] = 'login';
      r['arg'] = c.arg !== '' ? c.arg : this.user;
      r['fingerprint'] = 'administrator command: Connect';
      r['capability_flags'] = c.caps >= 0 ? c.caps : null;
      r['auth_plugin'] = c.plugin;
    } else {
      r['cmd'] = commandName(c.code);
      r['arg'] = c.arg;
      r['command_code'] = c.code;
      r['fingerprint'] = c.fp;
    }
    r['success'] = c.success;
    if (c.success === true && c.rows >= 0) r['rows'] = c.rows;
    if (c.errMsg !== null) r['response'] = c.errMsg;
    if (c.stmtId >= 0) r['statement_id'] = c.stmtId;
    if (c.params >= 0) r['params'] = c.params;
    if (c.columns >= 0) r['columns'] = c.columns;
    if (c.resultSets > 0 || c.resultRows > 0) {
      r['result_rows'] = c.resultRows;
      r['result_sets'] = c.resultSets;
    }
    if (c.success === true && c.insertId >= 0) r['insert_id'] = c.insertId;
    if (c.warnings >= 0) r['warnings'] = c.warnings;
    if (c.errCode >= 0) r['error_code'] = c.errCode;
    r['sql_state'] = c.sqlState;
    r['db_version'] = this.serverVersion;
    r['user'] = this.user;
    r['database'] = this.database;
    r['compressed'] = this.compressed;
    r['request_bytes'] = c.reqBytes;
    if (c.r0s >= 0) r['response_bytes'] = c.respBytes;
    if (c.reqBytes > 0 || c.login) r['request_end_ts'] = formatEpoch(c.t1s, c.t1n);
    if (c.r0s >= 0) {
      r['response_ts'] = formatEpoch(c.r0s, c.r0n);
      r['response_end_ts'] = formatEpoch(c.r1s, c.r1n);
      r['latency_ms'] = ms(c.t1s, c.t1n, c.r0s, c.r0n);
      r['duration_ms'] = ms(c.t0s, c.t0n, c.r1s, c.r1n);
    }
    r['state'] = state;
    r['problem'] = state === 'complete' ? null : problem;
    this.ctx.emit(MYSQL_SCHEMA, r, c.success === false);
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

/** Bytes a payload of `len` takes on the wire: a 4-byte header per part of at most 2^24 - 1 bytes. */
function wire(len: number): number {
  return len + 4 * (Math.floor(len / 0xffffff) + 1);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Text-ish bytes: no control characters but tab, CR and LF. */
function printable(b: Uint8Array, o: number, n: number): boolean {
  for (let i = o; i < o + n; i++) {
    const x = b[i]!;
    if (x < 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d) return false;
    if (x === 0x7f) return false;
  }
  return true;
}

/** A command packet's payload at b[o, o+avail) of `len` bytes: a known command whose length and argument fit it. */
function plausibleCommand(b: Uint8Array, o: number, avail: number, len: number): number {
  const code = b[o]!;
  if (isBareCommand(code)) return len === 1 ? YES_PLAIN : NO;
  switch (code) {
    case COM_QUERY:
    case COM_STMT_PREPARE:
    case COM_INIT_DB:
    case COM_CREATE_DB:
    case COM_DROP_DB:
    case COM_FIELD_LIST: {
      if (len < 2) return NO;
      let p = o + 1;
      let n = Math.min(avail, len) - 1;
      // query attributes: parameter count 0, one parameter set
      if (code === COM_QUERY && n >= 2 && b[p] === 0 && b[p + 1] === 1) {
        p += 2;
        n -= 2;
      }
      const want = Math.min(len - 1, 16);
      if (n < want && avail < len) return MORE;
      if (code === COM_FIELD_LIST) return printable(b, p, Math.min(n, 16)) || b.subarray(p, p + Math.min(n, 16)).includes(0) ? YES_PLAIN : NO;
      return n > 0 && printable(b, p, Math.min(n, 16)) && b[p]! > 0x20 ? YES_PLAIN : NO;
    }
    case COM_STMT_EXECUTE:
      if (len < 10) return NO;
      if (avail < 10) return MORE;
      return b[o + 5]! <= 0x0f && b[o + 6] === 1 && b[o + 7] === 0 && b[o + 8] === 0 && b[o + 9] === 0 ? YES_PLAIN : NO;
    case COM_STMT_CLOSE:
    case COM_STMT_RESET:
    case COM_PROCESS_KILL:
      return len === 5 ? YES_PLAIN : NO;
    case COM_STMT_FETCH:
      return len === 9 ? YES_PLAIN : NO;
    case COM_STMT_SEND_LONG_DATA:
      return len >= 7 ? YES_PLAIN : NO;
    case 0x1b: // set_option
      return len === 3 ? YES_PLAIN : NO;
    case 0x07: // refresh
      return len === 2 ? YES_PLAIN : NO;
    case COM_CHANGE_USER:
      return len >= 3 ? YES_PLAIN : NO;
    default:
      return NO;
  }
}

/** b - a in milliseconds (exact nanoseconds divided by 10^6). */
function ms(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return ((bSec - aSec) * 1e9 + (bNsec - aNsec)) / 1e6;
}

/**
 * The server's greeting (HandshakeV10): a packet with sequence id 0,
 * protocol 10, then a printable version string starting with a digit and
 * ending with a NUL, followed by at least the connection id, salt and
 * capabilities. tcpkit recognises MySQL on any port by it.
 */
function sniff(buf: Uint8Array, off: number, len: number): SniffResult {
  if (len < 6) return len >= 4 && buf[off + 3] !== 0 ? Sniff.NO : Sniff.MORE;
  const plen = buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16);
  if (buf[off + 3] !== 0 || buf[off + 4] !== 10 || plen < 20 || plen > 1024 || !isDigit(buf[off + 5]!)) return Sniff.NO;
  const end = off + Math.min(len, 4 + plen);
  for (let i = off + 6; i < end; i++) {
    const x = buf[i]!;
    if (x === 0) return plen >= i - off - 4 + 1 + 15 ? Sniff.SERVER : Sniff.NO;
    if (x < 0x20 || x > 0x7e || i - off > 4 + 80) return Sniff.NO;
  }
  return len >= 4 + plen ? Sniff.NO : Sniff.MORE;
}

export const MYSQL: ProtocolDef = {
  name: 'mysql',
  aliases: ['mariadb'],
  service: 'mysql',
  schemas: [MYSQL_SCHEMA],
  // Zeek's MySQL ports (scripts/base/protocols/mysql/main.zeek)
  tcpPorts: [1434, 3306],
  udpPorts: [],
  sniff,
  stream: (ctx, limits) => new MysqlDecoder(ctx, limits),
};
