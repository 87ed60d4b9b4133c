/**
 * The --flags view: one line per TCP segment that carries any analysis flag,
 * for the cases people debug by hand: frame number, time, the segment's
 * direction, its payload length and its tshark analysis classes.
 */
import type { PacketView } from '../capture/packet.js';
import type { Conn } from '../tcp/conn.js';
import { formatAddr } from '../util/ip.js';
import { formatEpoch } from '../util/time.js';
import { FLAG_NAMES } from '../analysis/seq-analysis.js';

export const FLAGS_HEADER = '# frame\ttime\tsource\tdestination\tlen\tclasses\n';

export function flagNames(bits: number, dupAckNum: number): string {
  const out: string[] = [];
  for (let i = 0; i < FLAG_NAMES.length; i++) {
    if (bits & (1 << i)) out.push(FLAG_NAMES[i] === 'duplicate_ack' && dupAckNum > 0 ? `duplicate_ack#${dupAckNum}` : FLAG_NAMES[i]!);
  }
  return out.join(',');
}

export function flagsLine(c: Conn, fromA: boolean, pv: PacketView, frame: number, bits: number, payloadLen: number, dupAckNum: number): string {
  const a = `${formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3)}:${c.aPort}`;
  const b = `${formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3)}:${c.bPort}`;
  const [src, dst] = fromA ? [a, b] : [b, a];
  return `${frame}\t${formatEpoch(pv.sec, pv.nsec)}\t${src}\t${dst}\t${payloadLen}\t${flagNames(bits, dupAckNum)}\n`;
}
