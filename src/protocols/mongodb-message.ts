/**
 * What one MongoDB wire-protocol message says
 * (mongodb.com/docs/manual/reference/mongodb-wire-protocol and its legacy
 * opcodes page): the body of a message after its 16-byte header, read from
 * a buffer that may hold only its first bytes (the decoder keeps at most
 * MONGO_MAX_BUFFER of a message), into the fields the mongodb record needs.
 * OP_COMPRESSED is decompressed first (noop, snappy with snappy.ts, zlib
 * with node:zlib, zstd with node:zlib where this Node.js has it: 22.15 and
 * later; elsewhere the compressor is named and the body left unread), each bounded by MONGO_MAX_UNCOMPRESSED before any allocation.
 */
import * as zlib from 'node:zlib';
import { inflateSync } from 'node:zlib';
import { clip, text } from './_bytes.js';
import { T_ARRAY, T_DOC, WALK_MALFORMED, WALK_TRUNCATED, countElements, int64Text, nameIs, numberValue, shape, stringValue, walk } from './bson.js';
import { snappyUncompress } from './snappy.js';

export const OP_REPLY = 1;
export const OP_UPDATE = 2001;
export const OP_INSERT = 2002;
export const OP_QUERY = 2004;
export const OP_GET_MORE = 2005;
export const OP_DELETE = 2006;
export const OP_KILL_CURSORS = 2007;
export const OP_COMMAND = 2010;
export const OP_COMMANDREPLY = 2011;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

export const OPCODE_NAMES: ReadonlyMap<number, string> = new Map([
  [OP_REPLY, 'OP_REPLY'], [OP_UPDATE, 'OP_UPDATE'], [OP_INSERT, 'OP_INSERT'], [OP_QUERY, 'OP_QUERY'], [OP_GET_MORE, 'OP_GET_MORE'],
  [OP_DELETE, 'OP_DELETE'], [OP_KILL_CURSORS, 'OP_KILL_CURSORS'], [OP_COMMAND, 'OP_COMMAND'], [OP_COMMANDREPLY, 'OP_COMMANDREPLY'],
  [OP_COMPRESSED, 'OP_COMPRESSED'], [OP_MSG, 'OP_MSG'],
]);

/** Bytes of one message the decoder keeps (Packetbeat's max_doc_length-style cap: 1 MiB); the rest is counted. */
export const MONGO_MAX_BUFFER = 1024 * 1024;
/** Largest uncompressed size of an OP_COMPRESSED message that is decompressed (MongoDB's largest document). */
export const MONGO_MAX_UNCOMPRESSED = 16 * 1024 * 1024;
/** Largest message length believed (MongoDB's maxMessageSizeBytes). */
export const MONGO_MAX_MESSAGE = 48_000_000;

const COMPRESSORS = ['noop', 'snappy', 'zlib', 'zstd'];
/** Shapes nest at most this deep. */
const SHAPE_DEPTH = 8;

/** The fields of one message (reused by its parser). */
export class MongoInfo {
  opcode = 0;
  compressor: string | null = null;
  checksum = false;
  moreToCome = false;
  command: string | null = null;
  database: string | null = null;
  collection: string | null = null;
  filterShape: string | null = null;
  requestDocs: number | null = null;
  ok: number | null = null;
  code: number | null = null;
  codeName: string | null = null;
  errmsg: string | null = null;
  writeErrors: number | null = null;
  n: number | null = null;
  docsReturned: number | null = null;
  cursorId: string | null = null;
  /** What could not be read; null when the message was read whole. */
  problem: string | null = null;
  /** The message broke the protocol (not just cut short). */
  malformed = false;

  reset(): void {
    this.opcode = 0;
    this.compressor = this.command = this.database = this.collection = this.filterShape = null;
    this.checksum = this.moreToCome = this.malformed = false;
    this.requestDocs = this.ok = this.code = this.n = this.docsReturned = this.writeErrors = null;
    this.codeName = this.errmsg = this.cursorId = this.problem = null;
  }
}

/** zstd from node:zlib (Node 22.15+ and 23.8+); null where this Node has none (the compressor is named, the body not read). */
const zstdDecompress = (zlib as unknown as { zstdDecompressSync?: (b: Uint8Array, o?: { maxOutputLength?: number }) => Buffer }).zstdDecompressSync ?? null;

