/**
 * ConnAnalyzer: the per-connection analysis run on this thread. Each flow's
 * state is a ConnAnalysis in Conn.aux (pooled with the flow); handshakes
 * waiting for an answer are queued in SYN order for the timeout check, and
 * each decided verdict is reported once through `onHandshake`.
 *
 * Embryonic flows (no payload and no answer yet; the tracker decides, see
 * ConnTracker) get the handshake analysis at once, which decides verdicts and
 * timeouts live, and a log of their events instead of the heavy part (tshark's
 * sequence analysis, Zeek's state). The log is replayed into a heavy part
 * from a small pool when the flow graduates (and the log is dropped), when it
 * ends (the record needs the analysis fields; `released` returns the part to
 * the pool after the record was built) or when a record of the open flow is
 * wanted (`materialize`). Replaying the same events in the same order gives
 * the same state as running them live: the heavy part reads nothing but the
 * events, which is what the analysis thread of `--threads 2` relies on too.
 */
import type { PacketView } from '../capture/packet.js';
import { Decoded } from '../decode/decoded.js';
import type { Conn } from '../tcp/conn.js';
import type { BudgetAccount } from '../util/memory-budget.js';
import { ConnAnalysis, HeavyAnalysis } from './conn-analysis.js';
import type { FlowAnalysis } from './flow-analysis.js';
import { Verdict } from './handshake.js';
import { Fifo } from '../util/fifo.js';

/** Log event kinds (the first number of each event). */
const L_TCP_A = 1, L_TCP_B = 2, L_FLIP = 3, L_OTHER_A = 4, L_OTHER_B = 5;
/** Numbers of a TCP event before its SACK edges. */
const TCP_WORDS = 16;
/**
 * A log longer than this graduates its flow by itself (the tracker graduates
 * flows after a few packets; this bounds the log for other callers).
 */
const MAX_LOG = 512;
/** Heavy parts kept for reuse; more are left to the garbage collector, so memory follows the flows open. */
const SPARE_HEAVY = 1024;

export class ConnAnalyzer implements FlowAnalysis {
  private readonly synTimeoutMs: number;
  private readonly onHandshake: ((c: Conn) => void) | undefined;
  /** Handshakes waiting for an answer, in SYN order (for timeouts). */
  private readonly pending = new Fifo<Conn>();
  private readonly spare: HeavyAnalysis[] = [];
  private readonly scratch = new Decoded();
  private readonly account: BudgetAccount | null;

  /** `account`: where the growth of per-flow buffers is charged (a memory budget), if anywhere. */
  constructor(synTimeoutMs: number, onHandshake?: (c: Conn) => void, account: BudgetAccount | null = null) {
    this.synTimeoutMs = synTimeoutMs;
    this.onHandshake = onHandshake;
    this.account = account;
  }

  created(c: Conn, reused: boolean): void {
    if (c.aux === null) c.aux = new ConnAnalysis();
    if (reused) (c.aux as ConnAnalysis).reusedPorts = 1;
  }

