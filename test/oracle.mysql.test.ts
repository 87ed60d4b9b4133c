/**
 * mysql records against the oracles stored beside the fixtures
 * (docs/l7.md, "MySQL and MariaDB", lists every difference):
 * - Zeek's mysql.log baselines (wireshark sample, encrypted), field by
 *   field: cmd, arg, success, rows, response.
 * - tshark 4.0's MySQL dissector (`<capture>.tshark.tsv`, with the `-d`
 *   ports of `.tshark.cmd`), command by command: each request frame's
 *   command code, statement, statement id, user and schema, each reply's
 *   first frame's error code, SQL state, affected rows, column count and
 *   statement id, equal to the record whose command or reply starts in
 *   that frame.
 * - DeepFlow: its check_perf counts and rrt sums, and its .result lines
 *   (one per payload packet) for requests and the first packet of each
 *   reply: command, statement or login, status, error message, affected
 *   rows, prepared statement id, captured request size.
 * - pt-query-digest 3.2.1's own reading of each capture (--type tcpdump,
 *   fixtures/pcaps/oracles/<capture>.pt-query-digest.json): per
 *   fingerprint, the count and the sum of Query_time, against the answered
 *   records grouped by fingerprint and their latency_ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MYSQL } from '../src/protocols/mysql.js';
import type { RecordValues } from '../src/records/schema.js';
import { L7, decodeCapture, parseZeekLog, readTsharkTsv, recordStreams } from './_l7-helpers.js';
import { MYSQL_CAPTURES, decodePorts } from './_sql-helpers.js';

const cache = new Map<string, { tx: RecordValues[]; conns: RecordValues[] }>();
async function decode(path: string): Promise<{ tx: RecordValues[]; conns: RecordValues[] }> {
  let r = cache.get(path);
  if (r === undefined) {
    const d = await decodeCapture(path, [MYSQL], decodePorts(path));
    r = { tx: d.transactions, conns: d.conns };
    cache.set(path, r);
  }
  return r;
}

const zeekValue = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 'T' : 'F') : String(v));

test("Zeek's mysql.log of its wireshark sample: every row and field equal", async () => {
  const path = join(L7, 'zeek__mysql-mysql.pcap');
  const zeek = parseZeekLog(`${path}.expected.zeek.scripts.base.protocols.mysql.wireshark.mysql.log`);
  const { tx, conns } = await decode(path);
  assert.equal(tx.length, zeek.length);
  let values = 0;
  zeek.forEach((z, i) => {
    const o = tx[i]!;
    for (const f of ['cmd', 'arg', 'success', 'rows', 'response']) {
      assert.equal(zeekValue(o[f]), z[f], `row ${i} ${f}`);
      values++;
    }
    assert.deepEqual([o['orig_h'], o['orig_p'], o['resp_h'], o['resp_p']], [z['id.orig_h'], Number(z['id.orig_p']), z['id.resp_h'], Number(z['id.resp_p'])]);
  });
  assert.equal(values, 90);
  assert.deepEqual(conns.map((c) => c['service']), ['mysql']);
});

test("Zeek's encrypted trace: Zeek logs no mysql row and reads the TLS that follows; tcpkit writes the login in state tls and stops (documented)", async () => {
  const path = join(L7, 'zeek__mysql-encrypted.pcap');
  const zeekLog = readFileSync(`${path}.expected.zeek.scripts.base.protocols.mysql.encrypted.mysql.log`, 'utf8');
  const zeekConn = parseZeekLog(`${path}.expected.zeek.scripts.base.protocols.mysql.encrypted.conn.log`);
  const { tx, conns } = await decode(path);
  assert.equal(zeekLog.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length, 0, 'Zeek: no mysql.log row');
  assert.deepEqual(tx.map((r) => [r['cmd'], r['state'], r['db_version']]), [['login', 'tls', '5.5.5-10.0.36-MariaDB-0ubuntu0.16.04.1']]);
  assert.equal(zeekConn[0]!['service'], 'mysql,ssl');
  assert.equal(conns[0]!['service'], 'mysql');
});

// ---- tshark

/** A tshark value with its "|"-joined repeats: the first one. */
const first = (v: string | undefined): string => (v ?? '').split('|')[0]!;
/** Our text as tshark's field dump writes it. */
const tsharkText = (s: string): string => s.replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
/** Bytes that are not valid UTF-8: tshark shows U+FFFD, tcpkit one Latin-1 character per byte (documented). */
const nonUtf8 = (s: string): string => s.replace(/[^\x00-\x7f]+/g, '~');

