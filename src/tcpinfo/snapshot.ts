/**
 * Snapshot: one decoded archive line, as tcp-info's `snapshot.Decode`
 * (snapshot/snapshot.go) builds it from an ArchivalRecord.
 *
 * - Timestamp: Go's zero time is replaced by 2009-05-29T23:59:59Z (the
 *   "HACK" in snapshot.Reader.Next), so Metadata lines print that time.
 * - A record needs RawIDM or Metadata (TCPINFO_EMPTY_RECORD); a present
 *   RawIDM needs >= 72 bytes (TCPINFO_SHORT_RAWIDM).
 * - Attributes by INET_DIAG type: structs shorter than Go's struct are
 *   zero-padded (ok), longer ones truncated (not ok); one-byte scalars need
 *   >= 1 byte; MARK exactly 4; CONG drops its last byte (Go panics on an
 *   empty one: TCPINFO_EMPTY_CONG here); CLASS_ID keeps only its low byte;
 *   SKV6ONLY, LOCALS, PEERS, PAD, MD5SIG and unknown types are never ok.
 * - Observed / NotFullyParsed: bit `1 << uint8(t-1)` per present type, with
 *   Go's shift semantics (t = 0 and t >= 33 give no bit; t = 257 wraps to 1).
 *
 * The snapshot is a reusable view: struct fields are (buffer, offset) pairs
 * into the record's decoded bytes or into per-type zero-padded scratch
 * buffers; nothing is allocated per line except the timestamp text.
 */
import { ToolError } from '../util/errors.js';
import type { ArchivalRecordView, Metadata } from './archival-record.js';
import { GoTime, formatRFC3339Nano } from './go-time.js';
import {
  BBRINFO,
  DCTCPINFO,
  INET_DIAG_BBRINFO,
  INET_DIAG_CLASS_ID,
  INET_DIAG_CONG,
  INET_DIAG_DCTCPINFO,
  INET_DIAG_INFO,
  INET_DIAG_MARK,
  INET_DIAG_MEMINFO,
  INET_DIAG_MSG,
  INET_DIAG_MSG_SIZE,
  INET_DIAG_PROTOCOL,
  INET_DIAG_SHUTDOWN,
  INET_DIAG_SKMEMINFO,
  INET_DIAG_TCLASS,
  INET_DIAG_TOS,
  INET_DIAG_VEGASINFO,
  MEMINFO,
  VEGASINFO,
} from './inet_diag.js';
import { SK_MEMINFO } from './sock_diag.js';
import { TCP_INFO } from './tcp_info.js';
import { structObject, u32At, type FieldValue } from './fields.js';
import type { StructDef } from './layout.js';

export const E_EMPTY_RECORD = 'TCPINFO_EMPTY_RECORD';
export const E_SHORT_RAWIDM = 'TCPINFO_SHORT_RAWIDM';
export const E_EMPTY_CONG = 'TCPINFO_EMPTY_CONG';
export const E_MIXED_INPUT = 'TCPINFO_MIXED_INPUT';

/** Go's replacement for a zero Timestamp (snapshot.Reader.Next "HACK"). */
export const ZERO_TIME_REPLACEMENT = '2009-05-29T23:59:59Z';
const HACK_TIME = new GoTime().setUtc(2009, 5, 29, 23, 59, 59, 0);

/**
 * A struct attribute: where its payload bytes are. A payload shorter than
 * Go's struct reads as zero past its end (Go copies it into a zeroed struct);
 * `padded()` makes that copy for callers that want whole-struct offsets, the
 * CSV writer reads the short payload in place.
 */
export class StructSlot {
  buf: Buffer | null = null;
  off = 0;
  /** Payload length (may be shorter or longer than def.size). */
  len = 0;
  readonly def: StructDef;
  private readonly scratch: Buffer;
  constructor(def: StructDef) {
    this.def = def;
    this.scratch = Buffer.alloc(def.size);
  }
  clear(): void {
    this.buf = null;
  }
  /** Points at `len` bytes at data[off]; returns Go's "ok" (len <= struct size). */
  set(data: Buffer, off: number, len: number): boolean {
    this.buf = data;
    this.off = off;
    this.len = len;
    return len <= this.def.size;
  }
  /** [buffer, offset] of the whole struct, zero-padded when the payload is short. */
  padded(): [Buffer, number] {
    const b = this.buf!;
    const size = this.def.size;
    if (this.len >= size) return [b, this.off];
    const scratch = this.scratch;
    b.copy(scratch, 0, this.off, this.off + this.len);
    scratch.fill(0, this.len);
    return [scratch, 0];
  }
  toObject(): Record<string, FieldValue> | null {
    if (this.buf === null) return null;
    const [b, o] = this.padded();
    return structObject(this.def, b, o);
  }
}

