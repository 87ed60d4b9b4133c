/**
 * Opening inputs: a file path or a caller-supplied stream (stdin), with the
 * compression detected from the first bytes (gzip 1f 8b, zstd 28 b5 2f fd),
 * never from the file name. Compressed inputs are decompressed as streams, so
 * memory does not depend on the input size.
 */
import { open, stat } from 'node:fs/promises';
import type { Transform } from 'node:stream';
import { ToolError, UsageError } from '../util/errors.js';
import { ByteWindow, type ByteSource } from './window.js';
import { FileSource, IterableSource, SyncFileSource } from './sources.js';
import { createGunzip } from 'node:zlib';
import { createZstdDecompress } from './zstd.js';
import { drained } from './drained.js';

export type Compression = 'none' | 'gzip' | 'zstd';

export interface InputSpec {
  /** File path; absent (or '-') means `stream`. */
  path?: string;
  /** The stream to read when `path` is absent or '-' (the CLI passes stdin). */
  stream?: NodeJS.ReadableStream;
  /** Name used in messages (defaults to the path, or `<stdin>`). */
  name?: string;
  /** Initial window size in bytes. */
  windowSize?: number;
  /** Largest record the window may grow to hold. */
  maxRecord?: number;
  /** How a plain (uncompressed) regular file is read; default 'ahead'. */
  fileReads?: FileReads;
}

/**
 * 'ahead': reads run on libuv's thread pool, the next one started while the
 * parser works on the bytes before it (FileSource). 'on-demand': readSync on
 * the parser's thread when it runs out (SyncFileSource). Each costs the
 * parser's thread something: the kernel's copy out of the page cache
 * (on-demand), or the read requests, the window's compaction and pulling the
 * bytes over from the core that copied them (ahead). Measured on the
 * benchmark capture (2 vCPUs, docs/bench.md): the full analysis, which is
 * slow next to the copy, is 4-5 % faster reading ahead; connection
 * accounting alone (`--analysis flows`) takes the same wall time either way
 * on a quiet machine, but on-demand uses 8 % less CPU in all, and with a
 * CPU-bound process on one of the two vCPUs it is 11 % faster.
 */
export type FileReads = 'ahead' | 'on-demand';

export interface OpenedInput {
  name: string;
  compression: Compression;
  window: ByteWindow;
  /** Size of the file as stored (compressed), when known. */
  storedSize: number | undefined;
}

const GZIP0 = 0x1f, GZIP1 = 0x8b;
const ZSTD_MAGIC = 0xfd2fb528; // little-endian 28 b5 2f fd

export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === GZIP0 && head[1] === GZIP1) return 'gzip';
  if (head.length >= 4) {
    const v = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
    if (v === ZSTD_MAGIC) return 'zstd';
    // zstd skippable frames 0x184D2A50..5F
    if ((v & 0xfffffff0) >>> 0 === 0x184d2a50) return 'zstd';
  }
  return 'none';
}

function decompressor(c: Compression): Transform {
  if (c === 'gzip') return createGunzip();
  return createZstdDecompress();
}

