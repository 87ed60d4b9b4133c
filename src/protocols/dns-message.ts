/**
 * A bounded reader of one DNS message (RFC 1035 §4, RFC 6891 for EDNS):
 * the header, the first question, the answer section as Zeek's dns.log
 * writes it (when asked for), and the EDNS extended RCODE; every other
 * record is walked over to check the message's structure.
 *
 * Hostile input costs time and memory in proportion to the message and
 * never throws: every read is checked against the message's end first, a
 * compression pointer must point back before itself (as Zeek requires:
 * loops and forward pointers are impossible) and reading after a jump may
 * not pass the pointer, a name follows at most MAX_POINTER_HOPS pointers and
 * holds at most 255 bytes (RFC 1035 §3.1), labels are 0..63 bytes (0x40 and
 * 0x80 label types are refused), and counts that lie run into the end of
 * the message. The first rule broken is kept in `problem`; `short` says the
 * message ended before its counts were read (a cut message, or lying counts).
 *
 * One reader is reused for every message of a decoder: the header and
 * question land in its fields and the question's name in a reused byte
 * buffer; strings are made only for the answers of a response.
 */
import { formatIPv4, formatIPv6 } from '../util/ip.js';
import { clip, text } from './_bytes.js';

/** Pointers a name may follow (real names follow one; 32 bounds the time a crafted chain costs). */
export const MAX_POINTER_HOPS = 32;
/** Text bytes of a name at most: 255 wire bytes, every byte escaped as \xNN. */
const NAME_TEXT_MAX = 255 * 4;

export const HEADER_BYTES = 12;

const SECTIONS = ['question', 'answer', 'authority', 'additional'] as const;
const HEX = '0123456789abcdef';

const T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_MX = 15, T_TXT = 16, T_AAAA = 28, T_LOC = 29, T_SRV = 33, T_NAPTR = 35;
const T_OPT = 41, T_DS = 43, T_SSHFP = 44, T_RRSIG = 46, T_NSEC = 47, T_DNSKEY = 48, T_NSEC3 = 50, T_NSEC3PARAM = 51, T_SPF = 99, T_BINDS = 65534;

export class DnsMessage {
  /** The message has a header (12 bytes or more): the fields below it are valid. */
  header = false;
  id = 0;
  flags = 0;
  qdcount = 0;
  ancount = 0;
  nscount = 0;
  arcount = 0;
  /** A first question was read whole. */
  hasQuestion = false;
  qtype = 0;
  qclass = 0;
  /** The first question's name as text (lower case, escaped): qname[0, qnameLen). */
  readonly qname = Buffer.alloc(NAME_TEXT_MAX);
  qnameLen = 0;
  /** The answer section as Zeek writes it (parse with answers = true), and the TTL of each. */
  answers: string[] | null = null;
  ttls: number[] | null = null;
  /** Owner name of the first answer record (parse with answers = true). */
  firstOwner: string | null = null;
  /** An EDNS OPT record was seen; its upper 8 RCODE bits. */
  opt = false;
  extRcode = 0;
  /** The first rule the message broke (null: well-formed). */
  problem: string | null = null;
  /** The message ended inside a section its header announced (cut, or counts that lie). */
  short = false;

  /** Text of the name being read, and its length (Buffers: their native latin1 toString is faster than String.fromCharCode.apply on these short names). */
  private readonly scratch = Buffer.alloc(NAME_TEXT_MAX);
  private outLen = 0;
  private maxChars = 8192;

  get qr(): boolean {
    return (this.flags & 0x8000) !== 0;
  }
  get opcode(): number {
    return (this.flags >>> 11) & 0xf;
  }
  get aa(): boolean {
    return (this.flags & 0x0400) !== 0;
  }
  get tc(): boolean {
    return (this.flags & 0x0200) !== 0;
  }
  get rd(): boolean {
    return (this.flags & 0x0100) !== 0;
  }
  get ra(): boolean {
    return (this.flags & 0x0080) !== 0;
  }
  /** Zeek's Z: the three bits Z, AD, CD as one number. */
  get z(): number {
    return (this.flags >>> 4) & 0x7;
  }
  /** The RCODE with the EDNS extension (12 bits) when an OPT record was seen, else the header's 4 bits. */
  get rcode(): number {
    return this.opt ? (this.extRcode << 4) | (this.flags & 0xf) : this.flags & 0xf;
  }

  /** The first question's name as a string (null without a question). */
  queryName(): string | null {
    return this.hasQuestion ? this.qname.toString('latin1', 0, this.qnameLen) : null;
  }

  /** The first question's name equals `s` (no string is made). */
  queryNameIs(s: string): boolean {
    if (!this.hasQuestion || s.length !== this.qnameLen) return false;
    for (let i = 0; i < s.length; i++) if (this.qname[i] !== s.charCodeAt(i)) return false;
    return true;
  }

