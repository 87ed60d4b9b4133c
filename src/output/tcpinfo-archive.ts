/**
 * Archive files in m-lab tcp-info's layout (saver/saver.go):
 *
 *   <dir>/YYYY/MM/DD/<prefix>_<COOKIE %016X>.<seq %05d>.jsonl.zst
 *
 * One file per connection segment: line 1 is the Metadata header
 * `{"Timestamp":"0001-01-01T00:00:00Z","Metadata":{"UUID":…,"Sequence":n,"StartTime":…}}`,
 * then one ArchivalRecord per line (encodeArchivalRecord: Go's exact JSON).
 * A connection's file is rotated on the first write after its expiration;
 * the expiration starts at the connection's first write and advances by the
 * rotation interval (10 minutes) at each rotation, as tcp-info does. The
 * date directory is the UTC date of the connection's StartTime for segment 0
 * and of the rotation time for later segments.
 *
 * A connection that reappears (its cookie missing from one poll, then seen
 * again) must not overwrite its earlier file, where tcp-info restarts at
 * sequence 0 and truncates it: a cookie that ended in this run continues
 * its sequence (the writer remembers the next sequence of the last
 * `rememberEnded` ended cookies), and a segment name already on disk (a
 * previous run, or a cookie forgotten since) moves on to the next free
 * sequence. The Metadata line carries the sequence actually used.
 * `maxOpenFiles` caps the segments open at once (descriptors, compressor
 * memory): the least recently written one is completed first.
 *
 * Files are zstd-compressed in-process (src/io/zstd.ts, level 3
 * with a checksum: what the `zstd` CLI tcp-info pipes into writes; streaming,
 * so frames carry no content size). Each file is written under a temporary
 * name and renamed only when complete (src/io/atomic.ts): a failed or
 * interrupted run never leaves a half file under a final name, and a
 * compressor or disk error is an error (tcp-info only logs it).
 */
import { once } from 'node:events';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transform } from 'node:stream';
import { createZstdCompress } from '../io/zstd.js';
import { ToolError } from '../util/errors.js';
import { AtomicFile } from '../io/atomic.js';
import { encodeArchivalRecord, type ArchivalRecord } from '../tcpinfo/archival-record.js';
import { GoTime } from '../tcpinfo/go-time.js';

export const DEFAULT_ROTATE_NS = 600_000_000_000n;

export interface TcpInfoArchiveOptions {
  /** Root directory (tcp-info's -output). */
  dir: string;
  /** UUID prefix, e.g. `host.example.com_1553815964` (tcp-info: `<hostname>_<boot time>`). */
  uuidPrefix: string;
  /** Segment age before rotation, in nanoseconds (default 10 minutes). */
  rotateNs?: bigint;
  /** zstd level (default 3, the zstd CLI's default). */
  level?: number;
  /** Replace existing files (default false: a segment name already on disk is skipped for the next sequence). */
  overwrite?: boolean;
  /** Makes the compressor (default createZstdCompress at `level` with a checksum). */
  createCompressor?: () => Transform;
  /** Keep the list of completed paths in `completed` (default true; a long-running writer turns it off). */
  keepCompleted?: boolean;
  /** Told of every segment file created and completed (path relative to dir). */
  onFile?: (event: 'created' | 'completed', path: string) => void;
  /** How many ended cookies keep their next sequence number (default 65536; oldest forgotten first). */
  rememberEnded?: number;
  /**
   * Most segment files open at once (default unlimited). Opening one more
   * first completes the segment written least recently; that connection
   * continues in its next segment when it writes again. Bounds file
   * descriptors and compressor memory with many live connections.
   */
  maxOpenFiles?: number;
}

/** `<prefix>_<cookie as %016X>` (m-lab/uuid FromCookie). */
export function connectionUuid(prefix: string, cookie: bigint): string {
  return `${prefix}_${cookie.toString(16).toUpperCase().padStart(16, '0')}`;
}

