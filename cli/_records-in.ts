/**
 * Records from whatever the user gives (tcpcheck, tcpdiff): captures,
 * analysed as tcpanalyze analyses them (several captures merged by time,
 * with the decoders asked for), or tcpkit records and archives, read line by
 * line. Each record reaches `onRecord` with its kind in `record`.
 */
import { openInput, type OpenedInput } from '../src/io/input.js';
import { LineReader } from '../src/io/lines.js';
import { isCaptureMagic } from '../src/capture/open.js';
import { readRecordLines } from '../src/records/ndjson-reader.js';
import { CONN_SCHEMA, type RecordValues } from '../src/records/index.js';
import { analyzeOpened } from '../src/analysis/pipeline.js';
import { AppLayer } from '../src/analysis/app-layer.js';
import type { ProtocolDef } from '../src/protocols/decoder.js';
import { ToolError, UsageError } from '../src/util/errors.js';

export interface ReadOptions {
  onRecord: (r: RecordValues) => void;
  /** A line that is not a record (skipped; counted). */
  onBad?: (e: ToolError) => void;
  /** Decoders to run on captures. */
  protocols?: readonly ProtocolDef[];
  idleTimeoutMs: number;
  closeLingerMs: number;
  synTimeoutMs: number;
  /** A file whose first line is one JSON object that is not a record (a tcpsummary summary): returned whole instead of read as records. */
  acceptSummary?: boolean;
}

export interface ReadResult {
  /** The first data error (a damaged input); what came before it was read. */
  dataError: Error | null;
  badLines: number;
  /** The summary JSON, when acceptSummary and the input was one. */
  summary: unknown;
  captures: number;
}

export async function readRecordInputs(files: readonly string[], stdin: NodeJS.ReadableStream, o: ReadOptions): Promise<ReadResult> {
  const res: ReadResult = { dataError: null, badLines: 0, summary: null, captures: 0 };
  const captures: OpenedInput[] = [];
  for (const f of files) {
    const input = await openInput(f === '-' ? { path: '-', stream: stdin } : { path: f });
    const w = input.window;
    await w.fill(4).catch(() => {});
    if (w.available >= 4 && isCaptureMagic(w.buf.readUInt32BE(w.pos))) {
      captures.push(input);
      continue;
    }
    try {
      if (o.acceptSummary) {
        // a tcpsummary JSON summary (pretty-printed over several lines) is read whole
        const head = w.buf.toString('utf8', w.pos, w.pos + Math.min(w.available, 64));
        if (/^\s*\{\s*"summary"/.test(head)) {
          const chunks: Buffer[] = [];
          for (;;) {
            if (w.available > 0) chunks.push(Buffer.from(w.buf.subarray(w.pos, w.end)));
            w.pos = w.end;
            if (!(await w.fill(1))) break;
          }
          try {
            res.summary = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          } catch (e) {
            throw new UsageError('INPUT_BAD_SUMMARY', `not a readable tcpsummary summary: ${(e as Error).message}`, { file: input.name });
          }
          continue;
        }
      }
      await readRecordLines(new LineReader(w), input.name, {
        record: (r) => {
          o.onRecord(r);
          return false;
        },
        bad: (e: ToolError) => {
          res.badLines++;
          o.onBad?.(e);
        },
      });
    } catch (e) {
      if (e instanceof UsageError) throw e;
      res.dataError ??= e as Error;
    } finally {
      await w.close().catch(() => {});
    }
  }
  if (captures.length > 0) {
    res.captures = captures.length;
    const protocols = o.protocols ?? [];
    const app = protocols.length > 0 ? new AppLayer({ protocols, onTransaction: (schema, r) => o.onRecord({ record: schema.kind, ...r }) }) : undefined;
    const r = await analyzeOpened(captures, {
      idleTimeoutMs: o.idleTimeoutMs,
      closeLingerMs: o.closeLingerMs,
      synTimeoutMs: o.synTimeoutMs,
      ...(app ? { app } : {}),
      onRecord: (rec) => o.onRecord({ record: CONN_SCHEMA.kind, ...rec }),
    });
    if (r.errors.length > 0) res.dataError ??= r.errors[0]!;
  }
  return res;
}
