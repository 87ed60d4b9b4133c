/**
 * Redis records against the oracles stored beside the fixtures:
 * - Zeek's redis.log baselines (12 logs), field by field where both have
 *   the field (cmd.name, cmd.key, cmd.value, success, reply.value and the
 *   connection's addresses and ports), rows matched by connection and
 *   order. Every difference must be one of the documented kinds (docs/l7.md,
 *   "Redis: differences from Zeek"), and each kind must still occur. The
 *   printed outputs of the set, auth, bulk and pubsub-resp3 recipes are
 *   checked too (the SET keys and values, AUTH's replies, RESP3 pushes).
 * - tshark 4.0's `resp` dissector (the stored .tshark.tsv dumps): every
 *   request frame's commands (array lengths and first words) and every
 *   error reply are the records', in order, on the connections tshark
 *   parses (it cannot read inline commands nor RESP3 types).
 * - tcpdump's RESP printer (resp_1.out of its benchmark capture): each
 *   packet's words and length are a record's command or reply.
 * - DeepFlow's expectations: request, response and error counts, rrt sums
 *   and maxima (.tests.rs), and per request its command line (.result).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REDIS } from '../src/protocols/redis.js';
import type { RecordValues } from '../src/records/schema.js';
import { FIX } from './_fixtures.js';
import { L7, decodeCapture, parseZeekLog, readTsharkTsv } from './_l7-helpers.js';

function capturePath(name: string): string {
  return existsSync(join(L7, name)) ? join(L7, name) : join(FIX, name);
}

/** Non-standard ports the stored tshark commands decode as resp. */
function ports(capture: string): Map<string, number[]> | undefined {
  const cmd = join(L7, `${capture}.tshark.cmd`);
  if (!existsSync(cmd)) return undefined;
  const p = [...readFileSync(cmd, 'utf8').matchAll(/-d tcp\.port==(\d+),resp/g)].map((m) => Number(m[1]));
  return p.length > 0 ? new Map([['redis', p]]) : undefined;
}

const decoded = new Map<string, RecordValues[]>();
async function records(capture: string): Promise<RecordValues[]> {
  let r = decoded.get(capture);
  if (r === undefined) {
    r = (await decodeCapture(capturePath(capture), [REDIS], ports(capture))).transactions;
    decoded.set(capture, r);
  }
  return r;
}

/** Commands of a connection (records that are not orphan replies or pushed messages), by originator port, in command order. */
function commandsByPort(rs: RecordValues[]): Map<number, RecordValues[]> {
  const m = new Map<number, RecordValues[]>();
  for (const r of rs) {
    if (r['trans_depth'] === null) continue;
    const list = m.get(r['orig_p'] as number) ?? [];
    list.push(r);
    m.set(r['orig_p'] as number, list);
  }
  for (const l of m.values()) l.sort((a, b) => (a['trans_depth'] as number) - (b['trans_depth'] as number));
  return m;
}

// ---- Zeek

/** Zeek's ASCII log escapes: \\ is a backslash, \xNN a byte. */
function zeekUnescape(s: string | null): string | null {
  if (s === null) return null;
  return s.replace(/\\(\\|x[0-9a-fA-F]{2})/g, (_, e: string) => (e === '\\' ? '\\' : String.fromCharCode(parseInt(e.slice(1), 16))));
}

/** Our value in Zeek's form (after zeekUnescape of Zeek's). */
function zeekForm(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  return String(v);
}

