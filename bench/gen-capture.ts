#!/usr/bin/env node
/**
 * Synthetic "busy server" capture generator for the benchmark.
 *
 *   node dist/bench/gen-capture.js [--packets N] [--scale K] [--seed S] [--rate PPS] OUT.pcap
 *
 * Writes a classic pcap (magic a1b2c3d4 little-endian, microsecond
 * timestamps, LINKTYPE_ETHERNET, snaplen 262144) as seen by a capture on the
 * server host: thousands of interleaved HTTP/1.1-keep-alive-like TCP
 * connections (IPv4 and ~10 % IPv6) with handshake options (MSS, SACK-permitted,
 * timestamps, window scale), 100-600 byte requests, responses of full-size
 * segments plus a short tail, ACK-every-second-segment receivers with a 40 ms
 * delayed-ACK timer, ACK-clocked slow start, ~1 % downstream loss recovered by
 * SACK fast retransmit (dup ACKs with SACK blocks) or RTO, a little
 * reordering, some uploads captured at the receiver (so upstream loss shows as
 * "previous segment not captured"), ~5 % server ISNs just below 2^32 (the
 * sequence space wraps inside the connection), FIN/ACK teardown and a few %
 * RST closes. IPv4 header and TCP checksums are correct; IP-IDs increment per
 * packet and direction; TCP timestamps echo real peer values.
 *
 * Every connection is simulated as a whole when it arrives (a small
 * discrete-event model) into a per-connection descriptor table; connections
 * are then merged by next-packet time through a binary heap, so memory is
 * proportional to the number of open connections, not to the file size.
 * Frames are serialised straight into one large preallocated output Buffer;
 * payload bytes are copied from a pseudo-random pool whose 16-bit prefix sums
 * make the TCP checksum O(header) per packet. Deterministic for a given seed
 * (and generator version).
 *
 * Other entry points: `generateCapture(opts)` (programmatic) and GEN_VERSION
 * (bumped whenever the output for a given seed changes; bench/run.ts keys its
 * cache on it).
 */
import { closeSync, openSync, renameSync, statSync, writeFileSync, write, unlinkSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const GEN_VERSION = 7;

export interface GenOptions {
  /** Minimum number of packets (the last connections are allowed to finish, so a few more are written). */
  packets: number;
  seed: number;
  /** Capture-time packet rate (packets per second of capture time). */
  rate: number;
  /** Fraction of clients using IPv6. */
  ipv6: number;
  /** Probability that a first transmission of a data segment is lost. */
  loss: number;
  /** Probability that a data segment is delayed behind its successor. */
  reorder: number;
  /** Fraction of connections whose server ISN is within 32 KB below 2^32. */
  wrap: number;
  /** Fraction of connections closed by RST instead of FIN. */
  rst: number;
  /** Fraction of requests that are multi-segment uploads. */
  upload: number;
  serverPort: number;
  /** Capture start, seconds since the epoch. */
  startTime: number;
  /** Print a summary to stderr. */
  quiet: boolean;
  /**
   * Traffic mix: 'bulk' (the default: keep-alive sessions with responses up to
   * 500 KB, ~880 B per packet) or 'small' (request/response services: many
   * exchanges of 50-500 bytes per connection, pure ACKs, ~165 B per packet).
   */
  mix: 'bulk' | 'small';
}

export const DEFAULT_PACKETS = 1_500_000;

export const DEFAULT_OPTIONS: GenOptions = {
  packets: DEFAULT_PACKETS,
  seed: 1,
  rate: 200_000,
  ipv6: 0.1,
  loss: 0.01,
  reorder: 0.002,
  wrap: 0.05,
  rst: 0.03,
  upload: 0.05,
  serverPort: 8443,
  startTime: 1_710_252_000, // 2024-03-12 14:00:00 UTC
  quiet: false,
  mix: 'bulk',
};

/** Defaults of the small-packet mix (`--mix small`): 1.6 M packets, ~14 500 connections. */
export const SMALL_PACKETS = 1_600_000;
/** Small mix: mean number of request/response exchanges per connection beyond the first. */
const SMALL_EXCHANGES = 38;
/** Small mix: median server think time, µs (above 40 ms the server sends a delayed pure ACK first). */
const SMALL_THINK_MEDIAN = 30_000;
/** Small mix: mean client pause between a response and the next request, µs. */
const SMALL_CLIENT_GAP = 6_000;

/** A request or response size of the small mix: 50-500 bytes, 50·10^(u²) (most are short; mean ~140). */
function smallSize(rng: Rng): number {
  const u = rng.next();
  return Math.round(50 * Math.pow(10, u * u));
}

export interface GenStats {
  packets: number;
  bytes: number;
  connections: number;
  ipv6Connections: number;
  wrapConnections: number;
  rstConnections: number;
  serverCloses: number;
  maxConcurrent: number;
  meanConcurrent: number;
  captureSeconds: number;
  /** Connections still open when the capture ends (cut off, like `tcpdump -c N`). */
  openAtEnd: number;
  requests: number;
  uploads: number;
  dataSegments: number;
  lostSegments: number;
  fastRetransmits: number;
  rtoRetransmits: number;
  dupAcks: number;
  reordered: number;
  generateSeconds: number;
}

// ---------------------------------------------------------------------------
// PRNG: sfc32 (integer-only, so the output is identical on every platform).

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88 ^ (seed >>> 0);
    this.c = 0xb7e15162 ^ Math.floor(seed / 4294967296);
    this.d = 1;
    for (let i = 0; i < 20; i++) this.u32();
  }
  u32(): number {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return t >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  exp(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
  logUniform(lo: number, hi: number): number {
    return lo * Math.exp(this.next() * Math.log(hi / lo));
  }
  /** Log-normal with the given median; sigma in natural-log units. */
  logNormal(median: number, sigma: number): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return median * Math.exp(sigma * z);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------
// Packet descriptor table. One row of K doubles per packet.

const K = 10;
const F_T = 0; // capture time, µs since capture start (float)
const F_P = 1; // packed: dir | flags<<1 | opt<<9 | sackCnt<<11 | lostDownstream<<13
const F_SEQ = 2;
const F_ACK = 3;
const F_LEN = 4;
const F_WIN = 5;
const F_SACK = 6; // index into the connection's SACK value table
const F_SENDT = 7; // sender's clock at transmission, µs (drives TSval)
const F_TSVAL = 8;
const F_TSECR = 9;

const FIN = 1;
const SYN = 2;
const RST = 4;
const PSH = 8;
const ACK = 16;

const OPT_NONE = 0;
const OPT_SYN = 1;
const OPT_TS = 2;
const OPT_SACK = 3;

const C2S = 0;
const S2C = 1;

const LOST_BIT = 1 << 13; // lost downstream of the capture point
const FASTRETX_BIT = 1 << 14;
const RTORETX_BIT = 1 << 15;
const REORD_BIT = 1 << 16; // overtaken by its successor on the way to the receiver
const UPLOAD_BIT = 1 << 17;

// ---------------------------------------------------------------------------
// Payload pool with 16-bit big-endian word prefix sums.

const POOL_SIZE = 1 << 20;
const PAYLOAD_FIRST_BYTE = 0xd7;

function makePool(rng: Rng): { pool: Buffer; prefix: Float64Array } {
  const pool = Buffer.allocUnsafe(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i += 4) pool.writeUInt32LE(rng.u32(), i);
  const prefix = new Float64Array(POOL_SIZE / 2 + 1);
  let s = 0;
  for (let w = 0; w < POOL_SIZE / 2; w++) {
    prefix[w] = s;
    s += (pool[2 * w]! << 8) | pool[2 * w + 1]!;
  }
  prefix[POOL_SIZE / 2] = s;
  return { pool, prefix };
}

// ---------------------------------------------------------------------------
// Clients.

interface Client {
  v6: boolean;
  addr: Uint8Array;
  addrSum: number; // sum of the address's 16-bit words
  ttl: number;
  nextPort: number;
}

const SERVER_V4 = Uint8Array.from([203, 0, 113, 10]);
const SERVER_V6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]);
const SERVER_MAC = Uint8Array.from([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x10]);
const ROUTER_MAC = Uint8Array.from([0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01]);

