/**
 * The DNS message reader on hand-made messages: each record type as Zeek's
 * dns.log writes it, name compression, EDNS, and hostile input (pointer
 * loops and forward pointers, pointer chains, reserved label types, names
 * over 255 bytes, lying counts, cut messages, record data that lies): every
 * one gives a problem, none throws, and the time a crafted message costs is
 * bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsMessage, MAX_POINTER_HOPS, MORE, NO, YES, plausible } from '../src/protocols/dns-message.js';
import { aRecord, msg, name, opt, ptr, query, response, rr, u16, u32 } from './_dns-helpers.js';

function read(m: Uint8Array, answers = true): DnsMessage {
  const d = new DnsMessage();
  const ok = d.parse(m, 0, m.length, answers, 8192);
  assert.equal(ok, d.problem === null, `ok agrees with problem (${d.problem})`);
  return d;
}

/** The answers of a response to "example.com" with one record of `type` and `rdata`. */
function answersOf(type: number, rdata: number[], ttl = 60): [string[] | null, number[] | null, string | null] {
  const d = read(response(7, 'example.com', type, [rr(ptr(12), type, ttl, rdata)]));
  return [d.answers, d.ttls, d.problem];
}

test('the header and the first question: ID, flags, counts, lower-case name without the trailing dot', () => {
  const d = read(msg({ id: 0xbeef, flags: 0x0110, questions: [{ name: 'WWW.Example.COM', type: 28, cls: 1 }] }), false);
  assert.deepEqual(
    [d.id, d.qr, d.opcode, d.rd, d.z, d.rcode, d.qdcount, d.queryName(), d.qtype, d.qclass, d.problem],
    [0xbeef, false, 0, true, 1, 0, 1, 'www.example.com', 28, 1, null],
  );
  assert.equal(d.queryNameIs('www.example.com'), true);
  assert.equal(d.queryNameIs('www.example.co'), false);
});

test('bytes outside printable ASCII in a label are written \\xNN; the root name is the empty string', () => {
  const m = Uint8Array.from([...u16(1), ...u16(0), ...u16(2), 0, 0, 0, 0, 0, 0, 3, 0x61, 0x20, 0xff, 0, ...u16(1), ...u16(1), 0, ...u16(2), ...u16(1)]);
  const d = read(m, false);
  assert.equal(d.queryName(), 'a\\x20\\xff');
  const r = read(msg({ questions: [{ name: '', type: 2 }] }), false);
  assert.equal(r.queryName(), '');
});

test('A, AAAA, CNAME, NS, PTR, MX, SRV and SOA answers as Zeek writes them, with their TTLs', () => {
  assert.deepEqual(answersOf(1, [192, 0, 2, 1]), [['192.0.2.1'], [60], null]);
  assert.deepEqual(answersOf(28, [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]), [['2001:db8::1'], [60], null]);
  assert.deepEqual(answersOf(5, name('Alias.Example.net')), [['alias.example.net'], [60], null]);
  assert.deepEqual(answersOf(2, name('ns1.example.com')), [['ns1.example.com'], [60], null]);
  assert.deepEqual(answersOf(12, name('host.example.com')), [['host.example.com'], [60], null]);
  assert.deepEqual(answersOf(15, [...u16(10), ...name('mx.example.com')]), [['mx.example.com'], [60], null]);
  assert.deepEqual(answersOf(33, [...u16(1), ...u16(5), ...u16(5060), ...name('sip.example.com')]), [['sip.example.com'], [60], null]);
  assert.deepEqual(answersOf(6, [...name('ns.example.com'), ...name('admin.example.com'), ...u32(1), ...u32(2), ...u32(3), ...u32(4), ...u32(5)]), [['ns.example.com'], [60], null]);
});

test('TXT and SPF: "TXT <bytes> <text>" per string, joined by spaces; an empty TXT is not listed', () => {
  const txt = [5, ...Buffer.from('hello'), 0, 3, ...Buffer.from('a b')];
  assert.deepEqual(answersOf(16, txt), [['TXT 5 hello TXT 0  TXT 3 a b'], [60], null]);
  assert.deepEqual(answersOf(99, [4, ...Buffer.from('v=sp')]), [['SPF 4 v=sp'], [60], null]);
  assert.deepEqual(answersOf(16, []), [[], [], null]);
});

