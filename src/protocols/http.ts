/**
 * HTTP/1.0 and 1.1 (RFC 9110, 9112): requests and responses paired in
 * order, one `http` record per pair (src/records/http.ts).
 *
 * Pairing follows Zeek's model (scripts/base/protocols/http/main.zeek):
 * requests wait in a FIFO as they start (pipelining: several requests
 * before the first response); each final response takes the oldest waiting
 * request; 1xx responses other than 101 are informational and leave the
 * request waiting (`info_code`); a response with no request waiting is an
 * orphan (the capture began mid-connection), written on its own. A pair is
 * written when its response and its request have both ended, or when the
 * connection ends (a request never answered: `unanswered`). At most
 * `maxPending` requests wait: past that the oldest is written unanswered
 * (Zeek flushes its queue past `max_pending_requests` = 100, Packetbeat caps
 * its queue too).
 *
 * Body framing (RFC 9112 §6.3): a response to HEAD, 1xx, 204 and 304 has no
 * body; a 2xx answer to CONNECT and a 101 turn the connection into a tunnel
 * (`upgrade`; nothing after is read as HTTP); Transfer-Encoding chunked, else
 * Content-Length, else (responses) the end of the stream. A request line
 * without a version is HTTP/0.9 (no headers), and a response that does not
 * start with a status line is read as an HTTP/0.9 body to the end of the
 * stream. Body lengths are counted after removing the chunked coding and,
 * for gzip and deflate content codings, after decompression (Zeek's
 * meaning of request_body_len and response_body_len), by a counting
 * inflater that keeps no output (inflate-count.ts).
 */
import { emptyRecord, type RecordValues } from '../records/schema.js';
import { HTTP_SCHEMA } from '../records/http.js';
import { formatEpoch } from '../util/time.js';
import { clip, isDigit, isSpace, latin1, startsWith, text, trimRange } from './_bytes.js';
import { CLIENT, Sniff, type AppContext, type DecoderLimits, type ProtocolDef, type Side, type SniffResult, type StreamDecoder } from './decoder.js';
import { Body, FirstLine, HttpSide, START_MORE, START_NO, START_YES, type BodyKind, type FirstLineKind, type SideOwner, type StartTest } from './http-side.js';
import { InflateCounter } from './inflate-count.js';
import { routeOf } from './http-route.js';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;

/** Methods recognised by the sniff and when resynchronising (Zeek's http_methods, plus PATCH). */
const METHODS = [
  'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'POLL', 'REPORT', 'SUBSCRIBE', 'BMOVE', 'SEARCH',
];
const METHOD_CODES = METHODS.map((m) => Array.from(m, (c) => c.charCodeAt(0)));

/** Does buf[off, end) start with a known method and a space? MORE while it is a prefix of one. */
function methodLine(buf: Uint8Array, off: number, end: number): StartTest {
  let more = false;
  for (const m of METHOD_CODES) {
    let i = 0;
    while (i < m.length && off + i < end && buf[off + i] === m[i]) i++;
    if (i < m.length) {
      if (off + i === end) more = true;
      continue;
    }
    if (off + i === end) more = true;
    else if (buf[off + i] === SP) return START_YES;
  }
  return more ? START_MORE : START_NO;
}

/** Does buf[off, end) start a status line ("HTTP/d.d ", any case)? */
function statusLine(buf: Uint8Array, off: number, end: number): StartTest {
  const want = 'HTTP/';
  for (let i = 0; i < 8; i++) {
    if (off + i >= end) return START_MORE;
    const c = buf[off + i]!;
    if (i < 5) {
      if ((c | 0x20) !== (want.charCodeAt(i) | 0x20)) return START_NO;
    } else if (i === 6 ? c !== 0x2e : !isDigit(c)) return START_NO;
  }
  return START_YES;
}

function sniff(buf: Uint8Array, off: number, len: number): SniffResult {
  const end = off + len;
  const m = methodLine(buf, off, end);
  if (m === START_YES) return Sniff.CLIENT;
  const s = statusLine(buf, off, end);
  if (s === START_YES) return Sniff.SERVER;
  return m === START_MORE || s === START_MORE ? Sniff.MORE : Sniff.NO;
}

