/**
 * Deterministic fuzzing of the capture pipeline (readers, decoders, flow
 * table, record builder). Real captures — pcap LE/BE, microsecond and
 * nanosecond, pcapng with several sections, both byte orders and several
 * interfaces — are mutated with a seeded PRNG (mulberry32): flipped bytes,
 * length fields overwritten with random or huge values, truncation, duplicated
 * or deleted byte ranges, splices from another capture, gzip/zstd wrapping.
 *
 * Each case runs analyzeCaptures in-process, in a worker thread so that a
 * synchronous endless loop is caught too: the main thread terminates the
 * worker when a case takes longer than CASE_LIMIT_MS and goes on with the
 * next case. Properties checked for every case:
 *  - nothing but a ToolError is ever thrown (a ToolError may come from
 *    opening a capture with a bad header); data errors after that come back
 *    in result.errors, and they are ToolErrors too, with one-line messages;
 *  - the case finishes within CASE_LIMIT_MS;
 *  - every record has exactly the schema's keys (no field missing, none the
 *    schema does not declare), and its NDJSON line is valid JSON.
 * A failing case's input is kept under $TMPDIR/tcpkit-fuzz-failures/.
 * TCPKIT_FUZZ_SEED and TCPKIT_FUZZ_CASES override the seed and the number of
 * cases for longer exploratory runs.
 *
 * Also here: targeted generators (connections with random 32-bit pcap and
 * 64-bit pcapng timestamps, jumping forward and back), minimal regression
 * inputs for bugs the fuzzing found, and a few CLI runs on mutated files
 * (exit 0 or 1, one-line messages, never a stack trace).
 *
 * This file is also the worker's entry point (the `isMainThread` switch).
 */
import nodeAssert from 'node:assert/strict';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { compress as zstdCompress } from './_zstd.js';
import { fixture, makeTempDir, mulberry32, pcapngBlocks, pcapngEpb, pcapngIdb, pcapngShb, readPcap, runTcpanalyze, writePcap } from './_capture-helpers.js';
import type { FileReads } from '../src/io/input.js';

const SEED = Number(process.env['TCPKIT_FUZZ_SEED'] ?? 0x7c9a11e5);
const CASES = Number(process.env['TCPKIT_FUZZ_CASES'] ?? 4000);
const CASE_LIMIT_MS = 2000;
/** A worker silent this long outside a case (start-up included) fails the run. */
const IDLE_LIMIT_MS = 20_000;
const CLI_CASES = 8;
const MAX_SIZE = 256 * 1024;

// ---------------------------------------------------------------------------
// seeds and mutations (pure functions of the case number: both threads agree)

interface LengthField {
  at: number;
  le: boolean;
}

interface SeedFile {
  name: string;
  bytes: Buffer;
  /** u32 length fields (record incl/orig lengths, block lengths, caplen). */
  lengths: LengthField[];
  /** Offsets where packet data starts (link/IP/TCP headers to damage). */
  packets: number[];
}

const SEED_NAMES = [
  'zeek__http-get.pcap', // pcap LE µs, Ethernet
  'zeek__smb-dssetup-be.cap', // pcap BE µs
  'tcpdump__tcp-handshake-nano.pcap', // pcap LE ns, Linux SLL
  'zeek__linux_dlt_sll2.pcap',
  'zeek__http-qinq-0.pcap', // VLAN-in-VLAN
  'zeek__ipv6-fragmented-dns.pcap',
  'zeek__ipv4-fragmented-4.pcap',
  'deepflow__ip-fragment.pcap',
  'tcpdump__tfo-5c1fa7f9ae91.pcap',
  'zeek__tcp-option-sack.pcap',
  'zeek__tcp-window-scale-range.pcap',
  'ndpi__6in4tunnel.pcap',
  'recorded/refused-timeout-unreach.pcap', // ICMP errors quoting TCP
  'pcapngtg__le-test202.pcapng', // three sections, LE and BE, SPB, custom blocks
  'gopacket__pcapng-test901.pcapng', // three sections
  'pcapngtg__be-test008.pcapng', // BE, two interfaces
  'pcapngtg__le-test102.pcapng',
  'zeek__pcapng-multi-interface.pcapng',
  'zeek__tcp-retransmit-timeout.pcapng',
];

