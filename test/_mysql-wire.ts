/**
 * Builders of MySQL protocol bytes for the decoder's tests (written from
 * MySQL's Client/Server Protocol documentation), and a runner that feeds a
 * scripted conversation to a fresh decoder, optionally cut into pieces.
 */
import { deflateSync } from 'node:zlib';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER, type DecoderLimits, type Side } from '../src/protocols/decoder.js';
import { MYSQL } from '../src/protocols/mysql.js';
import type { RecordValues } from '../src/records/schema.js';

export const CAPS_41 = 0x1 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x10000 | 0x20000 | 0x80000 | 0x200000;
export const DEPRECATE_EOF = 0x1000000;
export const COMPRESS = 0x20;
export const SSL = 0x800;

/** One packet (or, over 2^24 - 1 bytes, the chain of parts that carries it). */
export function pkt(seq: number, payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  let s = seq;
  for (;;) {
    const n = Math.min(0xffffff, payload.length - off);
    const h = Buffer.alloc(4);
    h.writeUIntLE(n, 0, 3);
    h[3] = s & 0xff;
    parts.push(h, payload.subarray(off, off + n));
    off += n;
    s++;
    if (n < 0xffffff) break;
  }
  return Buffer.concat(parts);
}

export function lenenc(n: number | bigint): Buffer {
  const v = BigInt(n);
  if (v < 251n) return Buffer.from([Number(v)]);
  if (v < 1n << 16n) return Buffer.from([0xfc, Number(v & 0xffn), Number(v >> 8n)]);
  if (v < 1n << 24n) return Buffer.from([0xfd, Number(v & 0xffn), Number((v >> 8n) & 0xffn), Number(v >> 16n)]);
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(v, 1);
  return b;
}

export function lenstr(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([lenenc(b.length), b]);
}

export function greeting(version = '8.0.36', caps = CAPS_41 | DEPRECATE_EOF, plugin = 'mysql_native_password'): Buffer {
  const salt = Buffer.alloc(20, 0x41);
  const p = Buffer.concat([
    Buffer.from([10]),
    Buffer.from(version + '\0'),
    Buffer.from([7, 0, 0, 0]),
    salt.subarray(0, 8),
    Buffer.from([0]),
    Buffer.from([caps & 0xff, (caps >> 8) & 0xff, 0x21, 2, 0, (caps >>> 16) & 0xff, (caps >>> 24) & 0xff, 21]),
    Buffer.alloc(10),
    salt.subarray(8),
    Buffer.from([0]),
    Buffer.from(plugin + '\0'),
  ]);
  return pkt(0, p);
}

export function handshakeResponse(user: string, db: string | null, caps = CAPS_41 | DEPRECATE_EOF, plugin = 'mysql_native_password'): Buffer {
  const c = db === null ? caps & ~0x8 : caps | 0x8;
  const head = Buffer.alloc(32);
  head.writeUInt32LE(c >>> 0, 0);
  head.writeUInt32LE(16 << 20, 4);
  head[8] = 0x21;
  return pkt(1, Buffer.concat([head, Buffer.from(user + '\0'), lenstr(Buffer.alloc(20, 0x42)), db === null ? Buffer.alloc(0) : Buffer.from(db + '\0'), Buffer.from(plugin + '\0')]));
}

export function sslRequest(caps = CAPS_41 | SSL): Buffer {
  const head = Buffer.alloc(32);
  head.writeUInt32LE(caps >>> 0, 0);
  head.writeUInt32LE(16 << 20, 4);
  head[8] = 0x21;
  return pkt(1, head);
}

export function ok(seq: number, affected: number | bigint = 0, insertId: number | bigint = 0, status = 2, warnings = 0, header = 0x00): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt16LE(status, 0);
  t.writeUInt16LE(warnings, 2);
  return pkt(seq, Buffer.concat([Buffer.from([header]), lenenc(affected), lenenc(insertId), t]));
}

export function err(seq: number, code: number, state: string, msg: string): Buffer {
  const b = Buffer.alloc(3);
  b[0] = 0xff;
  b.writeUInt16LE(code, 1);
  return pkt(seq, Buffer.concat([b, Buffer.from('#' + state + msg)]));
}

export function eof(seq: number, status = 2, warnings = 0): Buffer {
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt16LE(warnings, 1);
  b.writeUInt16LE(status, 3);
  return pkt(seq, b);
}

