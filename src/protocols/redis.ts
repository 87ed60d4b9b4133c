/**
 * Redis (RESP2 and RESP3): commands paired with their replies in order, one
 * `redis` record per pair (src/records/redis.ts).
 *
 * Pairing (Redis answers every command in order, so a FIFO suffices):
 * commands wait from their last byte, many at a time (pipelining); each
 * reply takes the oldest. Commands that get no reply are written at once
 * with state `no_reply`: CLIENT REPLY OFF (and every command until CLIENT
 * REPLY ON, whose +OK is a reply), CLIENT REPLY SKIP (and the command after
 * it; a SKIP while replies are off changes nothing), as Redis's
 * networking.c and Zeek's redis main.zeek track them.
 *
 * Pub/sub: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE of n channels take n
 * confirmations ([subscribe, channel, count]); the UNSUBSCRIBE commands the
 * same, or without arguments confirmations until the count falls to 0. A
 * message published to a subscribed connection ([message, channel, data],
 * [pmessage, pattern, channel, data], [smessage, ...]) is a record of its
 * own, state `message`: in RESP2 an array of that shape while the
 * connection is subscribed (the last confirmation's count is not 0), in
 * RESP3 any push (`>`) that is not a confirmation. RESP3 attributes (`|`)
 * before a reply are skipped. MULTI ... EXEC: the commands between are
 * `queued` (their reply is +QUEUED), EXEC's reply is the array of their
 * results.
 *
 * Bounds: at most `maxPending` commands wait; past that the oldest is
 * written without its reply (state incomplete) and its reply, when it
 * comes, is skipped, so the pairing stays in step (Zeek's
 * max_pending_commands, 10,000, drops its whole state instead). Lines are
 * held up to `maxHeaderBytes`, texts kept up to `maxValueChars`, bulk
 * strings counted, never stored (resp.ts).
 *
 * Gaps: inside a bulk string the framing survives (the message is
 * `incomplete`); elsewhere a lost client stretch is taken for one lost
 * command (a placeholder waits for its reply) and a lost server stretch for
 * one lost reply (the oldest command is written incomplete), and the side
 * resynchronises at the next line that starts a message.
 *
 * Records are held until the connection is confirmed as Redis (a reply
 * paired with a command, or a well-formed RESP command array) and dropped
 * if it never is; a side whose first bytes are not RESP stops the decoder.
 */
import { emptyRecord, type RecordValues } from '../records/schema.js';
import { REDIS_SCHEMA } from '../records/redis.js';
import { formatEpoch } from '../util/time.js';
import { clip } from './_bytes.js';
import { CLIENT, SERVER, Sniff, type AppContext, type DecoderLimits, type ProtocolDef, type Side, type SniffResult, type StreamDecoder } from './decoder.js';
import { CONFIRMATION_KINDS, MESSAGE_KINDS, SUBSCRIBE, UNSUBSCRIBE, firstArgument, keyPattern, zeekKey, zeekValue } from './redis-commands.js';
import { RespReader, respTypeName, type RespMessage, type RespOwner } from './resp.js';

/** One command and what came back. */
class _Cmd {
  depth = 0;
  startSec = 0; startNsec = 0;
  endSec = 0; endNsec = 0;
  name: string | null = null;
  zkey: string | null = null;
  zvalue: string | null = null;
  key: string | null = null;
  args = 0;
  inline = false;
  queued = false;
  bytes = 0;
  /** Confirmations still due (SUBSCRIBE and kin); -1: as many as come (UNSUBSCRIBE without arguments); 0: one ordinary reply. */
  confLeft = 0;
  /** The confirmations' first element: the command's name in lower case. */
  confKind: string | null = null;
  replies = 0;
  replySec = -1; replyNsec = 0;
  replyEndSec = 0; replyEndNsec = 0;
  replyType: string | null = null;
  replyValue: string | null = null;
  errorPrefix: string | null = null;
  success: boolean | null = null;
  replyBytes = 0;
  replyElements = -1;
  incomplete = false;
  invalid = false;
  /** No reply is due (CLIENT REPLY OFF or SKIP): written once every command before it is. */
  noReply = false;
  problem: string | null = null;
}

