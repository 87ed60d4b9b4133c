/**
 * tcpanalyze --report and --plot from the command line: the files written,
 * what selects the connections, stdin, determinism, usage errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIX } from './_fixtures.js';
import { makeTempDir, runTcpanalyze } from './_capture-helpers.js';
import { reportData } from './_report-helpers.js';

const LOSSY = join(FIX, 'recorded/http-loss-netem.pcap');
const LOSSY_UID = 'C9rXxXhikR2ySV3MBD';

test('--report writes one self-contained page: sections, the data of the worst connections, nothing loaded from elsewhere', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const out = join(dir, 'r.html');
    const r = runTcpanalyze([LOSSY, join(FIX, 'recorded/zero-window.pcap'), '--report', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.errLines, [`tcpanalyze: ${out}: 2 connections with graphs, ${Math.round(readFileSync(out).length / 1024)} KiB`]);
    const html = readFileSync(out, 'utf8');
    for (const id of ['overview', 'worst', 'distributions', 'time', 'talkers', 'connections']) assert.match(html, new RegExp(`<section id="${id}">`));
    assert.doesNotMatch(html, /<link|<img|<iframe|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no external resource');
    const data = reportData(html);
    // worst first: the download with 68 retransmitted segments, then the one with 3 and 16 zero windows
    assert.deepEqual(data.conns.map((c) => c.title), ['192.0.2.1:36894 → 192.0.2.2:8080', '192.0.2.1:50414 → 192.0.2.2:5001']);
    assert.equal(data.conns[0]!.dirs[1]!.marks['R'], 68);
    const uid = data.conns[0]!.uid;
    assert.match(html, new RegExp(`<section class="conn" id="conn-${uid}" data-index="0" data-uid="${uid}">`));
  } finally {
    cleanup();
  }
});

test('the same captures give the same report, byte for byte', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    for (const n of ['a', 'b']) assert.equal(runTcpanalyze([LOSSY, '--decode', 'http', '--report', join(dir, `${n}.html`), '-q']).status, 0);
    assert.ok(readFileSync(join(dir, 'a.html')).equals(readFileSync(join(dir, 'b.html'))));
  } finally {
    cleanup();
  }
});

test('--plot --uid writes eight standalone SVG files, their R marks as many as the record counts', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const r = runTcpanalyze([LOSSY, '--plot', join(dir, 'svg'), '--uid', LOSSY_UID]);
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(join(dir, 'svg')).sort();
    assert.deepEqual(files, ['inflight', 'rtt', 'tput', 'tseq'].flatMap((c) => [`${LOSSY_UID}-orig-${c}.svg`, `${LOSSY_UID}-resp-${c}.svg`]).sort());
    const tseq = readFileSync(join(dir, 'svg', `${LOSSY_UID}-resp-tseq.svg`), 'utf8');
    assert.match(tseq, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const group = /<g class="layer" data-key="R" data-count="68" data-drawn="68"[^>]*>(.*?)<\/g>/.exec(tseq);
    assert.ok(group);
    assert.equal(group[1]!.match(/<text class="mark"/g)!.length, 68);
    // each mark's tooltip names its frame, time and the retransmitted bytes
    assert.equal(group[1]!.match(/<title>retransmission: frame \d+, [\d.]+ s, seq (\d+)–(\d+) \(\d+ bytes\)<\/title>/g)!.length, 68);
    assert.ok(!existsSync(join(dir, 'r.html')));
  } finally {
    cleanup();
  }
});

test('--uid takes tcp.stream numbers, numbered as --follow numbers them', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const recorded = readdirSync(join(FIX, 'recorded')).filter((f) => f.endsWith('.pcap')).map((f) => join(FIX, 'recorded', f));
    const out = join(dir, 'r.html');
    const r = runTcpanalyze([...recorded, '--report', out, '--uid', '16,3', '-q']);
    assert.equal(r.status, 0, r.stderr);
    const conns = reportData(readFileSync(out, 'utf8')).conns;
    assert.deepEqual(conns.map((c) => c.tcpStream), [16, 3]);
    for (const c of conns) {
      const f = runTcpanalyze([...recorded, '--follow', String(c.tcpStream)]);
      const nodes = f.stdout.split('\n').filter((l) => l.startsWith('Node ')).map((l) => l.replace(/^Node \d: /, ''));
      assert.deepEqual(new Set(nodes), new Set(c.title.split(' → ')), `tcp.stream ${c.tcpStream}`);
    }
    assert.equal(conns[0]!.dirs[1]!.marks['R'], 68, 'stream 16 is the lossy IPv4 download');
    const none = runTcpanalyze([...recorded, '--plot', join(dir, 'svg'), '--uid', '999']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /--uid 999: no TCP connection with that tcp.stream number in the input \[UID_NOT_FOUND\]/);
  } finally {
    cleanup();
  }
});

test('from stdin: with --uid in one pass, else through a temporary copy for the second pass; the same graphs either way', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const input = readFileSync(LOSSY);
    const a = runTcpanalyze(['-', '--report', join(dir, 'a.html'), '-q'], { input });
    const b = runTcpanalyze(['-', '--report', join(dir, 'b.html'), '--uid', LOSSY_UID, '-q'], { input });
    const c = runTcpanalyze([LOSSY, '--report', join(dir, 'c.html'), '-q']);
    for (const x of [a, b, c]) assert.equal(x.status, 0, x.stderr);
    const [da, db, dc] = ['a', 'b', 'c'].map((n) => reportData(readFileSync(join(dir, `${n}.html`), 'utf8')));
    assert.deepEqual(da, dc);
    assert.deepEqual(db, dc);
    assert.match(readFileSync(join(dir, 'a.html'), 'utf8'), /<title>tcpkit report: &lt;stdin&gt;<\/title>/);
    assert.deepEqual(readdirSync(dir).sort(), ['a.html', 'b.html', 'c.html']);
  } finally {
    cleanup();
  }
});

test('--select draws the worst matching connections and says how many matched', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const out = join(dir, 'r.html');
    const r = runTcpanalyze([join(FIX, 'recorded/refused-timeout-unreach.pcap'), LOSSY, '--report', out, '--select', "handshake=reject or handshake=unreach", '--top', '2', '-q']);
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.equal(reportData(html).conns.length, 2);
    assert.match(html, /Connections with graphs: the 2 worst matching --select 'handshake=reject or handshake=unreach' \(5 matched\)/);
  } finally {
    cleanup();
  }
});

test('a truncated capture: the report of the packets before the damage is written, the error said once, exit 1', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(LOSSY).subarray(0, 150_000));
    const out = join(dir, 'r.html');
    const r = runTcpanalyze([cut, '--report', out]);
    assert.equal(r.status, 1);
    assert.deepEqual(r.errLines, [
      `tcpanalyze: ${cut}: packet 175 (offset 148873 = 0x24589): packet data cut short: 1111 of 1514 bytes [PCAP_TRUNCATED_RECORD]`,
      `tcpanalyze: ${out}: 1 connection with graphs, ${Math.round(readFileSync(out).length / 1024)} KiB`,
    ]);
    assert.equal(reportData(readFileSync(out, 'utf8')).conns[0]!.uid, LOSSY_UID);
  } finally {
    cleanup();
  }
});

test('usage errors name the conflict; an unknown uid is a data error', () => {
  const cases: [string[], RegExp][] = [
    [['--uid', LOSSY_UID], /--uid and --select choose the connections of --report or --plot/],
    [['--report', 'x.html', '--flags'], /--report and --plot write files of their own: they cannot be combined with --flags/],
    [['--plot', 'd', '--format', 'csv'], /cannot be combined with --format/],
    [['--report', 'x.html', '--uid', 'nope'], /--uid: expected a connection uid \(C \+ 17 letters and digits\) or a tcp.stream number, got "nope"/],
    [['--report', 'x.html', '--top', '0'], /--top: "0" is not a positive whole number/],
    [['--report', 'x.html', '--uid', LOSSY_UID, '--select', 'rtt_ms>1'], /--select cannot be combined with it/],
    [['--report', 'x.html', '--select', 'no_such_field>1'], /no_such_field/],
  ];
  for (const [args, re] of cases) {
    const r = runTcpanalyze([LOSSY, ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const { dir, cleanup } = makeTempDir();
  try {
    const isDir = runTcpanalyze([LOSSY, '--report', dir]);
    assert.equal(isDir.status, 2);
    assert.deepEqual(isDir.errLines, [`tcpanalyze: --report ${dir}: is a directory; name the HTML file to write, e.g. ${join(dir, 'report.html')} [USAGE_REPORT_IS_DIRECTORY]`]);
    const file = join(dir, 'f.html');
    assert.equal(runTcpanalyze([LOSSY, '--report', file, '-q']).status, 0);
    const notDir = runTcpanalyze([LOSSY, '--plot', file]);
    assert.equal(notDir.status, 2);
    assert.deepEqual(notDir.errLines, [`tcpanalyze: --plot ${file}: exists and is not a directory; name a directory for the SVG files (created if missing) [USAGE_PLOT_NOT_DIRECTORY]`]);
    const r = runTcpanalyze([LOSSY, '--plot', dir, '--uid', 'CAAAAAAAAAAAAAAAAA']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--uid CAAAAAAAAAAAAAAAAA: no TCP connection with that uid in the input \[UID_NOT_FOUND\]/);
  } finally {
    cleanup();
  }
});

test('with --decode the report has transaction latency and error rates per protocol and per service', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const out = join(dir, 'r.html');
    assert.equal(runTcpanalyze([join(FIX, 'recorded/http-clean-v4.pcap'), '--decode', 'http', '--report', out, '-q']).status, 0);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<section id="transactions"><h2>Transactions<\/h2>/);
    assert.match(html, /<td><code>http<\/code><\/td><td>3<\/td><td>0<\/td><td>0 %<\/td>/);
    assert.match(html, /<td><code>http<\/code><\/td><td>8080<\/td><td>3<\/td>/);
  } finally {
    cleanup();
  }
});
