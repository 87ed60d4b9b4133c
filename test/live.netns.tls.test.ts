/**
 * Recorded ground truth for the TLS decoder: as root, in two network
 * namespaces the test creates and deletes (a veth pair with documentation
 * addresses 192.0.2.1/24 and 192.0.2.2/24), `openssl s_server` listens on
 * port 8443 (not a well-known TLS port: the decoder must find TLS by
 * sniffing) with ALPN and chosen cipher suites, tcpdump captures the server's
 * side, and a Node `tls` client in the other namespace makes five
 * connections: TLS 1.3 with ALPN h2 and SNI, its resumption, TLS 1.2 with a
 * chosen cipher, its resumption, and a TLS 1.2 client offering only a cipher
 * the server refuses (a handshake_failure alert). Each client logs what it
 * negotiated (version, IANA cipher name, ALPN, resumed, server name, local
 * port); the decoded ssl records must say the same (TLS 1.3's selected ALPN
 * travels encrypted: the record has the client's offer only). Skipped, with the
 * reason, when not root or when ip, tcpdump or openssl is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { TLS } from '../src/protocols/tls.js';
import { makeTempDir } from './_capture-helpers.js';
import { decodeCapture } from './_l7-helpers.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['ip', 'tcpdump', 'openssl'].filter((c) => !has(c));
let SKIP: string | false =
  process.getuid?.() !== 0 ? 'needs root (network namespaces, a veth pair and packet capture)' : missing.length > 0 ? `needs ${missing.join(', ')} on PATH (.ci/run installs them)` : false;

const id = process.pid;
const NS_S = `tkt-s-${id}`;
const NS_C = `tkt-c-${id}`;
const IF_S = `tkts${id}`.slice(0, 15);
const IF_C = `tktc${id}`.slice(0, 15);

let tmp = '';
let cleanupDir = (): void => {};
let server: ChildProcess | null = null;
let dump: ChildProcess | null = null;
let dumpErr = '';

function sh(cmd: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', input: input ?? '', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(cmd: string[], input?: string): string {
  const r = sh(cmd, input);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Resolves when `text` appears on the child's stdout or stderr. */
