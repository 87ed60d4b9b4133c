/**
 * Hostile and damaged TLS streams: record and handshake length lies,
 * extensions overrunning their message, a 2^24-byte handshake length,
 * endless records, bytes that are not TLS, capture gaps before and after
 * encryption, an SSLv2-compatible ClientHello. Each costs bounded memory
 * and time, never throws, and gives a record whose state and problem say
 * what happened (or no record, for bytes that are not TLS at all).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT, DEFAULT_DECODER_LIMITS, SERVER, type AppContext, type Side } from '../src/protocols/decoder.js';
import type { RecordValues } from '../src/records/schema.js';
import { TLS } from '../src/protocols/tls.js';

const u16 = (v: number): number[] => [v >> 8, v & 0xff];
const u24 = (v: number): number[] => [v >> 16, (v >> 8) & 0xff, v & 0xff];
const rec = (type: number, body: number[], version = 0x0303): number[] => [type, ...u16(version), ...u16(body.length), ...body];
const hsMsg = (type: number, body: number[]): number[] => [type, ...u24(body.length), ...body];
const ext = (type: number, data: number[]): number[] => [...u16(type), ...u16(data.length), ...data];
const random = Array.from({ length: 32 }, (_, i) => i);

function clientHello(exts: number[] = [...ext(0, [...u16(14), 0, ...u16(11), ...Buffer.from('example.org')]), ...ext(10, [...u16(4), ...u16(29), ...u16(23)]), ...ext(11, [1, 0])]): number[] {
  const ciphers = [0xc0, 0x2f, 0xc0, 0x30, 0x00, 0x9c];
  return hsMsg(1, [...u16(0x0303), ...random, 0, ...u16(ciphers.length), ...ciphers, 1, 0, ...u16(exts.length), ...exts]);
}
const serverHello = (): number[] => hsMsg(2, [...u16(0x0303), ...random.map((x) => 255 - x), 0, 0xc0, 0x2f, 0, ...u16(0)]);

interface Run {
  records: RecordValues[];
  stops: string[];
  weird: string[];
}

type Step = { side: Side; bytes: number[] } | { side: Side; gap: number };

function run(steps: Step[], limits = DEFAULT_DECODER_LIMITS): Run {
  const out: Run = { records: [], stops: [], weird: [] };
  const ctx: AppContext = { emit: (_s, r) => void out.records.push(r), confirm: () => {}, weird: (n) => void out.weird.push(n), stop: (w) => void out.stops.push(w) };
  const d = TLS.stream!(ctx, limits);
  let t = 1000;
  for (const s of steps) {
    t++;
    if ('gap' in s) d.gap(s.side, s.gap, t, 0);
    else {
      const b = Uint8Array.from(s.bytes);
      d.data(s.side, b, 0, b.length, t, 0);
    }
  }
  d.end(CLIENT, t, 0);
  d.end(SERVER, t, 0);
  d.finish(t, 0);
  return out;
}

/** A full TLS 1.2 handshake with a Certificate of `certBytes` split over records, then application data. */
function tls12(certBytes = 3000): Step[] {
  const cert = hsMsg(11, [...u24(certBytes - 3), ...new Array<number>(certBytes - 3).fill(0x30)]);
  const flight = [...serverHello(), ...cert, ...hsMsg(14, [])];
  const recs: number[] = [];
  for (let i = 0; i < flight.length; i += 16384) recs.push(...rec(22, flight.slice(i, i + 16384)));
  return [
    { side: CLIENT, bytes: rec(22, clientHello(), 0x0301) },
    { side: SERVER, bytes: recs },
    { side: CLIENT, bytes: [...rec(22, hsMsg(16, [0, 2, 1, 1])), ...rec(20, [1]), ...rec(22, new Array<number>(40).fill(7))] },
    { side: SERVER, bytes: [...rec(20, [1]), ...rec(22, new Array<number>(40).fill(9))] },
    { side: CLIENT, bytes: rec(23, new Array<number>(100).fill(1)) },
    { side: SERVER, bytes: rec(23, new Array<number>(1000).fill(2)) },
  ];
}

