/**
 * DNS records against the oracles stored beside the fixtures:
 * - Zeek's dns.log baselines, field by field where both have the field,
 *   rows matched by flow and trans_id. Every difference must be one of the
 *   documented ones (docs/l7.md, "DNS: differences from Zeek"), and each
 *   documented kind must still occur, so the test fails when either side
 *   changes. The edns-rcode and huge-ttl baselines (printed by their
 *   recipes' event handlers) are checked too.
 * - tshark 4.0's DNS dissector (fixtures/pcaps/oracles/*.tshark-dns.tsv,
 *   scripts/make-dns-oracles.sh), message by message: every query and every
 *   response tshark sees is in exactly one record (a repeated query as a
 *   retransmit of the first), with its ID, name, type and class, flags,
 *   header rcode (and EDNS extension), counts, answers and TTLs; times
 *   equal over UDP; latency equal to dns.time but where the documented
 *   differences say.
 * - DeepFlow's expectations: request and response counts, errors, rrt sums
 *   and maxima from its tests (.tests.rs), and per response its ID, name,
 *   type, rcode, rrt and size (.result).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DNS } from '../src/protocols/dns.js';
import type { RecordValues } from '../src/records/schema.js';
import { FIX, ORACLES } from './_fixtures.js';
import { L7, decodeCapture, parseZeekLog } from './_l7-helpers.js';
import { readDeepflowResult, readTsharkDns, type TsharkMsg } from './_dns-oracles.js';

function capturePath(name: string): string {
  return existsSync(join(L7, name)) ? join(L7, name) : join(FIX, name);
}

const decoded = new Map<string, RecordValues[]>();
async function records(capture: string): Promise<RecordValues[]> {
  let r = decoded.get(capture);
  if (r === undefined) {
    r = (await decodeCapture(capturePath(capture), [DNS])).transactions;
    decoded.set(capture, r);
  }
  return r;
}

// ---- Zeek

interface Tally {
  [field: string]: [number, number];
}

function count(t: Tally, f: string, same: boolean): void {
  const c = (t[f] ??= [0, 0]);
  c[same ? 0 : 1]++;
}


const ZEEK_FIELDS = ['proto', 'trans_id', 'rtt', 'query', 'qclass', 'qclass_name', 'qtype', 'qtype_name', 'rcode', 'rcode_name', 'AA', 'TC', 'RD', 'RA', 'Z', 'answers', 'TTLs', 'rejected', 'opcode', 'opcode_name'];
const ID_FIELDS: [string, string][] = [['id.orig_h', 'orig_h'], ['id.orig_p', 'orig_p'], ['id.resp_h', 'resp_h'], ['id.resp_p', 'resp_p']];
/** Types Zeek parses but logs no answer for (no do_reply in main.zeek): tcpkit writes "<unknown type=N>". */
const ZEEK_UNLOGGED_TYPES = /^<unknown type=(13|41|64|65|249|250|257)>$/;

