/**
 * Loading records into ClickHouse tables in batches (tcpload's core):
 *
 * - Records of every kind are encoded as TabSeparated rows into the current
 *   batch, one body per kind; a batch is cut at `batchRows` rows or
 *   `batchBytes` bytes and sent as one INSERT per kind while the next one is
 *   built (one batch in flight: the reader waits when the next is full).
 * - A failed INSERT that can succeed later (the server gone, restarting, a
 *   shard unreachable, too many parts) is sent again after a backoff
 *   (doubling from `backoffMs` to `maxBackoffMs`, with jitter), up to
 *   `retries` times. A batch is committed when every part of it was taken;
 *   then the state file records each input's position.
 * - Copies cannot double rows: the tables are ReplacingMergeTrees keyed by
 *   the record's identity (src/records/ddl-clickhouse.ts). A copy sent twice
 *   is two rows until parts merge, one row under FINAL.
 * - `check()` counts, per table, the rows (under FINAL) whose `_source` is
 *   one of this load's inputs, within the time range of the records read
 *   (so a table of months reads only the loaded days), and compares with the
 *   records read: every
 *   record is there once, except conn records that a later record of the
 *   same uid replaces (tcpcapture's interim records).
 */
import type { RecordSchema, RecordValues } from '../records/schema.js';
import { chString } from '../records/ddl-clickhouse.js';
import { ByteBuilder, TsvEncoder, TsvLineError } from './clickhouse-tsv.js';
import { ClickHouseError, type ClickHouseHttp } from './clickhouse-http.js';
import type { LoadState } from './clickhouse-load-state.js';

/** Where one kind's records go. */
export interface KindTable {
  schema: RecordSchema;
  /** database.table to insert into (a Distributed table on a cluster). */
  table: string;
  /** The INSERT's columns (the kind's fields the table has, and `_source`). */
  columns: string[];
}

export interface LoaderOptions {
  batchRows: number;
  batchBytes: number;
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** One line per retry (what failed and when the next attempt is). */
  onRetry?: (line: string) => void;
  /** Called after each committed batch (progress). */
  onCommit?: (batch: number, rows: number) => void;
  /** Test hook: waiting between attempts. */
  sleep?: (ms: number) => Promise<void>;
}

interface KindState {
  t: KindTable;
  enc: TsvEncoder;
  insertSql: string;
  body: ByteBuilder;
  rows: number;
  /** Records of this kind read (sent or skipped as committed). */
  records: number;
  sentRows: number;
  /** Whole seconds of the earliest and latest `ts` read (the count check reads only that range). */
  minSec: number;
  maxSec: number;
}

interface Batch {
  n: number;
  parts: { k: KindState; body: Buffer; rows: number }[];
  /** Input -> its position after this batch, and whether it ended. */
  marks: Map<number, { pos: number; done: boolean }>;
}