function waitFor(child: ChildProcess, text: string, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not start`)), 15_000);
    const on = (d: Buffer): void => {
      if (String(d).includes(text)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

before(async () => {
  ({ dir: tmp, cleanup: cleanupDir } = makeTempDir('tcpkit-tls-netns-'));
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
  for (const [ns, dev, v4] of [
    [NS_S, IF_S, '192.0.2.1/24'],
    [NS_C, IF_C, '192.0.2.2/24'],
  ] as const) {
    must(['ip', '-n', ns, 'addr', 'add', v4, 'dev', dev]);
    must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
  }
  must(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'), '-days', '2', '-subj', '/CN=tls.test']);
  dump = spawn('ip', ['netns', 'exec', NS_S, 'tcpdump', '-Z', 'root', '--immediate-mode', '-i', IF_S, '-n', '-s', '0', '-U', '-w', join(tmp, 'tls.pcap'), 'tcp port 8443'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitFor(dump, 'listening on', 'tcpdump');
  dump.stderr!.on('data', (d) => void (dumpErr += String(d)));
  server = spawn(
    'ip',
    [
      'netns', 'exec', NS_S, 'openssl', 's_server', '-accept', '8443', '-cert', join(tmp, 'cert.pem'), '-key', join(tmp, 'key.pem'), '-www',
      '-alpn', 'h2,http/1.1', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384', '-ciphersuites', 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitFor(server, 'ACCEPT', 'openssl s_server');
});

after(() => {
  server?.kill('SIGKILL');
  dump?.kill('SIGKILL');
  if (process.getuid?.() === 0) for (const ns of [NS_S, NS_C]) sh(['ip', 'netns', 'del', ns]);
  cleanupDir();
});

/** The client: five connections, one JSON line each with what it negotiated. */
const CLIENT_JS = `
const tls = require('node:tls');
function once(o) {
  return new Promise((resolve) => {
    let session = null;
    const s = tls.connect({ host: '192.0.2.1', port: 8443, rejectUnauthorized: false, ...o }, () => {
      const c = s.getCipher();
      const r = { port: s.localPort, version: s.getProtocol(), cipher: c.standardName, alpn: s.alpnProtocol || null, resumed: s.isSessionReused(), servername: o.servername || null };
      s.write('GET / HTTP/1.0\\r\\n\\r\\n');
      s.on('data', () => {});
      s.on('end', () => { s.end(); resolve([r, session]); });
    });
    // TLS 1.2 sessions may come before the handshake callback
    s.on('session', (x) => { session = x; });
    s.on('error', (e) => resolve([{ port: s.localPort ?? null, failed: true, error: e.code || e.message }, null]));
  });
}
(async () => {
  const out = [];
  const [a, sa] = await once({ servername: 'tls13.test', minVersion: 'TLSv1.3', ALPNProtocols: ['h2', 'http/1.1'] });
  out.push(a);
  const [b] = await once({ servername: 'tls13.test', minVersion: 'TLSv1.3', ALPNProtocols: ['h2', 'http/1.1'], session: sa });
  out.push(b);
  const [c, sc] = await once({ servername: 'tls12.test', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', ALPNProtocols: ['http/1.1'] });
  out.push(c);
  const [d] = await once({ servername: 'tls12.test', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', ALPNProtocols: ['http/1.1'], session: sc });
  out.push(d);
  const [e] = await once({ servername: 'fail.test', maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' });
  out.push(e);
  for (const x of out) console.log(JSON.stringify(x));
})();
`;

test('openssl s_server handshakes decode to what the client negotiated', async (t) => {
  if (SKIP) return t.skip(SKIP);
  const run = sh(['ip', 'netns', 'exec', NS_C, process.execPath, '-e', CLIENT_JS]);
  assert.equal(run.status, 0, run.stderr);
  const logs = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string | number | boolean | null>);
  assert.equal(logs.length, 5);
  assert.equal(logs[1]!['resumed'], true, 'the TLS 1.3 client resumed');
  assert.equal(logs[3]!['resumed'], true, 'the TLS 1.2 client resumed');
  assert.equal(logs[4]!['failed'], true, 'the refused cipher failed');
  // immediate mode hands each packet over at once; wait a little anyway before stopping tcpdump
  await new Promise((r) => setTimeout(r, 1000));
  dump!.kill('SIGINT');
  await new Promise((r) => dump!.once('exit', r));
  const { transactions, conns } = await decodeCapture(join(tmp, 'tls.pcap'), [TLS]);
  assert.equal(transactions.length, 5, `ssl records from the capture (tcpdump said: ${dumpErr.trim()})`);
  const name = (v: unknown): string => (v === 'TLSv1.3' ? 'TLSv13' : v === 'TLSv1.2' ? 'TLSv12' : String(v));
  for (const log of logs) {
    const r = transactions.find((x) => x['orig_p'] === log['port']);
    assert.ok(r !== undefined, `no record for client port ${log['port']}`);
    if (log['failed']) {
      assert.equal(r['state'], 'alert');
      assert.equal(r['last_alert'], 'handshake_failure');
      assert.equal(r['last_alert_by'], 'server');
      assert.equal(r['established'], false);
      assert.equal(r['server_name'], 'fail.test');
      continue;
    }
    assert.deepEqual(
      { version: r['version'], cipher: r['cipher'], alpn: r['next_protocol'], resumed: r['resumed'], servername: r['server_name'] },
      // TLS 1.3 sends the selected ALPN in EncryptedExtensions: no capture can read it (Zeek's next_protocol is unset too)
      { version: name(log['version']), cipher: log['cipher'], alpn: log['version'] === 'TLSv1.3' ? null : log['alpn'], resumed: log['resumed'], servername: log['servername'] },
      `client port ${log['port']}`,
    );
    assert.equal(r['state'], 'complete');
    assert.equal(r['established'], true);
    assert.ok(typeof r['latency_ms'] === 'number' && r['latency_ms'] >= 0 && typeof r['handshake_ms'] === 'number' && r['handshake_ms'] >= r['latency_ms']);
    assert.match(String(r['ja4']), /^t1[23]d\d{4}(h2|h1)_[0-9a-f]{12}_[0-9a-f]{12}$/);
    if (log['version'] === 'TLSv1.3') assert.equal(r['orig_alpn'] === null ? null : (r['orig_alpn'] as string[]).join(','), 'h2,http/1.1');
  }
  const failed = conns.filter((c) => c['failed_transactions'] === 1);
  assert.equal(failed.length, 1);
  assert.equal(conns.filter((c) => c['service'] === 'ssl').length, 5);
});
