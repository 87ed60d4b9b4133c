/**
 * The pairing of DNS queries and responses of one flow, shared by the UDP
 * and TCP decoders (dns.ts says how pairs are made), and the writing of
 * the `dns` records.
 */
import { DNS_SCHEMA } from '../records/dns.js';
import { emptyRecord, type RecordValues } from '../records/schema.js';
import { formatEpoch, formatSpan } from '../util/time.js';
import { className, opcodeName, rcodeName, typeName } from './_dns-names.js';
import type { AppContext, DecoderLimits } from './decoder.js';
import { DnsMessage } from './dns-message.js';

/** Seconds of capture time a query waits for its response before it is written unanswered. */
export const PENDING_TIMEOUT_S = 30;
/** Completed (ID, question) pairs remembered to name a repeated response a duplicate. */
const RECENT = 8;
/** Answers a zone transfer's record lists at most (its total_answers counts them all). */
export const XFR_MAX_ANSWERS = 1000;
const T_IXFR = 251, T_AXFR = 252;
/** Malformed messages on a flow before any well-formed one after which it is taken for another protocol. */
export const NOT_DNS_AFTER = 3;

/** One query with its response, or a response alone. */
class _Txn {
  id = -1;
  hasQuery = false;
  qSec = 0; qNsec = 0;
  qEndSec = 0; qEndNsec = 0;
  query: string | null = null;
  /** The query's question was read (else it pairs by ID alone). */
  questionKnown = false;
  qtype = -1;
  qclass = -1;
  opcode = 0;
  rd = false;
  tcQuery = false;
  z = 0;
  queryBytes = 0;
  retransmits = 0;
  hasResponse = false;
  rSec = 0; rNsec = 0;
  rcode = 0;
  aa = false;
  ra = false;
  tc = false;
  rejected = false;
  answers: string[] | null = null;
  ttls: number[] | null = null;
  totalAnswers = 0;
  totalReplies = 0;
  responseBytes = 0;
  orphan = false;
  invalid = false;
  incomplete = false;
  /** A server-side capture gap came while it waited: its response may be in it. */
  gapWhileWaiting = false;
  problem: string | null = null;
}

/**
 * The message reader every decoder uses: it holds a message's fields only
 * while DnsCore.message() runs (no call re-enters it), so one serves all
 * flows and a one-query UDP flow costs no reader buffers (2 KB).
 */
const READER = new DnsMessage();

/** Pairs the messages of one flow and writes the records (shared by the UDP and TCP decoders). */
export class DnsCore {
  private readonly msg = READER;
  private readonly pending: _Txn[] = [];
  /** The last RECENT answered (ID, type, name): a ring of plain arrays, made at the first answer (a one-query flow pays for little). */
  private recentId: number[] | null = null;
  private recentType: number[] = [];
  private recentName: string[] = [];
  private recentNext = 0;
  private confirmed = false;
  /** Malformed messages seen while none was well-formed. */
  private malformed = 0;
  /** A zone transfer over TCP whose response messages are still coming (written at the next other message or the end). */
  private xfr: _Txn | null = null;
  /** The client side lost bytes: a response without a query may have lost it there. */
  clientGap = false;
  /** Why decoding stopped (the pending queries are written incomplete). */
  stoppedWhy: string | null = null;

  constructor(
    private readonly ctx: AppContext,
    private readonly limits: DecoderLimits,
    private readonly proto: 'udp' | 'tcp',
  ) {}