  tcp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView, frame: number): number {
    const ca = c.aux as ConnAnalysis;
    const heavy = ca.heavy;
    let flags = 0;
    if (heavy !== null) {
      flags = heavy.seq.onSegment(fromA, d, pv.sec, pv.nsec, frame);
      heavy.zeek.onTcp(fromA, d, flags, heavy.seq.gapBytes);
    } else this.logTcp(c, ca, fromA, d, pv, frame);
    const hs = ca.hs;
    if (hs.onTcp(fromA, d, pv, this.synTimeoutMs)) this.decided(c);
    else if (hs.verdict === Verdict.PENDING && !hs.queued) {
      hs.queued = true;
      hs.waiting = true;
      this.pending.push(c);
    }
    return flags;
  }

  flipped(c: Conn): void {
    const ca = c.aux as ConnAnalysis;
    if (ca.heavy !== null) ca.heavy.zeek.onFlip();
    else this.logWord(c, ca, L_FLIP);
  }

  other(c: Conn, fromA: boolean, payloadLen: number): void {
    const ca = c.aux as ConnAnalysis;
    if (ca.heavy !== null) ca.heavy.zeek.onOther(fromA, payloadLen);
    else {
      const log = ca.log;
      const n = ca.logLen;
      log[n] = fromA ? L_OTHER_A : L_OTHER_B;
      log[n + 1] = payloadLen;
      ca.logLen = n + 2;
      if (ca.logLen > MAX_LOG) this.graduate(c);
    }
  }

  unreachable(c: Conn, type: number, code: number, sec: number, nsec: number): void {
    if ((c.aux as ConnAnalysis).hs.onIcmpUnreach(type, code, sec, nsec)) this.decided(c);
  }

  advance(now: number): void {
    const timeout = this.synTimeoutMs;
    for (;;) {
      const c = this.pending.peek();
      if (c === undefined) break;
      const hs = (c.aux as ConnAnalysis).hs;
      if (hs.waiting && hs.verdict === Verdict.PENDING && now - hs.synMs <= timeout) break;
      this.pending.shift();
      if (!hs.waiting) continue;
      hs.waiting = false;
      if (hs.checkTimeout(now, timeout)) this.decided(c);
    }
  }

  graduate(c: Conn): void {
    const ca = c.aux as ConnAnalysis;
    this.materialize(c);
    ca.logLen = 0;
    // a graduated flow logs nothing more: its log goes to the garbage collector, not into the pool
    if (ca.log.length > 0) ca.log = [];
  }

  /** Gives an embryonic flow its heavy part, replaying its log (the flow stays embryonic for `released`). */
  materialize(c: Conn): void {
    const ca = c.aux as ConnAnalysis;
    if (ca.heavy !== null) return;
    const heavy = this.spare.pop() ?? new HeavyAnalysis(this.account);
    ca.heavy = heavy;
    if (ca.reusedPorts) heavy.seq.markReused();
    this.replay(ca, heavy);
  }

  ended(c: Conn): void {
    this.materialize(c);
    const hs = (c.aux as ConnAnalysis).hs;
    if (hs.finish(c.lastSec, c.lastNsec)) this.decided(c);
    hs.waiting = false;
  }

  released(c: Conn): void {
    const ca = c.aux as ConnAnalysis;
    const heavy = ca.heavy;
    if (heavy === null) return;
    ca.heavy = null;
    heavy.reset();
    if (this.spare.length < SPARE_HEAVY) this.spare.push(heavy);
  }

  private decided(c: Conn): void {
    const hs = (c.aux as ConnAnalysis).hs;
    hs.waiting = false;
    if (hs.reported) return;
    hs.reported = true;
    if (this.onHandshake) this.onHandshake(c);
  }

  private logWord(c: Conn, ca: ConnAnalysis, w: number): void {
    ca.log[ca.logLen++] = w;
    if (ca.logLen > MAX_LOG) this.graduate(c);
  }

  /** Appends a TCP segment's analysis inputs (those the analysis thread receives too) to the log. */
  private logTcp(c: Conn, ca: ConnAnalysis, fromA: boolean, d: Decoded, pv: PacketView, frame: number): void {
    const log = ca.log;
    let n = ca.logLen;
    const sc = d.sackCount;
    log[n] = fromA ? L_TCP_A : L_TCP_B;
    log[n + 1] = frame;
    log[n + 2] = pv.sec;
    log[n + 3] = pv.nsec;
    log[n + 4] = d.seq;
    log[n + 5] = d.ack;
    log[n + 6] = d.flags;
    log[n + 7] = d.window;
    log[n + 8] = d.wscale;
    log[n + 9] = d.payloadLen;
    log[n + 10] = d.payloadCap;
    log[n + 11] = sc;
    // the endpoints, as the packet has them (the analysis thread's shadow flows do not know theirs)
    log[n + 12] = d.ipVersion;
    log[n + 13] = d.da0;
    log[n + 14] = d.sport;
    log[n + 15] = d.dport;
    n += TCP_WORDS;
    const sk = d.sack;
    for (let k = 0; k < 2 * sc; k++) log[n++] = sk[k]!;
    ca.logLen = n;
    if (n > MAX_LOG) this.graduate(c);
  }

  /** Runs the logged events through the heavy part, in order. */
  private replay(ca: ConnAnalysis, heavy: HeavyAnalysis): void {
    const log = ca.log;
    const end = ca.logLen;
    const d = this.scratch;
    let p = 0;
    while (p < end) {
      const kind = log[p]!;
      if (kind === L_TCP_A || kind === L_TCP_B) {
        const fromA = kind === L_TCP_A;
        d.ipVersion = log[p + 12]!;
        d.da0 = log[p + 13]!;
        d.sport = log[p + 14]!;
        d.dport = log[p + 15]!;
        d.seq = log[p + 4]!;
        d.ack = log[p + 5]!;
        d.flags = log[p + 6]!;
        d.window = log[p + 7]!;
        d.wscale = log[p + 8]!;
        d.payloadLen = log[p + 9]!;
        d.payloadCap = log[p + 10]!;
        const sc = log[p + 11]!;
        d.sackCount = sc;
        for (let k = 0; k < 2 * sc; k++) d.sack[k] = log[p + TCP_WORDS + k]!;
        const flags = heavy.seq.onSegment(fromA, d, log[p + 2]!, log[p + 3]!, log[p + 1]!);
        heavy.zeek.onTcp(fromA, d, flags, heavy.seq.gapBytes);
        p += TCP_WORDS + 2 * sc;
      } else if (kind === L_FLIP) {
        heavy.zeek.onFlip();
        p += 1;
      } else {
        heavy.zeek.onOther(kind === L_OTHER_A, log[p + 1]!);
        p += 2;
      }
    }
  }
}
