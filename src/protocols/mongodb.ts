/**
 * MongoDB's wire protocol: requests paired with their replies by requestID
 * and responseTo, one `mongodb` record per pair (src/records/mongodb.ts).
 *
 * Framing: each message starts with a 16-byte header (messageLength,
 * requestID, responseTo, opCode; little-endian). A header is believed when
 * its length is 16 to 48,000,000 bytes (maxMessageSizeBytes) and its opcode
 * is one MongoDB has (1, 2001-2007, 2010-2013); a message's first
 * MONGO_MAX_BUFFER bytes (1 MiB) are kept and read (mongodb-message.ts,
 * bson.ts), the rest counted.
 *
 * Pairing: a request waits under its requestID; a reply takes the request
 * its responseTo names (replies may come in any order); a reply that names
 * none is an orphan. Requests that get no reply are written at once: the
 * legacy OP_INSERT, OP_UPDATE, OP_DELETE, OP_KILL_CURSORS, and an OP_MSG
 * with moreToCome (an unacknowledged write). A reply with moreToCome (an
 * exhaust cursor, a streaming hello) is followed by replies to it: its
 * command waits again under the reply's requestID. At most `maxPending`
 * requests wait; past that the oldest is written unanswered (Packetbeat
 * caps its MongoDB state likewise).
 *
 * Gaps: inside a message the framing survives (the message is read as far
 * as it was captured: `incomplete`); across a header the side hunts for the
 * next believable header (on the server side, preferably one answering a
 * waiting request). Pairing by ID keeps every other pair right; requests
 * left without a reply after a gap on the server's side are `incomplete`.
 *
 * Records are held until a message was read whole (confirming MongoDB) and
 * dropped if none ever is; a side whose first header is not believable
 * stops the decoder.
 */
import { emptyRecord, type RecordValues } from '../records/schema.js';
import { MONGODB_SCHEMA } from '../records/mongodb.js';
import { formatEpoch } from '../util/time.js';
import { ByteBuf } from './_bytes.js';
import { CLIENT, SERVER, Sniff, type AppContext, type DecoderLimits, type ProtocolDef, type Side, type SniffResult, type StreamDecoder } from './decoder.js';
import {
  MONGO_MAX_BUFFER, MONGO_MAX_MESSAGE, MongoParser, OPCODE_NAMES, OP_COMMAND, OP_COMMANDREPLY, OP_QUERY, OP_COMPRESSED, OP_DELETE, OP_INSERT, OP_KILL_CURSORS, OP_MSG, OP_REPLY, OP_UPDATE,
  type MongoInfo,
} from './mongodb-message.js';

function i32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** A header at b[p, p+16) is believable: a length MongoDB allows and an opcode it has. */
function believable(b: Uint8Array, p: number): boolean {
  const len = i32(b, p);
  return len >= 21 && len <= MONGO_MAX_MESSAGE && OPCODE_NAMES.has(i32(b, p + 12));
}

/** One request and what came back. */
class _Req {
  requestId = 0;
  startSec = 0; startNsec = 0;
  endSec = 0; endNsec = 0;
  opcode: string | null = null;
  command: string | null = null;
  database: string | null = null;
  collection: string | null = null;
  filterShape: string | null = null;
  requestDocs: number | null = null;
  compressor: string | null = null;
  checksum: boolean | null = null;
  bytes: number | null = null;
  incomplete = false;
  invalid = false;
  problem: string | null = null;
  // reply
  responseTo: number | null = null;
  replyOpcode: string | null = null;
  replySec = -1; replyNsec = 0;
  replyEndSec = 0; replyEndNsec = 0;
  replyBytes: number | null = null;
  ok: number | null = null;
  code: number | null = null;
  codeName: string | null = null;
  errmsg: string | null = null;
  writeErrors: number | null = null;
  n: number | null = null;
  docsReturned: number | null = null;
  cursorId: string | null = null;
  replyCompressor: string | null = null;
}