/** Per-kind figures of a load. */
export interface KindCounts {
  kind: string;
  table: string;
  /** Records read from the inputs (this run's and those a resumed run skipped). */
  records: number;
  /** Rows sent by this run. */
  sent: number;
  /** conn records replaced by a later record of the same uid (interim records). */
  superseded: number;
  /** Whole seconds of the earliest and latest ts read (Infinity, -Infinity when none). */
  minSec: number;
  maxSec: number;
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ClickHouseLoader {
  private readonly kinds = new Map<string, KindState>();
  private readonly scratch = new ByteBuilder(1 << 16);
  private rows = 0;
  private bytes = 0;
  private batchNo = 0;
  private inFlight: Promise<void> | null = null;
  private failure: Error | null = null;
  /** Marks of the batch being built. */
  private marks = new Map<number, { pos: number; done: boolean }>();
  /** The input being read, its position (records read) and how many of them are committed already. */
  private input = -1;
  private pos = 0;
  private skip = 0;
  private source = '';
  /** uids of interim conn records seen: a later record of the uid replaces the row. */
  private readonly interim = new Set<string>();
  private superseded = 0;
  /** Records of kinds without a table, by kind. */
  readonly notLoaded = new Map<string, number>();
  /** Lines that could not be encoded (not flat JSON objects, wrong value types). */
  badLines = 0;
  /** Batches and rows this run committed. */
  committedBatches = 0;
  committedRows = 0;

  constructor(
    private readonly http: ClickHouseHttp,
    tables: readonly KindTable[],
    private readonly state: LoadState,
    private readonly o: LoaderOptions,
  ) {
    for (const t of tables) {
      this.kinds.set(t.schema.kind, {
        t,
        enc: new TsvEncoder(t.schema, t.columns),
        insertSql: `INSERT INTO ${t.table} (${t.columns.join(', ')}) FORMAT TabSeparated`,
        body: new ByteBuilder(1 << 20),
        rows: 0,
        records: 0,
        sentRows: 0,
        minSec: Infinity,
        maxSec: -Infinity,
      });
    }
  }

  /** Starts reading input `i` (its `_source` name): records up to its committed position are read and skipped. */
  beginInput(i: number, source: string): void {
    this.input = i;
    this.pos = 0;
    this.skip = this.state.committed(i);
    this.source = source;
  }

  /** The current input ended: a batch is cut so that its end is recorded. */
  endInput(): void {
    this.marks.set(this.input, { pos: this.pos, done: true });
  }

  /** True when the reader should wait (`ready()`) before reading more. */
  get full(): boolean {
    return this.failure !== null || (this.inFlight !== null && (this.rows >= this.o.batchRows || this.bytes >= this.o.batchBytes));
  }

  /** A permanent failure stops the reader. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Resolves when a batch can be sent (the one in flight is done). */
  async ready(): Promise<void> {
    while (this.inFlight !== null && (this.rows >= this.o.batchRows || this.bytes >= this.o.batchBytes) && this.failure === null) {
      await this.inFlight;
      this.cutIfFull();
    }
  }

  /** An NDJSON line of the current input (a record, not the archive's metadata line). `kind` is its `record` value. */
  addLine(kind: string, buf: Buffer, start: number, end: number): void {
    const k = this.kinds.get(kind);
    const pos = ++this.pos;
    if (k === undefined) {
      this.notLoaded.set(kind, (this.notLoaded.get(kind) ?? 0) + 1);
      return;
    }
    const skipped = pos <= this.skip;
    const out = skipped ? this.scratch : k.body;
    const before = out.len;
    try {
      k.enc.jsonLine(buf, start, end, this.source, out);
    } catch (e) {
      if (!(e instanceof TsvLineError)) throw e;
      this.pos--;
      this.badLines++;
      throw e;
    }
    k.records++;
    this.span(k, k.enc.lineNumber('ts'));
    if (kind === 'conn') this.track(k.enc.lineText('uid'), k.enc.lineText('end_reason'));
    if (skipped) {
      this.scratch.reset();
      return;
    }
    this.added(k, out.len - before);
  }

  /** A record object of the current input (a capture analysed on the fly). */
  addRecord(kind: string, r: RecordValues): void {
    const k = this.kinds.get(kind);
    const pos = ++this.pos;
    if (k === undefined) {
      this.notLoaded.set(kind, (this.notLoaded.get(kind) ?? 0) + 1);
      return;
    }
    k.records++;
    const ts = r['ts'];
    this.span(k, ts === null || ts === undefined ? null : String(ts));
    if (kind === 'conn') this.track(r['uid'] as string | null, r['end_reason'] as string | null);
    if (pos <= this.skip) return;
    const before = k.body.len;
    k.enc.record(r, this.source, k.body);
    this.added(k, k.body.len - before);
  }

  /** Widens the kind's time range by a `ts` value's text (seconds since the epoch). */
  private span(k: KindState, ts: string | null): void {
    if (ts === null) return;
    const sec = Math.floor(Number(ts));
    if (!Number.isFinite(sec)) return;
    if (sec < k.minSec) k.minSec = sec;
    if (sec > k.maxSec) k.maxSec = sec;
  }

    private track(uid: string | null | undefined, endReason: string | null | undefined): void {
    if (uid === null || uid === undefined) return;
    if (this.interim.has(uid)) this.superseded++;
    if (endReason === 'interim') this.interim.add(uid);
  }

  private added(k: KindState, n: number): void {
    k.rows++;
    this.rows++;
    this.bytes += n;
    this.marks.set(this.input, { pos: this.pos, done: false });
    this.cutIfFull();
  }

  private cutIfFull(): void {
    if (this.inFlight === null && (this.rows >= this.o.batchRows || this.bytes >= this.o.batchBytes)) this.cut();
  }

  /** Hands the batch being built to the sender (which must be idle). */
  private cut(): void {
    const parts: Batch['parts'] = [];
    for (const k of this.kinds.values()) {
      if (k.rows === 0) continue;
      parts.push({ k, body: k.body.view(), rows: k.rows });
      // the sender owns the old buffer now
      k.body = new ByteBuilder(Math.max(1 << 16, Math.min(k.body.buf.length, 1 << 26)));
      k.rows = 0;
    }
    const b: Batch = { n: ++this.batchNo, parts, marks: this.marks };
    this.marks = new Map();
    this.rows = 0;
    this.bytes = 0;
    this.inFlight = this.send(b).then(
      () => {
        this.inFlight = null;
      },
      (e: Error) => {
        this.failure = e;
        this.inFlight = null;
      },
    );
  }

  private async send(b: Batch): Promise<void> {
    for (const p of b.parts) {
      await this.attempt(() => this.http.insert(p.k.insertSql, p.body, { insert_distributed_sync: 1 }), `batch ${b.n} (${p.rows} ${p.k.t.schema.kind} rows into ${p.k.t.table})`);
      p.k.sentRows += p.rows;
    }
    let rows = 0;
    for (const p of b.parts) rows += p.rows;
    for (const [i, m] of b.marks) this.state.advance(i, m.pos, m.done);
    await this.state.save();
    this.committedBatches++;
    this.committedRows += rows;
    this.o.onCommit?.(b.n, rows);
  }

  /** Runs `fn` until it succeeds, a failure is final, or the retries are used up. */
  async attempt<T>(fn: () => Promise<T>, what: string): Promise<T> {
    const sleep = this.o.sleep ?? sleepMs;
    for (let n = 1; ; n++) {
      try {
        return await fn();
      } catch (e) {
        const retryable = e instanceof ClickHouseError && e.retryable;
        if (!retryable || n > this.o.retries) {
          if (e instanceof ClickHouseError) throw new ClickHouseError(`${what}: ${e.message}${retryable ? ` (gave up after ${n} attempts)` : ''}`, e.serverCode, false, e.code);
          throw e;
        }
        const base = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (n - 1));
        const wait = Math.round(base * (0.5 + Math.random() / 2));
        this.o.onRetry?.(`${what}: ${(e as Error).message}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${n + 1} of ${this.o.retries + 1})`);
        await sleep(wait);
      }
    }
  }