function i32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** End (after its NUL) of the cstring at b[p, end), or -1. */
function cstringEnd(b: Uint8Array, p: number, end: number): number {
  const z = b.indexOf(0, p);
  return z < 0 || z >= end ? -1 : z + 1;
}

export class MongoParser {
  readonly info = new MongoInfo();

  constructor(private readonly maxChars: number) {}

  /**
   * Reads the body b[0, avail) of a message of `msgLen` bytes (header
   * included) with opcode `op`; `reply`: it came from the server.
   */
  parse(b: Uint8Array, avail: number, msgLen: number, op: number, reply: boolean): MongoInfo {
    const m = this.info;
    m.reset();
    if (avail < msgLen - 16) this.cut(`message of ${msgLen} bytes: read its first ${avail + 16}`);
    this.body(b, Math.min(avail, msgLen - 16), msgLen - 16, op, reply);
    return m;
  }

  private cut(why: string): void {
    this.info.problem ??= why;
  }

  private bad(why: string): void {
    this.info.malformed = true;
    this.info.problem ??= why;
  }

  private body(b: Uint8Array, end: number, bodyLen: number, op: number, reply: boolean): void {
    const m = this.info;
    m.opcode = op;
    switch (op) {
      case OP_MSG: return this.opMsg(b, end, bodyLen, reply);
      case OP_QUERY: {
        const ne = cstringEnd(b, 4, end);
        if (ne < 0) return this.cut('namespace cut');
        this.namespace(b, 4, ne - 1);
        if (m.collection === '$cmd') {
          m.collection = null;
          return this.commandDoc(b, ne + 8, end, true);
        }
        m.command = 'find';
        const q = ne + 8;
        this.legacyFilter(b, q, end);
        return;
      }
      case OP_GET_MORE: {
        const ne = cstringEnd(b, 4, end);
        if (ne < 0) return this.cut('namespace cut');
        this.namespace(b, 4, ne - 1);
        m.command = 'getMore';
        return;
      }
      case OP_INSERT: {
        const ne = cstringEnd(b, 4, end);
        if (ne < 0) return this.cut('namespace cut');
        this.namespace(b, 4, ne - 1);
        m.command = 'insert';
        m.requestDocs = this.countDocs(b, ne, end);
        return;
      }
      case OP_UPDATE:
      case OP_DELETE: {
        const ne = cstringEnd(b, 4, end);
        if (ne < 0) return this.cut('namespace cut');
        this.namespace(b, 4, ne - 1);
        m.command = op === OP_UPDATE ? 'update' : 'delete';
        m.requestDocs = 1;
        if (ne + 4 < end) m.filterShape = shape(b, ne + 4, end, SHAPE_DEPTH, this.maxChars);
        return;
      }
      case OP_KILL_CURSORS:
        m.command = 'killCursors';
        return;
      case OP_REPLY: {
        if (end < 20) return this.cut('reply header cut');
        const flags = i32(b, 0);
        const id = int64Text(b, 0x12, 4);
        if (id !== '0') m.cursorId = id;
        m.docsReturned = i32(b, 16);
        if (m.docsReturned < 0) return this.bad('negative numberReturned');
        if (m.docsReturned > 0 && end > 20) this.replyDoc(b, 20, end);
        if (flags & 2 && m.errmsg === null) m.errmsg = 'query failure';
        return;
      }
      case OP_COMMAND: {
        const de = cstringEnd(b, 0, end);
        const ce = de < 0 ? -1 : cstringEnd(b, de, end);
        if (ce < 0) return this.cut('command name cut');
        m.database = clip(text(b, 0, de - 1), this.maxChars);
        this.commandDoc(b, ce, end, false);
        m.command = clip(text(b, de, ce - 1), this.maxChars);
        return;
      }
      case OP_COMMANDREPLY:
        return this.replyDoc(b, 0, end);
      case OP_COMPRESSED:
        return this.compressed(b, end, bodyLen, reply);
      default:
        return this.bad(`unknown opcode ${op}`);
    }
  }

