/**
 * The full analysis on a second thread. The capture thread reads, decodes
 * and keeps the flow table (flows mode's work) and writes each analysis
 * event (flow created, TCP segment, UDP/ICMP packet, ICMP unreachable, time,
 * flow ended with its counters) into a shared ring; the analysis thread
 * replays them in the same order through a ConnAnalyzer over shadow flows
 * (one per flow-table slot) and, when a flow ends, sends back the analysis
 * fields of its record (ANALYSIS_FIELDS, in order); the capture thread built
 * the rest of that record when the flow ended and completes it with them.
 * Records therefore come out in the same order and with the same values as
 * on one thread (test/cli.tcpanalyze.threads.test.ts compares them whole).
 *
 * Why: replayed alone, the analysis runs about twice as fast as inside the
 * pipeline, where the packet stream pushes its per-connection state out of
 * the caches. On the 2-vCPU benchmark machine the two threads compete for
 * memory bandwidth instead and gain 0-10 %, so tcpanalyze uses this only
 * with --threads 2 (README, Speed).
 */
import { PacketView } from '../capture/packet.js';
import { Decoded, IPPROTO_TCP } from '../decode/decoded.js';
import { RingReader, RingWriter, RING_WRAP, type SharedRing } from '../io/shared-ring.js';
import { CONN_SCHEMA } from '../records/conn.js';
import { emptyRecord, type RecordRow, type RecordValues } from '../records/schema.js';
import { Conn, OrigRule, type EndReason, type Half, type OrigRuleName } from '../tcp/conn.js';
import { ConnAnalyzer } from './conn-analyzer.js';
import { ANALYSIS_FIELDS, fillAnalysis, fillEndpoints } from './conn-record.js';
import type { FlowAnalysis } from './flow-analysis.js';

const E_CREATED = 1, E_TCP = 2, E_FLIP = 3, E_OTHER = 4, E_UNREACH = 5, E_ADVANCE = 6, E_END = 7, E_GRADUATE = 8;

const ORIG_RULES: readonly OrigRuleName[] = [OrigRule.SYN, OrigRule.SYNACK, OrigRule.PORTS, OrigRule.FIRST, OrigRule.ICMP];
const END_REASONS: readonly EndReason[] = ['fin', 'rst_orig', 'rst_resp', 'idle', 'eof', 'interrupted', 'evicted'];

/** Words of a flow's snapshot (see writeConn / readConn). */
const CONN_WORDS = 26 + 2 * 19;
/** Longest event: E_END with its snapshot. */
const MAX_EVENT = 2 + CONN_WORDS;
/** The writer publishes after this many words (and at the end). */
const PUBLISH_WORDS = 8192;

function writeHalf(f: Float64Array, o: number, h: Half): number {
  f[o++] = h.pkts;
  f[o++] = h.ipBytes;
  f[o++] = h.frameBytes;
  f[o++] = h.payloadBytes;
  f[o++] = h.truncatedPkts;
  f[o++] = h.flagsSeen;
  f[o++] = h.synPkts;
  f[o++] = h.finPkts;
  f[o++] = h.rstPkts;
  f[o++] = h.mss;
  f[o++] = h.wscale;
  f[o++] = h.sackPermitted ? 1 : 0;
  f[o++] = h.timestamps ? 1 : 0;
  f[o++] = h.tfo ? 1 : 0;
  f[o++] = h.hasBase ? 1 : 0;
  f[o++] = h.base;
  f[o++] = h.isn;
  f[o++] = h.maxEnd;
  f[o++] = h.finRel;
  return o;
}

function readHalf(f: Float64Array, o: number, h: Half): number {
  h.pkts = f[o++]!;
  h.ipBytes = f[o++]!;
  h.frameBytes = f[o++]!;
  h.payloadBytes = f[o++]!;
  h.truncatedPkts = f[o++]!;
  h.flagsSeen = f[o++]!;
  h.synPkts = f[o++]!;
  h.finPkts = f[o++]!;
  h.rstPkts = f[o++]!;
  h.mss = f[o++]!;
  h.wscale = f[o++]!;
  h.sackPermitted = f[o++] === 1;
  h.timestamps = f[o++] === 1;
  h.tfo = f[o++] === 1;
  h.hasBase = f[o++] === 1;
  h.base = f[o++]!;
  h.isn = f[o++]!;
  h.maxEnd = f[o++]!;
  h.finRel = f[o++]!;
  return o;
}