/** One request/response pair being assembled. */
class _Txn {
  depth = 0;
  startSec = 0; startNsec = 0;
  method: string | null = null;
  uri: string | null = null;
  rawUri: string | null = null;
  requestVersion: string | null = null;
  host: string | null = null;
  referrer: string | null = null;
  userAgent: string | null = null;
  origin: string | null = null;
  username: string | null = null;
  requestContentType: string | null = null;
  /** The request is a HEAD or CONNECT (its response's framing depends on it). */
  head = false;
  connect = false;
  /** The request asked to switch protocols (Upgrade header). */
  upgradeAsked: string | null = null;
  requestBody = 0;
  requestEnded = false;
  reqEndSec = -1; reqEndNsec = 0;
  // response
  hasResponse = false;
  status = -1;
  statusMsg: string | null = null;
  version: string | null = null;
  infoCode = -1;
  infoMsg: string | null = null;
  contentType: string | null = null;
  contentEncoding: string | null = null;
  respSec = -1; respNsec = 0;
  responseBody = 0;
  responseEnded = false;
  respEndSec = -1; respEndNsec = 0;
  /** Request and response, not before: waits for its request to end too. */
  orphan = false;
  incomplete = false;
  invalid = false;
  problem: string | null = null;
  upgrade: string | null = null;
}

/** Header fields a message's block gave (the last value wins, as in Zeek). */
interface _Headers {
  contentLength: number;
  /** Content-Length values disagree, or one is not a number. */
  badLength: boolean;
  chunked: boolean;
  /** Transfer-Encoding present without chunked. */
  otherCoding: boolean;
  /** Transfer-Encoding lists chunked, but not last. */
  chunkedNotLast: boolean;
  host: string | null;
  referrer: string | null;
  userAgent: string | null;
  origin: string | null;
  authorization: string | null;
  contentType: string | null;
  contentEncoding: string | null;
  upgrade: string | null;
}

function newHeaders(): _Headers {
  return {
    contentLength: -1, badLength: false, chunked: false, otherCoding: false, chunkedNotLast: false, host: null, referrer: null, userAgent: null,
    origin: null, authorization: null, contentType: null, contentEncoding: null, upgrade: null,
  };
}

/** Clears a reused _Headers (one per decoder: a message's fields are copied out before the next). */
function clearHeaders(h: _Headers): _Headers {
  h.contentLength = -1;
  h.badLength = h.chunked = h.otherCoding = h.chunkedNotLast = false;
  h.host = h.referrer = h.userAgent = h.origin = h.authorization = h.contentType = h.contentEncoding = h.upgrade = null;
  return h;
}

/** RFC 9110 §5.6.2 token characters. */
function isToken(s: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s);
}

