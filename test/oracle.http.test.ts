/**
 * HTTP records against the oracles stored beside the fixtures:
 * - Zeek's http.log baselines, field by field where both have the field,
 *   rows matched by originator port and trans_depth. Every difference must
 *   be one of the documented ones (docs/l7.md, "HTTP: differences from
 *   Zeek"), and each documented kind must still occur, so the test fails
 *   when either side changes.
 * - tshark 4.0's HTTP dissector (the .tshark.tsv dumps): per connection, the
 *   sequence of requests (method and target as sent) and of responses
 *   (status codes, 1xx included), with tshark's documented blind spots.
 * - DeepFlow's latency assertion (rrt of httpv1.pcap, microseconds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HTTP } from '../src/protocols/http.js';
import type { RecordValues } from '../src/records/schema.js';
import { FIX } from './_fixtures.js';
import { L7, decodeCapture, parseZeekLog, readTsharkTsv } from './_l7-helpers.js';

const ZEEK_FIELDS = ['trans_depth', 'method', 'host', 'uri', 'referrer', 'version', 'user_agent', 'origin', 'request_body_len', 'response_body_len', 'status_code', 'status_msg', 'info_code', 'info_msg', 'username'];

function capturePath(name: string): string {
  return existsSync(join(L7, name)) ? join(L7, name) : join(FIX, name);
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Why a field may differ from Zeek's (docs/l7.md); returns the rule's name or null. */
function explain(field: string, zeek: Record<string, string | null>, ours: RecordValues): string | null {
  // a malformed request line: Zeek logs the pair without the request's fields, tcpkit with what was sent
  if (ours['state'] === 'invalid' && ours['problem'] === 'bad request line' && zeek[field] === null && ['method', 'host', 'uri', 'user_agent', 'referrer'].includes(field)) return 'invalid-request-line';
  // a request line without a version, followed by headers: Zeek reads the answer as HTTP/0.9 bytes, tcpkit reads its status line
  if (ours['request_version'] === '0.9' && zeek['version'] === '0.9' && zeek['status_code'] === '0' && ['version', 'response_body_len', 'status_code', 'status_msg'].includes(field)) return 'versionless-request';
  // an answer without a status line: Zeek logs no response, tcpkit an HTTP/0.9 body
  if (zeek['version'] === null && ours['version'] === '0.9' && ['version', 'response_body_len'].includes(field)) return 'headerless-response';
  return null;
}

test('HTTP records equal Zeek http.log field by field, but for the documented differences', async () => {
  const logs = readdirSync(L7).filter((n) => n.includes('.http.log') && !n.endsWith('.cut'));
  assert.ok(logs.length >= 14, `only ${logs.length} baselines found`);
  const seen = new Map<string, number>();
  const unexplained: string[] = [];
  let compared = 0;
  for (const log of logs) {
    const capture = log.replace(/\.expected\..*/, '');
    const zeek = parseZeekLog(join(L7, log));
    const { transactions } = await decodeCapture(capturePath(capture), [HTTP], new Map([['http', [1234]]]));
    // zeek-cut baselines without the ports match by trans_depth (one connection each)
    const noPort = zeek.length > 0 && !('id.orig_p' in zeek[0]!);
    const key = (port: unknown, depth: unknown): string => `${noPort ? '*' : String(port)}/${String(depth)}`;
    const ours = new Map(transactions.map((r) => [key(r['orig_p'], r['trans_depth']), r]));
    for (const z of zeek) {
      const o = ours.get(key(z['id.orig_p'], z['trans_depth']));
      if (o === undefined) {
        unexplained.push(`${capture} ${key(z['id.orig_p'], z['trans_depth'])}: no record`);
        continue;
      }
      ours.delete(key(z['id.orig_p'], z['trans_depth']));
      for (const f of ZEEK_FIELDS) {
        if (!(f in z)) continue;
        compared++;
        if (str(o[f]) === z[f]) continue;
        const why = explain(f, z, o);
        if (why === null) unexplained.push(`${capture} ${key(z['id.orig_p'], z['trans_depth'])} ${f}: zeek ${JSON.stringify(z[f])} tcpkit ${JSON.stringify(o[f])}`);
        else seen.set(why, (seen.get(why) ?? 0) + 1);
      }
    }
    // records Zeek does not write: requests it could not parse (bad_HTTP_request weird)
    for (const o of ours.values()) {
      if ((o['state'] === 'invalid' && o['problem'] === 'bad request line') || (o['state'] === 'unanswered' && o['request_version'] === '0.9')) seen.set('unparsed-request-not-logged', (seen.get('unparsed-request-not-logged') ?? 0) + 1);
      else unexplained.push(`${capture} ${key(o['orig_p'], o['trans_depth'])}: a record Zeek does not have (${String(o['state'])})`);
    }
  }
  assert.deepEqual(unexplained, []);
  // every documented difference still happens (so the documentation stays true)
  assert.deepEqual([...seen.keys()].sort(), ['headerless-response', 'invalid-request-line', 'unparsed-request-not-logged', 'versionless-request']);
  assert.ok(compared >= 1088, `compared ${compared} values`);
});

