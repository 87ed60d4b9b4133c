/**
 * Reading tcpkit NDJSON (tcpanalyze output, plain or inside a zstd archive):
 * each line is a record object with a `record` key, or the archive's
 * metadata line `{"tcpkit":{...}}`. Lines that are not records are handed to
 * `onBad` with a located ToolError (file, line, byte offset) and reading goes
 * on, so one damaged line costs one record, never the rest of the input.
 */
import type { LineReader } from '../io/lines.js';
import { ToolError } from '../util/errors.js';
import type { RecordValues } from './schema.js';

export interface RecordLineHandlers {
  /**
   * A record; the line's bytes are `buf[start, end)` (valid during the call).
   * Return true when the caller should wait (`wait()`) before the next line.
   */
  record(r: RecordValues, buf: Buffer, start: number, end: number): boolean;
  /** The metadata line of a tcpkit archive. */
  meta?(buf: Buffer, start: number, end: number): void;
  /** A line that is not a record (already located). */
  bad(e: ToolError): void;
  /** Awaited when `record` returned true (backpressure). */
  wait?(): Promise<void>;
  /** Polled between lines; true stops reading (SIGINT, output closed). */
  stop?(): boolean;
  /** Called before reading more input (which may block on a pipe): flush what is batched. */
  idle?(): void | Promise<void>;
}

export interface RecordReadResult {
  lines: number;
  records: number;
  bad: number;
  stopped: boolean;
}

const OPEN_BRACE = 0x7b;

/** Parses one line; returns the record, null for a metadata line; throws an unlocated ToolError otherwise. */
export function parseRecordLine(buf: Buffer, start: number, end: number): RecordValues | null {
  let s = start;
  while (s < end && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
  if (s === end) throw new ToolError('RECORD_EMPTY_LINE', 'empty line where a record was expected');
  if (buf[s] !== OPEN_BRACE) throw new ToolError('RECORD_BAD_JSON', 'not a JSON object (a tcpkit record starts with "{")');
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8', s, end));
  } catch (e) {
    throw new ToolError('RECORD_BAD_JSON', `invalid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ToolError('RECORD_BAD_JSON', 'not a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o['record'] === 'string') return o as RecordValues;
  if (o['tcpkit'] !== undefined && typeof o['tcpkit'] === 'object') return null;
  if ('Timestamp' in o || 'RawIDM' in o) throw new ToolError('RECORD_MIXED_INPUT', 'a tcp-info archive record among tcpkit records: mixed input is not supported');
  throw new ToolError('RECORD_NOT_A_RECORD', 'the object has no "record" key (not a tcpkit record)');
}

/**
 * The exact text of a number field of a record line (`"ts":1600000000.123456789`
 * gives "1600000000.123456789"), or null: JSON.parse reads such a time as a
 * double and drops its last digits. Looks only at top-level keys written as
 * tcpkit writes them (no spaces around the colon).
 */
export function rawNumberField(buf: Buffer, start: number, end: number, key: string): string | null {
  const pat = `"${key}":`;
  let i = buf.indexOf(pat, start, 'latin1');
  while (i >= 0 && i < end) {
    // a key starts after "{" or ","
    const before = buf[i - 1];
    if (before === 0x7b || before === 0x2c) {
      let j = i + pat.length;
      const s = j;
      while (j < end && ((buf[j]! >= 0x30 && buf[j]! <= 0x39) || buf[j] === 0x2e || buf[j] === 0x2d)) j++;
      return j > s ? buf.toString('latin1', s, j) : null;
    }
    i = buf.indexOf(pat, i + 1, 'latin1');
  }
  return null;
}

/** Reads every line of `lines` (from its current position) as tcpkit records. */
export async function readRecordLines(lines: LineReader, name: string, h: RecordLineHandlers): Promise<RecordReadResult> {
  const res: RecordReadResult = { lines: 0, records: 0, bad: 0, stopped: false };
  const stop = h.stop;
  for (;;) {
    while (lines.nextBuffered()) {
      res.lines++;
      if (lines.tooLong) {
        res.bad++;
        h.bad(lines.tooLongError());
        continue;
      }
      let r: RecordValues | null;
      try {
        r = parseRecordLine(lines.buf, lines.start, lines.end);
      } catch (e) {
        if (!(e instanceof ToolError)) throw e;
        res.bad++;
        h.bad(new ToolError(e.code, e.message, { file: name, line: lines.lineNo, offset: lines.lineOffset }));
        continue;
      }
      if (r === null) {
        h.meta?.(lines.buf, lines.start, lines.end);
        continue;
      }
      res.records++;
      if (h.record(r, lines.buf, lines.start, lines.end) && h.wait) await h.wait();
      if (stop && stop()) {
        res.stopped = true;
        return res;
      }
    }
    if (stop && stop()) {
      res.stopped = true;
      return res;
    }
    await h.idle?.();
    if (!(await lines.fill())) break;
  }
  return res;
}
