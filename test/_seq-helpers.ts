/**
 * Helpers for comparing tcpkit's per-frame TCP analysis with tshark's
 * (test/oracle.tshark-flags.test.ts, test/analysis.seq-wrap.test.ts).
 */
import { findCapture } from './_fixtures.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import type { ConnAnalysis } from '../src/analysis/conn-analysis.js';
import { FLAG_NAMES } from '../src/analysis/seq-analysis.js';
import type { RecordValues } from '../src/records/schema.js';
import { formatEpoch } from '../src/util/time.js';

const ROOT = new URL('../..', import.meta.url).pathname;
export const FIX = join(ROOT, 'fixtures/pcaps');
export const ORA = join(FIX, 'oracles');

/** Oracle columns in file order (after frame.number and tcp.stream): the `tcp.analysis.<name>` fields scripts/make-oracles.sh asks tshark for. */
export const COLS = [
  'retransmission',
  'fast_retransmission',
  'spurious_retransmission',
  'out_of_order',
  'lost_segment',
  'ack_lost_segment',
  'duplicate_ack_num',
  'zero_window',
  'zero_window_probe',
  'zero_window_probe_ack',
  'window_full',
  'window_update',
  'keep_alive',
  'keep_alive_ack',
  'reused_ports',
  'initial_rtt',
  'ack_rtt',
  'bytes_in_flight',
] as const;

export interface FrameFlags {
  stream: number;
  /** Flag names, sorted, with duplicate_ack as `duplicate_ack#N`. */
  flags: string;
  /** ack_rtt in whole microseconds, or null. */
  ackRttUs: number | null;
  bif: number | null;
}

export function readFlagOracle(path: string): Map<number, FrameFlags> {
  const out = new Map<number, FrameFlags>();
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  lines.shift();
  for (const l of lines) {
    const c = l.split('\t');
    const names: string[] = [];
    for (let i = 0; i < 15; i++) {
      const v = c[2 + i] ?? '';
      if (v === '') continue;
      const n = COLS[i]!;
      names.push(n === 'duplicate_ack_num' ? `duplicate_ack#${v}` : n);
    }
    const rtt = c[2 + 16] ?? '';
    const bif = c[2 + 17] ?? '';
    out.set(Number(c[0]), {
      stream: Number(c[1]),
      flags: names.sort().join(','),
      ackRttUs: rtt === '' ? null : Math.round(Number(rtt) * 1e6),
      bif: bif === '' ? null : Number(bif),
    });
  }
  return out;
}

export function flagString(bits: number, dupNum: number): string {
  const names: string[] = [];
  for (let i = 0; i < FLAG_NAMES.length; i++) {
    if ((bits & (1 << i)) === 0) continue;
    const n = FLAG_NAMES[i]!;
    names.push(n === 'duplicate_ack' ? `duplicate_ack#${dupNum}` : n);
  }
  return names.sort().join(',');
}

export interface OurFrame extends FrameFlags {
  serial: number;
  fromA: boolean;
}

export interface Run {
  frames: Map<number, OurFrame>;
  records: RecordValues[];
  /** conn serial -> record */
  recordOf: Map<number, RecordValues>;
}

/** Runs the pipeline on a capture, collecting each TCP frame's analysis. */
export async function runCapture(path: string): Promise<Run> {
  const frames = new Map<number, OurFrame>();
  const records: RecordValues[] = [];
  const firstTs = new Map<number, string>();
  const segs = new Map<number, number>();
  await analyzeCaptures([{ path }], {
    onRecord: (r) => records.push(r),
    segmentFlags: true,
    onSegment: (c, fromA, _pv, frame, bits) => {
      const sa = (c.aux as ConnAnalysis).seq;
      if (!firstTs.has(c.serial)) firstTs.set(c.serial, formatEpoch(c.firstSec, c.firstNsec));
      segs.set(c.serial, (segs.get(c.serial) ?? 0) + 1);
      frames.set(frame, {
        stream: -1,
        serial: c.serial,
        fromA,
        flags: flagString(bits, sa.dupAckNum),
        ackRttUs: sa.hasAckRtt ? Math.round(sa.ackRttMs * 1e3) : null,
        bif: sa.bytesInFlight >= 0 ? sa.bytesInFlight : null,
      });
    },
  });
  const recordOf = new Map<number, RecordValues>();
  const taken = new Set<RecordValues>();
  for (const [serial, ts] of firstTs) {
    const n = segs.get(serial)!;
    const rec = records.find((r) => !taken.has(r) && r['proto'] === 'tcp' && r['ts'] === ts && Number(r['orig_pkts']) + Number(r['resp_pkts']) === n);
    if (rec) {
      taken.add(rec);
      recordOf.set(serial, rec);
    }
  }
  return { frames, records, recordOf };
}

export function captureOf(name: string): string | null {
  return findCapture(name);
}

export interface Diff {
  frame: number;
  tshark: string;
  tcpkit: string;
}

function describe(x: FrameFlags | undefined): string {
  if (!x) return '(no segment)';
  return `[${x.flags}] rtt=${x.ackRttUs ?? '-'}us bif=${x.bif ?? '-'}`;
}

/** Frame-by-frame comparison; returns the frames compared and the differing ones. */
export function compareFrames(want: Map<number, FrameFlags>, got: Map<number, OurFrame>): { compared: number; diffs: Diff[] } {
  const diffs: Diff[] = [];
  let compared = 0;
  for (const [frame, w] of want) {
    const g = got.get(frame);
    if (!g) {
      // an ICMP error quoting TCP: no analysis on either side
      if (w.flags !== '' || w.ackRttUs !== null || w.bif !== null) diffs.push({ frame, tshark: describe(w), tcpkit: describe(g) });
      continue;
    }
    compared++;
    if (g.flags !== w.flags || (w.ackRttUs !== null && g.ackRttUs !== w.ackRttUs) || (w.ackRttUs === null && g.ackRttUs !== null) || g.bif !== w.bif) {
      diffs.push({ frame, tshark: describe(w), tcpkit: describe(g) });
    }
  }
  for (const frame of got.keys()) if (!want.has(frame)) diffs.push({ frame, tshark: '(no tcp row)', tcpkit: describe(got.get(frame)) });
  return { compared, diffs };
}

