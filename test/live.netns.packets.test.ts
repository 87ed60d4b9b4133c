/**
 * tcpcapture packets on a real interface, as root, inside two network
 * namespaces the test creates and deletes (a veth pair with documentation
 * addresses 192.0.2.1/24 + 2001:db8::1/64 and 192.0.2.2/24 + 2001:db8::2/64;
 * no other network is touched). The server namespace runs a small node HTTP
 * server and nftables rules that reject (TCP reset) port 8081 and drop port
 * 8082; the client namespace runs curl. The archive, the live handshake
 * lines, the tcpeek summary and the Prometheus endpoint must show the
 * successes, the rejection and the timeout. Skipped, with the reason, when
 * not root or when ip, tcpdump, nft or curl is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './_capture-helpers.js';
import { TCPCAPTURE, listFiles, readArchive, runCsvtool, startTcpcapture } from './_live-packets-helpers.js';

type Rec = Record<string, string | number | boolean | null>;

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['ip', 'tcpdump', 'nft', 'curl'].filter((c) => !has(c));
let SKIP: string | false =
  process.getuid?.() !== 0 ? 'needs root (network namespaces, a veth pair, nftables and packet capture)' : missing.length > 0 ? `needs ${missing.join(', ')} on PATH (.ci/run installs them)` : false;

const id = process.pid;
const NS_S = `tkp-s-${id}`;
const NS_C = `tkp-c-${id}`;
const IF_S = `tkvs${id}`.slice(0, 15);
const IF_C = `tkvc${id}`.slice(0, 15);
const NFT = `table inet tcpkit_test {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 8081 reject with tcp reset
    tcp dport 8082 drop
  }
}
`;

let tmp = '';
let cleanupDir = (): void => {};
let server: ChildProcess | null = null;

function sh(cmd: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', input: input ?? '', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(cmd: string[], input?: string): string {
  const r = sh(cmd, input);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  ({ dir: tmp, cleanup: cleanupDir } = makeTempDir('tcpcapture-netns-'));
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
  // segmentation offloads off, so the capture sees wire-sized segments (not required)
  if (has('ethtool')) sh(['ip', 'netns', 'exec', NS_S, 'ethtool', '-K', IF_S, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  must(['ip', 'netns', 'exec', NS_S, 'nft', '-f', '-'], NFT);
  server = spawn('ip', ['netns', 'exec', NS_S, process.execPath, '-e', "require('http').createServer((q, r) => r.end('ok\\n')).listen(8080, '::', () => console.log('listening'))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the HTTP server did not start')), 15_000);
    server!.stdout!.on('data', (d) => {
      if (String(d).includes('listening')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
});

after(() => {
  server?.kill('SIGKILL');
  if (process.getuid?.() === 0) {
    for (const ns of [NS_S, NS_C]) sh(['ip', 'netns', 'del', ns]); // the veth pair goes with them
  }
  cleanupDir();
});

const parseCsv = (text: string): Rec[] => {
  const [header, ...rows] = text.split('\n').filter((l) => l !== '');
  const cols = header!.split(',');
  // the columns read here never hold commas
  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [cols[i]!, v])));
};

const client = (args: string[]): { status: number | null } => sh(['ip', 'netns', 'exec', NS_C, 'curl', '-s', '-o', '/dev/null', ...args]);

test('a live capture in a network namespace: curl successes, a rejected port and a dropped port are success, reject and timeout in the archive, the live lines, the summary and the metrics; SIGINT ends it cleanly', async (t) => {
  if (SKIP) return t.skip(SKIP);
  const out = join(tmp, 'arch');
  const successes = 3;
  const run = startTcpcapture(['packets', '--iface', IF_S, '--output', out, '--syn-timeout', '1s', '--flows', '1m', '--prom', '127.0.0.1:0'], {
    command: ['ip', 'netns', 'exec', NS_S, process.execPath, TCPCAPTURE],
  });
  try {
    const prom = (await run.waitFor(/metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/))[1]!;
    await run.waitFor(new RegExp(`tcpcapture: tcpdump: listening on ${IF_S}`));
    for (let i = 0; i < successes; i++) assert.equal(client(['http://192.0.2.1:8080/']).status, 0);
    assert.equal(client(['-g', 'http://[2001:db8::1]:8080/']).status, 0);
    assert.equal(client(['--connect-timeout', '3', 'http://192.0.2.1:8081/']).status, 7, 'connection refused');
    assert.equal(client(['--connect-timeout', '2', 'http://192.0.2.1:8082/']).status, 28, 'connect timed out');
    // the timeout is decided while the link is quiet (--syn-timeout 1s)
    await run.waitFor(/192\.0\.2\.2:\d+ +192\.0\.2\.1:8082 +\| failure \(timeout\) \|/, 15_000);
    const metrics = sh(['ip', 'netns', 'exec', NS_S, 'curl', '-s', prom]);
    assert.equal(metrics.status, 0);
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics.stdout)?.[1] ?? NaN);
    assert.deepEqual(
      ['success', 'reject', 'timeout', 'unreach'].map((r) => value(`tcpcapture_handshakes_total{result="${r}"}`)),
      [successes + 1, 1, 1, 0],
    );
    assert.ok(value('tcpcapture_packets_total') >= 6 * (successes + 1), metrics.stdout);
    assert.equal(value('tcpcapture_drops_total{by="kernel"}'), 0);
    run.proc.kill('SIGINT');
    const done = await run.done;
    assert.equal(done.code, 0, run.stderr());
  } finally {
    run.proc.kill('SIGKILL');
  }
  const err = run.stderr();
  assert.equal((err.match(/192\.0\.2\.2:\d+ +192\.0\.2\.1:8080 +\|      success      \|/g) ?? []).length, successes, err);
  assert.match(err, /2001:db8::2:\d+ +2001:db8::1:8080 +\|      success      \|/);
  assert.match(err, /192\.0\.2\.2:\d+ +192\.0\.2\.1:8081 +\| failure \(reject\)  \|/);
  assert.match(err, /\n TX\n   Success: 4 session\n     SYN Segment Duplicate : +\d+\n     S\/A Segment Duplicate : +\d+\n   Failure: 2 session\n     Connection Timed Out  : +1\n     Connection Rejected   : +1\n/);
  assert.match(err, /tcpcapture: tcpdump: \d+ packets received by filter, 0 dropped by kernel, 0 dropped by interface\n/);

  const files = listFiles(out);
  const connFiles = files.filter((f) => !f.startsWith('flows/'));
  assert.ok(connFiles.length >= 1 && files.every((f) => !f.includes('.tcpkit-')), files.join(' '));
  const rows = connFiles.flatMap((f) => {
    const r = runCsvtool(join(out, f));
    assert.equal(r.status, 0, r.stderr);
    return parseCsv(r.stdout);
  });
  const tcp = rows.filter((r) => r['proto'] === 'tcp' && r['end_reason'] !== 'interim');
  const pick = (port: string): Rec[] => tcp.filter((r) => r['resp_p'] === port);
  assert.deepEqual(
    pick('8080').map((r) => [r['orig_h'], r['resp_h'], r['handshake'], r['conn_state']]).sort(),
    [...Array.from({ length: successes }, () => ['192.0.2.2', '192.0.2.1', 'success', 'SF']), ['2001:db8::2', '2001:db8::1', 'success', 'SF']].sort(),
  );
  assert.deepEqual(
    pick('8081').map((r) => [r['orig_h'], r['handshake'], r['conn_state']]),
    [['192.0.2.2', 'reject', 'REJ']],
  );
  assert.deepEqual(
    pick('8082').map((r) => [r['orig_h'], r['handshake'], r['conn_state']]),
    [['192.0.2.2', 'timeout', 'S0']],
  );
  // tcpsummary over every archive file: tcpeek's counts with the server side local (interim records not counted)
  const summary = spawnSync(process.execPath, [join(TCPCAPTURE, '..', 'tcpsummary.js'), '-f', 'json', '--local', '192.0.2.1/32,2001:db8::1/128', 'web:RX@%:8080', 'refused:RX@%:8081', 'dropped:RX@%:8082', ...connFiles.map((f) => join(out, f))], { encoding: 'utf8' });
  assert.equal(summary.status, 0, summary.stderr);
  const counts = (JSON.parse(summary.stdout) as { filters: Record<string, { success: Record<string, number>; failure: Record<string, number>; connections: number }> }).filters;
  assert.deepEqual(
    Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, [v.connections, v.success['total'], v.failure['reject'], v.failure['timeout']]])),
    { web: [successes + 1, successes + 1, 0, 0], refused: [1, 0, 1, 0], dropped: [1, 0, 0, 1] },
  );
  // every address in the archive is one of the test's own (documentation prefixes, or the unspecified, link-local and multicast addresses of IPv6 on the veth)
  for (const r of rows) for (const h of [r['orig_h'], r['resp_h']]) assert.match(String(h), /^(192\.0\.2\.|2001:db8::|fe80::|ff02::|::$)/);
  // the flows of port 8080 over IPv4 add up to its connections
  const flows = files
    .filter((f) => f.startsWith('flows/'))
    .flatMap((f) => readArchive(join(out, f)).lines.map((l) => JSON.parse(l) as Rec))
    .filter((r) => r['resp_p'] === 8080 && r['ip_version'] === 4);
  const v4web = pick('8080').filter((r) => r['orig_h'] === '192.0.2.2');
  const sum = (rs: Rec[], k: string): number => rs.reduce((s, r) => s + Number(r[k]), 0);
  assert.deepEqual(
    ['orig_pkts', 'resp_pkts', 'orig_ip_bytes', 'resp_ip_bytes'].map((k) => sum(flows, k)),
    ['orig_pkts', 'resp_pkts', 'orig_ip_bytes', 'resp_ip_bytes'].map((k) => sum(v4web, k)),
  );
});

test('tcpdump run by an unprivileged user cannot capture: exit 2 naming setcap and root', (t) => {
  if (SKIP) return t.skip(SKIP);
  if (!has('setpriv')) return t.skip('needs setpriv (util-linux) to drop privileges');
  const out = join(tmp, 'unpriv');
  mkdirSync(out, { recursive: true });
  chmodSync(tmp, 0o755);
  chmodSync(out, 0o777);
  const r = sh(['ip', 'netns', 'exec', NS_S, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, TCPCAPTURE, 'packets', '--iface', IF_S, '--tool', 'tcpdump', '--output', out]);
  const tcpdump = must(['sh', '-c', 'command -v tcpdump']).trim();
  assert.deepEqual(
    { status: r.status, stderr: r.stderr },
    { status: 2, stderr: `tcpcapture: tcpdump has no permission to capture on ${IF_S}: run tcpcapture as root, or give tcpdump the capabilities with: sudo setcap cap_net_raw,cap_net_admin=eip ${tcpdump} [CAPTURE_NO_PERMISSION]\n` },
  );
  assert.deepEqual(listFiles(out), []);
});

test('dumpcap as the capture tool (pcapng) in the namespace: a curl success is in the archive', async (t) => {
  if (SKIP) return t.skip(SKIP);
  if (!has('dumpcap')) return t.skip('needs dumpcap (wireshark-common)');
  const out = join(tmp, 'dumpcap');
  const run = startTcpcapture(['packets', '--iface', IF_S, '--tool', 'dumpcap', '--bpf', 'tcp port 8080', '--output', out], {
    command: ['ip', 'netns', 'exec', NS_S, process.execPath, TCPCAPTURE],
  });
  try {
    await run.waitFor(/tcpcapture: capturing on /);
    // dumpcap says nothing once it captures: try until the handshake line shows up
    for (let i = 0; i < 20 && !/\|      success      \|/.test(run.stderr()); i++) {
      assert.equal(client(['http://192.0.2.1:8080/']).status, 0);
      await new Promise((r) => setTimeout(r, 250));
    }
    await run.waitFor(/192\.0\.2\.2:\d+ +192\.0\.2\.1:8080 +\|      success      \|/);
    run.proc.kill('SIGTERM');
    assert.equal((await run.done).code, 0, run.stderr());
  } finally {
    run.proc.kill('SIGKILL');
  }
  const recs = listFiles(out).flatMap((f) => readArchive(join(out, f)).lines.map((l) => JSON.parse(l) as Rec));
  assert.ok(recs.some((r) => r['resp_p'] === 8080 && r['handshake'] === 'success'), JSON.stringify(recs));
  assert.ok(recs.every((r) => r['proto'] === 'tcp' && (r['resp_p'] === 8080 || r['orig_p'] === 8080)), 'the capture filter applied');
});

test('a capture filter tcpdump cannot parse: exit 2 with tcpdump\'s words', (t) => {
  if (SKIP) return t.skip(SKIP);
  const out = join(tmp, 'badbpf');
  const r = sh(['ip', 'netns', 'exec', NS_S, process.execPath, TCPCAPTURE, 'packets', '--iface', IF_S, '--tool', 'tcpdump', '--bpf', 'tcp portt 80', '--output', out]);
  assert.deepEqual(
    { status: r.status, stderr: r.stderr },
    { status: 2, stderr: 'tcpcapture: tcpdump rejected the capture filter "tcp portt 80": can\'t parse filter expression: syntax error [CAPTURE_BAD_FILTER]\n' },
  );
  assert.deepEqual(listFiles(out), []);
});