test('DNSSEC and other types: RRSIG, DS, DNSKEY, NSEC, NSEC3, NSEC3PARAM, SSHFP, LOC, NAPTR, BIND9 signals; WKS writes nothing; others by number', () => {
  const rrsig = [...u16(5), 8, 2, ...u32(300), ...u32(0), ...u32(0), ...u16(1), ...name('Example.com'), 1, 2, 3];
  assert.deepEqual(answersOf(46, rrsig)[0], ['RRSIG 5 example.com']);
  assert.deepEqual(answersOf(46, [...u16(48), 8, 0, ...u32(1), ...u32(0), ...u32(0), ...u16(1), 0])[0], ['RRSIG 48 <Root>']);
  assert.deepEqual(answersOf(43, [...u16(1), 13, 2, 0xaa])[0], ['DS 13 2']);
  assert.deepEqual(answersOf(48, [...u16(257), 3, 15, 1, 2])[0], ['DNSKEY 15']);
  assert.deepEqual(answersOf(47, [...name('b.example.com'), 0, 1, 0x40])[0], ['NSEC example.com b.example.com']);
  assert.deepEqual(answersOf(50, [1, 0, 0, 1, 0])[0], ['NSEC3']);
  assert.deepEqual(answersOf(51, [1, 0, 0, 1, 0])[0], ['NSEC3PARAM']);
  assert.deepEqual(answersOf(44, [1, 2, 0xab, 0x01])[0], ['SSHFP: ab01']);
  assert.deepEqual(answersOf(29, [0, 0x12, 0x16, 0x13, ...u32(1), ...u32(2), ...u32(3)])[0], ['LOC:  18 22 19']);
  const naptr = [...u16(100), ...u16(10), 1, ...Buffer.from('u'), 7, ...Buffer.from('E2U+sip'), 3, ...Buffer.from('!.!'), 0];
  assert.deepEqual(answersOf(35, naptr)[0], ['NAPTR 100 10 u E2U+sip !.!']);
  assert.deepEqual(answersOf(65534, [1, 2, 3])[0], ['BIND9 signing signal']);
  assert.deepEqual(answersOf(11, [192, 0, 2, 1, 6])[0], []);
  assert.deepEqual(answersOf(65, [0, 1, 0])[0], ['<unknown type=65>']);
  assert.deepEqual(answersOf(13, [1, 0x41, 1, 0x42])[0], ['<unknown type=13>']);
});

test('compression: an owner pointing at the question, a target pointing into an earlier answer, a pointer to a pointer', () => {
  // question name at 12 ("www.example.com": 17 bytes), then type/class; the first answer starts at 33
  const cnameRdata = [3, ...Buffer.from('web'), ...ptr(16)]; // web + "example.com" (offset 16)
  const first = rr(ptr(12), 5, 60, cnameRdata); // at 33: owner 2 bytes, fixed 10, rdata at 45 .. 51
  const second = rr(ptr(45), 1, 60, [192, 0, 2, 7]); // owner points at the CNAME target "web.example.com"
  const d = read(response(1, 'www.example.com', 1, [first, second]));
  assert.deepEqual(d.answers, ['web.example.com', '192.0.2.7']);
  assert.equal(d.firstOwner, 'www.example.com');
  // a pointer to a pointer (offset 33 holds the first answer's owner, a pointer to 12)
  const third = rr(ptr(12), 12, 1, [...ptr(33)]);
  assert.deepEqual(read(response(1, 'www.example.com', 12, [third])).answers, ['www.example.com']);
});

test('EDNS: the OPT record\'s upper RCODE bits make the 12-bit rcode (16 = BADVERS); without OPT the header\'s 4 bits', () => {
  const d = read(response(1, 'example.com', 1, [], { ar: [opt(1)] }));
  assert.deepEqual([d.opt, d.rcode, d.flags & 0xf], [true, 16, 0]);
  const n = read(response(1, 'example.com', 1, [], { rcode: 3 }));
  assert.deepEqual([n.opt, n.rcode], [false, 3]);
  const both = read(response(1, 'example.com', 1, [], { rcode: 2, ar: [opt(0x10)] }));
  assert.equal(both.rcode, 0x102);
});

test('a message shorter than the header, and one cut inside each section, say where it ended', () => {
  assert.equal(read(Uint8Array.from([1, 2, 3])).problem, 'message of 3 bytes, shorter than the 12-byte header');
  const whole = response(1, 'example.com', 1, [aRecord('192.0.2.1')], { ns: [rr(ptr(12), 2, 1, name('ns.example.com'))], ar: [opt()] });
  const cuts: [number, string][] = [
    [20, 'message ends inside the question section'],
    [33, 'message ends inside the answer section'],
    [whole.length - 12, 'message ends inside the authority section'],
    [whole.length - 3, 'message ends inside the additional section'],
  ];
  for (const [at, why] of cuts) {
    const d = read(whole.subarray(0, at));
    assert.deepEqual([d.problem, d.short, d.header], [why, true, true], `cut at ${at}`);
  }
});