test('a well-formed TLS 1.2 handshake with a 100 KB certificate chain is complete', () => {
  const r = run(tls12(100_000));
  assert.equal(r.records.length, 1);
  const x = r.records[0]!;
  assert.equal(x['state'], 'complete', String(x['problem']));
  assert.equal(x['ssl_history'], 'CsxnGIi');
  assert.equal(x['server_name'], 'example.org');
  assert.equal(x['cipher'], 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
  assert.equal(x['version'], 'TLSv12');
  assert.equal(x['client_records'], 5);
});

test('a record length over 2^14 + 2048 is invalid, and the side stops reading', () => {
  const r = run([{ side: CLIENT, bytes: rec(22, clientHello(), 0x0301) }, { side: SERVER, bytes: [22, 3, 3, ...u16(40000), 1, 2, 3] }]);
  assert.equal(r.records[0]!['state'], 'invalid');
  assert.match(String(r.records[0]!['problem']), /record length 40000 over 18432/);
});

test('a handshake length of 2^24 - 1 is over the limit: invalid, skipped by length, nothing buffered', () => {
  const ch = clientHello();
  ch.splice(1, 3, 0xff, 0xff, 0xff);
  const steps: Step[] = [{ side: CLIENT, bytes: rec(22, ch) }];
  // then 2 MB more of that message, in full records
  for (let i = 0; i < 128; i++) steps.push({ side: CLIENT, bytes: rec(22, new Array<number>(16384).fill(0x41)) });
  const t0 = process.hrtime.bigint();
  const r = run(steps);
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 2000);
  assert.equal(r.records[0]!['state'], 'invalid');
  assert.match(String(r.records[0]!['problem']), /16777215 bytes over the 65536-byte limit/);
});

test('an extension whose length overruns its ClientHello is invalid', () => {
  const bad = [...u16(0), ...u16(500), 0, 1, 2];
  const r = run([{ side: CLIENT, bytes: rec(22, clientHello(bad)) }, { side: SERVER, bytes: rec(22, serverHello()) }]);
  assert.equal(r.records[0]!['state'], 'invalid');
  assert.equal(r.records[0]!['problem'], 'ClientHello extension 0x0000 overruns its message');
});

test('a handshake message longer than its records (a length lie) leaves the handshake incomplete at the end', () => {
  const ch = clientHello();
  const lie = [...ch];
  lie.splice(1, 3, ...u24(ch.length - 4 + 100));
  const r = run([{ side: CLIENT, bytes: rec(22, lie) }]);
  assert.equal(r.records.length, 0, 'no hello was read: nothing to write');
  const r2 = run([{ side: CLIENT, bytes: [...rec(22, lie), ...rec(22, new Array<number>(100).fill(0))] }, { side: SERVER, bytes: rec(22, serverHello()) }]);
  assert.equal(r2.records[0]!['state'], 'invalid', 'the ClientHello has bytes after its extensions');
});

test('endless plaintext records cost time in proportion and one record', () => {
  const steps: Step[] = [{ side: CLIENT, bytes: rec(22, clientHello()) }, { side: SERVER, bytes: rec(22, serverHello()) }];
  const many: number[] = [];
  for (let i = 0; i < 20000; i++) many.push(...rec(24, [1, 0, 0]));
  for (let i = 0; i < 20; i++) steps.push({ side: SERVER, bytes: many });
  const r = run(steps);
  assert.equal(r.records.length, 1);
  assert.equal(r.records[0]!['server_records'], 400_001);
  assert.equal(r.records[0]!['state'], 'incomplete');
});

test('bytes that are not TLS give no record and stop the decoder', () => {
  const r = run([{ side: CLIENT, bytes: [...Buffer.from('GET / HTTP/1.1\r\n\r\n')] }]);
  assert.equal(r.records.length, 0);
  assert.deepEqual(r.stops, ['not TLS: record type 71 is not TLS']);
});