function describeStructure(name: string, bytes: Buffer): SeedFile {
  const lengths: LengthField[] = [];
  const packets: number[] = [];
  if (bytes.readUInt32LE(0) === 0x0a0d0d0a) {
    for (const b of pcapngBlocks(bytes)) {
      lengths.push({ at: b.offset + 4, le: b.le }, { at: b.offset + b.length - 4, le: b.le });
      if (b.type === 6 || b.type === 2) {
        lengths.push({ at: b.offset + 20, le: b.le }, { at: b.offset + 24, le: b.le });
        packets.push(b.offset + 28);
      } else if (b.type === 3) {
        lengths.push({ at: b.offset + 8, le: b.le });
        packets.push(b.offset + 12);
      }
    }
  } else {
    const p = readPcap(bytes);
    lengths.push({ at: 16, le: p.header.le }); // snaplen
    for (const r of p.records) {
      lengths.push({ at: r.offset + 8, le: p.header.le }, { at: r.offset + 12, le: p.header.le });
      packets.push(r.offset + 16);
    }
  }
  return { name, bytes, lengths, packets };
}

let seedCache: SeedFile[] | null = null;
function seeds(): SeedFile[] {
  if (seedCache) return seedCache;
  const out = SEED_NAMES.map((n) => describeStructure(n, readFileSync(fixture(n))));
  // a big-endian nanosecond pcap (no fixture has one): http-get rewritten
  const hg = readPcap(readFileSync(fixture('zeek__http-get.pcap')));
  const recs = hg.records.map((r, i) => ({ ...r, ts: r.ts + BigInt(i * 7) })); // sub-µs digits
  out.push(describeStructure('synthetic: http-get as BE nanosecond pcap', writePcap(recs, { ...hg.header, le: false, nanos: true })));
  seedCache = out;
  return out;
}

type Rng = () => number;
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, a: readonly T[]): T => a[int(rng, a.length)]!;

function writeU32(b: Buffer, at: number, v: number, le: boolean): void {
  if (at < 0 || at + 4 > b.length) return;
  if (le) b.writeUInt32LE(v >>> 0, at);
  else b.writeUInt32BE(v >>> 0, at);
}

function lengthValue(rng: Rng, old: number): number {
  const choices = [
    0, 1, 3, 11, 12, 13, 15, 16, 17, 28, 31, 32, 0x7fffffff, 0xffffffff, 0x80000000, 0xfffffffc,
    16 * 1024 * 1024, 16 * 1024 * 1024 + 4, 16 * 1024 * 1024 - 4, 262144, 262145, 65535,
    old + 1, old - 1, old + 4, old - 4, old * 2, old >>> 1,
  ];
  const r = rng();
  if (r < 0.7) return pick(rng, choices) >>> 0;
  if (r < 0.85) return int(rng, 65536);
  return Math.floor(rng() * 4294967296);
}

interface Mutated {
  bytes: Buffer;
  desc: string[];
}

