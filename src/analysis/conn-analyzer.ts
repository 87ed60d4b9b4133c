/**
 * ConnAnalyzer: the per-connection analysis run on this thread. Each flow's
 * state is a ConnAnalysis in Conn.aux (pooled with the flow); handshakes
 * waiting for an answer are queued in SYN order for the timeout check, and
 * each decided verdict is reported once through `onHandshake`.
 */
import type { PacketView } from '../capture/packet.js';
import type { Decoded } from '../decode/decoded.js';
import type { Conn } from '../tcp/conn.js';
import { ConnAnalysis } from './conn-analysis.js';
import type { FlowAnalysis } from './flow-analysis.js';
import { Verdict } from './handshake.js';
import { Fifo } from '../util/fifo.js';

export class ConnAnalyzer implements FlowAnalysis {
  private readonly synTimeoutMs: number;
  private readonly onHandshake: ((c: Conn) => void) | undefined;
  /** Handshakes waiting for an answer, in SYN order (for timeouts). */
  private readonly pending = new Fifo<Conn>();
  private readonly pendingSet = new Set<Conn>();

  constructor(synTimeoutMs: number, onHandshake?: (c: Conn) => void) {
    this.synTimeoutMs = synTimeoutMs;
    this.onHandshake = onHandshake;
  }

  created(c: Conn, reused: boolean): void {
    if (c.aux === null) c.aux = new ConnAnalysis();
    if (reused) {
      const ca = c.aux as ConnAnalysis;
      ca.reusedPorts = 1;
      ca.seq.markReused();
    }
  }

  tcp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView, frame: number): number {
    const ca = c.aux as ConnAnalysis;
    const flags = ca.seq.onSegment(fromA, d, pv.sec, pv.nsec, frame);
    ca.zeek.onTcp(fromA, d, flags, ca.seq.gapBytes);
    const hs = ca.hs;
    if (hs.onTcp(fromA, d, pv, this.synTimeoutMs)) this.decided(c);
    else if (hs.verdict === Verdict.PENDING && !hs.queued) {
      hs.queued = true;
      this.pending.push(c);
      this.pendingSet.add(c);
    }
    return flags;
  }

  flipped(c: Conn): void {
    (c.aux as ConnAnalysis).zeek.onFlip();
  }

  other(c: Conn, fromA: boolean, payloadLen: number): void {
    (c.aux as ConnAnalysis).zeek.onOther(fromA, payloadLen);
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
      if (this.pendingSet.has(c) && hs.verdict === Verdict.PENDING && now - hs.synMs <= timeout) break;
      this.pending.shift();
      if (!this.pendingSet.delete(c)) continue;
      if (hs.checkTimeout(now, timeout)) this.decided(c);
    }
  }

  ended(c: Conn): void {
    if ((c.aux as ConnAnalysis).hs.finish(c.lastSec, c.lastNsec)) this.decided(c);
    this.pendingSet.delete(c);
  }

  private decided(c: Conn): void {
    this.pendingSet.delete(c);
    const hs = (c.aux as ConnAnalysis).hs;
    if (hs.reported) return;
    hs.reported = true;
    if (this.onHandshake) this.onHandshake(c);
  }
}
