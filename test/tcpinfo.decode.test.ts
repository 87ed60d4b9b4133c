/**
 * Decoding archive lines (src/tcpinfo/record-scanner.ts, record-decoder.ts,
 * snapshot.ts): Go encoding/json semantics on unusual but valid JSON, the
 * fast scanner agreeing with the Go-semantics decoder on every real line and
 * on mutated lines, the Snapshot object API against the Go CSV, and the
 * first-line kind detection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { decompress } from './_zstd.js';
import { ToolError } from '../src/util/errors.js';
import { ArchivalRecordView } from '../src/tcpinfo/archival-record.js';
import { scanArchivalRecord } from '../src/tcpinfo/record-scanner.js';
import { decodeArchivalRecordGo } from '../src/tcpinfo/record-decoder.js';
import { decodeArchiveLine } from '../src/tcpinfo/convert.js';
import { Snapshot } from '../src/tcpinfo/snapshot.js';
import { CSV_COLUMNS, goCsvField } from '../src/tcpinfo/csv.js';
import { detectLineKind } from '../src/tcpinfo/detect.js';
import { formatRFC3339Nano } from '../src/tcpinfo/go-time.js';

const FIX = new URL('../../fixtures/tcpinfo/', import.meta.url).pathname;

function repoLines(name: string): Buffer[] {
  const text = decompress(readFileSync(join(FIX, 'repo', name)));
  const out: Buffer[] = [];
  let p = 0;
  while (p < text.length) {
    const e = text.indexOf(10, p);
    out.push(text.subarray(p, e));
    p = e + 1;
  }
  return out;
}

const ARCHIVES = ['archiveRecords.jsonl.zst', 'finwait2-sample_1554836592_unsafe_000000000135A272.00000.jsonl.zst', 'ndt-jdczh_1553815964_00000000000003E8.00183.jsonl.zst'];
const BASE_LINE = repoLines(ARCHIVES[2]!)[1]!.toString('latin1');
const BASE_IDM = JSON.parse(BASE_LINE).RawIDM as string;

/** A decoded line as plain data: timestamp text, hex payloads, metadata; or the error code. */
function summary(line: string, how: 'go' | 'fast' = 'go'): unknown {
  const b = Buffer.from(line, 'utf8');
  const v = new ArchivalRecordView();
  try {
    if (how === 'fast') {
      if (!scanArchivalRecord(b, 0, b.length, v)) return 'declined';
    } else {
      decodeArchivalRecordGo(b, 0, b.length, v);
    }
  } catch (e) {
    if (e instanceof ToolError) return `${e.code}: ${e.message}`;
    throw e;
  }
  const r = v.toRecord();
  const hex = (x: Uint8Array | null): string | null => (x === null ? null : Buffer.from(x).toString('hex'));
  return {
    ts: formatRFC3339Nano(r.timestamp) + (r.timestamp.isZero() ? ' (zero)' : ''),
    tsText: v.tsTextStart >= 0 ? b.toString('latin1', v.tsTextStart, v.tsTextEnd) : null,
    idm: hex(r.rawIdm)?.slice(0, 16) ?? null,
    idmLen: r.rawIdm?.length ?? null,
    attrs: r.attributes?.map(hex) ?? null,
    meta: r.metadata && { uuid: r.metadata.uuid, seq: r.metadata.sequence, start: formatRFC3339Nano(r.metadata.startTime) },
    foreign: v.foreignKind || undefined,
  };
}

