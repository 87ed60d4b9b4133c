/**
 * zstd streams without a compiler or a native addon: Node's built-in zstd
 * (node:zlib createZstdCompress / createZstdDecompress, Node 22.15+ and
 * 23.8+) where it exists, else the `zstd` program as a child process (as
 * m-lab's tcp-info runs it), whose failure is an error like any other. A
 * frame walker (RFC 8878 §3.1: frame and block headers only, never the
 * content) follows the compressed input and reports an input that ends
 * inside a frame or goes on with bytes that start no frame, so every path
 * fails the same way (node:zlib alone skips trailing garbage).
 *
 * Measured on a 200 MB NDJSON file (5.2 MB zstd, level 3) on this project's
 * 2-vCPU machine: decompression 0.9-2.2 s with node:zlib (Node 22, 24),
 * 0.65-0.77 s with the zstd program, 1.4 s with the zstd-napi addon this
 * replaced; compression 0.75-1.25 s (node:zlib), 0.71 s (the program), 1.2 s
 * (zstd-napi). Two packages were tried for Node 20 and set aside:
 * zstd-codec (libzstd in WebAssembly: as fast, but its fixed 16 MB heap ran
 * out with a few dozen compressors open at once, and it takes a cut frame
 * for a complete one) and fzstd (pure JavaScript, decompression only, 2x
 * slower, no checksum check).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';

export type ZstdBackend = 'node:zlib' | 'zstd program';

interface ZlibZstd {
  createZstdCompress(o?: { params?: Record<number, number> }): Transform;
  createZstdDecompress(): Transform;
  zstdCompressSync(b: Uint8Array, o?: { params?: Record<number, number> }): Buffer;
  zstdDecompressSync(b: Uint8Array): Buffer;
  constants: Record<string, number>;
}

const z = zlib as unknown as Partial<ZlibZstd>;

/** Which zstd this Node.js uses. */
export function zstdBackend(): ZstdBackend {
  return typeof z.createZstdDecompress === 'function' ? 'node:zlib' : 'zstd program';
}

// ------------------------------------------------------------- the zstd program

/** `zstd ARGS` as a Transform: bytes in on its stdin, out of its stdout; a failed run is an error with its message. */
class ZstdProgram extends Transform {
  private proc: ChildProcessWithoutNullStreams | null = null;
  private stderr = '';
  private failure: Error | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly args: string[]) {
    super();
  }

  /** The child, started on the first byte (a stream never written, as on a usage error, starts none). */
  private get child(): ChildProcessWithoutNullStreams {
    if (this.proc !== null) return this.proc;
    const child = spawn('zstd', this.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = child;
    child.stdout.on('data', (c: Buffer) => {
      if (!this.push(c)) child.stdout.pause();
    });
    child.stderr.on('data', (c: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += c.toString('utf8');
    });
    child.stdin.on('error', () => {}); // the exit status says what happened
    this.exited = new Promise((resolve) => {
      child.on('error', (e: NodeJS.ErrnoException) => {
        this.failure ??= new Error(e.code === 'ENOENT' ? `zstd needs Node.js 22.15 or later (built-in zstd) or the zstd program on PATH (apt-get install zstd); this is Node.js ${process.version}` : `cannot run zstd: ${e.message}`);
        resolve();
      });
      child.on('close', (code, signal) => {
        if (code !== 0) this.failure ??= new Error(this.stderr.trim().split('\n').pop()?.replace(/^zstd: /, '').replace(/^\S*\s*: /, '') || `zstd exited with ${signal ?? code}`);
        resolve();
      });
    });
    return child;
  }

  override _read(size: number): void {
    this.proc?.stdout.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.failure) return cb(this.failure);
    if (this.child.stdin.write(chunk)) cb();
    else this.child.stdin.once('drain', () => cb());
  }

  override _flush(cb: TransformCallback): void {
    const out = this.child.stdout.readableEnded ? Promise.resolve() : new Promise<void>((resolve) => this.child.stdout.once('end', resolve));
    this.child.stdin.end();
    // its output is complete when its stdout ends and it has exited
    void this.exited.then(async () => {
      if (this.failure === null) await out;
      cb(this.failure ?? undefined);
    });
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (this.proc !== null && this.proc.exitCode === null) this.proc.kill();
    cb(err);
  }
}