  /**
   * Reads the message buf[off, off+len). With `answers`, the answer
   * section's records are turned into Zeek's text (values cut to
   * `maxChars`). Returns true when the message is well-formed.
   */
  parse(buf: Uint8Array, off: number, len: number, answers: boolean, maxChars: number): boolean {
    this.header = this.hasQuestion = this.opt = this.short = false;
    this.qtype = this.qclass = this.qnameLen = this.extRcode = 0;
    this.answers = this.ttls = null;
    this.firstOwner = null;
    this.problem = null;
    this.maxChars = maxChars;
    if (len < HEADER_BYTES) return this.fail(`message of ${len} bytes, shorter than the 12-byte header`);
    const end = off + len;
    this.header = true;
    this.id = u16(buf, off);
    this.flags = u16(buf, off + 2);
    this.qdcount = u16(buf, off + 4);
    this.ancount = u16(buf, off + 6);
    this.nscount = u16(buf, off + 8);
    this.arcount = u16(buf, off + 10);
    let p = off + HEADER_BYTES;
    for (let i = 0; i < this.qdcount; i++) {
      const first = i === 0;
      p = this.name(buf, off, end, p, first, 0);
      if (p < 0) return false;
      if (p + 4 > end) return this.cut(0);
      if (first) {
        this.qtype = u16(buf, p);
        this.qclass = u16(buf, p + 2);
        this.qnameLen = this.outLen;
        this.scratch.copy(this.qname, 0, 0, this.outLen);
        this.hasQuestion = true;
      }
      p += 4;
    }
    if (answers) {
      this.answers = [];
      this.ttls = [];
    }
    const counts = [this.ancount, this.nscount, this.arcount];
    for (let s = 1; s <= 3; s++) {
      const n = counts[s - 1]!;
      for (let i = 0; i < n; i++) {
        const text = answers && s === 1;
        p = this.name(buf, off, end, p, text, s);
        if (p < 0) return false;
        if (p + 10 > end) return this.cut(s);
        const type = u16(buf, p);
        const ttl = u32(buf, p + 4);
        const rdlen = u16(buf, p + 8);
        p += 10;
        if (p + rdlen > end) return this.cut(s);
        if (text) {
          const owner = i === 0 || type === T_NSEC ? this.scratch.toString('latin1', 0, this.outLen) : null;
          if (i === 0) this.firstOwner = owner;
          const r = this.rdata(buf, off, p, p + rdlen, type, owner);
          if (r === null) return false;
          if (r !== '') {
            this.answers!.push(r);
            this.ttls!.push(ttl);
          }
        } else if (s === 3 && type === T_OPT && !this.opt) {
          this.opt = true;
          this.extRcode = ttl >>> 24;
        }
        p += rdlen;
      }
    }
    return true;
  }

  private fail(why: string): false {
    this.problem ??= why;
    return false;
  }

  /** The message ends inside section `s`. */
  private cut(s: number): false {
    this.short = true;
    return this.fail(`message ends inside the ${SECTIONS[s]} section`);
  }

  /**
   * Reads the name at buf[p] (message at buf[base, end)), writing its text
   * into scratch when `write`. Returns the offset after the name where it
   * started (not where a pointer led), or -1 with `problem` set.
   */
  private name(buf: Uint8Array, base: number, end: number, p: number, write: boolean, section: number): number {
    let limit = end;
    let after = -1;
    let hops = 0;
    let wire = 1; // the final zero byte
    this.outLen = 0;
    for (;;) {
      if (p >= limit) return limit === end ? (this.cut(section), -1) : (this.fail(`name overlaps its compression pointer in the ${SECTIONS[section]} section`), -1);
      const c = buf[p]!;
      if (c === 0) {
        p++;
        break;
      }
      const kind = c & 0xc0;
      if (kind === 0xc0) {
        if (p + 1 >= limit) return limit === end ? (this.cut(section), -1) : (this.fail(`name overlaps its compression pointer in the ${SECTIONS[section]} section`), -1);
        const at = base + (((c & 0x3f) << 8) | buf[p + 1]!);
        if (after < 0) after = p + 2;
        if (at >= p) return this.fail(`compression pointer not pointing back (a loop or a forward pointer) in the ${SECTIONS[section]} section`), -1;
        if (++hops > MAX_POINTER_HOPS) return this.fail(`name follows more than ${MAX_POINTER_HOPS} compression pointers in the ${SECTIONS[section]} section`), -1;
        limit = p;
        p = at;
        continue;
      }
      if (kind !== 0) return this.fail(`label type 0x${kind.toString(16)} (a length byte over 63) in the ${SECTIONS[section]} section`), -1;
      if (p + 1 + c > limit) return limit === end ? (this.cut(section), -1) : (this.fail(`name overlaps its compression pointer in the ${SECTIONS[section]} section`), -1);
      wire += c + 1;
      if (wire > 255) return this.fail(`name longer than 255 bytes in the ${SECTIONS[section]} section`), -1;
      if (write) this.label(buf, p + 1, p + 1 + c);
      p += 1 + c;
    }
    return after >= 0 ? after : p;
  }

