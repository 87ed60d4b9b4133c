/**
 * The TLS decoder against every Zeek ssl.log baseline of the fixtures
 * (base ssl.log, the multi-trace tls13 ssl-out.log, ssl-log-ext's
 * ssl-all.log, the PostgreSQL STARTTLS ssl.cut): every row is matched to a
 * record by the originator's address and port, and every field both have
 * is compared. The differences are listed below, each one explained in
 * docs/l7.md; the test fails on any other difference and on any of
 * these that goes away.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TLS } from '../src/protocols/tls.js';
import { SSL_SCHEMA } from '../src/records/ssl.js';
import { FIX } from './_fixtures.js';
import { L7, decodeCapture } from './_l7-helpers.js';
import { zeekSections, zeekText } from './_tls-helpers.js';

/** Differences from Zeek, as "trace field: zeek=... tcpkit=...". */
const KNOWN: string[] = [];

const baselines = [L7, FIX].flatMap((dir) =>
  readdirSync(dir)
    .filter((n) => /^(zeek__tls-|zeek__postgresql-psql-aws-ssl-require).*\.expected\..*\.(ssl\.log|ssl-out\.log|ssl-all\.log|ssl\.cut)$/.test(n))
    .map((n) => join(dir, n)),
);
const ours = new Set(SSL_SCHEMA.fields.map((f) => f.name));
const ID: Record<string, string> = { 'id.orig_h': 'orig_h', 'id.orig_p': 'orig_p', 'id.resp_h': 'resp_h', 'id.resp_p': 'resp_p' };

test('every TLS baseline is found', () => {
  assert.equal(baselines.length, 17);
});

const diffs: string[] = [];
let compared = 0;
let agreed = 0;

for (const path of baselines) {
  const name = path.split('/').pop()!;
  const capture = path.slice(0, path.indexOf('.expected.'));
  test(`Zeek's ${name.slice(name.indexOf('.expected.') + 10)} for ${capture.split('/').pop()}: the fields both have agree`, async () => {
    const recipe = readdirSync(L7).find((n) => n.startsWith(`${capture.split('/').pop()}.recipe.`) && n.includes(name.split('.expected.zeek.')[1]!.split('.').slice(0, -2).join('.')));
    const sections = zeekSections(path, recipe !== undefined ? join(L7, recipe) : undefined);
    const trace = capture.split('/').pop()!.replace(/^zeek__tls-/, '');
    const rows = sections.get(trace) ?? (sections.size === 1 ? [...sections.values()][0]! : undefined);
    assert.ok(rows !== undefined && rows.length > 0, `no section for ${trace} in ${[...sections.keys()].join(', ')}`);
    const { transactions } = await decodeCapture(capture, [TLS]);
    for (const row of rows) {
      const r = transactions.find((t) => String(t['orig_p']) === row['id.orig_p'] && t['orig_h'] === row['id.orig_h']);
      assert.ok(r !== undefined, `no ssl record for ${row['id.orig_h']}:${row['id.orig_p']}`);
      for (const [k, zv] of Object.entries(row)) {
        const f = ID[k] ?? k;
        if (f === 'ts' || f === 'uid' || !ours.has(f)) continue;
        compared++;
        const tv = zeekText(r[f]);
        if (tv === zv) agreed++;
        else diffs.push(`${trace}:${row['id.orig_p']} ${f}: zeek=${zv} tcpkit=${tv}`);
      }
    }
  });
}

test('the differences from Zeek are exactly the documented ones', () => {
  console.log(`# Zeek agreement: ${agreed}/${compared} field values`);
  assert.deepEqual([...new Set(diffs)].sort(), [...KNOWN].sort());
});
