/**
 * Slow path for archive lines: Go's `json.Unmarshal(line, &ArchivalRecord{})`
 * (Go 1.19 encoding/json) applied to the tree from go-json.ts:
 *
 * - keys match case-insensitively (plus Go's ſ/K folding), unknown keys are
 *   ignored, a repeated key is decoded again (last wins; a repeated Metadata
 *   object merges into the first, as Go decodes into the existing pointer);
 * - `null` sets RawIDM/Attributes/Metadata/attribute slots to nil and leaves
 *   Timestamp, UUID, Sequence and StartTime unchanged;
 * - []byte from a base64 string (Go's strict padded StdEncoding, after JSON
 *   unescaping) or from an array of integers 0..255;
 * - times through Go's time parser on the raw bytes; Sequence from the
 *   number's literal text (an integer, no fraction or exponent);
 * - a value of the wrong JSON type is an error.
 *
 * Any error throws a ToolError without location; the caller adds file/line.
 */
import { ToolError } from '../util/errors.js';
import type { ArchivalRecordView, Metadata } from './archival-record.js';
import { decodeBase64, lastBase64ErrorPos, maxDecodedLength } from './base64.js';
import { GoTime } from './go-time.js';
import { lastTimeError, parseGoTime, TIME_CANONICAL, TIME_ERROR } from './go-time-parse.js';
import {
  GoJsonError,
  J_ARRAY,
  J_NULL,
  J_NUMBER,
  J_OBJECT,
  J_STRING,
  J_TYPE_NAMES,
  keyMatches,
  parseGoJson,
  rawText,
  unquoteGo,
  type JNode,
} from './go-json.js';

export const E_BAD_JSON = 'TCPINFO_BAD_JSON';
export const E_BAD_TYPE = 'TCPINFO_BAD_TYPE';
export const E_BAD_BASE64 = 'TCPINFO_BAD_BASE64';
export const E_BAD_TIME = 'TCPINFO_BAD_TIME';

class Decoder {
  /** Go saves type errors and returns the first one after decoding the rest. */
  saved: ToolError | null = null;

  constructor(
    readonly b: Buffer,
    readonly v: ArchivalRecordView,
  ) {}

  /** Go's UnmarshalTypeError text (`into Go struct field S.F of type T`), plus where in the line when that helps. */
  typeError(n: JNode | string, goType: string, field: string, where = ''): void {
    const what = typeof n === 'string' ? n : J_TYPE_NAMES[n.type];
    const into = field ? `Go struct field ${field}` : 'Go value';
    this.saved ??= new ToolError(E_BAD_TYPE, `json: cannot unmarshal ${what} into ${into} of type ${goType}${where ? ` in ${where}` : ''}`);
  }

  time(n: JNode, into: GoTime, field: string, isRecordTimestamp: boolean): void {
    if (n.type === J_NULL) return;
    const r = parseGoTime(this.b, n.start, n.end, into);
    if (r === TIME_ERROR) throw new ToolError(E_BAD_TIME, `${lastTimeError()} in ${field}`);
    if (isRecordTimestamp) {
      if (r === TIME_CANONICAL) {
        this.v.tsTextStart = n.start + 1;
        this.v.tsTextEnd = n.end - 1;
      } else {
        this.v.tsTextStart = this.v.tsTextEnd = -1;
      }
    }
  }