  /** Appends one label's text to scratch: a dot first unless it is the first, ASCII in lower case, other bytes as \xNN. */
  private label(buf: Uint8Array, s: number, e: number): void {
    const out = this.scratch;
    let n = this.outLen;
    if (n > 0) out[n++] = 0x2e;
    for (let i = s; i < e; i++) {
      const b = buf[i]!;
      if (b >= 0x41 && b <= 0x5a) out[n++] = b | 0x20;
      else if (b > 0x20 && b < 0x7f) out[n++] = b;
      else {
        out[n++] = 0x5c;
        out[n++] = 0x78;
        out[n++] = HEX.charCodeAt(b >>> 4);
        out[n++] = HEX.charCodeAt(b & 15);
      }
    }
    this.outLen = n;
  }

  /** A name inside record data [p, e) as text (pointers may lead anywhere before them); null with problem set. */
  private rdataName(buf: Uint8Array, base: number, p: number, e: number): string | null {
    const next = this.name(buf, base, e, p, true, 1);
    if (next < 0) {
      if (this.short) {
        // the name ran into the end of the record data, not of the message
        this.short = false;
        this.problem = 'name runs past its record\'s data in the answer section';
      }
      return null;
    }
    return this.scratch.toString('latin1', 0, this.outLen);
  }

  /**
   * Zeek's text for an answer record (main.zeek's dns_*_reply handlers):
   * '' for a record Zeek writes nothing for (WKS, a TXT without strings),
   * null when the record data breaks its type's format.
   */
  private rdata(buf: Uint8Array, base: number, p: number, e: number, type: number, owner: string | null): string | null {
    const n = e - p;
    switch (type) {
      case T_A:
        return n === 4 ? formatIPv4(u32(buf, p)) : this.bad(`A record of ${n} bytes in the answer section`);
      case T_AAAA:
        return n === 16 ? formatIPv6(u32(buf, p), u32(buf, p + 4), u32(buf, p + 8), u32(buf, p + 12)) : this.bad(`AAAA record of ${n} bytes in the answer section`);
      case T_NS:
      case T_CNAME:
      case T_PTR:
        return this.rdataName(buf, base, p, e);
      case T_SOA: // the primary server (mname)
        return this.rdataName(buf, base, p, e);
      case T_MX: // the exchange
        return n < 3 ? this.short3('MX') : (this.rdataName(buf, base, p + 2, e));
      case T_SRV: // the target
        return n < 7 ? this.short3('SRV') : (this.rdataName(buf, base, p + 6, e));
      case T_TXT:
      case T_SPF:
        return this.strings(buf, p, e, type === T_TXT ? 'TXT' : 'SPF');
      case T_RRSIG: {
        if (n < 19) return this.short3('RRSIG');
        const signer = this.rdataName(buf, base, p + 18, e);
        if (signer === null) return null;
        return `RRSIG ${u16(buf, p)} ${signer === '' ? '<Root>' : signer}`;
      }
      case T_DNSKEY:
        return n < 4 ? this.short3('DNSKEY') : `DNSKEY ${buf[p + 3]!}`;
      case T_DS:
        return n < 4 ? this.short3('DS') : `DS ${buf[p + 2]!} ${buf[p + 3]!}`;
      case T_NSEC: {
        const next = this.rdataName(buf, base, p, e);
        return next === null ? null : `NSEC ${owner ?? ''} ${next}`;
      }
      case T_NSEC3:
        return 'NSEC3';
      case T_NSEC3PARAM:
        return 'NSEC3PARAM';
      case T_BINDS:
        return 'BIND9 signing signal';
      case T_SSHFP: {
        if (n < 2) return this.short3('SSHFP');
        let s = 'SSHFP: ';
        for (let i = p + 2; i < e && s.length < this.maxChars; i++) s += HEX[buf[i]! >>> 4]! + HEX[buf[i]! & 15]!;
        return clip(s, this.maxChars);
      }
      case T_LOC:
        return n < 4 ? this.short3('LOC') : `LOC:  ${buf[p + 1]!} ${buf[p + 2]!} ${buf[p + 3]!}`;
      case T_NAPTR:
        return this.naptr(buf, base, p, e);
      case 11: // WKS: Zeek writes nothing
        return '';
      default:
        return `<unknown type=${type}>`;
    }
  }