/** buf[a, b) equals the lower-case ASCII `name`, ignoring case. */
function nameIs(buf: Uint8Array, a: number, b: number, name: string): boolean {
  if (b - a !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((buf[a + i]! | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/** A side of the conversation as HttpSide's owner: forwards to the decoder with its role. */
class _SideOwner implements SideOwner {
  constructor(
    private readonly d: HttpDecoder,
    private readonly client: boolean,
  ) {}
  messageStart(sec: number, nsec: number): void {
    if (this.client) this.d.requestStart(sec, nsec);
    else this.d.responseStart(sec, nsec);
  }
  firstLine(block: Uint8Array, len: number): FirstLineKind {
    return this.client ? this.d.requestFirstLine() : this.d.responseFirstLine(block, len);
  }
  headers(block: Uint8Array, len: number, sec: number, nsec: number): BodyKind {
    return this.client ? this.d.requestHeaders(block, len, sec, nsec) : this.d.responseHeaders(block, len, sec, nsec);
  }
  body(buf: Uint8Array, off: number, n: number): void {
    this.d.body(this.client, buf, off, n);
  }
  messageEnd(sec: number, nsec: number): void {
    if (this.client) this.d.requestEnd(sec, nsec);
    else this.d.responseEnd(sec, nsec);
  }
  problem(what: string, fatal: boolean): void {
    this.d.problem(this.client, what, fatal);
  }
  gapInMessage(bytes: number, inBody: boolean): void {
    this.d.gapInMessage(this.client, bytes, inBody);
  }
  gapBetween(_bytes: number, sec: number, nsec: number): void {
    this.d.gapBetween(this.client, sec, nsec);
  }
}

export class HttpDecoder implements StreamDecoder {
  private readonly client: HttpSide;
  private readonly server: HttpSide;
  /** Requests waiting for their final response, oldest first. */
  private readonly waiting: _Txn[] = [];
  /** The request being received (also in `waiting`), and the transaction the response being received belongs to. */
  private req: _Txn | null = null;
  private resp: _Txn | null = null;
  /** The response being received started at this time (kept until its status line says whether it is final). */
  private respStartSec = 0;
  private respStartNsec = 0;
  /** Pairs answered whose request is still being received (an early response). */
  private depth = 0;
  private reqInflate: InflateCounter | null = null;
  private respInflate: InflateCounter | null = null;
  private confirmed = false;
  /**
   * Records of a connection not yet confirmed as HTTP (no well-formed request
   * or status line yet): written once it is confirmed, dropped if it never is
   * (a non-HTTP protocol on an HTTP port gives no records, as Zeek's analyzer
   * is removed on a protocol violation). At most maxPending are held.
   */
  private held: RecordValues[] = [];
  private readonly hdrs = newHeaders();
  private heldFailed: boolean[] = [];

  constructor(
    private readonly ctx: AppContext,
    private readonly limits: DecoderLimits,
  ) {
    this.client = new HttpSide(new _SideOwner(this, true), limits.maxHeaderBytes, methodLine);
    this.server = new HttpSide(new _SideOwner(this, false), limits.maxHeaderBytes, statusLine);
  }

  data(side: Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void {
    (side === CLIENT ? this.client : this.server).data(buf, off, len, sec, nsec);
  }

  gap(side: Side, len: number): void {
    (side === CLIENT ? this.client : this.server).gap(len);
  }

  end(side: Side): void {
    (side === CLIENT ? this.client : this.server).end();
  }

  finish(): void {
    if (!this.confirmed) {
      // never HTTP: nothing to write
      this.held = [];
      this.heldFailed = [];
      this.waiting.length = 0;
      this.req = this.resp = null;
      this.ctx.stop('not HTTP');
      return;
    }
    const r = this.resp;
    if (r !== null && !r.responseEnded) this.markCut(r, 'connection ended inside the response');
    const q = this.req;
    if (q !== null && !q.requestEnded) this.markCut(q, 'connection ended inside the request');
    for (const t of this.waiting) this.write(t);
    this.waiting.length = 0;
    if (r !== null && r.orphan) this.write(r);
    this.req = this.resp = null;
  }

  // ---- requests

  requestStart(sec: number, nsec: number): void {
    const t = new _Txn();
    t.depth = ++this.depth;
    t.startSec = sec;
    t.startNsec = nsec;
    this.req = t;
    this.reqInflate = null;
    this.waiting.push(t);
    if (this.waiting.length > this.limits.maxPending) {
      const old = this.waiting.shift()!;
      this.ctx.weird('excessive pipelining');
      if (old === this.resp) this.resp = null;
      this.write(old);
    }
  }

  requestFirstLine(): FirstLineKind {
    // a request line without a version (HTTP/0.9) is read as one with headers: real 0.9 clients send
    // nothing after it, and the server's answer ends the request (responseStart); clients that only
    // forgot a space ("GET /HTTP/1.1") send their headers, which are then read
    return FirstLine.HEADERS;
  }

  requestHeaders(block: Uint8Array, len: number, _sec: number, _nsec: number): BodyKind {
    const t = this.req!;
    const lineEnd = this.lineEnd(block, 0, len);
    const max = this.limits.maxValueChars;
    // request line: method SP request-target [SP HTTP-version]
    let e = lineEnd;
    while (e > 0 && (block[e - 1] === LF || block[e - 1] === CR)) e--;
    let sp1 = block.indexOf(SP, 0);
    if (sp1 < 0 || sp1 > e) sp1 = e;
    const method = latin1(block, 0, sp1);
    let ts = sp1;
    while (ts < e && block[ts] === SP) ts++;
    let te = e;
    const sp2 = block.lastIndexOf(SP, e - 1);
    let bad = sp1 === 0 || !isToken(method);
    if (sp2 >= ts && startsWith(block, sp2 + 1, e, 'HTTP/')) {
      t.requestVersion = latin1(block, sp2 + 6, e);
      te = sp2;
      while (te > ts && block[te - 1] === SP) te--;
    } else if (ts < e && sp2 < ts && startsWith(block, ts, e, 'HTTP/')) {
      // "OPTIONS  HTTP/1.1": an empty request target
      t.requestVersion = latin1(block, ts + 5, e);
      te = ts;
    } else if (sp2 < ts && ts < e) t.requestVersion = '0.9';
    else bad = true; // a target with spaces and no version, or no target
    if (bad) {
      this.problem(true, 'bad request line', false);
      t.invalid = true;
    }
    t.method = clip(method, max);
    t.rawUri = ts <= te ? clip(text(block, ts, te), max) : null;
    t.uri = ts <= te ? clip(unescapeUri(block, ts, te), max) : null;
    t.head = method === 'HEAD';
    t.connect = method === 'CONNECT';
    // a request line with its version confirms HTTP; a versionless one (too easily something else)
    // only with a known method and an absolute path
    if (!bad && (t.requestVersion !== '0.9' || (METHODS.includes(method) && block[ts] === 0x2f))) this.confirm();
    const h = this.parseHeaders(block, lineEnd, len);
    t.host = h.host;
    t.referrer = h.referrer;
    t.userAgent = h.userAgent;
    t.origin = h.origin;
    t.requestContentType = h.contentType;
    t.upgradeAsked = h.upgrade;
    if (h.authorization !== null) t.username = basicUser(h.authorization);
    this.reqInflate = codingCounter(h.contentEncoding);
    if (h.badLength) {
      this.problem(true, 'conflicting Content-Length', true);
      return Body.NONE;
    }
    if (h.chunkedNotLast) this.problem(true, 'chunked is not the last transfer coding', false);
    if (h.chunked) return Body.CHUNKED;
    if (h.otherCoding) {
      this.problem(true, 'request body with an unknown transfer coding', true);
      return Body.NONE;
    }
    if (h.contentLength > 0) {
      this.client.length = h.contentLength;
      return Body.LENGTH;
    }
    return Body.NONE;
  }

  requestEnd(sec: number, nsec: number): void {
    const t = this.req;
    if (t === null) return;
    this.req = null;
    t.requestEnded = true;
    t.reqEndSec = sec;
    t.reqEndNsec = nsec;
    if (this.reqInflate !== null) {
      t.requestBody = this.reqInflate.finish(t.requestBody);
      this.reqInflate = null;
    }
    if (t.responseEnded) this.done(t);
  }

  // ---- responses

  responseStart(sec: number, nsec: number): void {
    // an HTTP/0.9 request has no header block: the answer is what ends it
    if (this.req !== null && this.client.inHead) this.client.endHead();
    this.respStartSec = sec;
    this.respStartNsec = nsec;
    this.respInflate = null;
    let t = this.waiting[0];
    if (t === undefined) {
      // no request waiting: the capture missed it (or the server talks first)
      t = new _Txn();
      t.depth = ++this.depth;
      t.startSec = sec;
      t.startNsec = nsec;
      t.orphan = true;
      t.requestEnded = true;
    }
    this.resp = t;
  }

  responseFirstLine(block: Uint8Array, len: number): FirstLineKind {
    if (statusLine(block, 0, len) !== START_NO) return FirstLine.HEADERS;
    // not a status line: an HTTP/0.9 answer is its body, to the end of the stream
    const t = this.resp!;
    t.hasResponse = true;
    t.version = '0.9';
    t.respSec = this.respStartSec;
    t.respNsec = this.respStartNsec;
    if (t.orphan) {
      t.invalid = true;
      t.problem ??= 'server bytes that are not an HTTP response';
    }
    return FirstLine.RAW;
  }

  responseHeaders(block: Uint8Array, len: number, _sec: number, _nsec: number): BodyKind {
    const t = this.resp!;
    const lineEnd = this.lineEnd(block, 0, len);
    let e = lineEnd;
    while (e > 0 && (block[e - 1] === LF || block[e - 1] === CR)) e--;
    // status line: HTTP/d.d SP 3DIGIT [SP reason]
    const sp1 = block.indexOf(SP, 0);
    let code = -1;
    if (sp1 > 5 && sp1 + 3 <= e && isDigit(block[sp1 + 1]!) && isDigit(block[sp1 + 2]!) && isDigit(block[sp1 + 3]!) && (sp1 + 4 === e || isSpace(block[sp1 + 4]!))) {
      code = (block[sp1 + 1]! - 48) * 100 + (block[sp1 + 2]! - 48) * 10 + (block[sp1 + 3]! - 48);
    }
    if (code < 0) {
      this.problem(false, 'bad status line', true);
      return Body.NONE;
    }
    this.confirm();
    const version = latin1(block, 5, sp1);
    const [ms, me] = trimRange(block, Math.min(sp1 + 4, e), e);
    const msg = clip(text(block, ms, me), this.limits.maxValueChars);
    const h = this.parseHeaders(block, lineEnd, len);
    t.hasResponse = true;
    t.version = version;
    if (code >= 100 && code < 200 && code !== 101) {
      // informational: the final response is still to come
      t.infoCode = code;
      t.infoMsg = msg;
      t.status = -1;
      return Body.NONE;
    }
    t.status = code;
    t.statusMsg = msg;
    t.respSec = this.respStartSec;
    t.respNsec = this.respStartNsec;
    t.contentType = h.contentType;
    t.contentEncoding = h.contentEncoding;
    if (code === 101) {
      t.infoCode = code;
      t.infoMsg = msg;
      t.upgrade = (h.upgrade ?? t.upgradeAsked ?? 'unknown').toLowerCase();
      return Body.TUNNEL;
    }
    if (t.connect && code >= 200 && code < 300) {
      t.upgrade = 'connect';
      return Body.TUNNEL;
    }
    if (t.head || code === 204 || code === 304) return Body.NONE;
    this.respInflate = codingCounter(h.contentEncoding);
    if (h.badLength) {
      this.problem(false, 'conflicting Content-Length', true);
      return Body.NONE;
    }
    if (h.chunkedNotLast) this.problem(false, 'chunked is not the last transfer coding', false);
    if (h.chunked) return Body.CHUNKED;
    if (h.otherCoding) return Body.TO_END;
    if (h.contentLength >= 0) {
      this.server.length = h.contentLength;
      return Body.LENGTH;
    }
    return Body.TO_END;
  }

  responseEnd(sec: number, nsec: number): void {
    const t = this.resp;
    if (t === null) return;
    this.resp = null;
    if (t.hasResponse && t.status < 0 && t.infoCode >= 0 && t.version !== '0.9' && !t.invalid) return; // a 1xx: wait for the final response
    t.responseEnded = true;
    t.respEndSec = sec;
    t.respEndNsec = nsec;
    if (this.respInflate !== null) {
      t.responseBody = this.respInflate.finish(t.responseBody);
      this.respInflate = null;
    }
    if (t.upgrade !== null) {
      this.client.tunnel();
      this.server.tunnel();
      if (!t.requestEnded) {
        t.requestEnded = true;
        t.reqEndSec = t.respSec;
        t.reqEndNsec = t.respNsec;
      }
    }
    if (!t.orphan) {
      const i = this.waiting.indexOf(t);
      if (i >= 0) this.waiting.splice(i, 1);
    }
    if (t.requestEnded) this.done(t);
  }

  // ---- both

  body(client: boolean, buf: Uint8Array, off: number, n: number): void {
    const t = client ? this.req : this.resp;
    if (t === null) return;
    // the raw count is kept too: it stands when the content is not what its coding says
    const inf = client ? this.reqInflate : this.respInflate;
    if (inf !== null) inf.push(buf, off, n);
    if (client) t.requestBody += n;
    else t.responseBody += n;
  }

  problem(client: boolean, what: string, fatal: boolean): void {
    const t = client ? this.req : this.resp;
    this.ctx.weird(what);
    if (t === null) return;
    t.problem ??= what;
    if (fatal) t.invalid = true;
  }

  gapInMessage(client: boolean, bytes: number, inBody: boolean): void {
    const t = client ? this.req : this.resp;
    if (t === null) return;
    t.incomplete = true;
    t.problem ??= `gap in ${client ? 'request' : 'response'} ${inBody ? 'body' : 'head'}`;
    if (inBody) {
      if (client) t.requestBody += bytes;
      else t.responseBody += bytes;
      // the inflater lost its place: the raw count stands
      if (client) this.reqInflate = null;
      else this.respInflate = null;
    }
  }

  /**
   * A gap between messages swallowed (we assume) one message. On the client
   * side a request was lost: a placeholder waits in its place, so the
   * response pairs with it and not with the next request. On the server
   * side a response was lost: the oldest waiting request is written as
   * incomplete, so the next response pairs with the request after it.
   * (Several messages lost in one gap shift the pairing; Packetbeat drops
   * the stream instead, Zeek goes on pairing in order.)
   */
  gapBetween(client: boolean, sec: number, nsec: number): void {
    if (client) {
      const t = new _Txn();
      t.depth = ++this.depth;
      t.startSec = sec;
      t.startNsec = nsec;
      t.requestEnded = true;
      t.incomplete = true;
      t.problem = 'request lost in a capture gap';
      this.waiting.push(t);
      return;
    }
    const t = this.waiting.shift();
    if (t === undefined) return;
    t.incomplete = true;
    t.problem ??= 'response lost in a capture gap';
    t.responseEnded = true;
    if (t.requestEnded) this.write(t);
  }

  private confirm(): void {
    if (this.confirmed) return;
    this.confirmed = true;
    this.ctx.confirm();
    for (let i = 0; i < this.held.length; i++) this.ctx.emit(HTTP_SCHEMA, this.held[i]!, this.heldFailed[i]!);
    this.held = [];
    this.heldFailed = [];
  }

  private markCut(t: _Txn, what: string): void {
    t.incomplete = true;
    t.problem ??= what;
  }

  private done(t: _Txn): void {
    if (t === this.resp) this.resp = null;
    this.write(t);
  }

  /** Writes the pair's record. */
  private write(t: _Txn): void {
    const r: RecordValues = emptyRecord(HTTP_SCHEMA);
    r['ts'] = formatEpoch(t.startSec, t.startNsec);
    r['trans_depth'] = t.depth;
    r['method'] = t.method;
    r['host'] = t.host;
    r['uri'] = t.uri;
    r['route'] = routeOf(t.rawUri);
    r['referrer'] = t.referrer;
    r['version'] = t.version;
    r['user_agent'] = t.userAgent;
    r['origin'] = t.origin;
    r['request_body_len'] = t.requestBody;
    r['response_body_len'] = t.responseBody;
    r['status_code'] = t.status >= 0 ? t.status : null;
    r['status_msg'] = t.statusMsg;
    r['info_code'] = t.infoCode >= 0 ? t.infoCode : null;
    r['info_msg'] = t.infoMsg;
    r['username'] = t.username;
    r['request_version'] = t.requestVersion;
    r['request_uri'] = t.rawUri;
    r['request_content_type'] = t.requestContentType;
    r['content_type'] = t.contentType;
    r['content_encoding'] = t.contentEncoding;
    const final = t.status >= 0 || t.version === '0.9';
    if (final && t.respSec >= 0) r['response_ts'] = formatEpoch(t.respSec, t.respNsec);
    if (t.requestEnded && !t.orphan && t.reqEndSec >= 0) r['request_end_ts'] = formatEpoch(t.reqEndSec, t.reqEndNsec);
    if (t.responseEnded && final) r['response_end_ts'] = formatEpoch(t.respEndSec, t.respEndNsec);
    if (r['request_end_ts'] !== null && r['response_ts'] !== null) r['latency_ms'] = ms(t.reqEndSec, t.reqEndNsec, t.respSec, t.respNsec);
    if (!t.orphan && r['response_end_ts'] !== null) r['duration_ms'] = ms(t.startSec, t.startNsec, t.respEndSec, t.respEndNsec);
    let state: string;
    if (t.invalid) state = 'invalid';
    else if (t.orphan) state = 'orphan';
    else if (t.incomplete) state = 'incomplete';
    else if (!final || !t.responseEnded) state = 'unanswered';
    else if (t.upgrade !== null) state = 'upgraded';
    else state = 'complete';
    r['state'] = state;
    r['problem'] = state === 'unanswered' && t.problem === null ? 'no response before the connection ended' : t.problem;
    r['upgrade'] = t.upgrade;
    const failed = t.status >= 400 || state === 'unanswered' || state === 'invalid';
    if (this.confirmed) this.ctx.emit(HTTP_SCHEMA, r, failed);
    else if (this.held.length < this.limits.maxPending) {
      this.held.push(r);
      this.heldFailed.push(failed);
    }
  }

  /** End (after its LF) of the line starting at `start`. */
  private lineEnd(block: Uint8Array, start: number, len: number): number {
    const lf = block.indexOf(LF, start);
    return lf < 0 || lf >= len ? len : lf + 1;
  }

  /** The header fields of block[start, len) (lines after the start line; the last line is empty). */
  private parseHeaders(block: Uint8Array, start: number, len: number): _Headers {
    const h = clearHeaders(this.hdrs);
    const max = this.limits.maxValueChars;
    let p = start;
    while (p < len) {
      const le = this.lineEnd(block, p, len);
      let e = le;
      while (e > p && (block[e - 1] === LF || block[e - 1] === CR)) e--;
      if (e === p) break; // the empty line
      // obsolete line folding continues the previous value: only the fields below matter and rarely fold
      const colon = block.indexOf(0x3a, p);
      if (colon < 0 || colon >= e || isSpace(block[p]!)) {
        p = le;
        continue;
      }
      const [vs, ve] = trimRange(block, colon + 1, e);
      const n0 = p, n1 = colon;
      const first = block[n0]! | 0x20;
      if (first === 0x63) {
        if (nameIs(block, n0, n1, 'content-length')) {
          const v = parseLength(block, vs, ve);
          if (v < 0 || (h.contentLength >= 0 && h.contentLength !== v)) h.badLength = true;
          else h.contentLength = v;
        } else if (nameIs(block, n0, n1, 'content-type')) h.contentType = clip(text(block, vs, ve), max);
        else if (nameIs(block, n0, n1, 'content-encoding')) h.contentEncoding = clip(text(block, vs, ve), max);
      } else if (first === 0x74) {
        if (nameIs(block, n0, n1, 'transfer-encoding')) {
          // chunked must be the last coding (RFC 9112 §6.3); a message that lists it elsewhere is read as
          // chunked all the same, as Zeek does since its issue 261 (a smuggling attempt shows as two requests)
          const v = latin1(block, vs, ve).toLowerCase();
          const codings = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
          h.chunked = codings.includes('chunked');
          h.chunkedNotLast = h.chunked && codings[codings.length - 1] !== 'chunked';
          h.otherCoding = !h.chunked && codings.length > 0;
        }
      } else if (first === 0x68) {
        if (nameIs(block, n0, n1, 'host')) h.host = clip(text(block, vs, ve), max);
      } else if (first === 0x72) {
        if (nameIs(block, n0, n1, 'referer')) h.referrer = clip(text(block, vs, ve), max);
      } else if (first === 0x75) {
        if (nameIs(block, n0, n1, 'user-agent')) h.userAgent = clip(text(block, vs, ve), max);
        else if (nameIs(block, n0, n1, 'upgrade')) h.upgrade = clip(latin1(block, vs, ve), max);
      } else if (first === 0x6f) {
        if (nameIs(block, n0, n1, 'origin')) h.origin = clip(text(block, vs, ve), max);
      } else if (first === 0x61) {
        if (nameIs(block, n0, n1, 'authorization')) h.authorization = latin1(block, vs, Math.min(ve, vs + 4096));
      }
      p = le;
    }
    return h;
  }
}

/** A Content-Length value: digits only (RFC 9110 §8.6); -1 when it is not one. Values past 2^53 are taken as 2^53 - 1 (counted, never allocated). */
function parseLength(buf: Uint8Array, s: number, e: number): number {
  if (s >= e) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 48);
  }
  return v > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : v;
}

/** The user of a Basic Authorization value, as Zeek logs it. */
function basicUser(v: string): string | null {
  const m = /^basic\s+(\S+)/i.exec(v);
  if (!m) return null;
  const userpass = Buffer.from(m[1]!, 'base64').toString('latin1');
  const i = userpass.indexOf(':');
  return i >= 0 ? userpass.slice(0, i) : `<problem-decoding> (${v})`;
}

/** A counting inflater for a gzip or deflate content coding; null for others. */
function codingCounter(enc: string | null): InflateCounter | null {
  if (enc === null) return null;
  const e = enc.trim().toLowerCase();
  if (e === 'gzip' || e === 'x-gzip') return new InflateCounter('gzip');
  if (e === 'deflate') return new InflateCounter('deflate');
  return null;
}

/**
 * The request target with %-escapes decoded as Zeek's unescape_URI does
 * (analyzer/protocol/http/HTTP.cc): %XX becomes the byte, %uXXXX one or two
 * bytes, "%%" drops the first %, and a % not followed by two hex digits
 * stays as it is.
 */
export function unescapeUri(buf: Uint8Array, s: number, e: number): string {
  if (buf.indexOf(0x25, s) < 0 || buf.indexOf(0x25, s) >= e) return text(buf, s, e);
  const out = new Uint8Array(e - s);
  let n = 0;
  const hex = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);
  let i = s;
  while (i < e) {
    const c = buf[i]!;
    if (c !== 0x25) {
      out[n++] = c;
      i++;
      continue;
    }
    i++;
    if (i === e) {
      out[n++] = 0x25;
      break;
    }
    if (i + 1 === e) {
      out[n++] = 0x25;
      out[n++] = buf[i]!;
      break;
    }
    if (buf[i] === 0x25) continue; // "%%": the first % is dropped
    const h1 = hex(buf[i]!), h2 = hex(buf[i + 1]!);
    if (h1 >= 0 && h2 >= 0) {
      out[n++] = h1 * 16 + h2;
      i += 2;
      continue;
    }
    if (e - i >= 5 && buf[i] === 0x75 && hex(buf[i + 1]!) >= 0 && hex(buf[i + 2]!) >= 0 && hex(buf[i + 3]!) >= 0 && hex(buf[i + 4]!) >= 0) {
      if (!(buf[i + 1] === 0x30 && buf[i + 2] === 0x30)) out[n++] = hex(buf[i + 1]!) * 16 + hex(buf[i + 2]!);
      out[n++] = hex(buf[i + 3]!) * 16 + hex(buf[i + 4]!);
      i += 5;
      continue;
    }
    out[n++] = 0x25;
    out[n++] = buf[i]!;
    i++;
  }
  return text(out, 0, n);
}

/** b - a in milliseconds (exact nanoseconds divided by 10^6). */
function ms(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return ((bSec - aSec) * 1e9 + (bNsec - aNsec)) / 1e6;
}

export const HTTP: ProtocolDef = {
  name: 'http',
  aliases: [],
  service: 'http',
  schemas: [HTTP_SCHEMA],
  // Zeek's HTTP ports (scripts/base/protocols/http/main.zeek)
  tcpPorts: [80, 81, 631, 1080, 3128, 8000, 8080, 8888],
  udpPorts: [],
  sniff,
  stream: (ctx, limits) => new HttpDecoder(ctx, limits),
};
