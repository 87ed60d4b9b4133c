/**
 * Archive to CSV, streaming (what m-lab's cmd/csvtool does, without loading
 * the whole file first): each line is decoded (fixed-shape scanner, else the
 * Go-semantics decoder), turned into a Snapshot and written as one CSV row
 * as soon as it is read. Output is byte-identical to the Go tool for every
 * input it accepts, except that lines of 64 KiB and more are read instead of
 * silently ending the input (docs/csvtool.md).
 *
 * On a bad line the rows before it are flushed and a ToolError naming the
 * file, line and offset is thrown; with `skipBad` the line is counted by
 * error code and skipped.
 */
import { ToolError } from '../util/errors.js';
import type { LineReader } from '../io/lines.js';
import { openInput, type OpenedInput } from '../io/input.js';
import { ArchivalRecordView } from './archival-record.js';
import { scanArchivalRecord } from './record-scanner.js';
import { decodeArchivalRecordGo } from './record-decoder.js';
import { Snapshot } from './snapshot.js';
import { CSV_HEADER, CsvRowWriter } from './csv.js';
import type { TextSink } from '../io/sink.js';

export interface ArchiveCsvOptions {
  /** Input name for messages. */
  name: string;
  /** Count and skip lines that cannot be decoded instead of failing (default false). */
  skipBad?: boolean;
  /** Write the header line (default true). */
  header?: boolean;
  /** Whether an input without rows still gets the header (default: yes, as Go's csvtool; no after an interrupt). */
  headerWithoutRows?: () => boolean;
}

export interface ArchiveCsvResult {
  /** Lines read. */
  lines: number;
  /** CSV rows written (header excluded). */
  rows: number;
  /** Lines skipped (skipBad only), in total and by error code. */
  skipped: number;
  skippedByCode: Record<string, number>;
  /** The first skipped line's error. */
  firstSkipped: ToolError | null;
  /** Output closed early (EPIPE): reading stopped. */
  outputClosed: boolean;
}

/**
 * Decodes one archive line into `view` and `snap`; throws a ToolError
 * without location on a line Go's csvtool would reject.
 */
export function decodeArchiveLine(b: Buffer, s: number, e: number, view: ArchivalRecordView, snap: Snapshot): Snapshot {
  if (!scanArchivalRecord(b, s, e, view)) decodeArchivalRecordGo(b, s, e, view);
  return snap.decode(view, b);
}

function located(e: ToolError, name: string, line: number, offset: number): ToolError {
  return new ToolError(e.code, e.message, { ...e.context, file: name, line, offset }, e.exitCode);
}

/** Converts the lines of one archive to CSV rows on `sink`. */
export async function archiveToCsv(lines: LineReader, sink: TextSink, options: ArchiveCsvOptions): Promise<ArchiveCsvResult> {
  const result: ArchiveCsvResult = { lines: 0, rows: 0, skipped: 0, skippedByCode: {}, firstSkipped: null, outputClosed: false };
  const view = new ArchivalRecordView();
  const snap = new Snapshot();
  const rows = new CsvRowWriter();
  // the header goes out with the first good row (or at the end), never before a bad first line
  let headerDue = options.header ?? true;
  for (;;) {
    while (lines.nextBuffered()) {
      result.lines++;
      try {
        if (lines.tooLong) throw lines.tooLongError();
        decodeArchiveLine(lines.buf, lines.start, lines.end, view, snap);
        if (headerDue) {
          headerDue = false;
          sink.write(CSV_HEADER);
        }
        rows.write(snap);
      } catch (e) {
        if (!(e instanceof ToolError)) throw e;
        const err = located(e, options.name, lines.lineNo, lines.lineOffset);
        if (!options.skipBad) {
          if (rows.length > 0) sink.write(rows.take());
          await sink.flush();
          throw err;
        }
        result.skipped++;
        result.skippedByCode[err.code] = (result.skippedByCode[err.code] ?? 0) + 1;
        result.firstSkipped ??= err;
        continue;
      }
      result.rows++;
      if (rows.full) {
        if (sink.write(rows.take())) await sink.ready();
        if (sink.closed) {
          result.outputClosed = true;
          return result;
        }
      }
    }
    if (rows.length > 0 && sink.write(rows.take())) await sink.ready();
    let more: boolean;
    try {
      more = await lines.fill();
    } catch (e) {
      await sink.flush();
      if (e instanceof ToolError) {
        throw new ToolError(e.code, `${e.message} (after line ${lines.lineNo})`, e.context, e.exitCode);
      }
      throw e;
    }
    if (!more) break;
  }
  // an input without rows still gets its header, as Go's csvtool writes it
  if (headerDue && (options.headerWithoutRows?.() ?? true)) sink.write(CSV_HEADER);
  await sink.flush();
  result.outputClosed = sink.closed;
  return result;
}

/**
 * Refuses a file named `*.zst` that is not zstd data: Go's csvtool runs
 * `zstd -d` on such names and fails; m-lab archives contain zero-byte `.zst`
 * files (a connection whose writer failed), which would otherwise read as
 * an empty archive.
 */
export function checkArchiveCompression(input: OpenedInput, path: string | undefined): void {
  if (path === undefined || path === '-' || !path.endsWith('.zst') || input.compression !== 'none') return;
  if (input.storedSize === 0) {
    throw new ToolError('TCPINFO_EMPTY_ZST', 'empty file: a .zst archive must hold at least one zstd frame (0 bytes; Go csvtool: ZSTD error)', {
      file: input.name,
    });
  }
  throw new ToolError('TCPINFO_NOT_ZSTD', 'the name ends in .zst but the data is not zstd-compressed (no zstd magic 28 b5 2f fd)', { file: input.name });
}

/** Summary line for --skip-bad: `skipped 3 bad lines (2 TCPINFO_BAD_BASE64, 1 TCPINFO_BAD_JSON); first: ...`. */
export function describeSkipped(r: ArchiveCsvResult): string {
  const parts = Object.entries(r.skippedByCode)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([code, n]) => `${n} ${code}`);
  const first = r.firstSkipped ? `; first: ${r.firstSkipped.describe()}` : '';
  return `skipped ${r.skipped} bad line${r.skipped === 1 ? '' : 's'} of ${r.lines} (${parts.join(', ')})${first}`;
}

/**
 * Opens an archive (file, or `stream` when `path` is absent or `-`) with
 * openInput (which decompresses zstd files straight into the line window)
 * and applies checkArchiveCompression.
 */
export async function openArchive(path: string | undefined, stream: NodeJS.ReadableStream, windowSize = 1 << 20): Promise<OpenedInput> {
  const input = await openInput({ path, stream, windowSize });
  try {
    checkArchiveCompression(input, path);
  } catch (e) {
    await input.window.close();
    throw e;
  }
  return input;
}