function p2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** Relative path of a segment file: `YYYY/MM/DD/<uuid>.<seq %05d>.jsonl.zst` (date of `day`, UTC). */
export function segmentPath(uuid: string, sequence: number, day: GoTime): string {
  const d = day.toUtc();
  return `${String(d.year).padStart(4, '0')}/${p2(d.month)}/${p2(d.day)}/${uuid}.${String(sequence).padStart(5, '0')}.jsonl.zst`;
}

/** One compressed segment file being written. */
class SegmentFile {
  private failure: Error | null = null;
  private constructor(
    readonly path: string,
    private readonly file: AtomicFile,
    private readonly zstd: Transform,
  ) {
    zstd.on('error', (e: Error) => {
      this.failure ??= e;
    });
    zstd.pipe(file.stream, { end: false });
  }

  static async create(path: string, options: TcpInfoArchiveOptions): Promise<SegmentFile> {
    const file = await AtomicFile.create(path, { overwrite: options.overwrite ?? false });
    let zstd: Transform;
    try {
      zstd = options.createCompressor ? options.createCompressor() : createZstdCompress({ level: options.level ?? 3, checksum: true });
    } catch (e) {
      await file.abort();
      throw compressError(path, e);
    }
    return new SegmentFile(path, file, zstd);
  }

  private check(): void {
    if (this.failure) throw compressError(this.path, this.failure);
  }