/** Our value in Zeek's ASCII form (null for unset). */
function zeekForm(f: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (f === 'rtt') return Number(v).toFixed(6);
  if (f === 'TTLs') return (v as number[]).map((x) => x.toFixed(6)).join(',');
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** Why a field may differ from Zeek's (docs/l7.md); the rule's name or null. */
function explain(capture: string, f: string, z: Record<string, string | null>, o: RecordValues): string | null {
  // Zeek sets rtt, AA and RA only while logging an answer record: not for NXDOMAIN, an empty NOERROR, or answers it does not log
  if (f === 'rtt' && z['rtt'] === null && o['rtt'] !== null && z['answers'] === null && o['state'] === 'complete') return 'rtt-without-logged-answers';
  if ((f === 'AA' || f === 'RA') && z[f] === 'F' && o[f] === true && z['answers'] === null) return 'aa-ra-without-logged-answers';
  // TKEY (and HINFO, CAA, SVCB, HTTPS ...): Zeek raises its own event and logs no answer; tcpkit writes the type
  if ((f === 'answers' || f === 'TTLs') && z[f] === null && Array.isArray(o['answers']) && (o['answers'] as string[]).every((a) => ZEEK_UNLOGGED_TYPES.test(a))) return 'unlogged-answer-types';
  // the query's IP checksum is 0 (offload): Zeek, run without -C, drops it; tcpkit checks no checksum
  if (capture === 'zeek__dns-txt-multiple.pcap' && ['rtt', 'qclass', 'qclass_name', 'qtype', 'qtype_name', 'RD'].includes(f) && z[f] === (f === 'RD' ? 'F' : null)) return 'query-with-bad-checksum';
  // a response without a query: tcpkit takes the question and RD, Z from the response; Zeek leaves them unset or default
  if (o['state'] === 'orphan' && ['qclass', 'qclass_name', 'qtype', 'qtype_name'].includes(f) && z[f] === null) return 'orphan-question';
  if (o['state'] === 'orphan' && ((f === 'RD' && z[f] === 'F') || (f === 'Z' && z[f] === '0'))) return 'orphan-question';
  // a response from 53 to 53 seen first: Zeek makes its sender the responder; the conn record keeps the first sender as originator
  if (capture === 'zeek__dns53.pcap' && f.startsWith('id.')) return 'flipped-roles';
  return null;
}

test('DNS records equal Zeek dns.log field by field, but for the documented differences', async (t) => {
  const logs = readdirSync(L7).filter((n) => n.includes('.dns.log'));
  assert.equal(logs.length, 6, logs.join(' '));
  const seen = new Map<string, number>();
  const unexplained: string[] = [];
  let compared = 0, equal = 0;
  const perField: Tally = {};
  for (const log of logs) {
    const capture = log.replace(/\.expected\..*/, '');
    const zeek = parseZeekLog(join(L7, log));
    const ours = [...(await records(capture))];
    for (const z of zeek) {
      const ports = [Number(z['id.orig_p']), Number(z['id.resp_p'])].sort().join('/');
      const i = ours.findIndex((o) => o['trans_id'] === Number(z['trans_id']) && [o['orig_p'], o['resp_p']].map(Number).sort().join('/') === ports);
      if (i < 0) {
        // the retransmitted copy of a query: Zeek logs it as its own query, unanswered; tcpkit counts it on the first
        const first = (await records(capture)).find((o) => o['trans_id'] === Number(z['trans_id']) && Number(o['query_retransmits']) > 0);
        if (first !== undefined && z['rtt'] === null && z['rcode'] === null) seen.set('retransmitted-query-row', (seen.get('retransmitted-query-row') ?? 0) + 1);
        else unexplained.push(`${capture} ${String(z['trans_id'])}: no record`);
        continue;
      }
      const o = ours.splice(i, 1)[0]!;
      const pairs: [string, string | null, string | null][] = [
        ...ZEEK_FIELDS.map((f): [string, string | null, string | null] => [f, z[f] ?? null, zeekForm(f, o[f])]),
        ...ID_FIELDS.map(([zf, of]): [string, string | null, string | null] => [zf, z[zf] ?? null, zeekForm(zf, o[of])]),
      ];
      for (const [f, zv, ov] of pairs) {
        compared++;
        count(perField, f, zv === ov);
        if (zv === ov) {
          equal++;
          continue;
        }
        const why = explain(capture, f, z, o);
        if (why === null) unexplained.push(`${capture} ${String(z['trans_id'])} ${f}: zeek ${JSON.stringify(zv)} tcpkit ${JSON.stringify(ov)}`);
        else seen.set(why, (seen.get(why) ?? 0) + 1);
      }
    }
    for (const o of ours) unexplained.push(`${capture} ${String(o['trans_id'])}: a record Zeek does not have (${String(o['state'])})`);
  }
  assert.deepEqual(unexplained, []);
  // every documented difference still happens (so the documentation stays true)
  assert.deepEqual(Object.fromEntries([...seen].sort()), {
    'aa-ra-without-logged-answers': 1,
    'flipped-roles': 2,
    'orphan-question': 9,
    'query-with-bad-checksum': 6,
    'retransmitted-query-row': 1,
    'rtt-without-logged-answers': 2,
    'unlogged-answer-types': 2,
  });
  t.diagnostic(`agreement with Zeek per field (same/different): ${JSON.stringify(perField)}`);
  // 6 baselines, 9 rows: 8 compared, 24 fields each, and the retransmitted copy
  assert.deepEqual([compared, equal], [192, 170]);
});

test('Zeek\'s edns-rcode baseline (extended rcode 16 printed by its recipe) is the rcode of the record; tshark\'s header rcode is 0', async () => {
  const expected = readFileSync(join(L7, 'zeek__dns-dns_extended_rcode.pcap.expected.zeek.scripts.base.protocols.dns.edns-rcode.output'), 'utf8').split('\n').filter((l) => /^\d+$/.test(l));
  const [r] = await records('zeek__dns-dns_extended_rcode.pcap');
  assert.deepEqual(expected, ['16']);
  assert.deepEqual([r!['rcode'], r!['rcode_name']], [16, 'BADVERS']);
});

test('Zeek\'s huge-ttl baseline: the TTLs as sent, 2^32 - 1 included', async () => {
  const text = readFileSync(join(L7, 'zeek__dns-huge-ttl.pcap.expected.zeek.scripts.base.protocols.dns.huge-ttl.stdout'), 'utf8');
  const unit: Record<string, number> = { days: 86400, hrs: 3600, mins: 60, secs: 1 };
  const ttls = [...text.matchAll(/TTL=([^\]]+)\]/g)].map((m) => [...m[1]!.matchAll(/([\d.]+) (days|hrs|mins|secs)/g)].reduce((s, x) => s + Number(x[1]) * unit[x[2]!]!, 0));
  const [r] = await records('zeek__dns-huge-ttl.pcap');
  assert.deepEqual(r!['TTLs'], ttls);
  assert.equal(ttls[0], 4294967295);
});

