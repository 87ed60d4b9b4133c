/**
 * Tunnels recorded live, as root, in network namespaces the test creates and
 * deletes (documentation and private addresses only; nothing else is
 * touched): two hosts joined by a veth pair (the underlay, 192.0.2.1 and
 * 192.0.2.2) carry two tenants' networks in VXLAN VNI 42 and VNI 43, each
 * tenant a pair of namespaces bridged into its VNI, both tenants using the
 * same addresses (10.10.0.1 and 10.10.0.2). TCP connections with known
 * byte counts run over them while tcpdump records the underlay; the
 * records must show what was sent, keep the tenants' identical 5-tuples
 * apart, and agree with tshark (which keys by addresses and ports only).
 * Geneve, GRE (gretap), IP-in-IP and MPLS are recorded the same way where
 * the kernel has those devices; each is skipped with the reason otherwise.
 * Skipped when not root or when ip, tcpdump or tshark is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { analyzeCaptures } from '../src/analysis/pipeline.js';
import type { RecordValues } from '../src/records/schema.js';
import { makeTempDir } from './_capture-helpers.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['ip', 'tcpdump', 'tshark'].filter((c) => !has(c));
let SKIP: string | false = process.getuid?.() !== 0 ? 'needs root (network namespaces, veth pairs, VXLAN devices and packet capture)' : missing.length > 0 ? `needs ${missing.join(', ')} on PATH` : false;

const id = process.pid % 100000;
const H1 = `tkh1-${id}`, H2 = `tkh2-${id}`;
const TEN = [`tk1a-${id}`, `tk1b-${id}`, `tk2a-${id}`, `tk2b-${id}`];
const ALL = [H1, H2, ...TEN];
const UNDER1 = `tku1${id}`.slice(0, 15), UNDER2 = `tku2${id}`.slice(0, 15);

let tmp = '';
let cleanupDir = (): void => {};

function sh(cmd: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', input: input ?? '', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function must(cmd: string[]): string {
  const r = sh(cmd);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const inNs = (ns: string, ...cmd: string[]): string[] => ['ip', 'netns', 'exec', ns, ...cmd];

/** Turns segmentation offloads off where ethtool exists, so both tools see wire-sized segments. */
function noOffload(ns: string, dev: string): void {
  if (has('ethtool')) sh(inNs(ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off'));
}

before(() => {
  ({ dir: tmp, cleanup: cleanupDir } = makeTempDir('tcpkit-tunnels-live-'));
  if (SKIP) return;
  const probe = sh(['ip', 'netns', 'add', H1]);
  if (probe.status !== 0) {
    SKIP = `cannot create a network namespace here: ${probe.stderr.trim()}`;
    return;
  }
  for (const ns of ALL.slice(1)) must(['ip', 'netns', 'add', ns]);
  for (const ns of ALL) must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  // the underlay
  must(['ip', 'link', 'add', UNDER1, 'type', 'veth', 'peer', 'name', UNDER2]);
  must(['ip', 'link', 'set', UNDER1, 'netns', H1]);
  must(['ip', 'link', 'set', UNDER2, 'netns', H2]);
  const hosts: [string, string, string, string][] = [
    [H1, UNDER1, '192.0.2.1', '192.0.2.2'],
    [H2, UNDER2, '192.0.2.2', '192.0.2.1'],
  ];
  for (const [ns, dev, me] of hosts) {
    must(['ip', '-n', ns, 'addr', 'add', `${me}/24`, 'dev', dev]);
    must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    noOffload(ns, dev);
  }
  // two VNIs per host, each in a bridge with its tenant's veth
  for (const [h, [ns, dev, me, peer]] of hosts.entries()) {
    for (const [t, vni] of [
      [0, 42],
      [1, 43],
    ] as const) {
      const vx = `vx${vni}`, br = `br${vni}`;
      const tenantNs = TEN[2 * t + h]!;
      const hv = `tkv${vni}h${h}${id}`.slice(0, 15), tv = `tkv${vni}t${h}${id}`.slice(0, 15);
      const r = sh(['ip', '-n', ns, 'link', 'add', vx, 'type', 'vxlan', 'id', String(vni), 'local', me, 'remote', peer, 'dstport', '4789', 'dev', dev]);
      if (r.status !== 0) {
        SKIP = `cannot create a VXLAN device here: ${r.stderr.trim()}`;
        return;
      }
      must(['ip', '-n', ns, 'link', 'add', br, 'type', 'bridge']);
      must(['ip', '-n', ns, 'link', 'set', vx, 'master', br]);
      must(['ip', 'link', 'add', hv, 'type', 'veth', 'peer', 'name', tv]);
      must(['ip', 'link', 'set', hv, 'netns', ns]);
      must(['ip', 'link', 'set', tv, 'netns', tenantNs]);
      must(['ip', '-n', ns, 'link', 'set', hv, 'master', br]);
      for (const d of [vx, br, hv]) must(['ip', '-n', ns, 'link', 'set', d, 'up']);
      must(['ip', '-n', tenantNs, 'addr', 'add', h === 0 ? '10.10.0.1/24' : '10.10.0.2/24', 'dev', tv]);
      must(['ip', '-n', tenantNs, 'link', 'set', tv, 'mtu', '1400']);
      must(['ip', '-n', tenantNs, 'link', 'set', tv, 'up']);
      noOffload(tenantNs, tv);
      noOffload(ns, vx);
    }
  }
});

after(() => {
  if (process.getuid?.() === 0) for (const ns of ALL) sh(['ip', 'netns', 'del', ns]);
  cleanupDir();
});

/** A TCP server in `ns` on `addr`:`port` that reads until the client's FIN, then answers `reply` bytes and closes. */
function server(ns: string, port: number, reply: number, addr = '10.10.0.2'): ChildProcess {
  const js = `const s=require('net').createServer((c)=>{let n=0;c.on('data',(d)=>{n+=d.length});c.on('end',()=>{c.end(Buffer.alloc(${reply},120))})});s.listen(${port},'${addr}',()=>console.log('listening'))`;
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** A client in `ns` from `from`:`lport` to `to`:`port` sending `send` bytes, half-closing, reading the reply; resolves with the bytes it got. */
function client(ns: string, lport: number, port: number, send: number, from = '10.10.0.1', to = '10.10.0.2'): Promise<number> {
  const js = `const c=require('net').connect({host:'${to}',port:${port},localAddress:'${from}',localPort:${lport},allowHalfOpen:true},()=>{c.end(Buffer.alloc(${send},97))});let n=0;c.on('data',(d)=>{n+=d.length});c.on('end',()=>{console.log(n);c.destroy()});c.on('error',(e)=>{console.error(e.message);process.exit(1)})`;
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`client in ${ns} exited ${code}`))));
  });
}

