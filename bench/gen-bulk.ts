#!/usr/bin/env node
/**
 * One long bulk TCP transfer as a capture, for the graphs' scale test:
 *
 *   node dist/bench/gen-bulk.js [--packets N] [--loss P] [--seed S] OUT.pcap
 *
 * A server (192.0.2.2:443) sends MSS-sized segments every 12 µs (about
 * 1 Gbit/s) to a client (192.0.2.1) 10 ms away, captured at the server:
 * the client ACKs every second segment; a lost segment (probability P)
 * makes it ACK every later segment with SACK blocks until the server, at the
 * third duplicate ACK, sends it again. Every 1.5 million packets the client
 * stops reading for 300 ms: its window closes to zero, the server sends a
 * one-byte zero-window probe every 100 ms, and a window update reopens it.
 * The sequence numbers wrap every 4 GiB. Packets are cut after the TCP
 * header (caplen 54-78 bytes, the IP length tells the payload), so 10
 * million packets take about 0.8 GB. Deterministic for a given seed.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface BulkOptions {
  packets: number;
  loss: number;
  seed: number;
}

// OPEN_WIN: the client's window field, scaled by 2^7: 2 MiB, more than the 1.2 MB in flight at 1 Gbit/s and 10 ms
const OPEN_WIN = 16384;
const MSS = 1448, GAP = 12e-6, RTT = 0.01, ZW_EVERY = 1_500_000, ZW_TIME = 0.3, PROBE_EVERY = 0.1;
const FIN = 0x01, SYN = 0x02, PSH = 0x08, ACK = 0x10;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Writer {
  private buf = Buffer.alloc(1 << 22);
  private pos = 0;
  packets = 0;
  constructor(private readonly fd: number) {
    const h = this.buf;
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20);
    this.pos = 24;
  }

  /** One segment; `sack` holds left/right edges (sequence numbers). */
  tcp(t: number, fromServer: boolean, seq: number, ack: number, flags: number, win: number, len: number, sack: number[] = [], syn = false): void {
    const opt = syn ? 12 : sack.length > 0 ? 4 + 4 * sack.length : 0;
    const thl = 20 + opt, cap = 14 + 20 + thl;
    if (this.pos + 16 + cap > this.buf.length) this.flush();
    const b = this.buf;
    let p = this.pos;
    const sec = Math.floor(t);
    b.writeUInt32LE(1_750_000_000 + sec, p);
    b.writeUInt32LE(Math.round((t - sec) * 1e6) % 1_000_000, p + 4);
    b.writeUInt32LE(cap, p + 8);
    b.writeUInt32LE(cap + len, p + 12);
    p += 16;
    b.fill(0, p, p + cap);
    b.writeUInt32BE(0x02000000, p);
    b.writeUInt16BE(0x0800, p + 12);
    p += 14;
    b[p] = 0x45;
    b.writeUInt16BE(20 + thl + len, p + 2);
    b[p + 8] = 64;
    b[p + 9] = 6;
    b.writeUInt32BE(fromServer ? 0xc0000202 : 0xc0000201, p + 12);
    b.writeUInt32BE(fromServer ? 0xc0000201 : 0xc0000202, p + 16);
    p += 20;
    b.writeUInt16BE(fromServer ? 443 : 40000, p);
    b.writeUInt16BE(fromServer ? 40000 : 443, p + 2);
    b.writeUInt32BE(seq >>> 0, p + 4);
    b.writeUInt32BE(ack >>> 0, p + 8);
    b[p + 12] = (thl / 4) << 4;
    b[p + 13] = flags;
    b.writeUInt16BE(win, p + 14);
    let o = p + 20;
    if (syn) {
      // MSS 1460, SACK permitted, window scale 7, NOP
      b.set([2, 4, 0x05, 0xb4, 4, 2, 3, 3, 7, 1, 1, 1], o);
    } else if (sack.length > 0) {
      b[o] = 1;
      b[o + 1] = 1;
      b[o + 2] = 5;
      b[o + 3] = 2 + 4 * sack.length;
      o += 4;
      for (const e of sack) {
        b.writeUInt32BE(e >>> 0, o);
        o += 4;
      }
    }
    this.pos += 16 + cap;
    this.packets++;
  }

  flush(): void {
    writeSync(this.fd, this.buf, 0, this.pos);
    this.pos = 0;
  }
}