test('a gap inside a Certificate keeps the side in step: the handshake completes', () => {
  const steps = tls12(50_000);
  const server = (steps[1] as { bytes: number[] }).bytes;
  steps.splice(1, 1, { side: SERVER, bytes: server.slice(0, 20000) }, { side: SERVER, gap: 5000 }, { side: SERVER, bytes: server.slice(25000) });
  const r = run(steps);
  assert.equal(r.records[0]!['state'], 'complete');
  assert.equal(r.records[0]!['ssl_history'], 'CsxnGIi');
});

test('a gap across record boundaries before encryption makes the handshake incomplete', () => {
  const steps = tls12(3000);
  const server = (steps[1] as { bytes: number[] }).bytes;
  steps.splice(1, 1, { side: SERVER, bytes: server.slice(0, 60) }, { side: SERVER, gap: server.length - 60 });
  const r = run(steps);
  assert.equal(r.records[0]!['state'], 'incomplete');
  assert.match(String(r.records[0]!['problem']), /^gap of \d+ bytes .* of the server's stream$/);
  assert.equal(r.records[0]!['established'], false);
});

test('a gap after encryption changes nothing', () => {
  const steps = tls12(3000);
  steps.push({ side: SERVER, gap: 70000 }, { side: SERVER, bytes: [1, 2, 3] });
  const r = run(steps);
  assert.equal(r.records[0]!['state'], 'complete');
  assert.equal(r.records[0]!['problem'], null);
});

test('bytes before the first record (a STARTTLS prefix the capture cut) are hunted past', () => {
  const steps: Step[] = [
    { side: CLIENT, gap: 8 },
    { side: CLIENT, bytes: [0, 0, 0, 8, ...rec(22, clientHello())] },
    { side: SERVER, gap: 1 },
    { side: SERVER, bytes: [0x53, 22, 3, 3, ...rec(22, serverHello())] },
  ];
  const r = run(steps);
  assert.equal(r.records[0]!['ssl_history'], 'Cs');
  assert.equal(r.records[0]!['server_name'], 'example.org');
  assert.ok(r.weird.includes('bytes before the first TLS record'));
});

test('an SSLv2-compatible ClientHello is recognised', () => {
  const specs = [0x00, 0x00, 0x2f, 0x01, 0x00, 0x80];
  const body = [1, ...u16(0x0301), ...u16(specs.length), ...u16(0), ...u16(16), ...specs, ...new Array<number>(16).fill(0xaa)];
  const r = run([{ side: CLIENT, bytes: [0x80 | (body.length >> 8), body.length & 0xff, ...body] }, { side: SERVER, bytes: rec(22, serverHello(), 0x0301) }]);
  const x = r.records[0]!;
  assert.equal(x['client_version'], 0x0301);
  assert.deepEqual(x['client_ciphers'], [0x2f, 0x010080]);
  assert.equal(x['ssl_history'], 'Cs');
  assert.equal(x['ja4'], null);
});

test('garbage where an encrypted record header should be is invalid', () => {
  const steps = tls12(3000);
  steps.push({ side: CLIENT, bytes: [0x99, 0x99, 0x99, 0x99, 0x99] });
  const r = run(steps);
  assert.equal(r.records[0]!['state'], 'invalid');
  assert.match(String(r.records[0]!['problem']), /record type 153 is not TLS \(at byte \d+\)/);
});

test('a fatal alert instead of a ServerHello is a failed handshake', () => {
  const r = run([{ side: CLIENT, bytes: rec(22, clientHello()) }, { side: SERVER, bytes: rec(21, [2, 40]) }]);
  assert.equal(r.records[0]!['state'], 'alert');
  assert.equal(r.records[0]!['last_alert'], 'handshake_failure');
  assert.equal(r.records[0]!['last_alert_level'], 'fatal');
  assert.equal(r.records[0]!['last_alert_by'], 'server');
});

test('a ClientHello never answered is unanswered', () => {
  const r = run([{ side: CLIENT, bytes: rec(22, clientHello()) }]);
  assert.equal(r.records[0]!['state'], 'unanswered');
});
