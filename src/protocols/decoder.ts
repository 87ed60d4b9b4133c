/**
 * The contract between the application-layer decoders (HTTP, DNS, TLS, ...)
 * and the code that feeds them (src/analysis/app-layer.ts).
 *
 * A decoder sees bytes, never TCP: each side's bytes in order with the
 * capture time at which they became readable in order, gaps (bytes the
 * capture lost, with their length) and the end of each side. It writes
 * transaction records through its context. It must be resumable at any
 * chunk boundary (the tests re-split every stream at every byte and require
 * the same records) and bounded: it holds at most its limits' bytes and
 * pending transactions whatever the input, and never throws on bad input
 * (it records the problem, resynchronises or stops).
 *
 * Sides are the application's roles: CLIENT sends requests (queries, the
 * TLS ClientHello), SERVER answers. The feeder decides which TCP direction
 * is which from the sniff (or the ports) before the first byte arrives.
 */
import type { RecordSchema, RecordValues } from '../records/schema.js';

export const CLIENT = 0;
export const SERVER = 1;
/** CLIENT (0) or SERVER (1). */
export type Side = 0 | 1;

/** What a sniff makes of the first bytes of one direction. */
export const Sniff = {
  /** Not this protocol. */
  NO: 0,
  /** Too few bytes to tell. */
  MORE: 1,
  /** These are a client's first bytes of this protocol. */
  CLIENT: 2,
  /** These are a server's first bytes of this protocol. */
  SERVER: 3,
} as const;
export type SniffResult = (typeof Sniff)[keyof typeof Sniff];

/** Bytes a sniff is given at most (the first bytes of a direction). */
export const SNIFF_BYTES = 64;

/** Where a decoder's results go. The feeder fills each record's connection fields (uid, addresses, ports). */
export interface AppContext {
  /**
   * A finished transaction (or message) of `schema`'s kind; `failed` counts
   * it among the connection's failed transactions (the protocol's own
   * meaning: an HTTP 4xx/5xx, a DNS rcode other than NOERROR, a TLS alert).
   * The record belongs to the feeder from here on.
   */
  emit(schema: RecordSchema, r: RecordValues, failed: boolean): void;
  /** The stream is this protocol: a complete, well-formed first message was seen (sets the connection's `service`). */
  confirm(): void;
  /** Something odd but survivable (Zeek's weird.log): counted by name, per run. */
  weird(name: string): void;
  /**
   * The decoder gives up on this connection (the reason is counted). No
   * more calls follow except `finish`.
   */
  stop(reason: string): void;
}

/** Bounds every decoder respects; the defaults suit real traffic. */
export interface DecoderLimits {
  /** Bytes of one message header (an HTTP header block, a DNS message over TCP, a TLS handshake message) held while it is incomplete. */
  maxHeaderBytes: number;
  /** Requests waiting for their response, per connection; beyond it the oldest is written unanswered. */
  maxPending: number;
  /** Characters kept of one text value (a URI, a user agent, a DNS answer); longer ones are cut, with an ellipsis. */
  maxValueChars: number;
}

export const DEFAULT_DECODER_LIMITS: DecoderLimits = {
  maxHeaderBytes: 64 * 1024,
  maxPending: 1000,
  maxValueChars: 8192,
};

/** One TCP connection's application bytes. */
export interface StreamDecoder {
  /** `len` bytes of `side` at buf[off ..], in order; valid only during the call. `sec`/`nsec`: when they became readable in order. */
  data(side: Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number): void;
  /** `len` bytes of `side` were never captured (or given up at a memory cap). */
  gap(side: Side, len: number, sec: number, nsec: number): void;
  /** `side` will send no more (its FIN or RST, or the end of the connection). */
  end(side: Side, sec: number, nsec: number): void;
  /** The connection is over: write what is pending (requests never answered, a body cut short). */
  finish(sec: number, nsec: number): void;
}

/** One UDP flow's application messages. */
export interface DatagramDecoder {
  /** One datagram's payload buf[off, off+len); `wireLen`: its length on the wire (more than len when the capture's snaplen cut it). */
  datagram(side: Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number, wireLen?: number): void;
  finish(sec: number, nsec: number): void;
}

/**
 * A protocol as the registry knows it (src/protocols/registry.ts): a new
 * protocol is one file exporting one of these, plus one line there.
 */
export interface ProtocolDef {
  /** Name used by --decode and --decode-port. */
  name: string;
  /** Other names accepted for it (e.g. `ssl` for `tls`). */
  aliases: readonly string[];
  /** Zeek's name for the service, as the conn record's `service` shows it. */
  service: string;
  /** The record kinds it writes. */
  schemas: readonly RecordSchema[];
  /** Well-known TCP and UDP server ports (either port of a flow selects the protocol). */
  tcpPorts: readonly number[];
  udpPorts: readonly number[];
  /** Recognises the first bytes of a TCP direction (at most SNIFF_BYTES); absent: ports only. */
  sniff?(buf: Uint8Array, off: number, len: number): SniffResult;
  /** Tells a UDP datagram of this protocol from a client's or a server's (for the sides of a flow): absent: ports only, first sender is the client. */
  sniffDatagram?(buf: Uint8Array, off: number, len: number): SniffResult;
  stream?(ctx: AppContext, limits: DecoderLimits): StreamDecoder;
  datagram?(ctx: AppContext, limits: DecoderLimits): DatagramDecoder;
}
