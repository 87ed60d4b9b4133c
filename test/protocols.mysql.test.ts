/**
 * The MySQL decoder on conversations built byte by byte from the protocol
 * documentation: the login, text and binary result sets with and without
 * EOF packets, prepared statements, multi-results, LOCAL INFILE, 16 MB
 * payloads, the compressed protocol, TLS, pipelining, capture gaps and
 * mid-connection starts; every conversation also fed one byte at a time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT, SERVER } from '../src/protocols/decoder.js';
import {
  CAPS_41, COMPRESS, DEPRECATE_EOF, SSL, coldef, command, compressed, eof, err, greeting, handshakeResponse, lenenc, ok, pkt, resultSet, runMysql,
  sslRequest, textRow, type Step,
} from './_mysql-wire.js';

const login = (caps = CAPS_41 | DEPRECATE_EOF, db: string | null = 'shop'): Step[] => [
  [SERVER, greeting('8.0.36', caps), 0],
  [CLIENT, handshakeResponse('app', db, caps), 1],
  [SERVER, ok(2), 2],
];

/** Runs whole, then one byte at a time, and requires the same records. */
function both(steps: readonly Step[]): ReturnType<typeof runMysql> {
  const a = runMysql(steps);
  const b = runMysql(steps, 1);
  assert.deepEqual(b.records, a.records, 'the same records one byte at a time');
  return a;
}

test('a login, a result set (EOF packets), an INSERT, an error and quit give Zeek-style records', () => {
  const caps = CAPS_41;
  const [rs] = resultSet(1, ['id', 'name'], [['1', 'ann'], ['2', null]], false);
  const r = both([
    ...login(caps),
    [CLIENT, command(3, 'SELECT id, name FROM users WHERE id IN (1, 2)'), 10],
    [SERVER, rs, 12.5],
    [CLIENT, command(3, "INSERT INTO users (name) VALUES ('bob')"), 20],
    [SERVER, ok(1, 1, 42, 2, 1), 21],
    [CLIENT, command(3, 'SELEC oops'), 30],
    [SERVER, err(1, 1064, '42000', 'You have an error in your SQL syntax'), 31],
    [CLIENT, command(1), 40],
  ]);
  assert.deepEqual(
    r.records.map((x) => [x['cmd'], x['arg'], x['success'], x['rows'], x['failed'], x['state']]),
    [
      ['login', 'app', true, 0, false, 'complete'],
      ['query', 'SELECT id, name FROM users WHERE id IN (1, 2)', true, 0, false, 'complete'],
      ['query', "INSERT INTO users (name) VALUES ('bob')", true, 1, false, 'complete'],
      ['query', 'SELEC oops', false, null, true, 'complete'],
      ['quit', '', null, null, false, 'complete'],
    ],
  );
  const [l, sel, ins, bad] = r.records;
  assert.equal(l!['db_version'], '8.0.36');
  assert.equal(l!['database'], 'shop');
  assert.equal(l!['fingerprint'], 'administrator command: Connect');
  assert.equal(l!['auth_plugin'], 'mysql_native_password');
  assert.equal(sel!['columns'], 2);
  assert.equal(sel!['result_rows'], 2);
  assert.equal(sel!['result_sets'], 1);
  assert.equal(sel!['latency_ms'], 2.5);
  assert.equal(sel!['fingerprint'], 'select id, name from users where id in(?+)');
  assert.equal(sel!['user'], 'app');
  assert.equal(ins!['insert_id'], 42);
  assert.equal(ins!['warnings'], 1);
  assert.deepEqual([bad!['error_code'], bad!['sql_state'], bad!['response']], [1064, '42000', 'You have an error in your SQL syntax']);
  assert.equal(r.records[4]!['fingerprint'], 'administrator command: Quit');
  assert.ok(r.confirmed);
});

test('CLIENT_DEPRECATE_EOF: no EOF after the columns, the rows end with an OK packet with the 0xfe header', () => {
  const [rs] = resultSet(1, ['a'], [['x'], ['y'], ['z']], true);
  const r = both([...login(), [CLIENT, command(3, 'SELECT a FROM t'), 10], [SERVER, rs, 11], [CLIENT, command(14), 12], [SERVER, ok(1), 13]]);
  assert.deepEqual(r.records.slice(1).map((x) => [x['cmd'], x['result_rows'], x['columns'], x['state']]), [['query', 3, 1, 'complete'], ['ping', null, null, 'complete']]);
});