  private opMsg(b: Uint8Array, end: number, bodyLen: number, reply: boolean): void {
    const m = this.info;
    if (end < 4) return this.cut('flags cut');
    const flags = i32(b, 0);
    m.checksum = (flags & 1) !== 0;
    m.moreToCome = (flags & 2) !== 0;
    if (flags & ~0x10003 & 0xffff) return this.bad(`unknown required flag bits 0x${(flags >>> 0).toString(16)}`);
    const sectionsEnd = Math.min(end, bodyLen - (m.checksum ? 4 : 0));
    let p = 4;
    let body = false;
    while (p < sectionsEnd) {
      const kind = b[p++]!;
      if (p + 4 > end) return this.cut('section cut');
      const size = i32(b, p);
      if (kind === 0) {
        if (size < 5 || p + size > bodyLen) return this.bad('bad body section length');
        if (!body) {
          body = true;
          if (reply) this.replyDoc(b, p, Math.min(end, p + size));
          else this.commandDoc(b, p, Math.min(end, p + size), false);
        }
      } else if (kind === 1) {
        if (size < 5 || p + size > bodyLen) return this.bad('bad document sequence length');
        const ie = cstringEnd(b, p + 4, Math.min(end, p + size));
        if (ie < 0) return this.cut('document sequence cut');
        const id = text(b, p + 4, ie - 1);
        if (!reply && (id === 'documents' || id === 'updates' || id === 'deletes')) {
          m.requestDocs = (m.requestDocs ?? 0) + this.countDocs(b, ie, Math.min(end, p + size));
          if (m.filterShape === null && id !== 'documents' && ie + 4 < end) this.statementFilter(b, ie, Math.min(end, p + size));
        }
      } else return this.bad(`unknown section kind ${kind}`);
      p += size;
    }
    if (!body) this.bad('no body section');
  }

  /** A command document (an OP_MSG body, an OP_QUERY to $cmd, OP_COMMAND's arguments). */
  private commandDoc(b: Uint8Array, p: number, end: number, unwrap: boolean): void {
    const m = this.info;
    const max = this.maxChars;
    let inner = -1, innerEnd = 0;
    const st = walk(b, p, end, (e) => {
      const s = e.nameStart, ne = e.nameEnd, t = e.type, v = e.valueStart, sz = e.valueSize;
      if (e.index === 0) {
        if (unwrap && (nameIs(b, s, ne, '$query') || nameIs(b, s, ne, 'query')) && t === T_DOC) {
          inner = v;
          innerEnd = v + sz;
          return false;
        }
        m.command = clip(text(b, s, ne), max);
        m.collection = stringValue(b, t, v, sz, max);
        return true;
      }
      if (nameIs(b, s, ne, '$db')) m.database = stringValue(b, t, v, sz, max);
      else if (nameIs(b, s, ne, 'collection') && m.command === 'getMore') m.collection = stringValue(b, t, v, sz, max);
      else if ((nameIs(b, s, ne, 'filter') || (nameIs(b, s, ne, 'query') && m.filterShape === null)) && t === T_DOC) m.filterShape = shape(b, v, v + sz, SHAPE_DEPTH, max);
      else if (nameIs(b, s, ne, 'pipeline') && t === T_ARRAY) m.filterShape = shape(b, v, v + sz, SHAPE_DEPTH, max, true);
      else if (nameIs(b, s, ne, 'documents') && t === T_ARRAY) m.requestDocs = countElements(b, v, v + sz);
      else if ((nameIs(b, s, ne, 'updates') || nameIs(b, s, ne, 'deletes')) && t === T_ARRAY) {
        m.requestDocs = countElements(b, v, v + sz);
        this.statementFilter(b, v + 4, v + sz - 1, true);
      }
      return true;
    });
    if (inner >= 0) return this.commandDoc(b, inner, innerEnd, false);
    this.walked(st);
  }

  /** The q shape of the first update or delete statement at b[p] (a document sequence's first document, or an array's first element). */
  private statementFilter(b: Uint8Array, p: number, end: number, inArray = false): void {
    let doc = p;
    if (inArray) {
      // the array's first element: type, name, then the document
      if (p >= end || b[p] !== T_DOC) return;
      const z = cstringEnd(b, p + 1, end);
      if (z < 0) return;
      doc = z;
    }
    walk(b, doc, end, (e) => {
      if (nameIs(b, e.nameStart, e.nameEnd, 'q') && e.type === T_DOC) {
        this.info.filterShape = shape(b, e.valueStart, e.valueStart + e.valueSize, SHAPE_DEPTH, this.maxChars);
        return false;
      }
      return true;
    });
  }