function wordSum(a: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i += 2) s += (a[i]! << 8) | a[i + 1]!;
  return s;
}

/**
 * Ports in the Linux ephemeral range (32768-60999) that tshark 4.0 hands to a
 * protocol dissector (`tshark -G decodes | grep tcp.port`). tshark tries the
 * lower port (the server's 8443, which has none) and then the client port, so
 * a client port from this list makes it parse the random payload as that
 * protocol and report malformed packets. Real stacks would use them; the
 * generator skips them to keep the capture free of such artefacts.
 */
const DISSECTOR_PORTS = new Set([34980, 44321, 44322, 44818, 48049, 48898, 57000]);

// 199: tshark's paltalk heuristic claims traffic to 199.106.0.0/16.
const BAD_FIRST_OCTET = new Set([0, 10, 100, 127, 169, 172, 192, 198, 199, 203]);

function makeClient(rng: Rng, v6: boolean): Client {
  let addr: Uint8Array;
  if (v6) {
    addr = new Uint8Array(16);
    const prefixes = [0x2a02, 0x2a01, 0x2600, 0x2001, 0x2a00, 0x2003, 0x2604, 0x2800];
    const p = prefixes[rng.int(0, prefixes.length - 1)]!;
    addr[0] = p >> 8;
    addr[1] = p & 0xff;
    for (let i = 2; i < 16; i++) addr[i] = rng.int(0, 255);
    if (p === 0x2001) addr[2] = 0x04 + rng.int(0, 11); // avoid 2001:db8::/32
  } else {
    let first: number;
    do first = rng.int(1, 223);
    while (BAD_FIRST_OCTET.has(first));
    addr = Uint8Array.from([first, rng.int(0, 255), rng.int(0, 255), rng.int(1, 254)]);
  }
  const windows = rng.chance(0.25);
  return {
    v6,
    addr,
    addrSum: wordSum(addr),
    ttl: (windows ? 128 : 64) - rng.int(4, 20),
    nextPort: rng.int(32768, 60999),
  };
}

// ---------------------------------------------------------------------------
// A generated connection: its packets, sorted by capture time.

interface Conn {
  script: Float64Array;
  sack: Float64Array | null;
  n: number;
  idx: number;
  client: Client;
  cport: number;
  mss: number;
  flow: number;
  ipid: Uint16Array; // next IP-ID per direction
  /** CONN_* bits. */
  kind: number;
}

const CONN_V6 = 1;
const CONN_WRAP = 2;
const CONN_SERVER_CLOSE = 4;

// ---------------------------------------------------------------------------
// The connection simulator.

class Builder {
  // Scratch packet table (grown on demand, reused for every connection).
  S = new Float64Array(K * 4096);
  sn = 0;
  SK = new Float64Array(6 * 256);
  skn = 0;

  // Per-connection state.
  d = 0; // one-way delay, µs
  r = 0; // RTT, µs
  cSeq = 0;
  sSeq = 0;
  cWin = 0; // client's raw advertised window (scale 7)
  sWin = 0;
  mss = 1448;

  // Transfer results.
  xRecvDone = 0;
  xSenderDone = 0;

  // Transfer scratch.
  received = new Uint8Array(1024);
  lostF = new Uint8Array(1024);
  reordF = new Uint8Array(1024);
  retxF = new Uint8Array(1024);
  // Event heap.
  evT = new Float64Array(4096);
  evKind = new Int32Array(4096);
  evA = new Int32Array(4096);
  evOrd = new Float64Array(4096);
  evN = 0;
  evCounter = 0;

  constructor(
    private readonly rng: Rng,
    private readonly opt: GenOptions,
  ) {}

  emit(t: number, dir: number, flags: number, seq: number, ack: number, len: number, win: number, opt: number, sendT: number, extra = 0, sackIdx = 0, sackCnt = 0): void {
    if ((this.sn + 1) * K > this.S.length) {
      const n2 = new Float64Array(this.S.length * 2);
      n2.set(this.S);
      this.S = n2;
    }
    const S = this.S;
    const b = this.sn * K;
    S[b + F_T] = t;
    S[b + F_P] = dir | (flags << 1) | (opt << 9) | (sackCnt << 11) | extra;
    S[b + F_SEQ] = seq >>> 0;
    S[b + F_ACK] = ack >>> 0;
    S[b + F_LEN] = len;
    S[b + F_WIN] = win;
    S[b + F_SACK] = sackIdx;
    S[b + F_SENDT] = sendT;
    S[b + F_TSVAL] = 0;
    S[b + F_TSECR] = 0;
    this.sn++;
  }