/** The first word of an error when it is in upper case (Redis's error code). */
function errorPrefix(s: string | null): string | null {
  if (s === null) return null;
  let i = 0;
  while (i < s.length && i < 32) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x5f || (i > 0 && c >= 0x30 && c <= 0x39))) break;
    i++;
  }
  return i > 0 && (i === s.length || s.charCodeAt(i) === 0x20) ? s.slice(0, i) : null;
}

function ms(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return ((bSec - aSec) * 1e9 + (bNsec - aNsec)) / 1e6;
}

class RedisDecoder implements StreamDecoder {
  private readonly creader: RespReader;
  private readonly sreader: RespReader;
  private readonly pending: _Cmd[] = [];
  private head = 0;
  private depth = 0;
  private replyOff = false;
  private skipNext = false;
  private inMulti = false;
  /** RESP2 subscribed mode: the count of the last confirmation. */
  private subscribed = 0;
  /** Replies still due to commands written before their reply (over maxPending). */
  private evicted = 0;
  private confirmed = false;
  private held: RecordValues[] = [];
  private heldFailed: boolean[] = [];
  /** Each side has delivered a well-formed message (a side whose first bytes are not RESP stops the decoder). */
  private readonly sideOk = [false, false];
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly limits: DecoderLimits,
  ) {
    const d = this;
    const clientOwner: RespOwner = {
      message: (m) => d.command(m),
      lost: (sec, nsec) => d.commandLost(sec, nsec),
      invalid: (m, problem) => d.badCommand(m, problem),
    };
    const serverOwner: RespOwner = {
      message: (m) => d.reply(m),
      lost: () => d.replyLost(),
      invalid: (_m, problem) => d.badReply(problem),
    };
    this.creader = new RespReader(clientOwner, true, limits.maxHeaderBytes, limits.maxValueChars);
    this.sreader = new RespReader(serverOwner, false, limits.maxHeaderBytes, limits.maxValueChars);
  }

  data(side: Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    if (this.stopped) return;
    (side === CLIENT ? this.creader : this.sreader).data(buf, off, len, sec, nsec);
  }

  gap(side: Side, len: number, sec: number, nsec: number): void {
    if (this.stopped) return;
    (side === CLIENT ? this.creader : this.sreader).gap(len, sec, nsec);
  }

  end(side: Side, sec: number, nsec: number): void {
    if (this.stopped) return;
    (side === CLIENT ? this.creader : this.sreader).end(sec, nsec);
  }

  finish(): void {
    if (!this.stopped) {
      for (let i = this.head; i < this.pending.length; i++) {
        const c = this.pending[i]!;
        if (c.noReply) {
          this.write(c, 'no_reply');
          continue;
        }
        if (c.replies > 0) {
          // a SUBSCRIBE whose confirmations stopped coming: what came is its reply
          this.write(c, c.incomplete ? 'incomplete' : 'complete');
          continue;
        }
        c.problem ??= 'no reply before the connection ended';
        this.write(c, c.invalid ? 'invalid' : c.incomplete ? 'incomplete' : 'unanswered');
      }
    }
    this.pending.length = 0;
    this.head = 0;
    this.held = [];
    this.heldFailed = [];
  }

  // ---- client side

  private command(m: RespMessage): void {
    const c = new _Cmd();
    c.depth = ++this.depth;
    c.startSec = m.startSec;
    c.startNsec = m.startNsec;
    c.endSec = m.endSec;
    c.endNsec = m.endNsec;
    const a = m.args;
    const name = a[0] === null ? null : clip(a[0].toUpperCase(), 64);
    c.name = name;
    c.args = m.words > 0 ? m.words - 1 : 0;
    c.inline = m.inline;
    c.bytes = m.bytes;
    c.incomplete = m.incomplete;
    c.problem = m.problem;
    if (m.problem !== null && m.inline) c.invalid = true;
    if (name !== null) {
      c.zkey = zeekKey(name, a, m.words);
      c.zvalue = zeekValue(name, a, m.words);
      c.key = firstArgument(name, a, m.words);
    }
    if (!this.sideOk[CLIENT] && !m.incomplete && m.problem === null) {
      this.sideOk[CLIENT] = true;
      if (!m.inline && name !== null && /^[A-Z][A-Z0-9_.|-]*$/.test(name)) this.confirm();
    }
    // CLIENT REPLY OFF / ON / SKIP
    let expect = true;
    const clientReply = name === 'CLIENT' && m.words === 3 && a[1]?.toUpperCase() === 'REPLY' ? a[2]!.toUpperCase() : null;
    if (this.replyOff) {
      expect = clientReply === 'ON';
      if (expect) this.replyOff = false;
    } else if (this.skipNext) {
      expect = false;
      this.skipNext = false;
    } else if (clientReply === 'OFF') {
      expect = false;
      this.replyOff = true;
    } else if (clientReply === 'SKIP') {
      expect = false;
      this.skipNext = true;
    }
    if (name !== null && !c.invalid) {
      if (SUBSCRIBE.has(name)) c.confLeft = c.args > 0 ? c.args : 0;
      else if (UNSUBSCRIBE.has(name)) c.confLeft = c.args > 0 ? c.args : -1;
      if (c.confLeft !== 0) c.confKind = name.toLowerCase();
      if (this.inMulti && name !== 'EXEC' && name !== 'DISCARD' && name !== 'MULTI' && name !== 'WATCH') c.queued = true;
      if (name === 'MULTI') this.inMulti = true;
      else if (name === 'EXEC' || name === 'DISCARD' || name === 'RESET') this.inMulti = false;
    }
    if (!expect) {
      if (this.head === this.pending.length) return this.write(c, 'no_reply');
      c.noReply = true;
    }
    this.enqueue(c);
  }

  private enqueue(c: _Cmd): void {
    this.pending.push(c);
    if (this.pending.length - this.head > this.limits.maxPending) {
      const old = this.take()!;
      if (old.noReply) return this.write(old, 'no_reply');
      this.evicted++;
      this.ctx.weird('excessive pipelining');
      old.incomplete = true;
      old.problem ??= `over ${this.limits.maxPending} commands waiting: written before its reply`;
      this.write(old, 'incomplete');
    }
  }

  /** Writes the commands at the head of the queue that wait for no reply. */
  private flushNoReply(): void {
    while (this.head < this.pending.length && this.pending[this.head]!.noReply) this.write(this.take()!, 'no_reply');
  }

  /** The oldest command that waits for a reply (those before it that wait for none are written). */
  private shift(): _Cmd | undefined {
    this.flushNoReply();
    return this.take();
  }

  private take(): _Cmd | undefined {
    if (this.head >= this.pending.length) return undefined;
    const c = this.pending[this.head]!;
    this.pending[this.head++] = undefined as unknown as _Cmd;
    if (this.head > 256 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    return c;
  }

  private peek(): _Cmd | undefined {
    this.flushNoReply();
    return this.head < this.pending.length ? this.pending[this.head] : undefined;
  }

  private commandLost(sec: number, nsec: number): void {
    const c = new _Cmd();
    c.depth = ++this.depth;
    c.startSec = c.endSec = sec;
    c.startNsec = c.endNsec = nsec;
    c.incomplete = true;
    c.problem = 'command lost in a capture gap';
    this.enqueue(c);
  }

  private badCommand(m: RespMessage, problem: string): void {
    this.ctx.weird(`invalid command: ${problem}`);
    if (!this.sideOk[CLIENT] && !this.confirmed) return this.giveUp(`client bytes are not RESP (${problem})`);
    const c = new _Cmd();
    c.depth = ++this.depth;
    c.startSec = m.startSec;
    c.startNsec = m.startNsec;
    c.endSec = m.startSec;
    c.endNsec = m.startNsec;
    c.name = m.args[0] === null ? null : clip(m.args[0].toUpperCase(), 64);
    c.bytes = m.bytes;
    c.invalid = true;
    c.problem = problem;
    // Redis answers a protocol error with -ERR Protocol error ... and closes the connection
    this.enqueue(c);
  }

  // ---- server side

  private reply(m: RespMessage): void {
    const t = m.type;
    if (!m.incomplete) this.sideOk[SERVER] = true;
    const first = (t === 0x3e || t === 0x2a) && m.count >= 1 && m.args[0] !== null ? m.args[0].toLowerCase() : null;
    const push = t === 0x3e;
    const conf = first !== null && (push || (t === 0x2a && m.count === 3)) && CONFIRMATION_KINDS.has(first);
    let h = this.evicted === 0 ? this.peek() : undefined;
    if (h !== undefined && h.confLeft === -1 && h.replies > 0 && !(conf && first === h.confKind)) {
      // an UNSUBSCRIBE without arguments took every confirmation that came before this
      this.take();
      this.write(h, h.incomplete ? 'incomplete' : 'complete');
      h = this.peek();
    }
    if (conf) {
      if (h !== undefined && first === h.confKind) return this.confirmation(h, m);
      if (push || this.subscribed > 0) return this.message(m);
    }
    if (first !== null && (push || (t === 0x2a && this.subscribed > 0)) && MESSAGE_KINDS.has(first)) return this.message(m);
    if (push) return this.message(m);
    if (this.evicted > 0) {
      this.evicted--;
      return;
    }
    const c = this.shift();
    if (c === undefined) {
      const o = new _Cmd();
      o.startSec = m.startSec;
      o.startNsec = m.startNsec;
      this.setReply(o, m);
      return this.write(o, 'orphan');
    }
    this.setReply(c, m);
    if (c.name === 'RESET' && m.text === 'RESET') this.subscribed = 0;
    this.confirm();
    this.write(c, c.invalid ? 'invalid' : c.incomplete ? 'incomplete' : 'complete');
    this.flushNoReply();
  }

  private setReply(c: _Cmd, m: RespMessage): void {
    c.replies++;
    c.replySec = m.startSec;
    c.replyNsec = m.startNsec;
    c.replyEndSec = m.endSec;
    c.replyEndNsec = m.endNsec;
    c.replyType = respTypeName(m.type, m.isNull);
    c.replyValue = m.repr;
    c.replyBytes = m.bytes;
    c.replyElements = m.count;
    const err = m.type === 0x2d || m.type === 0x21;
    c.success = !err;
    c.errorPrefix = err ? errorPrefix(m.text) : null;
    if (m.incomplete) {
      c.incomplete = true;
      c.problem ??= `reply ${m.problem ?? 'cut by a capture gap'}`;
    }
  }

  /** A subscription confirmation for the oldest command (SUBSCRIBE and kin). */
  private confirmation(c: _Cmd, m: RespMessage): void {
    const n = Number(m.args[2]);
    if (m.type === 0x2a && Number.isInteger(n)) this.subscribed = n;
    if (c.replies === 0) this.setReply(c, m);
    else {
      c.replies++;
      c.replyBytes += m.bytes;
      c.replyEndSec = m.endSec;
      c.replyEndNsec = m.endNsec;
      if (m.incomplete) c.incomplete = true;
    }
    const done = c.confLeft > 0 ? --c.confLeft === 0 : n === 0;
    if (!done) return;
    this.take();
    this.confirm();
    this.write(c, c.incomplete ? 'incomplete' : 'complete');
    this.flushNoReply();
  }

  /** A message pushed to a subscribed connection. */
  private message(m: RespMessage): void {
    const o = new _Cmd();
    o.startSec = m.startSec;
    o.startNsec = m.startNsec;
    this.setReply(o, m);
    o.replies = 0;
    const kind = m.args[0]?.toLowerCase();
    const channel = kind === 'pmessage' ? m.args[2] : m.args[1];
    this.confirm();
    this.write(o, m.incomplete ? 'incomplete' : 'message', channel ?? null);
  }

  private replyLost(): void {
    if (this.evicted > 0) {
      this.evicted--;
      return;
    }
    const c = this.shift();
    if (c === undefined) return;
    c.incomplete = true;
    c.problem ??= 'reply lost in a capture gap';
    this.write(c, 'incomplete');
  }

  private badReply(problem: string): void {
    this.ctx.weird(`invalid reply: ${problem}`);
    if (!this.sideOk[SERVER] && !this.confirmed) return this.giveUp(`server bytes are not RESP (${problem})`);
    const c = this.shift();
    if (c === undefined) return;
    c.invalid = true;
    c.problem ??= `reply: ${problem}`;
    this.write(c, 'invalid');
  }

  private giveUp(reason: string): void {
    this.stopped = true;
    this.pending.length = 0;
    this.head = 0;
    this.held = [];
    this.heldFailed = [];
    this.ctx.stop(reason);
  }

  private confirm(): void {
    if (this.confirmed) return;
    this.confirmed = true;
    this.ctx.confirm();
    for (let i = 0; i < this.held.length; i++) this.ctx.emit(REDIS_SCHEMA, this.held[i]!, this.heldFailed[i]!);
    this.held = [];
    this.heldFailed = [];
  }

  private write(c: _Cmd, state: string, channel: string | null = null): void {
    const r = emptyRecord(REDIS_SCHEMA);
    const isCmd = state !== 'orphan' && state !== 'message';
    r['ts'] = formatEpoch(c.startSec, c.startNsec);
    r['trans_depth'] = isCmd ? c.depth : null;
    r['cmd_name'] = c.name;
    r['cmd_key'] = c.zkey;
    r['cmd_value'] = c.zvalue;
    r['cmd_success'] = c.success;
    r['reply_value'] = c.replyValue;
    r['key'] = c.key;
    r['key_pattern'] = keyPattern(c.key);
    r['fingerprint'] = c.name === null ? null : r['key_pattern'] === null ? c.name : `${c.name} ${r['key_pattern'] as string}`;
    if (isCmd && c.name !== null) {
      r['args'] = c.args;
      r['inline'] = c.inline;
      r['queued'] = c.queued;
      r['request_bytes'] = c.bytes;
    }
    r['reply_type'] = c.replyType;
    r['error_prefix'] = c.errorPrefix;
    if (c.replySec >= 0) {
      r['reply_bytes'] = c.replyBytes;
      if (c.replyElements >= 0) r['reply_elements'] = c.replyElements;
      r['reply_ts'] = formatEpoch(c.replySec, c.replyNsec);
      if (isCmd && c.name !== null) {
        r['latency_ms'] = ms(c.endSec, c.endNsec, c.replySec, c.replyNsec);
        r['duration_ms'] = ms(c.startSec, c.startNsec, c.replyEndSec, c.replyEndNsec);
      }
    }
    if (isCmd) r['replies'] = c.replies;
    r['channel'] = channel;
    r['state'] = state;
    r['problem'] = state === 'complete' || state === 'no_reply' || state === 'message' ? null : c.problem;
    const failed = c.success === false || state === 'unanswered' || state === 'invalid';
    if (this.confirmed) this.ctx.emit(REDIS_SCHEMA, r, failed);
    else if (this.held.length < this.limits.maxPending) {
      this.held.push(r);
      this.heldFailed.push(failed);
    }
  }
}

