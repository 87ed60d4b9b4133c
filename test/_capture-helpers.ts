/**
 * Test helpers: a tiny pcap / pcapng writer and reader (enough to cut, split
 * and rebuild real captures byte by byte), temporary directories, and a
 * spawnSync wrapper for the compiled CLIs.
 *
 * Compiled to dist/test/_capture-helpers.js; paths are resolved from there.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (dist/test/.. /..). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The compiled tcpanalyze command. */
export const TCPANALYZE = join(ROOT, 'dist', 'cli', 'tcpanalyze.js');
/** fixtures/pcaps/<name>. */
export function fixture(name: string): string {
  return join(ROOT, 'fixtures', 'pcaps', name);
}

// ---------------------------------------------------------------------------
// classic pcap

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_FILE_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;

export interface PcapHeaderOptions {
  /** Little-endian (default true). */
  le?: boolean;
  /** Nanosecond timestamps (magic a1b23c4d); default false (microseconds). */
  nanos?: boolean;
  /** LINKTYPE_* (default 1, Ethernet); the full 32-bit field is written. */
  linkType?: number;
  snaplen?: number;
  versionMajor?: number;
  versionMinor?: number;
  /** Overrides the magic number (written in the file's byte order). */
  magic?: number;
}

/** One pcap record: timestamp in nanoseconds since the epoch, captured bytes and wire length. */
export interface PcapRecord {
  ts: bigint;
  data: Buffer;
  /** Length on the wire (defaults to data.length). */
  origLen?: number;
}

export interface PcapFile {
  header: Required<Omit<PcapHeaderOptions, 'magic'>>;
  records: (PcapRecord & { origLen: number; offset: number })[];
  /** Bytes after the last complete record (a cut record), if any. */
  trailing: number;
}

export function pcapHeader(o: PcapHeaderOptions = {}): Buffer {
  const le = o.le ?? true;
  const b = Buffer.alloc(PCAP_FILE_HEADER);
  const u32 = (v: number, at: number): number => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at));
  const u16 = (v: number, at: number): number => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  u32(o.magic ?? (o.nanos ? PCAP_MAGIC_NS : PCAP_MAGIC_US), 0);
  u16(o.versionMajor ?? 2, 4);
  u16(o.versionMinor ?? 4, 6);
  u32(0, 8); // thiszone
  u32(0, 12); // sigfigs
  u32(o.snaplen ?? 262144, 16);
  u32(o.linkType ?? 1, 20);
  return b;
}

/** A record header + data. `inclLen` overrides the captured-length field (for corrupt records). */
export function pcapRecord(r: PcapRecord, o: { le?: boolean; nanos?: boolean; inclLen?: number } = {}): Buffer {
  const le = o.le ?? true;
  const b = Buffer.alloc(PCAP_RECORD_HEADER + r.data.length);
  const u32 = (v: number, at: number): number => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at));
  const unit = o.nanos ? 1n : 1000n;
  const sec = r.ts / 1_000_000_000n;
  const frac = (r.ts % 1_000_000_000n) / unit;
  u32(Number(sec), 0);
  u32(Number(frac), 4);
  u32(o.inclLen ?? r.data.length, 8);
  u32(r.origLen ?? r.data.length, 12);
  r.data.copy(b, PCAP_RECORD_HEADER);
  return b;
}

/** A whole pcap file. */
export function writePcap(records: readonly PcapRecord[], o: PcapHeaderOptions = {}): Buffer {
  const opts = { le: o.le ?? true, nanos: o.nanos ?? false };
  return Buffer.concat([pcapHeader(o), ...records.map((r) => pcapRecord(r, opts))]);
}

/** Parses a pcap file (any of the four magics); stops at a record that is cut. */
export function readPcap(buf: Buffer): PcapFile {
  if (buf.length < PCAP_FILE_HEADER) throw new Error(`readPcap: ${buf.length} bytes is too short for a pcap header`);
  const mLE = buf.readUInt32LE(0);
  const mBE = buf.readUInt32BE(0);
  let le: boolean;
  let nanos: boolean;
  if (mLE === PCAP_MAGIC_US || mLE === PCAP_MAGIC_NS) [le, nanos] = [true, mLE === PCAP_MAGIC_NS];
  else if (mBE === PCAP_MAGIC_US || mBE === PCAP_MAGIC_NS) [le, nanos] = [false, mBE === PCAP_MAGIC_NS];
  else throw new Error(`readPcap: bad magic 0x${mBE.toString(16)}`);
  const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const u16 = (at: number): number => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  const header = { le, nanos, versionMajor: u16(4), versionMinor: u16(6), snaplen: u32(16), linkType: u32(20) };
  const records: PcapFile['records'] = [];
  let p = PCAP_FILE_HEADER;
  while (p + PCAP_RECORD_HEADER <= buf.length) {
    const incl = u32(p + 8);
    if (p + PCAP_RECORD_HEADER + incl > buf.length) break;
    const ts = BigInt(u32(p)) * 1_000_000_000n + BigInt(u32(p + 4)) * (nanos ? 1n : 1000n);
    records.push({ ts, data: Buffer.from(buf.subarray(p + 16, p + 16 + incl)), origLen: u32(p + 12), offset: p });
    p += PCAP_RECORD_HEADER + incl;
  }
  return { header, records, trailing: buf.length - p };
}

// ---------------------------------------------------------------------------
// pcapng

export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 1;
export const PCAPNG_EPB = 6;
export const PCAPNG_SPB = 3;
const BOM = 0x1a2b3c4d;