test('unusual but valid JSON decodes with Go encoding/json semantics', () => {
  const T = '"2019-04-02T14:12:37.511Z"';
  const I = `"${BASE_IDM}"`;
  const cases: Record<string, string> = {
    lowercaseKeys: `{"timestamp":${T},"rawidm":${I}}`,
    upperKeys: `{"TIMESTAMP":${T},"RAWIDM":${I},"ATTRIBUTES":[null,"AA=="]}`,
    longSInKey: `{"Time\u017Ftamp":${T},"RawIDM":${I}}`,
    escapedKey: `{"Time\\u0073tamp":${T},"Raw\\u0049DM":${I}}`,
    whitespace: ` { "Timestamp" : ${T} ,\t"RawIDM" : ${I} , "Attributes" : [ null , "AA==" ] }\r `,
    duplicateRawIdmLastWins: `{"Timestamp":${T},"RawIDM":"AAAA","RawIDM":${I}}`,
    nullRawIdmAfterValue: `{"Timestamp":${T},"RawIDM":${I},"RawIDM":null,"Metadata":{"UUID":"u"}}`,
    nullTimestampKeepsValue: `{"Timestamp":${T},"Timestamp":null,"RawIDM":${I}}`,
    duplicateTimestampLastWins: `{"Timestamp":"2000-01-01T00:00:00Z","Timestamp":${T},"RawIDM":${I}}`,
    metadataMerges: `{"Timestamp":${T},"Metadata":{"UUID":"a","Sequence":7},"Metadata":{"UUID":"b"}}`,
    metadataNullDrops: `{"Timestamp":${T},"RawIDM":${I},"Metadata":{"UUID":"a"},"Metadata":null}`,
    metadataFieldNullsKeep: `{"Timestamp":${T},"Metadata":{"UUID":"a","Sequence":3,"StartTime":${T}},"Metadata":{"UUID":null,"Sequence":null,"StartTime":null}}`,
    sequenceMinusZero: `{"Timestamp":${T},"Metadata":{"Sequence":-0}}`,
    sequenceBeyond2p53: `{"Timestamp":${T},"Metadata":{"Sequence":9007199254740993}}`,
    unknownKeysIgnored: `{"Foo":[1,{"x":null}],"Timestamp":${T},"RawIDM":${I},"Bar":"\\u00e9"}`,
    bytesAsNumberArray: `{"Timestamp":${T},"RawIDM":${I},"Attributes":[null,[1,2,255],[],""]}`,
    base64WithEscapes: `{"Timestamp":${T},"RawIDM":${I},"Attributes":[null,"Y3Vi\\naWMA","\\u0041A=="]}`,
    attributesNull: `{"Timestamp":${T},"RawIDM":${I},"Attributes":null}`,
    emptyAttributes: `{"Timestamp":${T},"RawIDM":${I},"Attributes":[]}`,
    topLevelNull: `null`,
    tcpkitRecord: `{"record":"conn","uid":"C1"}`,
    rawIdmNumber: `{"Timestamp":${T},"RawIDM":5}`,
    attributesObject: `{"Timestamp":${T},"RawIDM":${I},"Attributes":{}}`,
    byteOutOfRange: `{"Timestamp":${T},"RawIDM":${I},"Attributes":[[256]]}`,
    byteNotInteger: `{"Timestamp":${T},"RawIDM":${I},"Attributes":[[1.0]]}`,
    sequenceExponent: `{"Timestamp":${T},"Metadata":{"Sequence":1e3}}`,
    timestampNumber: `{"Timestamp":5,"RawIDM":${I}}`,
    timestampEscaped: `{"Timestamp":"2019\\u002d04-02T14:12:37Z","RawIDM":${I}}`,
    badEscape: `{"Timestamp":${T},"RawIDM":"\\x41"}`,
    controlCharInString: `{"Timestamp":${T},"Metadata":{"UUID":"a\tb"}}`,
    trailingComma: `{"Timestamp":${T},}`,
    leadingZeroNumber: `{"Timestamp":${T},"Metadata":{"Sequence":01}}`,
    deepNesting: `{"x":${'['.repeat(10001)}${']'.repeat(10001)}}`,
  };
  const got = Object.fromEntries(Object.entries(cases).map(([k, line]) => [k, summary(line)]));
  const idm = Buffer.from(BASE_IDM, 'base64').toString('hex').slice(0, 16);
  const base = { ts: '2019-04-02T14:12:37.511Z', tsText: '2019-04-02T14:12:37.511Z', idm, idmLen: 72, attrs: null, meta: null, foreign: undefined };
  assert.deepEqual(got, {
    lowercaseKeys: base,
    upperKeys: { ...base, attrs: [null, '00'] },
    longSInKey: base,
    escapedKey: base,
    whitespace: { ...base, attrs: [null, '00'] },
    duplicateRawIdmLastWins: base,
    nullRawIdmAfterValue: { ...base, idm: null, idmLen: null, meta: { uuid: 'u', seq: 0, start: '0001-01-01T00:00:00Z' } },
    nullTimestampKeepsValue: base,
    duplicateTimestampLastWins: base,
    metadataMerges: { ...base, idm: null, idmLen: null, meta: { uuid: 'b', seq: 7, start: '0001-01-01T00:00:00Z' } },
    metadataNullDrops: base,
    metadataFieldNullsKeep: { ...base, idm: null, idmLen: null, meta: { uuid: 'a', seq: 3, start: '2019-04-02T14:12:37.511Z' } },
    sequenceMinusZero: { ...base, idm: null, idmLen: null, meta: { uuid: '', seq: 0, start: '0001-01-01T00:00:00Z' } },
    sequenceBeyond2p53: { ...base, idm: null, idmLen: null, meta: { uuid: '', seq: 9007199254740993n, start: '0001-01-01T00:00:00Z' } },
    unknownKeysIgnored: base,
    bytesAsNumberArray: { ...base, attrs: [null, '0102ff', '', ''] },
    base64WithEscapes: { ...base, attrs: [null, '637562696300', '00'] },
    attributesNull: base,
    emptyAttributes: base,
    topLevelNull: { ...base, ts: '0001-01-01T00:00:00Z (zero)', tsText: null, idm: null, idmLen: null },
    tcpkitRecord: { ...base, ts: '0001-01-01T00:00:00Z (zero)', tsText: null, idm: null, idmLen: null, foreign: 'record' },
    rawIdmNumber: 'TCPINFO_BAD_TYPE: json: cannot unmarshal number into Go struct field ArchivalRecord.RawIDM of type inetdiag.RawInetDiagMsg',
    attributesObject: 'TCPINFO_BAD_TYPE: json: cannot unmarshal object into Go struct field ArchivalRecord.Attributes of type [][]uint8',
    byteOutOfRange: 'TCPINFO_BAD_TYPE: json: cannot unmarshal number 256 into Go struct field ArchivalRecord.Attributes of type uint8 in Attributes[0][0]',
    byteNotInteger: 'TCPINFO_BAD_TYPE: json: cannot unmarshal number 1.0 into Go struct field ArchivalRecord.Attributes of type uint8 in Attributes[0][0]',
    sequenceExponent: 'TCPINFO_BAD_TYPE: json: cannot unmarshal number 1e3 into Go struct field Metadata.Metadata.Sequence of type int',
    timestampNumber: 'TCPINFO_BAD_TIME: parsing time "5" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "5" as "\\"" in Timestamp',
    timestampEscaped:
      'TCPINFO_BAD_TIME: parsing time "\\"2019\\\\u002d04-02T14:12:37Z\\"" as "\\"2006-01-02T15:04:05Z07:00\\"": cannot parse "\\\\u002d04-02T14:12:37Z\\"" as "-" in Timestamp',
    badEscape: "TCPINFO_BAD_JSON: invalid JSON: invalid character 'x' in string escape code at column 52",
    controlCharInString: "TCPINFO_BAD_JSON: invalid JSON: invalid character '\\t' in string literal at column 62",
    trailingComma: "TCPINFO_BAD_JSON: invalid JSON: invalid character '}' looking for beginning of object key string at column 41",
    leadingZeroNumber: "TCPINFO_BAD_JSON: invalid JSON: invalid character '1' after object key:value pair at column 65",
    deepNesting: 'TCPINFO_BAD_JSON: invalid JSON: exceeded max depth at column 10005',
  });
});

