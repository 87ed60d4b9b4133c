#!/usr/bin/env node
/**
 * Application-traffic capture generator for the L7 benchmark:
 *
 *   node dist/bench/gen-l7.js [--packets N] [--seed S] OUT.pcap
 *
 * A classic pcap (Ethernet, IPv4) of service traffic as a capture on a busy
 * host sees it, about 150 connections open at once:
 * - HTTP/1.1 keep-alive connections to port 80 (55 %): 1-10 requests each
 *   (GET mostly, some POSTs with bodies; realistic request headers), answered
 *   with Content-Length JSON (60 %), chunked bodies (25 %), downloads of
 *   20-100 KB (3 %) or 304 (12 %); 90 % 2xx, 7 % 4xx, 3 % 5xx; server time 1-40 ms;
 * - TLS connections to port 443 (30 %): a ClientHello with SNI, ALPN,
 *   supported_versions, key_share (as a TLS 1.3 client sends it), the
 *   server's flight (ServerHello, ChangeCipherSpec, then encrypted records),
 *   then application data records of 0.5-12 KB each way;
 * - DNS over UDP to port 53 (15 % of flows): an A or AAAA query and its answer.
 * TCP handshakes, delayed ACKs (every second segment), FIN teardown; segments
 * of at most 1448 bytes. Deterministic for a seed. Memory is bounded by the
 * connections open at once (each is a generator merged by time).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const GEN_L7_VERSION = 1;

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(a: number, b: number): number {
    return a + Math.floor(this.next() * (b - a + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}

type Pkt = [timeUs: number, frame: Buffer];

const MSS = 1448;

function eth(payload: Buffer, type: number): Buffer {
  const h = Buffer.alloc(14);
  h.writeUIntBE(0x02000000aaaa, 0, 6);
  h.writeUIntBE(0x02000000bbbb, 6, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

function ipv4(src: number, dst: number, proto: number, l4: Buffer, id: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h.writeUInt16BE(id & 0xffff, 4);
  h[6] = 0x40;
  h[8] = 64;
  h[9] = proto;
  h.writeUInt32BE(src >>> 0, 12);
  h.writeUInt32BE(dst >>> 0, 16);
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += h.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  h.writeUInt16BE(~s & 0xffff, 10);
  return eth(Buffer.concat([h, l4]), 0x0800);
}

const SYN = 2, ACK = 16, PSH = 8, FIN = 1;

function tcp(sp: number, dp: number, seq: number, ack: number, flags: number, payload: Buffer, syn: boolean): Buffer {
  const opts = syn ? Buffer.from([2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7]) : Buffer.alloc(0);
  const optLen = (opts.length + 3) & ~3;
  const h = Buffer.alloc(20 + optLen);
  h.writeUInt16BE(sp, 0);
  h.writeUInt16BE(dp, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(ack >>> 0, 8);
  h[12] = ((20 + optLen) / 4) << 4;
  h[13] = flags;
  h.writeUInt16BE(502, 14);
  opts.copy(h, 20);
  return Buffer.concat([h, payload]);
}

/** One TCP connection's packets, in time order, as a generator. */
class TcpConn {
  private cseq: number;
  private sseq: number;
  private id = 0;
  readonly out: Pkt[] = [];
  t: number;
  constructor(
    rng: Rng,
    private readonly c: number,
    private readonly s: number,
    private readonly cp: number,
    private readonly sp: number,
    start: number,
    private readonly rtt: number,
  ) {
    this.cseq = rng.int(0, 0xffffffff);
    this.sseq = rng.int(0, 0xffffffff);
    this.t = start;
  }
  private pkt(fromClient: boolean, flags: number, payload: Buffer, syn = false): void {
    const f = fromClient
      ? ipv4(this.c, this.s, 6, tcp(this.cp, this.sp, this.cseq, this.sseq, flags, payload, syn), this.id++)
      : ipv4(this.s, this.c, 6, tcp(this.sp, this.cp, this.sseq, this.cseq, flags, payload, syn), this.id++);
    this.out.push([Math.round(this.t), f]);
    if (fromClient) this.cseq = (this.cseq + payload.length + (flags & (SYN | FIN) ? 1 : 0)) >>> 0;
    else this.sseq = (this.sseq + payload.length + (flags & (SYN | FIN) ? 1 : 0)) >>> 0;
  }
  handshake(): void {
    this.pkt(true, SYN, Buffer.alloc(0), true);
    this.t += this.rtt / 2;
    this.pkt(false, SYN | ACK, Buffer.alloc(0), true);
    this.t += this.rtt / 2;
    this.pkt(true, ACK, Buffer.alloc(0));
  }
  /** Sends `data` as segments (with an ACK from the peer after every second one), then waits `after` µs. */
  send(fromClient: boolean, data: Buffer, after: number): void {
    let n = 0;
    for (let o = 0; o < data.length; o += MSS) {
      this.pkt(fromClient, ACK | (o + MSS >= data.length ? PSH : 0), data.subarray(o, Math.min(data.length, o + MSS)));
      this.t += 12;
      if (++n % 2 === 0) this.pkt(!fromClient, ACK, Buffer.alloc(0));
    }
    this.t += this.rtt / 2;
    if (n % 2 === 1) this.pkt(!fromClient, ACK, Buffer.alloc(0));
    this.t += after;
  }
  close(): void {
    this.pkt(true, FIN | ACK, Buffer.alloc(0));
    this.t += this.rtt / 2;
    this.pkt(false, FIN | ACK, Buffer.alloc(0));
    this.t += this.rtt / 2;
    this.pkt(true, ACK, Buffer.alloc(0));
  }
}

