/**
 * postgresql records against the oracles stored beside the fixtures
 * (docs/l7.md, "PostgreSQL", lists every difference):
 * - Zeek's postgresql.log baselines of its eight traces, row by row and
 *   field by field: user, database, application_name, frontend,
 *   frontend_arg, backend, backend_arg, success, rows; and conn.log's
 *   service.
 * - tshark 4.0's PostgreSQL dissector (`<capture>.tshark.tsv`), exchange
 *   by exchange: the statement of each Query and Parse, the statement
 *   names, and over each reply's frames the CommandComplete tags, DataRow
 *   and CommandComplete counts, the ErrorResponse's severity, code and
 *   message.
 * - DeepFlow: its three single-exchange tests (request and response
 *   types, statement, affected rows, error code, captured sizes, rrt) and
 *   the pgsql-all .result, packet by packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { POSTGRESQL } from '../src/protocols/postgresql.js';
import type { RecordValues } from '../src/records/schema.js';
import { L7, decodeCapture, parseZeekLog, readTsharkTsv, recordStreams } from './_l7-helpers.js';
import { POSTGRESQL_CAPTURES, decodePorts } from './_sql-helpers.js';

const cache = new Map<string, { tx: RecordValues[]; conns: RecordValues[] }>();
async function decode(path: string): Promise<{ tx: RecordValues[]; conns: RecordValues[] }> {
  let r = cache.get(path);
  if (r === undefined) {
    const d = await decodeCapture(path, [POSTGRESQL], decodePorts(path));
    r = { tx: d.transactions, conns: d.conns };
    cache.set(path, r);
  }
  return r;
}

/** Our value as Zeek's ASCII writer prints it (non-printable characters as \xNN, unset as null). */
function zeekForm(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  return String(v).replace(/[\x00-\x1f\x7f-\xff\\]/g, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

interface Tally {
  [field: string]: [number, number];
}

const ZEEK_FIELDS = ['user', 'database', 'application_name', 'frontend', 'frontend_arg', 'backend', 'backend_arg', 'success', 'rows'];

test("Zeek's postgresql.log baselines: every row and field of its eight traces equal", async (t) => {
  const tally: Tally = {};
  let rows = 0;
  const logs = readdirSync(L7).filter((n) => /^zeek__postgresql-.*\.expected\..*\.postgresql\.(cut|log)$/.test(n));
  assert.equal(logs.length, 8);
  for (const log of logs) {
    const capture = log.slice(0, log.indexOf('.pcap') + 5);
    const zeek = parseZeekLog(join(L7, log));
    const { tx } = await decode(join(L7, capture));
    // rows per connection, in Zeek's order of writing (ours: the order of the exchanges)
    const byConn = (p: string | number): RecordValues[] => tx.filter((r) => r['orig_p'] === Number(p));
    const seen = new Map<string, number>();
    for (const z of zeek) {
      const port = z['id.orig_p']!;
      const i = seen.get(port) ?? 0;
      seen.set(port, i + 1);
      const o = byConn(port)[i];
      assert.ok(o !== undefined, `${capture}: a record for Zeek's row ${i} of port ${port}`);
      rows++;
      for (const f of ZEEK_FIELDS) {
        const same = zeekForm(o[f]) === z[f];
        const c = (tally[f] ??= [0, 0]);
        c[same ? 0 : 1]++;
        assert.ok(same, `${capture} port ${port} row ${i} ${f}: Zeek ${z[f]}, tcpkit ${zeekForm(o[f])}`);
      }
    }
    for (const [port, n] of seen) assert.equal(byConn(port).length, n, `${capture} port ${port}: as many records as Zeek rows`);
  }
  t.diagnostic(`${rows} rows; values equal per field: ${JSON.stringify(tally)}`);
  assert.equal(rows, 116);
});

test("Zeek's conn.log service: postgresql, and postgresql,ssl where Zeek read the TLS after an SSLRequest (tcpkit stops there: documented)", async () => {
  for (const n of readdirSync(L7).filter((x) => /^zeek__postgresql-.*\.expected\..*\.conn\.(cut|log)$/.test(x))) {
    const capture = n.slice(0, n.indexOf('.pcap') + 5);
    const zeek = parseZeekLog(join(L7, n));
    const { conns } = await decode(join(L7, capture));
    for (const z of zeek) {
      const c = conns.find((x) => x['orig_p'] === Number(z['id.orig_p']));
      assert.ok(c !== undefined, `${capture}: conn ${z['id.orig_p']}`);
      assert.equal(c['service'], z['service'] === 'postgresql,ssl' ? 'postgresql' : z['service'], capture);
    }
  }
});

// ---- tshark

/** Bytes that are not valid UTF-8 (pgsql-all's GBK comments): tshark shows U+FFFD, tcpkit one Latin-1 character per byte (documented). */
const nonUtf8 = (s: string): string => s.replace(/[^\x00-\x7f]+/g, '~');
const tsharkText = (s: string): string => s.replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
const values = (v: string | undefined): string[] => (v === undefined || v === '' ? [] : v.split('|'));
const ns = (t: string): number => {
  const [s, n] = t.split('.');
  return Number(s) * 1e9 + Number(n);
};

test("tshark's PostgreSQL dissector, exchange by exchange, on every PostgreSQL fixture", async (t) => {
  const tally: Tally = {};
  const add = (f: string, same: boolean): void => {
    const c = (tally[f] ??= [0, 0]);
    c[same ? 0 : 1]++;
  };
  for (const path of POSTGRESQL_CAPTURES) {
    const name = path.split('/').pop()!;
    const frames = readTsharkTsv(`${path}.tshark.tsv`);
    const { tx } = await decode(path);
    for (const r of tx) {
      const ports = [r['orig_p'], r['resp_p']];
      // tshark dates a message that spans segments by the frame that completed it, tcpkit by its first byte
      // (pgsql-all's 3.7 KB Parse: frame 35 for tshark, frame 33 for tcpkit): the first frontend frame from then on
      const req = frames.find((f) => ns(f['frame.time_epoch']!) >= ns(String(r['ts'])) && ports.includes(Number(f['tcp.srcport'])) && f['pgsql.frontend']!.startsWith('1'));
      if (req !== undefined && req['frame.time_epoch'] !== r['ts']) add('request dated by its last segment (tshark)', true);
      if (req === undefined) {
        assert.ok(['terminate'].includes(String(r['frontend'])) || r['frontend'] === 'startup', `${name}: a frontend frame for ${r['frontend']} at ${r['ts']}`);
        continue;
      }
      const types = values(req['pgsql.type']);
      const queries = values(req['pgsql.query']);
      if (r['frontend'] === 'simple_query') add('query (Q)', queries.length === 1 && queries[0] === tsharkText(String(r['frontend_arg'])));
      if (r['frontend'] === 'extended_query' && types[0] === 'Parse' && Number(r['executes']) <= 1) add('query (P)', nonUtf8(queries[0]!) === nonUtf8(tsharkText(String(r['frontend_arg']))));
      const stmts = values(req['pgsql.statement']);
      if (r['frontend'] === 'extended_query' && stmts.length > 0) add('statement', stmts[0] === r['statement']);
      if (r['response_ts'] === null) continue;
      // the reply's frames: from its first byte to its last, from the other port
      const clientPort = Number(req['tcp.srcport']);
      const reply = frames.filter((f) => ns(f['frame.time_epoch']!) >= ns(String(r['response_ts'])) && ns(f['frame.time_epoch']!) <= ns(String(r['response_end_ts'])) && ports.includes(Number(f['tcp.srcport'])) && Number(f['tcp.srcport']) !== clientPort);
      const rtypes = reply.flatMap((f) => values(f['pgsql.type']));
      const tags = reply.flatMap((f) => values(f['pgsql.tag']));
      if (tags.length > 0) add('tag', tags[tags.length - 1] === r['tag']);
      add('Command completion count', rtypes.filter((x) => x === 'Command completion').length === (r['commands'] ?? 0));
      if (r['rows'] !== null) add('Data row count', rtypes.filter((x) => x === 'Data row').length === r['rows']);
      const codes = reply.flatMap((f) => values(f['pgsql.code']));
      const sev = reply.flatMap((f) => values(f['pgsql.severity']));
      const msg = reply.flatMap((f) => values(f['pgsql.message']));
      if (rtypes.includes('Error')) {
        // a NoticeResponse's fields come first in tshark's lists: the ErrorResponse's are the last
        add('code', codes[codes.length - 1] === r['sql_state']);
        add('severity', sev[sev.length - 1] === r['error_severity']);
        add('message', msg[msg.length - 1] === r['error_message']);
      } else add('no error', r['sql_state'] === null);
      const fc = reply.flatMap((f) => values(f['pgsql.field.count']));
      // DataRows have a field count too: the RowDescription's comes first where there is one
      if (rtypes.includes('Row description') && rtypes.indexOf('Row description') < Math.max(0, rtypes.indexOf('Data row'))) add('field.count', Number(fc[0]) === r['columns']);
      else if (rtypes[0] === 'Row description' || (rtypes.includes('Row description') && !rtypes.includes('Data row'))) add('field.count', Number(fc[0]) === r['columns']);
    }
  }
  t.diagnostic(`values compared (equal, different): ${JSON.stringify(tally)}`);
  const bad = Object.entries(tally).filter(([, [, n]]) => n > 0);
  assert.deepEqual(bad, [], JSON.stringify(tally));
  for (const f of ['query (Q)', 'query (P)', 'statement', 'tag', 'Data row count', 'code', 'field.count']) assert.ok((tally[f]?.[0] ?? 0) > 0, `${f} compared`);
});

// ---- DeepFlow

test("DeepFlow's PostgreSQL tests: simple query, prepared statement, error", async () => {
  const cases: [string, Record<string, unknown>, number][] = [
    // capture, fields DeepFlow asserts (in our names), rrt µs
    ['deepflow__postgre-simple_query.pcap', { frontend: 'simple_query', frontend_arg: 'delete  from test;', tag_rows: 1, tag: 'DELETE 1', request_bytes: 24, response_bytes: 20, failed: false }, 2224],
    ['deepflow__postgre-prepare_stat.pcap', { frontend: 'extended_query', frontend_arg: 'delete from test where id=$1 returning id', tag_rows: 0, request_bytes: 64, response_bytes: 25, failed: false }, 477],
    // DeepFlow's error_message is its name of the SQLSTATE (syntax_error); ours is the server's message
    ['deepflow__postgre-error.pcap', { frontend: 'simple_query', frontend_arg: 'asdsdfdsf;', sql_state: '42601', request_bytes: 16, response_bytes: 98, failed: true }, 103],
  ];
  for (const [name, want, rrt] of cases) {
    const { tx } = await decode(join(L7, name));
    assert.equal(tx.length, 1, name);
    const r = tx[0]!;
    for (const [k, v] of Object.entries(want)) assert.equal(r[k], v, `${name} ${k}`);
    assert.equal(Math.round(Number(r['latency_ms']) * 1000), rrt, `${name} rrt`);
  }
});

interface DfLine {
  msg_type: string;
  request_type?: string;
  request_resource?: string;
  status: string;
  sql_affected_rows?: number;
  captured_request_byte: number;
  captured_response_byte: number;
}

test("DeepFlow's pgsql-all .result, packet by packet", async (t) => {
  const path = join(L7, 'deepflow__postgre-pgsql-all.pcap');
  const lines = readFileSync(`${path}.expected.deepflow-postgre.result`, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l.replace(/ is_pgsql: (true|false)$/, '')) as DfLine);
  const scripts = await recordStreams(path, POSTGRESQL, {}, decodePorts(path));
  const packets = scripts.flatMap((s, i) => s.calls.flatMap((c) => (c.op === 'data' ? [{ script: i, t: c.sec * 1e9 + c.nsec, len: c.bytes.length }] : [])));
  packets.sort((a, b) => a.t - b.t);
  assert.equal(packets.length, lines.length);
  const tally: Tally = {};
  const add = (f: string, same: boolean): void => {
    const c = (tally[f] ??= [0, 0]);
    c[same ? 0 : 1]++;
  };
  lines.forEach((l, i) => {
    const p = packets[i]!;
    const recs = scripts[p.script]!.records;
    if (l.msg_type === 'Request') {
      const r = recs.find((x) => ns(String(x['ts'])) === p.t);
      assert.ok(r !== undefined, `line ${i + 1}`);
      add('request_type', (l.request_type === 'P') === (r['frontend_arg'] !== null && r['statement'] === ''));
      if (l.request_resource !== undefined) add('request_resource', l.request_resource === r['frontend_arg']);
      add('captured_request_byte', l.captured_request_byte === r['request_bytes']);
    } else if (l.msg_type === 'Response') {
      const r = recs.find((x) => x['response_ts'] !== null && ns(String(x['response_ts'])) === p.t);
      assert.ok(r !== undefined, `line ${i + 1}`);
      add('status', (l.status === 'ok') === !r['failed']);
      if (l.sql_affected_rows !== undefined) add('sql_affected_rows', l.sql_affected_rows === r['tag_rows']);
      if (r['response_ts'] === r['response_end_ts']) add('captured_response_byte', l.captured_response_byte === r['response_bytes']);
    }
  });
  t.diagnostic(`values compared (equal, different): ${JSON.stringify(tally)}`);
  const bad = Object.entries(tally).filter(([, [, n]]) => n > 0);
  assert.deepEqual(bad, [], JSON.stringify(tally));
  assert.ok(existsSync(path));
});
