/**
 * The tables in a real terminal (tmux) of 80 and 200 columns: every line
 * fits (no record wraps), every endpoint keeps its port, small RTTs keep
 * their digits, a wider terminal shows more columns, and --wide shows them
 * all. Skipped with the reason when tmux is not installed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIX } from './_fixtures.js';
import { makeTempDir, shq } from './_capture-helpers.js';
import { bin, run } from './_cli.js';
import { TMUX_MISSING, Terminal } from './_tmux.js';

const CAPS = [join(FIX, 'zeek__ipv6-http-atomic-frag.pcap'), join(FIX, 'recorded/refused-timeout-unreach.pcap'), join(FIX, 'zeek__tcp-ssh-dups.pcap')];
let dir = '';
let cleanup = (): void => {};
let records: Record<string, unknown>[] = [];

before(() => {
  ({ dir, cleanup } = makeTempDir('terminal-table-'));
  const r = run('tcpanalyze', ['-q', '--format', 'ndjson', ...CAPS]);
  records = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  writeFileSync(join(dir, 'conns.ndjson'), r.stdout);
  const many = run('tcpanalyze', ['-q', '--format', 'ndjson', join(FIX, 'ndpi__synscan.pcap'), join(FIX, 'zeek__smtp.pcap'), ...CAPS]);
  writeFileSync(join(dir, 'many.ndjson'), many.stdout);
});
after(() => cleanup());

const node = (cmd: 'tcpanalyze' | 'tcpsummary'): string => `${shq(process.execPath)} ${shq(bin(cmd))}`;

/** The lines a command printed in a terminal of `columns` (physical lines: a wrapped line shows as two). */
async function onTerminal(columns: number, line: string): Promise<string[]> {
  const t = Terminal.open(columns, 100, dir);
  try {
    t.type(`clear; ${line}; echo DONE`);
    const s = await t.waitFor(/^DONE$/);
    const start = s.findIndex((l) => l.includes('; echo DONE'));
    return s.slice(start + 1, s.lastIndexOf('DONE'));
  } finally {
    t.close();
  }
}

for (const columns of [80, 200]) {
  test(`tcpanalyze's table fits a ${columns}-column terminal: one line per record, ports and small RTTs kept`, { skip: TMUX_MISSING }, async () => {
    const lines = (await onTerminal(columns, `${node('tcpanalyze')} -q ${CAPS.map(shq).join(' ')}`)).filter((l) => l !== '');
    const [header, ...rows] = lines;
    assert.match(header!, /originator +responder +state/);
    for (const l of lines) assert.ok(l.length <= columns, `${l.length} > ${columns}: ${l}`);
    assert.equal(rows.length, records.length, 'one line per record (none wrapped)');
    rows.forEach((row, i) => {
      const r = records[i]!;
      assert.ok(row.includes(`:${r['orig_p']} `), `originator port ${r['orig_p']}: ${row}`);
      assert.ok(row.includes(`:${r['resp_p']} `), `responder port ${r['resp_p']}: ${row}`);
      if (r['rtt_ms'] === 0.024) assert.match(row, / 0\.024( |$)/);
    });
    assert.ok(records.some((r) => r['rtt_ms'] === 0.024), 'a sub-millisecond RTT is among the records');
    const wideHeader = columns === 200;
    assert.equal(/handshake/.test(header!), wideHeader);
    assert.equal(/bytes o\/r/.test(header!), wideHeader);
  });

  test(`tcpsummary's tables fit a ${columns}-column terminal`, { skip: TMUX_MISSING }, async () => {
    const lines = await onTerminal(columns, `${node('tcpsummary')} --by dst_port many.ndjson`);
    for (const l of lines) assert.ok(l.length <= columns, `${l.length} > ${columns}: ${l}`);
    assert.ok(lines.some((l) => /^filter +conns +success/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^tcp\/80 /.test(l)), 'port groups per protocol');
    assert.ok(lines.some((l) => /^\(\d+ more\)/.test(l)), 'the groups past --top summed in one row');
    assert.equal(lines.some((l) => l.includes('rtt ms p50/p90/p99')), true);
  });
}

test('--wide shows every column at full width, even on an 80-column terminal', { skip: TMUX_MISSING }, async () => {
  const t = Terminal.open(80, 100, dir);
  try {
    t.type(`clear; ${node('tcpanalyze')} -q --wide ${shq(CAPS[1]!)}; echo DONE`);
    await t.waitFor(/^DONE$/);
    const physical = t.screen();
    const joined = t.screen(true); // capture-pane -J joins the lines the terminal wrapped
    const header = joined.find((l) => l.startsWith('start (UTC)'))!;
    for (const title of ['proto', 'handshake', 'dur s', 'pkts o/r', 'bytes o/r', 'rexmt o/r', 'history', 'end', 'uid']) assert.ok(header.includes(title), `${title} in ${header}`);
    assert.ok(physical.length > joined.length, 'wide lines wrap at 80 columns');
  } finally {
    t.close();
  }
});
