/**
 * Kernel socket statistics over netlink sock_diag (linux/sock_diag.h,
 * linux/inet_diag.h), as m-lab tcp-info's collector asks for them
 * (collector/socket-monitor_linux.go makeReq / OneType):
 *
 *   nlmsghdr { len 72, type SOCK_DIAG_BY_FAMILY (20), flags NLM_F_REQUEST | NLM_F_DUMP, seq, pid 0 }
 *   inet_diag_req_v2 { family, IPPROTO_TCP, idiag_ext 0xFF, pad, idiag_states 0xF37, id zeroed }
 *
 * idiag_ext 0xFF asks for MEMINFO, INFO, VEGASINFO, CONG, TOS, TCLASS,
 * SKMEMINFO and SHUTDOWN (bit type-1 each); idiag_states 0xF37 is every TCP
 * state but SYN_RECV (3), TIME_WAIT (6) and CLOSE (7).
 *
 * The socket is a raw NETLINK_SOCK_DIAG socket from the npm `netlink`
 * package (a small N-API binding: send bytes, receive whole datagrams). The
 * replies are kept raw: every SOCK_DIAG_BY_FAMILY message of the dump up to
 * NLMSG_DONE goes into a MessageBatch as (datagram, payload offset, payload
 * length), with no object per message: the batch is reused from poll to
 * poll.
 */
import { createRequire } from 'node:module';
import { ToolError } from '../../util/errors.js';
import { NLMSG_HDRLEN, SOCK_DIAG_BY_FAMILY, type NetlinkMessage } from '../../tcpinfo/netlink.js';
import { AF_INET, AF_INET6 } from '../../tcpinfo/inet_diag.js';

export const NETLINK_SOCK_DIAG = 4;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_DUMP = 0x300;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const IPPROTO_TCP = 6;

/** INET_DIAG_MEMINFO .. INET_DIAG_SHUTDOWN (types 1..8): bit `type - 1` each. */
export const TCPINFO_IDIAG_EXT = 0xff;
/** All 12 TCP state bits but SYN_RECV (3), TIME_WAIT (6) and CLOSE (7). */
export const TCPINFO_IDIAG_STATES = 0xfff & ~((1 << 3) | (1 << 6) | (1 << 7));

/** sizeof(struct inet_diag_req_v2). */
export const INET_DIAG_REQ_V2_SIZE = 56;

/** The whole request message (header and inet_diag_req_v2) for one address family. */
export function encodeSockDiagRequest(family: number, seq: number, pid = 0): Buffer {
  const b = Buffer.alloc(NLMSG_HDRLEN + INET_DIAG_REQ_V2_SIZE);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
  b.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(pid >>> 0, 12);
  b[16] = family; // sdiag_family
  b[17] = IPPROTO_TCP; // sdiag_protocol
  b[18] = TCPINFO_IDIAG_EXT; // idiag_ext
  b[19] = 0; // pad
  b.writeUInt32LE(TCPINFO_IDIAG_STATES, 20); // idiag_states
  // struct inet_diag_sockid id (48 bytes) stays zero: no filter.
  return b;
}

/**
 * The payloads of one dump's messages (struct inet_diag_msg and attributes),
 * as views (buffer, offset, length) into the received datagrams. Reused:
 * `clear()` before each dump.
 */
export class MessageBatch {
  bufs: Uint8Array[] = [];
  offs: number[] = [];
  lens: number[] = [];
  count = 0;

  clear(): void {
    for (let i = 0; i < this.count; i++) this.bufs[i] = EMPTY;
    this.count = 0;
  }

  push(buf: Uint8Array, off: number, len: number): void {
    const i = this.count++;
    this.bufs[i] = buf;
    this.offs[i] = off;
    this.lens[i] = len;
  }

  /** A batch of already split messages (recorded data, tests). */
  static of(msgs: readonly NetlinkMessage[]): MessageBatch {
    const b = new MessageBatch();
    for (const m of msgs) b.push(m.data, 0, m.data.length);
    return b;
  }
}

const EMPTY = new Uint8Array(0);

/** Problems tcp-info counts in tcpinfo_error_total{type}. */
export type DumpErrorType = 'wrong seq num' | 'wrong pid' | 'NLMSG_ERROR';

/** Where one family's messages come from: the kernel, or recorded data in tests. */
export interface SockDiagSource {
  /** Fills `into` (cleared first) with the payloads of one family's dump. */
  dump(family: number, into: MessageBatch): Promise<MessageBatch>;
  close(): void;
}

export interface SockDiagSocketOptions {
  /** A dump not finished after this long fails (default 5000 ms). */
  timeoutMs?: number;
  /** Called for each message tcp-info would count as an error. */
  onError?: (type: DumpErrorType | 'not SOCK_DIAG_BY_FAMILY') => void;
}

/** The parts of the netlink package's RawNetlinkSocket used here. */
interface RawSocket {
  send(msg: Uint8Array, options?: { port?: number }, callback?: (error?: Error) => void): void;
  on(event: 'message' | 'truncatedMessage', fn: (msg: Buffer, rinfo: { port: number; truncated?: number }) => void): void;
  on(event: 'error', fn: (e: Error) => void): void;
  address(): { port: number; groups: number };
  close(): void;
  unref(): void;
  ref(): void;
  setRecvBufferSize(size: number): unknown;
}

type RawSocketClass = new (protocol: number, options?: object) => RawSocket;

let rawSocketClass: RawSocketClass | null = null;

