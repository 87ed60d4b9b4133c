/**
 * Tunnelled flows: keyed by their inner 5-tuple and their tunnel, with the
 * encapsulation chain (`encap`) and Zeek's tunnel_parents; the tunnels' UDP
 * flows as records of their own; wrappers that cannot be decoded counted,
 * never fatal; tcpfilter -w writing the original packets. On the crafted
 * zoo (fixtures/pcaps/crafted/mk-encap.py: one TCP connection per
 * encapsulation), tcpdump's Geneve capture (one VNI per direction) and
 * packets built here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import { communityId } from '../src/analysis/community-id.js';
import type { RecordValues } from '../src/records/schema.js';
import { parseAddr } from '../src/util/ip.js';
import { fixture, makeTempDir, readPcap, runTcpanalyze, writePcap, type PcapRecord } from './_capture-helpers.js';
import { run } from './_cli.js';
import { eth, ip4, udp } from './_packets.js';

async function records(path: string): Promise<{ recs: RecordValues[]; res: Awaited<ReturnType<typeof analyzeCaptures>> }> {
  const recs: RecordValues[] = [];
  const res = await analyzeCaptures([{ path }], { onRecord: (r) => recs.push(r) });
  return { recs, res };
}

const ZOO = fixture('crafted/encap-zoo.pcap');

/** The encap text of each scenario's inner connection (mk-encap.py, inner addresses 10.<n>.0.1 or fd00:<n>::1). */
const ZOO_ENCAP: [string, string][] = [
  ['10.1.0.1', 'mpls:label=16 mpls:label=17'],
  ['10.2.0.1', 'mpls:label=30'],
  ['10.3.0.1', 'pppoe:session=4660'],
  ['10.4.0.1', 'pbb:isid=65537'],
  ['10.5.0.1', 'vntag'],
  ['10.6.0.1', 'fabricpath'],
  ['10.7.0.1', '4in4'],
  ['fd00:8::1', '6in4'],
  ['10.9.0.1', '4in6'],
  ['10.10.0.1', 'gre:key=7'],
  ['10.11.0.1', 'gre'],
  ['10.12.0.1', 'gre mpls:label=40'],
  ['fd00:e::1', 'geneve:vni=77'],
  ['10.15.0.1', 'gtpu:teid=4096'],
  ['fd00:10::1', 'teredo'],
  ['fd00:11::1', 'ayiya'],
  ['10.18.0.1', 'gre:key=1 vxlan:vni=9'],
  ['10.19.0.1', 'l2tp:session=5'],
  ['10.20.0.1', 'vxlan-gpe:vni=5'],
  ['10.21.0.1', 'pppoe:session=7 mpls:label=50'],
];

test('each encapsulation of the zoo gives one complete connection with its encap chain', async () => {
  const { recs } = await records(ZOO);
  const tcp = recs.filter((r) => r['proto'] === 'tcp');
  for (const [orig, encap] of ZOO_ENCAP) {
    const mine = tcp.filter((r) => r['orig_h'] === orig);
    assert.equal(mine.length, 1, `${orig}: ${mine.length} records`);
    const r = mine[0]!;
    assert.equal(r['encap'], encap, orig);
    assert.deepEqual([r['orig_pkts'], r['resp_pkts'], r['orig_bytes'], r['resp_bytes'], r['conn_state'], r['history']], [5, 3, 18, 24, 'SF', 'ShADdFf'], orig);
  }
});

test('the same inner 5-tuple in two VXLAN VNIs is two connections, each with its own carriers', async () => {
  const { recs } = await records(ZOO);
  const both = recs.filter((r) => r['proto'] === 'tcp' && r['orig_h'] === '10.13.0.1');
  assert.deepEqual(both.map((r) => r['encap']).sort(), ['vxlan:vni=42', 'vxlan:vni=43']);
  for (const r of both) assert.deepEqual([r['orig_pkts'], r['resp_pkts'], r['conn_state']], [5, 3, 'SF']);
  const parents = both.map((r) => String(r['tunnel_parents']).split(','));
  assert.equal(new Set([...parents[0]!, ...parents[1]!]).size, 4, 'four carrier flows: two per tenant, one per direction');
  // Community ID is the inner tuple's, as Zeek and Suricata compute it: the same for both tenants
  assert.equal(both[0]!['community_id'], both[1]!['community_id']);
  const cid = communityId(4, 6, parseAddr('10.13.0.1')!.w, 40013, parseAddr('10.13.0.2')!.w, 80);
  assert.equal(both[0]!['community_id'], cid);
  assert.notEqual(both[0]!['uid'], both[1]!['uid']);
});

