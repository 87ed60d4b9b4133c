/**
 * The DNS transaction record (`record: "dns"`): one per query, with its
 * response (or one per response that no query explains). Names follow
 * Zeek's dns.log (scripts/base/protocols/dns/main.zeek) in its column order;
 * where tcpkit gives a Zeek field another meaning, the field's doc says so
 * and docs/l7.md ("DNS: differences from Zeek") lists it with the test that
 * shows it. tcpkit adds timing, sizes, counts and the state of the pair,
 * in the vocabulary of the http record.
 */
import type { FieldDef, RecordSchema } from './schema.js';
import { identityFields } from './transaction.js';

const f = (name: string, type: FieldDef['type'], vocab: FieldDef['vocab'], doc: string, items?: FieldDef['items']): FieldDef => (items ? { name, type, vocab, doc, items } : { name, type, vocab, doc });

/** Values of the `state` field. */
export const DNS_STATES = ['complete', 'incomplete', 'unanswered', 'orphan', 'invalid'] as const;

export const DNS_FIELDS: readonly FieldDef[] = [
  ...identityFields('Time of the query (its first byte over TCP; of the first copy when the client sent it again), or of the response for a response without a query, as Zeek.'),
  f('proto', 'string', 'zeek', 'Transport: udp or tcp.'),
  f('trans_id', 'int', 'zeek', 'The 16-bit DNS message ID of the query and its response.'),
  f('rtt', 'seconds', 'zeek', 'Seconds from the query to the response (exact), for every answered query. Zeek sets it only when the response has records in its answer section (not for NXDOMAIN or an empty NOERROR).'),
  f('query', 'string', 'zeek', 'The question\'s name, in lower case, without the trailing dot (Zeek\'s form; bytes outside printable ASCII as \\xNN). For a response without a query: its question\'s name (Zeek: the first answer\'s owner name).'),
  f('qclass', 'int', 'zeek', 'QCLASS of the question (1 = IN). For a response without a query, its question\'s (Zeek leaves it unset).'),
  f('qclass_name', 'string', 'zeek', 'Zeek\'s name of qclass: C_INTERNET, C_CHAOS, C_ANY, ... ("qclass-N" when unknown).'),
  f('qtype', 'int', 'zeek', 'QTYPE of the question (1 = A, 28 = AAAA, ...). For a response without a query, its question\'s (Zeek leaves it unset).'),
  f('qtype_name', 'string', 'zeek', 'Zeek\'s name of qtype: A, AAAA, CNAME, MX, HTTPS, * (ANY), ... ("query-N" when unknown).'),
  f('rcode', 'int', 'zeek', 'Response code of the response, with the upper 8 bits of an EDNS OPT record (RFC 6891: 12 bits, e.g. 16 BADVERS); Zeek and tshark\'s dns.flags.rcode give the 4-bit header value. Null without a response.'),
  f('rcode_name', 'string', 'zeek', 'Zeek\'s name of rcode: NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, ..., BADVERS ("rcode-N" when unknown).'),
  f('AA', 'bool', 'zeek', 'Authoritative Answer bit of the response (false without one). Zeek sets it only from responses with answer records.'),
  f('TC', 'bool', 'zeek', 'TrunCation bit of the response (of the query when unanswered): the answer did not fit in the UDP message and the client should ask again over TCP. Zeek logs the query\'s bit.'),
  f('RD', 'bool', 'zeek', 'Recursion Desired bit of the query (of the response for a response without a query).'),
  f('RA', 'bool', 'zeek', 'Recursion Available bit of the response (false without one). Zeek sets it only from responses with answer records.'),
  f('Z', 'int', 'zeek', 'The query\'s three bits between RA and RCODE as one number (Z, AD, CD: 1 = CD, 2 = AD), as Zeek; of the response for a response without a query.'),
  f('answers', 'list', 'zeek', 'The answer section\'s records as Zeek writes them: addresses for A and AAAA, the name for CNAME, NS, PTR, MX (exchange), SRV (target) and SOA (primary server), "TXT <bytes> <text>" per string for TXT, "RRSIG <type covered> <signer>", "DS <alg> <digest type>", "DNSKEY <alg>", "NSEC <owner> <next>", "NSEC3", "NAPTR ...", and "<unknown type=N>" for other types (Zeek logs nothing for some of those: HINFO, CAA, TKEY, SVCB, HTTPS). Null when there are none. A zone transfer (AXFR, IXFR) over TCP answered in several messages is one record: the answers of all its messages, the first 1000 listed.'),
  f('TTLs', 'list', 'zeek', 'TTL in seconds of each entry of answers, in the same order (the 32-bit value as sent).', 'int'),
  f('rejected', 'bool', 'zeek', 'Zeek\'s "the server rejected the query": a response with a question and no record in any section, or with a non-zero rcode and no question.'),
  f('opcode', 'int', 'zeek', 'OPCODE of the query (0 query, 4 notify, 5 update, ...).'),
  f('opcode_name', 'string', 'zeek', 'Zeek\'s name of opcode: query, iquery, server-status, notify, dynamic-update, dso ("opcode-N" when unknown).'),
  f('total_answers', 'int', 'zeek', 'Records in the response\'s answer section, by its header (Zeek\'s DNS::Info total_answers, not logged by Zeek); for a zone transfer, of all its messages.'),
  f('total_replies', 'int', 'zeek', 'Records in the response\'s answer, authority and additional sections, by its header (Zeek\'s total_replies).'),
  f('query_bytes', 'int', 'tcpkit', 'Size of the query message (over TCP without its 2-byte length prefix).'),
  f('response_bytes', 'int', 'tcpkit', 'Size of the response message (over TCP without its 2-byte length prefix); for a zone transfer, of all its messages.'),
  f('query_retransmits', 'int', 'tcpkit', 'Further copies of the query (same ID and question) the client sent before the response; the record keeps the first copy\'s time, so latency is what the client waited. Zeek logs each copy as its own query, the later ones unanswered.'),
  f('response_ts', 'time', 'tcpkit', 'Time of the response (its first byte over TCP).'),
  f('latency_ms', 'float', 'tcpkit', 'Milliseconds from the query (its last byte over TCP; the first copy when retransmitted) to the response (its first byte): the same interval as rtt.'),
  f('state', 'string', 'tcpkit', 'complete (query and response), unanswered (no response before the flow ended, within 30 s of capture time, or before maxPending newer queries), orphan (a response without a query: the capture began after it, lost it, or the response is a duplicate), incomplete (a capture gap, the snaplen, the end of the connection or the size limit cut a message: fields may be missing), invalid (a message that breaks DNS: see problem).'),
  f('problem', 'string', 'tcpkit', 'What was wrong when state is not complete (and, for a complete zone transfer of more than 1000 answers, that the list was cut): e.g. "no response before the flow ended", "duplicate response", "compression pointer loop or forward pointer in the answer section", "message ends inside the answer section".'),
];

export const DNS_SCHEMA: RecordSchema = {
  kind: 'dns',
  doc: 'One record per DNS query with its response, over UDP or TCP (tcpanalyze --decode dns).',
  fields: DNS_FIELDS,
};