/** Loads the native binding on first use, so commands that never poll do not need it. */
function loadRawSocket(): RawSocketClass {
  if (rawSocketClass) return rawSocketClass;
  try {
    const require = createRequire(import.meta.url);
    rawSocketClass = (require('netlink/dist/raw.js') as { RawNetlinkSocket: RawSocketClass }).RawNetlinkSocket;
    return rawSocketClass;
  } catch (e) {
    throw new ToolError('NETLINK_UNAVAILABLE', `cannot load the netlink binding (npm package "netlink"): ${(e as Error).message}`);
  }
}

interface PendingDump {
  seq: number;
  batch: MessageBatch;
  resolve: (m: MessageBatch) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

function u32(b: Buffer, o: number): number {
  return b.readUInt32LE(o);
}

/**
 * One NETLINK_SOCK_DIAG socket in the current network namespace; one dump
 * at a time (the poller awaits each). Unlike tcp-info, which opens a socket
 * per dump, the socket is kept: replies are matched by sequence number and
 * stale ones (from a dump that timed out) are counted and dropped.
 */
export class SockDiagSocket implements SockDiagSource {
  private readonly sock: RawSocket;
  private readonly port: number;
  private seq = 0;
  private pending: PendingDump | null = null;
  private closed = false;
  private failure: Error | null = null;
  private readonly timeoutMs: number;
  private readonly onError: (type: DumpErrorType | 'not SOCK_DIAG_BY_FAMILY') => void;

  constructor(options: SockDiagSocketOptions = {}) {
    const Raw = loadRawSocket();
    try {
      this.sock = new Raw(NETLINK_SOCK_DIAG);
    } catch (e) {
      throw new ToolError('NETLINK_SOCKET_FAILED', `cannot open a NETLINK_SOCK_DIAG socket: ${(e as Error).message}`);
    }
    this.port = this.sock.address().port;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.onError = options.onError ?? (() => {});
    this.seq = (Date.now() & 0xffff) * 1000;
    this.sock.on('message', (buf) => this.receive(buf));
    this.sock.on('truncatedMessage', (_buf, rinfo) => this.fail(new ToolError('NETLINK_TRUNCATED', `netlink reply truncated (${rinfo.truncated ?? '?'} bytes)`)));
    this.sock.on('error', (e) => this.fail(new ToolError('NETLINK_RECEIVE_FAILED', `netlink socket error: ${e.message}`)));
    this.sock.unref();
  }

  /** Every SOCK_DIAG_BY_FAMILY message of one family's dump, in kernel order, into `into`. */
  dump(family: number, into: MessageBatch = new MessageBatch()): Promise<MessageBatch> {
    if (this.closed) return Promise.reject(new ToolError('NETLINK_CLOSED', 'the sock_diag socket is closed'));
    if (this.pending) return Promise.reject(new Error('SockDiagSocket.dump: a dump is already running'));
    if (family !== AF_INET && family !== AF_INET6) return Promise.reject(new RangeError(`family ${family} is not AF_INET or AF_INET6`));
    this.seq = (this.seq + 1) >>> 0;
    const seq = this.seq;
    into.clear();
    return new Promise<MessageBatch>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new ToolError('NETLINK_TIMEOUT', `no end of the sock_diag dump after ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending = { seq, batch: into, resolve, reject, timer };
      this.sock.ref();
      this.sock.send(encodeSockDiagRequest(family, seq), { port: 0 }, (e) => {
        if (e) this.fail(new ToolError('NETLINK_SEND_FAILED', `cannot send the sock_diag request: ${e.message}`));
      });
    });
  }

  private settle(): PendingDump | null {
    const p = this.pending;
    if (p === null) return null;
    this.pending = null;
    clearTimeout(p.timer);
    if (!this.closed) this.sock.unref();
    return p;
  }

  private fail(e: Error): void {
    const p = this.settle();
    if (p) p.reject(e);
    else this.failure ??= e;
  }

  /** One datagram: a run of 4-aligned netlink messages. */
  private receive(buf: Buffer): void {
    let p = 0;
    while (buf.length - p >= NLMSG_HDRLEN) {
      const len = u32(buf, p);
      if (len < NLMSG_HDRLEN || len > buf.length - p) {
        this.fail(new ToolError('NETLINK_BAD_LENGTH', `netlink message length ${len} does not fit its datagram (${buf.length - p} bytes left)`, { offset: p }));
        return;
      }
      const type = buf.readUInt16LE(p + 4);
      const seq = u32(buf, p + 8);
      const pid = u32(buf, p + 12);
      const cur = this.pending;
      if (cur === null || seq !== cur.seq) {
        this.onError('wrong seq num');
      } else if (pid !== this.port) {
        this.onError('wrong pid');
      } else if (type === NLMSG_DONE) {
        this.settle()!.resolve(cur.batch);
      } else if (type === NLMSG_ERROR) {
        const code = len >= NLMSG_HDRLEN + 4 ? buf.readInt32LE(p + NLMSG_HDRLEN) : -1;
        if (code === 0) this.settle()!.resolve(cur.batch);
        else {
          this.onError('NLMSG_ERROR');
          this.fail(new ToolError('NETLINK_ERROR', `the kernel answered the sock_diag dump with error ${-code}`));
        }
      } else if (type !== SOCK_DIAG_BY_FAMILY) {
        this.onError('not SOCK_DIAG_BY_FAMILY');
      } else {
        cur.batch.push(buf, p + NLMSG_HDRLEN, len - NLMSG_HDRLEN);
      }
      p += (len + 3) & ~3;
    }
  }

  /** The first asynchronous socket error seen outside a dump, if any. */
  get error(): Error | null {
    return this.failure;
  }

  close(): void {
    if (this.closed) return;
    const p = this.settle();
    if (p) p.reject(new ToolError('NETLINK_CLOSED', 'the sock_diag socket was closed during a dump'));
    this.closed = true;
    this.sock.close();
  }
}