function waitListening(p: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start')), 15_000);
    p.stdout!.on('data', (d) => {
      if (String(d).includes('listening')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

async function record(ns: string, dev: string, file: string, run: () => Promise<void>): Promise<void> {
  const cap = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '--immediate-mode', '-U', '-n', '-i', dev, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  cap.stderr!.on('data', (d) => (err += String(d)));
  const exited = new Promise<number | null>((r) => cap.on('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (err.includes('listening on')) {
        clearInterval(t);
        resolve();
      }
    }, 20);
    setTimeout(() => {
      clearInterval(t);
      reject(new Error(`tcpdump did not start: ${err}`));
    }, 15_000);
  });
  try {
    await run();
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    cap.kill('SIGINT');
    await exited;
  }
  const got = /(\d+) packets? captured/.exec(err);
  assert.ok(got && Number(got[1]) > 0, `tcpdump captured nothing: ${err}`);
}

interface Stream {
  a: string;
  ap: number;
  pkts: [number, number];
  frameBytes: [number, number];
  payload: [number, number];
}

/** tshark's TCP streams of a capture, with the innermost IPv4 source of each frame (the conversation's A = its first frame's source). */
function tsharkStreams(file: string): Map<number, Stream> {
  const out = must(['tshark', '-n', '-r', file, '-Y', 'tcp', '-T', 'fields', '-E', 'occurrence=l', '-e', 'tcp.stream', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'frame.len', '-e', 'tcp.len']);
  const st = new Map<number, Stream>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [s, src, sp, flen, tlen] = line.split('\t');
    const k = Number(s);
    let x = st.get(k);
    if (!x) st.set(k, (x = { a: src!, ap: Number(sp), pkts: [0, 0], frameBytes: [0, 0], payload: [0, 0] }));
    const i = src === x.a && Number(sp) === x.ap ? 0 : 1;
    x.pkts[i]++;
    x.frameBytes[i] += Number(flen);
    x.payload[i] += Number(tlen);
  }
  return st;
}

