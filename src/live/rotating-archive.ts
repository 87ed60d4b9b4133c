/**
 * Rotating tcpkit archives for live captures: one zstd NDJSON file per
 * interval, named by the interval's start time (UTC, nanoseconds):
 *
 *   <dir>/[<subdir>/]YYYY/MM/DD/<prefix>_YYYYMMDDTHHMMSS.NNNNNNNNNZ.jsonl.zst
 *
 * Each file opens with the tcpkit metadata line (`{"tcpkit":{...}}`, as
 * `tcpanalyze -o x.jsonl.zst` writes) and is completed and renamed into
 * place at the rotation that ends its interval, as goProbe and tcp-info
 * rotate; the file of the interval being written keeps a temporary name
 * (`.tcpkit-<name>.<random>.tmp`), so readers that pick files up by name
 * only ever see complete ones. A file is created with the first line of its
 * interval: intervals without records leave no file.
 */
import { join } from 'node:path';
import { ArchiveFile } from './archive-file.js';

export interface RotatingArchiveOptions {
  /** Root directory. */
  dir: string;
  /** Folder under `dir` (e.g. `flows`), or none. */
  subdir?: string;
  /** File name prefix (`conns`, `flows`). */
  prefix: string;
  /** The metadata line that opens each file, given the start of its interval. */
  metaLine: (startSec: number, startNsec: number) => string;
  /** Called with each completed file's path, relative to `dir`. */
  onCompleted?: (relPath: string) => void;
}

/** Files completing at once before the writer waits (each holds a compressor and a file). */
const MAX_FINISHING = 4;

const p2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** `YYYY/MM/DD/<prefix>_YYYYMMDDTHHMMSS.NNNNNNNNNZ.jsonl.zst` for a start time (UTC). */
export function archiveFileName(prefix: string, sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const y = String(d.getUTCFullYear()).padStart(4, '0'), mo = p2(d.getUTCMonth() + 1), da = p2(d.getUTCDate());
  const clock = `${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}`;
  return `${y}/${mo}/${da}/${prefix}_${y}${mo}${da}T${clock}.${String(nsec).padStart(9, '0')}Z.jsonl.zst`;
}

export class RotatingArchive {
  private readonly opts: RotatingArchiveOptions;
  private current: ArchiveFile | null = null;
  private currentRel = '';
  private startSec = 0;
  private startNsec = 0;
  private started = false;
  private readonly finishing = new Set<Promise<void>>();
  private failure: Error | null = null;
  /** Every file that failed, in order (a second run into the same folder may collide with several files). */
  readonly failures: Error[] = [];
  /** Paths (relative to dir) of the completed files, in completion order. */
  readonly completed: string[] = [];
  /** Records written (metadata lines not counted). */
  records = 0;

  constructor(opts: RotatingArchiveOptions) {
    this.opts = opts;
  }

  /** The first error of any file (creation, compression, writing, renaming). */
  get error(): Error | null {
    return this.failure ?? this.current?.error ?? null;
  }

  /** Sets the start of the first interval (before any write). */
  start(sec: number, nsec: number): void {
    this.startSec = sec;
    this.startNsec = nsec;
    this.started = true;
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Writes one record line into the file of the current interval (created on first use). */
  write(line: string): void {
    if (this.current === null) {
      this.currentRel = join(this.opts.subdir ?? '', archiveFileName(this.opts.prefix, this.startSec, this.startNsec));
      this.current = new ArchiveFile(join(this.opts.dir, this.currentRel));
      this.current.writeLine(this.opts.metaLine(this.startSec, this.startNsec));
    }
    this.current.writeLine(line);
    this.records++;
  }

  /** Ends the current interval (its file is completed in the background); the next starts at (sec, nsec). */
  rotate(sec: number, nsec: number): void {
    this.completeCurrent();
    this.startSec = sec;
    this.startNsec = nsec;
  }

  private completeCurrent(): void {
    const f = this.current;
    if (f === null) return;
    const rel = this.currentRel;
    this.current = null;
    const p: Promise<void> = f.finish().then(
      () => {
        this.completed.push(rel);
        this.opts.onCompleted?.(rel);
      },
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        this.failure ??= err;
        this.failures.push(err);
      },
    );
    this.finishing.add(p);
    void p.finally(() => this.finishing.delete(p));
  }

  /** A promise while the writer should pause (compressor full, or too many files completing), else null. */
  wait(): Promise<void> | null {
    const w = this.current?.wait() ?? null;
    if (w !== null) return w;
    if (this.finishing.size >= MAX_FINISHING) return Promise.race(this.finishing);
    return null;
  }

  /** Completes the current file and waits for every file; throws the first failure (all are in `failures`). */
  async close(): Promise<void> {
    this.completeCurrent();
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
    if (this.failure !== null) throw this.failure;
  }

  /** Temporary names of the files not yet completed (for removal at an abnormal exit). */
  tempPaths(): string[] {
    const t = this.current?.tempPath;
    return t ? [t] : [];
  }
}