const PATHS = ['/api/v1/orders', '/api/v1/users/{n}', '/api/v1/users/{n}/cart', '/static/app.{h}.js', '/search?q=widgets&page={n}', '/health', '/api/v2/items/{n}/reviews', '/img/{h}.png'];
const HOSTS = ['api.example.com', 'shop.example.com', 'cdn.example.net', 'auth.example.org'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'curl/8.5.0', 'okhttp/4.12.0', 'python-requests/2.31.0', 'Go-http-client/1.1'];

function httpConn(rng: Rng, conn: TcpConn): void {
  conn.handshake();
  const host = rng.pick(HOSTS);
  const n = rng.int(1, 10);
  for (let i = 0; i < n; i++) {
    const path = rng.pick(PATHS).replace('{n}', String(rng.int(1, 99999))).replace('{h}', rng.bytes(8).toString('hex'));
    const post = rng.next() < 0.15;
    const body = post ? Buffer.from(JSON.stringify({ id: rng.int(1, 1e6), items: Array.from({ length: rng.int(1, 8) }, (_, k) => ({ sku: `S${k}${rng.int(100, 999)}`, qty: rng.int(1, 5) })) })) : Buffer.alloc(0);
    const req = Buffer.concat([
      Buffer.from(
        `${post ? 'POST' : 'GET'} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${rng.pick(AGENTS)}\r\nAccept: application/json, */*;q=0.8\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n` +
          (post ? `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` : '') +
          `Cookie: session=${rng.bytes(12).toString('hex')}\r\n\r\n`,
      ),
      body,
    ]);
    conn.send(true, req, rng.int(1000, 40000));
    const r = rng.next();
    const status = r < 0.9 ? rng.pick([200, 200, 200, 201]) : r < 0.97 ? rng.pick([400, 401, 404, 404]) : rng.pick([500, 502, 503]);
    const kind = rng.next();
    let resp: Buffer;
    const head = (extra: string): string => `HTTP/1.1 ${status} ${status < 300 ? 'OK' : status < 500 ? 'Client Error' : 'Server Error'}\r\nDate: Tue, 08 Dec 2026 00:00:00 GMT\r\nServer: nginx\r\n${extra}\r\n`;
    if (kind < 0.6) {
      const b = Buffer.from(JSON.stringify({ ok: status < 400, data: rng.bytes(rng.int(50, 1000)).toString('base64') }));
      resp = Buffer.concat([Buffer.from(head(`Content-Type: application/json\r\nContent-Length: ${b.length}\r\n`)), b]);
    } else if (kind < 0.85) {
      const parts: Buffer[] = [Buffer.from(head('Content-Type: text/html\r\nTransfer-Encoding: chunked\r\n'))];
      for (let k = rng.int(1, 6); k > 0; k--) {
        const c = rng.bytes(rng.int(200, 4000));
        parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
      }
      parts.push(Buffer.from('0\r\n\r\n'));
      resp = Buffer.concat(parts);
    } else if (kind < 0.88) {
      const b = rng.bytes(rng.int(20000, 100000));
      resp = Buffer.concat([Buffer.from(head(`Content-Type: application/octet-stream\r\nContent-Length: ${b.length}\r\n`)), b]);
    } else resp = Buffer.from(`HTTP/1.1 304 Not Modified\r\nDate: Tue, 08 Dec 2026 00:00:00 GMT\r\nETag: "${rng.bytes(6).toString('hex')}"\r\n\r\n`);
    conn.send(false, resp, rng.int(2000, 200000));
  }
  conn.close();
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function vec16(b: Buffer): Buffer {
  return Buffer.concat([u16(b.length), b]);
}
function ext(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(body)]);
}
function record(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 3, 3]), vec16(body)]);
}
function handshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, body.length >> 16, (body.length >> 8) & 255, body.length & 255]), body]);
}