  private short3(what: string): null {
    return this.bad(`${what} record too short in the answer section`);
  }

  private bad(why: string): null {
    this.fail(why);
    return null;
  }

  /** TXT/SPF: "TXT <bytes> <text>" per character-string, joined by spaces (Zeek's form). */
  private strings(buf: Uint8Array, p: number, e: number, tag: string): string | null {
    let s = '';
    while (p < e) {
      const n = buf[p]!;
      if (p + 1 + n > e) return this.bad(`${tag} string runs past its record's data in the answer section`);
      if (s !== '') s += ' ';
      s += `${tag} ${n} ${text(buf, p + 1, p + 1 + n)}`;
      p += 1 + n;
      if (s.length > this.maxChars) break;
    }
    return clip(s, this.maxChars);
  }

  /** NAPTR (RFC 3403): Zeek's "NAPTR <order> <preference> <flags> <service> <regexp and/or replacement>". */
  private naptr(buf: Uint8Array, base: number, p: number, e: number): string | null {
    if (e - p < 4) return this.short3('NAPTR');
    const order = u16(buf, p), pref = u16(buf, p + 2);
    p += 4;
    const parts: string[] = [];
    for (let k = 0; k < 3; k++) {
      if (p >= e || p + 1 + buf[p]! > e) return this.short3('NAPTR');
      parts.push(text(buf, p + 1, p + 1 + buf[p]!));
      p += 1 + buf[p]!;
    }
    const repl = this.rdataName(buf, base, p, e);
    if (repl === null) return null;
    let tail = parts[2]!;
    if (repl !== '') tail = tail === '' ? repl : `${tail} ${repl}`;
    return clip(`NAPTR ${order} ${pref} ${parts[0]!} ${parts[1]!} ${tail}`, this.maxChars);
  }
}

export function u16(buf: Uint8Array, p: number): number {
  return (buf[p]! << 8) | buf[p + 1]!;
}

function u32(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
}

/** What `plausible` makes of some bytes. */
export const NO = 0;
export const MORE = 1;
export const YES = 2;

/** Bytes `plausible` may need: the header, a first question of the longest name, its type and class. */
export const PLAUSIBLE_BYTES = HEADER_BYTES + 255 + 4;

/**
 * Do buf[off, off+avail) start a DNS message of `msgLen` bytes from a
 * client (qr 0: a standard query, notify or update with one question, no
 * answers, at most two additional records) or a server (qr 1: one
 * question)? Strict on purpose: it decides whether a TCP stream on any port
 * is DNS and where framing resumes after a gap, where a false "yes" costs
 * more than a miss. The question's labels must be letters, digits, '-',
 * '_' or '*', the class IN, CH, NONE or ANY. MORE: the bytes end before it
 * can tell.
 */
export function plausible(buf: Uint8Array, off: number, avail: number, msgLen: number, qr: 0 | 1): number {
  if (msgLen < HEADER_BYTES + 5) return NO;
  if (avail < HEADER_BYTES) return MORE;
  const flags = u16(buf, off + 2);
  if (flags >>> 15 !== qr) return NO;
  const opcode = (flags >>> 11) & 0xf;
  if (opcode !== 0 && opcode !== 4 && opcode !== 5) return NO;
  const an = u16(buf, off + 6), ns = u16(buf, off + 8), ar = u16(buf, off + 10);
  const most = ((msgLen - HEADER_BYTES) / 11) | 0;
  if (u16(buf, off + 4) !== 1 || an > most || ns > most || ar > most) return NO;
  if (qr === 0 && ((flags & 0x048f) !== 0 || (opcode === 0 && (an !== 0 || ns !== 0 || ar > 2)))) return NO; // a query has no AA, RA, RCODE
  let p = HEADER_BYTES;
  let wire = 1;
  for (;;) {
    if (p >= avail) return MORE;
    const c = buf[off + p]!;
    if (c === 0) break;
    if (c > 63) return NO;
    wire += c + 1;
    if (wire > 255 || p + 1 + c + 1 + 4 > msgLen) return NO;
    for (let i = 1; i <= c; i++) {
      if (p + i >= avail) return MORE;
      const b = buf[off + p + i]!;
      const l = b | 0x20;
      if (!((l >= 0x61 && l <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f || b === 0x2a)) return NO;
    }
    p += 1 + c;
  }
  if (p + 5 > avail) return MORE;
  const qtype = u16(buf, off + p + 1), qclass = u16(buf, off + p + 3);
  if (qtype === 0 || (qclass !== 1 && qclass !== 3 && qclass !== 254 && qclass !== 255)) return NO;
  if (an === 0 && ns === 0 && ar === 0 && p + 5 !== msgLen) return NO;
  return YES;
}