// ---- sniff

/** Commands recognised inline by the sniff (what people type at a Redis prompt). */
const INLINE = new Set([
  'PING', 'AUTH', 'HELLO', 'SELECT', 'ECHO', 'INFO', 'QUIT', 'CLIENT', 'CONFIG', 'MONITOR', 'SUBSCRIBE', 'PSUBSCRIBE', 'PUBLISH',
  'SET', 'GET', 'DEL', 'EXISTS', 'KEYS', 'SCAN', 'INCR', 'DECR', 'EXPIRE', 'TTL', 'TYPE', 'HGET', 'HSET', 'HGETALL', 'LPUSH', 'RPUSH',
  'LRANGE', 'SADD', 'SMEMBERS', 'ZADD', 'ZRANGE', 'MGET', 'MSET', 'FLUSHALL', 'FLUSHDB', 'DBSIZE', 'MULTI', 'EXEC', 'COMMAND', 'DEBUG',
]);

function digits(b: Uint8Array, p: number, end: number, max: number): number {
  let i = p;
  while (i < end && i - p <= max && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
  return i - p;
}

/** At p: CRLF (1), more bytes needed (0) or something else (-1). */
function crlfAt(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return 0;
  if (b[p] !== 0x0d) return -1;
  if (p + 1 >= end) return 0;
  return b[p + 1] === 0x0a ? 1 : -1;
}

function isNameChar(c: number, first: boolean): boolean {
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x7a) return true;
  return !first && ((c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d || c === 0x7c);
}

function sniffClient(b: Uint8Array, off: number, end: number): SniffResult {
  let p = off;
  if (b[p] === 0x2a) {
    // *N\r\n$M\r\nNAME\r\n
    const n = digits(b, p + 1, end, 7);
    if (n === 0) return p + 1 >= end ? Sniff.MORE : Sniff.NO;
    p += 1 + n;
    let c = crlfAt(b, p, end);
    if (c <= 0) return c === 0 ? Sniff.MORE : Sniff.NO;
    p += 2;
    if (p >= end) return Sniff.MORE;
    if (b[p] !== 0x24) return Sniff.NO;
    const m = digits(b, p + 1, end, 2);
    if (m === 0) return p + 1 >= end ? Sniff.MORE : Sniff.NO;
    let len = 0;
    for (let i = p + 1; i < p + 1 + m; i++) len = len * 10 + b[i]! - 0x30;
    if (len < 1 || len > 32) return Sniff.NO;
    p += 1 + m;
    c = crlfAt(b, p, end);
    if (c <= 0) return c === 0 ? Sniff.MORE : Sniff.NO;
    p += 2;
    for (let i = 0; i < len; i++) {
      if (p + i >= end) return Sniff.MORE;
      if (!isNameChar(b[p + i]!, i === 0)) return Sniff.NO;
    }
    c = crlfAt(b, p + len, end);
    return c === 0 ? Sniff.MORE : c > 0 ? Sniff.CLIENT : Sniff.NO;
  }
  // inline: a known command word, then a space or the line end; printable ASCII up to CRLF
  let w = 0;
  while (p + w < end && isNameChar(b[p + w]!, w === 0) && w < 16) w++;
  if (p + w >= end) return end - off < 64 ? Sniff.MORE : Sniff.NO;
  const after = b[p + w]!;
  if (w === 0 || (after !== 0x20 && after !== 0x0d && after !== 0x0a)) return Sniff.NO;
  let word = '';
  for (let i = 0; i < w; i++) word += String.fromCharCode(b[p + i]! & ~0x20);
  if (!INLINE.has(word)) return Sniff.NO;
  for (let i = p + w; i < end; i++) {
    const c = b[i]!;
    if (c === 0x0a) return b[i - 1] === 0x0d && !/ HTTP\/\d/.test(String.fromCharCode.apply(null, Array.from(b.subarray(p, i)))) ? Sniff.CLIENT : Sniff.NO;
    if (c === 0x0d) continue;
    if (c < 0x20 || c > 0x7e) return Sniff.NO;
  }
  return end - off < 64 ? Sniff.MORE : Sniff.NO;
}

/** Simple strings a server's first reply may be. */
const SERVER_STRINGS = ['+OK\r\n', '+PONG\r\n', '+QUEUED\r\n', '+RESET\r\n'];

function sniffServer(b: Uint8Array, off: number, end: number): SniffResult {
  const t = b[off]!;
  if (t === 0x2b) {
    let more = false;
    for (const s of SERVER_STRINGS) {
      let i = 0;
      while (i < s.length && off + i < end && b[off + i] === s.charCodeAt(i)) i++;
      if (i === s.length) return Sniff.SERVER;
      if (off + i === end) more = true;
    }
    return more ? Sniff.MORE : Sniff.NO;
  }
  if (t === 0x2d) {
    // -CODE message: an upper-case code, a space, printable text, CRLF
    let i = off + 1;
    while (i < end && b[i]! >= 0x41 && b[i]! <= 0x5a) i++;
    if (i >= end) return Sniff.MORE;
    if (i - off - 1 < 2 || b[i] !== 0x20) return Sniff.NO;
    for (; i < end; i++) {
      const c = b[i]!;
      if (c === 0x0d) return i + 1 >= end ? Sniff.MORE : b[i + 1] === 0x0a ? Sniff.SERVER : Sniff.NO;
      if (c < 0x20 || c > 0x7e) return Sniff.NO;
    }
    return end - off < 64 ? Sniff.MORE : Sniff.NO;
  }
  if (t === 0x3a || t === 0x24 || t === 0x2a || t === 0x25) {
    // :N, $N, *N, %N (HELLO 3's map) then CRLF, and for aggregates a type byte
    let p = off + 1;
    if (t !== 0x25 && b[p] === 0x2d) p++;
    const n = digits(b, p, end, 19);
    if (n === 0) return p >= end ? Sniff.MORE : Sniff.NO;
    if ((t !== 0x3a && n > 10) || (b[off + 1] === 0x2d && (t === 0x3a ? false : b[p] !== 0x31 || n !== 1))) return Sniff.NO;
    p += n;
    const c = crlfAt(b, p, end);
    if (c <= 0) return c === 0 ? Sniff.MORE : Sniff.NO;
    p += 2;
    if ((t === 0x2a || t === 0x25) && b[off + 1] !== 0x2d && b[off + 1] !== 0x30) {
      if (p >= end) return Sniff.MORE;
      if ('+-:$*_#,(!=%~>|'.indexOf(String.fromCharCode(b[p]!)) < 0) return Sniff.NO;
      if (b[p] === 0x24) {
        // an array of bulk strings: a length, then text (binary data is no first reply to tell Redis by)
        const m = digits(b, p + 1, end, 10);
        if (m === 0) return p + 1 >= end ? Sniff.MORE : Sniff.NO;
        const q = p + 1 + m;
        const e = crlfAt(b, q, end);
        if (e <= 0) return e === 0 ? Sniff.MORE : Sniff.NO;
        for (let i = q + 2; i < end && i < q + 18; i++) if ((b[i]! < 0x20 && b[i] !== 0x0d && b[i] !== 0x0a && b[i] !== 0x09) || b[i] === 0x7f) return Sniff.NO;
      }
    }
    return Sniff.SERVER;
  }
  return Sniff.NO;
}

function sniff(buf: Uint8Array, off: number, len: number): SniffResult {
  if (len <= 0) return Sniff.MORE;
  const end = off + len;
  const c = sniffClient(buf, off, end);
  if (c !== Sniff.NO) return c;
  return sniffServer(buf, off, end);
}

export const REDIS: ProtocolDef = {
  name: 'redis',
  aliases: ['resp'],
  service: 'redis',
  schemas: [REDIS_SCHEMA],
  // Zeek's Redis::ports
  tcpPorts: [6379],
  udpPorts: [],
  sniff,
  stream: (ctx, limits) => new RedisDecoder(ctx, limits),
};
