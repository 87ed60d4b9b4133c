/**
 * followConnection: one TCP connection's two byte streams, reassembled, as
 * the text of `tshark -q -z follow,tcp,<fmt>,<stream>` (see follow-format.ts).
 *
 * One pass, so stdin works: the pipeline's `onSegment` hook sees every TCP
 * segment with its flow; when a flow's first segment arrives its uid is
 * computed exactly as the conn record computes it (stableUid of the Community
 * ID, first timestamp and flow number: the flow is known before it ends), and
 * from then on that flow's segments are decoded again into a private
 * `Decoded` (the hook does not pass the tracker's; only the followed flow's
 * packets pay for it) and pushed into one StreamReassembler per direction.
 * The flow is the same one tcpanalyze reports only with the same
 * idle-timeout and close-linger settings, since those decide where flows split
 * and so the flow numbers in uids. Reading stops once the connection's record
 * is written.
 *
 * Chunks follow tshark's follow tap (epan/dissectors/packet-tcp.c 4.0,
 * follow_tcp_tap_listener / check_follow_fragments): a segment that continues
 * the stream is one chunk (its new bytes); an early segment waits and becomes
 * one chunk when the stream reaches it (held segments are scanned in arrival
 * order for the first that starts at or before the stream's end); when the
 * peer acknowledges past the start of a held segment, the hole before it is a
 * "[N bytes missing in capture file]" chunk. Differences from tshark are
 * listed in docs/reassembly.md.
 */
import type { InputSpec } from '../io/input.js';
import type { PacketView } from '../capture/packet.js';
import type { DriveControl } from '../capture/open.js';
import { Decoded, ACK, FIN, RST, SYN, IPPROTO_TCP, Outcome } from '../decode/decoded.js';
import { decodePacket } from '../decode/packet.js';
import type { Conn } from '../tcp/conn.js';
import { unwrap } from '../tcp/seq.js';
import { DEFAULT_MAX_BUFFER_BYTES, PagePool, type PagePoolStats } from '../tcp/page-pool.js';
import type { MemoryBudget } from '../util/memory-budget.js';
import { StreamReassembler, type StreamConsumer, type StreamStats } from '../tcp/reassembly.js';
import { UsageError } from '../util/errors.js';
import { formatAddr } from '../util/ip.js';
import { communityId } from './community-id.js';
import { stableUid } from './uid.js';
import { analyzeCaptures, type AnalyzeResult } from './pipeline.js';
import type { AppLayer } from './app-layer.js';
import { FOLLOW_FORMATS, FOLLOW_SEPARATOR, followHeader, followNode, formatChunk, gapMarker, lateMarker, type FollowFormat } from './follow-format.js';

/** A transaction's start, to be marked in the followed text: its time and one line about it. */
export interface FollowMark {
  sec: number;
  nsec: number;
  /** The mark's line given its number among the connection's transactions in start order (from 1). */
  text: (n: number) => string;
}

/**
 * Transaction marks for --follow with --decode: the caller adds every
 * transaction record's mark (from the AppLayer it passed in the options);
 * those of the followed connection are kept.
 */
export class FollowMarks {
  uid: string | null = null;
  readonly list: FollowMark[] = [];
  add(uid: unknown, ts: unknown, text: (n: number) => string): void {
    if (uid !== this.uid || typeof ts !== 'string') return;
    const dot = ts.indexOf('.');
    const sec = Number(dot < 0 ? ts : ts.slice(0, dot));
    const nsec = dot < 0 ? 0 : Number(ts.slice(dot + 1).padEnd(9, '0').slice(0, 9));
    this.list.push({ sec, nsec, text });
  }
}

export interface FollowOptions {
  /**
   * Decoders run on the followed connection (the pipeline's `app`), and
   * `marks` collects their transactions: each is marked, as one line, before
   * the first chunk at or after its start. The connection's text is held
   * until it ends (up to `maxMarkedText`, default 64 MiB; past that the rest
   * is written unmarked).
   */
  app?: AppLayer;
  marks?: FollowMarks;
  maxMarkedText?: number;
  /** Bytes of out-of-order data held for both directions together (--max-buffer); default 64 MiB. */
  maxBuffer?: number;
  /** Memory budget the flows and the reassembly pages are charged to (see MemoryBudget). */
  budget?: MemoryBudget;
  /** Bytes of out-of-order data held per direction; default half of maxBuffer (one connection is followed). */
  maxBufferedPerStream?: number;
  /** Delivered bytes kept per direction to compare retransmissions with; default 64 KiB. */
  overlapWindow?: number;
  /** Must match the tcpanalyze run that printed the uid (they decide flow numbers). */
  idleTimeoutMs?: number;
  closeLingerMs?: number;
  control?: DriveControl;
}