test('the upgrade-to-tcp baseline (zeek-cut uid status_code method uri): the same pairs (Zeek writes the upgraded pair when its connection ends)', async () => {
  const { transactions } = await decodeCapture(join(L7, 'zeek__http-docker-http-upgrade.pcap'), [HTTP]);
  const lines = parseCut(join(L7, 'zeek__http-docker-http-upgrade.pcap.expected.zeek.scripts.base.protocols.http.upgrade-to-tcp.http.log.cut'));
  const sorted = (a: unknown[][]): string[] => a.map((x) => JSON.stringify(x)).sort();
  assert.deepEqual(
    sorted(transactions.map((r) => [String(r['status_code']), r['method'], r['uri']])),
    sorted(lines.map((l) => [l[1], l[2], l[3]])),
  );
  // the attach request switched the connection to a raw TCP stream (Zeek: "Connection upgraded to tcp")
  assert.deepEqual(transactions.filter((r) => r['upgrade'] !== null).map((r) => [r['status_code'], r['upgrade'], r['state']]), [[101, 'tcp', 'upgraded']]);
});

function parseCut(path: string): string[][] {
  return readFileSyncLines(path).filter((l) => !l.startsWith('#') && !l.startsWith('uid')).map((l) => l.split('\t'));
}

function readFileSyncLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}

/** tshark's requests and status codes per connection (keyed by the client's port). */
function tsharkSequences(tsv: string): Map<string, { req: string[]; resp: string[] }> {
  const m = new Map<string, { req: string[]; resp: string[] }>();
  const get = (k: string): { req: string[]; resp: string[] } => m.get(k) ?? m.set(k, { req: [], resp: [] }).get(k)!;
  for (const r of readTsharkTsv(tsv)) {
    const methods = r['http.request.method'] ? r['http.request.method'].split('|') : [];
    const uris = r['http.request.uri'] ? r['http.request.uri'].split('|') : [];
    methods.forEach((meth, i) => get(r['tcp.srcport']!).req.push(`${meth} ${uris[i] ?? ''}`));
    for (const c of r['http.response.code'] ? r['http.response.code'].split('|') : []) get(r['tcp.dstport']!).resp.push(c);
  }
  return m;
}

test('HTTP requests and status codes equal tshark 4.0 connection by connection, but for its documented blind spots', async () => {
  const captures = readdirSync(L7).filter((n) => /__http-.*\.pcap$/.test(n) && existsSync(join(L7, `${n}.tshark.tsv`)));
  assert.ok(captures.length >= 15);
  const differ: string[] = [];
  let same = 0;
  for (const c of captures) {
    const t = tsharkSequences(join(L7, `${c}.tshark.tsv`));
    const { transactions } = await decodeCapture(join(L7, c), [HTTP], new Map([['http', [1234, 9080, 20880]]]));
    const ours = new Map<string, { req: string[]; resp: string[] }>();
    for (const r of transactions) {
      const o = ours.get(String(r['orig_p'])) ?? ours.set(String(r['orig_p']), { req: [], resp: [] }).get(String(r['orig_p']))!;
      if (r['method'] !== null && r['state'] !== 'orphan') o.req.push(`${String(r['method'])} ${String(r['request_uri'] ?? '')}`);
      if (r['info_code'] !== null && r['info_code'] !== 101) o.resp.push(String(r['info_code']));
      if (r['status_code'] !== null) o.resp.push(String(r['status_code']));
    }
    for (const k of new Set([...t.keys(), ...ours.keys()])) {
      const a = JSON.stringify(t.get(k) ?? { req: [], resp: [] }), b = JSON.stringify(ours.get(k) ?? { req: [], resp: [] });
      if (a === b) same++;
      else differ.push(`${c} ${k}`);
    }
  }
  // tshark 4.0: no request for a malformed request line (and "HTTP/1.1" as the target of "OPTIONS  HTTP/1.1",
  // where Zeek and tcpkit see an empty target); no response for a lower-case status line; requests after a
  // bad request that the server closed on are not requests to it (docs/l7.md)
  const methods = differ.filter((d) => d.startsWith('zeek__http-methods.pcap'));
  assert.equal(methods.length, 23);
  assert.deepEqual(differ.filter((d) => !d.startsWith('zeek__http-methods.pcap')), ['zeek__http-http-11-request-then-cruft.pcap 51792', 'zeek__http-http-lower-case-nonstandard-port.pcap 49742']);
  assert.ok(same >= 42, `${same} connections agree`);
});

test('latency equals DeepFlow\'s rrt on its httpv1 capture (84051 µs), and tshark\'s http.time where the request is one packet', async () => {
  const { transactions } = await decodeCapture(join(L7, 'deepflow__http-httpv1.pcap'), [HTTP]);
  assert.equal(transactions.length, 1);
  assert.equal(transactions[0]!['latency_ms'], 84.051);
  const tsv = readTsharkTsv(join(L7, 'deepflow__http-httpv1.pcap.tshark.tsv')).find((r) => r['http.time']);
  assert.equal(Number(tsv!['http.time']) * 1000, 84.051);
});
