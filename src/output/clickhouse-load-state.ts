/**
 * tcpload's resumable position: a JSON state file recording, per input, how
 * many of its records (in input order) are committed to ClickHouse. It is
 * rewritten atomically after every committed batch; a run that finds it
 * (same target, same inputs) skips what it says is committed and loads the
 * rest. Because the tables replace copies of a record (ReplacingMergeTree
 * keyed by identity), the state only needs to be behind, never ahead: a
 * batch the server took whose commit was not recorded is sent again,
 * harmlessly.
 *
 * An input that changed since (size or modification time) is loaded from
 * its start again.
 */
import { readFileSync, statSync, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { ToolError } from '../util/errors.js';

/** One input as tcpload sees it: a records file, or the captures analysed together. */
export interface LoadInput {
  /** What `_source` says for its rows. */
  name: string;
  /** The files behind it (several for captures analysed together; none for stdin). */
  files: string[];
}

interface FileId {
  path: string;
  size: number;
  mtime_ms: number;
}

interface InputEntry {
  name: string;
  files: FileId[];
  /** Records committed, from the start of the input. */
  records: number;
  /** Batches committed (for messages). */
  batches: number;
  done: boolean;
}

interface StateData {
  tcpkit_load: 1;
  target: string;
  inputs: InputEntry[];
}

function fileIds(files: string[]): FileId[] {
  return files.map((f) => {
    const st = statSync(f);
    return { path: resolve(f), size: st.size, mtime_ms: Math.trunc(st.mtimeMs) };
  });
}

/** The default state file name for a target and its inputs: `.tcpkit-load-<hash>.json` in the current directory. */
export function defaultStatePath(target: string, inputs: readonly LoadInput[]): string {
  const h = createHash('sha256').update(target);
  for (const i of inputs) h.update('\0' + i.name + '\0' + i.files.map((f) => resolve(f)).join('\0'));
  return `.tcpkit-load-${h.digest('hex').slice(0, 12)}.json`;
}

export class LoadState {
  private constructor(
    readonly path: string | null,
    private readonly data: StateData,
    /** What was found and resumed, per input (for messages): records skipped. */
    readonly resumed: number[],
    readonly changed: string[],
  ) {}

  /**
   * Opens (or starts) the state for these inputs. `path` null keeps it in
   * memory only (stdin, or --no-state). With `resume` false an existing file
   * is ignored (and replaced).
   */
  static open(path: string | null, target: string, inputs: readonly LoadInput[], resume: boolean): LoadState {
    const entries: InputEntry[] = inputs.map((i) => ({ name: i.name, files: fileIds(i.files), records: 0, batches: 0, done: false }));
    const resumed = inputs.map(() => 0);
    const changed: string[] = [];
    if (path !== null && resume) {
      let old: StateData | null = null;
      try {
        old = JSON.parse(readFileSync(path, 'utf8')) as StateData;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ToolError('LOAD_STATE_UNREADABLE', `cannot read the load state: ${(e as Error).message} (remove it to load from the start)`, { file: path });
      }
      if (old !== null) {
        if (old.tcpkit_load !== 1 || !Array.isArray(old.inputs)) throw new ToolError('LOAD_STATE_UNREADABLE', 'not a tcpload state file', { file: path });
        if (old.target !== target) throw new ToolError('LOAD_STATE_OTHER_TARGET', `the state file is for ${old.target}, not ${target} (give another --state, or remove it)`, { file: path });
        for (const [k, e] of entries.entries()) {
          const o = old.inputs.find((x) => x.name === e.name);
          if (o === undefined) continue;
          const same = o.files.length === e.files.length && o.files.every((f, j) => f.path === e.files[j]!.path && f.size === e.files[j]!.size && f.mtime_ms === e.files[j]!.mtime_ms);
          if (!same) {
            changed.push(e.name);
            continue;
          }
          e.records = o.records;
          e.batches = o.batches;
          e.done = o.done;
          resumed[k] = o.records;
        }
      }
    }
    return new LoadState(path, { tcpkit_load: 1, target, inputs: entries }, resumed, changed);
  }

  /** Records of input `i` already committed. */
  committed(i: number): number {
    return this.data.inputs[i]!.records;
  }

  isDone(i: number): boolean {
    return this.data.inputs[i]!.done;
  }

  /** Input `i` is committed up to `records` (one more batch). */
  advance(i: number, records: number, done: boolean): void {
    const e = this.data.inputs[i]!;
    if (records > e.records) e.records = records;
    e.batches++;
    if (done) e.done = true;
  }

  /** Writes the state file (atomically: a crash leaves the old one or the new one). */
  async save(): Promise<void> {
    if (this.path === null) return;
    await writeFileAtomic(this.path, JSON.stringify(this.data, null, 1) + '\n', { overwrite: true });
  }

  /** Removes the state file (the load completed and was checked). */
  remove(): void {
    if (this.path === null) return;
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
