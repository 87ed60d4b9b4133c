/**
 * DNS over UDP and over TCP (RFC 1035 §4.2, RFC 7766): one `dns` record per
 * query with its response (src/records/dns.ts).
 *
 * Pairing: a message's role comes from its QR bit, not from the direction
 * it travels (a flow between two servers carries queries both ways). A
 * query waits until a response with its ID and question (name, type, class)
 * arrives; a response whose question is unknown (a cut message, or none)
 * pairs by ID alone. A query repeated with the same ID and question while
 * the first is waiting is a retransmission: counted on the waiting query,
 * whose time stays the first copy's (DataDog's and the client's view; Zeek
 * logs the copy as a second query that stays unanswered). A response that
 * no waiting query explains is an orphan, written at once (a duplicate when
 * a recent query had its ID and question). Queries are written unanswered
 * when the flow ends, when a message of the flow arrives more than
 * PENDING_TIMEOUT_S of capture time after them, or when more than
 * limits.maxPending queries wait (the oldest goes). There is no timer: a
 * quiet flow's queries wait for its end (the tracker's idle timeout).
 *
 * Ports: 53 over UDP and TCP. mDNS (5353) and LLMNR (5355) are not decoded
 * by default: their answers go to a multicast group or come from another
 * port, so they are a different flow and every query would look
 * unanswered; `--decode-port dns:5353` decodes them anyway. DNS over TCP on
 * another port is recognised by a strict sniff of its first message
 * (dns-message.ts plausible()).
 *
 * Over TCP each side is a sequence of 2-byte length-prefixed messages,
 * resumable at any byte. A message that fits in one chunk is read where it
 * lies; one split across chunks is gathered in a buffer of at most
 * limits.maxHeaderBytes (a longer message keeps its start and is
 * `incomplete`). A capture gap inside a message cuts that message (read as
 * far as it goes, `incomplete`) and framing resumes at the next prefix,
 * whose place is known. A gap across a message boundary loses the framing:
 * the first bytes after it must pass plausible() (a length prefix and a
 * message of the side's role with one well-formed question), else the
 * decoder stops for the connection with the reason.
 */
import { DNS_SCHEMA } from '../records/dns.js';
import { Sniff, type AppContext, type DatagramDecoder, type DecoderLimits, type ProtocolDef, type Side, type SniffResult } from './decoder.js';
import { DnsCore } from './dns-core.js';
import { HEADER_BYTES, MORE, YES, plausible, u16 } from './dns-message.js';
import { DnsTcpDecoder } from './dns-tcp.js';

export { NOT_DNS_AFTER, PENDING_TIMEOUT_S } from './dns-core.js';

/** DNS over UDP: a datagram is a message. */
export class DnsUdpDecoder implements DatagramDecoder {
  private readonly core: DnsCore;

  constructor(ctx: AppContext, limits: DecoderLimits) {
    this.core = new DnsCore(ctx, limits, 'udp');
  }

  datagram(_side: Side, buf: Uint8Array, off: number, len: number, sec: number, nsec: number, wireLen?: number): void {
    const cut = wireLen !== undefined && wireLen > len ? `datagram cut by the capture's snaplen (${len} of ${wireLen} bytes)` : null;
    this.core.message(buf, off, len, sec, nsec, sec, nsec, cut);
  }

  finish(): void {
    this.core.finish();
  }
}

/** The first bytes of a TCP direction: a length-prefixed DNS query or response (strict, see plausible()). */
function sniff(buf: Uint8Array, off: number, len: number): SniffResult {
  if (len < 2 + HEADER_BYTES) return Sniff.MORE;
  const msgLen = u16(buf, off);
  const qr = (buf[off + 4]! & 0x80) !== 0 ? 1 : 0;
  const r = plausible(buf, off + 2, len - 2, msgLen, qr);
  if (r === YES) return qr === 0 ? Sniff.CLIENT : Sniff.SERVER;
  return r === MORE ? Sniff.MORE : Sniff.NO;
}

/** A UDP datagram's role from its QR bit (the flow's client is who sends queries). */
function sniffDatagram(buf: Uint8Array, off: number, len: number): SniffResult {
  if (len < HEADER_BYTES) return Sniff.MORE;
  return (buf[off + 2]! & 0x80) !== 0 ? Sniff.SERVER : Sniff.CLIENT;
}

export const DNS: ProtocolDef = {
  name: 'dns',
  aliases: [],
  service: 'dns',
  schemas: [DNS_SCHEMA],
  tcpPorts: [53],
  udpPorts: [53],
  sniff,
  sniffDatagram,
  stream: (ctx, limits) => new DnsTcpDecoder(ctx, limits),
  datagram: (ctx, limits) => new DnsUdpDecoder(ctx, limits),
};
