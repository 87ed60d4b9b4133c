/**
 * AppLayer: puts the application decoders of src/protocols on the flows the
 * tracker follows. Per flow:
 *
 * - Which decoder: a protocol whose well-known (or --decode-port) port is
 *   either port of the flow is tried first; otherwise, or when its sniff
 *   rejects the bytes, every protocol's sniff looks at the first payload of
 *   each direction (so HTTP on port 5000 and TLS on 8443 are found). A flow
 *   that matches nothing is marked once both directions were sniffed (or
 *   after a few packets) and costs one field test per packet from then on.
 * - Only a claimed TCP connection is reassembled: two StreamReassemblers
 *   (pooled pages under --max-buffer, no overlap tail) deliver each
 *   direction's bytes in order to the decoder, with the capture time of the
 *   packet that made them readable in order, gaps with their length (holes
 *   the peer acknowledged past, snaplen cuts, memory caps, and what is
 *   missing at the end), and each side's end (its FIN once every byte before
 *   it was delivered, or the end of the connection).
 * - UDP datagrams go to the decoder one by one.
 * - When the flow ends, buffered bytes are flushed, the decoder writes what
 *   is pending, and the flow's record gets `service` and the transaction
 *   counts (fillConnRecord).
 *
 * Transaction records get the connection's identity here (uid, Community
 * ID, addresses and ports in the conn record's orig/resp roles), so every
 * transaction joins its connection record.
 */
import type { PacketView } from '../capture/packet.js';
import { ACK, FIN, IPPROTO_TCP, RST, SYN, type Decoded } from '../decode/decoded.js';
import { CLIENT, DEFAULT_DECODER_LIMITS, Sniff, SNIFF_BYTES, SERVER, type AppContext, type DatagramDecoder, type DecoderLimits, type ProtocolDef, type Side, type StreamDecoder } from '../protocols/decoder.js';
import type { RecordSchema, RecordValues } from '../records/schema.js';
import type { Conn, Half } from '../tcp/conn.js';
import { PagePool, type PagePoolStats } from '../tcp/page-pool.js';
import { StreamReassembler, type StreamConsumer } from '../tcp/reassembly.js';
import { unwrap } from '../tcp/seq.js';
import { formatAddr } from '../util/ip.js';
import { communityId } from './community-id.js';
import { stableUid } from './uid.js';

export interface AppLayerOptions {
  /** The protocols to decode. */
  protocols: readonly ProtocolDef[];
  /** Extra server ports per protocol name (--decode-port http:8080,8000); they replace no other protocol's ports but take precedence on the same port. */
  ports?: ReadonlyMap<string, readonly number[]>;
  limits?: Partial<DecoderLimits>;
  /** Out-of-order bytes held for all decoded connections together (--max-buffer); default 64 MiB. */
  maxBuffer?: number;
  /** Out-of-order bytes held per direction; default 1 MiB. */
  maxBufferedPerStream?: number;
  /** Each transaction record, with its connection fields filled in. */
  onTransaction: (schema: RecordSchema, r: RecordValues) => void;
}

export interface AppLayerStats {
  /** Flows handed to a decoder, by protocol name. */
  claimed: Map<string, number>;
  /** Of those, flows whose decoder confirmed the protocol. */
  confirmed: Map<string, number>;
  /** Transaction records written, by record kind. */
  transactions: Map<string, number>;
  /** Decoders that gave up, by "protocol: reason". */
  stopped: Map<string, number>;
  /** Oddities the decoders counted, by "protocol: name" (Zeek's weird.log). */
  weird: Map<string, number>;
  /** Bytes delivered to decoders, and bytes reported to them as gaps. */
  bytes: number;
  gapBytes: number;
}

// Conn.appState values
const UNDECIDED = 0;
const NONE = 1;
const CLAIMED = 2;
/** Payload packets per direction a sniff may look at before the flow is left alone. */
const SNIFF_TRIES = 3;
const DEFAULT_PER_STREAM = 1024 * 1024;
/** Bytes beyond the last one seen that an ACK may acknowledge as lost from the capture (a larger jump is taken for a bogus ack field). */
const MAX_UNSEEN_ACK = 64 * 1024 * 1024;

/** One direction of a decoded TCP connection. */
class _Direction implements StreamConsumer {
  started = false;
  base = 0;
  near = 0;
  /** Next offset to deliver (the reassembler's, once there is one). */
  next = 0;
  /** Offset of this side's FIN (-1: none yet); the side ends once everything before it was delivered. */
  finRel = -1;
  ended = false;
  /** Payload this side sent before the flow was claimed (sniffed, not decoded): its stream starts at its first segment after the claim. */
  hadData = false;
  /**
   * Made only when a segment arrives out of order (or cut by the snaplen):
   * segments that continue the stream go straight to the decoder, which
   * keeps the per-packet path to this object and the decoder's.
   */
  re: StreamReassembler | null = null;

