/**
 * Atomic file writes: data goes to a temporary name in the destination's
 * directory (`.tcpkit-<name>.<pid>.<random>.tmp`) and is renamed to the final name
 * only when complete, so a failed or interrupted write never leaves a half
 * file under the final name (readers such as m-lab's ETL pick files up by
 * name). `commit()` flushes, fsyncs and renames; `abort()` removes the
 * temporary file. By default an existing final file is never replaced: the
 * rename is done with link()+unlink(), which fails with EEXIST, and the data
 * stays in the temporary file named in the error.
 *
 * A process killed outright (SIGKILL, a crash) leaves its temporary file: the
 * first file a later process creates in the same directory removes the
 * temporary files of this naming that are over a minute old and whose
 * process is gone (removeStaleTemps).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { ToolError } from '../util/errors.js';
import { drained } from './drained.js';
import { SyncFileStream } from './sync-file-stream.js';

export interface AtomicFileOptions {
  /** Create missing parent directories (default true). */
  mkdirs?: boolean;
  /** File mode of the new file (default 0o644, before umask). */
  mode?: number;
  /** Replace an existing final file (default false: fail with ATOMIC_TARGET_EXISTS). */
  overwrite?: boolean;
  /** fsync the data before the rename (default true). */
  fsync?: boolean;
  /**
   * Write synchronously (SyncFileStream, as Node writes stdout to a file)
   * instead of through fs.WriteStream on the thread pool (default false).
   * For commands that run through a file without returning to the event
   * loop often; a live capture keeps the default, so that a stalled disk
   * does not stall the capture.
   */
  syncWrites?: boolean;
}

/** The temporary name used for `finalPath`. */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.tcpkit-${basename(finalPath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

const TEMP_NAME = /^\.tcpkit-.+\.(\d+)\.[0-9a-f]{12}\.tmp$/;
/** A temporary file younger than this is left alone whatever its process (clocks, a pid reused at once). */
export const STALE_TEMP_MS = 60_000;
/** Directories already cleaned by this process. */
const cleaned = new Set<string>();

function processGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: alive, another user's
  }
}

/**
 * Removes the temporary files of this naming in `dir` that are older than
 * STALE_TEMP_MS and whose process no longer runs; returns their names. Once
 * per directory and process, unless `force`. Errors are ignored: cleaning is
 * a courtesy, never a reason to fail a write.
 */