function mutate(rng: Rng, seed: SeedFile, all: SeedFile[]): Mutated {
  let b: Buffer = Buffer.from(seed.bytes);
  const desc: string[] = [];
  const n = 1 + int(rng, 3);
  for (let m = 0; m < n; m++) {
    if (b.length === 0) break;
    const kind = int(rng, 13);
    switch (kind) {
      case 0:
      case 1: {
        const k = 1 + int(rng, 8);
        const at: number[] = [];
        for (let i = 0; i < k; i++) {
          const p = int(rng, b.length);
          b[p] = b[p]! ^ (1 + int(rng, 255));
          at.push(p);
        }
        desc.push(`flip bytes at ${at.join(',')}`);
        break;
      }
      case 2:
      case 10:
      case 11:
      case 12: {
        // damage link/IP/TCP headers inside packets, leaving the framing alone
        if (seed.packets.length === 0) break;
        const k = 1 + int(rng, 4);
        const at: string[] = [];
        for (let i = 0; i < k; i++) {
          const p = pick(rng, seed.packets) + int(rng, 80);
          if (p >= b.length) continue;
          const v = rng() < 0.5 ? b[p]! ^ (1 + int(rng, 255)) : pick(rng, [0, 0xff, 0x7f, 0x80, 0x01, 0x40, 0x45, 0x60, 0x06, 0x11, 0x2c, 0x3a, 0x29, 0x04]);
          b[p] = v;
          at.push(`${p}=${v.toString(16)}`);
        }
        desc.push(`packet header bytes ${at.join(',')}`);
        break;
      }
      case 3:
      case 4: {
        if (seed.lengths.length === 0) break;
        const f = pick(rng, seed.lengths);
        if (f.at + 4 > b.length) break;
        const old = f.le ? b.readUInt32LE(f.at) : b.readUInt32BE(f.at);
        const v = lengthValue(rng, old);
        writeU32(b, f.at, v, f.le);
        desc.push(`length field at ${f.at} ${old} -> ${v >>> 0}`);
        break;
      }
      case 5: {
        const at = int(rng, Math.max(1, b.length - 3)) & ~3;
        const v = pick(rng, [0x7fffffff, 0xffffffff, 0x80000000, Math.floor(rng() * 4294967296)]);
        const le = rng() < 0.5;
        writeU32(b, at, v, le);
        desc.push(`u32 at ${at} = 0x${(v >>> 0).toString(16)} ${le ? 'LE' : 'BE'}`);
        break;
      }
      case 6: {
        const cut = int(rng, b.length);
        b = b.subarray(0, cut);
        desc.push(`truncate to ${cut}`);
        break;
      }
      case 7: {
        const a = int(rng, b.length);
        const len = 1 + int(rng, Math.min(512, b.length - a));
        const to = int(rng, b.length + 1);
        b = Buffer.concat([b.subarray(0, to), b.subarray(a, a + len), b.subarray(to)]);
        desc.push(`duplicate ${a}+${len} at ${to}`);
        break;
      }
      case 8: {
        const a = int(rng, b.length);
        const len = 1 + int(rng, Math.min(512, b.length - a));
        b = Buffer.concat([b.subarray(0, a), b.subarray(a + len)]);
        desc.push(`delete ${a}+${len}`);
        break;
      }
      case 9: {
        const other = pick(rng, all);
        const a = int(rng, other.bytes.length);
        const len = 1 + int(rng, Math.min(256, other.bytes.length - a));
        const to = int(rng, b.length + 1);
        b = Buffer.concat([b.subarray(0, to), other.bytes.subarray(a, a + len), b.subarray(to)]);
        desc.push(`splice ${other.name} ${a}+${len} at ${to}`);
        break;
      }
    }
  }
  if (b.length > MAX_SIZE) b = b.subarray(0, MAX_SIZE);
  // sometimes compress, and sometimes damage the compressed stream too
  const c = rng();
  if (c < 0.12) {
    const gz = c < 0.06;
    let z: Buffer = gz ? zlib.gzipSync(b) : zstdCompress(b);
    const d = rng();
    if (d < 0.4) {
      const cut = int(rng, z.length);
      z = z.subarray(0, cut);
      desc.push(`${gz ? 'gzip' : 'zstd'}, cut to ${cut}`);
    } else if (d < 0.7 && z.length > 0) {
      z = Buffer.from(z);
      const p = int(rng, z.length);
      z[p] = z[p]! ^ (1 + int(rng, 255));
      desc.push(`${gz ? 'gzip' : 'zstd'}, flip byte ${p}`);
    } else desc.push(gz ? 'gzip' : 'zstd');
    b = z;
  }
  return { bytes: b, desc };
}