export function coldef(seq: number, name: string): Buffer {
  const fixed = Buffer.alloc(13);
  fixed[0] = 0x0c;
  fixed.writeUInt16LE(0x21, 1);
  fixed.writeUInt32LE(255, 3);
  fixed[7] = 253;
  return pkt(seq, Buffer.concat([lenstr('def'), lenstr('db'), lenstr('t'), lenstr('t'), lenstr(name), lenstr(name), fixed]));
}

export function textRow(seq: number, ...values: (string | null)[]): Buffer {
  return pkt(seq, Buffer.concat(values.map((v) => (v === null ? Buffer.from([0xfb]) : lenstr(v)))));
}

export function command(code: number, arg: string | Buffer = ''): Buffer {
  return pkt(0, Buffer.concat([Buffer.from([code]), Buffer.isBuffer(arg) ? arg : Buffer.from(arg)]));
}

/** A text result set: column count, definitions, (EOF), rows, EOF or OK(0xfe); `seq` is its first packet's id; returns the bytes and the next id. */
export function resultSet(seq: number, columns: string[], rows: (string | null)[][], deprecateEof: boolean, finalStatus = 0x22): [Buffer, number] {
  const parts: Buffer[] = [pkt(seq++, lenenc(columns.length))];
  for (const c of columns) parts.push(coldef(seq++, c));
  if (!deprecateEof) parts.push(eof(seq++));
  for (const r of rows) parts.push(textRow(seq++, ...r));
  parts.push(deprecateEof ? ok(seq++, 0, 0, finalStatus, 0, 0xfe) : eof(seq++, finalStatus));
  return [Buffer.concat(parts), seq];
}

/** Compressed-protocol frames carrying `data` (cut into frames of at most `frame` bytes), zlib-compressed or stored. */
export function compressed(seq: number, data: Buffer, zlib: boolean, frame = 0xffffff): Buffer {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += frame) {
    const part = data.subarray(off, Math.min(data.length, off + frame));
    const body = zlib ? deflateSync(part) : part;
    const h = Buffer.alloc(7);
    h.writeUIntLE(body.length, 0, 3);
    h[3] = seq++ & 0xff;
    h.writeUIntLE(zlib ? part.length : 0, 4, 3);
    out.push(h, body);
  }
  return Buffer.concat(out);
}

export type Step = readonly [Side, Buffer | number, number?] | readonly ['gap', Side, number, number?];

export interface Run {
  records: RecordValues[];
  stops: string[];
  weirds: string[];
  confirmed: boolean;
}

/**
 * Feeds the steps (bytes of a side at a time in ms, or a gap) to a fresh
 * decoder, each data step cut into `chunk`-byte pieces, and ends the
 * connection.
 */
export function runMysql(steps: readonly Step[], chunk = 0, limits: Partial<DecoderLimits> = {}): Run {
  const out: Run = { records: [], stops: [], weirds: [], confirmed: false };
  const d = MYSQL.stream!(
    {
      emit: (_s, r, failed) => void out.records.push({ ...r, failed }),
      confirm: () => void (out.confirmed = true),
      weird: (n) => void out.weirds.push(n),
      stop: (why) => void out.stops.push(why),
    },
    { ...DEFAULT_DECODER_LIMITS, ...limits },
  );
  let last = 0;
  const time = (ms: number | undefined): [number, number] => {
    if (ms !== undefined) last = ms;
    return [1_700_000_000 + Math.floor(last / 1000), Math.round((last % 1000) * 1e6)];
  };
  for (const st of steps) {
    if (st[0] === 'gap') {
      const [s, n] = time(st[3]);
      d.gap(st[1], st[2], s, n);
      continue;
    }
    const [side, bytes, ms] = st as readonly [Side, Buffer, number?];
    const [s, n] = time(ms);
    const size = chunk > 0 ? chunk : bytes.length;
    for (let o = 0; o < bytes.length; o += size) {
      const piece = Buffer.from(bytes.subarray(o, Math.min(bytes.length, o + size)));
      d.data(side, piece, 0, piece.length, s, n);
      piece.fill(0xee);
    }
  }
  const [s, n] = time(undefined);
  d.end(CLIENT, s, n);
  d.end(SERVER, s, n);
  d.finish(s, n);
  return out;
}