  /**
   * One whole message buf[off, off+len): its first byte became readable at
   * start, its last at end. `cut`: why the message is not whole (it is read
   * as far as it goes), or null.
   */
  message(buf: Uint8Array, off: number, len: number, startSec: number, startNsec: number, endSec: number, endNsec: number, cut: string | null): void {
    if (this.stoppedWhy !== null) return;
    this.expire(endSec, endNsec);
    const m = this.msg;
    const isResponse = len >= 3 && (buf[off + 2]! & 0x80) !== 0;
    const ok = m.parse(buf, off, len, isResponse, this.limits.maxValueChars);
    if (ok && !this.confirmed && m.header) {
      this.confirmed = true;
      this.ctx.confirm();
    }
    let problem: string | null = null, invalid = false, incomplete = false;
    if (!ok) {
      if (cut !== null) {
        incomplete = true;
        problem = cut;
      } else {
        invalid = true;
        problem = m.problem;
        this.ctx.weird(m.short ? 'message shorter than its counts' : 'malformed message');
        if (!this.confirmed && ++this.malformed === NOT_DNS_AFTER) {
          // a port-53 flow of something else (a VPN, a scan): say so three times, then leave it alone
          this.stop(`not DNS: ${NOT_DNS_AFTER} malformed messages before a well-formed one`);
        }
      }
    } else if (cut !== null) {
      // whole as far as its counts go, yet bytes are missing (a gap in trailing bytes)
      incomplete = true;
      problem = cut;
    }
    if (!m.header) {
      // too short to say which query it is: written at once
      const t = new _Txn();
      if (isResponse) {
        t.orphan = t.hasResponse = true;
        t.rSec = startSec;
        t.rNsec = startNsec;
        t.responseBytes = len;
      } else {
        t.hasQuery = true;
        t.qSec = t.qEndSec = startSec;
        t.qNsec = t.qEndNsec = startNsec;
        t.queryBytes = len;
      }
      t.invalid = invalid;
      t.incomplete = incomplete;
      t.problem = problem;
      this.write(t);
      return;
    }
    const x = this.xfr;
    if (x !== null) {
      if (m.qr && m.id === x.id && (!m.hasQuestion || (m.qtype === x.qtype && m.queryNameIs(x.query!)))) {
        this.moreXfr(x, len, invalid, incomplete, problem);
        return;
      }
      this.xfr = null;
      this.write(x);
    }
    if (!m.qr) this.query(len, startSec, startNsec, endSec, endNsec, invalid, incomplete, problem);
    else this.response(len, startSec, startNsec, invalid, incomplete, problem);
  }

  private query(len: number, startSec: number, startNsec: number, endSec: number, endNsec: number, invalid: boolean, incomplete: boolean, problem: string | null): void {
    const m = this.msg;
    if (m.hasQuestion) {
      for (const w of this.pending) {
        if (w.id === m.id && w.questionKnown && w.qtype === m.qtype && w.qclass === m.qclass && m.queryNameIs(w.query!)) {
          w.retransmits++;
          return;
        }
      }
    }
    const t = new _Txn();
    t.id = m.id;
    t.hasQuery = true;
    t.qSec = startSec;
    t.qNsec = startNsec;
    t.qEndSec = endSec;
    t.qEndNsec = endNsec;
    t.questionKnown = m.hasQuestion;
    t.query = m.queryName();
    t.qtype = m.hasQuestion ? m.qtype : -1;
    t.qclass = m.hasQuestion ? m.qclass : -1;
    t.opcode = m.opcode;
    t.rd = m.rd;
    t.tcQuery = m.tc;
    t.z = m.z;
    t.queryBytes = len;
    t.invalid = invalid;
    t.incomplete = incomplete;
    t.problem = problem;
    const p = this.pending;
    p.push(t);
    if (p.length > this.limits.maxPending) {
      const old = p.shift()!;
      old.problem ??= `more than ${this.limits.maxPending} queries waiting`;
      this.ctx.weird('too many queries waiting');
      this.write(old);
    }
  }

