/**
 * Output destinations for the commands: stdout, or a file written under a
 * temporary name in the same directory and renamed into place only when the
 * command completes, so an interrupted run never leaves a half file.
 */
import { createWriteStream, unlinkSync, type WriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { UsageError } from '../src/util/errors.js';

export interface Output {
  stream: Writable;
  /** Finishes the output: closes and renames a file into place. */
  commit(keep: boolean): Promise<void>;
}

export async function openOutput(path: string | undefined): Promise<Output> {
  if (path === undefined || path === '-') {
    return { stream: process.stdout, commit: async () => {} };
  }
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const ws: WriteStream = createWriteStream(tmp);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (e) => reject(new UsageError('OUTPUT_OPEN_FAILED', `cannot write: ${e.message}`, { file: path })));
  });
  let committed = false;
  // An abnormal exit removes the temporary file: no half file is left behind.
  process.once('exit', () => {
    if (committed) return;
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  });
  return {
    stream: ws,
    commit: async (keep: boolean) => {
      await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
      committed = true;
      if (keep) await rename(tmp, path);
      else await unlink(tmp).catch(() => {});
    },
  };
}