// ---- tshark

const TSHARK_CAPTURES = readdirSync(ORACLES).filter((n) => n.endsWith('.tshark-dns.tsv')).map((n) => n.replace(/\.tshark-dns\.tsv$/, ''));

const portsOf = (r: RecordValues): string => [Number(r['orig_p']), Number(r['resp_p'])].sort((a, b) => a - b).join('/');

test('every DNS message tshark 4.0 sees is in one record, with the same ID, question, flags, rcode, counts, answers and TTLs', async (t) => {
  assert.equal(TSHARK_CAPTURES.length, 17);
  const tally: Tally = {};
  const differ: string[] = [];
  const timing: string[] = [];
  for (const capture of TSHARK_CAPTURES) {
    const msgs = readTsharkDns(join(ORACLES, `${capture}.tshark-dns.tsv`));
    const recs = await records(capture);
    const used = new Set<RecordValues>();
    const retransmits = new Map<RecordValues, number>();
    const find = (m: TsharkMsg, pred: (r: RecordValues) => boolean): RecordValues | undefined =>
      recs.find((r) => !used.has(r) && r['trans_id'] === m.id && portsOf(r) === [m.srcPort, m.dstPort].sort((a, b) => a - b).join('/') && r['proto'] === (m.tcp ? 'tcp' : 'udp') && (m.qname === null || r['query'] === m.qname) && pred(r));
    for (const m of msgs) {
      const where = `${capture} frame ${m.frame} id ${m.id}`;
      if (!m.qr) {
        let r = find(m, (x) => x['query_bytes'] !== null && x['qtype'] === m.qtype);
        if (r === undefined) {
          // a copy of a query already taken: counted on it
          r = recs.find((x) => used.has(x) && x['trans_id'] === m.id && x['query'] === m.qname && Number(x['query_retransmits']) > 0);
          if (r === undefined) differ.push(`${where}: query without a record`);
          else retransmits.set(r, (retransmits.get(r) ?? 0) + 1);
          continue;
        }
        used.add(r);
        count(tally, 'query', true);
        count(tally, 'qclass', r['qclass'] === m.qclass);
        count(tally, 'RD', r['RD'] === m.rd);
        count(tally, 'Z', r['Z'] === m.z);
        count(tally, 'opcode', r['opcode'] === m.opcode);
        if (r['ts'] !== m.time) {
          // over TCP the record is stamped with the message's first byte, tshark with the segment that completed it
          if (m.tcp && String(r['ts']) < m.time) timing.push(`${where}: query ts ${String(r['ts'])} (first byte) < tshark ${m.time} (last segment)`);
          else differ.push(`${where}: query ts ${String(r['ts'])} vs ${m.time}`);
        }
        continue;
      }
      // a response: the record that has it (its query's, or its own)
      const r = recs.find((x) => x['response_ts'] === m.time && x['trans_id'] === m.id && portsOf(x) === [m.srcPort, m.dstPort].sort((a, b) => a - b).join('/') && (m.qname === null || x['query'] === m.qname) && !(x as { _resp?: boolean })._resp);
      if (r === undefined) {
        differ.push(`${where}: response without a record`);
        continue;
      }
      (r as { _resp?: boolean })._resp = true;
      used.add(r);
      count(tally, 'response', true);
      const rc = m.extRcode !== null ? (m.extRcode << 4) | m.rcode : m.rcode;
      const same = (f: string, ok: boolean): void => {
        count(tally, f, ok);
        if (!ok) differ.push(`${where}: ${f}`);
      };
      same('rcode', r['rcode'] === rc && (Number(r['rcode']) & 0xf) === m.rcode);
      same('AA', r['AA'] === m.aa);
      same('TC', r['TC'] === m.tc);
      same('RA', r['RA'] === m.ra);
      same('total_answers', r['total_answers'] === m.an);
      same('total_replies', r['total_replies'] === m.an + m.ns + m.ar);
      if (r['state'] === 'orphan') {
        same('orphan RD', r['RD'] === m.rd);
        same('orphan Z', r['Z'] === m.z);
        same('orphan qtype', r['qtype'] === m.qtype);
      }
      const ours = (r['answers'] as string[] | null) ?? [];
      const theirs = m.answers;
      if (theirs.some((a) => a === null)) count(tally, 'answers (not rebuilt from tshark)', true);
      else if (m.cut) {
        // the capture cut the message: the records both could read
        same('answers of a cut message', JSON.stringify(ours) === JSON.stringify(theirs.slice(0, ours.length)) && r['state'] !== 'complete');
        continue;
      } else same('answers', JSON.stringify(ours) === JSON.stringify(theirs));
      same('TTLs', JSON.stringify((r['TTLs'] as number[] | null) ?? []) === JSON.stringify(m.ttls));
      if (m.dnsTime !== null && r['latency_ms'] !== null) {
        const tsharkUs = Math.round(m.dnsTime * 1e6), oursUs = Math.round(Number(r['latency_ms']) * 1000);
        if (tsharkUs === oursUs) count(tally, 'latency = dns.time', true);
        else if (Number(r['query_retransmits']) > 0) {
          // tshark times the response from the last copy of the query, tcpkit from the first
          count(tally, 'latency = dns.time', false);
          timing.push(`${where}: latency ${oursUs} µs from the first copy, dns.time ${tsharkUs} µs from the last`);
        } else differ.push(`${where}: latency ${oursUs} µs vs dns.time ${tsharkUs} µs`);
      }
    }
    for (const [r, n] of retransmits) {
      count(tally, 'query_retransmits', r['query_retransmits'] === n);
      if (r['query_retransmits'] !== n) differ.push(`${capture} id ${String(r['trans_id'])}: ${n} copies, query_retransmits ${String(r['query_retransmits'])}`);
    }
    for (const r of recs) {
      delete (r as { _resp?: boolean })._resp;
      if (!used.has(r)) differ.push(`${capture} id ${String(r['trans_id'])}: a record with no message of tshark's (${String(r['state'])})`);
    }
  }
  t.diagnostic(`agreement with tshark per field (same/different): ${JSON.stringify(tally)}`);
  assert.deepEqual(differ, []);
  assert.deepEqual(timing, [
    'zeek__dns-tkey.pcap frame 7 id 52640: query ts 1676937749.533321000 (first byte) < tshark 1676937749.533770000 (last segment)',
    'zeek__ipv6-fragmented-dns.pcap frame 8 id 40849: latency 5084025 µs from the first copy, dns.time 83189 µs from the last',
  ]);
  // 39 queries (and 2 copies), 89 responses (54 of them without their query in the capture), every field the same
  assert.deepEqual([tally['query'], tally['query_retransmits'], tally['response'], tally['answers'], tally['orphan qtype']], [[39, 0], [2, 0], [89, 0], [89, 0], [54, 0]]);
});

