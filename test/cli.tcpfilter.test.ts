/**
 * tcpfilter on its three input kinds, compared with independent views of
 * the same data:
 * - records: the selected lines are the input's lines, byte for byte and in
 *   order, and a filter and its inverse (-v) split the input exactly;
 * - tcp-info archives: csvtool of the output has exactly the rows of csvtool
 *   of the input whose socket has the filtered port;
 * - captures: the output holds exactly the input packets of the selected
 *   flows (bytes, lengths, link types, timestamps to the nanosecond), and
 *   tcpanalyze of the output gives the records tcpfilter selects from
 *   tcpanalyze of the input (uids aside, which count flows).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIX, ROOT, findCapture } from './_fixtures.js';
import { makeTempDir, runBash, shq } from './_capture-helpers.js';
import { expectGolden, run, sh } from './_cli.js';
import { openCaptures, analyzeCaptures } from '../src/analysis/pipeline.js';
import { drivePackets } from '../src/capture/open.js';

let dir = '';
let cleanup = (): void => {};
before(() => ({ dir, cleanup } = makeTempDir('tcpfilter-')));
after(() => cleanup());

const REFUSED = join(FIX, 'recorded/refused-timeout-unreach.pcap');
const TCPREPLAY = join(FIX, 'tcpreplay__test.pcap');

function records(capture: string, extra: string[] = []): string {
  const r = run('tcpanalyze', ['-q', '--format', 'ndjson', ...extra, capture]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function lines(s: string): string[] {
  return s === '' ? [] : s.replace(/\n$/, '').split('\n');
}

/** Whether `sub` is a subsequence of `all`. */
function isSubsequence(sub: string[], all: string[]): boolean {
  let i = 0;
  for (const l of all) if (i < sub.length && sub[i] === l) i++;
  return i === sub.length;
}

test('records: --where keeps exactly the matching lines, byte for byte (golden: the failed handshakes of the refused/timeout/unreach recording).', () => {
  const all = records(REFUSED);
  const r = run('tcpfilter', ['--where', 'handshake=reject or handshake=timeout or handshake=unreach'], { input: all });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  expectGolden('tcpfilter/refused-failures.ndjson', r.stdout);
  assert.ok(isSubsequence(lines(r.stdout), lines(all)));
  assert.deepEqual(
    lines(r.stdout).map((l) => JSON.parse(l).handshake as string).sort(),
    lines(all).map((l) => JSON.parse(l).handshake as string).filter((h) => h === 'reject' || h === 'timeout' || h === 'unreach').sort(),
  );
});