/** Everything of a flow that its record reads, as CONN_WORDS numbers. */
function writeConn(f: Float64Array, o: number, c: Conn): number {
  f[o++] = c.hash;
  f[o++] = c.proto;
  f[o++] = c.ipVersion;
  f[o++] = c.a0;
  f[o++] = c.a1;
  f[o++] = c.a2;
  f[o++] = c.a3;
  f[o++] = c.aPort;
  f[o++] = c.b0;
  f[o++] = c.b1;
  f[o++] = c.b2;
  f[o++] = c.b3;
  f[o++] = c.bPort;
  f[o++] = c.origIsA ? 1 : 0;
  f[o++] = ORIG_RULES.indexOf(c.origRule);
  f[o++] = c.firstSec;
  f[o++] = c.firstNsec;
  f[o++] = c.lastSec;
  f[o++] = c.lastNsec;
  f[o++] = END_REASONS.indexOf(c.endReason);
  f[o++] = c.rstFromA ? 1 : 0;
  f[o++] = c.serial;
  f[o++] = c.icmpErrors;
  f[o++] = c.icmpType;
  f[o++] = c.icmpCode;
  f[o++] = c.vlan;
  o = writeHalf(f, o, c.ha);
  return writeHalf(f, o, c.hb);
}

function readConn(f: Float64Array, o: number, c: Conn): number {
  c.hash = f[o++]!;
  c.proto = f[o++]!;
  c.ipVersion = f[o++]!;
  c.a0 = f[o++]!;
  c.a1 = f[o++]!;
  c.a2 = f[o++]!;
  c.a3 = f[o++]!;
  c.aPort = f[o++]!;
  c.b0 = f[o++]!;
  c.b1 = f[o++]!;
  c.b2 = f[o++]!;
  c.b3 = f[o++]!;
  c.bPort = f[o++]!;
  c.origIsA = f[o++] === 1;
  c.origRule = ORIG_RULES[f[o++]!]!;
  c.firstSec = f[o++]!;
  c.firstNsec = f[o++]!;
  c.lastSec = f[o++]!;
  c.lastNsec = f[o++]!;
  c.endReason = END_REASONS[f[o++]!]!;
  c.rstFromA = f[o++] === 1;
  c.serial = f[o++]!;
  c.icmpErrors = f[o++]!;
  c.icmpType = f[o++]!;
  c.icmpCode = f[o++]!;
  c.vlan = f[o++]!;
  o = readHalf(f, o, c.ha);
  return readHalf(f, o, c.hb);
}

// Generated once from ANALYSIS_FIELDS (identifiers, checked by the schema): named loads and stores.
const analysisRow = new Function('r', `return [${ANALYSIS_FIELDS.map((n) => `r.${n}`).join(', ')}];`) as (r: RecordValues) => RecordRow;
const clearAnalysis = new Function('r', ANALYSIS_FIELDS.map((n) => `r.${n} = null;`).join('\n')) as (r: RecordValues) => void;
/** Completes a record built on the capture thread with the analysis fields sent back for it. */
export const applyAnalysisRow = new Function('r', 'v', ANALYSIS_FIELDS.map((n, i) => `r.${n} = v[${i}];`).join('\n')) as (r: RecordValues, row: RecordRow) => void;

/** The capture thread's side: each event becomes a few words in the ring. */
export class RemoteAnalysis implements FlowAnalysis {
  private readonly w: RingWriter;
  private published = 0;

  constructor(ring: SharedRing) {
    this.w = new RingWriter(ring);
  }

  /** Times the capture thread waited for the analysis thread (the ring was full). */
  get waits(): number {
    return this.w.waits;
  }

  private done(end: number): void {
    const w = this.w;
    w.pos = end;
    if (end < this.published || end - this.published >= PUBLISH_WORDS) {
      w.publish();
      this.published = end;
    }
  }

  created(c: Conn, reused: boolean): void {
    const o = this.w.reserve(3);
    const f = this.w.f;
    f[o] = E_CREATED;
    f[o + 1] = c.id;
    f[o + 2] = reused ? 1 : 0;
    this.done(o + 3);
  }

