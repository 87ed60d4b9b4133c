/**
 * Ground truth for the DNS decoder: real DNS traffic in two network
 * namespaces the test creates and deletes (a veth pair, documentation
 * addresses 192.0.2.1/24 + 2001:db8::1/64 and 192.0.2.2/24 +
 * 2001:db8::2/64; no other network is touched).
 *
 * The server namespace runs unbound, authoritative for a zone written here
 * ("lab.": A, AAAA, CNAME, MX, TXT, SRV, NS, SOA, PTR; NXDOMAIN for other
 * names), refusing "refuse.lab." and dropping every query for "drop.lab."
 * (so the client sends it twice and gets nothing), and forwarding
 * "slow.example." to a stub on port 5300 that answers 200 ms late (the
 * kernel here has no netem). The client namespace runs a Node client that
 * sends each query over UDP (IPv4 and IPv6) or TCP (two queries pipelined
 * in one write, then one more on the same connection) and logs what it
 * sent and received, with its own latency measurement; tcpdump captures
 * the client's interface.
 *
 * The decoded records must equal the client's log: one record per query,
 * with its ID, name, type, rcode and the zone's answers and TTLs; the
 * dropped query unanswered with its copy counted; latency no more than the
 * client measured and within 50 ms of it, and at least the stub's delay for
 * the forwarded query. Skipped, with the reason, when not root or when ip,
 * tcpdump or unbound is missing (.ci/run installs them).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DNS } from '../src/protocols/dns.js';
import { makeTempDir } from './_capture-helpers.js';
import { decodeCapture } from './_l7-helpers.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['ip', 'tcpdump', 'unbound'].filter((c) => !has(c));
let SKIP: string | false =
  process.getuid?.() !== 0 ? 'needs root (network namespaces, a veth pair and packet capture)' : missing.length > 0 ? `needs ${missing.join(', ')} on PATH (.ci/run installs them)` : false;

const id = process.pid;
const NS_S = `tkd-s-${id}`;
const NS_C = `tkd-c-${id}`;
const IF_S = `tkds${id}`.slice(0, 15);
const IF_C = `tkdc${id}`.slice(0, 15);
const STUB_DELAY_MS = 200;

/** The zone: what each (name, type) must answer. */
const ZONE: { name: string; type: number; answers: string[]; ttls: number[]; rcode: number }[] = [
  { name: 'a.lab', type: 1, answers: ['192.0.2.10', '192.0.2.11'], ttls: [300, 300], rcode: 0 },
  { name: 'a.lab', type: 28, answers: ['2001:db8::10'], ttls: [300], rcode: 0 },
  { name: 'www.lab', type: 5, answers: ['a.lab'], ttls: [600], rcode: 0 },
  { name: 'lab', type: 15, answers: ['mail.lab'], ttls: [3600], rcode: 0 },
  { name: 'lab', type: 16, answers: ['TXT 11 hello world TXT 3 foo'], ttls: [60], rcode: 0 },
  { name: '_sip._udp.lab', type: 33, answers: ['sip.lab'], ttls: [120], rcode: 0 },
  { name: 'lab', type: 2, answers: ['ns.lab'], ttls: [3600], rcode: 0 },
  { name: 'lab', type: 6, answers: ['ns.lab'], ttls: [3600], rcode: 0 },
  { name: '10.2.0.192.in-addr.arpa', type: 12, answers: ['a.lab'], ttls: [3600], rcode: 0 },
  { name: 'nx.lab', type: 1, answers: [], ttls: [], rcode: 3 },
  { name: 'refuse.lab', type: 1, answers: [], ttls: [], rcode: 5 },
  { name: 'slow.example', type: 1, answers: ['192.0.2.99'], ttls: [60], rcode: 0 },
];