interface FuzzCase {
  index: number;
  files: Mutated[];
  names: string[];
  windowSize: number | undefined;
  idleTimeoutMs: number | undefined;
  /** How plain files are read (both ways reach the same window code through different sources). */
  fileReads: FileReads;
}

/** Case `index` of the run seeded with `seed`: always the same bytes. */
function makeCase(seed: number, index: number): FuzzCase {
  const rng = mulberry32((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const all = seeds();
  const nFiles = rng() < 0.15 ? 2 : 1;
  const files: Mutated[] = [];
  const names: string[] = [];
  for (let i = 0; i < nFiles; i++) {
    const s = pick(rng, all);
    names.push(s.name);
    files.push(mutate(rng, s, all));
  }
  const windowSize = pick(rng, [undefined, undefined, 64, 1000, 65536]);
  const idleTimeoutMs = pick(rng, [undefined, undefined, undefined, 0, 1, 1000]);
  const fileReads = pick<FileReads>(rng, ['ahead', 'on-demand']);
  return { index, files, names, windowSize, idleTimeoutMs, fileReads };
}

function caseLabel(c: FuzzCase): string {
  return `case ${c.index}: ${c.files.map((f, i) => `${c.names[i]} [${f.desc.join('; ') || 'unchanged'}]`).join(' + ')}` +
    `${c.windowSize ? `, window ${c.windowSize}` : ''}${c.idleTimeoutMs !== undefined ? `, idle ${c.idleTimeoutMs} ms` : ''}, reads ${c.fileReads}`;
}

// ---------------------------------------------------------------------------
// worker side

type Job =
  | { mode: 'fuzz'; seed: number; start: number; end: number; dir: string }
  | { mode: 'bytes'; first: number; cases: BytesCase[]; dir: string };

interface BytesCase {
  label: string;
  files: Uint8Array[];
  windowSize?: number;
  fileReads?: FileReads;
  idleTimeoutMs?: number;
}

type Msg =
  | { type: 'start'; index: number; label: string; paths: string[] }
  | { type: 'done'; index: number; ms: number; failure: string | null; outcome: string; records: number }
  | { type: 'end' };

async function workerMain(job: Job): Promise<void> {
  const { analyzeCaptures } = await import('../src/analysis/pipeline.js');
  const { ToolError } = await import('../src/util/errors.js');
  const { CONN_SCHEMA, toJsonLine } = await import('../src/records/index.js');
  const fieldNames = CONN_SCHEMA.fields.map((f) => f.name);
  const fieldSet = new Set(fieldNames);
  const post = (m: Msg): void => parentPort!.postMessage(m);

  const describeThrown = (e: unknown): string => {
    if (e instanceof Error) return `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
    return `non-Error thrown: ${String(e)}`;
  };
  const checkToolError = (e: unknown, where: string): string | null => {
    if (!(e instanceof ToolError)) return `${where} something other than a ToolError: ${describeThrown(e)}`;
    if (!/^[A-Z][A-Z0-9_]+$/.test(e.code)) return `${where} a ToolError with a bad code ${JSON.stringify(e.code)}`;
    if (/[\r\n]/.test(e.describe())) return `${where} a ToolError whose message is not one line: ${JSON.stringify(e.describe())}`;
    return null;
  };

  const runOne = async (index: number, label: string, files: Uint8Array[], windowSize: number | undefined, idleTimeoutMs: number | undefined, fileReads: FileReads | undefined): Promise<void> => {
    const paths = files.map((f, i) => {
      const p = join(job.dir, `case-${index}-${i}.bin`);
      writeFileSync(p, f);
      return p;
    });
    post({ type: 'start', index, label, paths });
    let failure: string | null = null;
    let outcome = 'ok';
    let records = 0;
    const t0 = performance.now();
    try {
      const res = await analyzeCaptures(
        paths.map((path) => ({ path, ...(windowSize ? { windowSize } : {}), ...(fileReads ? { fileReads } : {}) })),
        {
          ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
          onRecord: (r) => {
            records++;
            if (failure) return;
            const k = Object.keys(r);
            const missing = fieldNames.filter((f) => !(f in r));
            const extra = k.filter((f) => !fieldSet.has(f));
            if (missing.length > 0 || extra.length > 0) failure = `record keys differ from the schema: missing ${JSON.stringify(missing)}, not in the schema ${JSON.stringify(extra)}`;
            else {
              const line = toJsonLine(CONN_SCHEMA, r);
              try {
                JSON.parse(line);
              } catch {
                failure = `record is not valid JSON: ${line}`;
              }
            }
          },
        },
      );
      for (const e of res.errors) {
        failure ??= checkToolError(e, 'result.errors holds');
        outcome = (e as { code?: string }).code ?? 'non-ToolError';
      }
    } catch (e) {
      failure ??= checkToolError(e, 'analyzeCaptures threw');
      outcome = `thrown ${(e as { code?: string }).code ?? 'non-ToolError'}`;
    }
    const ms = performance.now() - t0;
    if (!failure && ms > CASE_LIMIT_MS) failure = `took ${ms.toFixed(0)} ms (limit ${CASE_LIMIT_MS} ms)`;
    post({ type: 'done', index, ms, failure, outcome, records });
  };

  if (job.mode === 'fuzz') {
    for (let i = job.start; i < job.end; i++) {
      const c = makeCase(job.seed, i);
      await runOne(i, caseLabel(c), c.files.map((f) => f.bytes), c.windowSize, c.idleTimeoutMs, c.fileReads);
    }
  } else {
    for (let i = 0; i < job.cases.length; i++) {
      const c = job.cases[i]!;
      await runOne(job.first + i, c.label, c.files, c.windowSize, c.idleTimeoutMs, c.fileReads);
    }
  }
  post({ type: 'end' });
}

// ---------------------------------------------------------------------------
// main side

interface CaseResult {
  index: number;
  label: string;
  ms: number;
  outcome: string;
  records: number;
  failure: string | null;
}

interface RunSummary {
  results: CaseResult[];
  failures: CaseResult[];
  wallMs: number;
}

const FAILURE_DIR = join(tmpdir(), 'tcpkit-fuzz-failures');

/** Copies a failing case's input files where they survive the test; returns a note naming them. */
function keepFailingInput(index: number, paths: string[], keep = true): string {
  if (!keep) return '';
  mkdirSync(FAILURE_DIR, { recursive: true });
  const kept = paths.map((p, i) => {
    const dst = join(FAILURE_DIR, `seed-${SEED.toString(16)}-case-${index}-${i}.bin`);
    try {
      copyFileSync(p, dst);
    } catch {
      /* the worker may not have written it yet */
    }
    return dst;
  });
  return `\n  input kept as ${kept.join(', ')}`;
}

/**
 * Runs jobs in a worker; a case that does not finish within the limit is a
 * hang: the worker is terminated and a new one continues after that case.
 */
async function runInWorkers(makeJob: (from: number) => Job | null, total: number, keepInputs = true): Promise<RunSummary> {
  const results: CaseResult[] = [];
  const t0 = performance.now();
  let next = 0;
  while (next < total) {
    const job = makeJob(next);
    if (job === null) break;
    const outcome = await new Promise<{ resumeAt: number }>((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: job });
      let current: { index: number; label: string; paths: string[] } | null = null;
      let timer: NodeJS.Timeout | null = null;
      let settled = false;
      const settle = (resumeAt: number): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        resolve({ resumeAt });
      };
      const arm = (ms: number, onFire: () => void): void => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(onFire, ms);
      };
      // Between cases (and while the worker starts) a silent worker is stuck too.
      const armIdle = (): void =>
        arm(IDLE_LIMIT_MS, () => {
          void w.terminate();
          if (!settled) {
            settled = true;
            reject(new Error(`fuzz worker sent nothing for ${IDLE_LIMIT_MS} ms outside a case (last finished case: ${results.at(-1)?.index ?? 'none'})`));
          }
        });
      armIdle();
      w.on('message', (m: Msg) => {
        if (m.type === 'start') {
          current = { index: m.index, label: m.label, paths: m.paths };
          arm(CASE_LIMIT_MS + 500, () => {
            const c = current!;
            const kept = keepFailingInput(c.index, c.paths, keepInputs);
            results.push({ index: c.index, label: c.label, ms: CASE_LIMIT_MS, outcome: 'hang', records: 0, failure: `no result within ${CASE_LIMIT_MS} ms (hang)${kept}` });
            void w.terminate();
            settle(c.index + 1);
          });
        } else if (m.type === 'done') {
          const c = current!;
          let failure = m.failure;
          if (failure) failure += keepFailingInput(c.index, c.paths, keepInputs);
          results.push({ index: m.index, label: c.label, ms: m.ms, outcome: m.outcome, records: m.records, failure });
          current = null;
          armIdle();
        } else if (m.type === 'end') {
          settle(total);
          void w.terminate();
        }
      });
      w.on('error', (e) => {
        // an exception escaping the worker (e.g. an unhandled rejection)
        if (current && !settled) {
          const c = current;
          results.push({ index: c.index, label: c.label, ms: 0, outcome: 'worker error', records: 0, failure: `worker died: ${e.stack ?? e.message}${keepFailingInput(c.index, c.paths, keepInputs)}` });
          settle(c.index + 1);
        } else if (!settled) {
          settled = true;
          reject(e);
        }
      });
      w.on('exit', (code) => {
        if (settled) return;
        if (current) {
          const c = current;
          results.push({ index: c.index, label: c.label, ms: 0, outcome: 'worker exit', records: 0, failure: `worker exited with code ${code} during the case (the pipeline's promise never settled and nothing kept it alive?)${keepFailingInput(c.index, c.paths, keepInputs)}` });
          settle(c.index + 1);
        } else settle(total);
      });
    });
    next = outcome.resumeAt;
  }
  return { results, failures: results.filter((r) => r.failure !== null), wallMs: performance.now() - t0 };
}