/** One direction's framing. */
class _Side {
  readonly hdr = new Uint8Array(16);
  hdrN = 0;
  msgLen = 0;
  opcode = 0;
  requestId = 0;
  responseTo = 0;
  /** Body bytes still to come. */
  left = 0;
  body: ByteBuf;
  /** A gap hit the body: nothing more is kept. */
  cut = false;
  startSec = 0; startNsec = 0;
  hunting = false;
  readonly hunt: ByteBuf;
  /** A message was read from this side (its bytes are MongoDB). */
  ok = false;
  gaps = 0;

  constructor() {
    this.body = new ByteBuf(4096, MONGO_MAX_BUFFER);
    this.hunt = new ByteBuf(256, 64 * 1024);
  }
}

function ms(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return ((bSec - aSec) * 1e9 + (bNsec - aNsec)) / 1e6;
}

class MongoDecoder implements StreamDecoder {
  private readonly sides = [new _Side(), new _Side()];
  private readonly parser: MongoParser;
  private readonly pending = new Map<number, _Req>();
  private confirmed = false;
  private stopped = false;
  private held: RecordValues[] = [];
  private heldFailed: boolean[] = [];
  private sec = 0;
  private nsec = 0;

  constructor(
    private readonly ctx: AppContext,
    private readonly limits: DecoderLimits,
  ) {
    this.parser = new MongoParser(limits.maxValueChars);
  }

  data(side: Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    if (this.stopped) return;
    this.sec = sec;
    this.nsec = nsec;
    this.feed(side, buf, off, off + len);
  }

  private feed(side: Side, buf: Uint8Array, p: number, end: number): void {
    const x = this.sides[side]!;
    while (p < end && !this.stopped) {
      if (x.hunting) {
        p = this.huntIn(side, x, buf, p, end);
        continue;
      }
      if (x.left === 0 && x.hdrN < 16) {
        if (x.hdrN === 0) {
          x.startSec = this.sec;
          x.startNsec = this.nsec;
        }
        const n = Math.min(16 - x.hdrN, end - p);
        x.hdr.set(buf.subarray(p, p + n), x.hdrN);
        x.hdrN += n;
        p += n;
        if (x.hdrN < 16) return;
        if (!believable(x.hdr, 0)) {
          x.hdrN = 0;
          if (!x.ok && !this.confirmed) return this.giveUp(`${side === CLIENT ? 'client' : 'server'} bytes are not MongoDB`);
          this.ctx.weird('unbelievable header');
          x.hunting = true;
          x.hunt.clear();
          x.hunt.append(x.hdr, 1, 15);
          continue;
        }
        x.msgLen = i32(x.hdr, 0);
        x.requestId = i32(x.hdr, 4);
        x.responseTo = i32(x.hdr, 8);
        x.opcode = i32(x.hdr, 12);
        x.left = x.msgLen - 16;
        x.body.clear();
        x.cut = false;
        continue;
      }
      const n = Math.min(x.left, end - p);
      if (!x.cut) {
        const room = Math.min(n, MONGO_MAX_BUFFER - x.body.len);
        if (room > 0) x.body.append(buf, p, room);
      }
      x.left -= n;
      p += n;
      if (x.left === 0) this.message(side, x);
    }
  }

  /** Looks for a believable header in what came since the gap; returns where feeding goes on. */
  private huntIn(side: Side, x: _Side, buf: Uint8Array, p: number, end: number): number {
    const h = x.hunt;
    const take = Math.min(end - p, h.cap - h.len);
    h.append(buf, p, take);
    for (let i = 0; i + 16 <= h.len; i++) {
      if (!believable(h.buf, i)) continue;
      // on the server side, a header answering a waiting request is better still; any believable one will do
      x.hunting = false;
      const rest = Buffer.from(h.buf.subarray(i, h.len));
      h.clear();
      x.hdrN = 0;
      x.left = 0;
      this.feed(side, rest, 0, rest.length);
      return p + take;
    }
    // keep the last 15 bytes (a header may straddle)
    if (h.len > 15) {
      const tail = Buffer.from(h.buf.subarray(h.len - 15, h.len));
      h.clear();
      h.append(tail, 0, 15);
    }
    return p + take;
  }

