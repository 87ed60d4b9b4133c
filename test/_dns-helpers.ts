/**
 * Hand-made DNS messages for the DNS tests (RFC 1035 wire format), and a
 * context that collects what a decoder writes.
 */
import type { AppContext } from '../src/protocols/decoder.js';
import type { RecordSchema, RecordValues } from '../src/records/schema.js';

/** A name in wire form, uncompressed: "www.example.com" -> 3www7example3com0 ("" is the root). */
export function name(n: string): number[] {
  const out: number[] = [];
  if (n !== '') for (const l of n.split('.')) out.push(l.length, ...Buffer.from(l, 'latin1'));
  out.push(0);
  return out;
}

/** A compression pointer to message offset `at`. */
export const ptr = (at: number): number[] => [0xc0 | (at >> 8), at & 0xff];

export const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
export const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** A resource record: owner (wire bytes), type, class, TTL, and rdata bytes. */
export function rr(owner: number[], type: number, ttl: number, rdata: number[], cls = 1): number[] {
  return [...owner, ...u16(type), ...u16(cls), ...u32(ttl), ...u16(rdata.length), ...rdata];
}

export interface MsgSpec {
  id?: number;
  /** Flags word (QR 0x8000, AA 0x0400, TC 0x0200, RD 0x0100, RA 0x0080, RCODE low 4 bits). */
  flags?: number;
  /** Question names with type and class; default none. */
  questions?: { name: string; type: number; cls?: number }[];
  /** Raw bytes of the sections after the questions, with the counts to claim. */
  an?: number[][];
  ns?: number[][];
  ar?: number[][];
  /** Counts written in the header instead of the real ones (lying counts). */
  counts?: [number, number, number, number];
}

/** A DNS message. Offsets: the header is 12 bytes, the first question's name starts at 12. */
export function msg(s: MsgSpec): Uint8Array {
  const qs = s.questions ?? [];
  const an = s.an ?? [], ns = s.ns ?? [], ar = s.ar ?? [];
  const c = s.counts ?? [qs.length, an.length, ns.length, ar.length];
  const bytes = [
    ...u16(s.id ?? 0x1234),
    ...u16(s.flags ?? 0x0100),
    ...u16(c[0]),
    ...u16(c[1]),
    ...u16(c[2]),
    ...u16(c[3]),
    ...qs.flatMap((q) => [...name(q.name), ...u16(q.type), ...u16(q.cls ?? 1)]),
    ...an.flat(),
    ...ns.flat(),
    ...ar.flat(),
  ];
  return Uint8Array.from(bytes);
}

/** A query for `n` of type `type` (RD set). */
export const query = (id: number, n: string, type = 1, flags = 0x0100): Uint8Array => msg({ id, flags, questions: [{ name: n, type }] });

/** A response to that query: answers are RRs whose owner is a pointer to the question's name (offset 12). */
export function response(id: number, n: string, type: number, answers: number[][], o: { rcode?: number; flags?: number; ns?: number[][]; ar?: number[][] } = {}): Uint8Array {
  return msg({ id, flags: (o.flags ?? 0x8180) | (o.rcode ?? 0), questions: [{ name: n, type }], an: answers, ...(o.ns ? { ns: o.ns } : {}), ...(o.ar ? { ar: o.ar } : {}) });
}

/** An A record for the question's name (pointer to offset 12). */
export const aRecord = (ip: string, ttl = 300): number[] => rr(ptr(12), 1, ttl, ip.split('.').map(Number));

/** An EDNS OPT record (additional section) with the extended RCODE's upper 8 bits. */
export const opt = (extRcode = 0, udp = 1232): number[] => rr([0], 41, (extRcode << 24) >>> 0, [], udp);

/** A message with its 2-byte length prefix (DNS over TCP). */
export function framed(...msgs: Uint8Array[]): Uint8Array {
  const parts: number[] = [];
  for (const m of msgs) parts.push(...u16(m.length), ...m);
  return Uint8Array.from(parts);
}

export interface Collected {
  records: RecordValues[];
  failed: boolean[];
  confirmed: number;
  weird: string[];
  stopped: string[];
}

/** An AppContext that keeps everything. */
export function collect(): { ctx: AppContext; out: Collected } {
  const out: Collected = { records: [], failed: [], confirmed: 0, weird: [], stopped: [] };
  return {
    out,
    ctx: {
      emit: (_s: RecordSchema, r: RecordValues, failed: boolean) => {
        out.records.push(r);
        out.failed.push(failed);
      },
      confirm: () => void out.confirmed++,
      weird: (n: string) => void out.weird.push(n),
      stop: (why: string) => void out.stopped.push(why),
    },
  };
}
