/**
 * MongoDB records against the oracles stored beside the fixtures:
 * - tshark 4.0's `mongo` dissector (fixtures/pcaps/l7/*.tshark-mongo.tsv,
 *   scripts/make-mongo-oracles.sh), message by message: every message tshark
 *   reads is in exactly one record, with its length, requestID, responseTo,
 *   opcode (OP_COMPRESSED: tshark gives 2012, the record the original opcode
 *   and the compressor), namespace and numberReturned, and a request's
 *   command is the first element name tshark shows.
 * - DeepFlow's mongo parser (.expected.deepflow-mongo.result): per request
 *   its requestID, opcode and command (the first key of the request it
 *   prints), per response the requestID it answers, its rrt (µs, equal to
 *   latency_ms) and its error code and message.
 * - nDPI's classification (ndpi__mongodb.pcap.expected.ndpi.out): the five
 *   flows it finds MongoDB in by DPI (one on port 30000) are decoded as
 *   mongodb, and the flows it saw without a payload are not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MONGODB } from '../src/protocols/mongodb.js';
import type { RecordValues } from '../src/records/schema.js';
import { FIX } from './_fixtures.js';
import { L7, decodeCapture, readTsharkTsv } from './_l7-helpers.js';

const PORTS = new Map([['mongodb', [3717, 20000]]]);

function capturePath(name: string): string {
  return existsSync(join(L7, name)) ? join(L7, name) : join(FIX, name);
}

const decoded = new Map<string, { tx: RecordValues[]; conns: RecordValues[] }>();
async function run(capture: string): Promise<{ tx: RecordValues[]; conns: RecordValues[] }> {
  let r = decoded.get(capture);
  if (r === undefined) {
    const d = await decodeCapture(capturePath(capture), [MONGODB], PORTS);
    r = { tx: d.transactions, conns: d.conns };
    decoded.set(capture, r);
  }
  return r;
}

const CAPTURES = ['deepflow__mongo.pcap', 'deepflow__mongo-msg.pcap', 'mongotools__compressed.pcap', 'mongotools__op_command_2inserts.pcap', 'ndpi__mongodb.pcap'];

test('every message tshark\'s mongo dissector reads is a record\'s, with its IDs, opcode, length, namespace and command', async () => {
  let messages = 0, commands = 0, compressed = 0;
  for (const capture of CAPTURES) {
    const rows = readTsharkTsv(join(L7, `${capture}.tshark-mongo.tsv`));
    const { tx } = await run(capture);
    const used = new Set<RecordValues>();
    for (const row of rows) {
      const ids = row['mongo.request_id']!.split('|').map((h) => parseInt(h, 16) | 0);
      const tos = row['mongo.response_to']!.split('|').map((h) => parseInt(h, 16) | 0);
      const ops = row['mongo.opcode']!.split('|').map(Number);
      const lens = row['mongo.message_length']!.split('|').map(Number);
      const sport = Number(row['tcp.srcport']), dport = Number(row['tcp.dstport']);
      for (const [k, op] of ops.entries()) {
        const reply = [27017, 3717, 20000, 30000].includes(sport);
        const rec = reply
          ? tx.find((r) => r['orig_p'] === dport && r['response_to'] === tos[k] && r['reply_bytes'] === lens[k])
          : tx.find((r) => r['orig_p'] === sport && r['request_id'] === ids[k] && r['request_bytes'] === lens[k]);
        assert.ok(rec !== undefined, `${capture} frame ${row['frame.number']}: no record for ${reply ? 'reply' : 'request'} ${k + 1}`);
        messages++;
        const ourOp = reply ? rec['reply_opcode_name'] : rec['opcode_name'];
        const names: Record<number, string> = { 1: 'OP_REPLY', 2004: 'OP_QUERY', 2010: 'OP_COMMAND', 2011: 'OP_COMMANDREPLY', 2013: 'OP_MSG' };
        if (op === 2012) {
          assert.equal(rec['compressor'], ['noop', 'snappy', 'zlib', 'zstd'][Number(row['mongo.compression.compressor']!.split('|')[k])], `${capture} frame ${row['frame.number']}: compressor`);
          compressed++;
        } else assert.equal(ourOp, names[op], `${capture} frame ${row['frame.number']}: opcode`);
        if (!reply) {
          used.add(rec);
          const ns = row['mongo.full_collection_name'];
          if (ns) assert.equal(rec['database'], ns.split('.')[0], `${capture} frame ${row['frame.number']}: database`);
          // the first element tshark names is the command (one message per frame where it names elements)
          const first = row['mongo.element.name']?.split('|')[0];
          if (ops.length === 1 && first) {
            assert.equal(rec['command'], first, `${capture} frame ${row['frame.number']}: command`);
            commands++;
          }
        } else if (op === 1) assert.equal(rec['docs_returned'], Number(row['mongo.number_returned']), `${capture} frame ${row['frame.number']}: numberReturned`);
      }
    }
    // every request record is one tshark read
    assert.equal(tx.filter((r) => r['opcode_name'] !== null).length, used.size, `${capture}: requests`);
  }
  assert.equal(messages, 73);
  assert.equal(commands, 39);
  assert.equal(compressed, 11);
});

test('deepflow__mongo.pcap and deepflow__mongo-msg.pcap: DeepFlow\'s requests, responses, rrt and errors', async () => {
  let pairs = 0;
  for (const capture of ['deepflow__mongo.pcap', 'deepflow__mongo-msg.pcap']) {
    const { tx } = await run(capture);
    const lines = readFileSync(join(L7, `${capture}.expected.deepflow-mongo.result`), 'utf8').split('\n').filter((l) => l.startsWith('MongoDBInfo'));
    for (const l of lines) {
      const id = Number(/ request_id: (\d+)/.exec(l)![1]);
      const op = Number(/op_code: (\d+)/.exec(l)![1]);
      if (l.includes('msg_type: Request')) {
        const r = tx.find((x) => x['request_id'] === id);
        assert.ok(r, `${capture}: request ${id}`);
        const req = /request: "\{ \\"([^\\]+)\\"/.exec(l)![1];
        assert.equal(r['command'], req, `${capture}: command of ${id}`);
        assert.equal(r['opcode_name'], op === 2004 ? 'OP_QUERY' : 'OP_MSG');
      } else {
        const r = tx.find((x) => x['response_to'] === id);
        assert.ok(r, `${capture}: response to ${id}`);
        assert.equal(Math.round((r['latency_ms'] as number) * 1000), Number(/rrt: (\d+)/.exec(l)![1]), `${capture}: rrt of ${id}`);
        const code = Number(/response_code: (-?\d+)/.exec(l)![1]);
        const exc = /exception: "([^"]*)"/.exec(l)![1];
        assert.equal(r['error_code'] ?? 0, code);
        assert.equal(r['error_msg'] ?? '', exc);
        assert.equal(r['failed'] ?? (r['ok'] === 0), /status: Ok/.test(l) ? false : true);
        pairs++;
      }
    }
  }
  assert.equal(pairs, 16);
});

test('nDPI\'s MongoDB flows are decoded as mongodb, on port 27017 and 30000', async () => {
  const { tx, conns } = await run('ndpi__mongodb.pcap');
  const out = readFileSync(join(L7, 'ndpi__mongodb.pcap.expected.ndpi.out'), 'utf8');
  const dpi = [...out.matchAll(/TCP ([\d.]+):(\d+) <-> ([\d.]+):(\d+) .*?\[proto: 60\/MongoDB\].*?\[Confidence: DPI\]/g)].map((m) => Number(m[2]));
  assert.deepEqual(dpi.sort(), [51358, 51822, 55582, 61503, 64566]);
  for (const port of dpi) {
    const c = conns.filter((r) => r['orig_p'] === port && r['service'] === 'mongodb');
    assert.ok(c.length >= 1, `flow from port ${port} is mongodb`);
    assert.ok(tx.some((r) => r['orig_p'] === port && r['state'] === 'unanswered' && r['command'] !== null), `a request from port ${port}`);
  }
  assert.deepEqual(tx.map((r) => r['command']).sort(), ['getnonce', 'getnonce', 'isMaster', 'isMaster', 'ismaster']);
});
