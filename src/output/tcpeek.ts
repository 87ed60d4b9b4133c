/**
 * tcpeek's outputs (pandax381/tcpeek README): the per-handshake line
 * (TIME(s), TIMESTAMP, SRC IP:PORT, DST IP:PORT, RESULTS, DUP SYN, DUP S/A)
 * and the per-filter summary, as text and as the JSON its stats socket
 * answers (`[{"<filter>":{"success":{...},"failure":{...}}}, ...]`).
 * Timestamps are printed in UTC (tcpeek uses local time) so output does not
 * depend on the machine.
 */
import type { Conn } from '../tcp/conn.js';
import { formatAddr } from '../util/ip.js';
import type { Handshake } from '../analysis/handshake.js';
import { Verdict } from '../analysis/handshake.js';

export const HANDSHAKE_HEADER =
  ' TIME(s) |       TIMESTAMP       |      SRC IP:PORT            DST IP:PORT     |      RESULTS      | DUP SYN  DUP S/A\n' +
  '----------------------------------------------------------------------------------------------------------------------\n';

function endpoint(c: Conn, orig: boolean): string {
  const a = orig === c.origIsA;
  return a ? `${formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3)}:${c.aPort}` : `${formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3)}:${c.bPort}`;
}

function stamp(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const ms = String(Math.floor(nsec / 1e6)).padStart(3, '0');
  return `${p2(d.getUTCFullYear() % 100)}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${ms}`;
}

export function resultText(v: number): string {
  switch (v) {
    case Verdict.SUCCESS: return 'success';
    case Verdict.REJECT: return 'failure (reject)';
    case Verdict.TIMEOUT: return 'failure (timeout)';
    case Verdict.UNREACH: return 'failure (unreach)';
    case Verdict.ABORT: return 'failure (abort)';
    default: return '';
  }
}

/** One tcpeek line for a decided handshake. */
export function handshakeLine(c: Conn, hs: Handshake): string {
  const secs = ((hs.decidedSec - hs.synSec) * 1e9 + (hs.decidedNsec - hs.synNsec)) / 1e9;
  const src = endpoint(c, true).padStart(21);
  const dst = endpoint(c, false).padEnd(17);
  const res = resultText(hs.verdict);
  const padded = res.length >= 17 ? res : ' '.repeat(Math.floor((17 - res.length) / 2)) + res + ' '.repeat(Math.ceil((17 - res.length) / 2));
  return `${secs.toFixed(3).padStart(8)} | ${stamp(hs.synSec, hs.synNsec)} | ${src}   ${dst} | ${padded} | ${String(hs.dupSyn).padStart(7)}  ${String(hs.dupSynAck).padStart(7)}\n`;
}

export interface FilterCounts {
  success: { total: number; dupsyn: number; dupsynack: number };
  /** `abort` is a tcpkit extension (the SYN sender reset before completing the handshake). */
  failure: { total: number; timeout: number; reject: number; unreach: number; abort: number };
}

export function emptyCounts(): FilterCounts {
  return { success: { total: 0, dupsyn: 0, dupsynack: 0 }, failure: { total: 0, timeout: 0, reject: 0, unreach: 0, abort: 0 } };
}

/** Adds one decided handshake to a filter's counts (sessions, as tcpeek counts them). */
export function countHandshake(f: FilterCounts, hs: Handshake): void {
  if (hs.verdict === Verdict.SUCCESS) {
    f.success.total++;
    if (hs.dupSyn > 0) f.success.dupsyn++;
    if (hs.dupSynAck > 0) f.success.dupsynack++;
  } else if (hs.verdict >= Verdict.REJECT) {
    f.failure.total++;
    if (hs.verdict === Verdict.TIMEOUT) f.failure.timeout++;
    else if (hs.verdict === Verdict.REJECT) f.failure.reject++;
    else if (hs.verdict === Verdict.UNREACH) f.failure.unreach++;
    else f.failure.abort++;
  }
}

/** tcpeek's stats-socket JSON: one object per filter, in filter order. */
export function summaryJson(filters: [string, FilterCounts][]): string {
  return JSON.stringify(filters.map(([name, counts]) => ({ [name]: counts })));
}

/** tcpeek's Ctrl-C summary text. */
export function summaryText(filters: [string, FilterCounts][], from: string, to: string, seconds: number): string {
  const n = (v: number): string => String(v).padStart(6);
  let out = '========== TCPEEK SUMMARY ==========\n';
  out += `     from : ${from}\n       to : ${to}\n     time : ${seconds.toFixed(3).padStart(13)} (sec)\n`;
  for (const [name, f] of filters) {
    out += '------------------------------------\n';
    out += ` ${name}\n   Success: ${f.success.total} session\n     SYN Segment Duplicate : ${n(f.success.dupsyn)}\n     S/A Segment Duplicate : ${n(f.success.dupsynack)}\n`;
    out += `   Failure: ${f.failure.total} session\n     Connection Timed Out  : ${n(f.failure.timeout)}\n     Connection Rejected   : ${n(f.failure.reject)}\n     ICMP Unreachable      : ${n(f.failure.unreach)}\n`;
    // tcpkit's extension, shown only when it happened (the text stays tcpeek's otherwise)
    if (f.failure.abort > 0) out += `     Aborted by client     : ${n(f.failure.abort)}\n`;
  }
  return out + '====================================\n';
}
