/**
 * m-lab tcp-info archives: public API of src/tcpinfo.
 *
 * Reading: decodeArchiveLine / archiveToCsv (convert.ts) turn ArchivalRecord
 * JSONL lines into Snapshots and Go-identical CSV; openArchive opens a file
 * or stdin (zstd decompressed in place). Writing: encodeArchivalRecord,
 * makeArchivalRecord (raw netlink -> record), compareRecords + RecordCache
 * (tcp-info's change detection); files and rotation live in
 * src/output/tcpinfo-archive.ts. Kernel layouts: inet_diag.ts, tcp_info.ts,
 * sock_diag.ts.
 */
export { ArchivalRecordView, encodeArchivalRecord, encodeGoString, encodeGoTime, type ArchivalRecord, type Metadata } from './archival-record.js';
export { GoTime, formatRFC3339Nano } from './go-time.js';
export { parseGoTime, lastTimeError, TIME_CANONICAL, TIME_ERROR, TIME_OK } from './go-time-parse.js';
export { decodeBase64, encodeBase64, lastBase64ErrorPos } from './base64.js';
export { scanArchivalRecord } from './record-scanner.js';
export { decodeArchivalRecordGo, E_BAD_BASE64, E_BAD_JSON, E_BAD_TIME, E_BAD_TYPE } from './record-decoder.js';
export { Snapshot, StructSlot, ZERO_TIME_REPLACEMENT, E_EMPTY_CONG, E_EMPTY_RECORD, E_MIXED_INPUT, E_SHORT_RAWIDM, type SnapshotObject } from './snapshot.js';
export { CSV_COLUMNS, CSV_HEADER, CsvRowWriter, goCsvField, goCsvNeedsQuotes } from './csv.js';
export { archiveToCsv, checkArchiveCompression, decodeArchiveLine, describeSkipped, openArchive, type ArchiveCsvOptions, type ArchiveCsvResult } from './convert.js';
export { detectLineKind, type LineKind } from './detect.js';
export { makeArchivalRecord, parseRouteAttrs, readRawNetlinkMessages, isLocalAddress, type NetlinkMessage, type RouteAttr } from './netlink.js';
export * from './compare.js';
export { RecordCache, recordCookie } from './cache.js';
export { ipText, cookieText, i64Text } from './fields.js';
export * from './inet_diag.js';
export { TCP_INFO } from './tcp_info.js';
export { SK_MEMINFO } from './sock_diag.js';
export type { FieldDef, StructDef } from './layout.js';
