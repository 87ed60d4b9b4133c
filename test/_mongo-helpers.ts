/**
 * MongoDB wire messages for the decoder's tests, written by hand: a small
 * BSON encoder (strings, doubles, int32, int64 as bigint, booleans, null,
 * documents, arrays, binary) and builders of OP_MSG, OP_QUERY, OP_REPLY,
 * OP_INSERT and OP_COMPRESSED (noop, zlib, a literal-only snappy block,
 * zstd) messages.
 */
import * as zlib from 'node:zlib';
import { deflateSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';

export type BsonValue = string | number | bigint | boolean | null | Uint8Array | BsonValue[] | { [k: string]: BsonValue };

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};

function element(name: string, v: BsonValue): Buffer {
  if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    return Buffer.concat([Buffer.from([0x02]), cstr(name), i32(s.length + 1), s, Buffer.from([0])]);
  }
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 31) return Buffer.concat([Buffer.from([0x10]), cstr(name), i32(v)]);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return Buffer.concat([Buffer.from([0x01]), cstr(name), b]);
  }
  if (typeof v === 'bigint') {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(v);
    return Buffer.concat([Buffer.from([0x12]), cstr(name), b]);
  }
  if (typeof v === 'boolean') return Buffer.concat([Buffer.from([0x08]), cstr(name), Buffer.from([v ? 1 : 0])]);
  if (v === null) return Buffer.concat([Buffer.from([0x0a]), cstr(name)]);
  if (v instanceof Uint8Array) return Buffer.concat([Buffer.from([0x05]), cstr(name), i32(v.length), Buffer.from([0]), Buffer.from(v)]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from([0x04]), cstr(name), bson(Object.fromEntries(v.map((x, i) => [String(i), x])))]);
  return Buffer.concat([Buffer.from([0x03]), cstr(name), bson(v)]);
}

/** A BSON document. */
export function bson(doc: { [k: string]: BsonValue }): Buffer {
  const body = Buffer.concat(Object.entries(doc).map(([k, v]) => element(k, v)));
  return Buffer.concat([i32(body.length + 5), body, Buffer.from([0])]);
}

/** A message: the 16-byte header and the body. */
export function message(requestId: number, responseTo: number, opcode: number, body: Buffer): Buffer {
  return Buffer.concat([i32(body.length + 16), i32(requestId), i32(responseTo), i32(opcode), body]);
}

export interface MsgOptions {
  flags?: number;
  /** Kind-1 sections: identifier and documents. */
  sequences?: [string, { [k: string]: BsonValue }[]][];
}

export function opMsgBody(doc: { [k: string]: BsonValue }, o: MsgOptions = {}): Buffer {
  const parts: Buffer[] = [i32(o.flags ?? 0), Buffer.from([0]), bson(doc)];
  for (const [id, docs] of o.sequences ?? []) {
    const payload = Buffer.concat([cstr(id), ...docs.map(bson)]);
    parts.push(Buffer.from([1]), i32(payload.length + 4), payload);
  }
  if ((o.flags ?? 0) & 1) parts.push(i32(0x12345678));
  return Buffer.concat(parts);
}

export function opMsg(requestId: number, responseTo: number, doc: { [k: string]: BsonValue }, o: MsgOptions = {}): Buffer {
  return message(requestId, responseTo, 2013, opMsgBody(doc, o));
}

export function opQuery(requestId: number, ns: string, query: { [k: string]: BsonValue }): Buffer {
  return message(requestId, 0, 2004, Buffer.concat([i32(0), cstr(ns), i32(0), i32(-1), bson(query)]));
}

export function opReply(requestId: number, responseTo: number, docs: { [k: string]: BsonValue }[], flags = 0, cursorId = 0n): Buffer {
  const c = Buffer.alloc(8);
  c.writeBigInt64LE(cursorId);
  return message(requestId, responseTo, 1, Buffer.concat([i32(flags), c, i32(0), i32(docs.length), ...docs.map(bson)]));
}

export function opInsert(requestId: number, ns: string, docs: { [k: string]: BsonValue }[]): Buffer {
  return message(requestId, 0, 2002, Buffer.concat([i32(0), cstr(ns), ...docs.map(bson)]));
}

/** A raw snappy block of literals only (valid Snappy; no compression). */
export function snappyLiteral(data: Buffer): Buffer {
  const out: number[] = [];
  let n = data.length;
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  const parts: Buffer[] = [Buffer.from(out)];
  for (let p = 0; p < data.length; p += 65536) {
    const chunk = data.subarray(p, p + 65536);
    const len = chunk.length - 1;
    parts.push(len < 60 ? Buffer.from([len << 2]) : Buffer.from([61 << 2, len & 0xff, len >> 8]), chunk);
  }
  return Buffer.concat(parts);
}

/** zstd with the content size in the frame: node:zlib where it has zstd, else the zstd program. */
function zstdCompress(b: Buffer): Buffer {
  const z = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;
  return z !== undefined ? z(b) : execFileSync('zstd', ['-q', '-c', `--stream-size=${b.length}`], { input: b });
}

/** Whether this Node.js decompresses zstd itself (22.15 and later): the decoder reads OP_COMPRESSED zstd only then. */
export const NODE_HAS_ZSTD = typeof (zlib as unknown as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function';

/** OP_COMPRESSED around an original message (its header's requestID and responseTo kept). */
export function compressed(orig: Buffer, compressor: 'noop' | 'snappy' | 'zlib' | 'zstd', statedSize?: number): Buffer {
  const body = orig.subarray(16);
  const id = orig.readInt32LE(4), to = orig.readInt32LE(8), op = orig.readInt32LE(12);
  let data: Buffer;
  if (compressor === 'noop') data = Buffer.from(body);
  else if (compressor === 'snappy') data = snappyLiteral(body);
  else if (compressor === 'zlib') data = deflateSync(body);
  else data = zstdCompress(body);
  const cid = ['noop', 'snappy', 'zlib', 'zstd'].indexOf(compressor);
  return message(id, to, 2012, Buffer.concat([i32(op), i32(statedSize ?? body.length), Buffer.from([cid]), data]));
}
