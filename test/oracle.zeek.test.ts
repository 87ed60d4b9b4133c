/**
 * conn_state and history (and the other conn.log columns a baseline has)
 * against Zeek's own btest baselines for the captures we have:
 * fixtures/pcaps/expected/*.conn.log* (and, when the shared folder is beside
 * the checkout, ../shared/pcaps for captures not copied into fixtures).
 * Every connection of every baseline must match, field by field, unless the
 * field is listed in KNOWN_DIFFERENCES with the reason.
 *
 * Baseline timestamps are masked (XXXXXXXXXX.XXXXXX), so connections are
 * matched by 5-tuple (in time order when several share one), or, for cut
 * files that only have uids, by Zeek's deterministic uid sequence (btest
 * seeds it: the n-th connection Zeek creates gets the n-th uid below).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCaptures, openCaptures } from '../src/analysis/pipeline.js';
import { ConnTracker, DEFAULT_TRACKER_OPTIONS } from '../src/analysis/tracker.js';
import { drivePackets } from '../src/capture/open.js';
import type { ConnAnalysis } from '../src/analysis/conn-analysis.js';
import type { RecordValues } from '../src/records/schema.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const FIX = join(ROOT, 'fixtures/pcaps');
const SHARED = join(ROOT, '../shared/pcaps');

/** Zeek's uids in creation order under btest's fixed seed. */
const ZEEK_UIDS = ['CHhAvVGS1DHFjwGM9', 'ClEkJM2Vm5giqnMf4h', 'C4J4Th3PJpwUYZZ6gc', 'CtPZjS20MLrsMUOJi2', 'CUM0KZ3MLUfNB0cl11'];

/**
 * Fields that do not match Zeek yet, with the reason. Key:
 * `<baseline>#<row>:<column>` (row = 0-based data row of the baseline),
 * `<baseline>#*:<column>` for every row of a baseline, `*:<column>` for every
 * baseline.
 */
