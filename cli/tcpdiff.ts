#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10
/**
 * tcpdiff: compares two runs of the same traffic (captures, records, or a
 * stored tcpsummary summary as the baseline) and fails when the network
 * behaviour regressed: connections that appeared or disappeared, changed
 * states, handshake verdicts, packet, byte or analysis-class counts, and
 * timings beyond their tolerance (src/output/diff.ts says what is compared).
 * A table on a terminal, JSON otherwise; exit 0 nothing regressed, 1
 * something did, 2 usage error; JUnit XML and GitHub annotations as tcpcheck.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { Option } from 'commander';
import { Differ, diffSummaries, parseTolerances, type Change, type DiffResult } from '../src/output/diff.js';
import { SummaryBuilder, BY_ALIASES } from '../src/output/summary.js';
import { PROTOCOLS } from '../src/protocols/registry.js';
import { SCHEMAS } from '../src/records/index.js';
import { EXIT_DATA, EXIT_OK, UsageError, isToolError, type ToolError } from '../src/util/errors.js';
import { makeProgram, runMain, warn } from './_common.js';
import { durationMs } from './_args.js';
import { readRecordInputs } from './_records-in.js';

const NAME = 'tcpdiff';

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const show = (v: string | number | null): string => (v === null ? '-' : typeof v === 'number' && !Number.isInteger(v) ? String(Math.round(v * 1e6) / 1e6) : String(v));

function changeLine(c: Change): string {
  const delta = typeof c.baseline === 'number' && typeof c.current === 'number' ? ` (${c.current - c.baseline >= 0 ? '+' : ''}${show(c.current - c.baseline)})` : '';
  return `${c.key}${c.uid ? ` ${c.uid}` : ''}: ${c.field} ${show(c.baseline)} -> ${show(c.current)}${delta}`;
}

async function main(): Promise<number> {
  const program = makeProgram(NAME, 'Compare two runs of the same traffic and fail when the network behaviour regressed.')
    .argument('<baseline>', 'the baseline: a capture, tcpkit records or archive, or a tcpsummary JSON summary')
    .argument('<current>', 'the current run: a capture or tcpkit records (a summary baseline is compared with the summary of this)')
    .option('--by <fields>', 'compare groups instead of connections (for traffic whose client ports change between runs), e.g. resp_p or service or host,route')
    .option('--records <kind>', 'the record kind to compare: conn (default) or a transaction kind (http, dns, ssl, ...; captures are decoded for it)', 'conn')
    .option('--tolerance <list>', 'allowed changes per field, absolute or relative to the baseline: rtt_ms=20%,orig_pkts=5 (timings are compared only when named here)')
    .addOption(new Option('-f, --format <format>', 'table or json (default: table on a terminal, else json)').choices(['table', 'json']))
    .option('--junit <file>', 'also write the result as JUnit XML')
    .addOption(new Option('--github', 'GitHub Actions output: ::error annotations and a step summary (default: when GITHUB_ACTIONS=true)'))
    .option('--idle-timeout <duration>', 'captures: write a flow after this much capture time without packets', '5m')
    .option('--close-linger <duration>', 'captures: keep a closed connection this long to count stragglers', '5s')
    .option('--syn-timeout <duration>', 'captures: a SYN unanswered this long is a handshake timeout', '30s')
    .addHelpText(
      'after',
      `
Examples:
  tcpdiff baseline.pcap current.pcap
  tcpdiff --by resp_p --tolerance rtt_ms=20%,handshake_ms=20% baseline.pcap current.pcap --junit diff.xml
  tcpdiff --records http --by host,route --tolerance latency_ms=25% baseline.pcap current.pcap
  tcpsummary baseline.jsonl.zst > baseline-summary.json && tcpdiff baseline-summary.json current.pcap
Exit status: 0 nothing regressed, 1 something did (or an input is damaged), 2 usage error.`,
    );
  program.parse(process.argv);
  const o = program.opts<{ by?: string; records: string; tolerance?: string; format?: 'table' | 'json'; junit?: string; github?: boolean; idleTimeout: string; closeLinger: string; synTimeout: string }>();
  const [baseFile, curFile] = program.args as [string, string];
  if (baseFile === '-' && curFile === '-') throw new UsageError('USAGE_STDIN_TWICE', 'stdin (-) can be given only once');
  const kind = o.records;
  if (!SCHEMAS.has(kind) || kind === 'flow' || kind === 'tunnel') throw new UsageError('USAGE_BAD_RECORD_KIND', `--records: "${kind}" is not a record kind to compare (conn, ${PROTOCOLS.flatMap((p) => p.schemas.map((s) => s.kind)).join(', ')})`);
  const by = o.by !== undefined ? o.by.split(',').map((f) => BY_ALIASES[f.trim()] ?? f.trim()).filter((f) => f !== '') : null;
  for (const f of by ?? []) if (!SCHEMAS.get(kind)!.fields.some((x) => x.name === f)) throw new UsageError('USAGE_BAD_FIELD', `--by: "${f}" is not a field of ${kind} records`);
  const tol = parseTolerances(o.tolerance);
  const opts = { idleTimeoutMs: durationMs(o.idleTimeout, '--idle-timeout'), closeLingerMs: durationMs(o.closeLinger, '--close-linger'), synTimeoutMs: durationMs(o.synTimeout, '--syn-timeout') };
  const protocols = PROTOCOLS.filter((p) => p.schemas.some((s) => s.kind === kind));
  const github = o.github ?? process.env['GITHUB_ACTIONS'] === 'true';
  const format = o.format ?? (process.stdout.isTTY === true ? 'table' : 'json');

  const differ = new Differ(kind, by, tol);
  const onBad = (e: ToolError): void => warn(`${NAME}: skipped: ${e.describe()}`);
  const base = await readRecordInputs([baseFile], process.stdin, { onRecord: (r) => differ.add('baseline', r), onBad, protocols, acceptSummary: true, ...opts });
  let result: DiffResult;
  let changes: Change[];
  if (base.summary !== null) {
    // a stored summary: summarise the current run the same way and compare the counters
    const prev = base.summary as { by?: { field?: string } };
    const builder = new SummaryBuilder({ filterNames: ['all'], ...(prev.by?.field ? { by: prev.by.field } : {}) });
    // decode what the baseline's summary has transactions of
    const txKinds = Object.keys((base.summary as { transactions?: Record<string, unknown> }).transactions ?? {});
    const sumProtocols = PROTOCOLS.filter((p) => p.schemas.some((s) => txKinds.includes(s.kind)));
    const cur = await readRecordInputs([curFile], process.stdin, { onRecord: (r) => builder.add(r, ['all']), onBad, protocols: sumProtocols, ...opts });
    if (cur.dataError) throw cur.dataError;
    changes = diffSummaries(base.summary, builder.json(), tol);
    result = { kind: 'summary', by: null, matched: 0, appeared: [], disappeared: [], changes, regressions: changes.length };
  } else {
    const cur = await readRecordInputs([curFile], process.stdin, { onRecord: (r) => differ.add('current', r), onBad, protocols, ...opts });
    for (const e of [base.dataError, cur.dataError]) if (e !== null) warn(`${NAME}: ${isToolError(e) ? (e as ToolError).describe() : e.message}`);
    if (base.dataError !== null || cur.dataError !== null) return EXIT_DATA;
    result = differ.result();
    changes = result.changes;
  }

  const lines: string[] = [];
  for (const a of result.disappeared) lines.push(`disappeared  ${a.key}${a.uid ? ` ${a.uid}` : ''}`);
  for (const a of result.appeared) lines.push(`appeared     ${a.key}${a.uid ? ` ${a.uid}` : ''}`);
  for (const c of changes) lines.push(`changed      ${changeLine(c)}`);
  const what = result.kind === 'summary' ? 'summary counters' : result.by ? `${result.kind} groups by ${result.by.join(',')}` : `${result.kind} records`;
  const verdict = `${result.regressions === 0 ? 'OK' : 'REGRESSED'}: ${what}: ${result.matched} matched, ${result.appeared.length} appeared, ${result.disappeared.length} disappeared, ${changes.length} changed`;
  if (format === 'table') process.stdout.write([...lines, verdict].join('\n') + '\n');
  else process.stdout.write(JSON.stringify({ regressed: result.regressions > 0, kind: result.kind, by: result.by, matched: result.matched, appeared: result.appeared, disappeared: result.disappeared, changes }, null, 2) + '\n');
  if (o.junit !== undefined) {
    const failures = lines.map((l) => `    <testcase classname="tcpdiff" name="${xmlEscape(l)}" time="0">\n      <failure message="${xmlEscape(l)}"/>\n    </testcase>`);
    const ok = `    <testcase classname="tcpdiff" name="${xmlEscape(`${what}: ${result.matched} matched`)}" time="0"/>`;
    writeFileSync(o.junit, `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${lines.length + 1}" failures="${lines.length}">\n  <testsuite name="tcpdiff" tests="${lines.length + 1}" failures="${lines.length}" errors="0" skipped="0">\n${[ok, ...failures].join('\n')}\n  </testsuite>\n</testsuites>\n`);
  }
  if (github && result.regressions > 0) {
    for (const l of lines.slice(0, 50)) process.stdout.write(`::error title=tcpdiff::${l}\n`);
    const summary = process.env['GITHUB_STEP_SUMMARY'];
    if (summary) appendFileSync(summary, `### tcpdiff: ${verdict}\n\n${lines.slice(0, 200).map((l) => `- \`${l.replace(/`/g, "'")}\``).join('\n')}\n\n`);
  }
  return result.regressions > 0 ? EXIT_DATA : EXIT_OK;
}

runMain(NAME, main);
