/**
 * The Selector (src/filter/select.ts) that tcpfilter, tcpsummary and
 * tcpanalyze share: tcpeek filters, --where and exclusion lists together;
 * the exclusion file's two shapes; the warning about RX without --local;
 * tcp-info sockets seen as connections (src/filter/socket-record.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Selector, exclusionsFromJson } from '../src/filter/select.js';
import { socketRecord } from '../src/filter/socket-record.js';

const web = { record: 'conn', proto: 'tcp', orig_h: '192.0.2.1', orig_p: 50000, resp_h: '198.51.100.7', resp_p: 443, conn_state: 'SF', orig_retransmission: 2 };
const dns = { record: 'conn', proto: 'udp', orig_h: '192.0.2.1', orig_p: 50001, resp_h: '198.51.100.53', resp_p: 53, conn_state: 'SF', orig_retransmission: 0 };
const ssh = { record: 'conn', proto: 'tcp', orig_h: '203.0.113.9', orig_p: 50002, resp_h: '192.0.2.1', resp_p: 22, conn_state: 'REJ', orig_retransmission: 0 };

test('Without any filter every record counts in "all"; --where and exclusions still apply.', () => {
  assert.deepEqual(new Selector({}).names(web), ['all']);
  const s = new Selector({ where: 'orig_retransmission>0' });
  assert.deepEqual([s.accepts(web), s.accepts(dns), s.accepts(ssh)], [true, false, false]);
  const e = new Selector({ exclusions: exclusionsFromJson({ '*': ['UDP 53'] }) });
  assert.deepEqual([e.accepts(web), e.accepts(dns), e.accepts(ssh)], [true, false, true]);
});

test('tcpeek filters with --local: names per record, an exclusion removes from all, --where narrows.', () => {
  const s = new Selector({ filters: ['out:TX@%:443', 'in:RX@%:22', 'any:TX@%:*'], local: '192.0.2.0/24' });
  assert.deepEqual(s.names(web), ['out', 'any']);
  assert.deepEqual(s.names(ssh), ['in']);
  assert.deepEqual(s.names(dns), [], 'tcpeek filters match TCP only');
  assert.deepEqual(new Selector({ filters: ['out:TX@%:443', ':TX@198.51.100.0/24:*'], local: '192.0.2.0/24' }).names(web), []);
  assert.deepEqual(new Selector({ filters: ['in:RX@%:22'], local: '192.0.2.0/24', where: 'conn_state=SF' }).names(ssh), []);
});

test('An RX filter without --local draws a warning (it cannot match); with --local it does not.', () => {
  assert.equal(new Selector({ filters: [':RX@%:22'] }).warnings().length, 1);
  assert.match(new Selector({ filters: [':RX@%:22'] }).warnings()[0]!, /without --local every connection counts as outgoing \(TX\)/);
  assert.deepEqual(new Selector({ filters: [':RX@%:22'], local: '10.0.0.0/8' }).warnings(), []);
  assert.deepEqual(new Selector({ filters: ['x:TX@%:22'] }).warnings(), []);
});

test("Exclusion files: DataDog's source_excludes/dest_excludes keys, or one map for both ends.", () => {
  const split = new Selector({ exclusions: exclusionsFromJson({ source_excludes: { '203.0.113.0/24': ['*'] }, dest_excludes: { '*': ['TCP 443'] } }) });
  assert.deepEqual([split.accepts(web), split.accepts(dns), split.accepts(ssh)], [false, true, false]);
  const both = new Selector({ exclusions: exclusionsFromJson({ '192.0.2.1': ['22'] }) });
  // 192.0.2.1 is the source of web and dns (ports 50000, 50001) and the destination of ssh (port 22)
  assert.deepEqual([both.accepts(web), both.accepts(dns), both.accepts(ssh)], [true, true, false]);
  assert.throws(() => exclusionsFromJson({ source_excludes: { '10.0.0.0/33': ['*'] } }), /source exclusions: key "10.0.0.0\/33"/);
});

/** An inet_diag_msg head: family, state, timer, retrans, sport, dport, src, dst. */
function idm(family: number, sport: number, dport: number, src: number[], dst: number[]): Uint8Array {
  const b = new Uint8Array(72);
  b[0] = family;
  b[4] = sport >> 8; b[5] = sport & 255;
  b[6] = dport >> 8; b[7] = dport & 255;
  b.set(src, 8);
  b.set(dst, 24);
  return b;
}

test('tcp-info sockets: the local side originated (TX) when its port is the ephemeral one, accepted (RX) when it is the service port.', () => {
  const client = socketRecord(idm(2, 43210, 443, [192, 0, 2, 1], [198, 51, 100, 7]))!;
  assert.deepEqual([client.tx, client.rx, client.record.orig_h, client.record.resp_h, client.record.resp_p], [true, false, '192.0.2.1', '198.51.100.7', 443]);
  const server = socketRecord(idm(2, 22, 50000, [192, 0, 2, 1], [203, 0, 113, 9]))!;
  assert.deepEqual([server.tx, server.rx, server.record.orig_h, server.record.resp_h, server.record.resp_p], [false, true, '203.0.113.9', '192.0.2.1', 22]);
  const v6 = socketRecord(idm(10, 40000, 80, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]))!;
  assert.deepEqual([v6.record.orig_h, v6.record.resp_h], ['2001:db8::1', '2001:db8::2']);
  assert.equal(socketRecord(idm(1, 1, 2, [], [])), null, 'not IP');
  assert.equal(socketRecord(new Uint8Array(20)), null, 'too short');
  const s = new Selector({ filters: ['https:TX@%:443', 'ssh:RX@%:22'] });
  assert.deepEqual(s.namesWithDirs(client.record, client.tx, client.rx), ['https']);
  assert.deepEqual(s.namesWithDirs(server.record, server.tx, server.rx), ['ssh']);
});