export interface FollowResult {
  /** False when no TCP connection matched (nothing was written). */
  found: boolean;
  uid: string | null;
  /** The connection's number among TCP connections, from 0 (tshark's tcp.stream). */
  tcpStream: number;
  /** Node 0 (source of the connection's first packet) and Node 1. */
  nodes: [string, string];
  /** Reassembly counters of Node 0's stream and Node 1's. */
  streams: [StreamStats, StreamStats];
  pool: PagePoolStats;
  analysis: AnalyzeResult;
  /** Transactions marked, and those not marked because the held text passed maxMarkedText. */
  marked: number;
  unmarked: number;
}

const UID_RE = /^C[0-9A-Za-z]{17}$/;
const STREAM_RE = /^(0|[1-9][0-9]{0,9})$/;

/** What to follow: a conn uid ("C" + 17 base62 digits) or a tcp.stream number. */
export function parseFollowSelector(sel: string): { uid: string } | { stream: number } {
  if (UID_RE.test(sel)) return { uid: sel };
  if (STREAM_RE.test(sel)) return { stream: Number(sel) };
  throw new UsageError('FOLLOW_BAD_SELECTOR', `--follow: expected a connection uid (C + 17 letters and digits) or a tcp.stream number, got ${JSON.stringify(sel)}`);
}

/** One direction: sequence base, reassembler, and tshark's chunking of what it delivers. */
class _FollowDirection implements StreamConsumer {
  hasBase = false;
  base = 0;
  near = 0;
  readonly re: StreamReassembler;
  /** Captured extents [start, end) of segments not yet fully delivered, in arrival order (tshark's fragment list). */
  private held: number[] = [];
  /** The open chunk: its bytes, and the offset where it must end (Infinity: at the end of the operation). */
  private acc: Uint8Array = new Uint8Array(2048);
  private accLen = 0;
  private open = false;
  private chunkEnd = 0;
  /** Bytes of this node's chunks so far (tshark's hex offset). */
  private pos = 0;
  /** The per-stream buffer cap, and bytes that came after it had given their range up. */
  private readonly cap: number;
  private late = 0;

  constructor(
    pool: PagePool,
    opts: FollowOptions,
    private readonly server: boolean,
    private readonly fmt: FollowFormat,
    private readonly write: (text: string) => void,
  ) {
    // one connection is followed: each of its two streams may use half the pool (tshark holds everything)
    this.cap = opts.maxBufferedPerStream ?? Math.floor((opts.maxBuffer ?? DEFAULT_MAX_BUFFER_BYTES) / 2);
    this.re = new StreamReassembler(pool, {
      consumer: this,
      maxBufferedPerStream: this.cap,
      ...(opts.overlapWindow !== undefined ? { overlapWindow: opts.overlapWindow } : {}),
    });
  }

  /** A segment's payload: relSeq .. relSeq+len-1 with capLen bytes captured at buf[off]. */
  push(relSeq: number, buf: Uint8Array, off: number, len: number, capLen: number): void {
    const capEnd = relSeq + Math.min(len, capLen);
    const next = this.re.nextOffset;
    // tshark handles a segment that continues the stream before any held one
    if (relSeq <= next) {
      if (capEnd > next) this.held.unshift(relSeq, capEnd);
    } else this.held.push(relSeq, capEnd);
    this.re.push(relSeq, buf, off, len, capLen);
    this.close();
  }

  ackTo(relAck: number): void {
    this.re.ackTo(relAck);
    this.close();
  }

  flush(): void {
    this.re.flush();
    this.close();
    this.held.length = 0;
    if (this.late > 0) {
      const m = lateMarker(this.late);
      this.emit(m, m.length);
      this.late = 0;
    }
  }

  onData(buf: Uint8Array, off: number, len: number, relSeq: number): void {
    let o = relSeq;
    while (len > 0) {
      if (!this.open) this.begin(o);
      const n = Math.min(len, this.chunkEnd - o);
      this.append(buf, off, n);
      off += n;
      len -= n;
      o += n;
      if (o >= this.chunkEnd) this.close();
    }
  }

  onGap(relSeq: number, len: number, forced = false): void {
    this.close();
    const m = gapMarker(len, forced ? this.cap : 0);
    this.emit(m, m.length);
    this.dropHeldBefore(relSeq + len);
  }