/** Captures where tshark 4.0 misreads the compressed protocol (it never saw the handshake that negotiated it): documented. */
const COMPRESSED = new Set(['deepflow__mysql-mysql-use.pcap', 'deepflow__mysql-mysql-compressed-response.pcap', 'deepflow__mysql-partial-packet-compressed.pcap']);

interface Tally {
  [field: string]: [number, number];
}

test("tshark's MySQL dissector, command by command, on every MySQL fixture", async (t) => {
  const tally: Tally = {};
  const add = (f: string, same: boolean): void => {
    const c = (tally[f] ??= [0, 0]);
    c[same ? 0 : 1]++;
  };
  let compressedSeen = 0;
  for (const path of MYSQL_CAPTURES) {
    const name = path.split('/').pop()!;
    const frames = readTsharkTsv(`${path}.tshark.tsv`);
    const { tx } = await decode(path);
    // the record's orig/resp are its conn record's roles, which need not be the client's and the server's (a capture
    // that began mid-connection, from port 20871 to 30130, has its originator on 30130): frames are found by time and
    // either port, the reply's from the other port than the command's
    const at = (time: string, r: RecordValues, notPort = -1): Record<string, string> | undefined =>
      frames.find((f) => f['frame.time_epoch'] === time && [r['orig_p'], r['resp_p']].includes(Number(f['tcp.srcport'])) && Number(f['tcp.srcport']) !== notPort);
    if (COMPRESSED.has(name)) {
      // tshark takes the 7-byte frame header for a packet header: the command it shows is COM_SLEEP (0)
      for (const r of tx) {
        const c = first(at(String(r['ts']), r)?.['mysql.command']);
        if (c === '') continue; // tshark lost the frame's framing altogether (partial-packet-compressed's second query)
        assert.equal(c, '0', `${name}: tshark's command`);
        compressedSeen++;
      }
      continue;
    }
    for (const r of tx) {
      const req = at(String(r['ts']), r);
      if (r['cmd'] === 'login') {
        if (r['state'] === 'tls' || req === undefined) continue;
        add('user', first(req['mysql.user']) === (r['user'] ?? ''));
        if (first(req['mysql.schema']) !== '') add('schema', first(req['mysql.schema']) === r['database']);
      } else {
        assert.ok(req !== undefined, `${name}: a request frame at ${r['ts']}`);
        add('command', first(req['mysql.command']) === String(r['command_code']));
        // one PDU in the frame: the query whole ("|" may be in it); tshark shows a statement up to its first NUL byte
        const q = req['mysql.command']!.includes('|') ? first(req['mysql.query']) : req['mysql.query']!;
        if (q !== '') add('query', nonUtf8(q) === nonUtf8(tsharkText(String(r['arg']).split('\0')[0]!)));
        if (r['cmd'] === 'init_db') add('schema', first(req['mysql.schema']) === r['arg']);
        if (first(req['mysql.stmt_id']) !== '') add('stmt_id (request)', Number(first(req['mysql.stmt_id'])) === r['statement_id']);
      }
      if (r['response_ts'] === null) continue;
      const resp = at(String(r['response_ts']), r, req !== undefined ? Number(req['tcp.srcport']) : -1);
      assert.ok(resp !== undefined, `${name}: a reply frame at ${r['response_ts']}`);
      if (first(resp['mysql.error_code']) !== '') {
        add('error_code', Number(first(resp['mysql.error_code'])) === r['error_code']);
        add('sqlstate', first(resp['mysql.sqlstate']) === (r['sql_state'] ?? ''));
        add('error.message', first(resp['mysql.error.message']) === r['response']);
      } else add('error_code', r['error_code'] === null);
      if (first(resp['mysql.num_fields']) !== '') add('num_fields', Number(first(resp['mysql.num_fields'])) === r['columns']);
      if (r['cmd'] === 'stmt_prepare' && first(resp['mysql.stmt_id']) !== '') add('stmt_id (reply)', Number(first(resp['mysql.stmt_id'])) === r['statement_id']);
      if (first(resp['mysql.response_code']) === '0x00' && first(resp['mysql.affected_rows']) !== '' && r['cmd'] !== 'stmt_prepare') add('affected_rows', Number(first(resp['mysql.affected_rows'])) === r['rows']);
    }
  }
  assert.equal(compressedSeen, 3, 'each compressed capture has one command tshark reads as COM_SLEEP');
  t.diagnostic(`values compared (equal, different): ${JSON.stringify(tally)}`);
  const bad = Object.entries(tally).filter(([, [, n]]) => n > 0);
  assert.deepEqual(bad, [], `fields with differences: ${JSON.stringify(tally)}`);
  for (const f of ['command', 'query', 'error_code', 'num_fields', 'affected_rows', 'stmt_id (reply)', 'stmt_id (request)', 'user']) assert.ok((tally[f]?.[0] ?? 0) > 0, `${f} compared`);
});

