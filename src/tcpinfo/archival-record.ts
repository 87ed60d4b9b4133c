/**
 * ArchivalRecord: one line of an m-lab tcp-info archive (netlink/archival-record.go).
 *
 *   {"Timestamp":"<RFC3339Nano>","RawIDM":"<base64 inet_diag_msg>","Attributes":[<base64|null>,...]}
 *   {"Timestamp":"0001-01-01T00:00:00Z","Metadata":{"UUID":"...","Sequence":0,"StartTime":"..."}}
 *
 * `ArchivalRecordView` is the reused, allocation-free form the readers fill:
 * the decoded RawIDM and attribute payloads live in one growable buffer
 * (`data`) as (offset, length) pairs; offset -1 means Go's nil (JSON null or
 * absent), length 0 with an offset is a present but empty payload (`""`).
 * `ArchivalRecord` is the plain form used to write archives
 * (encodeArchivalRecord, byte-identical to Go's json.Marshal).
 */
import { GoTime, formatRFC3339Nano } from './go-time.js';
import { encodeBase64 } from './base64.js';

export interface Metadata {
  /** `<uuid-prefix>_<cookie as %016X>`. */
  uuid: string;
  /** File sequence number of the connection (a Go int: BigInt beyond 2^53). */
  sequence: number | bigint;
  /** Timestamp of the connection's first snapshot. */
  startTime: GoTime;
}

export interface ArchivalRecord {
  /** Poll time; Go's zero time for Metadata header lines. */
  timestamp: GoTime;
  /** struct inet_diag_msg bytes (72); null or empty = omitted. */
  rawIdm: Uint8Array | null;
  /** Attributes[type] = payload of netlink attribute `type`, null when absent. */
  attributes: (Uint8Array | null)[] | null;
  metadata: Metadata | null;
}

export class ArchivalRecordView {
  /** Decoded payload bytes of the current line. */
  data: Buffer = Buffer.allocUnsafe(1 << 14);
  used = 0;
  /** Record timestamp (Go zero value when absent or null). */
  readonly timestamp = new GoTime();
  /** When >= 0: the timestamp's text between these offsets of the line is already canonical. */
  tsTextStart = -1;
  tsTextEnd = -1;
  rawIdmOff = -1;
  rawIdmLen = 0;
  /** Number of attribute slots (the JSON array length; 0 when absent/null). */
  attrCount = 0;
  attrOff: Int32Array = new Int32Array(64);
  attrLen: Int32Array = new Int32Array(64);
  metadata: Metadata | null = null;
  /** The line has a tcpkit `record`/`tcpkit` key and neither RawIDM nor Metadata (mixed input). */
  foreignKind = '';

  reset(): void {
    this.used = 0;
    this.timestamp.setZero();
    this.tsTextStart = -1;
    this.tsTextEnd = -1;
    this.rawIdmOff = -1;
    this.rawIdmLen = 0;
    this.attrCount = 0;
    this.metadata = null;
    this.foreignKind = '';
  }

  /** Makes room for `n` more payload bytes; returns the offset to write at. */
  reserve(n: number): number {
    const need = this.used + n;
    if (need > this.data.length) {
      let size = this.data.length * 2;
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.data.copy(next, 0, 0, this.used);
      this.data = next;
    }
    return this.used;
  }

  /** Sets attribute slot `i` (growing the slot arrays); off -1 = nil. */
  setAttr(i: number, off: number, len: number): void {
    if (i >= this.attrOff.length) {
      let size = this.attrOff.length * 2;
      while (size <= i) size *= 2;
      const o = new Int32Array(size);
      const l = new Int32Array(size);
      o.set(this.attrOff);
      l.set(this.attrLen);
      this.attrOff = o;
      this.attrLen = l;
    }
    this.attrOff[i] = off;
    this.attrLen[i] = len;
  }