export async function removeStaleTemps(dir: string, force = false, nowMs = Date.now()): Promise<string[]> {
  if (!force && cleaned.has(dir)) return [];
  cleaned.add(dir);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (m === null || !processGone(Number(m[1]))) continue;
    const p = join(dir, name);
    try {
      if ((await stat(p)).mtimeMs > nowMs - STALE_TEMP_MS) continue;
      await unlink(p);
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

export class AtomicFile {
  readonly finalPath: string;
  readonly tempPath: string;
  /** Write the content here: the temporary file, through an fs.WriteStream or a SyncFileStream (`syncWrites`). */
  readonly stream: WriteStream | SyncFileStream;
  private readonly opts: Required<AtomicFileOptions>;
  private state: 'open' | 'committed' | 'aborted' = 'open';
  private streamError: Error | null = null;
  private readonly fh: FileHandle;

  private constructor(finalPath: string, tempPath: string, fh: FileHandle, stream: WriteStream | SyncFileStream, opts: Required<AtomicFileOptions>) {
    this.fh = fh;
    this.finalPath = finalPath;
    this.tempPath = tempPath;
    this.stream = stream;
    this.opts = opts;
    stream.on('error', (e: Error) => {
      this.streamError ??= e;
    });
  }

  /** Creates the temporary file (and parent directories) for `finalPath`. */
  static async create(finalPath: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    const opts: Required<AtomicFileOptions> = {
      mkdirs: options.mkdirs ?? true,
      mode: options.mode ?? 0o644,
      overwrite: options.overwrite ?? false,
      fsync: options.fsync ?? true,
      syncWrites: options.syncWrites ?? false,
    };
    if (opts.mkdirs) {
      try {
        await mkdir(dirname(finalPath), { recursive: true });
      } catch (e) {
        throw ioError('ATOMIC_MKDIR_FAILED', `cannot create directory ${dirname(finalPath)}`, finalPath, e);
      }
    }
    await removeStaleTemps(dirname(finalPath));
    const tempPath = tempPathFor(finalPath);
    let fh;
    try {
      fh = await open(tempPath, 'wx', opts.mode);
    } catch (e) {
      throw ioError('ATOMIC_CREATE_FAILED', `cannot create temporary file ${tempPath}`, finalPath, e);
    }
    // a WriteStream closes the file itself (it holds a reference on the handle); a SyncFileStream leaves that to finish() and abort()
    const stream = opts.syncWrites ? new SyncFileStream(fh.fd) : createWriteStream('', { fd: fh, autoClose: true, highWaterMark: 1 << 16 });
    return new AtomicFile(finalPath, tempPath, fh, stream, opts);
  }

  /** Whether commit() or abort() has run. */
  get done(): boolean {
    return this.state !== 'open';
  }

  /** Writes a chunk, waiting for 'drain' when the stream's buffer is full. */
  async write(chunk: Uint8Array | string): Promise<void> {
    this.check();
    if (!this.stream.write(chunk)) await drained(this.stream);
    this.check();
  }

  /**
   * Ends the stream, fsyncs, and renames the temporary file to the final
   * name. On any failure the temporary file is removed (or, when the final
   * name exists and overwrite is off, kept and named in the error).
   */
  async commit(): Promise<void> {
    this.check();
    try {
      await this.finish();
    } catch (e) {
      await this.abort();
      throw ioError('ATOMIC_WRITE_FAILED', `cannot write ${this.tempPath}`, this.finalPath, e);
    }
    try {
      if (this.opts.overwrite) {
        await rename(this.tempPath, this.finalPath);
      } else {
        await link(this.tempPath, this.finalPath);
        await unlink(this.tempPath);
      }
      this.state = 'committed';
    } catch (e) {
      this.state = 'aborted';
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw new ToolError('ATOMIC_TARGET_EXISTS', `will not replace an existing file; the new data is in ${this.tempPath}`, { file: this.finalPath });
      }
      await unlink(this.tempPath).catch(() => {});
      throw ioError('ATOMIC_RENAME_FAILED', `cannot rename ${this.tempPath} to the final name`, this.finalPath, e);
    }
  }

  /** Discards the data: closes the stream and removes the temporary file. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    if (!this.stream.destroyed) {
      this.stream.destroy();
      await once(this.stream, 'close').catch(() => {});
    }
    if (this.stream instanceof SyncFileStream) await this.fh.close().catch(() => {});
    await unlink(this.tempPath).catch(() => {});
  }

  private check(): void {
    if (this.state !== 'open') throw new ToolError('ATOMIC_CLOSED', 'write after commit or abort', { file: this.finalPath });
    if (this.streamError) throw ioError('ATOMIC_WRITE_FAILED', `cannot write ${this.tempPath}`, this.finalPath, this.streamError);
  }

  private async finish(): Promise<void> {
    const s = this.stream;
    if (s instanceof SyncFileStream) {
      if (this.streamError) throw this.streamError;
      s.end();
      await once(s, 'finish');
      if (this.opts.fsync) await this.fh.sync();
      await this.fh.close();
      return;
    }
    if (this.opts.fsync) {
      // Flush buffered writes, then fsync the descriptor before closing it.
      await new Promise<void>((resolve, reject) => {
        s.write('', (e) => (e ? reject(e) : resolve()));
      });
      await this.fh.sync();
    }
    s.end();
    await once(s, 'close');
    if (this.streamError) throw this.streamError;
  }
}

function ioError(code: string, what: string, file: string, e: unknown): ToolError {
  const msg = e instanceof Error ? e.message : String(e);
  return new ToolError(code, `${what}: ${msg}`, { file });
}

/** Writes `data` to `path` atomically (temp name, fsync, rename). */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicFileOptions = {}): Promise<void> {
  const f = await AtomicFile.create(path, options);
  try {
    await f.write(data);
  } catch (e) {
    await f.abort();
    throw e;
  }
  try {
    await f.commit();
  } catch (e) {
    if (e instanceof ToolError && e.code === 'ATOMIC_TARGET_EXISTS') {
      // The caller still has the data: do not leave the temporary copy behind.
      await unlink(f.tempPath).catch(() => {});
      throw new ToolError('ATOMIC_TARGET_EXISTS', 'will not replace an existing file', { file: path });
    }
    throw e;
  }
}
