/**
 * The PostgreSQL decoder on conversations built from the protocol
 * documentation: SSLRequest answered N and S, startup with SCRAM, simple
 * queries (several statements, errors, notices, COPY), extended-query
 * cycles with named and unnamed statements and portals, batches and
 * errors inside a cycle, pipelining, function calls, cancel requests,
 * capture gaps and mid-connection starts; hostile input and fuzzing; the
 * sniff. Every conversation is also fed one byte at a time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT, SERVER, Sniff } from '../src/protocols/decoder.js';
import { POSTGRESQL } from '../src/protocols/postgresql.js';
import { POSTGRESQL_STATES } from '../src/records/postgresql.js';
import { seeded } from './_l7-helpers.js';
import {
  auth, bind, bindComplete, cancelRequest, close, closeComplete, complete, copyData, copyDone, copyIn, dataRow, describe, error, execute, keyData, msg, noData,
  paramDescription, paramStatus, parse, parseComplete, query, ready, rowDescription, runPg, sslRequest, startup, sync, terminate, type Step,
} from './_pg-wire.js';

const login: Step[] = [
  [CLIENT, sslRequest(), 0],
  [SERVER, Buffer.from('N'), 1],
  [CLIENT, startup({ user: 'app', database: 'shop', application_name: 'psql' }), 2],
  [SERVER, auth(10, Buffer.from('SCRAM-SHA-256\0\0')), 3],
  [CLIENT, msg('p', Buffer.from('SCRAM-SHA-256\0'), Buffer.alloc(40, 0x61)), 4],
  [SERVER, auth(11, Buffer.from('r=abc,s=xyz,i=4096')), 5],
  [CLIENT, msg('p', Buffer.from('c=biws,r=abc,p=secret')), 6],
  [SERVER, Buffer.concat([auth(12, Buffer.from('v=xyz')), auth(0), paramStatus('server_version', '15.8'), keyData(), ready()]), 7],
];

function both(steps: readonly Step[]): ReturnType<typeof runPg> {
  const a = runPg(steps);
  assert.deepEqual(runPg(steps, 1).records, a.records, 'the same records one byte at a time');
  return a;
}

test("an SSLRequest refused, a SCRAM login and a simple query give Zeek's postgresql.log rows", () => {
  const r = both([
    ...login,
    [CLIENT, query('SELECT id, name FROM users WHERE id IN (1, 2)'), 10],
    [SERVER, Buffer.concat([rowDescription('id', 'name'), dataRow('1', 'ann'), dataRow('2', null), complete('SELECT 2'), ready()]), 12.5],
    [CLIENT, terminate(), 20],
  ]);
  assert.deepEqual(
    r.records.map((x) => [x['frontend'], x['frontend_arg'], x['backend'], x['backend_arg'], x['success'], x['rows'], x['user']]),
    [
      ['ssl_request', null, 'ssl_reply', 'N', false, null, null],
      ['startup', null, 'auth_ok', 'SASL,SASLContinue,SASLFinal', true, null, 'app'],
      ['simple_query', 'SELECT id, name FROM users WHERE id IN (1, 2)', null, null, true, 2, 'app'],
      ['terminate', null, null, null, null, null, 'app'],
    ],
  );
  const [, st, q] = r.records;
  assert.deepEqual([st!['protocol_version'], st!['db_version'], st!['database'], st!['application_name'], st!['latency_ms']], ['3.0', '15.8', 'shop', 'psql', 1]);
  assert.deepEqual([q!['tag'], q!['tag_rows'], q!['columns'], q!['transaction_status'], q!['latency_ms'], q!['fingerprint']], ['SELECT 2', 2, 2, 'I', 2.5, 'select id, name from users where id in(?+)']);
});

test('an SSLRequest accepted ends decoding with a record in state tls', () => {
  const r = both([[CLIENT, sslRequest(), 0], [SERVER, Buffer.from('S'), 1], [CLIENT, Buffer.from('160301020001', 'hex'), 2]]);
  assert.deepEqual(r.records.map((x) => [x['frontend'], x['backend_arg'], x['success'], x['state']]), [['ssl_request', 'S', true, 'tls']]);
  assert.deepEqual(r.stops, ['the connection switched to encryption']);
});

test('errors, notices, several statements in one query and COPY FROM STDIN', () => {
  const r = both([
    ...login,
    [CLIENT, query('DROP TABLE IF EXISTS t; CREATE TABLE t (i int)'), 10],
    [SERVER, Buffer.concat([error({ S: 'NOTICE', V: 'NOTICE', C: '00000', M: 'table "t" does not exist, skipping' }, 'N'), complete('DROP TABLE'), complete('CREATE TABLE'), ready()]), 11],
    [CLIENT, query('INSERT INTO t VALUES (now())'), 12],
    [SERVER, Buffer.concat([error({ S: 'ERROR', V: 'ERROR', C: '42804', M: 'column "i" is of type integer', P: '23' }), ready()]), 13],
    [CLIENT, query('COPY t FROM STDIN'), 14],
    [SERVER, copyIn(), 15],
    [CLIENT, Buffer.concat([copyData(Buffer.from('1\n2\n3\n')), copyDone()]), 16],
    [SERVER, Buffer.concat([complete('COPY 3'), ready()]), 17],
  ]);
  const [, , a, b, c] = r.records;
  assert.deepEqual([a!['commands'], a!['tag'], a!['backend'], a!['success'], a!['failed']], [2, 'CREATE TABLE', null, true, false]);
  assert.equal(a!['backend_arg'], 'SeverityLocalized=NOTICE,Severity=NOTICE,Code=00000,Message=table "t" does not exist, skipping');
  assert.deepEqual([b!['backend'], b!['success'], b!['rows'], b!['sql_state'], b!['error_severity'], b!['error_message'], b!['failed']], ['error', false, null, '42804', 'ERROR', 'column "i" is of type integer', true]);
  assert.deepEqual([c!['copy'], c!['tag_rows'], c!['request_bytes'], c!['state']], ['in', 3, 23 + 11 + 5, 'complete']);
});

test('extended query: one record per Sync cycle, the statement found through Bind and Parse, named and unnamed', () => {
  const r = both([
    ...login,
    // a named statement prepared with Describe, no Execute
    [CLIENT, Buffer.concat([parse('s1', 'SELECT name FROM users WHERE id = $1', [23]), describe('S', 's1'), sync()]), 10],
    [SERVER, Buffer.concat([parseComplete(), paramDescription(23), rowDescription('name'), ready()]), 11],
    // executed twice in one cycle through a named portal (a batch)
    [CLIENT, Buffer.concat([bind('p1', 's1', ['7']), execute('p1'), bind('p1', 's1', ['8']), execute('p1'), sync()]), 20],
    [SERVER, Buffer.concat([bindComplete(), dataRow('ann'), complete('SELECT 1'), bindComplete(), dataRow('bob'), complete('SELECT 1'), ready('T')]), 21],
    // the unnamed statement and portal, then Close
    [CLIENT, Buffer.concat([parse('', 'UPDATE users SET seen = now() WHERE id = $1'), bind('', '', ['7']), describe('P', ''), execute(''), close('S', 's1'), sync()]), 30],
    [SERVER, Buffer.concat([parseComplete(), bindComplete(), noData(), complete('UPDATE 1'), closeComplete(), ready()]), 31.25],
    // s1 was closed: its text is gone
    [CLIENT, Buffer.concat([bind('', 's1', ['9']), execute(''), sync()]), 40],
    [SERVER, Buffer.concat([error({ S: 'ERROR', V: 'ERROR', C: '26000', M: 'prepared statement "s1" does not exist' }), ready()]), 41],
  ]);
  assert.deepEqual(
    r.records.slice(2).map((x) => [x['frontend'], x['frontend_arg'], x['statement'], x['portal'], x['executes'], x['rows'], x['tag_rows'], x['commands'], x['params'], x['success']]),
    [
      ['extended_query', 'SELECT name FROM users WHERE id = $1', 's1', null, 0, 0, null, null, 1, true],
      ['extended_query', 'SELECT name FROM users WHERE id = $1', 's1', 'p1', 2, 2, 2, 2, 1, true],
      ['extended_query', 'UPDATE users SET seen = now() WHERE id = $1', '', '', 1, 0, 1, 1, 1, true],
      ['extended_query', null, 's1', '', 1, null, null, null, 1, false],
    ],
  );
  assert.equal(r.records[3]!['fingerprint'], 'select name from users where id = ?');
  assert.equal(r.records[4]!['latency_ms'], 1.25);
  assert.equal(r.records[3]!['transaction_status'], 'T');
});

test('pipelined queries and cycles are answered in order; a function call and a cancel request have records', () => {
  const r = both([
    ...login,
    [CLIENT, Buffer.concat([query('SELECT 1'), parse('', 'SELECT 2'), bind('', '', []), execute(''), sync(), msg('F', Buffer.from([0, 0, 4, 0]), Buffer.alloc(8))]), 10],
    [SERVER, Buffer.concat([rowDescription('?'), dataRow('1'), complete('SELECT 1'), ready(), parseComplete(), bindComplete(), dataRow('2'), complete('SELECT 1'), ready(), msg('V', Buffer.from([0, 0, 0, 1, 0x31])), ready()]), 11],
  ]);
  assert.deepEqual(r.records.slice(2).map((x) => [x['frontend'], x['frontend_arg'], x['rows']]), [['simple_query', 'SELECT 1', 1], ['extended_query', 'SELECT 2', 1], ['function_call', '1024', 0]]);
  const c = both([[CLIENT, cancelRequest(42, 7), 0]]);
  assert.deepEqual(c.records.map((x) => [x['frontend'], x['frontend_arg']]), [['cancel_request', '42']]);
});

test('a gap inside a DataRow cuts that reply only; a gap across messages loses it and the next query is found again', () => {
  const rows = Buffer.concat([rowDescription('v'), dataRow('x'.repeat(300)), dataRow('y'), complete('SELECT 2'), ready()]);
  const r = both([
    ...login,
    [CLIENT, query('SELECT v FROM t'), 10],
    [SERVER, rows.subarray(0, 60), 11],
    ['gap', SERVER, 100, 11],
    [SERVER, rows.subarray(160), 12],
    [CLIENT, query('SELECT 2'), 20],
    [SERVER, Buffer.concat([rowDescription('?'), dataRow('2'), complete('SELECT 1')]), 21],
    ['gap', SERVER, 10, 21],
    [CLIENT, query('SELECT 3'), 30],
    [SERVER, Buffer.concat([rowDescription('?'), dataRow('3'), complete('SELECT 1'), ready()]), 31],
  ]);
  assert.deepEqual(r.records.slice(2).map((x) => [x['frontend_arg'], x['state'], x['rows']]), [['SELECT v FROM t', 'incomplete', 2], ['SELECT 2', 'incomplete', null], ['SELECT 3', 'complete', 1]]);
});

test('a capture that begins inside a reply waits for the next query; an extended cycle mid-connection is read', () => {
  const r = both([
    [SERVER, Buffer.concat([dataRow('z'), complete('SELECT 9'), ready()]).subarray(3), 0],
    [CLIENT, Buffer.concat([bind('', 'S_7', ['1']), execute(''), sync()]), 1],
    [SERVER, Buffer.concat([bindComplete(), dataRow('1'), complete('SELECT 1'), ready()]), 2],
  ]);
  assert.deepEqual(r.records.map((x) => [x['frontend'], x['statement'], x['rows'], x['state']]), [['extended_query', 'S_7', 1, 'complete']]);
});

test('hostile input: length lies, a 2^31 length, huge counts and random bytes never throw and stay bounded', () => {
  const lie = Buffer.from([0x44, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x01]);
  const a = runPg([...login, [CLIENT, query('SELECT 1'), 10], [SERVER, lie, 11]]);
  assert.deepEqual(a.records.slice(2).map((x) => [x['state'], x['problem']]), [['invalid', 'message length 2147483647 over 1073741824']]);
  const b = runPg([...login, [CLIENT, query('SELECT 1'), 10], [SERVER, Buffer.concat([msg('T', Buffer.from([0xff, 0xff])), msg('D', Buffer.from([0xff, 0xff])), complete('SELECT 99999999999999999999'), ready()]), 11]]);
  assert.deepEqual(b.records.slice(2).map((x) => [x['columns'], x['rows'], x['state']]), [[65535, 1, 'complete']]);
  const rnd = seeded(9);
  const good = [...login, [CLIENT, query('SELECT 1'), 10], [SERVER, Buffer.concat([rowDescription('?'), dataRow('1'), complete('SELECT 1'), ready()]), 11]] as Step[];
  for (let round = 0; round < 400; round++) {
    const steps: Step[] =
      round % 2 === 0
        ? Array.from({ length: 1 + Math.floor(rnd() * 8) }, (_, i) => [i % 2 === 0 ? CLIENT : SERVER, Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256))), i] as Step)
        : good.map((s) => {
            const x = Buffer.from(s[1] as Buffer);
            for (let k = 0; k < 3; k++) if (rnd() < 0.5) x[Math.floor(rnd() * x.length)] = Math.floor(rnd() * 256);
            return [s[0], x, s[2]] as Step;
          });
    const r = runPg(steps, 1 + Math.floor(rnd() * 7));
    for (const x of r.records) assert.ok((POSTGRESQL_STATES as readonly string[]).includes(String(x['state'])));
    assert.ok(r.records.length <= 64);
  }
});

test('the sniff recognises startup messages and SSL, GSS and cancel requests, and nothing else', () => {
  const s = (b: Buffer): number => POSTGRESQL.sniff!(b, 0, Math.min(64, b.length));
  assert.equal(s(startup({ user: 'app', database: 'shop' })), Sniff.CLIENT);
  assert.equal(s(sslRequest()), Sniff.CLIENT);
  assert.equal(s(cancelRequest(1, 2)), Sniff.CLIENT);
  assert.equal(s(sslRequest().subarray(0, 5)), Sniff.MORE);
  for (const other of ['GET / HTTP/1.1\r\n\r\n', 'SSH-2.0-OpenSSH_9.2\r\n', '*1\r\n$4\r\nPING\r\n']) assert.equal(s(Buffer.from(other)), Sniff.NO, other);
  assert.equal(s(Buffer.from('16030100a5010000a10303', 'hex')), Sniff.NO);
  assert.equal(s(query('SELECT 1')), Sniff.NO);
  const rnd = seeded(3);
  let yes = 0;
  for (let i = 0; i < 20000; i++) if (s(Buffer.from(Array.from({ length: 64 }, () => Math.floor(rnd() * 256)))) === Sniff.CLIENT) yes++;
  assert.equal(yes, 0);
});
