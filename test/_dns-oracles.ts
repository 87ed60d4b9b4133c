/**
 * Readers for the DNS oracles: tshark's per-frame dumps
 * (fixtures/pcaps/oracles/<capture>.tshark-dns.tsv, scripts/make-dns-oracles.sh)
 * turned into one entry per DNS message, with the answer section rebuilt as
 * Zeek's dns.log (and tcpkit) writes it; DeepFlow's per-message .result lines.
 */
import { readFileSync } from 'node:fs';

/** One DNS message as tshark dissected it. */
export interface TsharkMsg {
  frame: number;
  time: string;
  tcp: boolean;
  srcPort: number;
  dstPort: number;
  /** Messages in the frame (several DNS messages in one TCP segment). */
  inFrame: number;
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** Zeek's Z: z, AD, CD bits as one number. */
  z: number;
  /** The header's 4-bit RCODE (dns.flags.rcode). */
  rcode: number;
  /** dns.resp.ext_rcode of an OPT record (upper 8 bits), or null. */
  extRcode: number | null;
  qname: string | null;
  qtype: number | null;
  qclass: number | null;
  an: number;
  ns: number;
  ar: number;
  /** Answer section as Zeek writes it (names in lower case); null entries: types this reader does not rebuild. */
  answers: (string | null)[];
  ttls: number[];
  /** dns.time (seconds), for a response tshark paired. */
  dnsTime: number | null;
  retransmission: boolean;
  /** tshark shows fewer answer records than the header announces (the capture cut the message). */
  cut: boolean;
}

interface _Rec {
  type: number;
  ttl: number;
  len: number;
  f: Record<string, string[]>;
}

const lower = (s: string | undefined): string => (s === undefined || s === '<Root>' ? '' : s.toLowerCase());

/** Zeek's text for an answer record from tshark's fields (null: a type not rebuilt here). */
function zeekText(r: _Rec): string | null {
  const f = (k: string): string[] => r.f[k] ?? [];
  switch (r.type) {
    case 1: return f('dns.a')[0] ?? null;
    case 28: return f('dns.aaaa')[0] ?? null;
    case 5: return lower(f('dns.cname')[0]);
    case 2: return lower(f('dns.ns')[0]);
    case 12: return lower(f('dns.ptr.domain_name')[0]);
    case 15: return lower(f('dns.mx.mail_exchange')[0]);
    case 33: return lower(f('dns.srv.target')[0]);
    case 6: return lower(f('dns.soa.mname')[0]);
    case 16: return f('dns.txt').map((t, i) => `TXT ${f('dns.txt.length')[i]} ${t}`).join(' ');
    case 46: {
      const signer = lower(f('dns.rrsig.signers_name')[0]);
      return `RRSIG ${f('dns.rrsig.type_covered')[0]} ${signer === '' ? '<Root>' : signer}`;
    }
    case 43: return `DS ${f('dns.ds.algorithm')[0]} ${f('dns.ds.digest_type')[0]}`;
    case 48: return `DNSKEY ${f('dns.dnskey.algorithm')[0]}`;
    case 249: return '<unknown type=249>';
    default: return null;
  }
}

/** The messages of a .tshark-dns.tsv dump (scripts/make-dns-oracles.sh). */
export function readTsharkDns(path: string): TsharkMsg[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const head = lines[0]!.split('\t');
  return lines.slice(1).map((line) => {
    const c = Object.fromEntries(line.split('\t').map((v, i) => [head[i]!, v])) as Record<string, string>;
    const flags = Number(c['flags']);
    const recs = JSON.parse(c['answers']!) as _Rec[];
    const num = (k: string): number | null => (c[k] === '' ? null : Number(c[k]));
    return {
      frame: Number(c['frame']),
      time: c['time']!,
      tcp: c['transport'] === 'tcp',
      srcPort: Number(c['sport']),
      dstPort: Number(c['dport']),
      inFrame: Number(c['msg']!.split('/')[1]),
      id: Number(c['id']),
      qr: (flags & 0x8000) !== 0,
      opcode: (flags >> 11) & 0xf,
      aa: (flags & 0x400) !== 0,
      tc: (flags & 0x200) !== 0,
      rd: (flags & 0x100) !== 0,
      ra: (flags & 0x80) !== 0,
      z: (flags >> 4) & 7,
      rcode: flags & 0xf,
      extRcode: num('ext_rcode'),
      qname: c['qd'] === '0' ? null : lower(c['qname']),
      qtype: num('qtype'),
      qclass: num('qclass'),
      an: Number(c['an']),
      ns: Number(c['ns']),
      ar: Number(c['ar']),
      answers: recs.map(zeekText),
      ttls: recs.map((r) => r.ttl),
      dnsTime: num('dns_time'),
      retransmission: c['retransmission'] === '1',
      cut: recs.length < Number(c['an']),
    };
  });
}

/** One line of a DeepFlow .result file (the JSON part). */
export interface DeepflowLine {
  request_id: number;
  request_type: string;
  request_resource: string;
  msg_type: 'Request' | 'Response';
  response_code?: number;
  response_result?: string;
  captured_request_byte: number;
  captured_response_byte: number;
  rrt: number;
}

export function readDeepflowResult(path: string): DeepflowLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l.slice(0, l.lastIndexOf('}') + 1)) as DeepflowLine);
}