  /** Sends what is left and waits for every batch; throws the first permanent failure. */
  async finish(): Promise<void> {
    if (this.inFlight !== null) await this.inFlight;
    if (this.failure === null && (this.rows > 0 || this.marks.size > 0)) {
      this.cut();
      await this.inFlight;
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Per-kind figures (for the final check and the report). */
  counts(): KindCounts[] {
    return [...this.kinds.values()].map((k) => ({ kind: k.t.schema.kind, table: k.t.table, records: k.records, sent: k.sentRows, superseded: k.t.schema.kind === 'conn' ? this.superseded : 0, minSec: k.minSec, maxSec: k.maxSec }));
  }

  /**
   * The final count check: per table, the rows under FINAL whose `_source`
   * is one of `sources` against the records read. Returns one line per
   * table and whether all agree.
   */
  async check(sources: readonly string[], tables: ReadonlySet<string>): Promise<{ ok: boolean; lines: string[] }> {
    const lines: string[] = [];
    let ok = true;
    const inList = sources.map(chString).join(', ');
    for (const c of this.counts()) {
      if (c.records === 0 || !tables.has(c.table)) continue;
      // only the partitions and granules of the records' time range are read (ts is in the partition and sorting keys)
      const range = Number.isFinite(c.minSec) ? ` AND ts >= toDecimal128('${c.minSec}', 9) AND ts < toDecimal128('${c.maxSec + 1}', 9)` : '';
      const sql = `SELECT count() FROM ${c.table} FINAL WHERE _source IN (${inList})${range} FORMAT TSV`;
      const raw = `SELECT count() FROM ${c.table} WHERE _source IN (${inList})${range} FORMAT TSV`;
      const rows = Number((await this.attempt(() => this.http.query(sql), `count check of ${c.table}`)).trim());
      const copies = Number((await this.attempt(() => this.http.query(raw), `count check of ${c.table}`)).trim());
      const expected = c.records - c.superseded;
      const extra = c.superseded > 0 ? ` (${c.records} records, ${c.superseded} replaced by a later record of their uid)` : '';
      const unmerged = copies > rows ? `; ${copies - rows} copies not merged yet (FINAL shows each row once)` : '';
      if (rows === expected) lines.push(`${c.table}: ${rows} rows, as expected${extra}${unmerged}`);
      else {
        ok = false;
        lines.push(`${c.table}: ${rows} rows where ${expected} were expected${extra}: ${rows < expected ? `${expected - rows} missing (or equal to other records of the inputs)` : `${rows - expected} more (rows of an earlier load from an input of the same name?)`}`);
      }
    }
    return { ok, lines };
  }
}