  /** Payload of attribute `type` as a view into `data` (null when absent); valid until reset(). */
  attribute(type: number): Buffer | null {
    if (type >= this.attrCount || this.attrOff[type]! < 0) return null;
    const off = this.attrOff[type]!;
    return this.data.subarray(off, off + this.attrLen[type]!);
  }

  /** RawIDM as a view into `data` (null when absent). */
  rawIdm(): Buffer | null {
    return this.rawIdmOff < 0 ? null : this.data.subarray(this.rawIdmOff, this.rawIdmOff + this.rawIdmLen);
  }

  /** A detached plain copy of the current record. */
  toRecord(): ArchivalRecord {
    const idm = this.rawIdm();
    let attributes: (Uint8Array | null)[] | null = null;
    if (this.attrCount > 0) {
      attributes = [];
      for (let i = 0; i < this.attrCount; i++) {
        const a = this.attribute(i);
        attributes.push(a === null ? null : Uint8Array.from(a));
      }
    }
    return {
      timestamp: this.timestamp.clone(),
      rawIdm: idm === null ? null : Uint8Array.from(idm),
      attributes,
      metadata: this.metadata === null ? null : { ...this.metadata, startTime: this.metadata.startTime.clone() },
    };
  }
}

/** Go's MarshalJSON of a time.Time (fails outside years 0..9999). */
export function encodeGoTime(t: GoTime): string {
  if (t.year < 0 || t.year > 9999) throw new RangeError('Time.MarshalJSON: year outside of range [0,9999]');
  return '"' + formatRFC3339Nano(t) + '"';
}

const HEX = '0123456789abcdef';

/** Go encoding/json string encoding (escapeHTML on, as json.Marshal does; Go 1.19 escapes). */
export function encodeGoString(s: string): string {
  const b = Buffer.from(s, 'utf8');
  let out = '"';
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) out += String.fromCharCode(c);
      else if (c === 0x22 || c === 0x5c) out += '\\' + String.fromCharCode(c);
      else if (c === 0x0a) out += '\\n';
      else if (c === 0x0d) out += '\\r';
      else if (c === 0x09) out += '\\t';
      else out += '\\u00' + HEX[c >> 4] + HEX[c & 15];
      i++;
      continue;
    }
    // Buffer.from(string) always yields valid UTF-8 (lone surrogates become U+FFFD).
    const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    const ch = b.toString('utf8', i, i + len);
    if (ch === '\u2028') out += '\\u2028';
    else if (ch === '\u2029') out += '\\u2029';
    else out += ch;
    i += len;
  }
  return out + '"';
}

/**
 * One archive line (without the newline), byte-identical to Go's
 * json.Marshal(ArchivalRecord): keys Timestamp, RawIDM (omitted when empty),
 * Attributes (omitted when empty; null for absent types), Metadata (omitted
 * when nil) with UUID, Sequence, StartTime. Non-ASCII only ever appears in
 * the UUID; the result is a normal (UTF-16) JS string: write it as UTF-8.
 */
export function encodeArchivalRecord(r: ArchivalRecord): string {
  let s = '{"Timestamp":' + encodeGoTime(r.timestamp);
  if (r.rawIdm !== null && r.rawIdm.length > 0) s += ',"RawIDM":"' + encodeBase64(r.rawIdm) + '"';
  if (r.attributes !== null && r.attributes.length > 0) {
    s += ',"Attributes":[';
    for (let i = 0; i < r.attributes.length; i++) {
      const a = r.attributes[i]!;
      if (i > 0) s += ',';
      s += a === null ? 'null' : '"' + encodeBase64(a) + '"';
    }
    s += ']';
  }
  if (r.metadata !== null) {
    const m = r.metadata;
    s += ',"Metadata":{"UUID":' + encodeGoString(m.uuid) + ',"Sequence":' + String(m.sequence) + ',"StartTime":' + encodeGoTime(m.startTime) + '}';
  }
  return s + '}';
}