function clientHello(rng: Rng, sni: string): Buffer {
  const ciphers = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
  const name = Buffer.from(sni);
  const exts = Buffer.concat([
    ext(0, vec16(Buffer.concat([Buffer.from([0]), vec16(name)]))),
    ext(23, Buffer.alloc(0)),
    ext(65281, Buffer.from([0])),
    ext(10, vec16(Buffer.concat([u16(0x001d), u16(0x0017), u16(0x0018)]))),
    ext(11, Buffer.from([1, 0])),
    ext(35, Buffer.alloc(0)),
    ext(16, vec16(Buffer.concat([Buffer.from([2]), Buffer.from('h2'), Buffer.from([8]), Buffer.from('http/1.1')]))),
    ext(5, Buffer.from([1, 0, 0, 0, 0])),
    ext(13, vec16(Buffer.concat([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601].map(u16)))),
    ext(43, Buffer.concat([Buffer.from([4]), u16(0x0304), u16(0x0303)])),
    ext(45, Buffer.from([1, 1])),
    ext(51, vec16(Buffer.concat([u16(0x001d), vec16(rng.bytes(32))]))),
  ]);
  const body = Buffer.concat([u16(0x0303), rng.bytes(32), Buffer.from([32]), rng.bytes(32), vec16(Buffer.concat(ciphers.map(u16))), Buffer.from([1, 0]), vec16(exts)]);
  return record(22, handshake(1, body));
}

function serverFlight(rng: Rng): Buffer {
  const exts = Buffer.concat([ext(43, u16(0x0304)), ext(51, Buffer.concat([u16(0x001d), vec16(rng.bytes(32))]))]);
  const sh = record(22, handshake(2, Buffer.concat([u16(0x0303), rng.bytes(32), Buffer.from([32]), rng.bytes(32), u16(0x1301), Buffer.from([0]), vec16(exts)])));
  const ccs = Buffer.from([20, 3, 3, 0, 1, 1]);
  const enc = [record(23, rng.bytes(rng.int(2000, 3500))), record(23, rng.bytes(280)), record(23, rng.bytes(69))];
  return Buffer.concat([sh, ccs, ...enc]);
}

function tlsConn(rng: Rng, conn: TcpConn): void {
  conn.handshake();
  conn.send(true, clientHello(rng, `${rng.pick(['www', 'api', 'login', 'static'])}.${rng.pick(['example.com', 'example.net', 'example.org'])}`), rng.int(500, 5000));
  conn.send(false, serverFlight(rng), rng.int(200, 2000));
  conn.send(true, Buffer.concat([Buffer.from([20, 3, 3, 0, 1, 1]), record(23, rng.bytes(69))]), 500);
  for (let i = rng.int(1, 6); i > 0; i--) {
    conn.send(true, record(23, rng.bytes(rng.int(100, 2000))), rng.int(1000, 30000));
    const size = rng.int(500, 12000);
    const parts: Buffer[] = [];
    for (let o = 0; o < size; o += 16384) parts.push(record(23, rng.bytes(Math.min(16384, size - o))));
    conn.send(false, Buffer.concat(parts), rng.int(2000, 100000));
  }
  conn.close();
}

function dnsName(name: string): Buffer {
  return Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

function dnsFlow(rng: Rng, c: number, s: number, cp: number, start: number): Pkt[] {
  const id = rng.int(0, 65535);
  const name = `${rng.pick(['www', 'api', 'mail', 'cdn', 'db', 'auth'])}${rng.int(1, 40)}.${rng.pick(['example.com', 'example.net', 'internal.example'])}`;
  const aaaa = rng.next() < 0.3;
  const q = Buffer.concat([u16(id), u16(0x0100), u16(1), u16(0), u16(0), u16(0), dnsName(name), u16(aaaa ? 28 : 1), u16(1)]);
  const nx = rng.next() < 0.05;
  const answers = nx ? [] : Array.from({ length: rng.int(1, 3) }, () => Buffer.concat([u16(0xc00c), u16(aaaa ? 28 : 1), u16(1), Buffer.from([0, 0, 1, 44]), vec16(rng.bytes(aaaa ? 16 : 4))]));
  const r = Buffer.concat([u16(id), u16(nx ? 0x8183 : 0x8180), u16(1), u16(answers.length), u16(0), u16(0), dnsName(name), u16(aaaa ? 28 : 1), u16(1), ...answers]);
  const udp = (sp: number, dp: number, p: Buffer): Buffer => Buffer.concat([u16(sp), u16(dp), u16(8 + p.length), u16(0), p]);
  return [
    [Math.round(start), ipv4(c, s, 17, udp(cp, 53, q), 1)],
    [Math.round(start + rng.int(300, 30000)), ipv4(s, c, 17, udp(53, cp, r), 1)],
  ];
}

/** Binary min-heap of packets by time. */
class Heap {
  private a: Pkt[] = [];
  get size(): number {
    return this.a.length;
  }
  push(p: Pkt): void {
    const a = this.a;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const j = (i - 1) >> 1;
      if (a[j]![0] <= p[0]) break;
      a[i] = a[j]!;
      i = j;
    }
    a[i] = p;
  }
  pop(): Pkt {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const k = r < a.length && a[r]![0] < a[l]![0] ? r : l;
        if (a[k]![0] >= last[0]) break;
        a[i] = a[k]!;
        i = k;
      }
      a[i] = last;
    }
    return top;
  }
  peekTime(): number {
    return this.a[0]![0];
  }
}

