/**
 * Times keep their nanoseconds for readers that parse numbers as doubles:
 * every record carries ts_iso / last_ts_iso (RFC 3339 text with 9 fraction
 * digits) beside the numeric ts / last_ts, and tcpsummary's from and to are
 * written with every digit (plus from_iso / to_iso).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './_capture-helpers.js';
import { FIX } from './_fixtures.js';
import { run } from './_cli.js';

/** The exact text of a top-level number field in a record line. */
const raw = (line: string, key: string): string => new RegExp(`[{,]"${key}":([0-9.]+)`).exec(line)![1]!;

/** Epoch text "1418145369.924505488" as RFC 3339 with 9 digits, computed here with BigInt. */
function iso(text: string): string {
  const [s, f = ''] = text.split('.');
  const ns = BigInt(s!) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9));
  const ms = ns / 1_000_000n;
  return new Date(Number(ms)).toISOString().slice(0, 19) + '.' + String(ns % 1_000_000_000n).padStart(9, '0') + 'Z';
}

const NANO = [join(FIX, 'tcpdump__tcp-handshake-nano.pcap'), join(FIX, 'recorded/http-clean-v6-nano.pcap'), join(FIX, 'zeek__http-get-to-ssh-server.pcap')];

test('ts_iso and last_ts_iso spell ts and last_ts to the nanosecond, where a double read of ts does not', () => {
  let lossy = 0;
  for (const cap of NANO) {
    const lines = run('tcpanalyze', ['--format', 'ndjson', cap]).stdout.trimEnd().split('\n');
    assert.ok(lines.length > 0);
    for (const l of lines) {
      const r = JSON.parse(l) as Record<string, unknown>;
      assert.equal(r['ts_iso'], iso(raw(l, 'ts')), cap);
      assert.equal(r['last_ts_iso'], iso(raw(l, 'last_ts')), cap);
      if (String(r['ts']) !== raw(l, 'ts')) lossy++;
    }
  }
  assert.ok(lossy > 0, 'some nanosecond times do not survive as doubles (why ts_iso exists)');
});

test('tcpsummary from and to are the earliest ts and the latest last_ts with every digit, and as RFC 3339', () => {
  const text = NANO.map((c) => run('tcpanalyze', ['--format', 'ndjson', c]).stdout).join('');
  const lines = text.trimEnd().split('\n');
  const key = (t: string): bigint => BigInt(t.replace('.', ''));
  const from = lines.map((l) => raw(l, 'ts')).sort((a, b) => (key(a) < key(b) ? -1 : 1))[0]!;
  const to = lines.map((l) => raw(l, 'last_ts')).sort((a, b) => (key(a) < key(b) ? 1 : -1))[0]!;
  const out = run('tcpsummary', ['-f', 'json'], { input: text }).stdout;
  assert.equal(raw(out.replace(/\s+/g, ''), 'from'), from);
  assert.equal(raw(out.replace(/\s+/g, ''), 'to'), to);
  const s = JSON.parse(out) as { summary: Record<string, unknown> };
  assert.equal(s.summary['from_iso'], iso(from));
  assert.equal(s.summary['to_iso'], iso(to));
  // --since carries the earlier summary's "to" with every digit too
  const { dir, cleanup } = makeTempDir('exact-time-');
  try {
    writeFileSync(join(dir, 'earlier.json'), out);
    const since = run('tcpsummary', ['-f', 'json', '--since', join(dir, 'earlier.json')], { input: text });
    assert.equal(since.status, 0, since.stderr);
    assert.equal(raw(since.stdout.replace(/\s+/g, ''), 'since'), to);
  } finally {
    cleanup();
  }
});