  /** Bytes that came after the cap had given their range up: counted, and one note per stream at its end. */
  onLate(_relSeq: number, len: number): void {
    this.late += len;
  }

  /** Opens a chunk at `o`: it ends where the first held segment (arrival order) starting at or before `o` ends. */
  private begin(o: number): void {
    const h = this.held;
    let end = Infinity;
    for (let i = 0; i < h.length; ) {
      if (h[i]! <= o) {
        const e = h[i + 1]!;
        h.splice(i, 2);
        if (e > o) {
          end = e;
          break;
        }
      } else i += 2;
    }
    this.open = true;
    this.chunkEnd = end;
    this.accLen = 0;
  }

  private dropHeldBefore(o: number): void {
    const h = this.held;
    for (let i = 0; i < h.length; ) {
      if (h[i + 1]! <= o) h.splice(i, 2);
      else i += 2;
    }
  }

  private append(buf: Uint8Array, off: number, n: number): void {
    if (this.accLen + n > this.acc.length) {
      let cap = this.acc.length * 2;
      while (cap < this.accLen + n) cap *= 2;
      const a = new Uint8Array(cap);
      a.set(this.acc.subarray(0, this.accLen));
      this.acc = a;
    }
    this.acc.set(buf.subarray(off, off + n), this.accLen);
    this.accLen += n;
  }

  /** Ends the open chunk (tshark's records never span packets) and forgets segments now wholly delivered. */
  private close(): void {
    if (this.open) {
      this.open = false;
      if (this.accLen > 0) this.emit(this.acc, this.accLen);
    }
    if (this.held.length > 0) this.dropHeldBefore(this.re.nextOffset);
  }

  private emit(b: Uint8Array, len: number): void {
    this.write(formatChunk(this.fmt, this.server, this.pos, b, len));
    this.pos += len;
  }
}

function validate(fmt: FollowFormat): void {
  if (!FOLLOW_FORMATS.includes(fmt)) {
    throw new UsageError('FOLLOW_BAD_FORMAT', `--follow-format: expected one of ${FOLLOW_FORMATS.join(', ')}, got ${JSON.stringify(fmt)}`);
  }
}

/**
 * Writes one connection's reassembled streams as tshark's follow text.
 * `uid` is a conn uid or a tcp.stream number (as a string).
 */
