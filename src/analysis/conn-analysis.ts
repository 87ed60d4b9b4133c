/**
 * Everything the analysis layer keeps per flow, attached to the flow object
 * (Conn.aux) and reset with it: the handshake verdict from the first packet
 * on, and the heavy part (tshark sequence analysis, Zeek state and history,
 * about 3 KB with its first unacked-segment ring) once the flow has carried
 * payload or been answered. Until then the flow is embryonic: its events are
 * kept in a small log, and replayed into a heavy part taken from the
 * analyzer's pool when the flow graduates, ends, or needs a record (see
 * ConnAnalyzer). A SYN flood's flows therefore cost a handshake and a log of
 * a few numbers each, as SYN cookies keep a kernel's embryonic state small.
 */
import type { ConnAux } from '../tcp/conn.js';
import type { BudgetAccount } from '../util/memory-budget.js';
import { SeqAnalysis } from './seq-analysis.js';
import { ZeekState } from './zeek-state.js';
import { Handshake } from './handshake.js';

/** tshark's sequence analysis and Zeek's state of one flow. */
export class HeavyAnalysis {
  readonly seq: SeqAnalysis;
  readonly zeek = new ZeekState();

  constructor(account: BudgetAccount | null = null) {
    this.seq = new SeqAnalysis(account);
  }

  reset(): void {
    this.seq.reset();
    this.zeek.reset();
  }
}

export class ConnAnalysis implements ConnAux {
  readonly hs = new Handshake();
  reusedPorts = 0;
  /** The heavy part: null while the flow is embryonic and not being read. */
  heavy: HeavyAnalysis | null = null;
  /** Events of the embryonic flow (see ConnAnalyzer), `logLen` numbers of them. */
  log: number[] = [];
  logLen = 0;

  /** tshark's sequence analysis (present after ConnAnalyzer.ended, materialize or graduate). */
  get seq(): SeqAnalysis {
    return this.heavy!.seq;
  }

  /** Zeek's state and history (present when `seq` is). */
  get zeek(): ZeekState {
    return this.heavy!.zeek;
  }

  reset(): void {
    this.hs.reset();
    this.reusedPorts = 0;
    this.heavy = null;
    this.logLen = 0;
  }
}