  // --- event heap (min on time, then insertion order) ---
  private evLess(i: number, j: number): boolean {
    const a = this.evT[i]!;
    const b = this.evT[j]!;
    return a < b || (a === b && this.evOrd[i]! < this.evOrd[j]!);
  }
  private evSwap(i: number, j: number): void {
    let t = this.evT[i]!;
    this.evT[i] = this.evT[j]!;
    this.evT[j] = t;
    t = this.evOrd[i]!;
    this.evOrd[i] = this.evOrd[j]!;
    this.evOrd[j] = t;
    t = this.evKind[i]!;
    this.evKind[i] = this.evKind[j]!;
    this.evKind[j] = t;
    t = this.evA[i]!;
    this.evA[i] = this.evA[j]!;
    this.evA[j] = t;
  }
  push(t: number, kind: number, a: number): void {
    if (this.evN === this.evT.length) {
      const grow = <T extends Float64Array | Int32Array>(x: T): T => {
        const y = new (x.constructor as new (n: number) => T)(x.length * 2);
        y.set(x);
        return y;
      };
      this.evT = grow(this.evT);
      this.evKind = grow(this.evKind);
      this.evA = grow(this.evA);
      this.evOrd = grow(this.evOrd);
    }
    let i = this.evN++;
    this.evT[i] = t;
    this.evKind[i] = kind;
    this.evA[i] = a;
    this.evOrd[i] = this.evCounter++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.evLess(i, p)) break;
      this.evSwap(i, p);
      i = p;
    }
  }
  /** Pops the minimum into (popT, popKind, popA). */
  popT = 0;
  popKind = 0;
  popA = 0;
  pop(): void {
    this.popT = this.evT[0]!;
    this.popKind = this.evKind[0]!;
    this.popA = this.evA[0]!;
    const last = --this.evN;
    if (last > 0) {
      this.evT[0] = this.evT[last]!;
      this.evKind[0] = this.evKind[last]!;
      this.evA[0] = this.evA[last]!;
      this.evOrd[0] = this.evOrd[last]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= last) break;
        let m = l;
        if (l + 1 < last && this.evLess(l + 1, l)) m = l + 1;
        if (!this.evLess(m, i)) break;
        this.evSwap(m, i);
        i = m;
      }
    }
  }

  /**
   * One unidirectional bulk transfer of `bytes` starting at sender time
   * `tStart`. fromServer: the capture is at the sender (data captured when
   * sent, including segments later lost; ACKs captured on arrival). Otherwise
   * the capture is at the receiver (data captured on arrival, lost segments
   * never seen; ACKs captured when sent).
   */
  transfer(fromServer: boolean, tStart: number, bytes0: number): void {
    const rng = this.rng;
    const d = this.d;
    const mss = this.mss;
    // No 1-byte tail segments: tshark reports a retransmitted one as a keep-alive.
    const bytes = bytes0 % mss === 1 ? bytes0 + 1 : bytes0;
    const n = Math.ceil(bytes / mss);
    if (n > this.received.length) {
      let m = this.received.length;
      while (m < n) m *= 2;
      this.received = new Uint8Array(m);
      this.lostF = new Uint8Array(m);
      this.reordF = new Uint8Array(m);
      this.retxF = new Uint8Array(m);
    }
    const received = this.received;
    const lostF = this.lostF;
    const reordF = this.reordF;
    const retxF = this.retxF;
    const sDir = fromServer ? S2C : C2S;
    const rDir = fromServer ? C2S : S2C;
    const seqBase = fromServer ? this.sSeq : this.cSeq;
    const rcvSeq = fromServer ? this.cSeq : this.sSeq;
    const sndWinRaw = fromServer ? this.sWin : this.cWin;
    const rcvWinRaw = fromServer ? this.cWin : this.sWin;
    const rwndSegs = Math.max(2, Math.floor((rcvWinRaw * 128) / mss));
    const gap = fromServer ? 12 : rng.int(80, 400); // inter-segment spacing at the sender, µs
    for (let i = 0; i < n; i++) {
      received[i] = 0;
      retxF[i] = 0;
      lostF[i] = rng.chance(this.opt.loss) ? 1 : 0;
      reordF[i] = 0;
    }
    for (let i = 0; i + 1 < n; i++) {
      if (!lostF[i] && !lostF[i + 1] && rng.chance(this.opt.reorder)) {
        reordF[i] = 1;
      }
    }

    const segLen = (i: number): number => (i === n - 1 ? bytes - i * mss : mss);
    const offOf = (i: number): number => (i >= n ? bytes : i * mss);

    // Sender state.
    let cwnd = 10;
    let ssthresh = 1e9;
    let sndUna = 0;
    let sndNxt = 0;
    let inRec = false;
    let recover = 0;
    let dupacks = 0;
    let lastSend = -1e18;
    let rto = 200_000 + this.r;
    let rtoGen = 0;
    let rtoArmed = false;
    let senderDone = tStart;
    // Receiver state.
    let rcvNxt = 0;
    let oooCount = 0;
    let unacked = 0;
    let delackGen = 0;
    let recvDone = tStart;
    let lastArrived = -1;

    this.evN = 0;
    const EV_ARRIVE = 0;
    const EV_ACK = 1;
    const EV_RTO = 2;
    const EV_DELACK = 3;
    const EV_ARRIVE_RETX = 4;

    const armRto = (t: number): void => {
      rtoGen++;
      rtoArmed = true;
      this.push(t + rto, EV_RTO, rtoGen);
    };
    const xmit = (i: number, t0: number, retxBit: number): void => {
      const retx = retxBit !== 0;
      const t = Math.max(t0, lastSend + gap);
      lastSend = t;
      const lost = !retx && lostF[i] === 1;
      const len = segLen(i);
      const flags = ACK | (i === n - 1 ? PSH : 0);
      const seq = seqBase + offOf(i);
      const extra = retxBit | (lost ? LOST_BIT : 0) | (!retx && reordF[i] ? REORD_BIT : 0) | (fromServer ? 0 : UPLOAD_BIT);
      if (fromServer) this.emit(t, sDir, flags, seq, rcvSeq, len, sndWinRaw, OPT_TS, t, extra);
      if (!lost) {
        const arr = t + d + (!retx && reordF[i] ? gap * 1.5 + 5 : 0);
        this.push(arr, retx ? EV_ARRIVE_RETX : EV_ARRIVE, i);
        if (!fromServer) this.emit(arr, sDir, flags, seq, rcvSeq, len, sndWinRaw, OPT_TS, t, extra);
      }
      if (!rtoArmed) armRto(t);
    };
    const trySend = (t: number): void => {
      while (!inRec && sndNxt < n && sndNxt - sndUna < Math.min(Math.floor(cwnd), rwndSegs)) {
        xmit(sndNxt, t, 0);
        sndNxt++;
      }
    };
    const sendAck = (t: number, newest: number): void => {
      // Receiver sends an ACK at its time t; SACK blocks when data is buffered out of order.
      const ack = seqBase + offOf(rcvNxt);
      let sackIdx = 0;
      let sackCnt = 0;
      if (oooCount > 0) {
        sackIdx = this.skn;
        // Collect received runs above rcvNxt.
        let first = -1;
        const runs: number[] = [];
        for (let i = rcvNxt; i <= n; i++) {
          const got = i < n && received[i] === 1;
          if (got && first < 0) first = i;
          else if (!got && first >= 0) {
            runs.push(first, i);
            first = -1;
          }
        }
        // The block holding the newest segment goes first (RFC 2018), then the others in order.
        const ordered: number[] = [];
        for (let k = 0; k < runs.length; k += 2) if (newest >= runs[k]! && newest < runs[k + 1]!) ordered.push(runs[k]!, runs[k + 1]!);
        for (let k = 0; k < runs.length; k += 2) if (!(newest >= runs[k]! && newest < runs[k + 1]!)) ordered.push(runs[k]!, runs[k + 1]!);
        sackCnt = Math.min(3, ordered.length / 2);
        if (this.skn + 2 * sackCnt > this.SK.length) {
          const n2 = new Float64Array(this.SK.length * 2);
          n2.set(this.SK);
          this.SK = n2;
        }
        for (let k = 0; k < sackCnt; k++) {
          this.SK[this.skn++] = (seqBase + offOf(ordered[2 * k]!)) >>> 0;
          this.SK[this.skn++] = (seqBase + offOf(ordered[2 * k + 1]!)) >>> 0;
        }
      }
      const capT = fromServer ? t + d : t;
      this.emit(capT, rDir, ACK, rcvSeq, ack, 0, rcvWinRaw, sackCnt > 0 ? OPT_SACK : OPT_TS, t, 0, sackIdx, sackCnt);
      this.push(t + d, EV_ACK, rcvNxt);
    };

    trySend(tStart);
    while (this.evN > 0) {
      this.pop();
      const t = this.popT;
      const a = this.popA;
      switch (this.popKind) {
        case EV_ARRIVE:
        case EV_ARRIVE_RETX: {
          if (received[a]) break;
          received[a] = 1;
          lastArrived = a;
          if (a === rcvNxt) {
            const wasOoo = oooCount > 0;
            while (rcvNxt < n && received[rcvNxt]) {
              if (rcvNxt !== a) oooCount--;
              rcvNxt++;
            }
            if (rcvNxt === n) recvDone = t;
            if (wasOoo || rcvNxt === n) {
              sendAck(t, a);
              unacked = 0;
              delackGen++;
            } else if (++unacked >= 2) {
              sendAck(t, a);
              unacked = 0;
              delackGen++;
            } else {
              delackGen++;
              this.push(t + 40_000, EV_DELACK, delackGen);
            }
          } else if (a > rcvNxt) {
            oooCount++;
            sendAck(t, a);
          }
          break;
        }
        case EV_DELACK:
          if (a === delackGen && unacked > 0) {
            sendAck(t, lastArrived);
            unacked = 0;
          }
          break;
        case EV_ACK: {
          if (a > sndUna) {
            const k = a - sndUna;
            sndUna = a;
            dupacks = 0;
            if (inRec) {
              if (sndUna >= recover) {
                inRec = false;
                cwnd = Math.max(ssthresh, 2);
              } else if (lostF[sndUna] && !retxF[sndUna]) {
                retxF[sndUna] = 1;
                xmit(sndUna, t + 15, FASTRETX_BIT);
              }
            } else {
              cwnd += cwnd < ssthresh ? k : k / cwnd;
            }
            if (sndUna === n) {
              senderDone = t;
              rtoArmed = false;
              rtoGen++;
            } else if (sndUna < sndNxt) armRto(t);
            else {
              rtoArmed = false;
              rtoGen++;
            }
            trySend(t);
          } else if (a === sndUna && sndUna < sndNxt) {
            dupacks++;
            if (dupacks === 3 && !inRec && lostF[sndUna] && !retxF[sndUna]) {
              inRec = true;
              recover = sndNxt;
              ssthresh = Math.max(2, Math.floor(cwnd / 2));
              cwnd = ssthresh;
              retxF[sndUna] = 1;
              xmit(sndUna, t + 15, FASTRETX_BIT);
              armRto(t);
            }
          }
          break;
        }
        case EV_RTO:
          if (a === rtoGen && rtoArmed && sndUna < sndNxt) {
            // Retransmit the first hole (the sender's SACK scoreboard knows which one it is).
            let h = sndUna;
            while (h < sndNxt && (!lostF[h] || retxF[h])) h++;
            if (h < sndNxt) {
              retxF[h] = 1;
              ssthresh = Math.max(2, Math.floor((sndNxt - sndUna) / 2));
              cwnd = 1;
              inRec = true;
              recover = sndNxt;
              rto *= 2;
              xmit(h, t, RTORETX_BIT);
              armRto(t);
            } else {
              rtoArmed = false;
            }
          }
          break;
      }
    }
    if (sndUna !== n) throw new Error(`transfer did not complete (${sndUna}/${n})`);
    if (fromServer) this.sSeq = (this.sSeq + bytes) >>> 0;
    else this.cSeq = (this.cSeq + bytes) >>> 0;
    this.xRecvDone = recvDone;
    this.xSenderDone = senderDone;
  }

  responseBytes(): number {
    const rng = this.rng;
    if (this.opt.mix === 'small') return smallSize(rng);
    const u = rng.next();
    if (u < 0.35) return rng.int(180, 1400);
    if (u < 0.77) return Math.min(30_000, Math.round(rng.logNormal(7_000, 0.8)) + 1500);
    if (u < 0.975) return rng.int(30_000, 120_000);
    return rng.int(120_000, 500_000);
  }

  /** Simulates one whole connection whose SYN reaches the server at t0. */
  build(t0: number, client: Client): Conn {
    const rng = this.rng;
    const opt = this.opt;
    this.sn = 0;
    this.skn = 0;
    const v6 = client.v6;
    let cport: number;
    do {
      cport = client.nextPort;
      client.nextPort += rng.int(1, 3);
      if (client.nextPort > 60999) client.nextPort -= 60999 - 32768;
    } while (DISSECTOR_PORTS.has(cport));
    const mssOpt = v6 ? 1440 : 1460;
    this.mss = mssOpt - 12; // timestamps option on every segment
    // Small mix: services inside a data centre or region (0.3-60 ms RTT).
    this.r = opt.mix === 'small' ? rng.logUniform(300, 60_000) : rng.logUniform(2_000, 200_000);
    this.d = this.r / 2;
    const d = this.d;
    const r = this.r;
    const ciss = rng.u32();
    const wrap = rng.chance(opt.wrap);
    // A wrapping connection's server ISN is placed so that the sequence
    // number passes 2^32 inside the first response (ISN 0xffffffff included:
    // then the first data byte is sequence number 0).
    const firstResponse = this.responseBytes();
    const siss = wrap ? (0xffffffff - rng.int(0, Math.min(30_000, firstResponse - 1))) >>> 0 : rng.u32();
    this.cWin = rng.int(1_500, 12_000);
    this.sWin = 502;


    // Handshake.
    this.emit(t0, C2S, SYN, ciss, 0, 0, 64_240, OPT_SYN, t0 - d);
    const t1 = t0 + rng.int(15, 80);
    this.emit(t1, S2C, SYN | ACK, siss, ciss + 1, 0, 65_160, OPT_SYN, t1);
    const t2 = t1 + r * (1 + rng.next() * 0.05);
    this.cSeq = (ciss + 1) >>> 0;
    this.sSeq = (siss + 1) >>> 0;
    this.emit(t2, C2S, ACK, this.cSeq, this.sSeq, 0, this.cWin, OPT_TS, t2 - d);

    // Requests and responses; tc is the client's clock when it sends the next request.
    let tc = t2 - d + rng.int(20, 300);
    let serverDone = t2;
    const small = opt.mix === 'small';
    const exchanges = 1 + Math.floor(rng.exp(small ? SMALL_EXCHANGES : 1.4));
    for (let e = 0; e < exchanges; e++) {
      let tReq: number;
      if (!small && rng.chance(opt.upload)) {
        this.transfer(false, tc, rng.int(3_000, 40_000));
        tReq = this.xRecvDone;
      } else {
        const len = small ? smallSize(rng) : rng.int(100, 600);
        tReq = tc + d;
        this.emit(tReq, C2S, PSH | ACK, this.cSeq, this.sSeq, len, this.cWin, OPT_TS, tc);
        this.cSeq = (this.cSeq + len) >>> 0;
        const p0 = small ? rng.logNormal(SMALL_THINK_MEDIAN, 1.0) : rng.logNormal(1_500, 1.3);
        const p = Math.min(300_000, Math.max(50, p0));
        if (p > 40_000) this.emit(tReq + 40_000, S2C, ACK, this.sSeq, this.cSeq, 0, this.sWin, OPT_TS, tReq + 40_000);
        tReq += p;
      }
      this.transfer(true, tReq, e === 0 ? firstResponse : this.responseBytes());
      serverDone = this.xSenderDone;
      tc = this.xRecvDone + (e + 1 < exchanges ? rng.exp(small ? SMALL_CLIENT_GAP : 250_000) + 200 : 0);
    }

    // Teardown.
    const u = rng.next();
    const kind = (v6 ? CONN_V6 : 0) | (wrap ? CONN_WRAP : 0) | (u >= opt.rst && u < opt.rst + 0.25 ? CONN_SERVER_CLOSE : 0);
    if (u < opt.rst) {
      if (rng.chance(0.7)) {
        const t = this.xRecvDone + rng.exp(50_000) + 100;
        this.emit(t + d, C2S, RST | ACK, this.cSeq, this.sSeq, 0, 0, OPT_NONE, t);
      } else {
        const t = serverDone + rng.exp(200_000) + 100;
        this.emit(t, S2C, RST | ACK, this.sSeq, this.cSeq, 0, 0, OPT_NONE, t);
      }
    } else if (u < opt.rst + 0.25) {
      const t = serverDone + rng.exp(1_000_000) + 1_000;
      this.emit(t, S2C, FIN | ACK, this.sSeq, this.cSeq, 0, this.sWin, OPT_TS, t);
      this.sSeq = (this.sSeq + 1) >>> 0;
      const tc2 = t + d + rng.int(10, 60);
      this.emit(tc2 + d, C2S, FIN | ACK, this.cSeq, this.sSeq, 0, this.cWin, OPT_TS, tc2);
      this.cSeq = (this.cSeq + 1) >>> 0;
      const t3 = tc2 + d + rng.int(10, 40);
      this.emit(t3, S2C, ACK, this.sSeq, this.cSeq, 0, this.sWin, OPT_TS, t3);
    } else {
      const t = this.xRecvDone + rng.exp(600_000) + 1_000;
      this.emit(t + d, C2S, FIN | ACK, this.cSeq, this.sSeq, 0, this.cWin, OPT_TS, t);
      this.cSeq = (this.cSeq + 1) >>> 0;
      const t1b = t + d + rng.int(10, 60);
      this.emit(t1b, S2C, FIN | ACK, this.sSeq, this.cSeq, 0, this.sWin, OPT_TS, t1b);
      this.sSeq = (this.sSeq + 1) >>> 0;
      const tcA = t1b + d + rng.int(10, 40);
      this.emit(tcA + d, C2S, ACK, this.cSeq, this.sSeq, 0, this.cWin, OPT_TS, tcA);
    }

    return this.finish(client, cport, mssOpt, kind);
  }

  /** Sorts the scratch table by capture time, fills TSval/TSecr, and packs it into a Conn. */
  private finish(client: Client, cport: number, mssOpt: number, kind: number): Conn {
    const rng = this.rng;
    const n = this.sn;
    const S = this.S;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => S[a * K]! - S[b * K]! || a - b);
    const out = new Float64Array(n * K);
    for (let i = 0; i < n; i++) {
      const from = order[i]! * K;
      const to = i * K;
      for (let f = 0; f < K; f++) out[to + f] = S[from + f]!;
    }

    // TCP timestamps: 1 kHz clocks with random per-connection offsets (Linux
    // randomises them per connection). The server echoes the newest client
    // TSval it has seen (= captured before, the capture is at the server); the
    // client echoes the newest server TSval that had reached it when it sent.
    const cOff = rng.u32();
    const sOff = rng.u32();
    const d = this.d;
    for (let i = 0; i < n; i++) {
      const b = i * K;
      const off = (out[b + F_P]! & 1) === C2S ? cOff : sOff;
      out[b + F_TSVAL] = (off + Math.floor(out[b + F_SENDT]! / 1000)) >>> 0;
    }
    let lastClientTs = 0;
    let lastServerTs = 0;
    let p = 0;
    for (let i = 0; i < n; i++) {
      const b = i * K;
      const packed = out[b + F_P]!;
      if ((packed & 1) === C2S) {
        const sendT = out[b + F_SENDT]!;
        for (; p < n; p++) {
          const pb = p * K;
          const pp = out[pb + F_P]!;
          if ((pp & 1) !== S2C) continue;
          if (out[pb + F_T]! + d > sendT + 0.5) break;
          if (!(pp & LOST_BIT)) lastServerTs = out[pb + F_TSVAL]!;
        }
        out[b + F_TSECR] = ((packed >> 1) & 0xff) === SYN ? 0 : lastServerTs;
        lastClientTs = out[b + F_TSVAL]!;
      } else {
        out[b + F_TSECR] = lastClientTs;
      }
    }

    const ipid = new Uint16Array(2);
    ipid[0] = rng.int(0, 65535);
    ipid[1] = rng.int(0, 65535);
    return {
      script: out,
      sack: this.skn > 0 ? this.SK.slice(0, this.skn) : null,
      n,
      idx: 0,
      client,
      cport,
      mss: mssOpt,
      flow: rng.int(0, 0xfffff),
      ipid,
      kind,
    };
  }
}

