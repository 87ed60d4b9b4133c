/**
 * The commands at a real terminal (tmux): with no input file and stdin a
 * terminal they say what to give instead of waiting silently; with `-` they
 * say they wait for input there; Ctrl-C before any data, at the terminal or
 * with a quiet pipe (`sleep 30 | tcpsummary`), is a quiet exit 0, never
 * "internal error: Premature close".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir, shq } from './_capture-helpers.js';
import { COMMANDS, bin } from './_cli.js';
import { TMUX_MISSING, Terminal } from './_tmux.js';

let dir = '';
let cleanup = (): void => {};
before(() => ({ dir, cleanup } = makeTempDir('terminal-input-')));
after(() => cleanup());

/** The exit status the shell echoed after `cmd` (a line may start with the ^C the terminal echoed). */
function status(screen: string[], cmd: string): number | null {
  for (const l of screen) {
    const m = new RegExp(`^(?:\\^C)?${cmd} rc=(\\d+)$`).exec(l);
    if (m) return Number(m[1]);
  }
  return null;
}
const done = (cmd: string): RegExp => new RegExp(`^(?:\\^C)?${cmd} rc=\\d+$`);

const node = (cmd: (typeof COMMANDS)[number]): string => `${shq(process.execPath)} ${shq(bin(cmd))}`;
const READS = { tcpanalyze: 'a pcap or pcapng capture', tcpsummary: 'tcpkit records', tcpfilter: 'a capture, tcpkit records or a tcp-info archive', csvtool: 'a tcp-info archive or tcpkit records' } as const;

test('with no input file at a terminal, each command says what to give and exits 2 at once', { skip: TMUX_MISSING }, async () => {
  const t = Terminal.open(200, 50, dir);
  try {
    for (const cmd of ['tcpanalyze', 'tcpsummary', 'tcpfilter', 'csvtool'] as const) {
      t.type(`${node(cmd)}; echo "${cmd} rc=$?"`);
      const s = await t.waitFor(done(cmd));
      assert.equal(status(s, cmd), 2, s.join('\n'));
      const err = s.find((l) => l.startsWith(`${cmd}: no input:`));
      assert.ok(err !== undefined && err.includes(`give ${READS[cmd]}`) && err.endsWith('[USAGE_NO_INPUT]'), s.join('\n'));
    }
  } finally {
    t.close();
  }
});

test('with - at a terminal a command says it reads the terminal; Ctrl-C then is a quiet exit 0', { skip: TMUX_MISSING }, async () => {
  const t = Terminal.open(200, 50, dir);
  try {
    for (const cmd of ['tcpanalyze', 'tcpsummary', 'tcpfilter', 'csvtool'] as const) {
      t.type(`${node(cmd)} -; echo "${cmd} rc=$?"`);
      await t.waitFor(new RegExp(`^${cmd}: reading ${READS[cmd].replace(/[()]/g, '\\$&')} from the terminal: end it with Ctrl-D, stop with Ctrl-C$`));
      t.key('C-c');
      const s = await t.waitFor(done(cmd));
      assert.equal(status(s, cmd), 0, s.join('\n'));
      assert.ok(!s.some((l) => /internal error|Premature close/.test(l)), s.join('\n'));
    }
  } finally {
    t.close();
  }
});

test('Ctrl-C while a pipe has sent nothing (sleep 30 | cmd) is a quiet exit 0 for every command', { skip: TMUX_MISSING }, async () => {
  const t = Terminal.open(200, 50, dir);
  try {
    for (const cmd of ['tcpanalyze', 'tcpsummary', 'tcpfilter', 'csvtool'] as const) {
      t.type('clear');
      // the status is echoed inside the pipeline: bash drops the rest of a list whose job Ctrl-C killed (sleep)
      t.type(`sleep 30 | { ${node(cmd)}; echo "${cmd} rc=$?"; }`);
      await new Promise((r) => setTimeout(r, 1500)); // the command is running and waiting on the pipe
      t.key('C-c');
      const s = await t.waitFor(done(cmd));
      assert.equal(status(s, cmd), 0, s.join('\n'));
      assert.deepEqual(s.filter((l) => l.startsWith(`${cmd}:`)), [], s.join('\n'));
    }
  } finally {
    t.close();
  }
});

test('tcpfilter says on a terminal how many records it kept and dropped (tcpeek semantics drop UDP and ICMP with an exclusion alone)', { skip: TMUX_MISSING }, async () => {
  const t = Terminal.open(200, 50, dir);
  try {
    const cap = new URL('../../fixtures/pcaps/zeek__smtp.pcap', import.meta.url).pathname;
    t.type(`${node('tcpanalyze')} -q ${shq(cap)} -o conns.ndjson; ${node('tcpfilter')} --local 10.0.0.0/8 ':RX@%:22' conns.ndjson -o no-ssh.ndjson; echo "tcpfilter rc=$?"`);
    const s = await t.waitFor(done('tcpfilter'));
    assert.equal(status(s, 'tcpfilter'), 0, s.join('\n'));
    const line = s.find((l) => l.startsWith('tcpfilter: kept '));
    assert.match(line ?? '', /^tcpfilter: kept (\d+) of (\d+) records \((\d+) dropped\)$/, s.join('\n'));
    const [, kept, all, dropped] = /kept (\d+) of (\d+) records \((\d+) dropped\)/.exec(line!)!.map(Number);
    assert.equal(kept! + dropped!, all);
    assert.ok(dropped! > 0, 'the UDP (DNS) and ICMP flows are dropped');
  } finally {
    t.close();
  }
});
