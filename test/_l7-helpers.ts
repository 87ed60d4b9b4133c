/**
 * Helpers for the application-decoder tests:
 * - decodeCapture: the real pipeline (tracker, reassembly, AppLayer) on a
 *   capture, returning the transaction and conn records;
 * - recordStreams: the same run, but each decoder is wrapped so that every
 *   call it receives (bytes copied, gaps, ends) is kept as a script;
 * - replay: feeds a script to a fresh decoder, re-cutting each data call
 *   where `cuts` says, and returns what the decoder wrote; the re-split
 *   tests require the same records however the bytes are cut.
 * - parseZeekLog / readTsharkTsv: the stored oracle outputs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import { AppLayer, type AppLayerStats } from '../src/analysis/app-layer.js';
import { DEFAULT_DECODER_LIMITS, type AppContext, type DecoderLimits, type ProtocolDef, type Side, type StreamDecoder, type DatagramDecoder } from '../src/protocols/decoder.js';
import type { RecordSchema, RecordValues } from '../src/records/schema.js';
import { FIX } from './_fixtures.js';

export const L7 = join(FIX, 'l7');

export interface Decoded {
  /** Transaction records with their kind in `record`. */
  transactions: RecordValues[];
  conns: RecordValues[];
  stats: AppLayerStats;
}

export async function decodeCapture(path: string, protocols: readonly ProtocolDef[], ports?: Map<string, number[]>): Promise<Decoded> {
  const transactions: RecordValues[] = [];
  const conns: RecordValues[] = [];
  const app = new AppLayer({
    protocols,
    ...(ports ? { ports } : {}),
    onTransaction: (s, r) => transactions.push({ record: s.kind, ...r }),
  });
  await analyzeCaptures([{ path }], { app, onRecord: (r) => conns.push(r) });
  return { transactions, conns, stats: app.stats };
}

/** One call a decoder received. */
export type Call =
  | { op: 'data'; side: Side; bytes: Uint8Array; sec: number; nsec: number }
  | { op: 'gap'; side: Side; len: number; sec: number; nsec: number }
  | { op: 'end'; side: Side; sec: number; nsec: number }
  | { op: 'finish'; sec: number; nsec: number }
  | { op: 'datagram'; side: Side; bytes: Uint8Array; sec: number; nsec: number };

export interface Script {
  calls: Call[];
  /** What the decoder wrote during the recorded run (identity fields removed). */
  records: RecordValues[];
}

const IDENTITY = ['uid', 'community_id', 'orig_h', 'orig_p', 'resp_h', 'resp_p'];

function strip(r: RecordValues): RecordValues {
  const o = { ...r };
  for (const k of IDENTITY) delete o[k];
  return o;
}

/** A context that only collects records. */
function collector(out: RecordValues[]): AppContext {
  return {
    emit: (s: RecordSchema, r: RecordValues, failed: boolean) => void out.push({ record: s.kind, ...strip(r), failed }),
    confirm: () => {},
    weird: () => {},
    stop: () => {},
  };
}

/** Runs the pipeline on `path` with `def` wrapped so each decoder's calls are recorded. */
export async function recordStreams(path: string, def: ProtocolDef, limits: Partial<DecoderLimits> = {}, ports?: Map<string, number[]>): Promise<Script[]> {
  const scripts: Script[] = [];
  const wrap: ProtocolDef = {
    ...def,
    ...(def.stream
      ? {
          stream: (ctx: AppContext, lim: DecoderLimits): StreamDecoder => {
            const s: Script = { calls: [], records: [] };
            scripts.push(s);
            const inner = def.stream!({ ...ctx, emit: (sc, r, f) => { s.records.push({ record: sc.kind, ...strip(r), failed: f }); ctx.emit(sc, r, f); }, confirm: () => ctx.confirm(), weird: (n) => ctx.weird(n), stop: (why) => ctx.stop(why) }, lim);
            return {
              data: (side, buf, off, len, sec, nsec) => {
                s.calls.push({ op: 'data', side, bytes: Uint8Array.prototype.slice.call(buf, off, off + len), sec, nsec });
                inner.data(side, buf, off, len, sec, nsec);
              },
              gap: (side, len, sec, nsec) => {
                s.calls.push({ op: 'gap', side, len, sec, nsec });
                inner.gap(side, len, sec, nsec);
              },
              end: (side, sec, nsec) => {
                s.calls.push({ op: 'end', side, sec, nsec });
                inner.end(side, sec, nsec);
              },
              finish: (sec, nsec) => {
                s.calls.push({ op: 'finish', sec, nsec });
                inner.finish(sec, nsec);
              },
            };
          },
        }
      : {}),
    ...(def.datagram
      ? {
          datagram: (ctx: AppContext, lim: DecoderLimits): DatagramDecoder => {
            const s: Script = { calls: [], records: [] };
            scripts.push(s);
            const inner = def.datagram!({ ...ctx, emit: (sc, r, f) => { s.records.push({ record: sc.kind, ...strip(r), failed: f }); ctx.emit(sc, r, f); }, confirm: () => ctx.confirm(), weird: (n) => ctx.weird(n), stop: (why) => ctx.stop(why) }, lim);
            return {
              datagram: (side, buf, off, len, sec, nsec) => {
                s.calls.push({ op: 'datagram', side, bytes: Uint8Array.prototype.slice.call(buf, off, off + len), sec, nsec });
                inner.datagram(side, buf, off, len, sec, nsec);
              },
              finish: (sec, nsec) => {
                s.calls.push({ op: 'finish', sec, nsec });
                inner.finish(sec, nsec);
              },
            };
          },
        }
      : {}),
  };
  await analyzeCaptures([{ path }], { app: new AppLayer({ protocols: [wrap], limits, ...(ports ? { ports } : {}), onTransaction: () => {} }) });
  return scripts;
}