test('the EOF convention is learnt from the packets when the capture missed the handshake', () => {
  for (const dep of [false, true]) {
    const [rs] = resultSet(1, ['a', 'b'], [['1', '2']], dep);
    const [rs2] = resultSet(1, ['a'], [], dep);
    const r = both([[CLIENT, command(3, 'SELECT a, b FROM t'), 10], [SERVER, rs, 11], [CLIENT, command(3, 'SELECT a FROM t WHERE 0'), 12], [SERVER, rs2, 13]]);
    assert.deepEqual(r.records.map((x) => [x['result_rows'], x['state']]), [[1, 'complete'], [0, 'complete']], `deprecated: ${dep}`);
  }
});

test('prepared statements: the text is linked to execute, fetch, reset and close by statement id, with the parameter count', () => {
  const prepareOk = (seq: number, id: number, cols: number, params: number): Buffer => {
    const b = Buffer.alloc(12);
    b.writeUInt32LE(id, 1);
    b.writeUInt16LE(cols, 5);
    b.writeUInt16LE(params, 7);
    return pkt(seq, b);
  };
  const exec = (id: number): Buffer => {
    const b = Buffer.alloc(10 + 1 + 1 + 4 + 4 + 8);
    b[0] = 0x17;
    b.writeUInt32LE(id, 1);
    b[5] = 0;
    b.writeUInt32LE(1, 6);
    b[11] = 1; // new params bound
    b.writeUInt16LE(8, 12);
    b.writeUInt16LE(8, 14);
    return pkt(0, b);
  };
  const stmtId = (code: number, id: number, extra = 0): Buffer => {
    const b = Buffer.alloc(5 + extra);
    b[0] = code;
    b.writeUInt32LE(id, 1);
    return pkt(0, b);
  };
  const binRow = (seq: number): Buffer => pkt(seq, Buffer.from([0x00, 0x00, 1, 0, 0, 0, 0, 0, 0, 0]));
  for (const dep of [false, true]) {
    const caps = dep ? CAPS_41 | DEPRECATE_EOF : CAPS_41;
    const desc: Buffer[] = [prepareOk(1, 7, 1, 2), coldef(2, '?'), coldef(3, '?')];
    let seq = 4;
    if (!dep) desc.push(eof(seq++));
    desc.push(coldef(seq++, 'n'));
    if (!dep) desc.push(eof(seq++));
    const rows = Buffer.concat([pkt(1, lenenc(1)), coldef(2, 'n'), ...(dep ? [] : [eof(3)]), binRow(dep ? 3 : 4), binRow(dep ? 4 : 5), dep ? ok(5, 0, 0, 2, 0, 0xfe) : eof(6)]);
    const r = both([
      ...login(caps),
      [CLIENT, command(0x16, 'SELECT n FROM t WHERE a = ? AND b = ?'), 10],
      [SERVER, Buffer.concat(desc), 11],
      [CLIENT, exec(7), 20],
      [SERVER, rows, 21],
      [CLIENT, stmtId(0x1a, 7), 30],
      [SERVER, ok(1), 31],
      [CLIENT, stmtId(0x19, 7), 40],
      [CLIENT, exec(7), 50],
      [SERVER, err(1, 1243, 'HY000', 'Unknown prepared statement handler'), 51],
    ]);
    assert.deepEqual(
      r.records.slice(1).map((x) => [x['cmd'], x['statement_id'], x['params'], x['columns'], x['result_rows'], x['arg'], x['success'], x['state']]),
      [
        ['stmt_prepare', 7, 2, 1, null, 'SELECT n FROM t WHERE a = ? AND b = ?', true, 'complete'],
        ['stmt_execute', 7, 2, 1, 2, 'SELECT n FROM t WHERE a = ? AND b = ?', true, 'complete'],
        ['stmt_reset', 7, 2, null, null, 'SELECT n FROM t WHERE a = ? AND b = ?', true, 'complete'],
        ['stmt_close', 7, 2, null, null, 'SELECT n FROM t WHERE a = ? AND b = ?', null, 'complete'],
        ['stmt_execute', 7, null, null, null, '', false, 'complete'],
      ],
      `deprecated EOF: ${dep}`,
    );
    assert.equal(r.records[1]!['fingerprint'], 'prepare select n from t where a = ? and b = ?');
    // pt-query-digest's names: EXECUTE <statement>, DEALLOCATE PREPARE <id>, RESET <id>
    assert.deepEqual(r.records.slice(2, 5).map((x) => x['fingerprint']), ['execute select n from t where a = ? and b = ?', 'reset ?', 'deallocate prepare ?']);
  }
});