  private response(len: number, sec: number, nsec: number, invalid: boolean, incomplete: boolean, problem: string | null): void {
    const m = this.msg;
    const p = this.pending;
    let t: _Txn | null = null;
    let differs = false;
    for (let i = 0; i < p.length; i++) {
      const w = p[i]!;
      if (w.id !== m.id) continue;
      if (w.questionKnown && m.hasQuestion && (w.qtype !== m.qtype || w.qclass !== m.qclass || !m.queryNameIs(w.query!))) {
        differs = true;
        continue;
      }
      t = w;
      for (let j = i + 1; j < p.length; j++) p[j - 1] = p[j]!;
      p.length--;
      break;
    }
    if (t === null) {
      t = new _Txn();
      t.orphan = true;
      t.id = m.id;
      t.query = m.hasQuestion ? m.queryName() : m.firstOwner;
      t.qtype = m.hasQuestion ? m.qtype : -1;
      t.qclass = m.hasQuestion ? m.qclass : -1;
      t.opcode = m.opcode;
      t.rd = m.rd;
      t.z = m.z;
      t.problem = this.isRecent(m) ? 'duplicate response' : differs ? 'response whose question differs from the query with its ID' : this.clientGap ? 'no query seen for this response (a capture gap on the client side)' : 'no query seen for this response';
      if (t.problem === 'duplicate response') this.ctx.weird('duplicate response');
    }
    if (!t.orphan && !t.questionKnown && m.hasQuestion) {
      // the query was cut before its question: the response repeats it
      t.query = m.queryName();
      t.qtype = m.qtype;
      t.qclass = m.qclass;
    }
    t.hasResponse = true;
    t.rSec = sec;
    t.rNsec = nsec;
    t.rcode = m.rcode;
    t.aa = m.aa;
    t.ra = m.ra;
    t.tc = m.tc;
    t.rejected = (m.hasQuestion && m.ancount + m.nscount + m.arcount === 0) || ((m.flags & 0xf) !== 0 && m.qdcount === 0);
    t.answers = m.answers !== null && m.answers.length > 0 ? m.answers : null;
    t.ttls = t.answers !== null ? m.ttls : null;
    t.totalAnswers = m.ancount;
    t.totalReplies = m.ancount + m.nscount + m.arcount;
    t.responseBytes = len;
    if (invalid) t.invalid = true;
    if (incomplete) t.incomplete = true;
    if (problem !== null) t.problem = t.orphan ? `${t.problem}; ${problem}` : (t.problem ?? problem);
    if (!t.orphan && t.questionKnown) {
      this.recentId ??= [];
      const k = this.recentNext;
      this.recentId[k] = t.id;
      this.recentName[k] = t.query!;
      this.recentType[k] = t.qtype;
      this.recentNext = (k + 1) % RECENT;
    }
    if (this.proto === 'tcp' && !t.orphan && (t.qtype === T_AXFR || t.qtype === T_IXFR) && t.rcode === 0 && m.ancount > 0) {
      // a zone transfer may take several messages with this ID: they join this record
      if (t.answers !== null && t.answers.length > XFR_MAX_ANSWERS) this.capXfr(t);
      this.xfr = t;
      return;
    }
    this.write(t);
  }

  /** One more message of a zone transfer: its answers and counts join the transfer's record. */
  private moreXfr(x: _Txn, len: number, invalid: boolean, incomplete: boolean, problem: string | null): void {
    const m = this.msg;
    x.totalAnswers += m.ancount;
    x.totalReplies += m.ancount + m.nscount + m.arcount;
    x.responseBytes += len;
    if (m.rcode !== 0 && x.rcode === 0) x.rcode = m.rcode;
    if (invalid) x.invalid = true;
    if (incomplete) x.incomplete = true;
    if (problem !== null) x.problem ??= problem;
    const more = m.answers;
    if (more !== null && more.length > 0) {
      if (x.answers === null) {
        x.answers = more;
        x.ttls = m.ttls;
      } else {
        for (let i = 0; i < more.length && x.answers.length <= XFR_MAX_ANSWERS; i++) {
          x.answers.push(more[i]!);
          x.ttls!.push(m.ttls![i]!);
        }
      }
      if (x.answers.length > XFR_MAX_ANSWERS) this.capXfr(x);
    }
  }

  private capXfr(x: _Txn): void {
    x.answers!.length = XFR_MAX_ANSWERS;
    x.ttls!.length = XFR_MAX_ANSWERS;
    x.problem ??= `zone transfer: answers after the first ${XFR_MAX_ANSWERS} not listed`;
  }

  private isRecent(m: DnsMessage): boolean {
    const ids = this.recentId;
    if (!m.hasQuestion || ids === null) return false;
    for (let k = 0; k < ids.length; k++) {
      if (ids[k] === m.id && this.recentType[k] === m.qtype && m.queryNameIs(this.recentName[k]!)) return true;
    }
    return false;
  }