export interface GenL7Stats {
  packets: number;
  bytes: number;
  http: number;
  tls: number;
  dns: number;
}

/** Writes the capture; returns what it holds. */
export function generateL7(outPath: string, packets: number, seed: number): GenL7Stats {
  const rng = new Rng(seed);
  const fd = openSync(outPath, 'w');
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  writeSync(fd, gh);
  const heap = new Heap();
  const stats: GenL7Stats = { packets: 0, bytes: 24, http: 0, tls: 0, dns: 0 };
  const start = 1_796_688_000 * 1e6; // 2026-12-08 00:00 UTC, in µs
  let now = 0;
  let port = 20000;
  const chunks: Buffer[] = [];
  let pending = 0;
  const flush = (): void => {
    writeSync(fd, Buffer.concat(chunks));
    chunks.length = 0;
    pending = 0;
  };
  while (stats.packets < packets) {
    // a new flow every ~0.5 ms of capture time; its packets join the heap
    now += rng.int(100, 900);
    const c = (10 << 24) | (rng.int(0, 255) << 16) | (rng.int(0, 255) << 8) | rng.int(1, 254);
    const r = rng.next();
    port = port >= 60000 ? 20000 : port + 1;
    let pkts: Pkt[];
    if (r < 0.15) {
      pkts = dnsFlow(rng, c, (10 << 24) | 53, port, now);
      stats.dns++;
    } else {
      const tls = r < 0.45;
      const conn = new TcpConn(rng, c, (10 << 24) | (tls ? 443 : 80), port, tls ? 443 : 80, now, rng.int(200, 20000));
      if (tls) {
        tlsConn(rng, conn);
        stats.tls++;
      } else {
        httpConn(rng, conn);
        stats.http++;
      }
      pkts = conn.out;
    }
    for (const p of pkts) heap.push(p);
    // write every packet older than the newest flow's start (later flows cannot come before it)
    while (heap.size > 0 && heap.peekTime() <= now) {
      const [t, f] = heap.pop();
      const rec = Buffer.alloc(16);
      const us = start + t;
      rec.writeUInt32LE(Math.floor(us / 1e6), 0);
      rec.writeUInt32LE(us % 1e6, 4);
      rec.writeUInt32LE(f.length, 8);
      rec.writeUInt32LE(f.length, 12);
      chunks.push(rec, f);
      pending += 16 + f.length;
      stats.packets++;
      stats.bytes += 16 + f.length;
      if (pending > 1 << 22) flush();
    }
  }
  while (heap.size > 0) {
    const [t, f] = heap.pop();
    const rec = Buffer.alloc(16);
    const us = start + t;
    rec.writeUInt32LE(Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    chunks.push(rec, f);
    stats.packets++;
    stats.bytes += 16 + f.length;
  }
  flush();
  closeSync(fd);
  return stats;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values: v, positionals } = parseArgs({ args: process.argv.slice(2), options: { packets: { type: 'string' }, seed: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) {
    process.stderr.write('usage: node dist/bench/gen-l7.js [--packets N] [--seed S] OUT.pcap\n');
    process.exit(2);
  }
  const s = generateL7(positionals[0]!, Number(v.packets ?? 400_000), Number(v.seed ?? 1));
  process.stderr.write(`gen-l7: ${s.packets} packets, ${(s.bytes / 1e6).toFixed(1)} MB: ${s.http} HTTP, ${s.tls} TLS connections, ${s.dns} DNS flows\n`);
}
