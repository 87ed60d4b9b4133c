/**
 * The MySQL decoder on hostile and broken input: length lies, endless
 * 2^24 - 1 continuation chains, length-encoded integers of 2^64 - 1, a
 * column count of 10^9, compressed frames that lie or explode, and seeded
 * fuzzing (random bytes, and mutations of a real conversation). Nothing
 * throws, memory stays bounded, records keep their documented states; the
 * sniff recognises greetings and nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { CLIENT, SERVER, Sniff } from '../src/protocols/decoder.js';
import { MYSQL } from '../src/protocols/mysql.js';
import { MYSQL_STATES } from '../src/records/mysql.js';
import { seeded } from './_l7-helpers.js';
import { CAPS_41, COMPRESS, DEPRECATE_EOF, coldef, command, err, greeting, handshakeResponse, lenenc, ok, pkt, resultSet, runMysql, type Step } from './_mysql-wire.js';

const login: Step[] = [
  [SERVER, greeting(), 0],
  [CLIENT, handshakeResponse('app', 'db'), 1],
  [SERVER, ok(2), 2],
];

test('a packet whose length runs past the end of the connection leaves its command incomplete', () => {
  const lie = Buffer.from([0x10, 0x27, 0x00, 0x01, 0x01, 0x02]); // 10000 bytes announced, 2 sent
  const r = runMysql([...login, [CLIENT, command(3, 'SELECT 1'), 10], [SERVER, lie, 11]]);
  assert.deepEqual(r.records.slice(1).map((x) => x['state']), ['incomplete']);
});

test('an endless chain of 2^24 - 1 byte parts is counted, not held', () => {
  const part = Buffer.alloc(4 + 0xffffff);
  part.writeUIntLE(0xffffff, 0, 3);
  part[4] = 3;
  const steps: Step[] = [...login];
  for (let i = 0; i < 4; i++) {
    part[3] = i;
    steps.push([CLIENT, Buffer.from(part), 10 + i]);
  }
  const before = process.memoryUsage().arrayBuffers;
  const r = runMysql(steps, 1 << 20);
  assert.ok(process.memoryUsage().arrayBuffers - before < 100 * 1024 * 1024, 'no copy of the chain is kept');
  assert.equal(r.records.length, 1, 'the login only: the command never ended');
});

test('length-encoded integers of 2^64 - 1 and a column count of 10^9 or 2^64 make invalid or flagged records, not loops', () => {
  const huge = 0xffffffffffffffffn;
  const r = runMysql([
    ...login,
    [CLIENT, command(3, 'UPDATE t SET a = 1'), 10],
    [SERVER, ok(1, huge, huge), 11],
    [CLIENT, command(3, 'SELECT a FROM t'), 12],
    [SERVER, pkt(1, lenenc(1_000_000_000)), 13],
    [SERVER, coldef(2, 'a'), 13],
    [CLIENT, command(3, 'SELECT b FROM t'), 14],
    [SERVER, pkt(1, lenenc(huge)), 15],
    [CLIENT, command(14), 16],
    [SERVER, ok(1), 17],
  ]);
  const [, upd, sel, sel2, ping] = r.records;
  assert.deepEqual([upd!['rows'], upd!['insert_id'], upd!['state']], [null, null, 'complete']);
  assert.deepEqual([sel!['state'], sel!['problem']], ['invalid', 'column count 1000000000 over 65535']);
  assert.deepEqual([sel2!['state'], sel2!['problem']], ['invalid', 'column count over 2^53 over 65535']);
  assert.deepEqual([ping!['cmd'], ping!['state']], ['ping', 'complete']);
});

test('a prepared statement that announces 65535 parameters and sends two waits, bounded, until the end', () => {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(1, 1);
  b.writeUInt16LE(0xffff, 5);
  b.writeUInt16LE(0xffff, 7);
  const r = runMysql([...login, [CLIENT, command(0x16, 'SELECT ?'), 10], [SERVER, Buffer.concat([pkt(1, b), coldef(2, '?'), coldef(3, '?')]), 11]]);
  assert.deepEqual(r.records.slice(1).map((x) => [x['params'], x['state']]), [[65535, 'incomplete']]);
});

test('compressed frames that do not inflate, inflate past their declared length, or exceed the frame limit are gaps', () => {
  const caps = CAPS_41 | DEPRECATE_EOF | COMPRESS;
  const frame = (seq: number, body: Buffer, raw: number): Buffer => {
    const h = Buffer.alloc(7);
    h.writeUIntLE(body.length, 0, 3);
    h[3] = seq;
    h.writeUIntLE(raw, 4, 3);
    return Buffer.concat([h, body]);
  };
  const bomb = deflateSync(Buffer.alloc(50_000_000)); // 50 MB of zeros, said to be 100 bytes
  const huge = Buffer.alloc(3 << 20, 0x5a); // over the 1 MiB frame limit
  const cases: [Buffer, string][] = [
    [frame(0, Buffer.from('not zlib at all'), 40), 'compressed frame does not inflate'],
    [frame(0, bomb, 100), 'compressed frame does not inflate'],
    [frame(0, huge, 0xfffff0), 'compressed frame over the size limit'],
  ];
  for (const [bytes, weird] of cases) {
    const r = runMysql([
      [SERVER, greeting('8.0.36', caps), 0],
      [CLIENT, handshakeResponse('app', 'db', caps), 1],
      [SERVER, ok(2), 2],
      [CLIENT, bytes, 10],
      [SERVER, frame(1, ok(1), 0), 11],
    ]);
    assert.ok(r.weirds.includes(weird), weird);
    assert.equal(r.records.length, 1, 'the login only');
  }
});

test('random bytes, and a real conversation mutated and cut at random, never throw and give only documented states', () => {
  const [rs] = resultSet(1, ['a', 'b'], [['1', 'x'], ['2', null]], true);
  const good: Step[] = [
    ...login,
    [CLIENT, command(3, 'SELECT a, b FROM t'), 10],
    [SERVER, rs, 11],
    [CLIENT, command(0x16, 'SELECT ?'), 12],
    [SERVER, err(1, 1064, '42000', 'syntax'), 13],
  ];
  const rnd = seeded(42);
  for (let round = 0; round < 400; round++) {
    let steps: Step[];
    if (round % 2 === 0) {
      steps = Array.from({ length: 1 + Math.floor(rnd() * 8) }, (_, i) => [i % 2 === 0 ? CLIENT : SERVER, Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256))), i] as Step);
    } else {
      steps = good.map((s) => {
        const b = Buffer.from(s[1] as Buffer);
        for (let k = 0; k < 3; k++) if (rnd() < 0.5) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        return [s[0], rnd() < 0.1 ? b.subarray(0, Math.floor(rnd() * b.length)) : b, s[2]] as Step;
      });
    }
    const r = runMysql(steps, 1 + Math.floor(rnd() * 7));
    for (const x of r.records) assert.ok((MYSQL_STATES as readonly string[]).includes(String(x['state'])), String(x['state']));
    assert.ok(r.records.length <= 64);
  }
});

test('the sniff recognises MySQL and MariaDB greetings and nothing else', () => {
  const s = (b: Buffer): number => MYSQL.sniff!(b, 0, Math.min(64, b.length));
  assert.equal(s(greeting('8.0.36')), Sniff.SERVER);
  assert.equal(s(greeting('5.5.5-10.11.6-MariaDB-0+deb12u1')), Sniff.SERVER);
  assert.equal(s(greeting('8.0.36').subarray(0, 3)), Sniff.MORE);
  for (const other of [
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'SSH-2.0-OpenSSH_9.2\r\n',
    '220 mail.example.com ESMTP\r\n',
    '+OK POP3 ready\r\n',
  ]) assert.equal(s(Buffer.from(other)), Sniff.NO, other);
  assert.equal(s(Buffer.from('16030100a5010000a10303', 'hex')), Sniff.NO);
  assert.equal(s(Buffer.from('0000000804d2162f', 'hex')), Sniff.NO); // PostgreSQL's SSLRequest
  assert.equal(s(handshakeResponse('app', 'db')), Sniff.NO);
  const rnd = seeded(7);
  let yes = 0;
  for (let i = 0; i < 20000; i++) {
    const b = Buffer.from(Array.from({ length: 64 }, () => Math.floor(rnd() * 256)));
    if (s(b) === Sniff.SERVER) yes++;
  }
  assert.equal(yes, 0, 'no random 64 bytes look like a greeting');
});