function formatFailures(f: CaseResult[]): string {
  return f.map((r) => `${r.label}\n  ${r.failure}`).join('\n\n');
}

/** Runs fixed inputs (regressions, targeted generators) with the same checks and watchdog. */
function runBytesCases(cases: BytesCase[], dir: string): Promise<RunSummary> {
  return runInWorkers((from) => ({ mode: 'bytes', first: from, cases: cases.slice(from), dir }), cases.length, false);
}

/** SYN and SYN-ACK of one connection (zeek__http-get.pcap packets 1 and 2) in a pcapng with one µs interface. */
function twoPacketPcapng(units1: bigint, units2: bigint): Buffer {
  const hg = readPcap(readFileSync(fixture('zeek__http-get.pcap')));
  return Buffer.concat([pcapngShb(), pcapngIdb(), pcapngEpb({ units: units1, data: hg.records[0]!.data }), pcapngEpb({ units: units2, data: hg.records[1]!.data })]);
}

/**
 * Minimal inputs that broke the pipeline, found by fuzzing. Each must pass
 * the fuzz checks in-process and give valid NDJSON from the CLI.
 */
function regressions(): { label: string; files: Buffer[]; todo?: string }[] {
  return [
    {
      // 268 bytes: SHB, IDB (µs), EPB SYN at 18311456799897827814 µs, EPB SYN-ACK at 404827291819830139 µs.
      // The connection's duration is about -1.79e13 s; the old diffNs/formatSecondsFromNs lost
      // precision beyond 2^53 ns and printed "duration":-17906629508078.0-2097152 (not JSON).
      label: 'a pcapng connection whose second packet is 567,000 years before its first gives a valid, exact NDJSON duration.',
      files: [twoPacketPcapng(18311456799897827814n, 404827291819830139n)],
    },
  ];
}