const UNBOUND_CONF = (dir: string): string => `server:
  interface: 192.0.2.1
  interface: 2001:db8::1
  port: 53
  do-ip4: yes
  do-ip6: yes
  do-udp: yes
  do-tcp: yes
  access-control: 192.0.2.0/24 allow
  access-control: 2001:db8::/64 allow
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  do-daemonize: no
  num-threads: 1
  so-reuseport: no
  rrset-roundrobin: no
  minimal-responses: yes
  do-not-query-localhost: no
  local-zone: "lab." static
  local-data: "lab. 3600 IN SOA ns.lab. admin.lab. 1 3600 600 86400 60"
  local-data: "lab. 3600 IN NS ns.lab."
  local-data: "lab. 3600 IN MX 10 mail.lab."
  local-data: 'lab. 60 IN TXT "hello world" "foo"'
  local-data: "a.lab. 300 IN A 192.0.2.10"
  local-data: "a.lab. 300 IN A 192.0.2.11"
  local-data: "a.lab. 300 IN AAAA 2001:db8::10"
  local-data: "www.lab. 600 IN CNAME a.lab."
  local-data: "_sip._udp.lab. 120 IN SRV 10 5 5060 sip.lab."
  local-zone: "2.0.192.in-addr.arpa." static
  local-data: "2.0.192.in-addr.arpa. 3600 IN SOA ns.lab. admin.lab. 1 3600 600 86400 60"
  local-data-ptr: "192.0.2.10 3600 a.lab."
  local-zone: "refuse.lab." refuse
  local-zone: "drop.lab." deny
forward-zone:
  name: "slow.example."
  forward-addr: 192.0.2.1@5300
remote-control:
  control-enable: no
`;