// ---------------------------------------------------------------------------
// Frame writer.

const SNAPLEN = 262_144;
const OUT_CHUNK = 16 << 20;
const MAX_FRAME = 16 + 14 + 40 + 60 + 1500;

class Writer {
  /** Output buffers: one is filled while the others are written by the libuv thread pool. */
  private readonly bufs: Buffer[] = [];
  private readonly inflight: (Promise<void> | null)[] = [];
  private cur = 0;
  /** Writes are chained so they reach the file in order (concurrent position-less writes may reorder). */
  private tail: Promise<void> = Promise.resolve();
  buf: Buffer;
  pos = 0;
  bytes = 0;
  constructor(
    private readonly fd: number,
    private readonly pool: Buffer,
    private readonly prefix: Float64Array,
    private readonly rng: Rng,
    private readonly serverPort: number,
    private readonly startSec: number,
  ) {
    for (let i = 0; i < 3; i++) {
      this.bufs.push(Buffer.allocUnsafe(OUT_CHUNK));
      this.inflight.push(null);
    }
    this.buf = this.bufs[0]!;
    const b = this.buf;
    b.writeUInt32LE(0xa1b2c3d4, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    b.writeInt32LE(0, 8);
    b.writeUInt32LE(0, 12);
    b.writeUInt32LE(SNAPLEN, 16);
    b.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    this.pos = 24;
  }

  get full(): boolean {
    return this.pos + MAX_FRAME > this.buf.length;
  }

  /** Hands the current buffer to the thread pool and switches to the next free one. */
  async rotate(): Promise<void> {
    const buf = this.buf;
    const len = this.pos;
    this.bytes += len;
    this.tail = this.tail.then(() => writeAll(this.fd, buf, len));
    this.inflight[this.cur] = this.tail;
    this.cur = (this.cur + 1) % this.bufs.length;
    const prev = this.inflight[this.cur];
    if (prev) await prev;
    this.inflight[this.cur] = null;
    this.buf = this.bufs[this.cur]!;
    this.pos = 0;
  }

  async close(): Promise<void> {
    await this.rotate();
    await Promise.all(this.inflight.filter((p) => p !== null));
  }

  packet(c: Conn, k: number): void {
    const S = c.script;
    const b = k * K;
    const packed = S[b + F_P]!;
    const dir = packed & 1;
    const flags = (packed >> 1) & 0xff;
    const opt = (packed >> 9) & 3;
    const sackCnt = (packed >> 11) & 3;
    const len = S[b + F_LEN]!;
    const optLen = opt === OPT_NONE ? 0 : opt === OPT_SYN ? 20 : opt === OPT_TS ? 12 : 16 + 8 * sackCnt;
    const tcpLen = 20 + optLen + len;
    const v6 = c.client.v6;
    const ipLen = (v6 ? 40 : 20) + tcpLen;
    const frameLen = 14 + ipLen;
    const o = this.buf;
    let p = this.pos;

    // pcap record header
    const us = Math.round(S[b + F_T]!);
    const sec = this.startSec + Math.floor(us / 1e6);
    const usec = us % 1e6;
    o.writeUInt32LE(sec, p);
    o.writeUInt32LE(usec, p + 4);
    o.writeUInt32LE(frameLen, p + 8);
    o.writeUInt32LE(frameLen, p + 12);
    p += 16;

    // Ethernet
    const dstMac = dir === C2S ? SERVER_MAC : ROUTER_MAC;
    const srcMac = dir === C2S ? ROUTER_MAC : SERVER_MAC;
    for (let i = 0; i < 6; i++) {
      o[p + i] = dstMac[i]!;
      o[p + 6 + i] = srcMac[i]!;
    }
    o[p + 12] = v6 ? 0x86 : 0x08;
    o[p + 13] = v6 ? 0xdd : 0x00;
    p += 14;

    const cl = c.client;
    const srcA = dir === C2S ? cl.addr : v6 ? SERVER_V6 : SERVER_V4;
    const dstA = dir === C2S ? (v6 ? SERVER_V6 : SERVER_V4) : cl.addr;
    const ttl = dir === C2S ? cl.ttl : 64;
    let pseudo: number;
    if (v6) {
      o[p] = 0x60 | ((c.flow >> 16) & 0x0f);
      o[p + 1] = (c.flow >> 8) & 0xff;
      o[p + 2] = c.flow & 0xff;
      o[p + 3] = 0;
      o[p + 4] = tcpLen >> 8;
      o[p + 5] = tcpLen & 0xff;
      o[p + 6] = 6;
      o[p + 7] = ttl;
      for (let i = 0; i < 16; i++) {
        o[p + 8 + i] = srcA[i]!;
        o[p + 24 + i] = dstA[i]!;
      }
      pseudo = cl.addrSum + wordSumV6Server + tcpLen + 6;
      p += 40;
    } else {
      const id = c.ipid[dir]!;
      c.ipid[dir] = (id + 1) & 0xffff;
      o[p] = 0x45;
      o[p + 1] = 0;
      o[p + 2] = ipLen >> 8;
      o[p + 3] = ipLen & 0xff;
      o[p + 4] = id >> 8;
      o[p + 5] = id & 0xff;
      o[p + 6] = 0x40; // DF
      o[p + 7] = 0;
      o[p + 8] = ttl;
      o[p + 9] = 6;
      o[p + 10] = 0;
      o[p + 11] = 0;
      for (let i = 0; i < 4; i++) {
        o[p + 12 + i] = srcA[i]!;
        o[p + 16 + i] = dstA[i]!;
      }
      let s = 0;
      for (let i = 0; i < 20; i += 2) s += (o[p + i]! << 8) | o[p + i + 1]!;
      const ck = ~foldSum(s) & 0xffff;
      o[p + 10] = ck >> 8;
      o[p + 11] = ck & 0xff;
      pseudo = cl.addrSum + wordSumV4Server + tcpLen + 6;
      p += 20;
    }

    // TCP
    const tcp = p;
    const sport = dir === C2S ? c.cport : this.serverPort;
    const dport = dir === C2S ? this.serverPort : c.cport;
    const seq = S[b + F_SEQ]!;
    const ack = S[b + F_ACK]!;
    const win = S[b + F_WIN]!;
    o[p] = sport >> 8;
    o[p + 1] = sport & 0xff;
    o[p + 2] = dport >> 8;
    o[p + 3] = dport & 0xff;
    put32(o, p + 4, seq);
    put32(o, p + 8, flags & ACK ? ack : 0);
    o[p + 12] = ((20 + optLen) >> 2) << 4;
    o[p + 13] = flags;
    o[p + 14] = win >> 8;
    o[p + 15] = win & 0xff;
    o[p + 16] = 0;
    o[p + 17] = 0;
    o[p + 18] = 0;
    o[p + 19] = 0;
    p += 20;
    if (opt === OPT_SYN) {
      o[p] = 2;
      o[p + 1] = 4;
      o[p + 2] = c.mss >> 8;
      o[p + 3] = c.mss & 0xff;
      o[p + 4] = 4;
      o[p + 5] = 2;
      o[p + 6] = 8;
      o[p + 7] = 10;
      put32(o, p + 8, S[b + F_TSVAL]!);
      put32(o, p + 12, S[b + F_TSECR]!);
      o[p + 16] = 1;
      o[p + 17] = 3;
      o[p + 18] = 3;
      o[p + 19] = 7;
    } else if (opt !== OPT_NONE) {
      o[p] = 1;
      o[p + 1] = 1;
      o[p + 2] = 8;
      o[p + 3] = 10;
      put32(o, p + 4, S[b + F_TSVAL]!);
      put32(o, p + 8, S[b + F_TSECR]!);
      if (opt === OPT_SACK) {
        o[p + 12] = 1;
        o[p + 13] = 1;
        o[p + 14] = 5;
        o[p + 15] = 2 + 8 * sackCnt;
        const sk = c.sack!;
        let si = S[b + F_SACK]!;
        for (let q = 0; q < sackCnt; q++) {
          put32(o, p + 16 + 8 * q, sk[si++]!);
          put32(o, p + 20 + 8 * q, sk[si++]!);
        }
      }
    }
    p += optLen;

    let sum = pseudo;
    for (let i = tcp; i < p; i += 2) sum += (o[i]! << 8) | o[i + 1]!;
    if (len > 0) {
      const off = (this.rng.u32() % ((POOL_SIZE - 2048) >> 1)) << 1;
      this.pool.copy(o, p, off, off + len);
      const w = off >> 1;
      const half = len >> 1;
      sum += this.prefix[w + half]! - this.prefix[w]!;
      if (len & 1) sum += this.pool[off + len - 1]! << 8;
      // Fixed first byte: keeps tshark's heuristic dissectors (thrift, h1,
      // tls, ...) from claiming a random payload now and then. The payload
      // starts on a 16-bit boundary, so the byte is the high half of a word.
      sum += ((PAYLOAD_FIRST_BYTE - this.pool[off]!) << 8) + 2 * 65535;
      o[p] = PAYLOAD_FIRST_BYTE;
      p += len;
    }
    const ck = ~foldSum(sum) & 0xffff;
    o[tcp + 16] = ck >> 8;
    o[tcp + 17] = ck & 0xff;
    this.pos = p;
  }
}

function writeAll(fd: number, buf: Buffer, len: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      if (off >= len) return resolve();
      write(fd, buf, off, len - off, null, (err, n) => (err ? reject(err) : step(off + n)));
    };
    step(0);
  });
}