  gap(side: Side, len: number, sec: number, nsec: number): void {
    if (this.stopped || len <= 0) return;
    this.sec = sec;
    this.nsec = nsec;
    const x = this.sides[side]!;
    x.gaps++;
    if (x.hunting) return;
    if (x.left > 0 && len <= x.left) {
      // inside a body: the framing holds
      x.cut = true;
      x.left -= len;
      if (x.left === 0) this.message(side, x, true);
      else x.cut = true;
      return;
    }
    if (x.left > 0) {
      x.cut = true;
      x.left = 0;
      this.message(side, x, true);
    }
    x.hdrN = 0;
    x.left = 0;
    x.hunting = true;
    x.hunt.clear();
  }

  end(side: Side, sec: number, nsec: number): void {
    if (this.stopped) return;
    this.sec = sec;
    this.nsec = nsec;
    const x = this.sides[side]!;
    if (!x.hunting && x.left > 0) {
      x.cut = true;
      x.left = 0;
      this.message(side, x, true);
    }
    x.hunting = true;
    x.hunt.clear();
  }

  finish(): void {
    if (!this.stopped) {
      const serverGaps = this.sides[SERVER]!.gaps > 0;
      for (const r of this.pending.values()) {
        if (serverGaps || r.incomplete) {
          r.incomplete = true;
          r.problem ??= 'no reply seen: the capture lost bytes of the server\'s side';
          this.write(r, 'incomplete');
        } else {
          r.problem ??= 'no reply before the connection ended';
          this.write(r, r.invalid ? 'invalid' : 'unanswered');
        }
      }
    }
    this.pending.clear();
    this.held = [];
    this.heldFailed = [];
  }

  private message(side: Side, x: _Side, cut = false): void {
    const op = x.opcode;
    const m = this.parser.parse(x.body.buf, x.body.len, x.msgLen, op, side === SERVER);
    const incomplete = cut || x.cut;
    if (!incomplete && !m.malformed && m.problem === null) {
      x.ok = true;
      this.confirm();
    }
    x.hdrN = 0;
    x.left = 0;
    const reply = op === OP_REPLY || op === OP_COMMANDREPLY || (side === SERVER && (op === OP_MSG || op === OP_COMPRESSED));
    if (reply) this.reply(x, m, incomplete);
    else this.request(x, m, incomplete);
    x.body.clear();
  }

  private request(x: _Side, m: MongoInfo, incomplete: boolean): void {
    const r = new _Req();
    r.requestId = x.requestId;
    r.startSec = x.startSec;
    r.startNsec = x.startNsec;
    r.endSec = this.sec;
    r.endNsec = this.nsec;
    r.opcode = OPCODE_NAMES.get(m.opcode) ?? null;
    r.command = m.command;
    r.database = m.database;
    r.collection = m.collection;
    r.filterShape = m.filterShape;
    r.requestDocs = m.requestDocs;
    r.compressor = m.compressor;
    r.checksum = m.opcode === OP_MSG ? m.checksum : null;
    r.bytes = x.msgLen;
    r.incomplete = incomplete;
    r.invalid = m.malformed;
    r.problem = m.problem;
    const op = m.opcode;
    if (op === OP_INSERT || op === OP_UPDATE || op === OP_DELETE || op === OP_KILL_CURSORS || (op === OP_MSG && m.moreToCome)) return this.write(r, r.invalid ? 'invalid' : incomplete ? 'incomplete' : 'no_reply');
    const old = this.pending.get(r.requestId);
    if (old !== undefined) {
      // the same requestID again: the first can no longer be told from the second
      this.pending.delete(r.requestId);
      old.problem ??= 'its requestID was used again before a reply';
      this.write(old, 'unanswered');
    }
    this.pending.set(r.requestId, r);
    if (this.pending.size > this.limits.maxPending) {
      const [id, oldest] = this.pending.entries().next().value as [number, _Req];
      this.pending.delete(id);
      this.ctx.weird('too many requests waiting');
      oldest.problem ??= `over ${this.limits.maxPending} requests waiting: written before its reply`;
      this.write(oldest, 'unanswered');
    }
  }