// ---- DeepFlow

test("DeepFlow's check_perf: request and response counts, errors, rrt sums and maxima", async () => {
  // DeepFlow's rrt of a login runs from the login request to the server's final OK (our duration_ms); of a command, our latency_ms
  const perf: [string, number, number, number, number, number][] = [
    // capture, requests, responses, server errors, rrt sum µs, rrt max µs
    ['deepflow__mysql-mysql.pcap', 7, 6, 0, 598, 225],
    ['deepflow__mysql-mysql-error.pcap', 5, 4, 1, 292, 146],
    ['deepflow__mysql-171-mysql.pcap', 390, 390, 0, 127090, 5355],
  ];
  for (const [name, req, resp, errs, sum, max] of perf) {
    const { tx } = await decode(join(L7, name));
    const answered = tx.filter((r) => r['response_ts'] !== null);
    const rrt = answered.map((r) => Math.round(Number(r['cmd'] === 'login' ? r['duration_ms'] : r['latency_ms']) * 1000));
    assert.deepEqual(
      [tx.length, answered.length, tx.filter((r) => r['failed']).length, rrt.reduce((a, b) => a + b, 0), Math.max(...rrt)],
      [req, resp, errs, sum, max],
      name,
    );
  }
});

interface DfLine {
  msg_type: string;
  request_type: number;
  request_resource?: string;
  response_status: string;
  response_code: number;
  response_execption?: string;
  sql_affected_rows?: number;
  statement_id: number;
  captured_request_byte: number;
}

test("DeepFlow's .result, packet by packet: requests and the first packet of each reply", async (t) => {
  const tally: Tally = {};
  const add = (f: string, same: boolean): void => {
    const c = (tally[f] ??= [0, 0]);
    c[same ? 0 : 1]++;
  };
  for (const path of MYSQL_CAPTURES) {
    const name = path.split('/').pop()!;
    const file = `${path}.expected.deepflow-mysql.result`;
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l.replace(/ is_mysql: (true|false)$/, '')) as DfLine);
    // the payload packets in capture order, each with its connection and the records of that connection
    const scripts = await recordStreams(path, MYSQL, {}, decodePorts(path));
    const packets = scripts.flatMap((s, i) => s.calls.flatMap((c) => (c.op === 'data' ? [{ script: i, side: c.side, t: c.sec * 1e9 + c.nsec, len: c.bytes.length }] : [])));
    packets.sort((a, b) => a.t - b.t);
    assert.equal(packets.length, lines.length, `${name}: one .result line per payload packet`);
    const ts = (r: RecordValues, f: string): number => {
      const [s, n] = String(r[f]).split('.');
      return Number(s) * 1e9 + Number(n);
    };
    lines.forEach((l, i) => {
      const p = packets[i]!;
      const recs = scripts[p.script]!.records;
      if (l.msg_type === 'Request' || l.msg_type === 'Session') {
        const r = recs.find((x) => ts(x, 'ts') === p.t);
        assert.ok(r !== undefined, `${name} line ${i + 1}: a record starting in this packet`);
        const login = (l.request_resource ?? '').startsWith('Login username: ');
        if (login) {
          add('login', r['cmd'] === 'login' && l.request_resource === `Login username: ${r['user']}${r['database'] !== null ? ` db: ${r['database']}` : ''}`);
        } else {
          add('request_type', l.request_type === r['command_code']);
          if (l.request_resource !== undefined && l.request_type !== 23) add('request_resource', l.request_resource === r['arg'] || l.request_resource.replace(/\uFFFD/g, '') === String(r['arg']).replace(/[\x80-\xff]/g, ''));
          if (l.request_type === 23) add('statement_id (execute)', l.statement_id === r['statement_id']);
        }
        // DeepFlow counts the packet's payload; tcpkit the command's packets (on a compressed connection after inflating;
        // for a login, the authentication exchange that follows the handshake response too)
        if (!COMPRESSED.has(name) && r['cmd'] !== 'login') add('captured_request_byte', l.captured_request_byte === r['request_bytes']);
        return;
      }
      if (l.msg_type !== 'Response') return;
      const r = recs.find((x) => x['response_ts'] !== null && ts(x, 'response_ts') === p.t);
      if (r === undefined) return; // a later packet of a reply (DeepFlow writes one line per packet)
      add('response_status', (l.response_status === 'server_error') === (r['success'] === false));
      if (l.response_execption !== undefined) add('error message', l.response_execption === r['response']);
      // DeepFlow's harness keeps affected rows only after a COM_QUERY, its last command in packet order across the
      // capture's connections: in mysql-statement a COM_STMT_PREPARE_OK (read as an OK packet, the statement id 98 as
      // affected rows) follows another connection's COM_QUERY (documented)
      if (l.sql_affected_rows !== undefined && r['cmd'] !== 'stmt_prepare') add('sql_affected_rows', l.sql_affected_rows === r['rows']);
      if (r['cmd'] === 'stmt_prepare') add('statement_id (prepare)', l.statement_id === r['statement_id']);
    });
  }
  t.diagnostic(`values compared (equal, different): ${JSON.stringify(tally)}`);
  const bad = Object.entries(tally).filter(([, [, n]]) => n > 0);
  assert.deepEqual(bad, [], `fields with differences: ${JSON.stringify(tally)}`);
  for (const f of ['login', 'request_type', 'request_resource', 'response_status', 'error message', 'sql_affected_rows', 'statement_id (prepare)', 'statement_id (execute)', 'captured_request_byte']) {
    assert.ok((tally[f]?.[0] ?? 0) > 0, `${f} compared`);
  }
});