const wordSumV4Server = wordSum(SERVER_V4);
const wordSumV6Server = wordSum(SERVER_V6);

/** One's-complement fold of a non-negative sum (may exceed 2^32). */
function foldSum(s: number): number {
  return s === 0 ? 0 : ((s - 1) % 65535) + 1;
}

function put32(o: Buffer, p: number, v: number): void {
  o[p] = (v >>> 24) & 0xff;
  o[p + 1] = (v >>> 16) & 0xff;
  o[p + 2] = (v >>> 8) & 0xff;
  o[p + 3] = v & 0xff;
}

// ---------------------------------------------------------------------------
// Main loop: Poisson connection arrivals, heap merge by next packet time.

/** Mean packets per connection, used to turn the packet rate into an arrival rate. */
const PACKETS_PER_CONN = 75;
const PACKETS_PER_CONN_SMALL = 145;

export async function generateCapture(outPath: string, options: Partial<GenOptions> = {}): Promise<GenStats> {
  const opt: GenOptions = { ...DEFAULT_OPTIONS, ...options };
  const started = process.hrtime.bigint();
  const rng = new Rng(opt.seed);
  const payRng = new Rng(opt.seed ^ 0x5eed);
  const { pool, prefix } = makePool(payRng);
  const stats: GenStats = {
    packets: 0,
    bytes: 0,
    connections: 0,
    ipv6Connections: 0,
    wrapConnections: 0,
    rstConnections: 0,
    serverCloses: 0,
    maxConcurrent: 0,
    meanConcurrent: 0,
    captureSeconds: 0,
    openAtEnd: 0,
    requests: 0,
    uploads: 0,
    dataSegments: 0,
    lostSegments: 0,
    fastRetransmits: 0,
    rtoRetransmits: 0,
    dupAcks: 0,
    reordered: 0,
    generateSeconds: 0,
  };
  const builder = new Builder(rng, opt);

  const perConn = opt.mix === 'small' ? PACKETS_PER_CONN_SMALL : PACKETS_PER_CONN;
  const expectedConns = Math.max(100, Math.ceil(opt.packets / perConn));
  const clients: Client[] = [];
  const nClients = Math.max(50, Math.ceil(expectedConns / 8));
  const seen = new Set<string>();
  while (clients.length < nClients) {
    const c = makeClient(rng, rng.chance(opt.ipv6));
    const key = c.addr.join('.');
    if (seen.has(key)) continue; // unique addresses keep every 4-tuple unique
    seen.add(key);
    clients.push(c);
  }
  const arrivalMean = 1e6 / (opt.rate / perConn); // µs between connection arrivals

  // Regular files are written to OUT.tmp and renamed when complete; anything
  // else (/dev/null, a FIFO, "-" for stdout) is written in place.
  let tmp: string | null = `${outPath}.tmp`;
  let fd: number;
  if (outPath === '-') {
    tmp = null;
    fd = 1;
  } else {
    let special = false;
    try {
      special = !statSync(outPath).isFile();
    } catch {
      special = false;
    }
    if (special) tmp = null;
    fd = openSync(tmp ?? outPath, 'w');
  }
  const w = new Writer(fd, pool, prefix, new Rng(opt.seed ^ 0xa11ce), opt.serverPort, opt.startTime);

  // Heap of open connections keyed by their next packet's time.
  let hConn: Conn[] = [];
  let hKey = new Float64Array(1024);
  let hn = 0;
  const siftDown = (i: number): void => {
    const key = hKey[i]!;
    const c = hConn[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= hn) break;
      const r = l + 1;
      const m = r < hn && hKey[r]! < hKey[l]! ? r : l;
      if (hKey[m]! >= key) break;
      hKey[i] = hKey[m]!;
      hConn[i] = hConn[m]!;
      i = m;
    }
    hKey[i] = key;
    hConn[i] = c;
  };
  const heapPush = (c: Conn): void => {
    if (hn === hKey.length) {
      const k2 = new Float64Array(hKey.length * 2);
      k2.set(hKey);
      hKey = k2;
    }
    let i = hn++;
    const key = c.script[c.idx * K]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (hKey[p]! <= key) break;
      hKey[i] = hKey[p]!;
      hConn[i] = hConn[p]!;
      i = p;
    }
    hKey[i] = key;
    hConn[i] = c;
  };

  let nextArrival = 0;
  let emitted = 0;
  let concSum = 0;
  let concSamples = 0;
  let lastT = 0;
  // Like `tcpdump -c N`: connection arrivals never stop; the capture ends
  // after exactly opt.packets packets, with the connections then open cut off.
  while (emitted < opt.packets) {
    if (hn === 0 || nextArrival <= hKey[0]!) {
      const client = clients[rng.int(0, clients.length - 1)]!;
      const c = builder.build(nextArrival, client);
      concSum += hn;
      concSamples++;
      heapPush(c);
      if (hn > stats.maxConcurrent) stats.maxConcurrent = hn;
      nextArrival += rng.exp(arrivalMean);
      continue;
    }
    const c = hConn[0]!;
    const k = c.idx;
    const b = k * K;
    const S = c.script;
    lastT = S[b + F_T]!;
    if (w.full) await w.rotate();
    w.packet(c, k);
    emitted++;

    // Statistics of what was actually written.
    if (k === 0) {
      stats.connections++;
      if (c.kind & CONN_V6) stats.ipv6Connections++;
      if (c.kind & CONN_WRAP) stats.wrapConnections++;
      if (c.kind & CONN_SERVER_CLOSE) stats.serverCloses++;
    }
    const pk = S[b + F_P]!;
    const flags = (pk >> 1) & 0xff;
    if (flags & RST) stats.rstConnections++;
    if (S[b + F_LEN]! > 0) {
      if (pk & (FASTRETX_BIT | RTORETX_BIT)) {
        if (pk & FASTRETX_BIT) stats.fastRetransmits++;
        else stats.rtoRetransmits++;
      } else {
        stats.dataSegments++;
        if ((pk & 1) === C2S && flags & PSH) {
          stats.requests++;
          if (pk & UPLOAD_BIT) stats.uploads++;
        }
      }
      if (pk & LOST_BIT) stats.lostSegments++;
      if (pk & REORD_BIT) stats.reordered++;
    } else if ((pk >> 11) & 3) {
      stats.dupAcks++;
    }

    c.idx++;
    if (c.idx === c.n) {
      hn--;
      if (hn > 0) {
        hKey[0] = hKey[hn]!;
        hConn[0] = hConn[hn]!;
        siftDown(0);
      }
      hConn[hn] = undefined as unknown as Conn;
    } else {
      hKey[0] = S[c.idx * K + F_T]!;
      siftDown(0);
    }
  }
  stats.openAtEnd = hn;
  await w.close();
  if (fd !== 1) closeSync(fd);
  if (tmp !== null) renameSync(tmp, outPath);
  hConn = [];

  stats.packets = emitted;
  stats.bytes = w.bytes;
  stats.meanConcurrent = concSamples > 0 ? concSum / concSamples : 0;
  stats.captureSeconds = lastT / 1e6;
  stats.generateSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return stats;
}

