/**
 * One zstd-compressed NDJSON file written for a live capture: lines are
 * taken synchronously (the packet loop cannot wait for a file to open),
 * gathered into batches, compressed in-process (src/io/zstd.ts, level 3 with a
 * checksum, as the `zstd` CLI writes) and written under a temporary name
 * that `finish()` renames into place (src/io/atomic.ts). Until then the
 * final name never holds a partial file.
 *
 * Backpressure: `wait()` returns a promise while the compressor's buffer is
 * full (also while the file is still being created), so the reader pauses
 * instead of holding records in memory.
 */
import { once } from 'node:events';
import type { Transform } from 'node:stream';
import { createZstdCompress } from '../io/zstd.js';
import { AtomicFile } from '../io/atomic.js';
import { drained } from '../io/drained.js';
import { ToolError } from '../util/errors.js';

/** Text gathered before one write to the compressor. */
const BATCH_CHARS = 1 << 16;

export class ArchiveFile {
  /** The temporary file, once created. */
  private file: AtomicFile | null = null;
  private readonly opened: Promise<void>;
  private readonly zstd: Transform;
  private parts: string[] = [];
  private size = 0;
  private waiting: Promise<void> | null = null;
  private failure: Error | null = null;
  /** Lines written (the first line, the metadata, included). */
  lines = 0;

  constructor(readonly path: string) {
    this.zstd = createZstdCompress({ level: 3, checksum: true });
    this.zstd.on('error', (e: Error) => {
      this.failure ??= new ToolError('ARCHIVE_COMPRESS_FAILED', `zstd compression failed: ${e.message}`, { file: path });
    });
    // A failed file ends the compressor too, so that a writer waiting for
    // 'drain' wakes up (on 'close') and sees the error instead of waiting forever.
    this.opened = AtomicFile.create(path).then(
      (f) => {
        this.file = f;
        f.stream.on('error', (e: Error) => {
          this.failure ??= new ToolError('ARCHIVE_WRITE_FAILED', `cannot write ${f.tempPath}: ${e.message}`, { file: path });
          this.zstd.destroy();
        });
        this.zstd.pipe(f.stream, { end: false });
      },
      (e: unknown) => {
        this.failure ??= e instanceof Error ? e : new Error(String(e));
        this.zstd.destroy();
      },
    );
  }

  /** The first error (compression, file creation or writing), if any. */
  get error(): Error | null {
    return this.failure;
  }

  /** Queues one line (without its newline). */
  writeLine(line: string): void {
    this.lines++;
    this.parts.push(line, '\n');
    this.size += line.length + 1;
    if (this.size >= BATCH_CHARS) this.push();
  }

  private push(): void {
    if (this.parts.length === 0 || this.failure !== null) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.zstd.write(text) && this.waiting === null) {
      this.waiting = drained(this.zstd).then(() => {
        this.waiting = null;
      });
    }
  }

  /** A promise while the compressor cannot take more, else null. */
  wait(): Promise<void> | null {
    return this.waiting;
  }

  /** Flushes the batch, ends the zstd frame, then fsyncs and renames the file into place. */
  async finish(): Promise<void> {
    this.push();
    await this.opened;
    if (this.failure !== null) {
      await this.abort();
      throw this.failure;
    }
    const ended = once(this.zstd, 'end').catch(() => {});
    this.zstd.end();
    // 'end' comes once the file stream has taken every compressed byte (pipe)
    await Promise.race([ended, once(this.zstd, 'error').catch(() => {})]);
    if (this.failure !== null) {
      await this.abort();
      throw this.failure;
    }
    await this.file!.commit();
  }

  /** Discards the file (temporary name removed). */
  async abort(): Promise<void> {
    this.zstd.destroy();
    await this.opened;
    if (this.file !== null) await this.file.abort();
  }

  /** The temporary file name, once known (for removal at an abnormal exit). */
  get tempPath(): string | null {
    return this.file?.tempPath ?? null;
  }
}
