/**
 * Builders of PostgreSQL frontend/backend protocol v3 messages for the
 * decoder's tests (written from PostgreSQL's "Message Formats"), and a
 * runner that feeds a scripted conversation to a fresh decoder.
 */
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER, type DecoderLimits, type Side } from '../src/protocols/decoder.js';
import { POSTGRESQL } from '../src/protocols/postgresql.js';
import type { RecordValues } from '../src/records/schema.js';

const z = (s: string): Buffer => Buffer.from(s + '\0');

export function msg(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const h = Buffer.alloc(5);
  h[0] = type.charCodeAt(0);
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
}

const i16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

export function startup(params: Record<string, string>): Buffer {
  const body = Buffer.concat([i32(0x00030000), ...Object.entries(params).flatMap(([k, v]) => [z(k), z(v)]), Buffer.from([0])]);
  return Buffer.concat([i32(body.length + 4), body]);
}
export const sslRequest = (): Buffer => Buffer.concat([i32(8), i32(80877103)]);
export const cancelRequest = (pid: number, key: number): Buffer => Buffer.concat([i32(16), i32(80877102), i32(pid), i32(key)]);
export const auth = (code: number, data = Buffer.alloc(0)): Buffer => msg('R', i32(code), data);
export const paramStatus = (k: string, v: string): Buffer => msg('S', z(k), z(v));
export const keyData = (): Buffer => msg('K', i32(1234), i32(5678));
export const ready = (status = 'I'): Buffer => msg('Z', Buffer.from(status));
export const query = (sql: string): Buffer => msg('Q', z(sql));
export const parse = (name: string, sql: string, types: number[] = []): Buffer => msg('P', z(name), z(sql), i16(types.length), ...types.map(i32));
export const bind = (portal: string, stmt: string, values: (string | null)[]): Buffer =>
  msg('B', z(portal), z(stmt), i16(0), i16(values.length), ...values.map((v) => (v === null ? i32(-1) : Buffer.concat([i32(Buffer.byteLength(v)), Buffer.from(v)]))), i16(0));
export const describe = (kind: 'S' | 'P', name: string): Buffer => msg('D', Buffer.from(kind), z(name));
export const execute = (portal: string, max = 0): Buffer => msg('E', z(portal), i32(max));
export const close = (kind: 'S' | 'P', name: string): Buffer => msg('C', Buffer.from(kind), z(name));
export const sync = (): Buffer => msg('S');
export const terminate = (): Buffer => msg('X');
export const rowDescription = (...names: string[]): Buffer =>
  msg('T', i16(names.length), ...names.map((n) => Buffer.concat([z(n), i32(0), i16(0), i32(25), i16(-1), i32(-1), i16(0)])));
export const dataRow = (...values: (string | null)[]): Buffer => msg('D', i16(values.length), ...values.map((v) => (v === null ? i32(-1) : Buffer.concat([i32(Buffer.byteLength(v)), Buffer.from(v)]))));
export const complete = (tag: string): Buffer => msg('C', z(tag));
export const parseComplete = (): Buffer => msg('1');
export const bindComplete = (): Buffer => msg('2');
export const closeComplete = (): Buffer => msg('3');
export const noData = (): Buffer => msg('n');
export const paramDescription = (...oids: number[]): Buffer => msg('t', i16(oids.length), ...oids.map(i32));
export function error(fields: Record<string, string>, type = 'E'): Buffer {
  return msg(type, ...Object.entries(fields).map(([k, v]) => Buffer.concat([Buffer.from(k), z(v)])), Buffer.from([0]));
}
export const copyIn = (): Buffer => msg('G', Buffer.from([0]), i16(1), i16(0));
export const copyData = (b: Buffer): Buffer => msg('d', b);
export const copyDone = (): Buffer => msg('c');

export type Step = readonly [Side, Buffer, number?] | readonly ['gap', Side, number, number?];

export interface Run {
  records: RecordValues[];
  stops: string[];
  weirds: string[];
}

/** Feeds the steps to a fresh decoder, each data step cut into `chunk`-byte pieces, and ends the connection. */
export function runPg(steps: readonly Step[], chunk = 0, limits: Partial<DecoderLimits> = {}): Run {
  const out: Run = { records: [], stops: [], weirds: [] };
  const d = POSTGRESQL.stream!(
    { emit: (_s, r, failed) => void out.records.push({ ...r, failed }), confirm: () => {}, weird: (n) => void out.weirds.push(n), stop: (why) => void out.stops.push(why) },
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
