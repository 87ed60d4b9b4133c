/**
 * tcpanalyze --decode end to end: options and their conflicts, where the
 * record kinds go (one stream, a directory of one file per kind, CSV of one
 * kind), and how the other commands read what it writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { makeTempDir } from './_capture-helpers.js';
import { run } from './_cli.js';
import { L7 } from './_l7-helpers.js';

const METHODS = join(L7, 'zeek__http-methods.pcap');
const LOWER = join(L7, 'zeek__http-http-lower-case-nonstandard-port.pcap');

function parse(ndjson: string): Record<string, unknown>[] {
  return ndjson.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('usage errors name the problem: unknown protocol, a port for a protocol not decoded, a kind not produced, CSV of two kinds, --decode with --flags', () => {
  const cases: [string[], RegExp][] = [
    [['--decode', 'gopher', METHODS], /--decode: unknown protocol "gopher" \(known: .*http.*, or all\)/],
    [['--decode-port', 'http:8081', METHODS], /--decode-port http:\.\.\.: http is not decoded; add it to --decode/],
    [['--decode', 'http', '--decode-port', 'http:0', METHODS], /"0" is not a port number/],
    [['--records', 'http', METHODS], /--records: "http" is not a record kind of this run/],
    [['--decode', 'http', '--format', 'csv', METHODS], /CSV holds one record kind and this run writes conn, http: choose one with --records, or write one file per kind with -o DIR\//],
    [['--decode', 'http', '--flags', METHODS], /--decode writes transaction records; it cannot be combined with --handshakes, --flags/],
  ];
  for (const [args, re] of cases) {
    const r = run('tcpanalyze', args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.errLines.length, 1, r.stderr);
  }
});

test('-o DIR/ writes one archive per kind; together they hold exactly the records of the single stream', () => {
  const { dir, cleanup } = makeTempDir('decode-dir-');
  try {
    const out = join(dir, 'logs') + '/';
    const r = run('tcpanalyze', ['--decode', 'http', METHODS, '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['conn.jsonl.zst', 'http.jsonl.zst']);
    const single = parse(run('tcpanalyze', ['--decode', 'http', '--format', 'ndjson', METHODS]).stdout);
    for (const kind of ['conn', 'http']) {
      const lines = parse(execFileSync('zstd', ['-dc', join(out, `${kind}.jsonl.zst`)], { encoding: 'utf8' }));
      const meta = lines.shift() as { tcpkit: { record: string; options: { decode: string } } };
      assert.equal(meta.tcpkit.record, kind);
      assert.equal(meta.tcpkit.options.decode, 'http');
      assert.deepEqual(lines, single.filter((x) => x['record'] === kind));
    }
  } finally {
    cleanup();
  }
});

test('-o DIR/ with --decode all leaves no file for a kind that got no record (as Zeek writes no log without events), except conn and the kinds --records names', () => {
  const { dir, cleanup } = makeTempDir('decode-dir-empty-');
  try {
    const out = join(dir, 'logs') + '/';
    const r = run('tcpanalyze', ['--decode', 'all', METHODS, '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    const kinds = new Set(parse(run('tcpanalyze', ['--decode', 'all', '--format', 'ndjson', METHODS]).stdout).map((x) => String(x['record'])));
    assert.deepEqual(readdirSync(out).sort(), [...kinds].map((k) => `${k}.jsonl.zst`).sort());
    const named = join(dir, 'named') + '/';
    const n = run('tcpanalyze', ['--decode', 'all', '--records', 'conn,dns', METHODS, '-o', named]);
    assert.equal(n.status, 0, n.stderr);
    assert.deepEqual(readdirSync(named).sort(), ['conn.jsonl.zst', 'dns.jsonl.zst']);
    // the named kind's file holds its metadata line and no record
    assert.equal(parse(execFileSync('zstd', ['-dc', join(named, 'dns.jsonl.zst')], { encoding: 'utf8' })).length, 1);
    assert.deepEqual(readdirSync(dir).sort(), ['logs', 'named']);
  } finally {
    cleanup();
  }
});

test('csvtool --records http on the archive equals tcpanalyze --records http --format csv', () => {
  const { dir, cleanup } = makeTempDir('decode-csv-');
  try {
    const arc = join(dir, 'all.jsonl.zst');
    assert.equal(run('tcpanalyze', ['--decode', 'http', METHODS, '-o', arc]).status, 0);
    const viaCsvtool = run('csvtool', ['--records', 'http', arc]);
    assert.equal(viaCsvtool.status, 0, viaCsvtool.stderr);
    const direct = run('tcpanalyze', ['--decode', 'http', '--records', 'http', '--format', 'csv', METHODS]);
    assert.equal(viaCsvtool.stdout, direct.stdout);
    const mixed = run('csvtool', [arc]);
    assert.equal(mixed.status, 1);
    assert.match(mixed.stderr, /one CSV holds one record kind \(choose one with --records http\)/);
  } finally {
    cleanup();
  }
});

test('tcpfilter --where on transaction fields keeps exactly the matching lines of a mixed stream, byte for byte', () => {
  const all = run('tcpanalyze', ['--decode', 'http', '--format', 'ndjson', METHODS]).stdout;
  const kept = run('tcpfilter', ['--where', 'status_code>=400 and method=GET'], { input: all });
  assert.equal(kept.status, 0, kept.stderr);
  const want = all.split('\n').filter((l) => {
    if (l === '') return false;
    const r = JSON.parse(l) as Record<string, unknown>;
    return typeof r['status_code'] === 'number' && r['status_code'] >= 400 && r['method'] === 'GET';
  });
  assert.ok(want.length > 0);
  assert.equal(kept.stdout, want.join('\n') + '\n');
});

test('HTTP on port 1234 is found by its bytes; the conn record says service=http and counts its transactions, and --where service=http selects it', () => {
  const recs = parse(run('tcpanalyze', ['--decode', 'http', '--format', 'ndjson', LOWER]).stdout);
  const http = recs.filter((r) => r['record'] === 'http');
  const conn = recs.filter((r) => r['record'] === 'conn');
  assert.equal(http.length, 1);
  assert.deepEqual([http[0]!['resp_p'], http[0]!['status_code'], http[0]!['version']], [1234, 200, '1.1']);
  const c = conn.find((r) => r['uid'] === http[0]!['uid'])!;
  assert.deepEqual([c['service'], c['transactions'], c['failed_transactions']], ['http', 1, 0]);
  const sel = parse(run('tcpanalyze', ['--decode', 'http', '--records', 'conn', '--where', 'service=http', '--format', 'ndjson', LOWER]).stdout);
  assert.deepEqual(sel.map((r) => r['uid']), [c['uid']]);
  // without --decode nothing is decoded and service stays empty
  const plain = parse(run('tcpanalyze', ['--format', 'ndjson', LOWER]).stdout);
  assert.ok(plain.every((r) => r['service'] === null && r['transactions'] === null));
});

test('every conn record counts the transactions and failures of its uid', () => {
  const recs = parse(run('tcpanalyze', ['--decode', 'all', '--format', 'ndjson', METHODS, join(L7, 'zeek__http-1000-requests-one-dropped-response.pcap')]).stdout);
  const count = new Map<string, [number, number]>();
  for (const r of recs) {
    if (r['record'] === 'conn') continue;
    const c = count.get(String(r['uid'])) ?? [0, 0];
    c[0]++;
    if (r['failed'] === true) c[1]++;
    count.set(String(r['uid']), c);
  }
  const conns = recs.filter((r) => r['record'] === 'conn' && r['transactions'] !== null);
  assert.ok(conns.length >= 49);
  for (const c of conns) assert.deepEqual([c['transactions'], c['failed_transactions']], count.get(String(c['uid'])) ?? [0, 0], String(c['uid']));
});

test('--follow with --decode marks where each transaction starts; without the marks the text is the plain follow text', () => {
  const PIPELINED = join(L7, 'zeek__http-pipelined-requests.pcap');
  const recs = parse(run('tcpanalyze', ['--decode', 'http', '--records', 'http', '--format', 'ndjson', PIPELINED]).stdout);
  const uid = String(recs[0]!['uid']);
  const mine = recs.filter((r) => r['uid'] === uid).sort((a, b) => Number(a['ts']) - Number(b['ts']));
  assert.ok(mine.length >= 3, 'a connection with several requests');
  const marked = run('tcpanalyze', ['--decode', 'http', '--follow', uid, PIPELINED]);
  const plain = run('tcpanalyze', ['--follow', uid, PIPELINED]);
  assert.equal(marked.status, 0, marked.stderr);
  const MARK = /^\[http (\d+): (.*)\]$/;
  const lines = marked.stdout.split('\n');
  assert.equal(lines.filter((l) => !MARK.test(l)).join('\n'), plain.stdout, 'the marks are the only difference');
  const marks = lines.map((l, i) => [l.match(MARK), i] as const).filter(([m]) => m !== null);
  assert.equal(marks.length, mine.length, 'one mark per transaction');
  marks.forEach(([m, i], k) => {
    const r = mine[k]!;
    assert.equal(Number(m![1]), k + 1, 'numbered in start order');
    assert.match(m![2]!, new RegExp(`^${String(r['method'])} ${String(r['host'])}${String(r['uri']).replace(/[.?*+()[\]]/g, '\\$&')} -> ${String(r['status_code'])}`));
    assert.match(m![2]!, new RegExp(`latency ${String(r['latency_ms'])} ms`));
    // the next chunk is the client's (no tab), and its bytes start with the request line
    assert.match(lines[i + 1]!, /^\d+$/, 'a client chunk follows the mark');
    assert.ok(lines[i + 2]!.startsWith(`${String(r['method'])} `), `chunk after mark ${k + 1} starts with the request: ${lines[i + 2]}`);
  });
});