  private reply(x: _Side, m: MongoInfo, incomplete: boolean): void {
    let r = this.pending.get(x.responseTo);
    let state: string;
    if (r !== undefined) {
      this.pending.delete(x.responseTo);
      state = r.invalid || m.malformed ? 'invalid' : r.incomplete || incomplete ? 'incomplete' : 'complete';
    } else {
      r = new _Req();
      r.requestId = x.requestId;
      r.startSec = x.startSec;
      r.startNsec = x.startNsec;
      state = m.malformed ? 'invalid' : 'orphan';
    }
    r.responseTo = x.responseTo;
    r.replyOpcode = OPCODE_NAMES.get(m.opcode) ?? null;
    r.replySec = x.startSec;
    r.replyNsec = x.startNsec;
    r.replyEndSec = this.sec;
    r.replyEndNsec = this.nsec;
    r.replyBytes = x.msgLen;
    r.ok = m.ok;
    r.code = m.code;
    r.codeName = m.codeName;
    r.errmsg = m.errmsg;
    r.writeErrors = m.writeErrors;
    r.n = m.n;
    r.docsReturned = m.docsReturned;
    r.cursorId = m.cursorId;
    r.replyCompressor = m.compressor;
    if (m.problem !== null) r.problem ??= `reply: ${m.problem}`;
    this.write(r, state);
    if (m.moreToCome && state !== 'orphan') {
      // more replies follow, each answering the one before
      const next = new _Req();
      next.requestId = x.requestId;
      next.startSec = next.endSec = this.sec;
      next.startNsec = next.endNsec = this.nsec;
      next.opcode = r.opcode;
      next.command = r.command;
      next.database = r.database;
      next.collection = r.collection;
      next.filterShape = r.filterShape;
      this.pending.set(next.requestId, next);
    }
  }

  private giveUp(reason: string): void {
    this.stopped = true;
    this.pending.clear();
    this.held = [];
    this.heldFailed = [];
    this.ctx.stop(reason);
  }

  private confirm(): void {
    if (this.confirmed) return;
    this.confirmed = true;
    this.ctx.confirm();
    for (let i = 0; i < this.held.length; i++) this.ctx.emit(MONGODB_SCHEMA, this.held[i]!, this.heldFailed[i]!);
    this.held = [];
    this.heldFailed = [];
  }

  private write(q: _Req, state: string): void {
    const r = emptyRecord(MONGODB_SCHEMA);
    r['ts'] = formatEpoch(q.startSec, q.startNsec);
    r['request_id'] = q.requestId;
    r['response_to'] = q.responseTo;
    r['opcode_name'] = q.opcode;
    r['reply_opcode_name'] = q.replyOpcode;
    r['command'] = q.command;
    r['database'] = q.database;
    r['collection'] = q.collection;
    r['filter_shape'] = q.filterShape;
    if (q.command !== null) r['fingerprint'] = fingerprint(q);
    r['request_docs'] = q.requestDocs;
    r['ok'] = q.ok;
    r['error_code'] = q.code;
    r['error_name'] = q.codeName;
    r['error_msg'] = q.errmsg;
    r['write_errors'] = q.writeErrors;
    r['n'] = q.n;
    r['docs_returned'] = q.docsReturned;
    r['cursor_id'] = q.cursorId;
    r['compressor'] = q.compressor ?? q.replyCompressor;
    r['checksum'] = q.checksum;
    r['request_bytes'] = q.bytes;
    r['reply_bytes'] = q.replyBytes;
    if (q.replySec >= 0) {
      r['reply_ts'] = formatEpoch(q.replySec, q.replyNsec);
      if (state !== 'orphan') {
        r['latency_ms'] = ms(q.endSec, q.endNsec, q.replySec, q.replyNsec);
        r['duration_ms'] = ms(q.startSec, q.startNsec, q.replyEndSec, q.replyEndNsec);
      }
    }
    r['state'] = state;
    r['problem'] = q.problem;
    const failed = q.ok === 0 || (q.writeErrors ?? 0) > 0 || (q.ok === null && q.errmsg !== null) || state === 'unanswered' || state === 'invalid';
    if (this.confirmed) this.ctx.emit(MONGODB_SCHEMA, r, failed);
    else if (this.held.length < this.limits.maxPending) {
      this.held.push(r);
      this.heldFailed.push(failed);
    }
  }
}