  /** A legacy query's selector: the document itself, or its $query / query. */
  private legacyFilter(b: Uint8Array, p: number, end: number): void {
    let inner = -1, innerEnd = 0;
    const st = walk(b, p, end, (e) => {
      if (e.index === 0 && (nameIs(b, e.nameStart, e.nameEnd, '$query') || nameIs(b, e.nameStart, e.nameEnd, 'query')) && e.type === T_DOC) {
        inner = e.valueStart;
        innerEnd = e.valueStart + e.valueSize;
      }
      return false;
    });
    if (st === WALK_MALFORMED) return this.bad('malformed BSON');
    this.info.filterShape = inner >= 0 ? shape(b, inner, innerEnd, SHAPE_DEPTH, this.maxChars) : shape(b, p, end, SHAPE_DEPTH, this.maxChars);
  }

  /** A reply's (first) document: ok, errors, counts, cursor. */
  private replyDoc(b: Uint8Array, p: number, end: number): void {
    const m = this.info;
    const max = this.maxChars;
    let weCode: number | null = null, weMsg: string | null = null, weName: string | null = null;
    const st = walk(b, p, end, (e) => {
      const s = e.nameStart, ne = e.nameEnd, t = e.type, v = e.valueStart, sz = e.valueSize;
      const c0 = b[s];
      if (c0 === 0x6f && nameIs(b, s, ne, 'ok')) m.ok = numberValue(b, t, v);
      else if (c0 === 0x65 && nameIs(b, s, ne, 'errmsg')) m.errmsg = stringValue(b, t, v, sz, max);
      else if (c0 === 0x24 && nameIs(b, s, ne, '$err')) m.errmsg ??= stringValue(b, t, v, sz, max);
      else if (c0 === 0x63 && nameIs(b, s, ne, 'code')) m.code = numberValue(b, t, v);
      else if (c0 === 0x63 && nameIs(b, s, ne, 'codeName')) m.codeName = stringValue(b, t, v, sz, max);
      else if (c0 === 0x6e && nameIs(b, s, ne, 'n')) m.n = numberValue(b, t, v);
      else if (c0 === 0x63 && nameIs(b, s, ne, 'cursor') && t === T_DOC) this.cursor(b, v, v + sz);
      else if (c0 === 0x77 && nameIs(b, s, ne, 'writeErrors') && t === T_ARRAY) {
        m.writeErrors = countElements(b, v, v + sz);
        // the first write error's code and message
        if (b[v + 4] === T_DOC) {
          const z = cstringEnd(b, v + 5, v + sz);
          if (z > 0) {
            walk(b, z, v + sz, (w) => {
              if (nameIs(b, w.nameStart, w.nameEnd, 'code')) weCode = numberValue(b, w.type, w.valueStart);
              else if (nameIs(b, w.nameStart, w.nameEnd, 'errmsg')) weMsg = stringValue(b, w.type, w.valueStart, w.valueSize, max);
              else if (nameIs(b, w.nameStart, w.nameEnd, 'codeName')) weName = stringValue(b, w.type, w.valueStart, w.valueSize, max);
              return true;
            });
          }
        }
      } else if (c0 === 0x77 && nameIs(b, s, ne, 'writeConcernError') && t === T_DOC) {
        walk(b, v, v + sz, (w) => {
          if (nameIs(b, w.nameStart, w.nameEnd, 'code')) weCode ??= numberValue(b, w.type, w.valueStart);
          else if (nameIs(b, w.nameStart, w.nameEnd, 'errmsg')) weMsg ??= stringValue(b, w.type, w.valueStart, w.valueSize, max);
          else if (nameIs(b, w.nameStart, w.nameEnd, 'codeName')) weName ??= stringValue(b, w.type, w.valueStart, w.valueSize, max);
          return true;
        });
      }
      return true;
    });
    m.code ??= weCode;
    m.errmsg ??= weMsg;
    m.codeName ??= weName;
    this.walked(st);
  }

