/**
 * Refusing an input of the wrong kind before reading it: a capture given to
 * tcpsummary, CSV given to csvtool, records given to tcpanalyze. The first
 * bytes and the first line decide (src/io/sniff.ts); the error names what the
 * input is, whether it was decompressed, and which command reads it.
 */
import type { OpenedInput } from '../src/io/input.js';
import { LineReader } from '../src/io/lines.js';
import { KNOWN_KINDS, decompressedNote, hexHead, sniffContent, wrongKindMessage, type ContentKind } from '../src/io/sniff.js';
import { ToolError, UsageError } from '../src/util/errors.js';

/**
 * Sniffs the input and throws a
 * usage error when it is a known kind the command does not read, or a data
 * error for binary data; returns the kind otherwise, with the
 * LineReader to read the input with (its first line not yet handed out). `wanted` says what the
 * command reads ("tcpkit records (NDJSON)"); `hints` replace the default
 * "which command reads it" text per kind.
 */
export async function refuseWrongInput(
  input: OpenedInput,
  accepts: readonly ContentKind[],
  wanted: string,
  hints: Partial<Record<ContentKind, string>> = {},
  maxLine?: number,
): Promise<{ kind: ContentKind; lines: LineReader }> {
  const w = input.window;
  await w.fill(4); // before the LineReader is made: it sees the bytes buffered then
  const lines = new LineReader(w, { ...(maxLine !== undefined ? { maxLine } : {}), name: input.name });
  if (w.available === 0) return { kind: 'empty', lines };
  let kind = sniffContent(w.buf.subarray(w.pos, w.pos + Math.min(w.available, 4)));
  if (kind !== 'capture') {
    // a line-based kind: decided by the first line (which may still be arriving on a pipe)
    if (await lines.next()) {
      kind = sniffContent(lines.buf.subarray(lines.start, w.end));
      lines.unread();
    }
  }
  if (accepts.includes(kind)) return { kind, lines };
  if (KNOWN_KINDS.has(kind)) throw new UsageError('INPUT_WRONG_KIND', wrongKindMessage(kind, wanted, input.compression, hints[kind]), { file: input.name });
  if (kind === 'binary') {
    throw new ToolError('INPUT_UNKNOWN_KIND', `binary data of an unknown kind, not ${wanted} (first bytes ${hexHead(w.buf.subarray(w.pos, w.end))}${decompressedNote(input.compression)})`, { file: input.name, offset: 0 });
  }
  return { kind, lines };
}
