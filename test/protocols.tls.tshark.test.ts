/**
 * The TLS decoder against tshark 4.0's dissection of every L7 TLS fixture
 * (the stored `.tshark.tsv` dumps): per ClientHello frame the SNI, legacy
 * version, offered ciphers, supported versions, ALPN list and JA3; per
 * ServerHello frame the cipher, negotiated version and JA3S; per alert the
 * description. A connection's record holds the latest hello of each side
 * (tshark: the last frame of that type in the stream). Differences are
 * listed and explained in docs/l7.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { TLS } from '../src/protocols/tls.js';
import { alertName, cipherName, versionName } from '../src/protocols/tls-names.js';
import { decodeCapture, readTsharkTsv } from './_l7-helpers.js';
import { TLS_CAPTURES, zeekText } from './_tls-helpers.js';

/** "capture port field: tshark=... tcpkit=..." */
const KNOWN: string[] = [
  // tshark 4.0 never sees the ServerHello after the HelloRetryRequest (its segment arrives out of order): its JA3S is the HRR's
  'zeek__tls-hrr.pcap 63564 ja3s: tshark=15af977ce25de452b96affa2addb1036 tcpkit=907bf3ecef1c987c889946b737b43de8',
];

const hexList = (s: string | undefined): number[] | null => (s === undefined || s === '' ? null : s.split('|').map((x) => parseInt(x, 16)));
const diffs: string[] = [];
let compared = 0;
let agreed = 0;

for (const path of TLS_CAPTURES.filter((p) => existsSync(`${p}.tshark.tsv`))) {
  const name = path.split('/').pop()!;
  test(`tshark's TLS fields for ${name} agree`, async () => {
    const frames = readTsharkTsv(`${path}.tshark.tsv`);
    const { transactions } = await decodeCapture(path, [TLS]);
    const check = (port: string, field: string, tshark: string | null, ours: string | null): void => {
      compared++;
      if (tshark === ours) agreed++;
      else diffs.push(`${name} ${port} ${field}: tshark=${tshark} tcpkit=${ours}`);
    };
    const last = new Map<string, Record<string, string>>();
    for (const f of frames) {
      const types = (f['tls.handshake.type'] ?? '').split('|');
      if (types.includes('1')) last.set(`c${f['tcp.srcport']}`, f);
      if (types.includes('2')) last.set(`s${f['tcp.dstport']}`, f);
      if (f['tls.alert_message.desc'] !== '' && f['tls.alert_message.desc'] !== undefined) last.set(`a${f['tcp.dstport'] === '443' ? f['tcp.srcport'] : f['tcp.dstport']}`, f);
    }
    for (const [key, f] of last) {
      const port = key.slice(1);
      const r = transactions.find((t) => String(t['orig_p']) === port);
      assert.ok(r !== undefined, `no record for port ${port}`);
      if (key[0] === 'c') {
        check(port, 'server_name', f['tls.handshake.extensions_server_name'] || null, zeekText(r['server_name']));
        check(port, 'client_version', String(parseInt(f['tls.handshake.version']!, 16)), zeekText(r['client_version']));
        check(port, 'client_ciphers', zeekText(hexList(f['tls.handshake.ciphersuite'])), zeekText(r['client_ciphers']));
        check(port, 'client_supported_versions', zeekText(hexList(f['tls.handshake.extensions.supported_version'])), zeekText(r['client_supported_versions']));
        check(port, 'orig_alpn', f['tls.handshake.extensions_alpn_str'] || null, r['orig_alpn'] === null ? null : (r['orig_alpn'] as string[]).join('|'));
        check(port, 'ja3', f['tls.handshake.ja3']!.split('|')[0]!, zeekText(r['ja3']));
      } else if (key[0] === 's') {
        const sv = f['tls.handshake.extensions.supported_version'] || f['tls.handshake.version']!;
        check(port, 'version', versionName(parseInt(sv, 16)), zeekText(r['version']));
        check(port, 'cipher', cipherName(parseInt(f['tls.handshake.ciphersuite']!, 16)), zeekText(r['cipher']));
        check(port, 'ja3s', f['tls.handshake.ja3s']!, zeekText(r['ja3s']));
      } else {
        const descs = f['tls.alert_message.desc']!.split('|');
        check(port, 'last_alert', alertName(Number(descs[descs.length - 1])), zeekText(r['last_alert']));
      }
    }
  });
}

test('the differences from tshark are exactly the documented ones', () => {
  console.log(`# tshark agreement: ${agreed}/${compared} field values`);
  assert.deepEqual([...new Set(diffs)].sort(), [...KNOWN].sort());
  assert.ok(compared > 90);
});