export class Snapshot {
  readonly timestamp = new GoTime();
  /** When not null: the line bytes tsBuf[tsStart, tsEnd) are the timestamp exactly as Go prints it. */
  tsBuf: Buffer | null = null;
  tsStart = 0;
  tsEnd = 0;
  private tsString: string | null = ZERO_TIME_REPLACEMENT;
  observed = 0;
  notFullyParsed = 0;
  metadata: Metadata | null = null;
  readonly idm = new StructSlot(INET_DIAG_MSG);
  /** INET_DIAG_CONG bytes without the last one, in `congBuf` (absent: congLen -1). */
  congBuf: Buffer | null = null;
  congOff = 0;
  congLen = -1;
  tos = 0;
  tclass = 0;
  classId = 0;
  shutdown = 0;
  protocol = 0;
  mark = 0;
  readonly tcpInfo = new StructSlot(TCP_INFO);
  readonly memInfo = new StructSlot(MEMINFO);
  readonly socketMem = new StructSlot(SK_MEMINFO);
  readonly vegasInfo = new StructSlot(VEGASINFO);
  readonly dctcpInfo = new StructSlot(DCTCPINFO);
  readonly bbrInfo = new StructSlot(BBRINFO);

  /**
   * Decodes `v` (filled from `line`, which holds the timestamp text when it
   * is canonical). Throws a ToolError without location on a record Go rejects.
   */
  decode(v: ArchivalRecordView, line: Buffer | null = null): this {
    this.tsBuf = null;
    if (v.timestamp.isZero()) {
      this.timestamp.copyFrom(HACK_TIME);
      this.tsString = ZERO_TIME_REPLACEMENT;
    } else {
      this.timestamp.copyFrom(v.timestamp);
      this.tsString = null;
      if (line !== null && v.tsTextStart >= 0) {
        this.tsBuf = line;
        this.tsStart = v.tsTextStart;
        this.tsEnd = v.tsTextEnd;
      }
    }
    if (v.metadata === null && v.rawIdmOff < 0) {
      if (v.foreignKind) {
        throw new ToolError(E_MIXED_INPUT, `a tcpkit record (key "${v.foreignKind}") in a tcp-info archive: mixed input is not supported`);
      }
      throw new ToolError(E_EMPTY_RECORD, 'the record has neither RawIDM nor Metadata (Go: Message should contain Metadata or RawIDM)');
    }
    this.metadata = v.metadata;
    const data = v.data;
    this.idm.clear();
    if (v.rawIdmOff >= 0) {
      if (v.rawIdmLen < INET_DIAG_MSG_SIZE) {
        throw new ToolError(E_SHORT_RAWIDM, `RawIDM has ${v.rawIdmLen} bytes; struct inet_diag_msg needs ${INET_DIAG_MSG_SIZE} (Go: Unable to parse InetDiagMsg)`);
      }
      this.idm.set(data, v.rawIdmOff, INET_DIAG_MSG_SIZE);
    }
    this.observed = 0;
    this.notFullyParsed = 0;
    this.congLen = -1;
    this.tos = this.tclass = this.classId = this.shutdown = this.protocol = this.mark = 0;
    this.tcpInfo.clear();
    this.memInfo.clear();
    this.socketMem.clear();
    this.vegasInfo.clear();
    this.dctcpInfo.clear();
    this.bbrInfo.clear();
    const n = v.attrCount;
    const offs = v.attrOff;
    const lens = v.attrLen;
    for (let t = 0; t < n; t++) {
      const off = offs[t]!;
      if (off < 0) continue;
      const len = lens[t]!;
      let ok = false;
      switch (t) {
        case INET_DIAG_MEMINFO:
          ok = this.memInfo.set(data, off, len);
          break;
        case INET_DIAG_INFO:
          ok = this.tcpInfo.set(data, off, len);
          break;
        case INET_DIAG_VEGASINFO:
          ok = this.vegasInfo.set(data, off, len);
          break;
        case INET_DIAG_CONG:
          if (len === 0) throw new ToolError(E_EMPTY_CONG, 'Attributes[4] (INET_DIAG_CONG, congestion algorithm) is empty (Go csvtool panics here)');
          this.congBuf = data;
          this.congOff = off;
          this.congLen = len - 1;
          ok = true;
          break;
        case INET_DIAG_TOS:
          if ((ok = len >= 1)) this.tos = data[off]!;
          break;
        case INET_DIAG_TCLASS:
          if ((ok = len >= 1)) this.tclass = data[off]!;
          break;
        case INET_DIAG_SKMEMINFO:
          ok = this.socketMem.set(data, off, len);
          break;
        case INET_DIAG_SHUTDOWN:
          if ((ok = len >= 1)) this.shutdown = data[off]!;
          break;
        case INET_DIAG_DCTCPINFO:
          ok = this.dctcpInfo.set(data, off, len);
          break;
        case INET_DIAG_PROTOCOL:
          if ((ok = len >= 1)) this.protocol = data[off]!;
          break;
        case INET_DIAG_MARK:
          if ((ok = len === 4)) this.mark = u32At(data, off);
          break;
        case INET_DIAG_BBRINFO:
          ok = this.bbrInfo.set(data, off, len);
          break;
        case INET_DIAG_CLASS_ID:
          if ((ok = len >= 1)) this.classId = data[off]!;
          break;
        default:
          // NONE, SKV6ONLY, LOCALS, PEERS, PAD, MD5SIG and types Go does not know.
          break;
      }
      const shift = (t - 1) & 255;
      if (shift < 32) {
        const bit = 1 << shift;
        this.observed |= bit;
        if (!ok) this.notFullyParsed |= bit;
      }
    }
    this.observed >>>= 0;
    this.notFullyParsed >>>= 0;
    return this;
  }