  async writeLine(line: string): Promise<void> {
    this.check();
    if (!this.zstd.write(line + '\n')) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.zstd.off('drain', done);
          this.zstd.off('error', done);
          resolve();
        };
        this.zstd.on('drain', done);
        this.zstd.on('error', done);
      });
    }
    this.check();
  }

  /** Ends the zstd frame, then flushes, fsyncs and renames the file into place. */
  async finish(): Promise<void> {
    try {
      this.check();
      const ended = once(this.zstd, 'end');
      this.zstd.end();
      await ended;
      this.check();
    } catch (e) {
      await this.file.abort();
      throw e instanceof ToolError ? e : compressError(this.path, e);
    }
    await this.file.commit();
  }

  async abort(): Promise<void> {
    this.zstd.destroy();
    await this.file.abort();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function compressError(path: string, e: unknown): ToolError {
  const msg = e instanceof Error ? e.message : String(e);
  return new ToolError('ARCHIVE_COMPRESS_FAILED', `zstd compression failed: ${msg}`, { file: path });
}

interface Connection {
  cookie: bigint;
  uuid: string;
  startTime: GoTime;
  /** Next segment number. */
  sequence: number;
  expirationNs: bigint;
  file: SegmentFile | null;
}

/**
 * Writes snapshot records into per-connection segment files. The caller
 * decides which records to write (change detection: src/tcpinfo/compare.ts)
 * and gives the time used for rotation (the poll time).
 */
export class TcpInfoArchiveWriter {
  private readonly options: TcpInfoArchiveOptions;
  private readonly rotateNs: bigint;
  private readonly conns = new Map<bigint, Connection>();
  /** Next sequence number of recently ended cookies (insertion order = age). */
  private readonly endedSequence = new Map<bigint, number>();
  /** Paths (relative to dir) of the files completed so far (unless keepCompleted is false). */
  readonly completed: string[] = [];
  /** Connections with an open file, least recently written first. */
  private readonly open = new Map<bigint, Connection>();
  /** Segment names skipped because a file of that name already existed. */
  skippedExisting = 0;
  /** Segments completed early to stay within maxOpenFiles. */
  closedEarly = 0;

  constructor(options: TcpInfoArchiveOptions) {
    if (!options.dir) throw new ToolError('ARCHIVE_BAD_OPTIONS', 'dir is required');
    if (!options.uuidPrefix) throw new ToolError('ARCHIVE_BAD_OPTIONS', 'uuidPrefix is required');
    this.options = options;
    this.rotateNs = options.rotateNs ?? DEFAULT_ROTATE_NS;
  }

  /** Connections with an open file. */
  get openConnections(): number {
    return this.open.size;
  }

  /**
   * Appends `record` to connection `cookie`'s current file, opening the first
   * segment (StartTime = the record's Timestamp) or rotating as needed.
   */
  async write(cookie: bigint, record: ArchivalRecord, now: GoTime): Promise<void> {
    const nowNs = now.unixNanos();
    let c = this.conns.get(cookie);
    if (c === undefined) {
      const sequence = this.endedSequence.get(cookie) ?? 0;
      this.endedSequence.delete(cookie);
      c = { cookie, uuid: connectionUuid(this.options.uuidPrefix, cookie), startTime: record.timestamp.clone(), sequence, expirationNs: nowNs, file: null };
      this.conns.set(cookie, c);
    }
    if (c.file !== null && nowNs > c.expirationNs) await this.finishFile(c);
    if (c.file === null) {
      const max = this.options.maxOpenFiles ?? Infinity;
      while (this.open.size >= max) {
        this.closedEarly++;
        await this.finishFile(this.open.values().next().value!);
      }
      await this.rotate(c, now);
    }
    this.open.delete(cookie);
    this.open.set(cookie, c);
    try {
      await c.file!.writeLine(encodeArchivalRecord(record));
    } catch (e) {
      // A broken segment is dropped whole (its temporary file removed); the error goes to the caller.
      const f = c.file!;
      c.file = null;
      this.open.delete(cookie);
      await f.abort();
      throw e;
    }
  }

  /** The relative path of `c`'s next segment, moving past names already on disk (unless overwriting). */
  private async freeSegmentPath(c: Connection, now: GoTime): Promise<string> {
    for (;;) {
      const rel = segmentPath(c.uuid, c.sequence, c.sequence === 0 ? c.startTime : now);
      if (this.options.overwrite || !(await exists(join(this.options.dir, rel)))) return rel;
      this.skippedExisting++;
      c.sequence++;
    }
  }

  private async rotate(c: Connection, now: GoTime): Promise<void> {
    const rel = await this.freeSegmentPath(c, now);
    const file = await SegmentFile.create(join(this.options.dir, rel), this.options);
    const header: ArchivalRecord = {
      timestamp: new GoTime(),
      rawIdm: null,
      attributes: null,
      metadata: { uuid: c.uuid, sequence: c.sequence, startTime: c.startTime },
    };
    try {
      await file.writeLine(encodeArchivalRecord(header));
    } catch (e) {
      await file.abort();
      throw e;
    }
    c.file = file;
    c.expirationNs += this.rotateNs;
    c.sequence++;
    this.options.onFile?.('created', rel);
  }

  private async finishFile(c: Connection): Promise<void> {
    const f = c.file!;
    c.file = null;
    this.open.delete(c.cookie);
    await f.finish();
    const rel = f.path.slice(this.options.dir.length).replace(/^[/\\]+/, '');
    if (this.options.keepCompleted ?? true) this.completed.push(rel);
    this.options.onFile?.('completed', rel);
  }

  /**
   * The connection ended: completes its file. A cookie seen again later
   * continues with the next sequence number (tcp-info starts over at 0 and
   * truncates the first file).
   */
  async end(cookie: bigint): Promise<void> {
    const c = this.conns.get(cookie);
    if (c === undefined) return;
    this.conns.delete(cookie);
    this.endedSequence.set(cookie, c.sequence);
    const keep = this.options.rememberEnded ?? 65536;
    while (this.endedSequence.size > keep) this.endedSequence.delete(this.endedSequence.keys().next().value!);
    if (c.file !== null) await this.finishFile(c);
  }

  /** Completes every open file. */
  async close(): Promise<void> {
    let first: unknown = null;
    for (const cookie of [...this.conns.keys()]) {
      try {
        await this.end(cookie);
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== null) throw first;
  }

  /** Discards every open file (temporary files removed, nothing renamed). */
  async abort(): Promise<void> {
    for (const c of this.conns.values()) if (c.file !== null) await c.file.abort();
    this.conns.clear();
    this.open.clear();
  }
}