export function formatStats(s: GenStats): string {
  const pct = (a: number, b: number): string => (b > 0 ? ((100 * a) / b).toFixed(2) + '%' : '-');
  return [
    `packets        ${s.packets}  (${(s.bytes / 1e6).toFixed(1)} MB, ${(s.bytes / s.packets).toFixed(0)} B/packet incl. 16 B record header)`,
    `connections    ${s.connections}  (IPv6 ${pct(s.ipv6Connections, s.connections)}, seq-wrapping ${pct(s.wrapConnections, s.connections)}, RST-closed ${pct(s.rstConnections, s.connections)}, server-initiated FIN ${pct(s.serverCloses, s.connections)})`,
    `concurrency    max ${s.maxConcurrent} open, mean ${s.meanConcurrent.toFixed(0)}, ${s.openAtEnd} cut off by the end of the capture`,
    `capture time   ${s.captureSeconds.toFixed(2)} s  (${(s.packets / s.captureSeconds / 1e3).toFixed(0)} kpps, ${((s.bytes * 8) / s.captureSeconds / 1e9).toFixed(2)} Gbit/s)`,
    `requests       ${s.requests}  (${s.uploads} multi-segment uploads)`,
    `data segments  ${s.dataSegments} first transmissions; lost downstream ${s.lostSegments} (${pct(s.lostSegments, s.dataSegments)}), fast retx ${s.fastRetransmits}, RTO retx ${s.rtoRetransmits}, dup ACKs with SACK ${s.dupAcks}, reordered ${s.reordered}`,
    `generated in   ${s.generateSeconds.toFixed(2)} s  (${(s.packets / s.generateSeconds / 1e6).toFixed(2)} M packets/s, ${(s.bytes / s.generateSeconds / 1e6).toFixed(0)} MB/s)`,
  ].join('\n');
}