  /**
   * Decodes a []byte value into the view's data; returns [off, len], off -1
   * for nil, or null if not set. `field` is Go's struct field, `where` the
   * place in the line (RawIDM, Attributes[2]).
   */
  bytes(n: JNode, field: string, where: string, goType: string, prevOff: number, prevLen: number): [number, number] | null {
    const v = this.v;
    if (n.type === J_NULL) return [-1, 0];
    if (n.type === J_STRING) {
      let src: Uint8Array = this.b;
      let s = n.start + 1;
      let e = n.end - 1;
      if (n.escaped || hasNonAscii(this.b, s, e)) {
        src = unquoteGo(this.b, n);
        s = 0;
        e = src.length;
      }
      const off = v.reserve(maxDecodedLength(e - s));
      const got = decodeBase64(src, s, e, v.data, off);
      if (got < 0) {
        this.saved ??= new ToolError(E_BAD_BASE64, `illegal base64 data at input byte ${lastBase64ErrorPos()} in ${where}`);
        return null;
      }
      v.used = off + got;
      return [off, got];
    }
    if (n.type === J_ARRAY) {
      const items = n.items!;
      const off = v.reserve(items.length);
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        let val = 0;
        if (it.type === J_NUMBER) {
          const t = rawText(this.b, it);
          if (/^(0|[1-9][0-9]*)$/.test(t) && Number(t) <= 255) {
            val = Number(t);
          } else {
            this.typeError(`number ${t}`, 'uint8', field, `${where}[${i}]`);
          }
        } else if (it.type === J_NULL) {
          // Go leaves the element as it was: a reused backing array keeps its old byte.
          val = prevOff >= 0 && i < prevLen ? v.data[prevOff + i]! : 0;
        } else {
          this.typeError(it, 'uint8', field, `${where}[${i}]`);
        }
        v.data[off + i] = val;
      }
      v.used = off + items.length;
      return [off, items.length];
    }
    this.typeError(n, goType, field, where === field.split('.').pop() ? '' : where);
    return null;
  }

  record(root: JNode): void {
    const v = this.v;
    if (root.type === J_NULL) return;
    if (root.type !== J_OBJECT) {
      this.typeError(root, 'netlink.ArchivalRecord', '');
      return;
    }
    let sawKnown = false;
    let foreign = '';
    for (const { key, value } of root.entries!) {
      const k = unquoteGo(this.b, key);
      if (keyMatches(k, 'timestamp')) {
        this.time(value, v.timestamp, 'Timestamp', true);
      } else if (keyMatches(k, 'rawidm')) {
        sawKnown = true;
        const r = this.bytes(value, 'ArchivalRecord.RawIDM', 'RawIDM', 'inetdiag.RawInetDiagMsg', v.rawIdmOff, v.rawIdmLen);
        if (r) [v.rawIdmOff, v.rawIdmLen] = r;
      } else if (keyMatches(k, 'attributes')) {
        this.attributes(value);
      } else if (keyMatches(k, 'metadata')) {
        sawKnown = true;
        this.metadata(value);
      } else if (keyMatches(k, 'record') || keyMatches(k, 'tcpkit')) {
        foreign = Buffer.from(k).toString('utf8');
      }
    }
    if (!sawKnown && foreign) v.foreignKind = foreign;
  }

  attributes(n: JNode): void {
    const v = this.v;
    if (n.type === J_NULL) {
      v.attrCount = 0;
      return;
    }
    if (n.type !== J_ARRAY) {
      this.typeError(n, '[][]uint8', 'ArchivalRecord.Attributes');
      return;
    }
    const items = n.items!;
    const prevCount = v.attrCount;
    for (let i = 0; i < items.length; i++) {
      const prevOff = i < prevCount ? v.attrOff[i]! : -1;
      const prevLen = i < prevCount ? v.attrLen[i]! : 0;
      const r = this.bytes(items[i]!, 'ArchivalRecord.Attributes', `Attributes[${i}]`, '[]uint8', prevOff, prevLen);
      if (r) v.setAttr(i, r[0], r[1]);
      else if (i >= prevCount) v.setAttr(i, -1, 0);
    }
    v.attrCount = items.length;
  }

  metadata(n: JNode): void {
    const v = this.v;
    if (n.type === J_NULL) {
      v.metadata = null;
      return;
    }
    if (n.type !== J_OBJECT) {
      this.typeError(n, 'netlink.Metadata', 'ArchivalRecord.Metadata');
      return;
    }
    const m: Metadata = v.metadata ?? { uuid: '', sequence: 0, startTime: new GoTime() };
    v.metadata = m;
    for (const { key, value } of n.entries!) {
      const k = unquoteGo(this.b, key);
      if (keyMatches(k, 'uuid')) {
        if (value.type === J_STRING) m.uuid = Buffer.from(unquoteGo(this.b, value)).toString('utf8');
        else if (value.type !== J_NULL) this.typeError(value, 'string', 'Metadata.Metadata.UUID');
      } else if (keyMatches(k, 'sequence')) {
        if (value.type === J_NUMBER) {
          const t = rawText(this.b, value);
          const big = /^-?[0-9]+$/.test(t) ? BigInt(t) : null;
          if (big === null || big > 0x7fffffffffffffffn || big < -0x8000000000000000n) {
            this.typeError(`number ${t}`, 'int', 'Metadata.Metadata.Sequence');
          } else {
            m.sequence = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
          }
        } else if (value.type !== J_NULL) {
          this.typeError(value, 'int', 'Metadata.Metadata.Sequence');
        }
      } else if (keyMatches(k, 'starttime')) {
        this.time(value, m.startTime, 'Metadata.StartTime', false);
      }
    }
  }
}

function hasNonAscii(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i]! >= 0x80) return true;
  return false;
}

/**
 * Decodes line b[s, e) into `v` with Go's semantics; throws a ToolError
 * (TCPINFO_BAD_JSON / _BAD_TYPE / _BAD_BASE64 / _BAD_TIME) when Go's
 * json.Unmarshal would fail.
 */
export function decodeArchivalRecordGo(b: Buffer, s: number, e: number, v: ArchivalRecordView): void {
  v.reset();
  let root: JNode;
  try {
    root = parseGoJson(b, s, e);
  } catch (err) {
    if (err instanceof GoJsonError) {
      throw new ToolError(E_BAD_JSON, `invalid JSON: ${err.message}${err.pos < e ? ` at column ${err.pos - s + 1}` : ''}`);
    }
    throw err;
  }
  const d = new Decoder(b, v);
  d.record(root);
  if (d.saved) throw d.saved;
}