/** pcapng captures of a real connection with random 64-bit timestamps (jumps forward and back) and resolutions. */
function pcapngTimestampCases(n: number): BytesCase[] {
  const hg = readPcap(readFileSync(fixture('zeek__http-get.pcap')));
  const rng = mulberry32(SEED ^ 0x51ed);
  const u64 = (): bigint => (BigInt(int(rng, 2 ** 32)) << 32n) | BigInt(int(rng, 2 ** 32));
  const cases: BytesCase[] = [];
  for (let i = 0; i < n; i++) {
    const tsresol = pick(rng, [undefined, 0, 3, 6, 9, 0x80, 0x8b, 0x94, 12] as const);
    let units = u64();
    const jumps: number[] = [];
    const epbs = hg.records.map((r, k) => {
      if (k > 0) {
        if (rng() < 0.15) {
          units = u64();
          jumps.push(k + 1);
        } else units = (units + BigInt(int(rng, 1_000_000))) & 0xffffffffffffffffn;
      }
      return pcapngEpb({ units, data: r.data });
    });
    cases.push({
      label: `pcapng timestamps case ${i}: tsresol ${tsresol ?? 'default'}, random jumps at packets ${jumps.join(',') || 'none'}`,
      files: [Buffer.concat([pcapngShb(), pcapngIdb(tsresol === undefined ? {} : { tsresol }), ...epbs])],
    });
  }
  return cases;
}

