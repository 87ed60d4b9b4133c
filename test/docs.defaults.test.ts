/**
 * Every default the README and docs/ state for a command option equals the
 * one the command's --help shows: the option tables (| option | default |)
 * and the prose ("`--close-linger` of capture time, default 1 s").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './_fixtures.js';
import { bin, type CommandName } from './_cli.js';

type Help = Map<string, string | null>;

/** Option -> default (null: the option has none) from a command's --help. */
function helpDefaults(cmd: CommandName, sub: string[] = []): Help {
  const r = spawnSync(process.execPath, [bin(cmd), ...sub, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '1000' } });
  assert.equal(r.status, 0, r.stderr);
  const entries: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (/^ {2}(-\w, )?--[\w-]+/.test(line)) entries.push(line.trim());
    else if (/^ {3,}\S/.test(line) && entries.length > 0) entries[entries.length - 1] += ' ' + line.trim();
    else if (!/^\s*$/.test(line) && !/^ {2}-/.test(line)) entries.push(''); // the end of the options
  }
  const out: Help = new Map();
  for (const e of entries) {
    const name = /--([\w-]+)/.exec(e)?.[1];
    if (name === undefined) continue;
    // commander's "(default: x)" or "(choices: ..., default: x)", else a "default x" in the text
    const all = [...e.matchAll(/(?:\(|, )default: ("[^"]*"|[^),]*)\)|\bdefault (\S+?)[,;)]/g)];
    const last = all.at(-1);
    out.set(name, last ? (last[1] ?? last[2]!).replace(/^"|"$/g, '') : null);
  }
  return out;
}

/** The command a doc file documents (the README and the others: every command with the option). */
const DOC_COMMAND: Record<string, string | string[]> = {
  'docs/csvtool.md': 'csvtool',
  'docs/tcpcapture.md': 'tcpcapture packets',
  'docs/tcpcapture-sockets.md': 'tcpcapture sockets',
  'docs/reassembly.md': 'tcpanalyze',
  'docs/graphs.md': 'tcpanalyze',
  // tcpanalyze's --top (the report's) and tcpsummary's are different options
  'docs/tcpfilter-tcpsummary.md': ['tcpfilter', 'tcpsummary'],
};

const COMMANDS: [string, Help][] = [
  ['tcpanalyze', helpDefaults('tcpanalyze')],
  ['tcpfilter', helpDefaults('tcpfilter')],
  ['tcpsummary', helpDefaults('tcpsummary')],
  ['csvtool', helpDefaults('csvtool')],
  ['tcpcapture packets', helpDefaults('tcpcapture', ['packets'])],
  ['tcpcapture sockets', helpDefaults('tcpcapture', ['sockets'])],
  ['tcpload', helpDefaults('tcpload')],
];

const DURATION: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, sec: 1e9, m: 60e9, min: 60e9, h: 3600e9 };
const SIZE: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** The ways a default can be read: as a duration (ns), a size (bytes), a number or a word. */
function readings(v: string): Set<string> {
  const t = v.trim().replace(/[`"']/g, '').toLowerCase();
  const out = new Set<string>([t]);
  if (t === 'off') out.add('false');
  const d = /^(\d[\d,. ]*?)\s*(ns|us|µs|ms|s|sec|min|m|h)?$/.exec(t);
  if (d) {
    const n = Number(d[1]!.replace(/[, ]/g, ''));
    out.add(`n:${n}`);
    out.add(`d:${n * DURATION[d[2] ?? 's']!}`);
  }
  const s = /^(\d+)\s*(k|kib|m|mib|g|gib)?$/.exec(t);
  if (s) out.add(`b:${Number(s[1]) * SIZE[s[2] ?? '']!}`);
  return out;
}

function same(a: string, b: string): boolean {
  const x = readings(a);
  for (const y of readings(b)) if (x.has(y)) return true;
  return false;
}

/** What the docs state: [file, option, default]. */
function stated(): [string, string, string][] {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && f !== 'bench.md').map((f) => `docs/${f}`)];
  const out: [string, string, string][] = [];
  for (const f of files) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    // option tables: | `--name <arg>` | default | meaning |
    let inTable = false;
    for (const line of text.split('\n')) {
      if (/^\| option \| default \|/.test(line)) inTable = true;
      else if (!line.startsWith('|')) inTable = false;
      else if (inTable) {
        const cells = line.split('|').map((c) => c.trim());
        const opt = /`--([\w-]+)/.exec(cells[1]!)?.[1] ?? /\(`--([\w-]+)`\)/.exec(cells[1]!)?.[1];
        const def = cells[2]!;
        if (opt !== undefined && def !== '' && !def.startsWith('(') && !def.includes('<') && opt !== 'no-header') out.push([f, opt, def]);
      }
    }
    // prose: "`--name` ..., default X" within one clause
    const prose = text.replace(/\n/g, ' ');
    for (const m of prose.matchAll(/`--([\w-]+)[^`]*`([^.;`]{0,60}?)\(?default:? ([\d][\d,. ]*(?:\s?(?:ms|s|min|m|h|MiB|KiB))?|`[^`]+`)/g)) {
      out.push([f, m[1]!, m[3]!.trim()]);
    }
  }
  return out;
}

test('every option default stated in the README and docs/ is the one --help shows', () => {
  const found = stated();
  const problems: string[] = [];
  let checked = 0;
  for (const [file, opt, def] of found) {
    const having = COMMANDS.filter(([cmd, h]) => h.has(opt) && (DOC_COMMAND[file] === undefined || [DOC_COMMAND[file]].flat().includes(cmd)));
    if (having.length === 0) continue;
    for (const [cmd, h] of having) {
      const d = h.get(opt);
      if (d === null || d === undefined) continue;
      checked++;
      if (!same(def, d)) problems.push(`${file}: --${opt} default ${def}, but ${cmd} --help says ${d}`);
    }
  }
  assert.deepEqual(problems, []);
  // the statements this test is there for
  const opts = new Set(found.map(([, o]) => o));
  for (const o of ['close-linger', 'idle-timeout', 'max-memory', 'interval', 'max-buffer', 'kind']) assert.ok(opts.has(o), `--${o} found in the docs`);
  assert.ok(checked >= 10, `${checked} defaults checked`);
});