export function generateBulk(out: string, o: BulkOptions): { packets: number; retransmissions: number; zeroWindows: number } {
  const fd = openSync(out, 'w');
  const w = new Writer(fd);
  const rand = rng(o.seed);
  const cIsn = 1000, sIsn = 0xfff00000; // the server's sequence numbers wrap early
  let t = 0;
  w.tcp(t, false, cIsn, 0, SYN, 64240, 0, [], true);
  w.tcp((t += RTT), true, sIsn, cIsn + 1, SYN | ACK, 65535, 0, [], true);
  w.tcp((t += 1e-5), false, cIsn + 1, sIsn + 1, ACK, OPEN_WIN, 0);
  const base = sIsn + 1;
  /** ACKs on their way to the server: [arrival time, ack offset, window, sack edges] */
  const acks: { t: number; ack: number; win: number; sack: number[] }[] = [];
  let next = 0, rcvNext = 0, delivered = 0, dup = 0, retx = 0, zw = 0;
  const held: number[] = []; // offsets delivered above a hole, sorted
  let hole = -1; // offset of the lost segment not yet resent
  const winFor = (closed: boolean): number => (closed ? 0 : OPEN_WIN);
  let closedUntil = -1, nextProbe = 0;
  const emitAck = (at: number, closed: boolean): void => {
    const sack: number[] = [];
    if (held.length > 0) sack.push(base + held[0]!, base + held[held.length - 1]! + MSS);
    acks.push({ t: at + RTT, ack: rcvNext, win: winFor(closed), sack });
  };
  const flushAcks = (until: number): void => {
    while (acks.length > 0 && acks[0]!.t <= until) {
      const a = acks.shift()!;
      w.tcp(a.t, false, cIsn + 1, base + a.ack, ACK, a.win, 0, a.sack);
      if (hole >= 0 && a.ack === hole && a.sack.length > 0 && ++dup === 3) {
        // fast retransmission of the hole: delivered this time
        w.tcp(a.t + 1e-6, true, base + hole, cIsn + 1, ACK | PSH, 1026, MSS);
        retx++;
        const h = hole;
        hole = -1;
        dup = 0;
        rcvNext = h + MSS;
        while (held.length > 0 && held[0] === rcvNext) rcvNext = held.shift()! + MSS;
        emitAck(a.t + 1e-6, false);
      }
    }
  };
  while (w.packets < o.packets) {
    t += GAP;
    flushAcks(t);
    if (closedUntil > 0) {
      if (t >= closedUntil) {
        closedUntil = -1;
        acks.push({ t, ack: rcvNext, win: OPEN_WIN, sack: [] }); // window update
        continue;
      }
      if (t >= nextProbe && acks.length === 0) {
        w.tcp(t, true, base + next, cIsn + 1, ACK, 1026, 1);
        acks.push({ t: t + RTT, ack: rcvNext, win: 0, sack: [] });
        nextProbe = t + PROBE_EVERY;
      }
      continue;
    }
    const off = next;
    next += MSS;
    w.tcp(t, true, base + off, cIsn + 1, ACK | PSH, 1026, MSS);
    if (hole < 0 && rand() < o.loss) {
      hole = off;
      continue;
    }
    if (hole >= 0) {
      held.push(off);
      emitAck(t, false);
      continue;
    }
    rcvNext = off + MSS;
    delivered++;
    if (delivered % ZW_EVERY === 0) {
      // the client stops reading: its window closes
      zw++;
      closedUntil = t + RTT + ZW_TIME;
      nextProbe = t + RTT + PROBE_EVERY;
      acks.push({ t: t + RTT, ack: rcvNext, win: 0, sack: [] });
    } else if (delivered % 2 === 0) emitAck(t, false);
  }
  flushAcks(Infinity);
  w.tcp((t += RTT), true, base + next, cIsn + 1, FIN | ACK, 1026, 0);
  w.tcp((t += RTT), false, cIsn + 1, base + next + 1, FIN | ACK, OPEN_WIN, 0);
  w.tcp((t += RTT), true, base + next + 1, cIsn + 2, ACK, 1026, 0);
  w.flush();
  closeSync(fd);
  return { packets: w.packets, retransmissions: retx, zeroWindows: zw };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values, positionals } = parseArgs({ options: { packets: { type: 'string', default: '10000000' }, loss: { type: 'string', default: '0.0002' }, seed: { type: 'string', default: '1' } }, allowPositionals: true });
  if (positionals.length !== 1) {
    process.stderr.write('usage: gen-bulk.js [--packets N] [--loss P] [--seed S] OUT.pcap\n');
    process.exit(2);
  }
  const s = generateBulk(positionals[0]!, { packets: Number(values.packets), loss: Number(values.loss), seed: Number(values.seed) });
  process.stderr.write(`${positionals[0]}: ${s.packets} packets, ${s.retransmissions} retransmissions, ${s.zeroWindows} zero-window episodes\n`);
}
