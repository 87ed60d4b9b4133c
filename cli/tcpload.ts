#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10
/**
 * tcpload: streams tcpkit records into ClickHouse over its HTTP interface.
 * Inputs are tcpkit records (NDJSON, plain, gzip or zstd archives; read
 * line by line, numbers kept exact) or captures (analysed on the fly as
 * tcpanalyze analyses them, several merged by time). Batches of
 * TabSeparated rows, retried with backoff when the server is away, a state
 * file recording what is committed so an interrupted load resumes, and a
 * final count check. The tables are ReplacingMergeTrees keyed by each
 * record's identity (src/records/ddl-clickhouse.ts), so nothing sent twice
 * is counted twice.
 */
import { existsSync } from 'node:fs';
import { openInput, type OpenedInput } from '../src/io/input.js';
import { LineReader } from '../src/io/lines.js';
import { isCaptureMagic } from '../src/capture/open.js';
import { parseRecordLine } from '../src/records/ndjson-reader.js';
import { CONN_SCHEMA, SCHEMAS, type RecordSchema } from '../src/records/index.js';
import { analyzeOpened } from '../src/analysis/pipeline.js';
import { AppLayer } from '../src/analysis/app-layer.js';
import { PROTOCOLS, parseDecodeList, parseDecodePorts } from '../src/protocols/registry.js';
import { ClickHouseHttp, describeTarget, parseClickHouseUrl } from '../src/output/clickhouse-http.js';
import { prepareTables } from '../src/output/clickhouse-tables.js';
import { ClickHouseLoader } from '../src/output/clickhouse-load.js';
import { LoadState, defaultStatePath, type LoadInput } from '../src/output/clickhouse-load-state.js';
import { TsvLineError } from '../src/output/clickhouse-tsv.js';
import { EXIT_DATA, EXIT_OK, ToolError, UsageError, isToolError } from '../src/util/errors.js';
import { makeProgram, onStopSignals, runMain, warn } from './_common.js';
import { byteSize, durationMs } from './_args.js';

const NAME = 'tcpload';

/** `{"record":"conn",...`: the kind without parsing the line (tcpkit writes `record` first); other lines are parsed. */
function lineKind(buf: Buffer, start: number, end: number): string | null {
  const PREFIX = '{"record":"';
  if (end - start > PREFIX.length && buf.toString('latin1', start, start + PREFIX.length) === PREFIX) {
    const q = buf.indexOf(0x22, start + PREFIX.length);
    if (q > 0 && q < end) return buf.toString('utf8', start + PREFIX.length, q);
  }
  const r = parseRecordLine(buf, start, end);
  return r === null ? null : (r['record'] as string);
}

interface Opts {
  create: boolean;
  cluster?: string;
  records?: string;
  decode?: string;
  decodePort: string[];
  batchRows: string;
  batchBytes: string;
  retries: string;
  backoff: string;
  maxBackoff: string;
  timeout: string;
  state?: string;
  resume: boolean;
  check: boolean;
  idleTimeout: string;
  closeLinger: string;
  synTimeout: string;
  strict: boolean;
  quiet: boolean;
}

function positiveInt(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError('USAGE_BAD_NUMBER', `${flag}: "${text}" is not a whole number of at least ${min}`);
  return n;
}