test("tunnel_parents names the carrying UDP flows' uids (tunnels over UDP) or the tunnel's uid (over IP)", async () => {
  const { recs } = await records(ZOO);
  const byUid = new Map(recs.map((r) => [r['uid'] as string, r]));
  const tcp = (orig: string): RecordValues => recs.find((r) => r['proto'] === 'tcp' && r['orig_h'] === orig)!;
  // Geneve: one carrier per direction, each a UDP record to port 6081 (Zeek's conn.log has the same)
  const gen = String(tcp('fd00:e::1')['tunnel_parents']).split(',');
  assert.equal(gen.length, 2);
  for (const u of gen) {
    const c = byUid.get(u);
    assert.ok(c, `carrier ${u} has a record`);
    assert.equal(c['proto'], 'udp');
    assert.equal(c['resp_p'], 6081);
    assert.equal(c['tunnel_parents'], null);
  }
  assert.deepEqual(gen.map((u) => byUid.get(u)!['orig_pkts']).sort(), [3, 5]);
  // IP in IP: a tunnel uid, not a conn record
  const ipip = String(tcp('10.7.0.1')['tunnel_parents']);
  assert.match(ipip, /^C[0-9A-Za-z]{17}$/);
  assert.equal(byUid.get(ipip), undefined);
  // GRE without key carries two scenarios between the same outer addresses: one tunnel
  assert.equal(tcp('10.11.0.1')['tunnel_parents'], tcp('10.12.0.1')['tunnel_parents']);
  // nested: VXLAN inside GRE; the VXLAN flows are UDP records inside the GRE tunnel
  const nested = String(tcp('10.18.0.1')['tunnel_parents']).split(',');
  for (const u of nested) {
    const c = byUid.get(u)!;
    assert.equal(c['encap'], 'gre:key=1');
    assert.match(String(c['tunnel_parents']), /^C[0-9A-Za-z]{17}$/);
  }
});

test('a network that uses one Geneve VNI per direction gives one connection (tcpdump geneve.pcap)', async () => {
  const { recs } = await records(fixture('encap/tcpdump__geneve.pcap'));
  const ssh = recs.filter((r) => r['proto'] === 'tcp');
  assert.equal(ssh.length, 1);
  assert.deepEqual([ssh[0]!['orig_pkts'], ssh[0]!['resp_pkts']], [17, 16]);
  assert.equal(String(ssh[0]!['tunnel_parents']).split(',').length, 2);
  const icmp = recs.filter((r) => r['proto'] === 'icmp');
  assert.equal(icmp.length, 1);
  assert.deepEqual([icmp[0]!['orig_pkts'], icmp[0]!['resp_pkts']], [3, 3]);
});

// ---- packets built here

function tcpSyn(sport: number, dport: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(1000, 4);
  h[12] = 5 << 4;
  h[13] = 0x02;
  h.writeUInt16BE(1024, 14);
  return h;
}
const A = [192, 0, 2, 1], B = [192, 0, 2, 2];
const vxlanHeader = (flags: number, vni: number): Buffer => Buffer.from([flags, 0, 0, 0, (vni >> 16) & 255, (vni >> 8) & 255, vni & 255, 0]);
const greHeader = (flags: number, proto: number): Buffer => Buffer.from([flags >> 8, flags & 255, proto >> 8, proto & 255]);

function capture(frames: Buffer[]): string {
  const { dir } = makeTempDir('tcpkit-tunnels-');
  const path = join(dir, 'built.pcap');
  const recs: PcapRecord[] = frames.map((data, i) => ({ ts: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, data }));
  writeFileSync(path, writePcap(recs));
  return path;
}