test('several result sets in one reply (SERVER_MORE_RESULTS_EXISTS) make one record', () => {
  const more = 0x0a;
  const [a, s1] = resultSet(1, ['x'], [['1']], false, more);
  const [b, s2] = resultSet(s1, ['y', 'z'], [['2', '3'], ['4', '5']], false, more);
  const r = both([...login(CAPS_41), [CLIENT, command(3, 'CALL two_sets()'), 10], [SERVER, Buffer.concat([a, b, ok(s2, 0, 0, 2)]), 11]]);
  const c = r.records[1]!;
  assert.deepEqual([c['cmd'], c['result_sets'], c['result_rows'], c['columns'], c['rows'], c['fingerprint'], c['state']], ['query', 2, 3, 1, 0, 'call two_sets', 'complete']);
});

test('LOAD DATA LOCAL INFILE: the file goes in the request bytes, the final OK ends the record', () => {
  const r = both([
    ...login(),
    [CLIENT, command(3, "LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE t"), 10],
    [SERVER, pkt(1, Buffer.from('\xfb/tmp/x.csv', 'latin1')), 11],
    [CLIENT, Buffer.concat([pkt(2, Buffer.alloc(1000, 0x61)), pkt(3, Buffer.alloc(0))]), 12],
    [SERVER, ok(4, 7), 13],
  ]);
  const c = r.records[1]!;
  assert.deepEqual([c['rows'], c['success'], c['request_bytes'], c['state']], [7, true, 4 + 49 + 1004 + 4, 'complete']);
});

test('a statement of 20 MB (a 2^24 - 1 byte packet and its continuation) is clipped, counted whole, and never held', () => {
  const big = Buffer.alloc(20_000_000, 0x20);
  Buffer.from('INSERT INTO blobs VALUES (').copy(big, 1);
  big[0] = 3;
  const q = pkt(0, big);
  const r = runMysql([...login(), [CLIENT, q, 10], [SERVER, ok(2, 1), 50]], 65536);
  const c = r.records[1]!;
  assert.equal(c['request_bytes'], 20_000_000 + 8);
  assert.equal((c['arg'] as string).length, 8192);
  assert.ok((c['arg'] as string).endsWith('…'));
  assert.deepEqual([c['rows'], c['state']], [1, 'complete']);
  // a row of 17 MB starting with 0xfe (an 8-byte length) is a row, not the end of the result set
  const row = Buffer.alloc(17_000_000, 0x61);
  row[0] = 0xfe;
  row.writeBigUInt64LE(BigInt(row.length - 9), 1);
  const rows = Buffer.concat([pkt(1, lenenc(1)), coldef(2, 'b'), pkt(3, row), ok(5, 0, 0, 2, 0, 0xfe)]);
  const r2 = runMysql([...login(), [CLIENT, command(3, 'SELECT b FROM blobs'), 10], [SERVER, rows, 11]], 65536);
  assert.deepEqual([r2.records[1]!['result_rows'], r2.records[1]!['state']], [1, 'complete']);
  assert.equal(r2.records[1]!['response_bytes'], rows.length);
});

test('the compressed protocol: negotiated in the handshake, zlib and stored frames, packets split across frames', () => {
  const caps = CAPS_41 | COMPRESS;
  const [rs] = resultSet(1, ['a'], Array.from({ length: 200 }, (_, i) => [`value-${i}`]), false);
  const r = both([
    [SERVER, greeting('5.7.44', caps), 0],
    [CLIENT, handshakeResponse('app', 'db', caps), 1],
    [SERVER, ok(2), 2],
    [CLIENT, compressed(0, command(3, 'SELECT a FROM t'), false), 10],
    // the reply compressed in 1000-byte frames: packets straddle the frames
    [SERVER, compressed(1, rs, true, 1000), 11],
    [CLIENT, compressed(0, command(3, 'SELECT 1'), true), 20],
    [SERVER, compressed(1, Buffer.concat([pkt(1, lenenc(1)), coldef(2, '1'), eof(3), textRow(4, '1'), eof(5)]), false), 21],
  ]);
  assert.deepEqual(r.records.map((x) => [x['cmd'], x['result_rows'], x['compressed'], x['state']]), [
    ['login', null, true, 'complete'],
    ['query', 200, true, 'complete'],
    ['query', 1, true, 'complete'],
  ]);
  assert.equal(r.records[1]!['latency_ms'], 1);
  assert.deepEqual(r.weirds, []);
});