const n = (r: RecordValues, k: string): number => Number(r[k]);

test('VXLAN, two tenants with the same addresses in VNI 42 and 43: the records show what was sent, keep the identical 5-tuples apart and agree with tshark', async (t) => {
  if (SKIP) return t.skip(SKIP);
  const file = join(tmp, 'vxlan.pcap');
  const servers = [server(TEN[1]!, 9000, 5000), server(TEN[3]!, 9000, 1000)];
  try {
    await Promise.all(servers.map(waitListening));
    await record(H1, UNDER1, file, async () => {
      // tenant 1 alone first (its own tshark stream), then both tenants at once on one 5-tuple
      assert.equal(await client(TEN[0]!, 40000, 9000, 3000), 5000);
      const [a, b] = await Promise.all([client(TEN[0]!, 40001, 9000, 2000), client(TEN[2]!, 40001, 9000, 7000)]);
      assert.deepEqual([a, b], [5000, 1000]);
    });
  } finally {
    for (const s of servers) s.kill('SIGKILL');
  }
  const recs: RecordValues[] = [];
  await analyzeCaptures([{ path: file }], { onRecord: (r) => recs.push(r) });
  const tcp = recs.filter((r) => r['proto'] === 'tcp' && r['orig_h'] === '10.10.0.1');
  const byUid = new Map(recs.map((r) => [r['uid'], r]));
  const one = tcp.filter((r) => r['orig_p'] === 40000);
  const two = tcp.filter((r) => r['orig_p'] === 40001).sort((x, y) => String(x['encap']).localeCompare(String(y['encap'])));
  assert.equal(one.length, 1);
  assert.equal(two.length, 2, 'the same 5-tuple in two VNIs is two connections');
  for (const [r, encap, sent, got] of [
    [one[0]!, 'vxlan:vni=42', 3000, 5000],
    [two[0]!, 'vxlan:vni=42', 2000, 5000],
    [two[1]!, 'vxlan:vni=43', 7000, 1000],
  ] as const) {
    assert.deepEqual([r['encap'], n(r, 'orig_bytes'), n(r, 'resp_bytes'), n(r, 'orig_payload_bytes'), r['conn_state'], r['handshake']], [encap, sent, got, sent, 'SF', 'success']);
    const parents = String(r['tunnel_parents']).split(',');
    assert.ok(parents.length >= 1 && parents.length <= 2);
    for (const u of parents) assert.deepEqual([byUid.get(u)?.['proto'], byUid.get(u)?.['resp_p']], ['udp', 4789], 'a carrier is a VXLAN UDP record');
  }
  // tshark: the first connection is its own stream with the same counts; the
  // two tenants' connections are one stream holding both records' packets
  const st = [...tsharkStreams(file).values()].filter((s) => s.a === '10.10.0.1' || s.a === '10.10.0.2');
  const side = (r: RecordValues): number[] => [n(r, 'orig_pkts'), n(r, 'resp_pkts'), n(r, 'orig_frame_bytes'), n(r, 'resp_frame_bytes'), n(r, 'orig_payload_bytes'), n(r, 'resp_payload_bytes')];
  const flat = (s: Stream): number[] => (s.a === '10.10.0.1' ? [s.pkts[0], s.pkts[1], s.frameBytes[0], s.frameBytes[1], s.payload[0], s.payload[1]] : [s.pkts[1], s.pkts[0], s.frameBytes[1], s.frameBytes[0], s.payload[1], s.payload[0]]);
  const s1 = st.find((s) => s.ap === 40000 || (s.a === '10.10.0.2' && s.pkts[1] > 0 && flat(s)[4] === 3000));
  assert.ok(s1, 'tshark has the first connection');
  assert.deepEqual(flat(s1), side(one[0]!));
  const merged = st.filter((s) => s !== s1);
  const sum = (xs: number[][]): number[] => xs.reduce((a, b) => a.map((v, i) => v + b[i]!));
  assert.deepEqual(sum(merged.map(flat)), sum(two.map(side)), 'tshark has the two tenants in one stream (or two), with the packets of both records');
});