export async function followConnection(
  specs: InputSpec[],
  uid: string,
  format: FollowFormat,
  write: (text: string | Uint8Array) => void,
  opts: FollowOptions = {},
): Promise<FollowResult> {
  validate(format);
  const sel = parseFollowSelector(uid);
  const account = opts.budget ? opts.budget.account('reassembly', opts.maxBuffer ?? opts.budget.share(1 / 8)) : null;
  const pool = new PagePool({ ...(opts.maxBuffer !== undefined ? { maxBytes: opts.maxBuffer } : {}), account });
  const marks = opts.marks;
  const held = marks !== undefined ? new _MarkedText(write, marks, opts.maxMarkedText ?? 64 * 1024 * 1024) : null;
  const chunkOut = held !== null ? (t: string): void => held.chunk(t) : write;
  const dirs = [new _FollowDirection(pool, opts, false, format, chunkOut), new _FollowDirection(pool, opts, true, format, chunkOut)] as const;
  const d = new Decoded();
  let lastSerial = 0;
  let tcpStream = -1;
  let target = -1;
  let targetUid: string | null = null;
  let targetStream = -1;
  let nodes: [string, string] = ['', ''];
  let done = false;

  const onSegment = (c: Conn, fromA: boolean, pv: PacketView): void => {
    if (c.serial !== target) {
      if (target >= 0 || c.serial <= lastSerial) return;
      // the first segment of a new TCP connection
      lastSerial = c.serial;
      tcpStream++;
      const wantUid = 'uid' in sel;
      if (!wantUid && sel.stream !== tcpStream) return;
      const a = [c.a0, c.a1, c.a2, c.a3], b = [c.b0, c.b1, c.b2, c.b3];
      const u = stableUid(communityId(c.ipVersion, c.proto, a, c.aPort, b, c.bPort), c.firstSec, c.firstNsec, c.serial);
      if (wantUid && u !== sel.uid) return;
      target = c.serial;
      targetUid = u;
      if (marks !== undefined) marks.uid = u;
      targetStream = tcpStream;
      nodes = [followNode(formatAddr(c.ipVersion, c.a0, c.a1, c.a2, c.a3), c.aPort, c.ipVersion), followNode(formatAddr(c.ipVersion, c.b0, c.b1, c.b2, c.b3), c.bPort, c.ipVersion)];
      write(followHeader(format, `tcp.stream eq ${tcpStream}`, nodes[0], nodes[1]));
    }
    if (done) return;
    if (decodePacket(pv, d) !== Outcome.OK || d.proto !== IPPROTO_TCP) return;
    if (held !== null) held.at(pv.sec, pv.nsec);
    segment(fromA ? dirs[0] : dirs[1], fromA ? dirs[1] : dirs[0], d, pv);
  };

  const segment = (x: _FollowDirection, y: _FollowDirection, d: Decoded, pv: PacketView): void => {
    const flags = d.flags;
    const dataStart = flags & SYN ? (d.seq + 1) >>> 0 : d.seq;
    if (!x.hasBase) {
      x.hasBase = true;
      x.base = dataStart;
      x.re.reset(0);
    }
    // tshark looks at the ACK (holes the peer's receiver got past) before this segment's data
    if (flags & ACK && y.hasBase) y.ackTo(unwrap(y.base, d.ack, y.near));
    const len = d.payloadLen;
    if (len <= 0) return;
    const rel = unwrap(x.base, dataStart, x.near);
    // keep-alive probes (one old byte, often garbage) are not stream data
    if (len <= 1 && rel === x.re.nextOffset - 1 && (flags & (SYN | FIN | RST)) === 0) return;
    if (rel + len > x.near) x.near = rel + len;
    x.push(rel, pv.buf, d.payloadOff, len, d.payloadCap);
  };

  const control = opts.control;
  const analysis = await analyzeCaptures(specs, {
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    ...(opts.closeLingerMs !== undefined ? { closeLingerMs: opts.closeLingerMs } : {}),
    onSegment,
    ...(opts.app ? { app: opts.app } : {}),
    ...(opts.budget ? { budget: opts.budget } : {}),
    onRecord: (r) => {
      if (done || targetUid === null || r['uid'] !== targetUid) return;
      done = true;
      dirs[0].flush();
      dirs[1].flush();
      held?.end();
      write(FOLLOW_SEPARATOR);
    },
    control: {
      stop: () => done || (control?.stop?.() ?? false),
      ...(control?.wait ? { wait: control.wait } : {}),
    },
  });
  return {
    found: targetUid !== null,
    uid: targetUid,
    tcpStream: targetStream,
    nodes,
    streams: [dirs[0].re.stats, dirs[1].re.stats],
    pool: pool.stats,
    analysis,
    marked: held?.marked ?? 0,
    unmarked: held?.unmarked ?? 0,
  };
}

/**
 * The followed text held with each chunk's packet time until the connection
 * ends, then written with the transaction marks inserted: a mark goes before
 * the first chunk whose packet is at or after the transaction's start (marks
 * after the last chunk go at the end). Past `max` characters the held text
 * is written with the marks known so far and the rest passes through.
 */
class _MarkedText {
  private texts: string[] = [];
  private secs: number[] = [];
  private nsecs: number[] = [];
  private size = 0;
  private sec = 0;
  private nsec = 0;
  private passing = false;
  marked = 0;
  unmarked = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly marks: FollowMarks,
    private readonly max: number,
  ) {}

  /** The time of the packet whose bytes the next chunks are. */
  at(sec: number, nsec: number): void {
    this.sec = sec;
    this.nsec = nsec;
  }

  chunk(t: string): void {
    if (this.passing) return this.write(t);
    this.texts.push(t);
    this.secs.push(this.sec);
    this.nsecs.push(this.nsec);
    this.size += t.length;
    if (this.size > this.max) {
      this.release();
      this.passing = true;
    }
  }

  end(): void {
    if (this.passing) this.unmarked += this.marks.list.length;
    else this.release();
    this.marks.list.length = 0;
  }

  private release(): void {
    const m = this.marks.list.slice().sort((a, b) => a.sec - b.sec || a.nsec - b.nsec);
    this.marks.list.length = 0;
    let k = 0;
    const mark = (): void => {
      this.write(m[k]!.text(this.marked + k + 1) + '\n');
      k++;
    };
    for (let i = 0; i < this.texts.length; i++) {
      const sec = this.secs[i]!, nsec = this.nsecs[i]!;
      while (k < m.length && (m[k]!.sec < sec || (m[k]!.sec === sec && m[k]!.nsec <= nsec))) mark();
      this.write(this.texts[i]!);
    }
    while (k < m.length) mark();
    this.marked += m.length;
    this.texts = [];
    this.secs = [];
    this.nsecs = [];
  }
}