// ---- DeepFlow

test('DeepFlow\'s perf assertions: request and response counts, NXDOMAIN as client errors, rrt sums and maxima (µs)', async () => {
  const perf = (rs: RecordValues[]) => {
    const answered = rs.filter((r) => r['latency_ms'] !== null);
    const us = answered.map((r) => Math.round(Number(r['latency_ms']) * 1000));
    return {
      request_count: rs.filter((r) => r['query_bytes'] !== null).length,
      response_count: rs.filter((r) => r['response_ts'] !== null).length,
      err_client_count: rs.filter((r) => r['rcode'] === 3).length,
      rrt_count: us.length,
      rrt_sum: us.reduce((a, b) => a + b, 0),
      rrt_max: Math.max(...us),
    };
  };
  assert.deepEqual(perf(await records('deepflow__dns-dns.pcap')), { request_count: 2, response_count: 2, err_client_count: 1, rrt_count: 2, rrt_sum: 181558, rrt_max: 176754 });
  const multi = await records('deepflow__dns-dns-tcp-multi.pcap');
  assert.deepEqual(perf(multi), { request_count: 2, response_count: 2, err_client_count: 0, rrt_count: 2, rrt_sum: 649, rrt_max: 355 });
  // per message, in response order: 294 µs and 355 µs
  assert.deepEqual([...multi].sort((a, b) => String(a['response_ts']).localeCompare(String(b['response_ts']))).map((r) => Math.round(Number(r['latency_ms']) * 1000)), [294, 355]);
  // the perf block's expected values, read from the file itself
  const rs = readFileSync(join(L7, 'deepflow__dns-dns-tcp-multi.pcap.expected.deepflow-dns.tests.rs'), 'utf8');
  assert.match(rs, /"dns\.pcap",\s*L7PerfStats \{\s*request_count: 2,\s*response_count: 2,\s*err_client_count: 1,[^}]*rrt_sum: 181558,\s*rrt_max: 176754/);
  assert.match(rs, /"dns-tcp-multi\.pcap",\s*L7PerfStats \{\s*request_count: 2,\s*response_count: 2,\s*err_client_count: 0,[^}]*rrt_sum: 649,\s*rrt_max: 355/);
});