  private cursor(b: Uint8Array, p: number, end: number): void {
    const m = this.info;
    walk(b, p, end, (e) => {
      const s = e.nameStart, ne = e.nameEnd;
      if ((nameIs(b, s, ne, 'firstBatch') || nameIs(b, s, ne, 'nextBatch')) && e.type === T_ARRAY) m.docsReturned = countElements(b, e.valueStart, e.valueStart + e.valueSize);
      else if (nameIs(b, s, ne, 'id')) {
        const id = int64Text(b, e.type, e.valueStart);
        m.cursorId = id === '0' ? null : id;
      } else if (nameIs(b, s, ne, 'ns') && m.collection === null) {
        const ns = stringValue(b, e.type, e.valueStart, e.valueSize, this.maxChars);
        if (ns !== null) this.namespaceText(ns);
      }
      return true;
    });
  }

  private compressed(b: Uint8Array, end: number, bodyLen: number, reply: boolean): void {
    const m = this.info;
    if (end < 9) return this.cut('compression header cut');
    const orig = i32(b, 0);
    const size = i32(b, 4);
    const cid = b[8]!;
    m.compressor = COMPRESSORS[cid] ?? `unknown-${cid}`;
    m.opcode = orig;
    if (!OPCODE_NAMES.has(orig) || orig === OP_COMPRESSED) return this.bad(`compressed opcode ${orig}`);
    if (size < 0 || size > MONGO_MAX_UNCOMPRESSED) return this.cut(`uncompressed size ${size >>> 0} over ${MONGO_MAX_UNCOMPRESSED}: not decompressed`);
    if (end < bodyLen) return this.cut('compressed message cut: not decompressed');
    const data = b.subarray(9, end);
    let out: Uint8Array | string;
    try {
      if (cid === 0) out = data;
      else if (cid === 1) out = snappyUncompress(data, 0, data.length, size);
      else if (cid === 2) out = inflateSync(data, { maxOutputLength: Math.max(size, 1) });
      else if (cid === 3) {
        const fcs = zstdContentSize(data);
        out = fcs < 0 ? 'zstd frame without its content size: not decompressed' : fcs > size ? 'zstd content size over the stated size' : zstdDecompress === null ? 'zstd: this Node.js has no zstd (22.15 and later have): not decompressed' : zstdDecompress(data, { maxOutputLength: Math.max(size, 1) });
      } else out = `compressor ${cid} unknown: not decompressed`;
    } catch (e) {
      out = `${m.compressor} data corrupt (${e instanceof Error ? e.message : String(e)})`;
    }
    if (typeof out === 'string') return cid > 3 || out.endsWith('not decompressed') ? this.cut(out) : this.bad(out);
    if (out.length !== size) return this.bad(`${m.compressor} data gave ${out.length} bytes, not ${size}`);
    const compressor = m.compressor;
    this.body(out, out.length, out.length, orig, reply);
    m.compressor = compressor;
    m.opcode = orig;
  }

  private countDocs(b: Uint8Array, p: number, end: number): number {
    let n = 0;
    while (p + 4 <= end && n < 1_000_000) {
      const len = i32(b, p);
      if (len < 5) break;
      n++;
      p += len;
    }
    return n;
  }

  private namespace(b: Uint8Array, s: number, e: number): void {
    this.namespaceText(clip(text(b, s, e), this.maxChars));
  }

  private namespaceText(ns: string): void {
    const m = this.info;
    const dot = ns.indexOf('.');
    if (dot < 0) m.database ??= ns;
    else {
      m.database ??= ns.slice(0, dot);
      m.collection ??= ns.slice(dot + 1);
    }
  }

  private walked(st: number): void {
    if (st === WALK_MALFORMED) this.bad('malformed BSON');
    else if (st === WALK_TRUNCATED) this.cut('document cut');
  }
}

/** A zstd frame's Frame_Content_Size (RFC 8878 §3.1.1.1), or -1 when the frame does not state it. */
function zstdContentSize(d: Uint8Array): number {
  if (d.length < 6 || i32(d, 0) !== (0xfd2fb528 | 0)) return -1;
  const fhd = d[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const didFlag = fhd & 3;
  let p = 5 + (single ? 0 : 1) + [0, 1, 2, 4][didFlag]!;
  const size = fcsFlag === 0 ? (single ? 1 : 0) : [1, 2, 4, 8][fcsFlag]!;
  if (size === 0 || p + size > d.length) return -1;
  let v = 0;
  for (let i = 0; i < size; i++) v += d[p + i]! * 2 ** (8 * i);
  if (size === 2) v += 256;
  p += size;
  return v;
}
