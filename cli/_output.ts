/**
 * Output destinations for the commands: stdout, or a file written under a
 * temporary name and renamed into place only when the command completes
 * (src/io/atomic.ts), so an interrupted run never leaves a half file. The
 * text may be compressed on the way (gzip, or zstd); a failed compressor is
 * an error, not a log line. `outputName()` reads what a file name asks for
 * (`conns.csv.gz`: CSV, gzip), so the commands can follow it or reject a
 * contradiction.
 */
import { createWriteStream, statSync, unlinkSync } from 'node:fs';
import { once } from 'node:events';
import type { Transform, Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { createZstdCompress } from '../src/io/zstd.js';
import { AtomicFile } from '../src/io/atomic.js';
import { ToolError, UsageError } from '../src/util/errors.js';

export interface Output {
  stream: Writable;
  /**
   * Whether `stream` copies each chunk during write() (stdout, which Node
   * writes synchronously to a file or pipe, and an -o file, written with
   * writeSync), so a TextSink may reuse its batch buffer once nothing is left
   * queued (TextSink's `reuseBatches`).
   */
  copiesWrites: boolean;
  /** Finishes the output: flushes the compressor, then renames a file into place (keep) or removes it. */
  commit(keep: boolean): Promise<void>;
}

export type Compression = 'none' | 'gzip' | 'zstd';

/** What an output file's name says: its compression and the kind of content before it. */
export interface OutputName {
  compression: Compression;
  /** null when the extension says nothing tcpkit writes (no extension, .out, ...). */
  kind: 'csv' | 'ndjson' | 'json' | 'pcap' | 'pcapng' | 'parquet' | 'text' | null;
  /** The extensions that decided it, for messages: ".csv.gz". */
  ext: string;
}

const KIND_BY_EXT: Record<string, OutputName['kind']> = {
  csv: 'csv',
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  json: 'json',
  pcap: 'pcap',
  cap: 'pcap',
  pcapng: 'pcapng',
  parquet: 'parquet',
  txt: 'text',
  text: 'text',
  log: 'text',
};

/** Reads `conns.csv.gz` as CSV, gzip-compressed; `-` and no name say nothing. */
export function outputName(path: string | undefined): OutputName {
  if (path === undefined || path === '-') return { compression: 'none', kind: null, ext: '' };
  const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const parts = base.split('.');
  let ext = '';
  let compression: Compression = 'none';
  const last = parts.length > 1 ? parts[parts.length - 1]! : '';
  if (last === 'gz' || last === 'zst') {
    compression = last === 'gz' ? 'gzip' : 'zstd';
    ext = '.' + last;
    parts.pop();
  }
  const inner = parts.length > 1 ? parts[parts.length - 1]! : '';
  const kind = KIND_BY_EXT[inner] ?? null;
  if (kind !== null) ext = '.' + inner + ext;
  return { compression, kind, ext };
}

/** Describes a kind for messages. */
export function kindText(k: NonNullable<OutputName['kind']>): string {
  return { csv: 'CSV', ndjson: 'NDJSON', json: 'JSON', pcap: 'a pcap capture', pcapng: 'a pcapng capture', parquet: 'Parquet', text: 'text' }[k];
}

/**
 * The compression of an output: the name's (.gz, .zst), or zstd with `-z`;
 * `-z` with a .gz name is a contradiction (usage error).
 */
export function outputCompression(path: string | undefined, zstdFlag: boolean): Compression {
  const n = outputName(path);
  if (zstdFlag && n.compression === 'gzip') throw new UsageError('USAGE_CONFLICT', `-z (zstd) contradicts the output name ${path} (gzip): give one of them`);
  return zstdFlag ? 'zstd' : n.compression;
}

export async function openOutput(path: string | undefined, opts: { zstd?: boolean; compression?: Compression } = {}): Promise<Output> {
  const compression: Compression = opts.compression ?? (opts.zstd ? 'zstd' : 'none');
  const toStdout = path === undefined || path === '-';
  if (!toStdout && isSpecialFile(path)) return openSpecial(path, compression);
  let file: AtomicFile | null = null;
  if (!toStdout) {
    try {
      file = await AtomicFile.create(path, { overwrite: true, syncWrites: true });
    } catch (e) {
      throw new UsageError('OUTPUT_OPEN_FAILED', `cannot write: ${(e as Error).message}`, { file: path });
    }
    const temp = file.tempPath;
    let done = false;
    // An abnormal exit removes the temporary file: no half file is left behind.
    process.once('exit', () => {
      if (done) return;
      try {
        unlinkSync(temp);
      } catch {
        /* already gone */
      }
    });
    const f = file;
    const finishFile = async (keep: boolean): Promise<void> => {
      done = true;
      if (keep) await f.commit();
      else await f.abort();
    };
    if (compression === 'none') return { stream: f.stream, copiesWrites: true, commit: async (keep) => finishFile(keep) };
    const z = compressor(compression, path);
    z.pipe(f.stream, { end: false });
    return {
      stream: z,
      copiesWrites: false,
      commit: async (keep) => {
        await endCompressor(z);
        await finishFile(keep);
      },
    };
  }
  if (compression === 'none') return { stream: process.stdout, copiesWrites: true, commit: async () => {} };
  const z = compressor(compression, '<stdout>');
  z.pipe(process.stdout, { end: false });
  return { stream: z, copiesWrites: false, commit: async () => endCompressor(z) };
}

/** A path that exists and is neither a regular file nor a directory: /dev/null, a FIFO, /dev/stdout. */
function isSpecialFile(path: string): boolean {
  try {
    const st = statSync(path);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

/**
 * Writes straight into a device or a FIFO: a temporary name renamed over it
 * would replace /dev/null with a regular file.
 */
async function openSpecial(path: string, compression: Compression): Promise<Output> {
  const target = createWriteStream(path, { flags: 'w' });
  let failure: Error | null = null;
  target.on('error', (e: Error) => {
    failure ??= e;
  });
  try {
    await once(target, 'open');
  } catch (e) {
    throw new UsageError('OUTPUT_OPEN_FAILED', `cannot write: ${(e as Error).message}`, { file: path });
  }
  const close = async (): Promise<void> => {
    if (!target.writableEnded) {
      target.end();
      await Promise.race([once(target, 'close'), once(target, 'error')]).catch(() => {});
    }
    if (failure !== null) throw new ToolError('OUTPUT_WRITE_FAILED', `cannot write: ${(failure as Error).message}`, { file: path });
  };
  if (compression === 'none') return { stream: target, copiesWrites: false, commit: close };
  const z = compressor(compression, path);
  z.pipe(target, { end: false });
  return {
    stream: z,
    copiesWrites: false,
    commit: async () => {
      await endCompressor(z);
      await close();
    },
  };
}

type Compressor = Transform & { failure?: ToolError };

function compressor(kind: 'gzip' | 'zstd', name: string): Compressor {
  let z: Compressor;
  z = kind === 'gzip' ? createGzip() : createZstdCompress({ level: 3 });
  z.on('error', (e: Error) => {
    z.failure = new ToolError(kind === 'gzip' ? 'GZIP_WRITE_FAILED' : 'ZSTD_WRITE_FAILED', `${kind} compression failed: ${e.message}`, { file: name });
  });
  return z;
}

async function endCompressor(z: Compressor): Promise<void> {
  if (!z.failure) {
    z.end();
    await Promise.race([once(z, 'end'), once(z, 'error')]).catch(() => {});
  }
  if (z.failure) throw z.failure;
}