test('records: a filter and its inverse (-v) split the input into two subsequences that together hold every line once.', () => {
  const all = records(TCPREPLAY) + records(REFUSED);
  const file = join(dir, 'mixed.ndjson');
  writeFileSync(file, all);
  for (const args of [['web:TX@%:80'], ['--local', '192.0.2.0/24', 'RX@%:*'], ['--where', 'orig_pkts>3'], ['x:TX@%:80:443', ':TX@96.17.211.172:80']]) {
    const a = run('tcpfilter', [...args, file]);
    const b = run('tcpfilter', ['-v', ...args, file]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const la = lines(a.stdout), lb = lines(b.stdout);
    assert.ok(la.length > 0 && lb.length > 0, `${args.join(' ')}: both sides non-empty (${la.length}, ${lb.length})`);
    assert.equal(la.length + lb.length, lines(all).length, args.join(' '));
    assert.ok(isSubsequence(la, lines(all)) && isSubsequence(lb, lines(all)), args.join(' '));
  }
});

test('records: zstd in and out, the archive metadata line kept; csvtool reads the result.', () => {
  const arch = join(dir, 'conns.jsonl.zst');
  const a = run('tcpanalyze', ['-q', TCPREPLAY, '-o', arch]);
  assert.equal(a.status, 0, a.stderr);
  const out = join(dir, 'web.jsonl.zst');
  const r = run('tcpfilter', ['web:TX@%:80', arch, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  const csv = run('csvtool', [out]);
  assert.equal(csv.status, 0, csv.stderr);
  const rows = lines(csv.stdout);
  assert.match(rows[0]!, /^ts,uid,community_id,/);
  assert.equal(rows.length, 1 + 6, 'header and the six HTTP connections');
  const direct = run('tcpanalyze', ['-q', '--format', 'csv', '--where', 'proto=tcp and resp_p=80', TCPREPLAY]);
  assert.equal(csv.stdout, direct.stdout, 'same CSV as tcpanalyze --where on the capture');
});

/** csvtool rows of an archive, as [header, rows]. */
function csvRows(path: string): { header: string; rows: string[] } {
  const r = run('csvtool', [path]);
  assert.equal(r.status, 0, r.stderr);
  const l = lines(r.stdout);
  return { header: l[0]!, rows: l.slice(1) };
}

test('tcp-info archives: the snapshots kept are exactly those whose socket has port 443 on either side (csvtool rows compared), Metadata lines only before kept snapshots.', () => {
  const repo = join(ROOT, 'fixtures/tcpinfo/repo');
  const files = readdirSync(repo).filter((n) => n.endsWith('.jsonl.zst')).map((n) => join(repo, n));
  assert.ok(files.length >= 3);
  const cat = join(dir, 'all.jsonl');
  const r0 = runBash(`zstd -dc ${files.map(shq).join(' ')} > ${shq(cat)}`);
  assert.equal(r0.status, 0, r0.stderr);
  const all = csvRows(cat);
  const out = join(dir, 'https.jsonl.zst');
  const r = run('tcpfilter', ['a:TX@%:443', 'b:RX@%:443', cat, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  const got = csvRows(out);
  const cols = all.header.split(',');
  const sp = cols.indexOf('IDM.SockID.SPort'), dp = cols.indexOf('IDM.SockID.DPort');
  const want = all.rows.filter((row) => {
    const c = row.split(',');
    return c[sp] === '443' || c[dp] === '443';
  });
  assert.ok(want.length > 0 && want.length < all.rows.filter((row) => row.split(',')[sp] !== '').length, 'the filter keeps some snapshots and drops others');
  // csvtool prints a row for a Metadata line (empty socket columns): those of dropped files must be gone
  assert.deepEqual(got.rows.filter((row) => row.split(',')[sp] !== ''), want);
  const metaRows = got.rows.filter((row) => row.split(',')[sp] === '').length;
  const keptFiles = new Set(want.map((row) => row.split(',').slice(sp, dp + 3).join(','))).size;
  assert.ok(metaRows <= keptFiles, `no Metadata line without a kept snapshot after it (${metaRows} for ${keptFiles} sockets)`);
});

interface Pk {
  sec: number;
  nsec: number;
  caplen: number;
  origlen: number;
  linkType: number;
  data: string;
}

/** Every packet of a capture, read with tcpkit's readers (checked against tshark in capture.readers). */
async function packetsOf(path: string): Promise<Pk[]> {
  const { inputs, readers } = await openCaptures([{ path }]);
  const out: Pk[] = [];
  try {
    await drivePackets(readers, inputs, (p) => void out.push({ sec: p.sec, nsec: p.nsec, caplen: p.caplen, origlen: p.origlen, linkType: p.linkType, data: p.buf.toString('hex', p.off, p.off + p.caplen) }), {});
  } finally {
    for (const i of inputs) await i.window.close();
  }
  return out;
}

/** The packets of the input that belong to a flow (or quote one): what tcpfilter keeps when it selects everything. */
async function flowPackets(path: string): Promise<Pk[]> {
  const out: Pk[] = [];
  await analyzeCaptures([{ path }], {
    onRecord: () => {},
    onPacketDone: (p, serial, linked) => {
      if (serial !== 0 || linked !== 0) out.push({ sec: p.sec, nsec: p.nsec, caplen: p.caplen, origlen: p.origlen, linkType: p.linkType, data: p.buf.toString('hex', p.off, p.off + p.caplen) });
    },
  });
  return out;
}

test('captures: selecting every flow writes every flow packet unchanged (bytes, lengths, link types, ns timestamps), for pcap, ns pcap and multi-interface, multi-section pcapng.', async () => {
  for (const name of ['tcpreplay__test.pcap', 'http-clean-v6-nano.pcap', 'zeek__pcapng-multi-interface.pcapng', 'pcapngtg__le-test202.pcapng', 'zeek__ldap-gap-data-missing.pcapng']) {
    const src = findCapture(name);
    assert.ok(src, name);
    const out = join(dir, `all-${name}`);
    const r = run('tcpfilter', ['-q', src, '-w', out]);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    const want = await flowPackets(src);
    const got = await packetsOf(out);
    assert.deepEqual(got, want, name);
    assert.equal(readFileSync(out).readUInt32BE(0) === 0x0a0d0d0a, name.endsWith('.pcapng'), `${name}: output format follows the input`);
  }
});

test('captures: tcpanalyze of the filtered capture gives the TCP records tcpfilter selects from tcpanalyze of the whole capture (uid aside).', () => {
  const strip = (nd: string): string[] => lines(nd).map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    delete o['uid'];
    return JSON.stringify(o);
  });
  for (const [cap, filter] of [
    [TCPREPLAY, ['web:TX@%:80']],
    [REFUSED, ['--where', 'handshake!=success and proto=tcp']],
    [findCapture('http-loss-netem.pcap')!, ['--where', 'orig_retransmission+resp_retransmission>0']],
    [findCapture('zeek__tcp-ssh-dups.pcap')!, ['x:TX@%:22']],
  ] as [string, string[]][]) {
    const out = join(dir, 'sel.pcap');
    const f = run('tcpfilter', [...filter, cap, '-w', out]);
    assert.equal(f.status, 0, f.stderr);
    // an ICMP error that quotes a selected connection is kept with it, and is a flow of its own there
    const fromCapture = lines(records(out)).filter((l) => JSON.parse(l).proto === 'tcp').join('\n');
    const fromRecords = run('tcpfilter', [...filter, '--where', 'proto=tcp'], { input: records(cap) });
    assert.ok(lines(fromRecords.stdout).length > 0, `${cap}: the filter selects something`);
    // flows still open at the end of the capture are written in table order, which other flows change: compare as sets
    assert.deepEqual(strip(fromCapture).sort(), strip(fromRecords.stdout).sort(), `${cap} ${filter.join(" ")}`);
  }
});

test('captures from stdin (spooled for the second pass) give the same bytes as from the file; -v writes the rest.', () => {
  const a = runBash(`${sh('tcpfilter')} -q 'web:TX@%:80' ${shq(TCPREPLAY)} | od -An -tx1 | md5sum`);
  const b = runBash(`cat ${shq(TCPREPLAY)} | gzip -c | ${sh('tcpfilter')} -q 'web:TX@%:80' | od -An -tx1 | md5sum`);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(a.stdout, b.stdout);
  const n = (args: string): number => {
    const r = runBash(`${sh('tcpfilter')} --stats ${args} ${shq(TCPREPLAY)} > /dev/null`);
    return Number(/: (\d+) of \d+ packets/.exec(r.stderr)![1]);
  };
  assert.equal(n("'web:TX@%:80'") + n("-v 'web:TX@%:80'"), n("-v 'x:TX@192.0.2.99:1'"), 'kept + inverted = all flow packets');
});

test('records with a corrupt middle line: the others are kept, the bad line is named (line, offset) and counted, exit 1.', () => {
  const l = lines(records(REFUSED));
  const bad = [...l.slice(0, 3), '{"record":"conn","ts":12', ...l.slice(3)].join('\n') + '\n';
  const r = run('tcpfilter', [], { input: bad });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, l.join('\n') + '\n');
  const offset = Buffer.byteLength(l.slice(0, 3).join('\n') + '\n');
  assert.equal(r.errLines.length, 2, r.stderr);
  assert.match(r.errLines[0]!, new RegExp(`^tcpfilter: skipped: <stdin>: line 4 \\(offset ${offset} = 0x${offset.toString(16)}\\): invalid JSON: .* \\[RECORD_BAD_JSON\\]$`));
  assert.match(r.errLines[1]!, /^tcpfilter: <stdin>: 1 of 12 lines skipped/);
});

test('empty input: no output, exit 0; an input of another kind: one line, exit 1; two inputs or a bad filter: exit 2.', () => {
  const e = run('tcpfilter', ['web:TX@%:80'], { input: '' });
  assert.deepEqual([e.status, e.stdout, e.stderr], [0, '', '']);
  const t = run('tcpfilter', [], { input: 'hello world\n' });
  assert.equal(t.status, 1);
  assert.deepEqual(t.errLines, ['tcpfilter: <stdin> (offset 0 = 0x0): not a capture (pcap, pcapng), tcpkit records or a tcp-info archive (first bytes 68 65 6c 6c 6f 20 77 6f) [TCPFILTER_UNKNOWN_INPUT]']);
  const two = run('tcpfilter', [TCPREPLAY, REFUSED]);
  assert.equal(two.status, 2);
  assert.match(two.stderr, /one input at a time/);
  const f = run('tcpfilter', ['web:TX@10.0.0.0/33:80', TCPREPLAY]);
  assert.equal(f.status, 2);
  assert.match(f.stderr, /prefix \/33 is longer than 32 at column \d+ \[FILTER_SYNTAX\]/);
});


test('pcapng with two link types written as pcap: one line naming the input packet, exit 1, the packets before it kept in a valid pcap.', async () => {
  const src = findCapture('pcapngtg__le-test202.pcapng')!;
  const out = join(dir, 'mixed.pcap');
  const r = run('tcpfilter', ['-v', 'x:TX@192.0.2.99:1', src, '-o', out]);
  assert.equal(r.status, 1);
  assert.deepEqual(r.errLines, [`tcpfilter: ${src}: packet 3 (offset 728 = 0x2d8): link type 0 (a pcap file holds one link type, here 1): write pcapng (-o FILE.pcapng) to keep several [CAPTURE_WRITE_LINKTYPE]`]);
  const kept = await packetsOf(out);
  assert.deepEqual(kept, (await flowPackets(src)).slice(0, kept.length));
  assert.equal(kept.length, 2);
});
