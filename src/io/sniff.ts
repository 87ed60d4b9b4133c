/**
 * What an input is, from its first bytes (after decompression): a capture,
 * tcpkit records, an m-lab tcp-info archive, CSV, a tcpsummary summary,
 * other JSON or text, or binary data. The commands use it to refuse an input
 * of the wrong kind with one line that says what it is and which command
 * reads it, instead of reporting every line of it as unreadable.
 */

export type ContentKind = 'capture' | 'records' | 'tcpinfo' | 'records-csv' | 'tcpinfo-csv' | 'csv' | 'summary' | 'json' | 'text' | 'binary' | 'empty';

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1]);
const PCAPNG_SHB = 0x0a0d0d0a;

/** The first line of `head` (without CR), or all of it when no newline is in it. */
function firstLine(head: Uint8Array): string {
  let end = head.indexOf(0x0a);
  if (end < 0) end = head.length;
  if (end > 0 && head[end - 1] === 0x0d) end--;
  return Buffer.from(head.buffer, head.byteOffset, end).toString('utf8');
}

function printable(head: Uint8Array): boolean {
  const n = Math.min(head.length, 512);
  for (let i = 0; i < n; i++) {
    const c = head[i]!;
    if (c < 0x09 || (c > 0x0d && c < 0x20) || c === 0x7f) return false;
  }
  return true;
}

/** Keys of the JSON object on the first line, lower-cased; null when it is not one (or is cut). */
function objectKeys(line: string): Map<string, unknown> | null {
  if (!line.trimStart().startsWith('{')) return null;
  try {
    const v = JSON.parse(line) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k.toLowerCase(), x]));
  } catch {
    return null;
  }
}

/** Decides what `head`, the first bytes of an input, holds. */
export function sniffContent(head: Uint8Array): ContentKind {
  if (head.length === 0) return 'empty';
  if (head.length >= 4) {
    const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
    if (PCAP_MAGICS.has(be) || be === PCAPNG_SHB) return 'capture';
  }
  if (!printable(head)) return 'binary';
  // tcpsummary's summary is indented JSON: its first line is only "{"
  if (/^\s*\{\s*"summary"\s*:\s*\{/.test(Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 64)).toString('utf8'))) return 'summary';
  const line = firstLine(head);
  const keys = objectKeys(line);
  if (keys !== null) {
    if (typeof keys.get('record') === 'string' || (keys.size === 1 && typeof keys.get('tcpkit') === 'object')) return 'records';
    if (keys.has('timestamp') && (keys.has('rawidm') || keys.has('metadata'))) return 'tcpinfo';
    if (keys.has('summary') && keys.has('filters')) return 'summary';
    return 'json';
  }
  const t = line.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) return 'json';
  if (/^ts,uid,community_id,/.test(line) || /^ts,end_ts,proto,/.test(line)) return 'records-csv';
  if (/^Timestamp,Observed,/.test(line)) return 'tcpinfo-csv';
  if (/^[^,]+(,[^,]*){2,}$/.test(line)) return 'csv';
  return 'text';
}

/** What each kind is, in a message ("tcpkit connection records (NDJSON)"). */
export const CONTENT_TEXT: Record<ContentKind, string> = {
  capture: 'a pcap or pcapng capture',
  records: 'tcpkit records (NDJSON)',
  tcpinfo: 'an m-lab tcp-info archive (JSONL)',
  'records-csv': 'tcpkit records as CSV (csvtool output)',
  'tcpinfo-csv': 'tcp-info snapshots as CSV (csvtool output)',
  csv: 'CSV text',
  summary: 'a tcpsummary JSON summary',
  json: 'JSON of another kind',
  text: 'text',
  binary: 'binary data of an unknown kind',
  empty: 'empty',
};

/** Which tcpkit commands read each kind (empty when none does). */
export const CONTENT_READERS: Record<ContentKind, string> = {
  capture: 'tcpanalyze rebuilds its connections; tcpfilter selects its packets',
  records: 'tcpsummary summarises them, tcpfilter selects them, csvtool converts them to CSV',
  tcpinfo: 'csvtool converts it to CSV, tcpfilter selects its sockets',
  'records-csv': 'the tcpkit commands read records as NDJSON (tcpanalyze writes it by default, or with -o conns.ndjson)',
  'tcpinfo-csv': 'the tcpkit commands read the archive itself (JSONL, plain or zstd), not its CSV',
  csv: 'no tcpkit command reads CSV',
  summary: 'tcpsummary --since takes it as the earlier summary',
  json: '',
  text: '',
  binary: '',
  empty: '',
};

/** The first bytes as hex, for messages: "7b 22 72 65". */
export function hexHead(head: Uint8Array, n = 4): string {
  return [...head.subarray(0, n)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** ", after gunzip" / ", after zstd decompression" for an input that was decompressed, else "". */
export function decompressedNote(compression: 'none' | 'gzip' | 'zstd'): string {
  return compression === 'gzip' ? ', after gunzip' : compression === 'zstd' ? ', after zstd decompression' : '';
}

/** Kinds a command can name with confidence (the rest are left to its own line errors). */
export const KNOWN_KINDS: ReadonlySet<ContentKind> = new Set<ContentKind>(['capture', 'records', 'tcpinfo', 'records-csv', 'tcpinfo-csv', 'csv', 'summary']);

/**
 * One message for an input of a kind the command does not read: what it is
 * (said to be decompressed when it was), what the command wanted, and which
 * command reads it: "tcpkit records (NDJSON, after gunzip), not a pcap or
 * pcapng capture: tcpsummary summarises them, ...".
 */
export function wrongKindMessage(kind: ContentKind, wanted: string, compression: 'none' | 'gzip' | 'zstd', hint = ''): string {
  const what = CONTENT_TEXT[kind];
  const note = decompressedNote(compression);
  const described = note === '' ? what : what.endsWith(')') ? `${what.slice(0, -1)}${note})` : `${what} (${note.slice(2)})`;
  const readers = hint !== '' ? hint : CONTENT_READERS[kind];
  return `${described}, not ${wanted}${readers !== '' ? `: ${readers}` : ''}`;
}