async function main(): Promise<number> {
  const program = makeProgram(NAME, 'Load tcpkit records (or captures, analysed on the fly) into ClickHouse over its HTTP interface, in batches, resumably.')
    .argument('<url>', 'clickhouse://[USER[:PASSWORD]@]HOST[:8123]/DATABASE[.TABLE] (clickhouses:// for HTTPS): DATABASE.TABLE takes one record kind; DATABASE alone, one table per kind named as tcpquery names its views (conns, http, dns, ...)')
    .argument('[files...]', 'tcpkit records (NDJSON, plain, gzip or zstd archives) or pcap/pcapng captures (analysed as tcpanalyze does, several merged by time); none or - reads stdin')
    .option('--create', 'create the database and tables from the record schemas (ReplacingMergeTree keyed by each record\'s identity) when missing, and add columns the schema has and the table lacks; with no files, only create', false)
    .option('--cluster <name>', 'load into Distributed tables over this cluster (a remote_servers entry): each kind\'s table is the Distributed one, over <table>_local on every shard; --create makes both on the server named (run it once per shard)')
    .option('--records <kinds>', 'record kinds to load, comma-separated (default: conn for DATABASE.TABLE, every kind for DATABASE); records of other kinds are counted and skipped')
    .option('--decode <protocols>', `captures: decode application transactions (${PROTOCOLS.map((p) => p.name).join(', ')}, or all), as tcpanalyze --decode`)
    .option('--decode-port <proto:ports>', 'captures: more server ports for a decoded protocol, repeatable: http:8080,8000', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--batch-rows <n>', 'rows per batch (all kinds together): one INSERT per kind per batch', '100000')
    .option('--batch-bytes <size>', 'bytes of rows per batch (suffixes k, m, g): a batch is cut at whichever comes first', '32m')
    .option('--retries <n>', 'attempts after the first for a request that failed for a passing reason (server unreachable or restarting, too many parts, a shard down)', '10')
    .option('--backoff <duration>', 'wait before the first retry, doubled at each (with jitter)', '500ms')
    .option('--max-backoff <duration>', 'longest wait between retries', '30s')
    .option('--timeout <duration>', 'longest wait for one request', '5m')
    .option('--state <file>', 'where the load records what is committed, so an interrupted load resumes (default: .tcpkit-load-<hash>.json in the current directory, removed when the load completes)')
    .option('--no-resume', 'ignore an existing state file: load every record again (the tables replace the copies)')
    .option('--no-check', 'skip the final count check')
    .option('--idle-timeout <duration>', 'captures: write a flow after this much capture time without packets', '5m')
    .option('--close-linger <duration>', 'captures: keep a closed connection this long to count stragglers', '5s')
    .option('--syn-timeout <duration>', 'captures: a SYN unanswered this long is a handshake timeout', '30s')
    .option('--strict', 'a line that is not a record is an error (exit 1) instead of a warning', false)
    .option('-q, --quiet', 'no progress or warnings on stderr', false)
    .addHelpText(
      'after',
      `
Examples:
  tcpload --create clickhouse://localhost:8123/tcpkit conns.jsonl.zst
  tcpload --create --decode http,dns clickhouse://localhost:8123/tcpkit day1.pcap.zst
  tcpanalyze capture.pcap | tcpload clickhouse://ch1:8123/net.conns
  ls /var/spool/tcpkit/*.jsonl.zst | xargs -P 4 -n 1 tcpload --cluster tk clickhouse://ch1:8123/tcpkit
Password: in the URL, or CLICKHOUSE_PASSWORD (and CLICKHOUSE_USER) in the environment.
Exit status: 0 loaded and counted, 1 data error (a damaged input, a server error after the retries, a count that
does not match; what was committed stays committed and the same command resumes), 2 usage error.`,
    );
  program.parse(process.argv);
  const o = program.opts<Opts>();
  const target = parseClickHouseUrl(program.args[0]!);
  if (target.user === null && process.env['CLICKHOUSE_USER']) target.user = process.env['CLICKHOUSE_USER'];
  if (target.password === null && process.env['CLICKHOUSE_PASSWORD']) target.password = process.env['CLICKHOUSE_PASSWORD'];
  const files = program.args.slice(1);
  const inputsGiven = files.length > 0 || !o.create;
  const paths = files.length === 0 && inputsGiven ? ['-'] : files;
  if (paths.filter((f) => f === '-').length > 1) throw new UsageError('USAGE_STDIN_TWICE', 'stdin (-) can be given only once');
  if (new Set(paths).size !== paths.length) throw new UsageError('USAGE_INPUT_TWICE', 'an input is named twice');

  // the kinds and their tables
  let kinds: RecordSchema[];
  if (o.records !== undefined) {
    kinds = [];
    for (const part of o.records.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
      const s = SCHEMAS.get(part);
      if (part === 'all') kinds.push(...[...SCHEMAS.values()].filter((x) => !kinds.includes(x)));
      else if (s === undefined) throw new UsageError('USAGE_BAD_RECORD_KIND', `--records: "${part}" is not a record kind (${[...SCHEMAS.keys()].join(', ')})`);
      else if (!kinds.includes(s)) kinds.push(s);
    }
    if (kinds.length === 0) throw new UsageError('USAGE_BAD_RECORD_KIND', '--records: no record kind named');
  } else kinds = target.table !== null ? [CONN_SCHEMA] : [...SCHEMAS.values()];
  if (target.table !== null && kinds.length > 1) throw new UsageError('USAGE_ONE_KIND', `${describeTarget(target)} names one table: load one record kind into it (--records), or name only the database for one table per kind`);
  const protocols = o.decode !== undefined ? parseDecodeList(o.decode) : [];
  const decodePorts = parseDecodePorts(o.decodePort);
  const batchRows = positiveInt(o.batchRows, '--batch-rows');
  const batchBytes = byteSize(o.batchBytes, '--batch-bytes');
  const retries = positiveInt(o.retries, '--retries', 0);
  const backoffMs = durationMs(o.backoff, '--backoff');
  const maxBackoffMs = durationMs(o.maxBackoff, '--max-backoff');
  const timeoutMs = durationMs(o.timeout, '--timeout');
  const idleTimeoutMs = durationMs(o.idleTimeout, '--idle-timeout');
  const closeLingerMs = durationMs(o.closeLinger, '--close-linger');
  const synTimeoutMs = durationMs(o.synTimeout, '--syn-timeout');
  const say = (line: string): void => {
    if (!o.quiet) warn(`${NAME}: ${line}`);
  };

  // inputs: each records file on its own; the captures together, as one input (merged by time)
  const opened: { path: string; input: OpenedInput; capture: boolean }[] = [];
  for (const f of paths) {
    let input: OpenedInput;
    try {
      input = await openInput(f === '-' ? { path: '-', stream: process.stdin } : { path: f });
    } catch (e) {
      for (const x of opened) await x.input.window.close().catch(() => {});
      throw e;
    }
    await input.window.fill(4).catch(() => {});
    const w = input.window;
    opened.push({ path: f, input, capture: w.available >= 4 && isCaptureMagic(w.buf.readUInt32BE(w.pos)) });
  }
  const recordFiles = opened.filter((x) => !x.capture);
  const captures = opened.filter((x) => x.capture);
  const loadInputs: LoadInput[] = recordFiles.map((x) => ({ name: x.path === '-' ? '<stdin>' : x.path, files: x.path === '-' ? [] : [x.path] }));
  if (captures.length > 0) loadInputs.push({ name: captures.map((x) => (x.path === '-' ? '<stdin>' : x.path)).join(' '), files: captures.filter((x) => x.path !== '-').map((x) => x.path) });
  const fromStdin = paths.includes('-');

  const targetText = describeTarget(target) + (o.cluster !== undefined ? ` (cluster ${o.cluster})` : '');
  const statePath = fromStdin ? null : (o.state ?? defaultStatePath(targetText, loadInputs));
  const state = LoadState.open(statePath, targetText, loadInputs, o.resume);
  for (const c of state.changed) say(`${c} changed since the interrupted load: loading it from its start`);

  const http = new ClickHouseHttp(target, { timeoutMs });
  let interrupted = false;
  const offSignals = onStopSignals(() => {
    interrupted = true;
    if (fromStdin) process.stdin.destroy();
  });
  let code = EXIT_OK;
  try {
    // the loader's retry policy also covers the setup queries
    let loader: ClickHouseLoader | null = null;
    const retry = { batchRows, batchBytes, retries, backoffMs, maxBackoffMs, onRetry: (l: string) => say(l) };
    const setupLoader = new ClickHouseLoader(http, [], state, retry);
    const tables = await prepareTables(http, target, kinds, { create: o.create, cluster: o.cluster ?? null, note: say, attempt: (fn, what) => setupLoader.attempt(fn, what) });
    if (!inputsGiven) {
      say(`tables ready: ${tables.map((t) => t.table).join(', ')}`);
      return EXIT_OK;
    }
    const t0 = performance.now();
    const progress = process.stderr.isTTY === true && !o.quiet;
    loader = new ClickHouseLoader(http, tables, state, {
      ...retry,
      ...(progress ? { onCommit: (n: number) => process.stderr.write(`\r${NAME}: ${loader!.committedRows} rows committed in ${n} batches  `) } : {}),
    });
    const L = loader;
    let badLines = 0;
    let dataError: Error | null = null;
    const bad = (e: ToolError): void => {
      badLines++;
      if (badLines <= 3) say(`skipped: ${e.describe()}`);
    };
    for (const [i, x] of recordFiles.entries()) {
      const name = loadInputs[i]!.name;
      if (state.isDone(i)) {
        say(`${name}: committed by an earlier run (${state.committed(i)} records)`);
        await x.input.window.close().catch(() => {});
        continue;
      }
      if (state.committed(i) > 0) say(`${name}: resuming after ${state.committed(i)} committed records`);
      L.beginInput(i, name);
      const lines = new LineReader(x.input.window);
      try {
        reading: for (;;) {
          while (lines.nextBuffered()) {
            let kind: string | null;
            try {
              kind = lineKind(lines.buf, lines.start, lines.end);
              if (kind === null) continue;
              L.addLine(kind, lines.buf, lines.start, lines.end);
            } catch (e) {
              if (!(e instanceof ToolError || e instanceof TsvLineError)) throw e;
              if (isToolError(e) && e.code === 'RECORD_MIXED_INPUT') throw new UsageError('INPUT_NOT_RECORDS', `${name}: an m-lab tcp-info archive: tcpload loads tcpkit records`);
              bad(new ToolError(isToolError(e) ? e.code : 'RECORD_BAD_JSON', e.message, { file: name, line: lines.lineNo, offset: lines.lineOffset }));
              continue;
            }
            if (L.full) await L.ready();
            if (L.failed !== null || interrupted) break reading;
          }
          if (!(await lines.fill())) {
            L.endInput();
            break;
          }
        }
      } catch (e) {
        if (e instanceof UsageError) throw e;
        dataError ??= e as Error;
      } finally {
        await x.input.window.close().catch(() => {});
      }
      if (L.failed !== null || interrupted) break;
    }
    if (captures.length > 0 && L.failed === null && !interrupted) {
      const i = loadInputs.length - 1;
      if (state.isDone(i)) {
        say(`${loadInputs[i]!.name}: committed by an earlier run (${state.committed(i)} records)`);
        for (const x of captures) await x.input.window.close().catch(() => {});
      } else {
        if (state.committed(i) > 0) say(`${loadInputs[i]!.name}: resuming after ${state.committed(i)} committed records (the captures are analysed again)`);
        L.beginInput(i, loadInputs[i]!.name);
        const app = protocols.length > 0 ? new AppLayer({ protocols, ports: decodePorts, onTransaction: (schema, r) => L.addRecord(schema.kind, r) }) : undefined;
        const r = await analyzeOpened(
          captures.map((x) => x.input),
          {
            idleTimeoutMs,
            closeLingerMs,
            synTimeoutMs,
            ...(app ? { app } : {}),
            onRecord: (rec) => L.addRecord(CONN_SCHEMA.kind, rec),
            control: { stop: () => interrupted || L.failed !== null, wait: () => (L.full ? L.ready() : null) },
          },
        );
        if (r.errors.length > 0) dataError ??= r.errors[0]!;
        if (!r.stopped && !interrupted && L.failed === null) L.endInput();
      }
    }
    await L.finish();
    if (progress) process.stderr.write('\r\x1b[K');
    offSignals();
    const secs = (performance.now() - t0) / 1000;
    const out: string[] = [];
    for (const c of L.counts()) if (c.records > 0 || c.sent > 0) out.push(`${c.table}: ${c.sent} rows sent${c.records !== c.sent ? ` (${c.records} records read${c.records > c.sent ? `, ${c.records - c.sent} committed by an earlier run` : ''})` : ''}`);
    for (const [k, n] of L.notLoaded) say(`${n} ${k} records not loaded (no table for them; --records chooses the kinds)`);
    out.push(`${L.committedRows} rows in ${L.committedBatches} batches, ${secs.toFixed(1)} s (${Math.round(L.committedRows / Math.max(secs, 1e-3))} rows/s)`);
    if (badLines > 0) say(`${badLines} lines that are not records skipped`);
    if (interrupted) {
      process.stdout.write(out.join('\n') + '\n');
      say(`interrupted: what was committed is recorded${statePath !== null ? ` in ${statePath}` : ''}; the same command resumes`);
      return 130;
    }
    if (o.check) {
      const tablesWithSource = tables.filter((t) => t.columns.includes('_source'));
      if (tablesWithSource.length < tables.length) say(`no _source column in ${tables.filter((t) => !tablesWithSource.includes(t)).map((t) => t.table).join(', ')}: rows not counted`);
      const res = await L.check(loadInputs.map((x) => x.name), new Set(tablesWithSource.map((t) => t.table)));
      out.push(...res.lines.map((l) => `count: ${l}`));
      if (!res.ok) code = EXIT_DATA;
    }
    process.stdout.write(out.join('\n') + '\n');
    if (dataError !== null) {
      say(isToolError(dataError) ? (dataError as ToolError).describe() : dataError.message);
      code = EXIT_DATA;
    }
    if (badLines > 0 && o.strict) code = EXIT_DATA;
    if (code === EXIT_OK) state.remove();
    else if (statePath !== null) say(`what was committed is recorded in ${statePath}; the same command resumes`);
    return code;
  } catch (e) {
    if (statePath !== null && existsSync(statePath)) warn(`${NAME}: what was committed is recorded in ${statePath}; the same command resumes`);
    throw e;
  } finally {
    http.close();
    if (fromStdin) process.stdin.destroy();
  }
}

runMain(NAME, main);