function usage(): string {
  return `usage: gen-capture [--packets N] [--scale K] [--seed S] [--rate PPS] [--ipv6 F] [--loss P] [--wrap F] [--rst F] [--port P] [--meta] [--quiet] OUT.pcap
  --packets N  minimum packet count (default ${DEFAULT_PACKETS})
  --scale K    multiply the packet count by K (e.g. 10 for the memory-flatness check)
  --seed S     PRNG seed (default ${DEFAULT_OPTIONS.seed}); output is deterministic per seed
  --rate PPS   packets per second of capture time (default ${DEFAULT_OPTIONS.rate})
  --mix M      bulk (default) or small (request/response services, ~165 B per packet; default ${SMALL_PACKETS} packets)
  --meta       also write OUT.pcap.meta.json (generator version, options, statistics)`;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        packets: { type: 'string' },
        scale: { type: 'string' },
        seed: { type: 'string' },
        rate: { type: 'string' },
        ipv6: { type: 'string' },
        loss: { type: 'string' },
        wrap: { type: 'string' },
        rst: { type: 'string' },
        port: { type: 'string' },
        mix: { type: 'string' },
        meta: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`gen-capture: ${(e as Error).message}\n${usage()}\n`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`gen-capture: expected one output path\n${usage()}\n`);
    return 2;
  }
  const num = (s: string | undefined, name: string, def: number): number => {
    if (s === undefined) return def;
    const x = Number(s.replace(/_/g, ''));
    if (!Number.isFinite(x) || x < 0) throw new Error(`bad --${name}: ${s}`);
    return x;
  };
  const out = parsed.positionals[0]!;
  if (v.mix !== undefined && v.mix !== 'bulk' && v.mix !== 'small') {
    process.stderr.write(`gen-capture: --mix is bulk or small, not ${v.mix}\n${usage()}\n`);
    return 2;
  }
  const mix = v.mix === 'small' ? 'small' : 'bulk';
  const opts: Partial<GenOptions> = {
    mix,
    packets: Math.round(num(v.packets, 'packets', mix === 'small' ? SMALL_PACKETS : DEFAULT_PACKETS) * num(v.scale, 'scale', 1)),
    seed: num(v.seed, 'seed', DEFAULT_OPTIONS.seed),
    rate: num(v.rate, 'rate', DEFAULT_OPTIONS.rate),
    ipv6: num(v.ipv6, 'ipv6', DEFAULT_OPTIONS.ipv6),
    loss: num(v.loss, 'loss', DEFAULT_OPTIONS.loss),
    wrap: num(v.wrap, 'wrap', DEFAULT_OPTIONS.wrap),
    rst: num(v.rst, 'rst', DEFAULT_OPTIONS.rst),
    serverPort: num(v.port, 'port', DEFAULT_OPTIONS.serverPort),
  };
  let stats: GenStats;
  try {
    stats = await generateCapture(out, opts);
  } catch (e) {
    try {
      unlinkSync(`${out}.tmp`);
    } catch {
      /* nothing to remove */
    }
    throw e;
  }
  if (v.meta) {
    const full = { ...DEFAULT_OPTIONS, ...opts, quiet: undefined };
    writeFileSync(`${out}.meta.json`, JSON.stringify({ genVersion: GEN_VERSION, options: full, stats }, null, 2) + '\n');
  }
  if (!v.quiet) process.stderr.write(`${out}\n${formatStats(stats)}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`gen-capture: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