  constructor(
    private readonly s: _Session,
    readonly side: Side,
  ) {}

  onData(buf: Uint8Array, off: number, len: number, relSeq: number): void {
    this.next = relSeq + len;
    const s = this.s;
    if (s.stopped) return;
    s.app.stats.bytes += len;
    s.stream!.data(this.side, buf, off, len, s.app.sec, s.app.nsec);
  }

  onGap(relSeq: number, len: number): void {
    this.next = relSeq + len;
    const s = this.s;
    if (s.stopped) return;
    s.app.stats.gapBytes += len;
    s.stream!.gap(this.side, len, s.app.sec, s.app.nsec);
  }
}

/** A decoded flow: its decoder, its directions (TCP) and what the conn record will say. */
class _Session implements AppContext {
  stream: StreamDecoder | null = null;
  datagram: DatagramDecoder | null = null;
  /** Endpoint A of the flow is the client. */
  clientIsA = true;
  readonly dirs: [_Direction, _Direction];
  stopped = false;
  confirmed = false;
  transactions = 0;
  failed = 0;
  private ident: { uid: string; cid: string; oh: string; op: number; rh: string; rp: number } | null = null;

  constructor(
    readonly app: AppLayer,
    readonly c: Conn,
    readonly def: ProtocolDef,
  ) {
    this.dirs = [new _Direction(this, CLIENT), new _Direction(this, SERVER)];
  }

  emit(schema: RecordSchema, r: RecordValues, failed: boolean): void {
    this.transactions++;
    if (failed) this.failed++;
    const id = (this.ident ??= identity(this.c));
    r['uid'] = id.uid;
    r['community_id'] = id.cid;
    r['orig_h'] = id.oh;
    r['orig_p'] = id.op;
    r['resp_h'] = id.rh;
    r['resp_p'] = id.rp;
    r['failed'] = failed;
    const st = this.app.stats.transactions;
    st.set(schema.kind, (st.get(schema.kind) ?? 0) + 1);
    this.app.onTransaction(schema, r);
  }

  confirm(): void {
    if (this.confirmed) return;
    this.confirmed = true;
    const m = this.app.stats.confirmed;
    m.set(this.def.name, (m.get(this.def.name) ?? 0) + 1);
  }

  weird(name: string): void {
    const k = `${this.def.name}: ${name}`;
    const m = this.app.stats.weird;
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    const k = `${this.def.name}: ${reason}`;
    const m = this.app.stats.stopped;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
}

/** The uid and endpoints a conn record will carry for this flow (the same functions build both). */
function identity(c: Conn): { uid: string; cid: string; oh: string; op: number; rh: string; rp: number } {
  const a = [c.a0, c.a1, c.a2, c.a3], b = [c.b0, c.b1, c.b2, c.b3];
  const cid = communityId(c.ipVersion, c.proto, a, c.aPort, b, c.bPort);
  const ah = formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3), bh = formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3);
  const oA = c.origIsA;
  return { uid: stableUid(cid, c.firstSec, c.firstNsec, c.serial), cid, oh: oA ? ah : bh, op: oA ? c.aPort : c.bPort, rh: oA ? bh : ah, rp: oA ? c.bPort : c.aPort };
}

export class AppLayer {
  readonly stats: AppLayerStats = { claimed: new Map(), confirmed: new Map(), transactions: new Map(), stopped: new Map(), weird: new Map(), bytes: 0, gapBytes: 0 };
  readonly onTransaction: (schema: RecordSchema, r: RecordValues) => void;
  /** Capture time of the packet being handled (what decoders are told). */
  sec = 0;
  nsec = 0;
  private readonly pool: PagePool;
  private readonly perStream: number;
  private readonly limits: DecoderLimits;
  private readonly sniffers: ProtocolDef[];
  private readonly tcpPorts = new Map<number, ProtocolDef>();
  private readonly udpPorts = new Map<number, ProtocolDef>();
  /** The packet being sniffed (claim() needs to know which side sent it and how much). */
  private claimFromA = true;
  private claimLen = 0;

  constructor(o: AppLayerOptions) {
    this.onTransaction = o.onTransaction;
    this.pool = new PagePool(o.maxBuffer !== undefined ? { maxBytes: o.maxBuffer } : {});
    this.perStream = o.maxBufferedPerStream ?? DEFAULT_PER_STREAM;
    this.limits = { ...DEFAULT_DECODER_LIMITS, ...o.limits };
    this.sniffers = o.protocols.filter((p) => p.sniff !== undefined && p.stream !== undefined);
    for (const p of o.protocols) {
      if (p.stream) for (const port of p.tcpPorts) if (!this.tcpPorts.has(port)) this.tcpPorts.set(port, p);
      if (p.datagram) for (const port of p.udpPorts) if (!this.udpPorts.has(port)) this.udpPorts.set(port, p);
    }
    // explicit ports win over well-known ones
    for (const p of o.protocols) {
      for (const port of o.ports?.get(p.name) ?? []) {
        if (p.stream) this.tcpPorts.set(port, p);
        if (p.datagram) this.udpPorts.set(port, p);
      }
    }
  }