/** database.collection.command and the filter's shape; the command alone without a collection. */
function fingerprint(q: _Req): string {
  const head = q.collection !== null ? `${q.database ?? ''}.${q.collection}.${q.command}` : q.database !== null ? `${q.database}.${q.command}` : q.command!;
  return q.filterShape !== null ? `${head} ${q.filterShape}` : head;
}

/** Request opcodes (a client's first message) and reply opcodes (a server's). */
const REQUEST_OPS = new Set([2001, 2002, 2004, 2005, 2006, 2007, 2010, 2012, 2013]);
const REPLY_OPS = new Set([1, 2011, 2012, 2013]);

function sniff(b: Uint8Array, off: number, len: number): SniffResult {
  if (len < 16) return Sniff.MORE;
  const msgLen = i32(b, off);
  const responseTo = i32(b, off + 8);
  const op = i32(b, off + 12);
  if (msgLen < 21 || msgLen > MONGO_MAX_MESSAGE) return Sniff.NO;
  if (!REQUEST_OPS.has(op) && !REPLY_OPS.has(op)) return Sniff.NO;
  // the body's start must fit its opcode
  const p = off + 16, end = off + len;
  if (op === OP_MSG) {
    if (end - p < 9) return Sniff.MORE;
    const flags = i32(b, p);
    if (flags & ~0x10003) return Sniff.NO;
    const kind = b[p + 4]!;
    const size = i32(b, p + 5);
    if (kind > 1 || size < 5 || size > msgLen - 21) return Sniff.NO;
    if (kind === 0 && end - p >= 10 && b[p + 9] === 0 && size !== 5) return Sniff.NO;
    return responseTo === 0 ? Sniff.CLIENT : Sniff.SERVER;
  }
  if (op === OP_REPLY) {
    if (end - p < 20) return Sniff.MORE;
    const flags = i32(b, p);
    const returned = i32(b, p + 16);
    return flags & ~0xf || returned < 0 || returned * 5 > msgLen ? Sniff.NO : Sniff.SERVER;
  }
  if (op === OP_COMPRESSED) {
    if (end - p < 9) return Sniff.MORE;
    const orig = i32(b, p);
    const size = i32(b, p + 4);
    if (!OPCODE_NAMES.has(orig) || orig === OP_COMPRESSED || size < 5 || b[p + 8]! > 3) return Sniff.NO;
    return REPLY_OPS.has(orig) && (orig === OP_REPLY || responseTo !== 0) ? Sniff.SERVER : Sniff.CLIENT;
  }
  if (op === OP_COMMANDREPLY) return end - p >= 5 && i32(b, p) >= 5 && i32(b, p) <= msgLen - 16 ? Sniff.SERVER : end - p < 5 ? Sniff.MORE : Sniff.NO;
  // legacy requests: a namespace "db.collection" (or OP_COMMAND's database name) in printable ASCII
  const nsAt = op === OP_KILL_CURSORS ? -1 : op === OP_COMMAND ? p : p + 4;
  if (nsAt < 0) return end - p >= 8 && i32(b, p) === 0 && i32(b, p + 4) > 0 ? Sniff.CLIENT : end - p < 8 ? Sniff.MORE : Sniff.NO;
  if (op !== OP_COMMAND && end - p >= 4 && op !== OP_INSERT && op !== OP_QUERY && i32(b, p) !== 0) return Sniff.NO;
  let dot = false;
  for (let i = nsAt; i < end; i++) {
    const c = b[i]!;
    if (c === 0) return i > nsAt && (dot || op === OP_COMMAND) ? Sniff.CLIENT : Sniff.NO;
    if (c === 0x2e) dot = true;
    else if (c < 0x21 || c > 0x7e) return Sniff.NO;
  }
  return len < 64 ? Sniff.MORE : Sniff.NO;
}

export const MONGODB: ProtocolDef = {
  name: 'mongodb',
  aliases: ['mongo'],
  service: 'mongodb',
  schemas: [MONGODB_SCHEMA],
  tcpPorts: [27017, 27018, 27019],
  udpPorts: [],
  sniff,
  stream: (ctx, limits) => new MongoDecoder(ctx, limits),
};