test('counts that lie run into the end of the message', () => {
  const d = read(msg({ flags: 0x8180, questions: [{ name: 'a.example', type: 1 }], an: [aRecord('192.0.2.1')], counts: [1, 5, 0, 0] }));
  assert.deepEqual([d.problem, d.short, d.answers], ['message ends inside the answer section', true, ['192.0.2.1']]);
  const q = read(msg({ counts: [65535, 65535, 65535, 65535] }));
  assert.equal(q.problem, 'message ends inside the question section');
});

test('a pointer to itself (a loop) and a forward pointer are refused', () => {
  // answer owner at 29 points at 29
  const loop = msg({ flags: 0x8180, questions: [{ name: 'example.com', type: 1 }], an: [[...ptr(29), ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4]] });
  assert.equal(read(loop).problem, 'compression pointer not pointing back (a loop or a forward pointer) in the answer section');
  const fwd = msg({ flags: 0x8180, questions: [{ name: 'example.com', type: 1 }], an: [[...ptr(40), ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4]] });
  assert.equal(read(fwd).problem, 'compression pointer not pointing back (a loop or a forward pointer) in the answer section');
  // two pointers pointing at each other: the second jump would go forward of the first
  const pair = Uint8Array.from([...u16(1), ...u16(0), ...u16(1), 0, 0, 0, 0, 0, 0, ...ptr(14), ...ptr(12), ...u16(1), ...u16(1)]);
  assert.match(read(pair, false).problem!, /not pointing back|overlaps/);
  // a pointer into the header points back, so it is followed (as Zeek does): the header's bytes read as
  // labels, never past the pointer; here ID 0x0001 flags 0: a label "\x00", then the end of the name
  const intoHeader = Uint8Array.from([...u16(1), ...u16(0), ...u16(1), 0, 0, 0, 0, 0, 0, ...ptr(1), ...u16(1), ...u16(1)]);
  assert.deepEqual([read(intoHeader, false).problem, read(intoHeader, false).queryName()], [null, '\\x00']);
});

test(`a chain of more than ${MAX_POINTER_HOPS} pointers is refused; ${MAX_POINTER_HOPS} is followed`, () => {
  // a first question "a" at 12; the links of the chain live inside an unknown record's data (answer 1),
  // each pointing at the one before it; the chain's head is answer 2's owner
  const build = (hops: number): Uint8Array => {
    const body: number[] = [1, 0x61, 0, ...u16(1), ...u16(1)];
    const rdataStart = 12 + body.length + 1 + 10;
    const data: number[] = [];
    let prev = 12;
    for (let i = 0; i < hops - 1; i++) {
      const at = rdataStart + data.length;
      data.push(...ptr(prev));
      prev = at;
    }
    const an1 = rr([0], 65, 1, data);
    const an2 = [...ptr(prev), ...u16(1), ...u16(1), ...u32(1), ...u16(4), 192, 0, 2, 1];
    return Uint8Array.from([...u16(1), ...u16(0x8180), ...u16(1), ...u16(2), 0, 0, 0, 0, ...body, ...an1, ...an2]);
  };
  const ok = read(build(MAX_POINTER_HOPS));
  assert.equal(ok.problem, null);
  assert.deepEqual(ok.answers, ['<unknown type=65>', '192.0.2.1']);
  assert.equal(read(build(MAX_POINTER_HOPS + 1)).problem, `name follows more than ${MAX_POINTER_HOPS} compression pointers in the answer section`);
});

test('label types 0x40 and 0x80 (a length byte over 63) are refused', () => {
  for (const b of [0x40, 0x7f, 0x80, 0xbf]) {
    const m = Uint8Array.from([...u16(1), ...u16(0), ...u16(1), 0, 0, 0, 0, 0, 0, b, ...Array(70).fill(0x61), 0, ...u16(1), ...u16(1)]);
    assert.equal(read(m, false).problem, `label type 0x${(b & 0xc0).toString(16)} (a length byte over 63) in the question section`);
  }
});