/**
 * Replays a stream script into a fresh decoder. `cuts(n, callIndex)` gives
 * the offsets (ascending, inside 1..n-1) at which a data call of n bytes is
 * cut into pieces, each passed with the call's time.
 */
export function replay(def: ProtocolDef, s: Script, cuts: (n: number, i: number) => number[], limits: Partial<DecoderLimits> = {}): RecordValues[] {
  const out: RecordValues[] = [];
  const lim = { ...DEFAULT_DECODER_LIMITS, ...limits };
  const ctx = collector(out);
  if (s.calls.some((c) => c.op === 'datagram')) {
    const d = def.datagram!(ctx, lim);
    for (const c of s.calls) {
      if (c.op === 'datagram') d.datagram(c.side, c.bytes, 0, c.bytes.length, c.sec, c.nsec);
      else if (c.op === 'finish') d.finish(c.sec, c.nsec);
    }
    return out;
  }
  const d = def.stream!(ctx, lim);
  s.calls.forEach((c, i) => {
    switch (c.op) {
      case 'data': {
        // pieces in a fresh buffer each, so a decoder that kept a view past its call would be caught
        let prev = 0;
        for (const at of [...cuts(c.bytes.length, i), c.bytes.length]) {
          if (at <= prev) continue;
          const piece = Uint8Array.prototype.slice.call(c.bytes, prev, at);
          d.data(c.side, piece, 0, piece.length, c.sec, c.nsec);
          piece.fill(0xee);
          prev = at;
        }
        break;
      }
      case 'gap':
        d.gap(c.side, c.len, c.sec, c.nsec);
        break;
      case 'end':
        d.end(c.side, c.sec, c.nsec);
        break;
      case 'finish':
        d.finish(c.sec, c.nsec);
        break;
      default:
        break;
    }
  });
  return out;
}

/** Cuts at every byte: each data call is fed one byte at a time. */
export const everyByte = (n: number): number[] => Array.from({ length: Math.max(0, n - 1) }, (_, k) => k + 1);
/** No cuts: the calls as recorded. */
export const noCuts = (): number[] => [];

/** A seeded generator (mulberry32), so random cuts are the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `k` random cut points per data call, from a seeded generator. */
export function randomCuts(seed: number, k: number): (n: number) => number[] {
  const rnd = seeded(seed);
  return (n) => {
    if (n < 2) return [];
    const set = new Set<number>();
    for (let i = 0; i < k; i++) set.add(1 + Math.floor(rnd() * (n - 1)));
    return [...set].sort((a, b) => a - b);
  };
}

/** Bytes the script's data calls carry. */
export function totalBytes(s: Script): number {
  let n = 0;
  for (const c of s.calls) if (c.op === 'data' || c.op === 'datagram') n += c.bytes.length;
  return n;
}

/** A Zeek ASCII log: the rows as objects keyed by the #fields names ('-' unset becomes null, '(empty)' becomes ''). */
export function parseZeekLog(path: string): Record<string, string | null>[] {
  const text = readFileSync(path, 'utf8');
  let rows = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  let fields = text.split('\n').find((l) => l.startsWith('#fields'))?.split('\t').slice(1);
  if (fields === undefined) {
    // zeek-cut output: the first line names the columns
    fields = rows[0]!.split('\t');
    rows = rows.slice(1);
  }
  return rows.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i]!, v === '-' ? null : v === '(empty)' ? '' : v])));
}

/** A stored tshark -T fields dump (header row, tab-separated). */
export function readTsharkTsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const head = lines[0]!.split('\t');
  return lines.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [head[i]!, v])));
}