test('DeepFlow\'s .result lines: each response\'s ID, name, type, rcode, rrt and size are the record\'s', async () => {
  const captures = readdirSync(L7).filter((n) => /^deepflow__dns-.*\.pcap$/.test(n));
  assert.equal(captures.length, 5);
  let n = 0;
  for (const c of captures) {
    const recs = await records(c);
    const lines = readDeepflowResult(join(L7, `${c}.expected.deepflow-dns.result`)).filter((l) => l.msg_type === 'Response');
    for (const l of lines) {
      const r = recs.find((x) => x['trans_id'] === l.request_id);
      assert.ok(r, `${c} ${l.request_id}`);
      const tcp = r!['proto'] === 'tcp';
      assert.deepEqual(
        [r!['query'], r!['qtype_name'], r!['rcode'], Math.round(Number(r!['latency_ms']) * 1000), Number(r!['response_bytes']) + (tcp ? 2 : 0)],
        [l.request_resource.toLowerCase(), l.request_type, l.response_code, l.rrt, l.captured_response_byte],
        `${c} ${l.request_id}`,
      );
      // the A and AAAA addresses DeepFlow lists (all sections) include the record's
      const listed = [...(l.response_result ?? '').matchAll(/(?:^|; )(?:A|AAAA)=([^ ]+) /g)].map((m) => m[1]);
      for (const a of (r!['answers'] as string[] | null) ?? []) if (/^[\d.:a-f]+$/.test(a)) assert.ok(listed.includes(a), `${c} ${l.request_id}: ${a} not in ${l.response_result}`);
      n++;
    }
  }
  assert.equal(n, 10);
});