  tcp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView, frame: number): number {
    const sc = d.sackCount;
    const o = this.w.reserve(18 + 2 * sc);
    const f = this.w.f;
    f[o] = E_TCP;
    f[o + 1] = c.id;
    f[o + 2] = fromA ? 1 : 0;
    f[o + 3] = frame;
    f[o + 4] = pv.sec;
    f[o + 5] = pv.nsec;
    f[o + 6] = d.seq;
    f[o + 7] = d.ack;
    f[o + 8] = d.flags;
    f[o + 9] = d.window;
    f[o + 10] = d.payloadLen;
    f[o + 11] = d.payloadCap;
    f[o + 12] = d.wscale;
    f[o + 13] = d.ipVersion;
    f[o + 14] = d.da0;
    f[o + 15] = d.sport;
    f[o + 16] = d.dport;
    f[o + 17] = sc;
    const sk = d.sack;
    for (let k = 0; k < 2 * sc; k++) f[o + 18 + k] = sk[k]!;
    this.done(o + 18 + 2 * sc);
    return 0;
  }

  flipped(c: Conn): void {
    const o = this.w.reserve(2);
    this.w.f[o] = E_FLIP;
    this.w.f[o + 1] = c.id;
    this.done(o + 2);
  }

  other(c: Conn, fromA: boolean, payloadLen: number): void {
    const o = this.w.reserve(4);
    const f = this.w.f;
    f[o] = E_OTHER;
    f[o + 1] = c.id;
    f[o + 2] = fromA ? 1 : 0;
    f[o + 3] = payloadLen;
    this.done(o + 4);
  }

  unreachable(c: Conn, type: number, code: number, sec: number, nsec: number): void {
    const o = this.w.reserve(6);
    const f = this.w.f;
    f[o] = E_UNREACH;
    f[o + 1] = c.id;
    f[o + 2] = type;
    f[o + 3] = code;
    f[o + 4] = sec;
    f[o + 5] = nsec;
    this.done(o + 6);
  }

  advance(nowMs: number): void {
    const o = this.w.reserve(2);
    this.w.f[o] = E_ADVANCE;
    this.w.f[o + 1] = nowMs;
    this.done(o + 2);
  }

  graduate(c: Conn): void {
    const o = this.w.reserve(2);
    this.w.f[o] = E_GRADUATE;
    this.w.f[o + 1] = c.id;
    this.done(o + 2);
  }

  materialize(): void {
    throw new Error('RemoteAnalysis: the analysis state lives on the analysis thread (no interim records with --threads 2)');
  }

  released(): void {
    // the analysis thread releases a flow's state once it has sent its fields
  }

  ended(c: Conn): void {
    const o = this.w.reserve(MAX_EVENT);
    const f = this.w.f;
    f[o] = E_END;
    f[o + 1] = c.id;
    this.done(writeConn(f, o + 2, c));
  }

  /** Publishes the last events and tells the analysis thread the input ended. */
  close(): void {
    this.w.close();
  }
}

/**
 * The analysis thread's side: replays the ring's events until the writer
 * closes it, calling `onRow` with the analysis fields of each finished flow
 * (in the order the flows ended).
 */
export function runRemoteAnalysis(ring: SharedRing, synTimeoutMs: number, onRow: (row: RecordRow) => void): void {
  const scratch = emptyRecord(CONN_SCHEMA);
  const rd = new RingReader(ring);
  const f = rd.f;
  const an = new ConnAnalyzer(synTimeoutMs);
  const conns: (Conn | undefined)[] = [];
  const d = new Decoded();
  const pv = new PacketView();
  for (;;) {
    const end = rd.available();
    if (end < 0) return;
    let p = rd.pos;
    while (p !== end) {
      const type = f[p]!;
      if (type === RING_WRAP) {
        p = 0;
        continue;
      }
      // small integers as int32 (Smis): doubles passed to calls would be boxed, one allocation each
      const id = f[p + 1]! | 0;
      switch (type) {
        case E_TCP: {
          const c = conns[id]!;
          pv.sec = f[p + 4]!;
          pv.nsec = f[p + 5]!;
          d.seq = f[p + 6]!;
          d.ack = f[p + 7]!;
          d.flags = f[p + 8]!;
          d.window = f[p + 9]!;
          d.payloadLen = f[p + 10]!;
          d.payloadCap = f[p + 11]!;
          d.wscale = f[p + 12]!;
          d.ipVersion = f[p + 13]!;
          d.da0 = f[p + 14]!;
          d.sport = f[p + 15]!;
          d.dport = f[p + 16]!;
          const sc = f[p + 17]!;
          d.sackCount = sc;
          for (let k = 0; k < 2 * sc; k++) d.sack[k] = f[p + 18 + k]!;
          an.tcp(c, f[p + 2] === 1, d, pv, f[p + 3]! | 0);
          p += 18 + 2 * sc;
          break;
        }
        case E_CREATED: {
          let c = conns[id];
          if (c === undefined) conns[id] = c = new Conn();
          c.reset();
          c.id = id;
          an.created(c, f[p + 2] === 1);
          p += 3;
          break;
        }
        case E_OTHER:
          an.other(conns[id]!, f[p + 2] === 1, f[p + 3]! | 0);
          p += 4;
          break;
        case E_FLIP:
          an.flipped(conns[id]!);
          p += 2;
          break;
        case E_UNREACH:
          an.unreachable(conns[id]!, f[p + 2]! | 0, f[p + 3]! | 0, f[p + 4]!, f[p + 5]! | 0);
          p += 6;
          break;
        case E_ADVANCE:
          an.advance(f[p + 1]!);
          p += 2;
          break;
        case E_END: {
          const c = conns[id]!;
          p = readConn(f, p + 2, c);
          an.ended(c);
          clearAnalysis(scratch);
          // only Zeek's UDP roles read the endpoints (addresses as text are not free)
          if (c.proto !== IPPROTO_TCP) fillEndpoints(scratch, c);
          fillAnalysis(scratch, c);
          onRow(analysisRow(scratch));
          an.released(c);
          break;
        }
        case E_GRADUATE:
          an.graduate(conns[id]!);
          p += 2;
          break;
        default:
          throw new Error(`analysis ring: unknown event ${type} at word ${p}`);
      }
    }
    rd.pos = p;
    rd.release();
  }
}