test('a name over 255 bytes is refused, whether sent whole or assembled from pointers', () => {
  const long = Array.from({ length: 5 }, () => 'x'.repeat(50)).join('.'); // 5 * 51 + 1 = 256 wire bytes
  assert.equal(read(msg({ questions: [{ name: long, type: 1 }] }), false).problem, 'name longer than 255 bytes in the question section');
  const ok = Array.from({ length: 5 }, (_, i) => 'x'.repeat(i === 4 ? 49 : 50)).join('.'); // 255
  assert.equal(read(msg({ questions: [{ name: ok, type: 1 }] }), false).problem, null);
  // question "y...(60).<root>" at 12; an answer owner "y*60" + pointer to 12 four times over
  const q = 'y'.repeat(60);
  let prev = 12;
  const an: number[][] = [];
  let at = 12 + 62 + 4;
  for (let i = 0; i < 4; i++) {
    const owner = [60, ...Buffer.from(q), ...ptr(prev)];
    an.push(rr(owner, 1, 1, [192, 0, 2, 1]));
    prev = at;
    at += owner.length + 10 + 4;
  }
  const d = read(msg({ flags: 0x8180, questions: [{ name: q, type: 1 }], an }));
  assert.equal(d.problem, 'name longer than 255 bytes in the answer section');
  assert.deepEqual(d.answers, ['192.0.2.1', '192.0.2.1', '192.0.2.1']);
});

test('record data that breaks its type: an A of 5 bytes, an MX too short, a TXT string or a name running past the data, a record past the message', () => {
  assert.equal(answersOf(1, [1, 2, 3, 4, 5])[2], 'A record of 5 bytes in the answer section');
  assert.equal(answersOf(28, [1, 2, 3, 4])[2], 'AAAA record of 4 bytes in the answer section');
  assert.equal(answersOf(15, [0, 1])[2], 'MX record too short in the answer section');
  assert.equal(answersOf(16, [9, 0x61])[2], 'TXT string runs past its record\'s data in the answer section');
  assert.equal(answersOf(5, [3, 0x61, 0x62])[2], 'name runs past its record\'s data in the answer section');
  const past = msg({ flags: 0x8180, questions: [{ name: 'e.x', type: 1 }], an: [[...ptr(12), ...u16(1), ...u16(1), ...u32(1), ...u16(400), 1, 2, 3, 4]] });
  assert.equal(read(past).problem, 'message ends inside the answer section');
});

test('a query is read without answer text; its OPT record is still seen', () => {
  const q = msg({ id: 9, flags: 0x0100, questions: [{ name: 'example.com', type: 1 }], ar: [opt()] });
  const d = read(q, false);
  assert.deepEqual([d.answers, d.opt, d.rcode], [null, true, 0]);
});

test('a crafted 64 KB message of pointer chains and lying counts is read in bounded time and gives a problem', () => {
  // a question, then 6000 records whose owners are 32-hop pointer chains built inside earlier records' data
  const parts: number[] = [...u16(1), ...u16(0x8180), ...u16(1), ...u16(65535), ...u16(65535), ...u16(65535), 1, 0x61, 0, ...u16(1), ...u16(1)];
  while (parts.length < 65000) {
    const dataStart = parts.length + 1 + 10;
    const data: number[] = [];
    let prev = 12;
    for (let i = 0; i < 31; i++) {
      const at = dataStart + data.length;
      data.push(...ptr(prev));
      prev = at;
    }
    parts.push(...rr([0], 65, 1, data));
    parts.push(...ptr(prev), ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4);
  }
  const m = Uint8Array.from(parts);
  const t0 = process.hrtime.bigint();
  const d = read(m);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.match(d.problem!, /message ends inside/);
  assert.ok(d.answers!.length > 1000);
  assert.ok(ms < 2000, `${ms} ms`);
});

test('plausible(): a real query and response yes, HTTP and random bytes no, too few bytes more', () => {
  const q = query(0x4242, 'www.example.com', 1);
  assert.equal(plausible(q, 0, q.length, q.length, 0), YES);
  assert.equal(plausible(q, 0, q.length, q.length, 1), NO, 'a query is not a response');
  assert.equal(plausible(q, 0, q.length, q.length + 1, 0), NO, 'the length must match a lone question');
  assert.equal(plausible(q, 0, 20, q.length, 0), MORE);
  const r = response(0x4242, 'www.example.com', 1, [aRecord('192.0.2.1')]);
  assert.equal(plausible(r, 0, r.length, r.length, 1), YES);
  const http = Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
  assert.equal(plausible(http, 2, http.length - 2, (http[0]! << 8) | http[1]!, 0), NO);
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  let yes = 0;
  for (let i = 0; i < 20000; i++) {
    const b = Uint8Array.from({ length: 64 }, rnd);
    if (plausible(b, 2, 62, (b[0]! << 8) | b[1]!, 0) === YES || plausible(b, 2, 62, (b[0]! << 8) | b[1]!, 1) === YES) yes++;
  }
  assert.equal(yes, 0, 'random bytes taken for DNS');
});