test('compressed frames are recognised by their headers when the capture began after the handshake', () => {
  const r = both([[CLIENT, compressed(0, command(2, 'test'), false), 0], [SERVER, compressed(1, ok(1), false), 0.75]]);
  assert.deepEqual(r.records.map((x) => [x['cmd'], x['arg'], x['success'], x['compressed'], x['latency_ms']]), [['init_db', 'test', true, true, 0.75]]);
});

test('an SSLRequest ends decoding with a login record in state tls', () => {
  const r = both([[SERVER, greeting('8.0.36', CAPS_41 | SSL), 0], [CLIENT, sslRequest(), 1], [CLIENT, Buffer.from('160301020001', 'hex'), 2]]);
  assert.equal(r.records.length, 1);
  assert.deepEqual([r.records[0]!['cmd'], r.records[0]!['state'], r.records[0]!['db_version']], ['login', 'tls', '8.0.36']);
  assert.deepEqual(r.stops, ['the connection switched to TLS']);
});

test('a refused login and a refused connection are failed login records', () => {
  const a = both([[SERVER, greeting(), 0], [CLIENT, handshakeResponse('app', 'db'), 1], [SERVER, err(2, 1045, '28000', "Access denied for user 'app'"), 3]]);
  assert.deepEqual(a.records.map((x) => [x['cmd'], x['success'], x['error_code'], x['failed'], x['latency_ms']]), [['login', false, 1045, true, 2]]);
  const b = both([[SERVER, pkt(0, Buffer.concat([Buffer.from([0xff, 0x10, 0x04]), Buffer.from('Too many connections')])), 0]]);
  assert.deepEqual(b.records.map((x) => [x['cmd'], x['success'], x['error_code'], x['response']]), [['login', false, 1040, 'Too many connections']]);
});

test('pipelined commands are answered in order', () => {
  const [rs] = resultSet(1, ['n'], [['1']], true);
  const r = both([...login(), [CLIENT, Buffer.concat([command(3, 'SELECT 1'), command(14), command(3, 'DO 1')]), 10], [SERVER, Buffer.concat([rs, ok(1), ok(1)]), 11]]);
  assert.deepEqual(r.records.slice(1).map((x) => [x['cmd'], x['result_rows'], x['state']]), [['query', 1, 'complete'], ['ping', null, 'complete'], ['query', null, 'complete']]);
});

test('a gap inside a row cuts only that reply; a gap across packets loses the reply and the next command is found again', () => {
  const [rs] = resultSet(1, ['a'], [['x'.repeat(100)], ['y']], true);
  const split = rs.length - 30;
  const r = both([
    ...login(),
    [CLIENT, command(3, 'SELECT a FROM t'), 10],
    [SERVER, rs.subarray(0, 40), 11],
    ['gap', SERVER, 20, 11],
    [SERVER, rs.subarray(60, split), 11],
    ['gap', SERVER, 40, 12],
    [SERVER, rs.subarray(split + 40 > rs.length ? rs.length : split + 40), 12],
    [CLIENT, command(3, 'SELECT 2'), 20],
    [SERVER, ok(1), 21],
  ]);
  assert.deepEqual(r.records.slice(1).map((x) => [x['arg'], x['state']]), [['SELECT a FROM t', 'incomplete'], ['SELECT 2', 'complete']]);
  assert.match(String(r.records[1]!['problem']), /capture gap/);
});

test('a capture that begins inside a result set waits for the next command', () => {
  const [rs] = resultSet(1, ['a'], [['1'], ['2'], ['3']], false);
  const r = both([[SERVER, rs.subarray(20), 0], [CLIENT, command(3, 'SELECT a FROM t'), 1], [SERVER, rs, 2]]);
  assert.deepEqual(r.records.map((x) => [x['arg'], x['result_rows'], x['state']]), [['SELECT a FROM t', 3, 'complete']]);
});

test('a command without a reply before the end is unanswered; a reply cut by the end is incomplete', () => {
  const [rs] = resultSet(1, ['a'], [['1'], ['2']], true);
  const r = both([...login(), [CLIENT, command(3, 'SELECT a FROM t'), 10], [SERVER, rs.subarray(0, rs.length - 5), 11], [CLIENT, command(3, 'SELECT SLEEP(10)'), 12]]);
  assert.deepEqual(r.records.slice(1).map((x) => [x['state'], x['problem']]), [
    ['incomplete', 'the connection ended inside the reply'],
    ['unanswered', 'no reply before the connection ended'],
  ]);
});

test('sequence ids are checked', () => {
  const r = both([...login(), [CLIENT, command(14), 10], [SERVER, ok(5), 11]]);
  assert.ok(r.weirds.includes('sequence id out of order'));
  assert.equal(r.records[1]!['state'], 'complete');
});
