/**
 * csvtool --format parquet: tcp-info snapshots (csvtool's columns, typed,
 * with the archive's UUID; the metadata line is not a snapshot and is left
 * out) or tcpkit records of one kind, streamed into a Parquet file a row
 * group at a time.
 */
import type { LineReader } from '../src/io/lines.js';
import type { TextSink } from '../src/io/sink.js';
import { ParquetWriter } from '../src/output/parquet.js';
import { ParquetLineTarget, TCPINFO_PARQUET, TcpInfoRows } from '../src/output/parquet-rows.js';
import { ArchivalRecordView } from '../src/tcpinfo/archival-record.js';
import { Snapshot } from '../src/tcpinfo/snapshot.js';
import { decodeArchiveLine } from '../src/tcpinfo/convert.js';
import { ToolError } from '../src/util/errors.js';

export interface ParquetRunResult {
  lines: number;
  skipped: number;
  first: ToolError | null;
}

export async function toParquet(lines: LineReader, sink: TextSink, name: string, kind: 'tcpinfo' | 'tcpkit' | 'unknown', o: { skipBad: boolean; records?: string | undefined }): Promise<ParquetRunResult> {
  const res: ParquetRunResult = { lines: 0, skipped: 0, first: null };
  let wait = false;
  const emit = (b: Buffer): boolean => {
    if (sink.write(b)) wait = true;
    return wait;
  };
  const fail = (e: unknown): void => {
    if (!(e instanceof ToolError)) throw e;
    const err = new ToolError(e.code, e.message, { file: name, line: lines.lineNo, offset: lines.lineOffset }, e.exitCode);
    if (!o.skipBad) throw err;
    res.skipped++;
    res.first ??= err;
  };
  if (kind === 'tcpkit') {
    const target = new ParquetLineTarget(emit, 'records', null);
    for (;;) {
      while (lines.nextBuffered()) {
        res.lines++;
        const line = lines.buf.subarray(lines.start, lines.end);
        try {
          if (o.records !== undefined) {
            const r = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
            if (r['record'] !== o.records) continue;
          }
          target.write(Buffer.concat([line, Buffer.from('\n')]));
        } catch (e) {
          fail(e instanceof SyntaxError ? new ToolError('CSVTOOL_BAD_JSON', `invalid JSON: ${e.message}`) : e);
        }
        if (wait) {
          wait = false;
          await sink.ready();
        }
      }
      if (!(await lines.fill())) break;
    }
    target.end();
  } else {
    const view = new ArchivalRecordView();
    const snap = new Snapshot();
    const rows = new TcpInfoRows();
    const w = new ParquetWriter(emit, TCPINFO_PARQUET.columns, { metadata: { 'tcpkit.kind': 'tcpinfo' } });
    for (;;) {
      while (lines.nextBuffered()) {
        res.lines++;
        try {
          decodeArchiveLine(lines.buf, lines.start, lines.end, view, snap);
          const row = rows.row(snap);
          if (row !== null) w.write(row);
        } catch (e) {
          fail(e);
        }
        if (wait) {
          wait = false;
          await sink.ready();
        }
      }
      if (!(await lines.fill())) break;
    }
    w.end();
  }
  await sink.flush();
  if (sink.error) throw sink.error;
  return res;
}