// ---- pt-query-digest

interface PtClass {
  fingerprint: string;
  count: number;
  query_time_us: number;
  rows_affected: number | null;
}

test("pt-query-digest's classes: per fingerprint, the count and total time of the answered commands", async (t) => {
  let classes = 0, queries = 0;
  for (const path of MYSQL_CAPTURES) {
    const name = path.split('/').pop()!;
    const pt = JSON.parse(readFileSync(join(L7, '..', 'oracles', `${name}.pt-query-digest.json`), 'utf8')) as { session_errors: number; classes: PtClass[] };
    const { tx } = await decode(path);
    // pt reports commands that have a reply (quit, stmt_close and unanswered commands have no Query_time)
    const ours = new Map<string, { count: number; us: number }>();
    for (const r of tx) {
      // a quit has no reply: pt lists it (time 0) in some captures and not in others
      if (r['response_ts'] === null && (r['cmd'] !== 'quit' || !pt.classes.some((c) => c.fingerprint === 'administrator command: Quit'))) continue;
      const g = ours.get(String(r['fingerprint'])) ?? { count: 0, us: 0 };
      g.count++;
      g.us += r['latency_ms'] === null ? 0 : Math.round(Number(r['latency_ms']) * 1000);
      ours.set(String(r['fingerprint']), g);
    }
    for (const c of pt.classes) {
      // pt 3.2.1 does not know CLIENT_QUERY_ATTRIBUTES (MySQL 8.0.23+): the "00 01" before the statement stays in its text
      const fp = c.fingerprint.replace(/^\u0000\u0001/, '');
      const o = ours.get(fp);
      assert.ok(o !== undefined, `${name}: pt's class ${JSON.stringify(fp)}`);
      assert.equal(o.count, c.count, `${name}: ${fp}`);
      // pt times a Connect from the connection's SYN to the server's OK; tcpkit's login from the handshake response
      if (fp !== 'administrator command: Connect') assert.equal(o.us, c.query_time_us, `${name}: ${fp} total time`);
      ours.delete(fp);
      classes++;
      queries += c.count;
    }
    // pt 3.2.1 gives up on a session at an auth switch request (mysql.pcap) and at an SSLRequest (encrypted): no Connect
    if (pt.session_errors > 0) ours.delete('administrator command: Connect');
    assert.deepEqual([...ours.keys()], [], `${name}: fingerprints pt-query-digest does not have`);
  }
  t.diagnostic(`${classes} classes, ${queries} commands equal in count and total time`);
  assert.ok(classes >= 80);
});