/** Classic pcap (µs and ns) of a real connection with random 32-bit timestamps. */
function pcapTimestampCases(n: number): BytesCase[] {
  const hg = readPcap(readFileSync(fixture('zeek__http-get.pcap')));
  const rng = mulberry32(SEED ^ 0x7ca9);
  const cases: BytesCase[] = [];
  for (let i = 0; i < n; i++) {
    const nanos = rng() < 0.5;
    const le = rng() < 0.5;
    const rand = (): bigint => BigInt(int(rng, 2 ** 32)) * 1_000_000_000n + BigInt(int(rng, 1_000_000_000));
    let ts = rand();
    const recs = hg.records.map((r, k) => {
      if (k > 0) ts = rng() < 0.15 ? rand() : ts + BigInt(int(rng, 1e9));
      if (ts >= 2n ** 32n * 1_000_000_000n) ts -= 2n ** 32n * 1_000_000_000n;
      return { ...r, ts };
    });
    cases.push({ label: `pcap timestamps case ${i} (${le ? 'LE' : 'BE'}, ${nanos ? 'ns' : 'µs'})`, files: [writePcap(recs, { ...hg.header, le, nanos })] });
  }
  return cases;
}

async function defineTests(): Promise<void> {
  const { test, before, after } = await import('node:test');
  let dir = '';
  let cleanup = (): void => {};
  before(() => {
    ({ dir, cleanup } = makeTempDir('tcpkit-fuzz-'));
  });
  after(() => cleanup());

  test(`${CASES} seeded mutations of real pcap and pcapng captures never throw anything but a ToolError, never take over ${CASE_LIMIT_MS} ms, and only emit records with the schema's keys.`, async (t) => {
    const summary = await runInWorkers((from) => ({ mode: 'fuzz', seed: SEED, start: from, end: CASES, dir }), CASES);
    nodeAssert.equal(summary.results.length, CASES, 'every case ran');
    const outcomes = new Map<string, number>();
    for (const r of summary.results) outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
    const slowest = [...summary.results].sort((a, b) => b.ms - a.ms)[0]!;
    t.diagnostic(`seed 0x${SEED.toString(16)}: ${CASES} cases in ${(summary.wallMs / 1000).toFixed(1)} s; slowest ${slowest.ms.toFixed(0)} ms (case ${slowest.index})`);
    t.diagnostic(`outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    nodeAssert.equal(summary.failures.length, 0, `${summary.failures.length} failing case(s):\n\n${formatFailures(summary.failures)}`);
    // the fuzzer must reach both clean runs with records and data errors
    nodeAssert.ok((outcomes.get('ok') ?? 0) > 20, 'some mutated captures still read to the end');
    nodeAssert.ok(summary.results.filter((r) => r.records > 0).length > 50, 'many cases emit records');
    nodeAssert.ok(outcomes.size >= 8, `mutations reach many different error codes (${outcomes.size})`);
  });

  for (const reg of regressions()) {
    test(`Fuzz regression: ${reg.label}`, reg.todo ? { todo: reg.todo } : {}, async () => {
      const summary = await runBytesCases([{ label: reg.label, files: reg.files }], dir);
      nodeAssert.equal(summary.failures.length, 0, formatFailures(summary.failures));
      const paths = reg.files.map((f, i) => {
        const p = join(dir, `regression-${i}.bin`);
        writeFileSync(p, f);
        return p;
      });
      const r = runTcpanalyze(paths);
      nodeAssert.ok(r.status === 0 || r.status === 1, r.stderr);
      nodeAssert.doesNotMatch(r.stderr, /^ {4}at |internal error/m);
      for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
        nodeAssert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
        // duration is last_ts - ts, exactly (9 fraction digits), whatever the magnitude
        const num = (k: string): string => new RegExp(`"${k}":(-?\\d+\\.\\d{9})[,}]`).exec(line)?.[1] ?? `no exact ${k} in ${line}`;
        const ns = (t: string): bigint => BigInt(t.replace('.', ''));
        const d = ns(num('last_ts')) - ns(num('ts'));
        const abs = d < 0n ? -d : d;
        const want = `${d < 0n ? '-' : ''}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')}`;
        nodeAssert.equal(num('duration'), want);
      }
    });
  }

  test('Classic pcap connections with random 32-bit timestamps (jumping forward and back, µs and ns, LE and BE) always give valid records (200 cases).', async () => {
    const summary = await runBytesCases(pcapTimestampCases(200), dir);
    nodeAssert.equal(summary.results.length, 200);
    nodeAssert.equal(summary.failures.length, 0, formatFailures(summary.failures.slice(0, 5)));
  });

  test(
    'pcapng connections with random 64-bit timestamps and any if_tsresol always give valid records (400 cases).',
    async () => {
      const summary = await runBytesCases(pcapngTimestampCases(400), dir);
      nodeAssert.equal(summary.results.length, 400);
      nodeAssert.equal(summary.failures.length, 0, `${summary.failures.length} of 400 failed; first ones:\n${formatFailures(summary.failures.slice(0, 3))}`);
    },
  );

  test(`tcpanalyze on ${CLI_CASES} mutated captures exits 0 or 1 with one-line tcpanalyze: messages and never a stack trace or internal error.`, () => {
    for (let i = 0; i < CLI_CASES; i++) {
      const c = makeCase(SEED + 1, i);
      const paths = c.files.map((f, j) => {
        const p = join(dir, `cli-${i}-${j}.bin`);
        writeFileSync(p, f.bytes);
        return p;
      });
      const r = runTcpanalyze(paths, { timeoutMs: 20_000 });
      const label = caseLabel(c);
      nodeAssert.equal(r.signal, null, `${label}: killed by ${r.signal}`);
      nodeAssert.ok(r.status === 0 || r.status === 1, `${label}: exit ${r.status}\n${r.stderr}`);
      nodeAssert.doesNotMatch(r.stderr, /^ {4}at /m, `${label}: stack trace on stderr\n${r.stderr}`);
      nodeAssert.doesNotMatch(r.stderr, /internal error/, `${label}: internal error\n${r.stderr}`);
      for (const line of r.errLines) nodeAssert.match(line, /^tcpanalyze: /, `${label}: stray stderr line`);
      if (r.status === 1) nodeAssert.match(r.stderr, /\[[A-Z][A-Z0-9_]+\]$/m, `${label}: exit 1 names an error code`);
      for (const line of r.stdout.split('\n').filter((l) => l !== '')) JSON.parse(line);
    }
  });
}

if (isMainThread) await defineTests();
else await workerMain(workerData as Job);