/** An inline word as Zeek keeps it (quotes and backslashes as sent) read as Redis reads it. */
function redisUnquote(z: string): string {
  const q = z[0]!;
  let s = z.slice(1);
  if (s.endsWith(q)) s = s.slice(0, -1);
  return s.replace(q === '"' ? /\\(.)/g : /\\(')/g, '$1');
}

const ZEEK_FIELDS: [string, string][] = [
  ['id.orig_h', 'orig_h'], ['id.orig_p', 'orig_p'], ['id.resp_h', 'resp_h'], ['id.resp_p', 'resp_p'],
  ['cmd.name', 'cmd_name'], ['cmd.key', 'cmd_key'], ['cmd.value', 'cmd_value'], ['success', 'cmd_success'], ['reply.value', 'reply_value'],
];

/** Why a field may differ from Zeek's (docs/l7.md); the rule's name or null. */
function explain(capture: string, zf: string, z: string | null, o: RecordValues): string | null {
  // the baseline was made with redef Redis::max_pending_commands = 5: past it Zeek drops its state and loses the commands' names
  if (capture === 'zeek__redis-excessive-pipelining.pcap' && zf === 'cmd.name' && z === null && o['cmd_name'] === 'PING') return 'zeek-max-pending-5';
  // Zeek keeps an inline word's quotes and backslashes; Redis (and tcpkit) unquote it
  if (zf === 'cmd.value' && o['inline'] === true && z !== null && (z[0] === '"' || z[0] === "'") && redisUnquote(z) === o['cmd_value']) return 'inline-unquoted';
  // Zeek logs SUBSCRIBE and PSUBSCRIBE without a reply (subscribed mode: all that comes is a push); tcpkit pairs their confirmations
  if ((zf === 'success' || zf === 'reply.value') && z === null && /SUBSCRIBE$/.test(String(o['cmd_name'])) && o['replies'] !== 0) return 'subscribe-confirmation';
  return null;
}

const zeekLogs = readdirSync(L7).filter((n) => /\.expected\.zeek\..*redis\.log$/.test(n)).sort();

test('Redis records equal Zeek\'s redis.log baselines but for the documented differences', async () => {
  assert.equal(zeekLogs.length, 12, 'the 12 redis.log baselines');
  const tally: Record<string, [number, number]> = {};
  const kinds = new Map<string, number>();
  let rows = 0;
  for (const log of zeekLogs) {
    const capture = log.slice(0, log.indexOf('.expected.'));
    const z = parseZeekLog(join(L7, log));
    const ours = commandsByPort(await records(capture));
    const used = new Map<number, number>();
    for (const row of z) {
      rows++;
      const port = Number(row['id.orig_p']);
      const i = used.get(port) ?? 0;
      used.set(port, i + 1);
      const o = ours.get(port)?.[i];
      assert.ok(o !== undefined, `${capture}: no record for Zeek's row ${i + 1} of port ${port}`);
      for (const [zf, of] of ZEEK_FIELDS) {
        const zv = zeekUnescape(row[zf] ?? null);
        const ov = zeekForm(o[of]);
        const same = zv === ov;
        const c = (tally[zf] ??= [0, 0]);
        c[same ? 0 : 1]++;
        if (same) continue;
        const why = explain(capture, zf, zv, o);
        assert.ok(why !== null, `${capture} port ${port} row ${i + 1} ${zf}: Zeek ${JSON.stringify(zv)}, tcpkit ${JSON.stringify(ov)}`);
        kinds.set(why, (kinds.get(why) ?? 0) + 1);
      }
    }
    // every command of the connections Zeek logs is in its log (Zeek writes no row for none of ours)
    for (const [port, list] of ours) if (used.has(port)) assert.equal(list.length, used.get(port), `${capture} port ${port}: commands`);
  }
  const values = Object.values(tally).reduce((a, [s, d]) => a + s + d, 0);
  const equal = Object.values(tally).reduce((a, [s]) => a + s, 0);
  assert.equal(rows, 221);
  assert.deepEqual(Object.fromEntries(kinds), { 'zeek-max-pending-5': 7, 'inline-unquoted': 8, 'subscribe-confirmation': 4 });
  assert.equal(values, 1989);
  assert.equal(equal, 1970);
  // per field: every address and port, cmd.key 221/221; cmd.name 214, cmd.value 213, success and reply.value 219
  assert.deepEqual(tally['cmd.key'], [221, 0]);
});

test('the set, auth and bulk recipes\' printed events are the records\' keys, values and replies', async () => {
  const set = (await records('zeek__redis-set.pcap')).filter((r) => r['cmd_name'] === 'SET').map((r) => `Key: ${r['cmd_key']} Value: ${r['cmd_value']}`);
  const out = readFileSync(join(L7, 'zeek__redis-set.pcap.expected.zeek.scripts.base.protocols.redis.set.output'), 'utf8').split('\n').filter((l) => l.startsWith('Key:'));
  assert.deepEqual(set, out);
  // AUTH: never the credentials, but the replies
  const auth = await records('zeek__redis-auth.pcap');
  assert.deepEqual(auth.map((r) => [r['cmd_name'], r['key'], r['cmd_success'], r['reply_value']]), [
    ['AUTH', null, false, 'WRONGPASS invalid username-password pair or user is disabled.'],
    ['AUTH', null, true, 'OK'],
    ['AUTH', null, false, 'WRONGPASS invalid username-password pair or user is disabled.'],
  ]);
  assert.deepEqual(auth.map((r) => r['error_prefix']), ['WRONGPASS', null, 'WRONGPASS']);
  const bulk = (await records('zeek__redis-bulk-loading.pcap')).filter((r) => r['cmd_name'] === 'SET').map((r) => `SET: ${r['cmd_key']} ${r['cmd_value']}`);
  const bulkOut = readFileSync(join(L7, 'zeek__redis-bulk-loading.pcap.expected.zeek.scripts.base.protocols.redis.bulk.output'), 'utf8').split('\n').filter((l) => l.startsWith('SET:'));
  assert.deepEqual(bulk, bulkOut);
  assert.ok(bulk.length >= 1000);
});

test('RESP3 pushes of the pubsub-resp3 recipe are the subscription replies and messages', async () => {
  const rs = await records('zeek__redis-pubsub-resp3.pcap');
  const pushes = rs.filter((r) => r['reply_type'] === 'push').map((r) => `Got published data!, ${r['reply_value']}`);
  const out = readFileSync(join(L7, 'zeek__redis-pubsub-resp3.pcap.expected.zeek.scripts.base.protocols.redis.pubsub-resp3.output'), 'utf8').split('\n').filter((l) => l.startsWith('Got'));
  assert.deepEqual(pushes, out);
  assert.deepEqual(rs.filter((r) => r['state'] === 'message').map((r) => r['channel']), ['Foo', 'Foo', 'Foobar']);
  // the attributes recipe: the attribute map before the reply is not the reply
  const attr = await records('zeek__redis-attr.pcap');
  assert.deepEqual(attr.map((r) => r['reply_value']), ['[1, 2, 3]', '[2039123, 9543892]']);
});

test('a capture that starts with the server\'s reply gives an orphan, then the command and its reply', async () => {
  // Zeek parses nothing of this connection (its recipe's output is empty)
  const rs = await records('zeek__redis-start-with-server.pcapng');
  assert.deepEqual(rs.map((r) => [r['state'], r['cmd_name'], r['reply_value']]), [['orphan', null, 'OK'], ['complete', 'SET', 'OK']]);
});

// ---- tshark

const tsharkDumps = readdirSync(L7).filter((n) => /redis.*\.tshark\.tsv$/.test(n)).sort();

test('every command and error reply tshark\'s resp dissector reads is a record\'s, in order', async () => {
  let commands = 0, errors = 0, captures = 0;
  for (const dump of tsharkDumps) {
    const capture = dump.slice(0, -'.tshark.tsv'.length);
    const rows = readTsharkTsv(join(L7, dump));
    const rs = await records(capture);
    const byPort = commandsByPort(rs);
    const seen = new Map<number, number>();
    let any = false;
    for (const row of rows) {
      const info = row['_ws.col.Info'] ?? '';
      const sport = Number(row['tcp.srcport']), dport = Number(row['tcp.dstport']);
      if (info.startsWith('Request:') && row['resp.array.length'] !== '') {
        // one frame may carry several commands: array lengths joined by |, first words in the Info column
        const lengths = row['resp.array.length']!.split('|').map(Number);
        const words = info.slice('Request: '.length).split(/\s*Request: /);
        let k = seen.get(sport) ?? 0;
        for (const [j, n] of lengths.entries()) {
          const o = byPort.get(sport)?.[k++];
          assert.ok(o !== undefined, `${capture} frame ${row['frame.number']}: no record for command ${j + 1}`);
          assert.equal((o['args'] as number) + 1, n, `${capture} frame ${row['frame.number']}: argument count`);
          const first = words[j]?.split(' ')[0];
          if (first !== undefined && first !== '') assert.equal(o['cmd_name'], first.toUpperCase(), `${capture} frame ${row['frame.number']}: command`);
          commands++;
          any = true;
        }
        seen.set(sport, k);
      }
      if (info.startsWith('Response: Error: ')) {
        const err = row['resp.error']!.split('|')[0];
        assert.ok(rs.some((r) => r['orig_p'] === dport && r['cmd_success'] === false && r['reply_value'] === err), `${capture} frame ${row['frame.number']}: error ${err}`);
        errors++;
      }
    }
    if (any) captures++;
  }
  assert.equal(captures, 9);
  assert.equal(commands, 1189);
  assert.equal(errors, 3);
});

// ---- tcpdump

test('tcpdump\'s RESP printer (resp_1.out): every command and reply it prints is a record\'s, with its words and length', async () => {
  const rs = await records('tcpdump__resp_1_benchmark.pcap');
  const lines = readFileSync(join(L7, 'tcpdump__resp_1_benchmark.pcap.expected.tcpdump.resp_1.out'), 'utf8').split('\n').filter((l) => l.includes(': RESP '));
  let commands = 0, replies = 0;
  for (const l of lines) {
    const m = /IP [\d.]+\.(\d+) > [\d.]+\.(\d+): .* length (\d+): RESP (.*)$/.exec(l)!;
    const [sport, dport, len] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const words = [...m[4]!.matchAll(/"([^"]*)"/g)].map((w) => w[1]!);
    if (dport === 6379) {
      const r = rs.find((x) => x['orig_p'] === sport)!;
      assert.deepEqual([r['cmd_name'], r['args'], r['request_bytes'], r['key']], [words[0]!.toUpperCase(), words.length - 1, len, words[1] ?? null], l);
      commands++;
    } else {
      const r = rs.find((x) => x['orig_p'] === dport)!;
      assert.equal(r['reply_bytes'], len, l);
      if (r['reply_elements'] === null) assert.equal(r['reply_value'], words[0], l);
      else assert.equal(r['reply_value'], `[${words.join(', ')}]`.slice(0, 8191) + ((r['reply_value'] as string).endsWith('…') ? '…' : ''), l);
      replies++;
    }
  }
  assert.deepEqual([commands, replies, rs.length], [15, 15, 15]);
});

// ---- DeepFlow

interface Perf {
  requests: number;
  responses: number;
  serverErrors: number;
  rrtSum: number;
  rrtMax: number;
}

/** DeepFlow's check_perf expectations for a capture (its .tests.rs). */
function deepflowPerf(capture: string): Perf {
  const rs = readFileSync(join(L7, `${capture}.expected.deepflow-redis.tests.rs`), 'utf8');
  const at = rs.indexOf(`"${capture.replace('deepflow__redis-', '')}",\n                L7PerfStats`);
  assert.ok(at >= 0, `perf block of ${capture}`);
  const block = rs.slice(at, rs.indexOf('}', at));
  const n = (k: string): number => Number(new RegExp(`${k}: (\\d+)`).exec(block)![1]);
  return { requests: n('request_count'), responses: n('response_count'), serverErrors: n('err_server_count'), rrtSum: n('rrt_sum'), rrtMax: n('rrt_max') };
}

for (const capture of ['deepflow__redis-redis.pcap', 'deepflow__redis-redis-error.pcap', 'deepflow__redis-redis-debug.pcap']) {
  test(`${capture}: DeepFlow's counts, errors and rrt sums hold, and its requests are the commands`, async () => {
    const rs = await records(capture);
    const p = deepflowPerf(capture);
    const rrt = rs.filter((r) => r['latency_ms'] !== null).map((r) => Math.round((r['latency_ms'] as number) * 1000));
    assert.equal(rs.length, p.requests);
    assert.equal(rs.filter((r) => r['reply_ts'] !== null).length, p.responses);
    assert.equal(rs.filter((r) => r['cmd_success'] === false).length, p.serverErrors);
    assert.equal(rrt.reduce((a, b) => a + b, 0), p.rrtSum);
    assert.equal(Math.max(...rrt), p.rrtMax);
    // .result: one line per packet; the requests in order, the replies' types
    const lines = readFileSync(join(L7, `${capture}.expected.deepflow-redis.result`), 'utf8').split('\n');
    const requests = lines.map((l) => /request: "([^"]*)"/.exec(l)?.[1]).filter((x): x is string => x !== undefined && x !== '');
    const ours = [...rs].sort((a, b) => String(a['ts']).localeCompare(String(b['ts'])));
    assert.deepEqual(ours.map((r) => String(r['cmd_name'])), requests.map((q) => q.split(' ')[0]!.toUpperCase()));
    const kinds = lines.map((l) => /response_result: (\w+), error: "([^"]*)" } is_redis: true/.exec(l)).filter((m) => m !== null && m[1] !== 'Unknown');
    const want: Record<string, string> = { BulkString: 'bulk_string', Integer: 'integer', Array: 'array', Error: 'error', Status: 'simple_string' };
    assert.deepEqual(ours.map((r) => r['reply_type']), kinds.map((m) => want[m![1]!]));
    for (const [i, m] of kinds.entries()) if (m![2] !== '') assert.equal(`-${ours[i]!['reply_value']}`, m![2]);
  });
}