function decompressError(name: string, c: Compression, e: unknown): ToolError {
  if (e instanceof ToolError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new ToolError(c === 'gzip' ? 'GZIP_CORRUPT' : 'ZSTD_CORRUPT', `${c} data is corrupt or truncated: ${msg}`, { file: name });
}

async function* prefixed(head: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const h of head) yield h;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

/**
 * Runs `raw` through a decompressor and yields its output. Unlike iterating
 * a piped stream, everything the decompressor produced before an error
 * (a cut or corrupt tail) is yielded first and the error comes last, so no
 * complete record before the damage is lost. At most `highWater` output
 * chunks wait unread; the input is written only as they are consumed.
 */
async function* decompressChunks(raw: AsyncIterable<Uint8Array>, dec: Transform, highWater = 16): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let error: unknown = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  dec.on('data', (b: Uint8Array) => {
    queue.push(b);
    if (queue.length >= highWater) dec.pause();
    notify();
  });
  dec.on('error', (e: unknown) => {
    error ??= e;
    notify();
  });
  dec.on('end', () => {
    ended = true;
    notify();
  });
  const writer = (async (): Promise<void> => {
    try {
      for await (const chunk of raw) {
        if (error !== null) return;
        if (!dec.write(chunk)) await drained(dec);
      }
      if (error === null) dec.end();
    } catch (e) {
      error ??= e;
      notify();
    }
  })();
  try {
    for (;;) {
      if (queue.length > 0) {
        const b = queue.shift()!;
        if (queue.length < highWater / 2 && dec.isPaused()) dec.resume();
        yield b;
        continue;
      }
      if (error !== null) throw error;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    dec.destroy();
    await writer.catch(() => {});
  }
}

function throughDecompressor(name: string, c: Compression, raw: AsyncIterable<Uint8Array>, onClose: () => Promise<void>): ByteSource {
  return new IterableSource(decompressChunks(raw, decompressor(c)), onClose, (e) => decompressError(name, c, e));
}

/** Opens a file or stream and returns a sniffed, decompressing window. */
export async function openInput(spec: InputSpec): Promise<OpenedInput> {
  const fromStream = spec.path === undefined || spec.path === '-';
  const name = spec.name ?? (fromStream ? '<stdin>' : spec.path!);
  // read on demand, a smaller window keeps the bytes just read in cache (connection
  // accounting without output: 0.35 s against 0.37 s with 4 MB, medians of 5 runs)
  const size = spec.windowSize ?? (spec.fileReads === 'on-demand' ? 1 << 20 : 1 << 22);
  const maxRecord = spec.maxRecord ?? 1 << 30;

  if (!fromStream) {
    const path = spec.path!;
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UsageError('INPUT_NOT_FOUND', 'no such file', { file: name });
      if (code === 'EACCES') throw new UsageError('INPUT_NO_PERMISSION', 'permission denied', { file: name });
      throw new UsageError('INPUT_OPEN_FAILED', `cannot open: ${(e as Error).message}`, { file: name });
    }
    if (st.isDirectory()) throw new UsageError('INPUT_IS_DIRECTORY', 'is a directory, not a capture or archive file', { file: name });
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES') throw new UsageError('INPUT_NO_PERMISSION', 'permission denied', { file: name });
      throw new UsageError('INPUT_OPEN_FAILED', `cannot open: ${(e as Error).message}`, { file: name });
    }
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    const compression = sniffCompression(head.subarray(0, bytesRead));
    const regular = st.isFile();
    if (compression === 'none') {
      if (regular) {
        const src = spec.fileReads === 'on-demand' ? new SyncFileSource(fh) : new FileSource(fh);
        return { name, compression, window: new ByteWindow(src, name, size, maxRecord), storedSize: st.size };
      }
      // FIFO or character device: positional reads are not possible.
      const rs = fh.createReadStream({ highWaterMark: 1 << 20 });
      return { name, compression, window: new ByteWindow(new IterableSource(rs), name, size, maxRecord), storedSize: undefined };
    }
    if (!regular) throw new UsageError('INPUT_OPEN_FAILED', 'compressed input from a non-regular file is not supported; pipe it to stdin', { file: name });
    const rs = fh.createReadStream({ highWaterMark: 1 << 16, start: 0 }); // small reads bound each decompressed burst
    const src = throughDecompressor(name, compression, rs, async () => {
      rs.destroy();
    });
    return { name, compression, window: new ByteWindow(src, name, size, maxRecord), storedSize: st.size };
  }

  const stream = spec.stream;
  if (!stream) throw new UsageError('INPUT_NO_STREAM', 'no input stream to read from', { file: name });
  const it = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLen = 0;
  while (headLen < 4) {
    const r = await it.next();
    if (r.done) break;
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    head.push(chunk);
    headLen += chunk.length;
  }
  const headBytes = Buffer.concat(head);
  const compression = sniffCompression(headBytes);
  const chunks = prefixed(headBytes.length > 0 ? [headBytes] : [], it);
  if (compression === 'none') {
    return { name, compression, window: new ByteWindow(new IterableSource(chunks), name, size, maxRecord), storedSize: undefined };
  }
  const src = throughDecompressor(name, compression, chunks, async () => {});
  return { name, compression, window: new ByteWindow(src, name, size, maxRecord), storedSize: undefined };
}