/**
 * One connection over a point-to-point tunnel device between the two hosts
 * (inner addresses 10.20.<k>.1 and .2 on the devices themselves): the
 * record must carry the encapsulation, the bytes sent and tshark's counts.
 * Returns a skip reason when the kernel has no such device.
 */
async function pointToPoint(k: number, type: string, args: (me: string, peer: string) => string[], encap: RegExp, sent: number, reply: number): Promise<string | null> {
  const devs: [string, string, string][] = [
    [H1, '192.0.2.1', '192.0.2.2'],
    [H2, '192.0.2.2', '192.0.2.1'],
  ];
  const made: string[] = [];
  try {
    for (const [i, [ns, me, peer]] of devs.entries()) {
      const r = sh(['ip', '-n', ns, 'link', 'add', 'tkt0', 'type', type, ...args(me, peer)]);
      if (r.status !== 0) return `this kernel has no ${type} device (ip link add ... type ${type}: ${r.stderr.trim()})`;
      made.push(ns);
      must(['ip', '-n', ns, 'addr', 'add', `10.20.${k}.${i + 1}/24`, 'dev', 'tkt0']);
      must(['ip', '-n', ns, 'link', 'set', 'tkt0', 'mtu', '1400']);
      must(['ip', '-n', ns, 'link', 'set', 'tkt0', 'up']);
      noOffload(ns, 'tkt0');
    }
    const file = join(tmp, `${type}.pcap`);
    const srv = server(H2, 9100, reply, `10.20.${k}.2`);
    try {
      await waitListening(srv);
      await record(H1, UNDER1, file, async () => {
        assert.equal(await client(H1, 41000, 9100, sent, `10.20.${k}.1`, `10.20.${k}.2`), reply);
      });
    } finally {
      srv.kill('SIGKILL');
    }
    const recs: RecordValues[] = [];
    await analyzeCaptures([{ path: file }], { onRecord: (r) => recs.push(r) });
    const tcp = recs.filter((r) => r['proto'] === 'tcp' && r['orig_h'] === `10.20.${k}.1`);
    assert.equal(tcp.length, 1, `one ${type} connection; the records: ${recs.map((x) => `${x['proto']} ${x['orig_h']}:${x['orig_p']} > ${x['resp_h']}:${x['resp_p']} ${x['encap']}`).join('; ')}`);
    const r = tcp[0]!;
    assert.match(String(r['encap']), encap);
    assert.deepEqual([n(r, 'orig_bytes'), n(r, 'resp_bytes'), r['conn_state'], r['handshake']], [sent, reply, 'SF', 'success']);
    assert.notEqual(r['tunnel_parents'], null);
    const st = [...tsharkStreams(file).values()].filter((s) => s.a.startsWith(`10.20.${k}.`));
    assert.equal(st.length, 1, 'tshark has one stream');
    const s = st[0]!;
    const want = s.a === `10.20.${k}.1` ? [s.pkts, s.frameBytes, s.payload].flat() : [s.pkts, s.frameBytes, s.payload].flatMap((x) => [x[1], x[0]]);
    assert.deepEqual([n(r, 'orig_pkts'), n(r, 'resp_pkts'), n(r, 'orig_frame_bytes'), n(r, 'resp_frame_bytes'), n(r, 'orig_payload_bytes'), n(r, 'resp_payload_bytes')], want);
    return null;
  } finally {
    for (const ns of made) sh(['ip', '-n', ns, 'link', 'del', 'tkt0']);
  }
}