  get poolStats(): PagePoolStats {
    return this.pool.stats;
  }

  /** A TCP segment of flow `c` (after the tracker counted it). */
  tcp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView): void {
    const st = c.appState;
    if (st === NONE) return;
    if (st === UNDECIDED) {
      if (d.payloadCap <= 0 || !this.decideTcp(c, fromA, d, pv)) return;
    }
    const s = c.app as _Session;
    if (s.stopped) return;
    this.sec = pv.sec;
    this.nsec = pv.nsec;
    const x = s.dirs[fromA === s.clientIsA ? CLIENT : SERVER];
    const y = s.dirs[fromA === s.clientIsA ? SERVER : CLIENT];
    const flags = d.flags;
    // the peer's ACK first: holes its receiver got past are gaps now, and so are bytes it
    // acknowledges that the capture never saw (up to this side's FIN; a RST's ack field and
    // acknowledgements far beyond anything sent are not believed)
    if (flags & ACK && (flags & RST) === 0 && y.started) {
      let relAck = unwrap(y.base, d.ack, y.near);
      if (y.finRel >= 0 && relAck > y.finRel) relAck = y.finRel;
      if (relAck > y.next || y.re !== null) {
        const believed = relAck - y.near <= MAX_UNSEEN_ACK;
        if (y.re !== null) {
          if (believed) y.re.ackPast(relAck);
          else y.re.ackTo(relAck);
        } else if (believed) y.onGap(y.next, relAck - y.next);
        if (s.stopped) return this.release(s);
        this.checkEnd(s, y);
      }
    }
    const len = d.payloadLen;
    const dataStart = flags & SYN ? (d.seq + 1) >>> 0 : d.seq;
    if (len > 0 || flags & (FIN | RST)) {
      if (!x.started) this.start(x, fromA ? c.ha : c.hb, dataStart);
      const rel = unwrap(x.base, dataStart, x.near);
      if (len > 0) {
        if (rel + len > x.near) x.near = rel + len;
        if (x.re === null && rel === x.next && d.payloadCap >= len) x.onData(pv.buf, d.payloadOff, len, rel);
        else if (x.re === null && rel + len <= x.next) {
          // a retransmission of delivered bytes: nothing new
        } else {
          if (x.re === null) {
            x.re = new StreamReassembler(this.pool, { consumer: x, maxBufferedPerStream: this.perStream, overlapWindow: 0 });
            x.re.reset(x.next);
          }
          x.re.push(rel, pv.buf, d.payloadOff, len, d.payloadCap);
        }
        if (s.stopped) return this.release(s);
      }
      if (flags & FIN && x.finRel < 0) x.finRel = rel + len;
      this.checkEnd(s, x);
    }
  }

  /** A UDP datagram of flow `c`. */
  udp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView): void {
    const st = c.appState;
    if (st === NONE) return;
    if (st === UNDECIDED && !this.decideUdp(c, fromA, d, pv)) return;
    const s = c.app as _Session;
    if (s.stopped) return;
    const len = d.payloadCap < d.payloadLen ? d.payloadCap : d.payloadLen;
    s.datagram!.datagram(fromA === s.clientIsA ? CLIENT : SERVER, pv.buf, d.payloadOff, len, pv.sec, pv.nsec, d.payloadLen);
  }

  /** The flow ends (before its record is built): flush, and let the decoder write what is pending. */
  ended(c: Conn): void {
    if (c.appState !== CLAIMED) return;
    const s = c.app as _Session;
    this.sec = c.lastSec;
    this.nsec = c.lastNsec;
    if (s.stream !== null) {
      for (const x of s.dirs) {
        if (s.stopped) break;
        if (x.re !== null) x.re.flush();
        if (!x.ended && !s.stopped) {
          x.ended = true;
          s.stream.end(x.side, this.sec, this.nsec);
        }
      }
      this.release(s);
      s.stream.finish(this.sec, this.nsec);
    } else s.datagram!.finish(this.sec, this.nsec);
  }

  /** The conn record's application fields (`service`, transaction counts); left null for flows no decoder claimed. */
  fillConnRecord(c: Conn, r: RecordValues): void {
    if (c.appState !== CLAIMED) return;
    const s = c.app as _Session;
    r['service'] = s.confirmed ? s.def.service : null;
    r['transactions'] = s.transactions;
    r['failed_transactions'] = s.failed;
  }

  private decideTcp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView): boolean {
    this.claimFromA = fromA;
    this.claimLen = d.payloadLen;
    const n = d.payloadCap < SNIFF_BYTES ? d.payloadCap : SNIFF_BYTES;
    const buf = pv.buf, off = d.payloadOff;
    const byPort = this.tcpPorts.get(c.bPort) ?? this.tcpPorts.get(c.aPort);
    if (byPort !== undefined) {
      const r = byPort.sniff ? byPort.sniff(buf, off, n) : Sniff.MORE;
      if (r === Sniff.CLIENT || r === Sniff.SERVER) {
        this.claim(c, byPort, (r === Sniff.CLIENT) === fromA);
        return true;
      }
    }
    for (const p of this.sniffers) {
      if (p === byPort) continue;
      const r = p.sniff!(buf, off, n);
      if (r === Sniff.CLIENT || r === Sniff.SERVER) {
        this.claim(c, p, (r === Sniff.CLIENT) === fromA);
        return true;
      }
    }
    if (byPort !== undefined) {
      // no protocol recognised the bytes: the port decides (as Zeek attaches analyzers by port), and the sides too
      this.claim(c, byPort, this.tcpPorts.get(c.bPort) === byPort);
      return true;
    }
    // nothing matched this direction's bytes: give it a few more packets, then leave the flow alone
    const shift = fromA ? 0 : 8;
    let tries = (c.appTries >> shift) & 0xff;
    if (tries !== 0xff) tries = tries + 1 >= SNIFF_TRIES ? 0xff : tries + 1;
    c.appTries = (c.appTries & ~(0xff << shift)) | (tries << shift);
    if (c.appTries === 0xffff) this.leaveAlone(c);
    return false;
  }

  private decideUdp(c: Conn, fromA: boolean, d: Decoded, pv: PacketView): boolean {
    const p = this.udpPorts.get(c.bPort) ?? this.udpPorts.get(c.aPort);
    if (p === undefined) {
      this.leaveAlone(c);
      return false;
    }
    let clientIsA: boolean;
    const r = p.sniffDatagram ? p.sniffDatagram(pv.buf, d.payloadOff, d.payloadCap < SNIFF_BYTES ? d.payloadCap : SNIFF_BYTES) : Sniff.MORE;
    if (r === Sniff.CLIENT || r === Sniff.SERVER) clientIsA = (r === Sniff.CLIENT) === fromA;
    else {
      const aServer = this.udpPorts.get(c.aPort) === p, bServer = this.udpPorts.get(c.bPort) === p;
      clientIsA = aServer === bServer ? fromA : bServer;
    }
    this.claim(c, p, clientIsA);
    return true;
  }

  private leaveAlone(c: Conn): void {
    c.appState = NONE;
    c.app = null;
  }

  private claim(c: Conn, p: ProtocolDef, clientIsA: boolean): void {
    const s = new _Session(this, c, p);
    s.clientIsA = clientIsA;
    c.appState = CLAIMED;
    c.app = s;
    const m = this.stats.claimed;
    m.set(p.name, (m.get(p.name) ?? 0) + 1);
    if (c.proto === IPPROTO_TCP) {
      s.stream = p.stream!(s, this.limits);
      // bytes sent before this packet were sniffed, not kept: a side that sent some starts at its next segment
      const curLen = this.claimLen;
      s.dirs[clientIsA ? CLIENT : SERVER].hadData = c.ha.payloadBytes - (this.claimFromA ? curLen : 0) > 0;
      s.dirs[clientIsA ? SERVER : CLIENT].hadData = c.hb.payloadBytes - (this.claimFromA ? 0 : curLen) > 0;
    } else s.datagram = p.datagram!(s, this.limits);
  }

  /**
   * Starts a direction's stream: at the byte after its SYN when the tracker
   * saw it (so segments reordered at the start are put back in order), else
   * at this segment; and at this segment too when the side sent bytes before
   * the flow was claimed (a STARTTLS or SSLRequest exchange before a
   * ClientHello: no hole to wait for).
   */
  private start(x: _Direction, h: Half, dataStart: number): void {
    x.started = true;
    x.base = h.isn >= 0 ? (h.isn + 1) >>> 0 : dataStart;
    x.next = x.hadData ? unwrap(x.base, dataStart, 0) : 0;
    x.near = x.next;
  }

  /** A side whose bytes up to its FIN were all delivered has ended. */
  private checkEnd(s: _Session, x: _Direction): void {
    if (x.ended || x.finRel < 0 || x.next < x.finRel || s.stopped) return;
    x.ended = true;
    s.stream!.end(x.side, this.sec, this.nsec);
  }

  /** Returns a session's pages to the pool (the decoder gave up, or the flow ended). */
  private release(s: _Session): void {
    for (const x of s.dirs) {
      if (x.re !== null) x.re.reset(0);
      x.re = null;
    }
  }
}