// ------------------------------------------------------------- frame walker

const MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE = 0x184d2a50;

/**
 * Follows zstd frames through the compressed bytes (headers only). `push`
 * throws on bytes that start no frame; `end` throws when the input stopped
 * inside a frame.
 */
export class ZstdFrameWalker {
  /** Bytes still to skip (block content, skippable frame data, checksum). */
  private skip = 0;
  /** Header bytes being gathered, and how many are needed. */
  private readonly hdr = new Uint8Array(18);
  private have = 0;
  private need = 4;
  private state: 'magic' | 'skippable-size' | 'frame-header' | 'block-header' = 'magic';
  private lastBlock = false;
  private checksum = false;
  /** Offset of the input consumed, and frames completed. */
  offset = 0;
  frames = 0;

  push(b: Uint8Array): void {
    let i = 0;
    while (i < b.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, b.length - i);
        this.skip -= n;
        i += n;
        this.offset += n;
        if (this.skip === 0 && this.state === 'magic' && this.inFrame) this.frameDone();
        continue;
      }
      const n = Math.min(this.need - this.have, b.length - i);
      this.hdr.set(b.subarray(i, i + n), this.have);
      this.have += n;
      i += n;
      this.offset += n;
      if (this.have === this.need) this.header();
    }
  }

  private inFrame = false;

  private frameDone(): void {
    this.inFrame = false;
    this.frames++;
  }

  private header(): void {
    const h = this.hdr;
    switch (this.state) {
      case 'magic': {
        const m = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
        this.inFrame = true;
        if (m === MAGIC) {
          this.state = 'frame-header';
          this.need = 5; // 4 magic bytes + the frame header descriptor
          return;
        }
        if ((m & SKIPPABLE_MASK) >>> 0 === SKIPPABLE) {
          this.state = 'skippable-size';
          this.need = 8;
          return;
        }
        throw new Error(`no zstd frame starts at compressed byte ${this.offset - 4} (after ${this.frames} complete frame${this.frames === 1 ? '' : 's'})`);
      }
      case 'skippable-size': {
        this.skip = (h[4]! | (h[5]! << 8) | (h[6]! << 16) | (h[7]! << 24)) >>> 0;
        this.reset();
        if (this.skip === 0) this.frameDone();
        return;
      }
      case 'frame-header': {
        const d = h[4]!;
        const fcsFlag = d >> 6;
        const single = (d >> 5) & 1;
        const dictFlag = d & 3;
        if (((d >> 3) & 1) !== 0) throw new Error(`a reserved bit is set in the zstd frame header at compressed byte ${this.offset - 1}`);
        this.checksum = ((d >> 2) & 1) === 1;
        const size = (single ? 0 : 1) + [0, 1, 2, 4][dictFlag]! + [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
        // the rest of the header is skipped, then the first block header is read
        this.skip = size;
        this.state = 'block-header';
        this.have = 0;
        this.need = 3;
        return;
      }
      case 'block-header': {
        const v = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        this.lastBlock = (v & 1) === 1;
        const type = (v >> 1) & 3;
        const size = v >>> 3;
        if (type === 3) throw new Error(`a reserved block type in the zstd frame at compressed byte ${this.offset - 3}`);
        this.skip = type === 1 ? 1 : size;
        this.have = 0;
        if (this.lastBlock) {
          this.skip += this.checksum ? 4 : 0;
          this.reset();
          if (this.skip === 0) this.frameDone();
        } else this.need = 3;
        return;
      }
    }
  }

  private reset(): void {
    this.state = 'magic';
    this.have = 0;
    this.need = 4;
  }

  /** The input ended: throws when that was inside a frame. */
  end(): void {
    if (this.inFrame || this.have > 0) throw new Error(`the input ends inside a zstd frame (frame ${this.frames + 1}, at compressed byte ${this.offset})`);
  }
}

// ------------------------------------------------------------- streams

/**
 * Runs `inner` (a backend's Transform, or a promise of one) behind a
 * Transform of our own, so that input checks and errors are the same for
 * every backend.
 */