for (const [k, kind, type, args, encap] of [
  [1, 'VXLAN (point to point, VNI 5001)', 'vxlan', (me: string, peer: string) => ['id', '5001', 'local', me, 'remote', peer, 'dstport', '4789', 'dev', ''], /^vxlan:vni=5001$/],
  [2, 'Geneve', 'geneve', (_me: string, peer: string) => ['id', '77', 'remote', peer], /^geneve:vni=77$/],
  [3, 'GRE (gretap, key 7)', 'gretap', (me: string, peer: string) => ['local', me, 'remote', peer, 'key', '7'], /^gre:key=7$/],
  [4, 'GRE', 'gre', (me: string, peer: string) => ['local', me, 'remote', peer], /^gre$/],
  [5, 'IP-in-IP', 'ipip', (me: string, peer: string) => ['local', me, 'remote', peer], /^4in4$/],
] as const) {
  test(`${kind} recorded live: the record shows what was sent and agrees with tshark`, async (t) => {
    if (SKIP) return t.skip(SKIP);
    const dev = (me: string, peer: string): string[] => args(me, peer).map((a) => (a === '' ? (me === '192.0.2.1' ? UNDER1 : UNDER2) : a));
    const why = await pointToPoint(k, type, dev, encap, 1500 * k, 700 * k);
    if (why !== null) t.skip(`${why}; the encapsulation is covered by fixtures/pcaps/crafted/encap-zoo.pcap and tcpdump's captures`);
  });
}

test('MPLS recorded live: a labelled connection shows its label and agrees with tshark', async (t) => {
  if (SKIP) return t.skip(SKIP);
  const r = sh(inNs(H1, 'sysctl', '-w', 'net.mpls.platform_labels=1000'));
  if (r.status !== 0) return t.skip(`this kernel has no MPLS forwarding (net.mpls.platform_labels: ${r.stderr.trim()}); covered by fixtures/pcaps/crafted/encap-zoo.pcap, tcpdump's lspping-fec-ldp and tcpreplay's test capture`);
  // both directions labelled: 10.30.0.1 (lo of H1) <-> 10.30.0.2 (lo of H2), label 101 toward H2, 102 toward H1
  const hosts: [string, string, string, string, number, number][] = [
    [H1, UNDER1, '10.30.0.1', '10.30.0.2', 101, 102],
    [H2, UNDER2, '10.30.0.2', '10.30.0.1', 102, 101],
  ];
  for (const [ns, dev, me, peer, out, inn] of hosts) {
    must(inNs(ns, 'sysctl', '-w', 'net.mpls.platform_labels=1000'));
    must(inNs(ns, 'sysctl', '-w', `net.mpls.conf.${dev}.input=1`));
    must(['ip', '-n', ns, 'addr', 'add', `${me}/32`, 'dev', 'lo']);
    must(['ip', '-n', ns, 'route', 'add', `${peer}/32`, 'encap', 'mpls', String(out), 'via', 'inet', ns === H1 ? '192.0.2.2' : '192.0.2.1', 'dev', dev]);
    must(['ip', '-n', ns, '-M', 'route', 'add', String(inn), 'dev', 'lo']);
  }
  const file = join(tmp, 'mpls.pcap');
  const srv = server(H2, 9200, 900, '10.30.0.2');
  try {
    await waitListening(srv);
    await record(H1, UNDER1, file, async () => {
      assert.equal(await client(H1, 42000, 9200, 1200, '10.30.0.1', '10.30.0.2'), 900);
    });
  } finally {
    srv.kill('SIGKILL');
  }
  const recs: RecordValues[] = [];
  await analyzeCaptures([{ path: file }], { onRecord: (x) => recs.push(x) });
  const tcp = recs.filter((x) => x['proto'] === 'tcp' && x['orig_h'] === '10.30.0.1');
  assert.equal(tcp.length, 1);
  assert.equal(tcp[0]!['encap'], 'mpls:label=101');
  assert.deepEqual([n(tcp[0]!, 'orig_bytes'), n(tcp[0]!, 'resp_bytes'), tcp[0]!['conn_state']], [1200, 900, 'SF']);
  const st = [...tsharkStreams(file).values()].filter((s) => s.a.startsWith('10.30.0.'));
  assert.equal(st.length, 1);
  assert.equal(st[0]!.pkts[0] + st[0]!.pkts[1], n(tcp[0]!, 'orig_pkts') + n(tcp[0]!, 'resp_pkts'));
});
