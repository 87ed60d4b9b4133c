/**
 * Output destinations for the commands: stdout, or a file written under a
 * temporary name and renamed into place only when the command completes
 * (src/io/atomic.ts), so an interrupted run never leaves a half file. With
 * `zstd`, the text is compressed on the way (zstd-napi streams); a failed
 * compressor is an error, not a log line.
 */
import { unlinkSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type { CompressStream } from 'zstd-napi';
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

export async function openOutput(path: string | undefined, opts: { zstd?: boolean } = {}): Promise<Output> {
  const toStdout = path === undefined || path === '-';
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
    if (!opts.zstd) return { stream: f.stream, copiesWrites: true, commit: async (keep) => finishFile(keep) };
    const z = compressor(path);
    z.pipe(f.stream, { end: false });
    return {
      stream: z,
      copiesWrites: false,
      commit: async (keep) => {
        await endCompressor(z, path);
        await finishFile(keep);
      },
    };
  }
  if (!opts.zstd) return { stream: process.stdout, copiesWrites: true, commit: async () => {} };
  const z = compressor('<stdout>');
  z.pipe(process.stdout, { end: false });
  return { stream: z, copiesWrites: false, commit: async () => endCompressor(z, '<stdout>') };
}

function compressor(name: string): CompressStream {
  // loaded here, not at start-up: most runs write no zstd output
  const zstd = createRequire(import.meta.url)('zstd-napi') as typeof import('zstd-napi');
  const z = new zstd.CompressStream();
  z.on('error', (e: Error) => {
    (z as unknown as { failure?: ToolError }).failure = new ToolError('ZSTD_WRITE_FAILED', `zstd compression failed: ${e.message}`, { file: name });
  });
  return z;
}

async function endCompressor(z: CompressStream, name: string): Promise<void> {
  const failure = (): ToolError | undefined => (z as unknown as { failure?: ToolError }).failure;
  if (!failure()) {
    z.end();
    await Promise.race([once(z, 'end'), once(z, 'error')]).catch(() => {});
  }
  const f = failure();
  if (f) throw f;
  void name;
}
