#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10
/**
 * tcpcheck: network expectations as a test runner checks them. Captures
 * (analysed as tcpanalyze would, with the decoders the expectations need)
 * or tcpkit records, and expectations on the command line or in a file;
 * one line per expectation, PASS or FAIL with the measured value and, on
 * failure, the connections that weighed most; exit 0 when all pass, 1 when
 * any fails, 2 on a usage error. JUnit XML for CI systems, and GitHub
 * Actions annotations and a step summary when run there.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { Option } from 'commander';
import { SCHEMAS, type RecordValues } from '../src/records/index.js';
import { PROTOCOLS } from '../src/protocols/registry.js';
import { readRecordInputs } from './_records-in.js';
import { ExpectState, parseExpectation, type Expectation } from '../src/filter/expect.js';
import { parseYamlLite, YamlError, type YamlValue } from '../src/util/yaml-lite.js';
import { EXIT_DATA, EXIT_OK, UsageError, isToolError, type ToolError } from '../src/util/errors.js';
import { makeProgram, runMain, warn } from './_common.js';
import { durationMs } from './_args.js';
import { BY_ALIASES } from '../src/output/summary.js';

const NAME = 'tcpcheck';

interface Check {
  e: Expectation;
  /** Group fields (none: the whole input is one group). */
  by: string[];
  /** Per group key: the state. */
  groups: Map<string, ExpectState>;
}

interface Outcome {
  name: string;
  pass: boolean;
  line: string;
  detail: string[];
}

function byFields(v: unknown, where: string): string[] {
  const list = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : [];
  const fields = list.map((f) => f.trim()).filter((f) => f !== '');
  for (const f of fields) {
    const name = BY_ALIASES[f] ?? f;
    if (![...SCHEMAS.values()].some((s) => s.fields.some((x) => x.name === name))) throw new UsageError('USAGE_BAD_FIELD', `${where}: unknown field "${f}" to group by`);
  }
  return fields.map((f) => BY_ALIASES[f] ?? f);
}