  /** Timestamp as Go prints it (RFC3339Nano); valid until the next decode(). */
  get timestampText(): string {
    if (this.tsString === null) {
      this.tsString = this.tsBuf !== null ? this.tsBuf.toString('latin1', this.tsStart, this.tsEnd) : formatRFC3339Nano(this.timestamp);
    }
    return this.tsString;
  }

  /** The congestion algorithm name (bytes as latin1 text; '' when absent). */
  get congestionAlgorithm(): string {
    return this.congLen < 0 ? '' : this.congBuf!.toString('latin1', this.congOff, this.congOff + this.congLen);
  }

  /** A detached plain object (BigInt for 64-bit fields; structs null when absent). */
  toObject(): SnapshotObject {
    return {
      timestamp: this.timestampText,
      observed: this.observed,
      notFullyParsed: this.notFullyParsed,
      metadata: this.metadata === null ? null : { ...this.metadata, startTime: this.metadata.startTime.clone() },
      idm: this.idm.toObject(),
      congestionAlgorithm: this.congestionAlgorithm,
      tos: this.tos,
      tclass: this.tclass,
      classId: this.classId,
      shutdown: this.shutdown,
      protocol: this.protocol,
      mark: this.mark,
      tcpInfo: this.tcpInfo.toObject(),
      memInfo: this.memInfo.toObject(),
      socketMem: this.socketMem.toObject(),
      vegasInfo: this.vegasInfo.toObject(),
      dctcpInfo: this.dctcpInfo.toObject(),
      bbrInfo: this.bbrInfo.toObject(),
    };
  }
}

export interface SnapshotObject {
  timestamp: string;
  observed: number;
  notFullyParsed: number;
  metadata: Metadata | null;
  idm: Record<string, FieldValue> | null;
  congestionAlgorithm: string;
  tos: number;
  tclass: number;
  classId: number;
  shutdown: number;
  protocol: number;
  mark: number;
  tcpInfo: Record<string, FieldValue> | null;
  memInfo: Record<string, FieldValue> | null;
  socketMem: Record<string, FieldValue> | null;
  vegasInfo: Record<string, FieldValue> | null;
  dctcpInfo: Record<string, FieldValue> | null;
  bbrInfo: Record<string, FieldValue> | null;
}