test('the fast scanner accepts every line of the real archives and decodes it exactly like the Go-semantics decoder', () => {
  let n = 0;
  for (const name of ARCHIVES) {
    for (const line of repoLines(name)) {
      const s = line.toString('latin1');
      const fast = summary(s, 'fast');
      assert.notEqual(fast, 'declined', `${name}: ${s.slice(0, 80)}`);
      assert.deepEqual(fast, summary(s, 'go'));
      n++;
    }
  }
  assert.equal(n, 420 + 63 + 151);
});

test('on mutated lines the fast scanner either declines or agrees with the Go-semantics decoder (property)', () => {
  const meta = repoLines(ARCHIVES[2]!)[0]!.toString('latin1');
  const alphabet = ['"', '\\', ',', ':', '{', '}', '[', ']', ' ', '\r', '\t', 'n', 'u', 'l', '0', '9', 'A', '=', '/', '+', '-', 'T', 'Z', '.', '\u00e9', '\u0000'];
  fc.assert(
    fc.property(
      fc.constantFrom(BASE_LINE, meta),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.constantFrom(...alphabet)), { minLength: 1, maxLength: 3 }),
      (line, edits) => {
        let s = line;
        for (const [at, op, ch] of edits) {
          const i = at % (s.length + 1);
          s = op === 'insert' ? s.slice(0, i) + ch + s.slice(i) : op === 'delete' ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + ch + s.slice(i + 1);
        }
        const fast = summary(s, 'fast');
        if (fast !== 'declined') assert.deepEqual(fast, summary(s, 'go'), s);
      },
    ),
    { numRuns: 3000 },
  );
});