/** A generic block: type, body (padded to 4 bytes), both length fields. */
export function pcapngBlock(type: number, body: Buffer, le = true): Buffer {
  const pad = (4 - (body.length % 4)) % 4;
  const len = 12 + body.length + pad;
  const b = Buffer.alloc(len);
  const u32 = (v: number, at: number): number => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at));
  u32(type, 0);
  u32(len, 4);
  body.copy(b, 8);
  u32(len, len - 4);
  return b;
}

export function pcapngShb(o: { le?: boolean; major?: number; minor?: number } = {}): Buffer {
  const le = o.le ?? true;
  const body = Buffer.alloc(16);
  if (le) {
    body.writeUInt32LE(BOM, 0);
    body.writeUInt16LE(o.major ?? 1, 4);
    body.writeUInt16LE(o.minor ?? 0, 6);
  } else {
    body.writeUInt32BE(BOM, 0);
    body.writeUInt16BE(o.major ?? 1, 4);
    body.writeUInt16BE(o.minor ?? 0, 6);
  }
  body.writeBigInt64LE(-1n, 8); // section length unknown (same bytes in either order)
  return pcapngBlock(PCAPNG_SHB, body, le);
}

/** Interface description; `tsresol` is the raw if_tsresol byte (6 = µs default, 9 = ns). */
export function pcapngIdb(o: { le?: boolean; linkType?: number; snaplen?: number; tsresol?: number } = {}): Buffer {
  const le = o.le ?? true;
  const opts = o.tsresol === undefined ? 0 : 12; // option(9, 1 byte, padded) + opt_endofopt
  const body = Buffer.alloc(8 + opts);
  const u16 = (v: number, at: number): number => (le ? body.writeUInt16LE(v, at) : body.writeUInt16BE(v, at));
  const u32 = (v: number, at: number): number => (le ? body.writeUInt32LE(v >>> 0, at) : body.writeUInt32BE(v >>> 0, at));
  u16(o.linkType ?? 1, 0);
  u32(o.snaplen ?? 262144, 4);
  if (o.tsresol !== undefined) {
    u16(9, 8);
    u16(1, 10);
    body.writeUInt8(o.tsresol, 12);
    // bytes 16..19: opt_endofopt (zeros)
  }
  return pcapngBlock(PCAPNG_IDB, body, le);
}

/** Enhanced packet block; `units` is the timestamp in the interface's units (µs by default). */
export function pcapngEpb(o: { le?: boolean; iface?: number; units: bigint; data: Buffer; origLen?: number }): Buffer {
  const le = o.le ?? true;
  const body = Buffer.alloc(20 + o.data.length);
  const u32 = (v: number, at: number): number => (le ? body.writeUInt32LE(v >>> 0, at) : body.writeUInt32BE(v >>> 0, at));
  u32(o.iface ?? 0, 0);
  u32(Number(o.units >> 32n), 4);
  u32(Number(o.units & 0xffffffffn), 8);
  u32(o.data.length, 12);
  u32(o.origLen ?? o.data.length, 16);
  o.data.copy(body, 20);
  return pcapngBlock(PCAPNG_EPB, body, le);
}

export interface PcapngBlockInfo {
  type: number;
  offset: number;
  length: number;
  le: boolean;
  /** 1-based block number (as the reader counts them). */
  number: number;
}

/** Lists the blocks of a well-formed pcapng file (any number of sections, either byte order). */
export function pcapngBlocks(buf: Buffer): PcapngBlockInfo[] {
  const out: PcapngBlockInfo[] = [];
  let p = 0;
  let le = true;
  while (p + 12 <= buf.length) {
    if (buf.readUInt32LE(p) === PCAPNG_SHB) le = buf.readUInt32LE(p + 8) === BOM;
    const type = le ? buf.readUInt32LE(p) : buf.readUInt32BE(p);
    const length = le ? buf.readUInt32LE(p + 4) : buf.readUInt32BE(p + 4);
    if (length < 12 || p + length > buf.length) break;
    out.push({ type, offset: p, length, le, number: out.length + 1 });
    p += length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// processes and files

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stderr split into lines (no trailing empty line). */
  errLines: string[];
}

function toResult(r: SpawnSyncReturns<string>): CliResult {
  if (r.error) throw r.error;
  const stderr = r.stderr ?? '';
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr, errLines: stderr.split('\n').filter((l) => l !== '') };
}

/** Runs `node dist/cli/tcpanalyze.js ...args` (stdin from `input`, or empty). */
export function runTcpanalyze(args: readonly string[], o: { cwd?: string; input?: Buffer | string; timeoutMs?: number } = {}): CliResult {
  return toResult(
    spawnSync(process.execPath, [TCPANALYZE, ...args], {
      cwd: o.cwd,
      input: o.input ?? '',
      encoding: 'utf8',
      timeout: o.timeoutMs ?? 30_000,
      maxBuffer: 256 * 1024 * 1024,
    }),
  );
}

/** Runs a bash pipeline with `set -o pipefail`. */
export function runBash(script: string, o: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): CliResult {
  return toResult(
    spawnSync('bash', ['-o', 'pipefail', '-c', script], {
      cwd: o.cwd,
      env: o.env ?? process.env,
      encoding: 'utf8',
      timeout: o.timeoutMs ?? 60_000,
      maxBuffer: 256 * 1024 * 1024,
    }),
  );
}

/** A fresh temporary directory and a function that removes it. */
export function makeTempDir(prefix = 'tcpkit-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Single-quotes a string for bash. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The regular expression text matching `s` literally. */
export function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** `offset N = 0xHEX` as formatted in error messages. */
export function offsetText(n: number): string {
  return `offset ${n} = 0x${n.toString(16)}`;
}

/** Seeded PRNG (mulberry32): deterministic floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