export const KNOWN_DIFFERENCES: Record<string, string> = {
  // conn.log missed_bytes is written by SeqAnalysis.fill() (the tshark-style
  // analysis, a stub writing null on this branch) after ZeekState.fill().
  // Zeek's own count is ZeekState.missedBytes, which this test checks against
  // every baseline separately (equal everywhere, e.g. 5416642848 for the
  // big FTP transfer and 24257 for retransmit-fast009).
  '*:missed_bytes': 'the record field comes from SeqAnalysis (stub: null); ZeekState.missedBytes equals Zeek',
  // The tunnelled UDP datagrams go 40000 -> 40001 (and back): two ephemeral
  // ports, so tcpkit's port heuristic makes the lower port the server and the
  // 40001 side the originator; Zeek's originator is the first sender
  // (docs/zeek-state.md, "Originator"). The history is the same letters seen
  // from the other end.
  ...Object.fromEntries(
    ['tunnels.geneve-ipv6', 'tunnels.ayiya-large-identity'].flatMap((b) =>
      ['id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'history'].map((c) => [`${b}#1:${c}`, 'originator of a UDP flow between two ephemeral ports: port heuristic vs first sender']),
    ),
  ),
  // the same one-packet flow seen from tcpkit's originator: Zeek's S0 with
  // orig_pkts 1 is tcpkit's SHR with resp_pkts 1
  ...Object.fromEntries(['conn_state', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes'].map((c) => [`tunnels.ayiya-large-identity#1:${c}`, 'the one-packet flow from the other end (originator by ports)'])),
};

/** The KNOWN_DIFFERENCES key that covers a field, if any. */
function knownKey(baseline: string, row: number, col: string): string | undefined {
  return [`${baseline}#${row}:${col}`, `${baseline}#*:${col}`, `*:${col}`].find((k) => KNOWN_DIFFERENCES[k] !== undefined);
}

interface Baseline {
  /** Short name used in KNOWN_DIFFERENCES keys. */
  name: string;
  capture: string;
  expected: string;
  /** Column names of a cut file that has no header line. */
  columns?: string[];
  /** Column separator when not a tab. */
  sep?: string;
  /** Only this data row of the file (files holding several captures' output). */
  row?: number;
  /** The packets the btest's BPF filter let through: records of other flows are ignored. */
  keep?: (r: RecordValues) => boolean;
}

const BASELINES: Baseline[] = [
  { name: 'ftp-bigtransfer', capture: 'zeek__ftp-bigtransfer.pcap', expected: 'zeek__ftp-bigtransfer.pcap.expected.zeek.core.tcp.large-file-reassembly.conn.log' },
  { name: 'http-get', capture: 'zeek__http-get.pcap', expected: 'zeek__http-get.pcap.expected.zeek.core.tcp.reassembly-known-ports.conn.log' },
  { name: 'missing-syn', capture: 'zeek__tcp-missing-syn.pcap', expected: 'zeek__tcp-missing-syn.pcap.expected.zeek.core.tcp.missing-syn.conn.log' },
  { name: 'history-flip', capture: 'zeek__tcp-missing-syn.pcap', expected: 'zeek__tcp-missing-syn.pcap.expected.zeek.core.history-flip.conn.log' },
  {
    name: 'handshake-reorder',
    capture: 'zeek__tcp-handshake-reorder.pcap',
    expected: 'zeek__tcp-handshake-reorder.pcap.expected.zeek.scripts.policy.protocols.conn.community-id-logging-flipped.conn.log.cut',
    columns: ['id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'community_id'],
  },
  { name: 'ctu-64702-888', capture: 'zeek__tcp-ctu-64702-888.pcap', expected: 'zeek__tcp-ctu-64702-888.pcap.expected.zeek.core.conn-size-flip.conn.log.ctu' },
  {
    // zeek -b -f 'tcp port 25' -r smtp.pcap
    name: 'smtp',
    capture: 'zeek__smtp.pcap',
    expected: 'zeek__smtp.pcap.expected.zeek.scripts.base.files.mime.mime-content-hash.conn.log',
    keep: (r) => r['proto'] === 'tcp' && (r['orig_p'] === 25 || r['resp_p'] === 25),
  },
  { name: 'pcapng-multi-interface', capture: 'zeek__pcapng-multi-interface.pcapng', expected: 'zeek__pcapng-multi-interface.pcapng.expected.zeek.core.pcapng-pktsrc.conn.log' },
  { name: 'rxmit-history-fast009', capture: 'zeek__tcp-retransmit-fast009.pcap', expected: 'zeek__tcp-retransmit-fast009.pcap.expected.zeek.core.tcp.rxmit-history.conn-1.log' },
  { name: 'expire-all-timers', capture: 'zeek__tcp-retransmit-timeout.pcapng', expected: 'zeek__tcp-retransmit-timeout.pcapng.expected.zeek.core.expire-all-timers.conn-all.log' },
  { name: 'vlan-0', capture: 'zeek__http-vlan-0.pcap', expected: 'zeek__http-vlan-0.pcap.expected.zeek.scripts.base.protocols.vlan.vlan-0.conn.log.cut' },
  { name: 'vlan-0-qinq', capture: 'zeek__http-qinq-0.pcap', expected: 'zeek__http-qinq-0.pcap.expected.zeek.scripts.base.protocols.vlan.vlan-0-qinq.conn.log.cut' },
  { name: 'http-261-chunked-rest', capture: 'zeek__http-261-variant-10-multi_value_te.pcap', expected: 'zeek__http-261-variant-10-multi_value_te.pcap.expected.zeek.scripts.base.protocols.http.261.chunked-rest.conn.log' },
  {
    name: 'single-rst',
    capture: 'zeek__tcp-single-rst.pcap',
    expected: 'zeek__tcp-syn-then-rst.pcap.expected.zeek.scripts.base.protocols.conn.conn_state-RST-behavior.out',
    columns: ['history', 'conn_state'],
    sep: ', ',
    row: 0,
  },
  {
    name: 'syn-then-rst',
    capture: 'zeek__tcp-syn-then-rst.pcap',
    expected: 'zeek__tcp-syn-then-rst.pcap.expected.zeek.scripts.base.protocols.conn.conn_state-RST-behavior.out',
    columns: ['history', 'conn_state'],
    sep: ', ',
    row: 1,
  },
  // Zeek's tunnel traces as their generators describe them (crafted/mk-encap.py), with Zeek's own baselines
  { name: 'tunnels.geneve-ipv6', capture: 'crafted/zeek-geneve-ipv6.pcap', expected: 'zeek-geneve-ipv6.pcap.expected.zeek.core.tunnels.geneve-ipv6.conn.log' },
  { name: 'tunnels.ayiya-large-identity', capture: 'crafted/zeek-ayiya-large-identity.pcap', expected: 'zeek-ayiya-large-identity.pcap.expected.zeek.core.tunnels.ayiya-large-identity.conn.log' },
  // captures kept in the shared folder only
  { name: 'rxmit-history-wikipedia', capture: 'zeek__wikipedia.pcap', expected: 'zeek__wikipedia.pcap.expected.zeek.core.tcp.rxmit-history.conn-2.log' },
  { name: 'mysql-encrypted', capture: 'zeek__mysql-encrypted.pcap', expected: 'zeek__mysql-encrypted.pcap.expected.zeek.scripts.base.protocols.mysql.encrypted.conn.log' },
];

/** Baseline column -> conn record field. */
const FIELD: Record<string, string> = {
  'id.orig_h': 'orig_h',
  'id.orig_p': 'orig_p',
  'id.resp_h': 'resp_h',
  'id.resp_p': 'resp_p',
  proto: 'proto',
  conn_state: 'conn_state',
  history: 'history',
  orig_bytes: 'orig_bytes',
  resp_bytes: 'resp_bytes',
  missed_bytes: 'missed_bytes',
  orig_pkts: 'orig_pkts',
  orig_ip_bytes: 'orig_ip_bytes',
  resp_pkts: 'resp_pkts',
  resp_ip_bytes: 'resp_ip_bytes',
  community_id: 'community_id',
  vlan: 'vlan',
  duration: 'duration',
  tunnel_parents: 'tunnel_parents',
};

function findFile(name: string): string | null {
  for (const p of [join(FIX, name), join(FIX, 'expected', name), join(SHARED, name)]) if (existsSync(p)) return p;
  return null;
}

type Row = Record<string, string>;

/** Reads a Zeek ASCII log, a zeek-cut output (header line first) or a headerless cut. */
export function readBaseline(text: string, columns?: string[], sep = '\t'): Row[] {
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('###'));
  let cols = columns;
  const data: string[] = [];
  for (const l of lines) {
    if (l.startsWith('#fields')) cols = l.split('\t').slice(1);
    else if (l.startsWith('#')) continue;
    else if (!cols) cols = l.split(sep);
    else data.push(l);
  }
  return data.map((l) => {
    const c = l.split(sep);
    const row: Row = {};
    cols!.forEach((k, i) => (row[k] = c[i] ?? ''));
    return row;
  });
}

/** A baseline cell in the record's terms: '-' is unset. */
function cell(v: string): string | number | null {
  if (v === '-') return null;
  return /^\d+$/.test(v) ? Number(v) : v;
}

interface Flow {
  rec: RecordValues;
  missed: number;
}

/** Every flow of a capture through the pipeline (records as onRecord sees them), plus ZeekState's own missed bytes. */
async function run(path: string): Promise<Flow[]> {
  const recs: RecordValues[] = [];
  await analyzeCaptures([{ path }], { onRecord: (r) => recs.push(r) });
  // a second pass at the tracker level reads ZeekState's internals (same flows, same order)
  const missed: number[] = [];
  const { inputs, readers } = await openCaptures([{ path }]);
  const t = new ConnTracker({ ...DEFAULT_TRACKER_OPTIONS, onFlowEnd: (c) => missed.push((c.aux as ConnAnalysis).zeek.missedBytes) });
  try {
    await drivePackets(readers, inputs, (p) => t.onPacket(p));
  } finally {
    for (const i of inputs) await i.window.close().catch(() => {});
  }
  t.finish();
  assert.equal(missed.length, recs.length);
  return recs.map((rec, i) => ({ rec, missed: missed[i]! }));
}

const sameTuple = (r: RecordValues, row: Row): boolean =>
  (r['orig_h'] === row['id.orig_h'] && String(r['orig_p']) === row['id.orig_p'] && r['resp_h'] === row['id.resp_h'] && String(r['resp_p']) === row['id.resp_p']) ||
  (r['orig_h'] === row['id.resp_h'] && String(r['orig_p']) === row['id.resp_p'] && r['resp_h'] === row['id.orig_h'] && String(r['resp_p']) === row['id.orig_p']);

const byTime = (x: Flow, y: Flow): number => Number(x.rec['ts']) - Number(y.rec['ts']);

export interface Agreement {
  baseline: string;
  compared: number;
  identical: number;
}

/** Per-baseline agreement (connections compared / identical on conn_state+history), filled as the tests run. */
export const AGREEMENT: Agreement[] = [];
const usedKnown = new Set<string>();

for (const b of BASELINES) {
  const cap = findFile(b.capture);
  const exp = findFile(b.expected);
  const skip = cap === null || exp === null ? `${b.capture} or its baseline is not here` : false;
  test(`Zeek baseline ${b.name}: conn_state, history and the other columns of every connection`, { skip }, async () => {
    let rows = readBaseline(readFileSync(exp!, 'utf8'), b.columns, b.sep);
    if (b.row !== undefined) rows = [rows[b.row]!];
    assert.ok(rows.length > 0, 'baseline has rows');
    const flows = (await run(cap!)).filter((f) => !b.keep || b.keep(f.rec));
    const used = new Set<Flow>();
    const problems: string[] = [];
    // Zeek's uids (seeded in btest) -> the uids of the records matched to their rows, for tunnel_parents
    const uidOf = new Map<string, string>();
    let identical = 0;
    rows.forEach((row, i) => {
      let f: Flow | undefined;
      if (row['id.orig_h'] !== undefined) f = flows.filter((x) => !used.has(x) && sameTuple(x.rec, row)).sort(byTime)[0];
      else if (row['uid'] !== undefined) {
        const n = ZEEK_UIDS.indexOf(row['uid']!);
        f = n >= 0 ? [...flows].sort(byTime)[n] : undefined;
      } else if (flows.length === 1) f = flows[0];
      if (!f) {
        problems.push(`row ${i}: no tcpkit record for ${JSON.stringify(row)}`);
        return;
      }
      used.add(f);
      if (row['uid'] !== undefined) uidOf.set(row['uid']!, String(f.rec['uid']));
      let same = true;
      for (const [col, want] of Object.entries(row)) {
        const field = FIELD[col] ?? (col === 'id.ctx.vlan' ? 'vlan' : undefined);
        if (!field) continue;
        // Zeek leaves the byte counts unset for connections of zero duration
        if ((col === 'orig_bytes' || col === 'resp_bytes') && want === '-') continue;
        const w =
          col === 'duration'
            ? want === '-' ? 0 : Number(want)
            : col === 'tunnel_parents'
              ? want === '-' ? null : want.split(',').map((u) => uidOf.get(u) ?? `(Zeek's ${u}, not matched)`).sort().join(',')
              : cell(want);
        const raw = f.rec[field] ?? null;
        // Zeek prints durations in seconds with 6 decimals (0 as unset)
        const got = col === 'duration' ? Math.round(Number(raw) * 1e6) / 1e6 : col === 'tunnel_parents' && raw !== null ? String(raw).split(',').sort().join(',') : raw;
        if (got !== w) {
          if (col === 'conn_state' || col === 'history') same = false;
          const key = knownKey(b.name, i, col);
          if (key) usedKnown.add(key);
          else problems.push(`row ${i} ${col}: Zeek ${JSON.stringify(w)}, tcpkit ${JSON.stringify(got)}`);
        }
        // Zeek's content gaps as ZeekState counts them, whatever fills the record's field
        if (col === 'missed_bytes' && f.missed !== w) problems.push(`row ${i}: ZeekState.missedBytes ${f.missed}, Zeek ${w}`);
      }
      if (same) identical++;
    });
    AGREEMENT.push({ baseline: b.name, compared: rows.length, identical });
    assert.deepEqual(problems, []);
  });
}

test('crafted scenarios: conn_state by Zeek conn_state() logic (peers.md §1.1a)', async () => {
  const cap = join(FIX, 'crafted/scenarios.pcap');
  const want: Record<number, string> = { 1001: 'SF', 1008: 'REJ', 1009: 'S0', 1010: 'OTH', 1012: 'SF' };
  const flows = await run(cap);
  for (const [port, state] of Object.entries(want)) {
    const mine = flows.filter((f) => f.rec['orig_p'] === Number(port) || f.rec['resp_p'] === Number(port));
    assert.ok(mine.length > 0, `port ${port}`);
    for (const f of mine) assert.equal(f.rec['conn_state'], state, `port ${port}`);
  }
});

test('every KNOWN_DIFFERENCES entry names a baseline, and the agreement is reported', (t) => {
  const names = new Set(BASELINES.map((b) => b.name));
  for (const k of Object.keys(KNOWN_DIFFERENCES)) assert.ok(k.startsWith('*:') || names.has(k.split('#')[0]!), k);
  for (const a of AGREEMENT) t.diagnostic(`${a.baseline}: ${a.identical}/${a.compared} connections with Zeek's conn_state and history`);
  // a difference that no longer occurs is reported (not failed: another module may have fixed it)
  for (const k of Object.keys(KNOWN_DIFFERENCES)) if (!usedKnown.has(k)) t.diagnostic(`known difference no longer seen: ${k}`);
});