/** A CSV row printed from Snapshot.toObject() (independently of the row writer). */
function rowFromObject(snap: Snapshot): string {
  const o = snap.toObject();
  const cells: string[] = [o.timestamp, String(o.observed), String(o.notFullyParsed)];
  const struct = (s: Record<string, unknown> | null, n: number): void => {
    if (s === null) cells.push(...Array<string>(n).fill(''));
    else cells.push(...Object.entries(s).map(([k, v]) => (k === 'Cookie' ? (v as bigint).toString(16).toUpperCase() : String(v))));
  };
  struct(o.idm, 15);
  cells.push(goCsvField(o.congestionAlgorithm), ...[o.tos, o.tclass, o.classId, o.shutdown, o.protocol, o.mark].map(String));
  struct(o.tcpInfo, 54);
  struct(o.memInfo, 4);
  struct(o.socketMem, 9);
  struct(o.vegasInfo, 4);
  struct(o.dctcpInfo, 5);
  struct(o.bbrInfo, 4);
  return cells.join(',');
}

test('Snapshot.toObject() holds the values the Go csvtool prints, 64-bit fields as exact BigInt', () => {
  const golden = readFileSync(join(FIX, 'repo-golden', 'ndt-jdczh_1553815964_00000000000003E8.00183.jsonl.csv'), 'latin1').split('\n');
  assert.equal(golden[0], CSV_COLUMNS.join(','));
  const view = new ArchivalRecordView();
  const snap = new Snapshot();
  const lines = repoLines(ARCHIVES[2]!);
  const rows = lines.map((l) => rowFromObject(decodeArchiveLine(l, 0, l.length, view, snap)));
  assert.deepEqual(rows, golden.slice(1, -1));
  const o = decodeArchiveLine(lines[1]!, 0, lines[1]!.length, view, snap).toObject();
  assert.deepEqual(
    { idm: o.idm, pacing: o.tcpInfo!['PacingRate'], maxPacing: o.tcpInfo!['MaxPacingRate'], cong: o.congestionAlgorithm, observed: o.observed },
    {
      idm: { Family: 10, State: 1, Timer: 2, Retrans: 0, SPort: 9091, DPort: 43508, Src: '192.168.14.134', Dst: '192.168.14.129', Interface: 0, Cookie: 0x3e8n, Expires: 4294967152, Rqueue: 0, Wqueue: 0, UID: 0, Inode: 63873711 },
      pacing: 38828n,
      maxPacing: -1n,
      cong: 'cubic',
      observed: 251,
    },
  );
});

test('the first line tells a tcp-info archive from tcpkit NDJSON', () => {
  const kinds = Object.fromEntries(
    Object.entries({
      snapshot: BASE_LINE,
      metadata: repoLines(ARCHIVES[2]!)[0]!.toString('latin1'),
      lowercase: '{"timestamp":"x","rawidm":"y"}',
      tcpkitRecord: '{"record":"conn","uid":"C1","orig_bytes":3}',
      tcpkitMeta: '{"tcpkit":{"version":"0.1.0"}}',
      timestampOnly: '{"Timestamp":"2019-04-02T14:12:37.511Z"}',
      notJson: 'hello',
      array: '[1,2]',
      empty: '',
    }).map(([k, line]) => [k, detectLineKind(Buffer.from(line, 'latin1'), 0, line.length)]),
  );
  assert.deepEqual(kinds, {
    snapshot: 'tcpinfo',
    metadata: 'tcpinfo',
    lowercase: 'tcpinfo',
    tcpkitRecord: 'tcpkit',
    tcpkitMeta: 'tcpkit',
    timestampOnly: 'unknown',
    notJson: 'unknown',
    array: 'unknown',
    empty: 'unknown',
  });
});

test('a tcpkit record inside a tcp-info archive is reported as mixed input', () => {
  const line = Buffer.from('{"record":"conn","uid":"C1"}');
  assert.throws(
    () => decodeArchiveLine(line, 0, line.length, new ArchivalRecordView(), new Snapshot()),
    (e: unknown) => e instanceof ToolError && e.code === 'TCPINFO_MIXED_INPUT' && /mixed input/.test(e.message),
  );
});
