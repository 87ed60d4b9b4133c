/**
 * JA4 and JA3, checked three ways:
 * 1. the worked examples of FoxIO's specification (technical_details/JA4.md
 *    in FoxIO-LLC/ja4): raw and hashed forms, the no-signature-algorithm
 *    form, and the ALPN hex rule's five examples;
 * 2. an independent JA4 computed here, straight from the specification, on
 *    tshark 4.0's dissection of every fixture ClientHello
 *    (fixtures/pcaps/oracles/tls/*.ja4-inputs.tsv, made by the script beside
 *    them);
 * 3. nDPI's own JA4 and JA3 of the three connections of ndpi__psiphon3 and
 *    ndpi__6in4tunnel (its expected ndpiReader output): the hashed parts
 *    agree, and the first part differs where nDPI departs from the
 *    specification (documented in docs/l7.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TLS } from '../src/protocols/tls.js';
import { ja4, ja4Parts } from '../src/protocols/tls-fingerprint.js';
import type { ClientHello } from '../src/protocols/tls-hello.js';
import { FIX } from './_fixtures.js';
import { decodeCapture, readTsharkTsv } from './_l7-helpers.js';
import { TLS_CAPTURES } from './_tls-helpers.js';

function hello(p: Partial<ClientHello>): ClientHello {
  return {
    version: 0x0303, sessionId: '', ciphers: [], compMethods: [0], exts: [], serverName: null, alpn: null, alpnFirst: null, groups: null,
    pointFormats: null, sigalgs: null, supportedVersions: null, keyShareGroups: null, pskModes: null, psk: false, ticket: false,
    echKdf: -1, echAead: -1, v2: false, ...p,
  };
}

const specHello = hello({
  // the specification's example, with GREASE values added: they must not count
  ciphers: [0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035],
  exts: [0x2a2a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0xfafa],
  sigalgs: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
  supportedVersions: [0x5a5a, 0x0304, 0x0303],
  alpnFirst: Buffer.from('h2'),
});

test("JA4 of the specification's example", () => {
  assert.equal(ja4(specHello), 't13d1516h2_8daaf6152771_e5627efa2ab1');
  assert.equal(
    ja4Parts(specHello).join('_'),
    't13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601',
  );
});

test('JA4 without signature algorithms hashes the extensions alone (specification: 6d807ffa2a79)', () => {
  assert.equal(ja4(hello({ ...specHello, sigalgs: null })).split('_')[2], '6d807ffa2a79');
});

test("JA4's ALPN characters follow the specification's examples", () => {
  const a = (bytes: number[]): string => ja4(hello({ alpnFirst: Uint8Array.from(bytes) })).slice(8, 10);
  assert.equal(a([0xab]), 'ab');
  assert.equal(a([0xab, 0xcd]), 'ad');
  assert.equal(a([0x30, 0xab]), '3b');
  assert.equal(a([0x30, 0x31, 0xab, 0xcd]), '3d');
  assert.equal(a([0x30, 0xab, 0xcd, 0x31]), '01');
  assert.equal(a([...Buffer.from('http/1.1')]), 'h1');
  assert.equal(ja4(hello({})).slice(8, 10), '00');
  assert.equal(ja4(hello({})), 't12i000000_000000000000_000000000000');
});

/** JA4 from tshark's fields, written from the specification without the decoder's code. */
function ja4FromTshark(f: Record<string, string>): string {
  const list = (k: string): string[] => (f[k] ? f[k]!.split('|') : []);
  const grease = (h: string): boolean => /^(0x)?([0-9a-f])a\2a$/i.test(h);
  const hx = (v: string): string => v.replace(/^0x/, '').toLowerCase().padStart(4, '0');
  const ciphers = list('tls.handshake.ciphersuite').map(hx).filter((h) => !grease(h));
  const exts = list('tls.handshake.extension.type').map((d) => Number(d).toString(16).padStart(4, '0')).filter((h) => !grease(h));
  const versions = list('tls.handshake.extensions.supported_version').map(hx).filter((h) => !grease(h)).sort();
  const v = versions.length > 0 ? versions[versions.length - 1]! : hx(f['tls.handshake.version']!);
  const ver = ({ '0304': '13', '0303': '12', '0302': '11', '0301': '10', '0300': 's3' } as Record<string, string>)[v] ?? '00';
  const alpn = list('tls.handshake.extensions_alpn_str')[0] ?? '';
  const al = alpn === '' ? '00' : alpn[0]! + alpn[alpn.length - 1]!;
  const n2 = (n: number): string => String(Math.min(n, 99)).padStart(2, '0');
  const a = `t${ver}${exts.includes('0000') ? 'd' : 'i'}${n2(ciphers.length)}${n2(exts.length)}${al}`;
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);
  const b = ciphers.length === 0 ? '000000000000' : sha([...ciphers].sort().join(','));
  const e = exts.filter((x) => x !== '0000' && x !== '0010').sort().join(',');
  // tshark lists the entries of signature_algorithms (13) and signature_algorithms_cert (50) in one field;
  // sig_hash_alg_len gives each list's byte length, in extension order: keep extension 13's
  const all = list('tls.handshake.sig_hash_alg');
  const lens = list('tls.handshake.sig_hash_alg_len').map(Number);
  const owners = list('tls.handshake.extension.type').filter((t) => t === '13' || t === '50');
  let at = 0;
  let sigs: string[] = [];
  owners.forEach((t, i) => {
    const n = (lens[i] ?? 0) / 2;
    if (t === '13') sigs = all.slice(at, at + n);
    at += n;
  });
  const s = sigs.map(hx).filter((h) => !grease(h)).join(',');
  const c = e === '' ? '000000000000' : sha(s === '' ? e : `${e}_${s}`);
  return `${a}_${b}_${c}`;
}