test('wrappers that cannot be decoded are counted and reported, and the packets still count in their outer flow', async () => {
  const inner = eth(0x0800, ip4([10, 0, 0, 1], [10, 0, 0, 2], 6, tcpSyn(1234, 80)));
  const path = capture([
    // VXLAN without the I flag: a UDP packet to 4789, not a tunnel
    eth(0x0800, ip4(A, B, 17, udp(40000, 4789, Buffer.concat([vxlanHeader(0x00, 5), inner])))),
    // GRE with the (deprecated) routing bit: not decoded, as Zeek
    eth(0x0800, ip4(A, B, 47, Buffer.concat([greHeader(0x4000, 0x0800), inner.subarray(14)]))),
    // Geneve cut after 4 bytes
    eth(0x0800, ip4(A, B, 17, udp(40001, 6081, Buffer.from([0, 0, 0x65, 0x58])))),
  ]);
  const { recs, res } = await records(path);
  assert.deepEqual([...res.stats.undecodedEncaps].sort(), [['geneve: header cut short', 1], ['gre: malformed header', 1], ['vxlan: malformed header', 1]]);
  assert.equal(res.stats.notAnalysed.get('encapsulation that could not be decoded'), 1);
  const udpFlows = recs.filter((r) => r['proto'] === 'udp');
  assert.deepEqual(udpFlows.map((r) => r['resp_p']).sort(), [4789, 6081]);
  assert.equal(recs.filter((r) => r['proto'] === 'tcp').length, 0);
  const cli = runTcpanalyze(['--format', 'ndjson', path]);
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stderr, 'tcpanalyze: not analysed: 1 encapsulation that could not be decoded; 1 undecodable wrapper (gre: malformed header); 1 undecodable wrapper (vxlan: malformed header); 1 undecodable wrapper (geneve: header cut short)\n');
});

test('tunnels nested deeper than four are counted as undecodable, the outer four still decoded', async () => {
  // five IP-in-IP levels around a SYN
  let pkt = ip4([10, 0, 0, 1], [10, 0, 0, 2], 6, tcpSyn(1234, 80));
  const ok = ip4([10, 0, 0, 1], [10, 0, 0, 2], 6, tcpSyn(1234, 80));
  let four = ok;
  for (let i = 0; i < 4; i++) four = ip4(A, B, 4, four);
  for (let i = 0; i < 5; i++) pkt = ip4(A, B, 4, pkt);
  const { recs, res } = await records(capture([eth(0x0800, four), eth(0x0800, pkt)]));
  assert.equal(recs.filter((r) => r['proto'] === 'tcp').length, 1);
  assert.equal(recs[0]!['encap'], '4in4 4in4 4in4 4in4');
  assert.deepEqual([...res.stats.undecodedEncaps], [['tunnel: more than 4 nested tunnels', 1]]);
});

test('tcpfilter -w writes the original (outer) packets of a tunnelled connection, and the carriers\' packets when a carrier is selected', () => {
  const { dir, cleanup } = makeTempDir('tcpkit-tunnels-w-');
  try {
    const out = join(dir, 'gtp.pcap');
    const r = run('tcpfilter', ['--where', "orig_h=10.15.0.1", ZOO, '-w', out]);
    assert.equal(r.status, 0, r.stderr);
    const all = readPcap(readFileSync(ZOO)).records;
    const got = readPcap(readFileSync(out)).records;
    assert.equal(got.length, 8);
    // byte for byte the frames of the capture, outer headers included
    for (const g of got) assert.ok(all.some((a) => a.data.equals(g.data)), 'a written frame is one of the input frames');
    assert.ok(got.every((g) => g.data.length > 14 + 20 + 8 + 8 + 20 + 20), 'the GTP-U outer headers are there');
    // selecting the GTP-U carrier (a UDP flow between the tunnel endpoints) keeps the same packets
    const out2 = join(dir, 'carrier.pcap');
    const r2 = run('tcpfilter', ['--where', 'proto=udp and resp_p=2152', ZOO, '-w', out2]);
    assert.equal(r2.status, 0, r2.stderr);
    assert.deepEqual(readPcap(readFileSync(out2)).records.map((x) => x.data.toString('hex')), got.map((x) => x.data.toString('hex')));
  } finally {
    cleanup();
  }
});