/** The stub behind "slow.example.": answers every query with one A record, STUB_DELAY_MS late. */
const STUB = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
s.on('message', (q, rinfo) => {
  let p = 12;
  while (q[p] !== 0) p += q[p] + 1;
  p += 5;
  const head = Buffer.from(q.subarray(0, p));
  head.writeUInt16BE(0x8400 | (q.readUInt16BE(2) & 0x0100), 2);
  head.writeUInt16BE(1, 6); head.writeUInt16BE(0, 8); head.writeUInt16BE(0, 10);
  const ans = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 99]);
  setTimeout(() => s.send(Buffer.concat([head, ans]), rinfo.port, rinfo.address), ${STUB_DELAY_MS});
});
s.bind(5300, '192.0.2.1', () => console.log('listening'));
`;

/**
 * The client: sends the queries and logs, per query, what it sent and got:
 * {proto, family, id, name, type, copies, latencyMs, rcode}. Its own
 * minimal wire code: a query is built by hand; of a response it reads only
 * the ID and the header's RCODE.
 */
const CLIENT = `
const dgram = require('node:dgram');
const net = require('node:net');
const log = [];
const now = () => Number(process.hrtime.bigint()) / 1e6;
function query(id, name, type) {
  const labels = name.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]);
  return Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, type >> 8, type & 255, 0, 1]);
}
let nextId = 0x5000;
function udp(family, server, name, type, copies = 1, waitMs = 1500) {
  return new Promise((resolve) => {
    const id = nextId++;
    const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    const q = query(id, name, type);
    const e = { proto: 'udp', family, id, name, type, copies, latencyMs: null, rcode: null };
    let t0 = 0;
    const done = () => { clearTimeout(timer); s.close(); log.push(e); resolve(); };
    s.on('message', (m) => {
      if (m.readUInt16BE(0) !== id || e.rcode !== null) return;
      e.latencyMs = now() - t0;
      e.rcode = m[3] & 15;
      done();
    });
    const timer = setTimeout(done, waitMs);
    s.connect(53, server, () => {
      t0 = now();
      s.send(q);
      for (let i = 1; i < copies; i++) setTimeout(() => s.send(q), 400 * i);
    });
  });
}
function tcp(server, batches) {
  return new Promise((resolve) => {
    const c = net.connect(53, server);
    const pending = new Map();
    let buf = Buffer.alloc(0);
    let b = 0;
    const sendBatch = () => {
      const parts = [];
      const t0 = now();
      for (const [name, type] of batches[b]) {
        const id = nextId++;
        const q = query(id, name, type);
        parts.push(Buffer.from([q.length >> 8, q.length & 255]), q);
        pending.set(id, { proto: 'tcp', family: 4, id, name, type, copies: 1, latencyMs: null, rcode: null, t0 });
      }
      c.write(Buffer.concat(parts));
    };
    c.on('connect', sendBatch);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        const e = pending.get(m.readUInt16BE(0));
        e.latencyMs = now() - e.t0;
        e.rcode = m[3] & 15;
        delete e.t0;
        pending.delete(e.id);
        log.push(e);
        if (pending.size === 0) {
          if (++b < batches.length) setTimeout(sendBatch, 50);
          else c.end();
        }
      }
    });
    c.on('close', resolve);
  });
}
(async () => {
  if (process.argv[2] === 'probe') {
    await udp(4, '192.0.2.1', 'a.lab', 1, 1, 300);
    process.stdout.write(log[0].rcode === 0 ? 'ready\\n' : 'not ready\\n');
    return;
  }
  for (const [name, type] of ${JSON.stringify([['a.lab', 1], ['a.lab', 28], ['www.lab', 5], ['lab', 15], ['lab', 16], ['_sip._udp.lab', 33], ['lab', 2], ['lab', 6], ['10.2.0.192.in-addr.arpa', 12], ['nx.lab', 1], ['refuse.lab', 1], ['slow.example', 1]])}) await udp(4, '192.0.2.1', name, type);
  await udp(4, '192.0.2.1', 'drop.lab', 1, 2, 1200);
  await udp(6, '2001:db8::1', 'a.lab', 1);
  await tcp('192.0.2.1', [[['a.lab', 1], ['lab', 16]], [['nx.lab', 1]]]);
  for (const e of log) process.stdout.write(JSON.stringify(e) + '\\n');
})();
`;

let tmp = '';
let cleanupDir = (): void => {};
const children: ChildProcess[] = [];

function sh(cmd: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', input: input ?? '', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(cmd: string[]): string {
  const r = sh(cmd);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Starts a child and resolves when its stdout or stderr says `ready` (rejects after 15 s or on exit). */
function startUntil(cmd: string[], ready: RegExp): Promise<ChildProcess> {
  const p = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not start: ${out}`)), 15_000);
    const on = (d: Buffer): void => {
      out += String(d);
      if (ready.test(out)) {
        clearTimeout(t);
        resolve(p);
      }
    };
    p.stdout!.on('data', on);
    p.stderr!.on('data', on);
    p.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${cmd.join(' ')} exited (${code}): ${out}`));
    });
  });
}

before(async () => {
  ({ dir: tmp, cleanup: cleanupDir } = makeTempDir('tcpkit-dns-netns-'));
  if (SKIP) return;
  const probe = sh(['ip', 'netns', 'add', NS_S]);
  if (probe.status !== 0) {
    SKIP = `cannot create a network namespace here: ${probe.stderr.trim()}`;
    return;
  }
  must(['ip', 'netns', 'add', NS_C]);
  must(['ip', 'link', 'add', IF_S, 'type', 'veth', 'peer', 'name', IF_C]);
  must(['ip', 'link', 'set', IF_S, 'netns', NS_S]);
  must(['ip', 'link', 'set', IF_C, 'netns', NS_C]);
  for (const [ns, dev, v4, v6] of [
    [NS_S, IF_S, '192.0.2.1/24', '2001:db8::1/64'],
    [NS_C, IF_C, '192.0.2.2/24', '2001:db8::2/64'],
  ] as const) {
    must(['ip', '-n', ns, 'addr', 'add', v4, 'dev', dev]);
    must(['ip', '-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad']);
    must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
  }
  writeFileSync(join(tmp, 'unbound.conf'), UNBOUND_CONF(tmp));
  writeFileSync(join(tmp, 'stub.cjs'), STUB);
  writeFileSync(join(tmp, 'client.cjs'), CLIENT);
  await startUntil(['ip', 'netns', 'exec', NS_S, process.execPath, join(tmp, 'stub.cjs')], /listening/);
  const check = sh(['unbound-checkconf', join(tmp, 'unbound.conf')]);
  if (check.status !== 0 && has('unbound-checkconf')) throw new Error(`unbound-checkconf: ${check.stdout}${check.stderr}`);
  const unbound = spawn('ip', ['netns', 'exec', NS_S, 'unbound', '-d', '-c', join(tmp, 'unbound.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(unbound);
  let err = '';
  unbound.stderr!.on('data', (d) => (err += String(d)));
  // ready when it answers
  for (let i = 0; ; i++) {
    const r = sh(['ip', 'netns', 'exec', NS_C, process.execPath, join(tmp, 'client.cjs'), 'probe']);
    if (r.stdout === 'ready\n') break;
    if (i === 50 || unbound.exitCode !== null) throw new Error(`unbound did not answer: ${err}`);
    await new Promise((res) => setTimeout(res, 100));
  }
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
  if (process.getuid?.() === 0) for (const ns of [NS_S, NS_C]) sh(['ip', 'netns', 'del', ns]);
  cleanupDir();
});

interface Sent {
  proto: 'udp' | 'tcp';
  family: 4 | 6;
  id: number;
  name: string;
  type: number;
  copies: number;
  latencyMs: number | null;
  rcode: number | null;
}

test('real DNS traffic (unbound, a Node client, UDP over IPv4 and IPv6, pipelined TCP) decodes to the client\'s log: IDs, names, types, rcodes, the zone\'s answers, latency', async (t) => {
  if (SKIP) return t.skip(SKIP);
  const pcap = join(tmp, 'dns.pcap');
  const dump = await startUntil(['ip', 'netns', 'exec', NS_C, 'tcpdump', '-i', IF_C, '-n', '--immediate-mode', '-U', '-w', pcap, 'port 53'], /listening on/);
  const run = sh(['ip', 'netns', 'exec', NS_C, process.execPath, join(tmp, 'client.cjs')]);
  assert.equal(run.status, 0, run.stderr);
  // every packet reaches tcpdump at once (--immediate-mode); give the last ones time to be written
  await new Promise((res) => setTimeout(res, 500));
  const exited = new Promise((res) => dump.on('exit', res));
  dump.kill('SIGINT');
  await exited;
  const sent = run.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Sent);
  assert.equal(sent.length, 17);
  const { transactions } = await decodeCapture(pcap, [DNS]);
  assert.equal(transactions.length, sent.length, transactions.map((x) => [x['proto'], x['trans_id'], x['query'], x['qtype'], x['state'], x['problem']].join(' ')).join('\n'));
  const worst: number[] = [];
  for (const e of sent) {
    const r = transactions.find((x) => x['trans_id'] === e.id && x['proto'] === e.proto);
    assert.ok(r, `no record for ${JSON.stringify(e)}`);
    const where = `${e.proto} ${e.name} type ${e.type}`;
    assert.deepEqual([r['query'], r['qtype'], r['query_retransmits'], r['resp_h']], [e.name, e.type, e.copies - 1, e.family === 6 ? '2001:db8::1' : '192.0.2.1'], where);
    if (e.rcode === null) {
      assert.equal(e.name, 'drop.lab');
      assert.deepEqual([r['state'], r['rcode'], r['problem']], ['unanswered', null, 'no response before the flow ended'], where);
      continue;
    }
    const z = ZONE.find((x) => x.name === e.name && x.type === e.type)!;
    assert.deepEqual([r['state'], r['rcode'], e.rcode, r['answers'] ?? [], r['TTLs'] ?? []], ['complete', z.rcode, z.rcode, z.answers, z.ttls], where);
    const ours = Number(r['latency_ms']);
    assert.ok(ours > 0 && ours <= e.latencyMs! + 0.001 && e.latencyMs! - ours < 50, `${where}: capture ${ours} ms, client ${e.latencyMs} ms`);
    worst.push(e.latencyMs! - ours);
    if (e.name === 'slow.example') assert.ok(ours >= STUB_DELAY_MS, `${where}: ${ours} ms`);
  }
  t.diagnostic(`client latency minus capture latency: max ${Math.max(...worst).toFixed(3)} ms over ${worst.length} answers`);
});
