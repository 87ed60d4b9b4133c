/**
 * Helpers for the tcpcapture packets tests: running the command, listing and
 * reading its archives, parsing archive file names, and cutting captures at
 * a time (with a marker frame so the batch analysis reaches that time).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { decompress } from './_zstd.js';
import { ROOT, writePcap, type PcapFile, type PcapRecord } from './_capture-helpers.js';

export const TCPCAPTURE = join(ROOT, 'dist', 'cli', 'tcpcapture.js');
export const CSVTOOL = join(ROOT, 'dist', 'cli', 'csvtool.js');

export { listFiles } from './_fixtures.js';

/** A record as parsed from NDJSON. */
export type Rec = Record<string, string | number | boolean | null>;

/** The records of NDJSON text (blank lines skipped). */
export const parseRecords = (text: string): Rec[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Rec);

export interface ArchiveFile {
  meta: { tcpkit: { tool: string; version: string; record: string; inputs: string[]; options: Record<string, unknown>; start: string } };
  /** Record lines (NDJSON text, metadata line excluded). */
  lines: string[];
}

export function readArchive(path: string): ArchiveFile {
  const text = decompress(readFileSync(path)).toString('utf8');
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error(`${path}: does not end with a newline`);
  return { meta: JSON.parse(lines[0]!) as ArchiveFile['meta'], lines: lines.slice(1) };
}

/** Start time (epoch ns) in a name such as `2014/03/27/conns_20140327T165700.000000000Z.jsonl.zst`. */
export function nameTimeNs(name: string): bigint {
  const m = /(?:^|\/)(\d{4})\/(\d\d)\/(\d\d)\/(?:conns|flows)_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)\.(\d{9})Z\.jsonl\.zst$/.exec(name);
  if (!m) throw new Error(`not an archive file name: ${name}`);
  if (m[1] !== m[4] || m[2] !== m[5] || m[3] !== m[6]) throw new Error(`date folder and file name disagree: ${name}`);
  const ms = Date.UTC(Number(m[4]), Number(m[5]) - 1, Number(m[6]), Number(m[7]), Number(m[8]), Number(m[9]));
  return BigInt(ms) * 1_000_000n + BigInt(m[10]!);
}

/** Epoch text with 9 fraction digits -> ns. */
export function epochNs(text: string | number): bigint {
  const [s, f = ''] = String(text).split('.');
  return BigInt(s!) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9));
}

/** A 60-byte Ethernet frame that is not IP (ARP ethertype): analysed as nothing, but it moves capture time. */
export function markerFrame(ts: bigint): PcapRecord {
  const data = Buffer.alloc(60);
  data.writeUInt16BE(0x0806, 12);
  return { ts, data };
}

/** The capture's packets before `cut` (ns), then a marker frame at `cut`: the batch analysis of it stands where tcpcapture stands at that boundary. */
export function prefixWithMarker(p: PcapFile, cut: bigint): Buffer {
  const recs: PcapRecord[] = p.records.filter((r) => r.ts < cut).map((r) => ({ ts: r.ts, data: r.data, origLen: r.origLen }));
  recs.push(markerFrame(cut));
  return writePcap(recs, { ...p.header, nanos: true });
}

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `tcpcapture ...args` with `input` on stdin, to completion. */
export function runTcpcapture(args: readonly string[], o: { input?: Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Run {
  const r = spawnSync(process.execPath, [TCPCAPTURE, ...args], {
    input: o.input ?? Buffer.alloc(0),
    env: o.env ?? process.env,
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function runCsvtool(path: string): Run {
  const r = spawnSync(process.execPath, [CSVTOOL, path], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A running tcpcapture whose stdin the test writes; stderr is collected. */
export interface LiveRun {
  proc: ChildProcess;
  stderr: () => string;
  /** Resolves when stderr contains `text` (rejects after `ms`). */
  waitFor: (re: RegExp, ms?: number) => Promise<RegExpExecArray>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startTcpcapture(args: readonly string[], o: { env?: NodeJS.ProcessEnv; command?: string[] } = {}): LiveRun {
  const argv = o.command ?? [process.execPath, TCPCAPTURE];
  const proc = spawn(argv[0]!, [...argv.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: o.env ?? process.env });
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (s: string) => {
    err += s;
    for (const w of [...waiters]) {
      const m = w.re.exec(err);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  proc.stdout!.resume();
  proc.stdin!.on('error', () => {});
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    stderr: () => err,
    waitFor: (re, ms = 20_000) =>
      new Promise((resolve, reject) => {
        const m = re.exec(err);
        if (m) return resolve(m);
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} on stderr; got:\n${err}`)), ms);
        waiters.push({
          re,
          resolve: (x) => {
            clearTimeout(t);
            resolve(x);
          },
        });
        void done.then(() => {
          clearTimeout(t);
          const m2 = re.exec(err);
          if (m2) resolve(m2);
          else reject(new Error(`tcpcapture exited while waiting for ${re}; stderr:\n${err}`));
        });
      }),
    done,
  };
}

/** Sends one request line to a stats socket and reads the answer to the end. */
export function askStatsSocket(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let out = '';
    c.setEncoding('utf8');
    c.on('connect', () => c.write(line));
    c.on('data', (s: string) => (out += s));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

export type StatsAnswer = Record<string, unknown>[];

/**
 * Polls GET every 50 ms (at most `tries` times) until the capture has read
 * `n` packets and `ready()` holds; returns that answer.
 */
export async function waitForPackets(sock: string, n: number, o: { tries?: number; request?: string; ready?: () => boolean } = {}): Promise<StatsAnswer> {
  const tries = o.tries ?? 400;
  for (let i = 0; i < tries; i++) {
    if (existsSync(sock) && (o.ready === undefined || o.ready())) {
      const a = JSON.parse(await askStatsSocket(sock, o.request ?? 'GET\r\n')) as StatsAnswer;
      const pc = a.at(-1) as { pcap: { stats: { recv: number } } };
      if (pc.pcap.stats.recv === n) return a;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the capture did not reach ${n} packets in ${tries} polls`);
}
