/**
 * tcpfilter on line inputs: tcpkit NDJSON records and tcp-info archives.
 * Selected lines are copied through byte for byte (a record is never
 * re-serialised), so the output is in the input's kind and any reader of
 * the input reads it. A tcpkit archive's metadata line is kept; a tcp-info
 * archive's Metadata line is kept when a snapshot after it is.
 * Lines that cannot be read are counted and handed to `bad`, never copied.
 */
import { ByteBatch, type ByteTarget } from '../io/byte-batch.js';
import type { LineReader } from '../io/lines.js';
import { readRecordLines } from '../records/ndjson-reader.js';
import type { Selector } from '../filter/select.js';
import { socketRecord } from '../filter/socket-record.js';
import { ArchivalRecordView } from '../tcpinfo/archival-record.js';
import { scanArchivalRecord } from '../tcpinfo/record-scanner.js';
import { decodeArchivalRecordGo } from '../tcpinfo/record-decoder.js';
import { ToolError } from '../util/errors.js';

export interface LineFilterOptions {
  name: string;
  selector: Selector;
  /** Keep the lines that do NOT match (grep -v). */
  invert: boolean;
  target: ByteTarget;
  /** Backpressure wait. */
  wait: () => Promise<void>;
  stop: () => boolean;
  bad: (e: ToolError) => void;
}

export interface LineFilterResult {
  lines: number;
  /** Records (or snapshots) read and kept. */
  records: number;
  kept: number;
  bad: number;
  stopped: boolean;
}

/** tcpkit NDJSON records. */
export async function filterRecordLines(lines: LineReader, o: LineFilterOptions): Promise<LineFilterResult> {
  const batch = new ByteBatch(o.target);
  let kept = 0;
  const sel = o.selector;
  let res;
  try {
    res = await readRecordLines(lines, o.name, {
      meta: (b, s, e) => void batch.append(b, s, e, true),
      record: (r, b, s, e) => {
        if (sel.accepts(r) === o.invert) return false;
        kept++;
        return batch.append(b, s, e, true);
      },
      bad: o.bad,
      wait: o.wait,
      stop: o.stop,
      // lines selected so far go out before a read that may wait on a live pipe
      idle: async () => {
        batch.flush();
        await o.wait();
      },
    });
  } finally {
    batch.flush(); // what was selected before an input error is still written
  }
  await o.wait();
  return { lines: res.lines, records: res.records, kept, bad: res.bad, stopped: res.stopped };
}

/** m-lab tcp-info archives: each snapshot is matched on its socket's addresses and ports. */
export async function filterTcpInfoLines(lines: LineReader, o: LineFilterOptions): Promise<LineFilterResult> {
  const batch = new ByteBatch(o.target);
  const res: LineFilterResult = { lines: 0, records: 0, kept: 0, bad: 0, stopped: false };
  try {
    await tcpInfoLoop(lines, o, batch, res);
  } finally {
    batch.flush(); // what was selected before an input error is still written
  }
  await o.wait();
  return res;
}

async function tcpInfoLoop(lines: LineReader, o: LineFilterOptions, batch: ByteBatch, res: LineFilterResult): Promise<void> {
  const view = new ArchivalRecordView();
  let pendingMeta: Buffer | null = null;
  const sel = o.selector;
  const fail = (code: string, message: string): void => {
    res.bad++;
    o.bad(new ToolError(code, message, { file: o.name, line: lines.lineNo, offset: lines.lineOffset }));
  };
  for (;;) {
    while (lines.nextBuffered()) {
      res.lines++;
      if (lines.tooLong) {
        res.bad++;
        o.bad(lines.tooLongError());
        continue;
      }
      const b = lines.buf, s = lines.start, e = lines.end;
      try {
        if (!scanArchivalRecord(b, s, e, view)) decodeArchivalRecordGo(b, s, e, view);
      } catch (err) {
        if (!(err instanceof ToolError)) throw err;
        fail(err.code, err.message);
        continue;
      }
      if (view.rawIdmOff < 0) {
        if (view.metadata !== null) pendingMeta = Buffer.from(b.subarray(s, e));
        else fail('TCPINFO_NO_SOCKET', 'a snapshot without RawIDM: no socket to match');
        continue;
      }
      res.records++;
      const sr = socketRecord(view.data.subarray(view.rawIdmOff, view.rawIdmOff + view.rawIdmLen));
      if (sr === null) {
        fail('TCPINFO_NO_SOCKET', `RawIDM of ${view.rawIdmLen} bytes is not an IPv4 or IPv6 inet_diag_msg`);
        continue;
      }
      if (sel.namesWithDirs(sr.record, sr.tx, sr.rx).length > 0 === o.invert) continue;
      res.kept++;
      if (pendingMeta !== null) {
        batch.append(pendingMeta, 0, pendingMeta.length, true);
        pendingMeta = null;
      }
      if (batch.append(b, s, e, true)) await o.wait();
      if (o.stop()) {
        res.stopped = true;
        return;
      }
    }
    if (o.stop()) {
      res.stopped = true;
      return;
    }
    batch.flush(); // snapshots selected so far go out before a read that may wait on a live pipe
    await o.wait();
    if (!(await lines.fill())) return;
  }
}