test('Teredo through a relay port is recognised by its content (an IPv6 packet to or from 2001:0::/32), other UDP is not', async () => {
  const teredoSrc = Buffer.from('2001000041379e508000f12ab9c82815', 'hex');
  const dst = Buffer.from('20014860000020010000000000000068', 'hex');
  const v6 = (src: Buffer, d: Buffer, payload: Buffer): Buffer => {
    const h = Buffer.alloc(40);
    h.writeUInt32BE(0x60000000, 0);
    h.writeUInt16BE(payload.length, 4);
    h[6] = 6;
    h[7] = 64;
    src.copy(h, 8);
    d.copy(h, 24);
    return Buffer.concat([h, payload]);
  };
  const syn = tcpSyn(1286, 80);
  // not Teredo: starts with 0x6 but neither address is in 2001:0::/32
  const other = v6(Buffer.alloc(16, 0x11), Buffer.alloc(16, 0x22), syn);
  const path = capture([
    eth(0x0800, ip4(A, B, 17, udp(3797, 32900, v6(teredoSrc, dst, syn)))),
    eth(0x0800, ip4(A, B, 17, udp(3798, 32901, other))),
  ]);
  const { recs } = await records(path);
  const tcp = recs.filter((r) => r['proto'] === 'tcp');
  assert.equal(tcp.length, 1);
  assert.equal(tcp[0]!['encap'], 'teredo');
  assert.equal(tcp[0]!['orig_h'], '2001:0:4137:9e50:8000:f12a:b9c8:2815');
  assert.deepEqual(recs.filter((r) => r['proto'] === 'udp').map((r) => [r['orig_p'], r['resp_p']].sort().join('-')).sort(), ['32900-3797', '32901-3798']);
});

test('tunnel records: one per tunnel, with its packets, outer bytes, conns and the tunnel it is nested in', async () => {
  const tunnels: RecordValues[] = [];
  const recs: RecordValues[] = [];
  await analyzeCaptures([{ path: ZOO }], { onRecord: (r) => recs.push(r), onTunnelRecord: (r) => tunnels.push(r) });
  const byEncap = (e: string): RecordValues[] => tunnels.filter((t) => t['encap'] === e);
  // GRE without a key between 192.0.2.1 and .2 carries scenarios 11 (gretap) and 12 (MPLS): one tunnel, 16 packets, 2 conns
  const gre = byEncap('gre');
  assert.equal(gre.length, 1);
  assert.deepEqual([gre[0]!['tunnel_type'], gre[0]!['orig_h'], gre[0]!['resp_h'], gre[0]!['pkts'], gre[0]!['conns'], gre[0]!['vni']], ['gre', '192.0.2.1', '192.0.2.2', 16, 2, null]);
  // the two tenants: two VXLAN tunnels between the same addresses
  assert.deepEqual(
    tunnels.filter((t) => t['tunnel_type'] === 'vxlan').map((t) => [t['vni'], t['pkts'], t['conns']]).sort((x, y) => Number(x[0]) - Number(y[0])),
    [
      [9, 8, 1],
      [42, 8, 1],
      [43, 8, 1],
    ],
  );
  // VXLAN inside GRE key 1: nested, its parent is the GRE tunnel's uid
  const outer = byEncap('gre:key=1')[0]!;
  const inner = tunnels.find((t) => t['vni'] === 9)!;
  assert.equal(inner['tunnel_parents'], outer['uid']);
  assert.equal(outer['conns'], 2, 'the two VXLAN UDP flows (one per direction) are keyed by the GRE tunnel');
  // tunnel_parents of a conn over IP names a tunnel record
  const ipip = recs.find((r) => r['proto'] === 'tcp' && r['orig_h'] === '10.7.0.1')!;
  assert.equal(byEncap('4in4')[0]!['uid'], ipip['tunnel_parents']);
  // outer IP bytes: the 4in4 tunnel's packets are the inner datagrams plus 20 bytes each
  assert.equal(byEncap('4in4')[0]!['ip_bytes'], Number(ipip['orig_ip_bytes']) + Number(ipip['resp_ip_bytes']) + 8 * 20);
});

test('tcpanalyze --tunnels writes the tunnel records after the conn records; CSV of both kinds is a usage error', () => {
  const r = runTcpanalyze(['--format', 'ndjson', '--tunnels', ZOO]);
  assert.equal(r.status, 0, r.stderr);
  const kinds = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { record: string }).record);
  const first = kinds.indexOf('tunnel');
  assert.ok(first > 0 && kinds.slice(first).every((k) => k === 'tunnel') && kinds.slice(0, first).every((k) => k === 'conn'));
  assert.equal(kinds.length - first, 15, '15 tunnels in the zoo (GRE without key carries two scenarios; VXLAN, Geneve... one each)');
  const bad = runTcpanalyze(['--format', 'csv', '--tunnels', ZOO]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /CSV holds one record kind and this run writes conn, tunnel: choose one with --records/);
});