  /** Writes the queries that waited more than PENDING_TIMEOUT_S before `sec`. */
  private expire(sec: number, nsec: number): void {
    const p = this.pending;
    while (p.length > 0) {
      const t = p[0]!;
      const waited = (sec - t.qEndSec) + (nsec - t.qEndNsec) / 1e9;
      if (waited <= PENDING_TIMEOUT_S) return;
      p.shift();
      t.problem ??= `no response within ${PENDING_TIMEOUT_S} s`;
      this.write(t);
    }
  }

  /** Gives up on the flow (the waiting queries are written incomplete at its end). */
  stop(why: string): void {
    if (this.stoppedWhy !== null) return;
    this.stoppedWhy = why;
    this.ctx.stop(why);
  }

  /** A capture gap on the server side: every waiting query's response may be in it. */
  serverGap(): void {
    for (const t of this.pending) t.gapWhileWaiting = true;
  }

  /** The flow ended: the waiting queries are written unanswered. */
  finish(): void {
    if (this.xfr !== null) {
      this.write(this.xfr);
      this.xfr = null;
    }
    for (const t of this.pending) {
      if (this.stoppedWhy !== null) {
        t.incomplete = true;
        t.problem ??= `decoding stopped: ${this.stoppedWhy}`;
      } else if (t.gapWhileWaiting) {
        t.incomplete = true;
        t.problem ??= 'no response; a capture gap on the server side may hold it';
      } else t.problem ??= 'no response before the flow ended';
      this.write(t);
    }
    this.pending.length = 0;
  }

  private write(t: _Txn): void {
    const r: RecordValues = emptyRecord(DNS_SCHEMA);
    const q = t.hasQuery;
    r['ts'] = q ? formatEpoch(t.qSec, t.qNsec) : formatEpoch(t.rSec, t.rNsec);
    r['proto'] = this.proto;
    r['trans_id'] = t.id >= 0 ? t.id : null;
    if (q && t.hasResponse) {
      r['rtt'] = formatSpan(t.qEndSec, t.qEndNsec, t.rSec, t.rNsec);
      r['latency_ms'] = ((t.rSec - t.qEndSec) * 1e9 + (t.rNsec - t.qEndNsec)) / 1e6;
    }
    r['query'] = t.query;
    if (t.qclass >= 0) {
      r['qclass'] = t.qclass;
      r['qclass_name'] = className(t.qclass);
      r['qtype'] = t.qtype;
      r['qtype_name'] = typeName(t.qtype);
    }
    const h = t.id >= 0; // a header was read
    if (t.hasResponse && h) {
      r['rcode'] = t.rcode;
      r['rcode_name'] = rcodeName(t.rcode);
      r['total_answers'] = t.totalAnswers;
      r['total_replies'] = t.totalReplies;
      r['response_ts'] = formatEpoch(t.rSec, t.rNsec);
    }
    if (t.hasResponse) r['response_bytes'] = t.responseBytes;
    if (h) {
      r['AA'] = t.aa;
      r['TC'] = t.hasResponse ? t.tc : t.tcQuery;
      r['RD'] = t.rd;
      r['RA'] = t.ra;
      r['Z'] = t.z;
      r['rejected'] = t.rejected;
      r['opcode'] = t.opcode;
      r['opcode_name'] = opcodeName(t.opcode);
    }
    r['answers'] = t.answers;
    r['TTLs'] = t.ttls;
    if (q) {
      r['query_bytes'] = t.queryBytes;
      r['query_retransmits'] = t.retransmits;
    }
    let state: string;
    if (t.invalid) state = 'invalid';
    else if (t.orphan) state = 'orphan';
    else if (t.incomplete) state = 'incomplete';
    else if (!t.hasResponse) state = 'unanswered';
    else state = 'complete';
    r['state'] = state;
    r['problem'] = t.problem;
    const failed = (t.hasResponse && h && t.rcode !== 0) || state === 'unanswered' || state === 'invalid';
    this.ctx.emit(DNS_SCHEMA, r, failed);
  }
}