/** The expectations of a --expect-file (JSON, or the YAML subset of src/util/yaml-lite.ts). */
function readExpectFile(path: string): { text: string; by: string[] }[] {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError('EXPECT_FILE_UNREADABLE', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
  let doc: YamlValue;
  try {
    doc = path.endsWith('.json') || raw.trimStart().startsWith('{') ? (JSON.parse(raw) as YamlValue) : parseYamlLite(raw);
  } catch (e) {
    if (e instanceof YamlError) throw new UsageError('EXPECT_FILE_SYNTAX', `line ${e.line}: ${e.message}`, { file: path });
    throw new UsageError('EXPECT_FILE_SYNTAX', (e as Error).message, { file: path });
  }
  const out: { text: string; by: string[] }[] = [];
  const list = (v: YamlValue | undefined, where: string, prefix: string, by: string[]): void => {
    if (v === undefined) return;
    if (!Array.isArray(v)) throw new UsageError('EXPECT_FILE_SHAPE', `${where}: expected a list of expectations`, { file: path });
    for (const x of v) {
      if (typeof x !== 'string') throw new UsageError('EXPECT_FILE_SHAPE', `${where}: an expectation is a string (quote it when it holds ": ")`, { file: path });
      out.push({ text: prefix + x, by });
    }
  };
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError('EXPECT_FILE_SHAPE', 'expected a mapping with "expect" and/or "groups"', { file: path });
  for (const k of Object.keys(doc)) if (k !== 'expect' && k !== 'groups') throw new UsageError('EXPECT_FILE_SHAPE', `unknown key "${k}" (expect, groups)`, { file: path });
  list(doc['expect'], 'expect', '', []);
  const groups = doc['groups'];
  if (groups !== undefined) {
    if (!Array.isArray(groups)) throw new UsageError('EXPECT_FILE_SHAPE', 'groups: expected a list', { file: path });
    groups.forEach((g, i) => {
      if (g === null || typeof g !== 'object' || Array.isArray(g)) throw new UsageError('EXPECT_FILE_SHAPE', `groups[${i}]: expected a mapping with "by" and "expect"`, { file: path });
      const kind = typeof g['kind'] === 'string' ? `${g['kind']}: ` : '';
      list(g['expect'], `groups[${i}].expect`, kind, byFields(g['by'], `groups[${i}].by`));
    });
  }
  return out;
}

/** The protocols whose records the expectations need (a transaction kind is its decoder's). */
function protocolsFor(checks: Check[]): typeof PROTOCOLS[number][] {
  return PROTOCOLS.filter((p) => p.schemas.some((s) => checks.some((c) => c.e.kind === s.kind)));
}

const fmt = (v: number | null): string => (v === null ? 'no value' : Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6));

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function junit(outcomes: Outcome[], seconds: number): string {
  const failures = outcomes.filter((o) => !o.pass).length;
  const cases = outcomes.map((o) => {
    const head = `    <testcase classname="tcpcheck" name="${xmlEscape(o.name)}" time="0">`;
    if (o.pass) return `${head}<system-out>${xmlEscape(o.line)}</system-out></testcase>`;
    return `${head}\n      <failure message="${xmlEscape(o.line)}">${xmlEscape([o.line, ...o.detail].join('\n'))}</failure>\n    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${outcomes.length}" failures="${failures}" time="${seconds.toFixed(3)}">\n  <testsuite name="tcpcheck" tests="${outcomes.length}" failures="${failures}" errors="0" skipped="0" time="${seconds.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>\n</testsuites>\n`;
}

async function main(): Promise<number> {
  const program = makeProgram(NAME, 'Check expectations on captures or tcpkit records, as a test runner: PASS or FAIL per expectation, exit 1 when any fails.')
    .argument('[inputs...]', 'pcap/pcapng captures (analysed as tcpanalyze does) or tcpkit records, plain, gzip or zstd; none or - reads stdin')
    .option('-e, --expect <expr>', "an expectation, repeatable: aggregates compared with a bound, e.g. 'count(handshake=reject) == 0', 'p99(handshake_ms) < 50', 'http: count(status_code>=500) == 0' (docs/tcpcheck.md)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--expect-file <file>', 'expectations from a file: YAML (the subset in docs/tcpcheck.md) or JSON, with groups ({"expect": [...], "groups": [{"by": "resp_p", "expect": [...]}]})')
    .option('--by <fields>', 'check the --expect expectations per group of these record fields (comma-separated), e.g. resp_p')
    .option('--junit <file>', 'also write the results as JUnit XML (one testcase per expectation and group)')
    .addOption(new Option('--github', 'GitHub Actions output: ::error annotations and a Markdown table appended to $GITHUB_STEP_SUMMARY (default: when GITHUB_ACTIONS=true)'))
    .option('--idle-timeout <duration>', 'captures: write a flow after this much capture time without packets', '5m')
    .option('--close-linger <duration>', 'captures: keep a closed connection this long to count stragglers (as tcpanalyze)', '5s')
    .option('--syn-timeout <duration>', 'captures: a SYN unanswered this long is a handshake timeout', '30s')
    .option('-q, --quiet', 'print only the failures', false)
    .addHelpText(
      'after',
      `
Examples:
  tcpcheck capture.pcap --expect 'count(handshake=reject) == 0' --expect 'p99(handshake_ms) < 50' \\
    --expect 'sum(orig_retransmission + resp_retransmission) / sum(orig_pkts + resp_pkts) < 0.001' --junit report.xml
  tcpcheck capture.pcap --expect 'http: count(status_code>=500) == 0' --expect 'http: p99(latency_ms) < 200'
  tcpcheck conns.jsonl.zst --expect-file net-expectations.yaml
  tcpcheck capture.pcap --by resp_p --expect 'count() <= 10'
Exit status: 0 every expectation holds, 1 one fails (or the input is damaged), 2 usage error.`,
    );
  program.parse(process.argv);
  const o = program.opts<{ expect: string[]; expectFile?: string; by?: string; junit?: string; github?: boolean; idleTimeout: string; closeLinger: string; synTimeout: string; quiet: boolean }>();
  const t0 = performance.now();
  const by = o.by !== undefined ? byFields(o.by, '--by') : [];
  const texts = [...o.expect.map((text) => ({ text, by })), ...(o.expectFile !== undefined ? readExpectFile(o.expectFile) : [])];
  if (texts.length === 0) throw new UsageError('USAGE_NO_EXPECTATION', 'no expectation: give --expect EXPR or --expect-file FILE');
  const checks: Check[] = texts.map((t) => ({ e: parseExpectation(t.text), by: t.by, groups: new Map() }));
  const idleTimeoutMs = durationMs(o.idleTimeout, '--idle-timeout');
  const closeLingerMs = durationMs(o.closeLinger, '--close-linger');
  const synTimeoutMs = durationMs(o.synTimeout, '--syn-timeout');
  const github = o.github ?? process.env['GITHUB_ACTIONS'] === 'true';

  let read_bad = 0;
  const add = (r: RecordValues): void => {
    const kind = typeof r['record'] === 'string' ? r['record'] : 'conn';
    if (r['end_reason'] === 'interim') return; // a live capture's interim record: its final one counts
    for (const c of checks) {
      if (c.e.kind !== kind) continue;
      const key = c.by.map((f) => (r[f] === null || r[f] === undefined ? '' : String(r[f]))).join(' ');
      let s = c.groups.get(key);
      if (s === undefined) c.groups.set(key, (s = new ExpectState(c.e)));
      s.add(r);
    }
  };

  // inputs: captures are analysed together (merged by time, as tcpanalyze does); records are read one by one
  const files = program.args.length === 0 ? ['-'] : program.args;
  const read = await readRecordInputs(files, process.stdin, {
    onRecord: add,
    onBad: (e) => {
      if (read_bad++ < 3) warn(`${NAME}: skipped: ${e.describe()}`);
    },
    protocols: protocolsFor(checks),
    idleTimeoutMs,
    closeLingerMs,
    synTimeoutMs,
  });
  const dataError = read.dataError;
  const badLines = read.badLines;

  const outcomes: Outcome[] = [];
  for (const c of checks) {
    // a check with no record at all is still judged, on an empty group
    if (c.groups.size === 0) c.groups.set('', new ExpectState(c.e));
    const keys = [...c.groups.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const key of keys) {
      const st = c.groups.get(key)!;
      const res = st.result();
      const group = c.by.length > 0 ? ` [${c.by.join(',')}=${key || '(empty)'}]` : '';
      const name = `${c.e.text}${group}`;
      const line = `${res.pass ? 'PASS' : 'FAIL'}  ${name}: ${fmt(res.measured)}${res.pass ? '' : ` (bound ${fmt(res.bound)}, ${st.records} ${c.e.kind} records)`}`;
      const detail = res.offenders.map((x) => `      ${x.uid ?? '-'}  ${x.tuple}${x.value !== null ? `  ${fmt(x.value)}` : ''}`);
      outcomes.push({ name, pass: res.pass, line, detail });
    }
  }
  const out: string[] = [];
  for (const oc of outcomes) {
    if (o.quiet && oc.pass) continue;
    out.push(oc.line, ...oc.detail);
  }
  const failed = outcomes.filter((x) => !x.pass).length;
  out.push(`${outcomes.length - failed} passed, ${failed} failed`);
  process.stdout.write(out.join('\n') + '\n');
  if (badLines > 0) warn(`${NAME}: ${badLines} unreadable lines skipped (not counted)`);
  if (o.junit !== undefined) writeFileSync(o.junit, junit(outcomes, (performance.now() - t0) / 1000));
  if (github) {
    for (const oc of outcomes) if (!oc.pass) process.stdout.write(`::error title=tcpcheck::${[oc.line, ...oc.detail.map((d) => d.trim())].join('%0A')}\n`);
    const summary = process.env['GITHUB_STEP_SUMMARY'];
    if (summary) {
      const rows = outcomes.map((oc) => `| ${oc.pass ? '✅' : '❌'} | \`${oc.name.replace(/\|/g, '\\|')}\` | ${oc.line.replace(/^(PASS|FAIL)\s+/, '').replace(/^.*?: /, '').replace(/\|/g, '\\|')} |`);
      appendFileSync(summary, `### tcpcheck: ${outcomes.length - failed} passed, ${failed} failed\n\n| | expectation | measured |\n|---|---|---|\n${rows.join('\n')}\n\n`);
    }
  }
  if (dataError !== null) {
    warn(`${NAME}: ${isToolError(dataError) ? (dataError as ToolError).describe() : dataError.message}`);
    return EXIT_DATA;
  }
  return failed > 0 ? EXIT_DATA : EXIT_OK;
}

runMain(NAME, main);
