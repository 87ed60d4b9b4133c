/**
 * The DNS decoder on hand-made traffic: pairing over UDP (retransmitted
 * queries, unanswered queries, orphans and duplicates, a question that does
 * not match, the timeout and the pending cap, a snaplen cut), and DNS over
 * TCP framing (length prefixes split anywhere, several messages per chunk,
 * a zero-length message, a message over the size limit, gaps inside a
 * message and across a boundary with and without a message start after
 * them, the end inside a message), and the sniffs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEFAULT_DECODER_LIMITS, Sniff, type DecoderLimits } from '../src/protocols/decoder.js';
import { DNS, NOT_DNS_AFTER, PENDING_TIMEOUT_S } from '../src/protocols/dns.js';
import type { RecordValues } from '../src/records/schema.js';
import { aRecord, collect, framed, msg, name, opt, query, response, rr, ptr } from './_dns-helpers.js';
import { FIX } from './_fixtures.js';
import { decodeCapture } from './_l7-helpers.js';

const pick = (r: RecordValues, keys: string[]): unknown[] => keys.map((k) => r[k]);

function udp(limits: Partial<DecoderLimits> = {}) {
  const { ctx, out } = collect();
  const d = DNS.datagram!(ctx, { ...DEFAULT_DECODER_LIMITS, ...limits });
  return { d, out, send: (m: Uint8Array, sec: number, nsec = 0, wire?: number) => d.datagram(m[2]! & 0x80 ? 1 : 0, m, 0, m.length, sec, nsec, wire) };
}

function tcp(limits: Partial<DecoderLimits> = {}) {
  const { ctx, out } = collect();
  const d = DNS.stream!(ctx, { ...DEFAULT_DECODER_LIMITS, ...limits });
  return { d, out };
}

test('a UDP query and its response make one complete record with Zeek\'s fields, timing and sizes', () => {
  const { send, d, out } = udp();
  const q = query(0x1111, 'WWW.Example.com', 1);
  const r = response(0x1111, 'www.example.com', 1, [aRecord('192.0.2.1', 300), aRecord('192.0.2.2', 60)], { ar: [opt()] });
  send(q, 100, 500_000_000);
  send(r, 100, 512_345_678);
  d.finish(101, 0);
  assert.equal(out.records.length, 1);
  const rec = out.records[0]!;
  assert.deepEqual(
    pick(rec, ['ts', 'proto', 'trans_id', 'rtt', 'query', 'qclass', 'qclass_name', 'qtype', 'qtype_name', 'rcode', 'rcode_name', 'AA', 'TC', 'RD', 'RA', 'Z', 'answers', 'TTLs', 'rejected', 'opcode', 'opcode_name']),
    ['100.500000000', 'udp', 0x1111, '0.012345678', 'www.example.com', 1, 'C_INTERNET', 1, 'A', 0, 'NOERROR', false, false, true, true, 0, ['192.0.2.1', '192.0.2.2'], [300, 60], false, 0, 'query'],
  );
  assert.deepEqual(
    pick(rec, ['total_answers', 'total_replies', 'query_bytes', 'response_bytes', 'query_retransmits', 'response_ts', 'latency_ms', 'state', 'problem']),
    [2, 3, q.length, r.length, 0, '100.512345678', 12.345678, 'complete', null],
  );
  assert.deepEqual([out.failed, out.confirmed], [[false], 1]);
});

test('NXDOMAIN is a failed transaction; an empty answer with a question and no record anywhere is Zeek\'s "rejected"', () => {
  const { send, d, out } = udp();
  send(query(1, 'nx.example', 1), 1);
  send(response(1, 'nx.example', 1, [], { rcode: 3, ns: [rr(ptr(12), 6, 60, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])] }), 2);
  send(query(2, 'empty.example', 1), 3);
  send(response(2, 'empty.example', 1, []), 4);
  d.finish(5, 0);
  assert.deepEqual(out.records.map((r) => pick(r, ['rcode_name', 'rejected', 'answers', 'state'])), [['NXDOMAIN', false, null, 'complete'], ['NOERROR', true, null, 'complete']]);
  assert.deepEqual(out.failed, [true, false]);
});

test('a query sent again with the same ID and question before the response is one record: first copy\'s time, retransmits counted', () => {
  const { send, d, out } = udp();
  send(query(7, 'a.example', 1), 10);
  send(query(7, 'a.example', 1), 15);
  send(query(7, 'A.EXAMPLE', 1), 20);
  send(response(7, 'a.example', 1, [aRecord('192.0.2.9')]), 20, 100_000_000);
  d.finish(30, 0);
  assert.deepEqual(out.records.map((r) => pick(r, ['ts', 'query_retransmits', 'rtt', 'latency_ms', 'state'])), [['10.000000000', 2, '10.100000000', 10100, 'complete']]);
});

test('the same ID with another question is another query; a response pairs with the one whose question it repeats', () => {
  const { send, d, out } = udp();
  send(query(7, 'a.example', 1), 10);
  send(query(7, 'a.example', 28), 10, 1);
  send(response(7, 'a.example', 28, []), 11);
  send(response(7, 'b.example', 1, []), 12);
  d.finish(13, 0);
  assert.deepEqual(
    out.records.map((r) => pick(r, ['qtype_name', 'query', 'state', 'problem'])),
    [
      ['AAAA', 'a.example', 'complete', null],
      ['A', 'b.example', 'orphan', 'response whose question differs from the query with its ID'],
      ['A', 'a.example', 'unanswered', 'no response before the flow ended'],
    ],
  );
  assert.deepEqual(out.failed, [false, false, true]);
});

test('a response without a query is an orphan; the same response again is a duplicate; unanswered queries are written at the end', () => {
  const { send, d, out } = udp();
  const r = response(9, 'x.example', 1, [aRecord('192.0.2.3')]);
  send(r, 1);
  send(query(10, 'y.example', 1), 2);
  send(response(10, 'y.example', 1, [aRecord('192.0.2.4')]), 3);
  send(response(10, 'y.example', 1, [aRecord('192.0.2.4')]), 4);
  send(query(11, 'z.example', 1), 5);
  d.finish(6, 0);
  assert.deepEqual(
    out.records.map((r2) => pick(r2, ['ts', 'trans_id', 'query', 'rtt', 'RD', 'state', 'problem'])),
    [
      ['1.000000000', 9, 'x.example', null, true, 'orphan', 'no query seen for this response'],
      ['2.000000000', 10, 'y.example', '1.000000000', true, 'complete', null],
      ['4.000000000', 10, 'y.example', null, true, 'orphan', 'duplicate response'],
      ['5.000000000', 11, 'z.example', null, true, 'unanswered', 'no response before the flow ended'],
    ],
  );
  assert.deepEqual(out.weird, ['duplicate response']);
});

test(`a query waiting more than ${PENDING_TIMEOUT_S} s of capture time is written unanswered when the flow's next message comes; its late response is an orphan`, () => {
  const { send, d, out } = udp();
  send(query(1, 'slow.example', 1), 100);
  send(query(2, 'fast.example', 1), 100 + PENDING_TIMEOUT_S);
  assert.equal(out.records.length, 0, 'exactly the timeout is still waiting');
  send(query(3, 'later.example', 1), 100 + PENDING_TIMEOUT_S, 1);
  assert.deepEqual(out.records.map((r) => pick(r, ['trans_id', 'state', 'problem'])), [[1, 'unanswered', `no response within ${PENDING_TIMEOUT_S} s`]]);
  send(response(1, 'slow.example', 1, []), 200);
  d.finish(200, 0);
  assert.deepEqual(out.records.map((r) => pick(r, ['trans_id', 'state'])), [[1, 'unanswered'], [2, 'unanswered'], [3, 'unanswered'], [1, 'orphan']]);
});

test('past maxPending waiting queries the oldest is written unanswered', () => {
  const { send, d, out } = udp({ maxPending: 3 });
  for (let i = 0; i < 5; i++) send(query(i, `q${i}.example`, 1), 1, i);
  assert.deepEqual(out.records.map((r) => pick(r, ['trans_id', 'problem'])), [[0, 'more than 3 queries waiting'], [1, 'more than 3 queries waiting']]);
  d.finish(2, 0);
  assert.equal(out.records.length, 5);
});

test('a response cut by the snaplen is incomplete, with what it held; a 5-byte datagram is invalid', () => {
  const { send, d, out } = udp();
  send(query(3, 'cut.example', 1), 1);
  const r = response(3, 'cut.example', 1, [aRecord('192.0.2.1'), aRecord('192.0.2.2')]);
  const cut = r.subarray(0, r.length - 6);
  d.datagram(1, cut, 0, cut.length, 2, 0, r.length);
  send(Uint8Array.from([0, 1, 2, 3, 4]), 3);
  d.finish(4, 0);
  assert.deepEqual(
    out.records.map((x) => pick(x, ['trans_id', 'answers', 'state', 'problem'])),
    [
      [3, ['192.0.2.1'], 'incomplete', `datagram cut by the capture's snaplen (${cut.length} of ${r.length} bytes)`],
      [null, null, 'invalid', 'message of 5 bytes, shorter than the 12-byte header'],
    ],
  );
  assert.deepEqual(out.failed, [false, true]);
});

test('through the pipeline: a response the capture\'s snaplen cut (dpkt__truncated_dns_2.pcap, 158 of 240 bytes) keeps its answers and says so', async () => {
  const { transactions } = await decodeCapture(join(FIX, 'dpkt__truncated_dns_2.pcap'), [DNS]);
  assert.deepEqual(
    transactions.map((x) => pick(x, ['trans_id', 'query', 'answers', 'state', 'problem'])),
    [[58325, 'mycelium-wallet.s3.amazonaws.com', ['s3-1-w.amazonaws.com', '52.217.101.4'], 'orphan', "no query seen for this response; datagram cut by the capture's snaplen (158 of 240 bytes)"]],
  );
});

test('a malformed response (a compression loop) still pairs with its query and is invalid, with the reason', () => {
  const { send, d, out } = udp();
  send(query(4, 'loop.example', 1), 1);
  const bad = msg({ id: 4, flags: 0x8180, questions: [{ name: 'loop.example', type: 1 }], an: [[0xc0, 30, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]] });
  send(bad, 2);
  d.finish(3, 0);
  assert.deepEqual(out.records.map((x) => pick(x, ['trans_id', 'query', 'rcode', 'state', 'problem'])), [[4, 'loop.example', 0, 'invalid', 'compression pointer not pointing back (a loop or a forward pointer) in the answer section']]);
  assert.deepEqual(out.failed, [true]);
});

test('a port-53 flow of something else: three malformed messages are written invalid, then the decoder stops; one well-formed message first keeps it going', () => {
  const junk = Uint8Array.from({ length: 40 }, (_, i) => (i * 53 + 7) & 0xff).fill(0xc0, 12, 14);
  const { send, d, out } = udp();
  for (let i = 0; i < 5; i++) send(junk, i);
  d.finish(6, 0);
  assert.deepEqual([out.records.length, out.records.every((r) => r['state'] === 'invalid'), out.stopped], [3, true, [`not DNS: ${NOT_DNS_AFTER} malformed messages before a well-formed one`]]);
  const good = udp();
  good.send(query(1, 'a.example'), 0);
  for (let i = 0; i < 5; i++) good.send(junk, i + 1);
  good.d.finish(7, 0);
  assert.deepEqual([good.out.records.length, good.out.stopped], [6, []]);
});

test('queries from both ends of one flow pair by the QR bit, not by direction', () => {
  const { d, out } = udp();
  d.datagram(0, query(1, 'a.example'), 0, query(1, 'a.example').length, 1, 0);
  d.datagram(0, query(2, 'b.example'), 0, query(2, 'b.example').length, 1, 1);
  const r1 = response(1, 'a.example', 1, []), r2 = response(2, 'b.example', 1, []);
  d.datagram(1, r1, 0, r1.length, 2, 0);
  d.datagram(0, r2, 0, r2.length, 2, 1); // the "client" answers too
  d.finish(3, 0);
  assert.deepEqual(out.records.map((x) => x['state']), ['complete', 'complete']);
});

// ---- TCP

test('DNS over TCP: two queries in one chunk, their responses byte by byte, in reverse order', () => {
  const { d, out } = tcp();
  const q = framed(query(1, 'a.example', 1), query(2, 'a.example', 28));
  d.data(0, q, 0, q.length, 10, 0);
  const r = framed(response(2, 'a.example', 28, []), response(1, 'a.example', 1, [aRecord('192.0.2.1')]));
  for (let i = 0; i < r.length; i++) d.data(1, r, i, 1, 10, 1000 + i);
  d.finish(11, 0);
  assert.deepEqual(
    out.records.map((x) => pick(x, ['proto', 'trans_id', 'qtype_name', 'response_ts', 'query_bytes', 'state'])),
    [
      ['tcp', 2, 'AAAA', '10.000001000', query(2, 'a.example', 28).length, 'complete'],
      ['tcp', 1, 'A', `10.00000${1000 + query(2, 'a.example', 28).length + 2}`, query(1, 'a.example').length, 'complete'],
    ],
  );
});

test('DNS over TCP: a message\'s time is its first byte (ts, response_ts), latency from the query\'s last byte', () => {
  const { d, out } = tcp();
  const q = framed(query(1, 'a.example'));
  d.data(0, q, 0, 5, 1, 0);
  d.data(0, q, 5, q.length - 5, 2, 0);
  const r = framed(response(1, 'a.example', 1, []));
  d.data(1, r, 0, 1, 3, 0);
  d.data(1, r, 1, r.length - 1, 4, 0);
  d.finish(5, 0);
  assert.deepEqual(pick(out.records[0]!, ['ts', 'response_ts', 'rtt', 'latency_ms']), ['1.000000000', '3.000000000', '1.000000000', 1000]);
});

test('DNS over TCP: a zero-length message is skipped; a message over maxHeaderBytes keeps its start and is incomplete', () => {
  const { d, out } = tcp({ maxHeaderBytes: 40 });
  const q = framed(query(1, 'long-name-here.example'));
  const z = Uint8Array.from([0, 0]);
  d.data(0, z, 0, 2, 1, 0);
  d.data(0, q, 0, 10, 1, 0);
  d.data(0, q, 10, q.length - 10, 1, 0);
  const big = framed(response(1, 'long-name-here.example', 1, [aRecord('192.0.2.1'), aRecord('192.0.2.2')]));
  d.data(1, big, 0, 20, 2, 0);
  d.data(1, big, 20, big.length - 20, 2, 0);
  d.finish(3, 0);
  assert.deepEqual(out.records.map((x) => pick(x, ['trans_id', 'state', 'problem', 'rcode'])), [[1, 'incomplete', `message of ${big.length - 2} bytes over the 40-byte limit`, 0]]);
});

test('DNS over TCP: a gap inside a message cuts that message only; framing resumes at the next prefix', () => {
  const { d, out } = tcp();
  const q = framed(query(1, 'a.example'), query(2, 'b.example'));
  d.data(0, q, 0, q.length, 1, 0);
  const r1 = framed(response(1, 'a.example', 1, [aRecord('192.0.2.1'), aRecord('192.0.2.2')]));
  const r2 = framed(response(2, 'b.example', 1, [aRecord('192.0.2.3')]));
  d.data(1, r1, 0, 30, 2, 0);
  d.gap(1, 10, 2, 1);
  d.data(1, r1, 40, r1.length - 40, 2, 2);
  d.data(1, r2, 0, r2.length, 3, 0);
  d.finish(4, 0);
  assert.deepEqual(
    out.records.map((x) => pick(x, ['trans_id', 'query', 'answers', 'state', 'problem'])),
    [
      [1, 'a.example', null, 'incomplete', 'a capture gap inside the message'],
      [2, 'b.example', ['192.0.2.3'], 'complete', null],
    ],
  );
});

test('DNS over TCP: a gap across a message boundary resynchronises where a response starts right after it', () => {
  const { d, out } = tcp();
  const q = framed(query(1, 'a.example'), query(2, 'b.example'), query(3, 'c.example'));
  d.data(0, q, 0, q.length, 1, 0);
  const r1 = framed(response(1, 'a.example', 1, []));
  const r3 = framed(response(3, 'c.example', 1, [aRecord('192.0.2.3')]));
  d.data(1, r1, 0, r1.length - 4, 2, 0);
  d.gap(1, 4 + 40, 2, 1); // the end of r1 and all of r2's 40-odd bytes
  for (let i = 0; i < r3.length; i++) d.data(1, r3, i, 1, 3, i);
  d.finish(4, 0);
  assert.deepEqual(
    out.records.map((x) => pick(x, ['trans_id', 'state', 'problem', 'response_ts'])),
    [
      [1, 'incomplete', 'a capture gap inside the message', '2.000000000'],
      [3, 'complete', null, '3.000000000'],
      [2, 'incomplete', 'no response; a capture gap on the server side may hold it', null],
    ],
  );
});

test('DNS over TCP: when no message starts after a gap, the decoder stops for the connection with the reason', () => {
  const { d, out } = tcp();
  const q = framed(query(1, 'a.example'));
  d.data(0, q, 0, q.length, 1, 0);
  d.gap(1, 100, 2, 0);
  const junk = Uint8Array.from({ length: 40 }, (_, i) => (i * 37) & 0xff);
  d.data(1, junk, 0, junk.length, 2, 1);
  d.finish(3, 0);
  assert.deepEqual(out.stopped, ['no DNS message where the server\'s framing resumes after a capture gap']);
  assert.deepEqual(out.records.map((x) => pick(x, ['trans_id', 'state', 'problem'])), [[1, 'incomplete', 'decoding stopped: no DNS message where the server\'s framing resumes after a capture gap']]);
});

test('DNS over TCP: the connection ending inside a response makes it incomplete with what it held', () => {
  const { d, out } = tcp();
  const q = framed(query(1, 'a.example'));
  d.data(0, q, 0, q.length, 1, 0);
  const r = framed(response(1, 'a.example', 1, [aRecord('192.0.2.1'), aRecord('192.0.2.2')]));
  d.data(1, r, 0, r.length - 8, 2, 0);
  d.end(1, 3, 0);
  d.finish(3, 0);
  assert.deepEqual(out.records.map((x) => pick(x, ['trans_id', 'answers', 'state', 'problem'])), [[1, ['192.0.2.1'], 'incomplete', 'the connection ended inside the message']]);
});

test('DNS over TCP: a query cut by a client-side gap pairs with its response by ID, which gives the question; a response to a lost query is an orphan', () => {
  const { d, out } = tcp();
  const q = framed(query(1, 'a.example'), query(2, 'b.example'));
  d.data(0, q, 0, 20, 1, 0);
  d.gap(0, q.length - 20, 1, 1);
  const r = framed(response(1, 'a.example', 1, [aRecord('192.0.2.1')]), response(2, 'b.example', 1, []));
  d.data(1, r, 0, r.length, 2, 0);
  d.finish(3, 0);
  assert.deepEqual(
    out.records.map((x) => pick(x, ['trans_id', 'query', 'qtype', 'answers', 'state', 'problem'])),
    [
      [1, 'a.example', 1, ['192.0.2.1'], 'incomplete', 'a capture gap inside the message'],
      [2, 'b.example', 1, null, 'orphan', 'no query seen for this response (a capture gap on the client side)'],
    ],
  );
});

test('DNS over TCP: a zone transfer answered in three messages is one record; the next query writes it; past 1000 answers the list is cut', () => {
  const { d, out } = tcp();
  const q = framed(query(9, 'zone.example', 252));
  d.data(0, q, 0, q.length, 1, 0);
  const soa = rr(ptr(12), 6, 3600, [...name('ns.zone.example'), 0, ...Array(20).fill(0)]);
  const first = response(9, 'zone.example', 252, [soa, aRecord('192.0.2.1')]);
  const second = msg({ id: 9, flags: 0x8400, an: [[0, ...aRecord('192.0.2.2').slice(2)]] }); // no question: the owner is the root
  const last = response(9, 'zone.example', 252, [aRecord('192.0.2.3'), soa]);
  const r = framed(first, second, last);
  d.data(1, r, 0, r.length, 2, 0);
  assert.equal(out.records.length, 0, 'still open');
  const q2 = framed(query(10, 'zone.example', 6));
  d.data(0, q2, 0, q2.length, 3, 0);
  d.finish(4, 0);
  assert.deepEqual(
    out.records.map((x) => pick(x, ['trans_id', 'qtype_name', 'answers', 'total_answers', 'response_bytes', 'state', 'problem'])),
    [
      [9, 'AXFR', ['ns.zone.example', '192.0.2.1', '192.0.2.2', '192.0.2.3', 'ns.zone.example'], 5, first.length + second.length + last.length, 'complete', null],
      [10, 'SOA', null, null, null, 'unanswered', 'no response before the flow ended'],
    ],
  );
  const big = tcp();
  big.d.data(0, q, 0, q.length, 1, 0);
  for (let k = 0; k < 12; k++) {
    const m = framed(response(9, 'zone.example', 252, Array.from({ length: 100 }, (_, i) => aRecord(`10.0.${k}.${i}`))));
    big.d.data(1, m, 0, m.length, 2, k);
  }
  big.d.finish(3, 0);
  assert.deepEqual(
    big.out.records.map((x) => [(x['answers'] as string[]).length, (x['TTLs'] as number[]).length, x['total_answers'], x['state'], x['problem']]),
    [[1000, 1000, 1200, 'complete', 'zone transfer: answers after the first 1000 not listed']],
  );
});

test('the TCP sniff takes a length-prefixed query or response and nothing else; the UDP sniff goes by the QR bit', () => {
  const q = framed(query(5, 'www.example.com'));
  assert.equal(DNS.sniff!(q, 0, q.length), Sniff.CLIENT);
  const r = framed(response(5, 'www.example.com', 1, [aRecord('192.0.2.1')]));
  assert.equal(DNS.sniff!(r, 0, Math.min(64, r.length)), Sniff.SERVER);
  const http = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(DNS.sniff!(http, 0, http.length), Sniff.NO);
  const tls = Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...Array(40).fill(7)]);
  assert.equal(DNS.sniff!(tls, 0, tls.length), Sniff.NO);
  assert.equal(DNS.sniff!(q, 0, 10), Sniff.MORE);
  const uq = query(1, 'a.example'), ur = response(1, 'a.example', 1, []);
  assert.deepEqual([DNS.sniffDatagram!(uq, 0, uq.length), DNS.sniffDatagram!(ur, 0, ur.length), DNS.sniffDatagram!(uq, 0, 5)], [Sniff.CLIENT, Sniff.SERVER, Sniff.MORE]);
});