class Wrapped extends Transform {
  private inner: Transform | null = null;
  private readonly ready: Promise<Transform>;
  private failure: Error | null = null;

  constructor(
    make: Transform | Promise<Transform>,
    private readonly check: ((b: Uint8Array) => void) | null,
    private readonly finish: (() => void) | null,
  ) {
    super();
    this.ready = Promise.resolve(make).then((t) => {
      this.inner = t;
      t.on('data', (c: Buffer) => {
        if (!this.push(c)) t.pause();
      });
      t.on('error', (e: Error) => {
        this.failure ??= e;
      });
      return t;
    });
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.ready.then(
      (t) => {
        if (this.failure) return cb(this.failure);
        try {
          this.check?.(chunk);
        } catch (e) {
          return cb(e as Error);
        }
        if (t.write(chunk)) cb(this.failure ?? undefined);
        else t.once('drain', () => cb(this.failure ?? undefined));
      },
      (e: Error) => cb(e),
    );
  }

  override _flush(cb: TransformCallback): void {
    this.ready.then(
      (t) => {
        if (this.failure) return cb(this.failure);
        // the input's own check: a cut frame is said as such, whatever the backend makes of it,
        // once the backend has handed out everything it could decompress
        let own: Error | null = null;
        try {
          this.finish?.();
        } catch (err) {
          own = err as Error;
        }
        let done = false;
        const fin = (e?: Error | null): void => {
          if (done) return;
          done = true;
          const err = own ?? e ?? this.failure;
          if (err) return cb(err);
          cb();
        };
        t.once('end', () => fin());
        t.once('error', (e: Error) => fin(e));
        t.end();
        t.resume();
      },
      (e: Error) => cb(e),
    );
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    this.inner?.destroy();
    cb(err);
  }
}

/** A zstd decompressor: every frame of the input in turn; a cut or trailing garbage is an error. */
export function createZstdDecompress(): Transform {
  const walker = new ZstdFrameWalker();
  const inner = zstdBackend() === 'node:zlib' ? z.createZstdDecompress!() : new ZstdProgram(['-d', '-c', '-q']);
  return new Wrapped(inner, (b) => walker.push(b), () => walker.end());
}

export interface ZstdCompressOptions {
  /** Compression level (default 3, as the zstd program). */
  level?: number;
  /** Frame checksum (default on). */
  checksum?: boolean;
  /** log2 of the window, hash and chain table sizes (default: the level's). */
  windowLog?: number;
  hashLog?: number;
  chainLog?: number;
}

/** A zstd compressor (node:zlib, or the zstd program with the same parameters). */
export function createZstdCompress(o: ZstdCompressOptions = {}): Transform {
  const level = o.level ?? 3;
  if (zstdBackend() === 'node:zlib') {
    const c = z.constants!;
    const params: Record<number, number> = { [c['ZSTD_c_compressionLevel']!]: level, [c['ZSTD_c_checksumFlag']!]: o.checksum === false ? 0 : 1 };
    if (o.windowLog !== undefined) params[c['ZSTD_c_windowLog']!] = o.windowLog;
    if (o.hashLog !== undefined) params[c['ZSTD_c_hashLog']!] = o.hashLog;
    if (o.chainLog !== undefined) params[c['ZSTD_c_chainLog']!] = o.chainLog;
    return z.createZstdCompress!({ params });
  }
  const advanced = [o.windowLog !== undefined ? `wlog=${o.windowLog}` : '', o.hashLog !== undefined ? `hlog=${o.hashLog}` : '', o.chainLog !== undefined ? `clog=${o.chainLog}` : ''].filter((x) => x !== '');
  return new ZstdProgram(['-q', '-c', `-${level}`, o.checksum === false ? '--no-check' : '--check', ...(advanced.length > 0 ? [`--zstd=${advanced.join(',')}`] : [])]);
}

/** The content of a buffer of zstd data (every frame), through createZstdDecompress. */
export async function zstdDecompressBuffer(b: Uint8Array): Promise<Buffer> {
  const d = createZstdDecompress();
  const parts: Buffer[] = [];
  d.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise<void>((resolve, reject) => {
    d.on('end', resolve);
    d.on('error', reject);
  });
  d.end(b);
  await done;
  return Buffer.concat(parts);
}