test('JA4 equals the one computed from tshark 4.0 fields on every fixture ClientHello', async () => {
  let n = 0;
  for (const path of TLS_CAPTURES) {
    const tsv = join(FIX, 'oracles', 'tls', `${path.split('/').pop()}.ja4-inputs.tsv`);
    const first = new Map<string, Record<string, string>>();
    for (const f of readTsharkTsv(tsv)) if (!first.has(f['tcp.srcport']!)) first.set(f['tcp.srcport']!, f);
    const { transactions } = await decodeCapture(path, [TLS]);
    for (const [port, f] of first) {
      const r = transactions.find((t) => String(t['orig_p']) === port);
      assert.ok(r !== undefined, `${path}: no record for port ${port}`);
      assert.equal(r['ja4'], ja4FromTshark(f), `${path} port ${port}`);
      n++;
    }
  }
  assert.equal(n, 17);
});

test("nDPI's JA3 and JA4 of ndpi__psiphon3 and ndpi__6in4tunnel: hashes agree, first parts differ where nDPI leaves the specification", async () => {
  const got = new Map<string, [string, string]>();
  for (const n of ['ndpi__psiphon3.pcap', 'ndpi__6in4tunnel.pcap']) {
    for (const t of (await decodeCapture(join(FIX, n), [TLS])).transactions) got.set(String(t['orig_p']), [String(t['ja3']), String(t['ja4'])]);
  }
  // from nDPI's expected ndpiReader output (ntop/nDPI @ 3b1286ab03b0, tests/cfgs/default/result/{psiphon3,6in4tunnel}.pcap.out; shared/pcaps)
  const ndpi: [string, string, string][] = [
    ['40557', '2d703033628575a99d44820c43b84876', 't12d1508h2_073e58a039a6_e70312a1ce2c'],
    ['60205', '812d8bce0f85487ba7834d36568ed586', 't12d660800_05dad94a8930_ad3c3a211394'],
    ['53234', 'eb7cdd4e7dea7a11b3016c3c9acbd2a3', 't12d1311sp_94beff773b37_06a4338d0495'],
  ];
  for (const [port, j3, j4] of ndpi) {
    const [ourJ3, ourJ4] = got.get(port)!;
    assert.equal(ourJ3, j3, `JA3 of port ${port}`);
    assert.equal(ourJ4.slice(10), j4.slice(10), `JA4 hashes of port ${port}`);
  }
  // psiphon3's ClientHello has no server_name extension (nDPI itself flags "Missing SNI TLS Extn"): the spec says "i"
  assert.equal(got.get('40557')![1].slice(0, 10), 't12i1508h2');
  // facebook's first ALPN value is "spdy/3.1": first and last characters are "s" and "1" (nDPI prints the first two)
  assert.equal(got.get('53234')![1].slice(0, 10), 't12d1311s1');
  assert.equal(got.get('60205')![1], 't12d660800_05dad94a8930_ad3c3a211394');
});

