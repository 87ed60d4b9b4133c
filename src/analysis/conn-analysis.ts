/**
 * Everything the analysis layer keeps per flow, attached to the flow object
 * (Conn.aux) and reset with it: tshark sequence analysis, Zeek state and
 * history, the handshake verdict.
 */
import type { ConnAux } from '../tcp/conn.js';
import { SeqAnalysis } from './seq-analysis.js';
import { ZeekState } from './zeek-state.js';
import { Handshake } from './handshake.js';

export class ConnAnalysis implements ConnAux {
  readonly seq = new SeqAnalysis();
  readonly zeek = new ZeekState();
  readonly hs = new Handshake();
  /** Last capture-time ms the handshake timeout was checked. */
  reusedPorts = 0;

  reset(): void {
    this.seq.reset();
    this.zeek.reset();
    this.hs.reset();
    this.reusedPorts = 0;
  }
}
