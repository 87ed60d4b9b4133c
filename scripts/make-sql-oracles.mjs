#!/usr/bin/env node
// Regenerates the SQL decoders' stored oracle outputs (run from the repository root; needs
// tshark 4.0 and, for the fingerprints, Percona's pt-fingerprint):
//
// 1. tshark dumps of the MySQL captures copied from the corpus' top level
//    (fixtures/pcaps/l7/zeek__mysql-*.pcap), in the format and with the fields of the other
//    MySQL dumps of fixtures/pcaps/l7 (`<capture>.tshark.tsv`, the command in `.tshark.cmd`);
// 2. fixtures/pcaps/oracles/sql-fingerprints.pt-fingerprint.tsv: every distinct statement
//    tshark's MySQL and PostgreSQL dissectors show in the fixtures' dumps (mysql.query,
//    pgsql.query; tshark's \n, \r and \t escapes undone), with pt-fingerprint's fingerprint,
//    both as JSON strings;
// 3. pt-query-digest's reading of the MySQL captures (see below).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const L7 = 'fixtures/pcaps/l7';
const FIELDS = [
  'frame.number', 'frame.time_epoch', 'tcp.stream', 'ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst', 'ipv6.dst', 'tcp.dstport', 'tcp.len',
  'mysql.packet_number', 'mysql.command', 'mysql.query', 'mysql.stmt_id', 'mysql.response_code', 'mysql.error_code', 'mysql.sqlstate',
  'mysql.error.message', 'mysql.affected_rows', 'mysql.num_fields', 'mysql.user', 'mysql.schema', '_ws.col.Info',
];

const version = execFileSync('tshark', ['--version'], { encoding: 'utf8' }).split('\n')[0];
for (const cap of readdirSync(L7).filter((n) => /^zeek__mysql-.*\.pcap$/.test(n))) {
  const args = ['-2', '-n', '-r', cap, '-Y', 'mysql', '-T', 'fields', '-E', 'header=y', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|', ...FIELDS.flatMap((f) => ['-e', f])];
  const out = execFileSync('tshark', args, { cwd: L7, encoding: 'utf8', maxBuffer: 1 << 28 });
  writeFileSync(join(L7, `${cap}.tshark.tsv`), out);
  const shown = args.map((a) => (a === 'aggregator=|' ? "'aggregator=|'" : a)).join(' ');
  writeFileSync(
    join(L7, `${cap}.tshark.cmd`),
    `# ${version}\n# run in this directory; output = ${cap}.tshark.tsv (aggregator "|" joins repeated fields / several PDUs in one frame)\ntshark ${shown}\n`,
  );
  console.log(`${cap}.tshark.tsv: ${out.split('\n').length - 2} frames`);
}

// 3. pt-query-digest's own reading of each MySQL capture (tcpdump -x text, --type tcpdump): per
//    fingerprint the query count, the sum of Query_time and of Rows_affected
//    (fixtures/pcaps/oracles/<capture>.pt-query-digest.json)
const ptqd = spawnSync('pt-query-digest', ['--version'], { encoding: 'utf8' });
if (ptqd.error === undefined && /pt-query-digest/.test(ptqd.stdout)) {
  for (const cap of readdirSync(L7).filter((n) => /mysql.*\.pcap$/.test(n)).sort()) {
    const cmdFile = readFileSync(join(L7, `${cap}.tshark.cmd`), 'utf8');
    const port = Number(/-d tcp\.port==(\d+),mysql/.exec(cmdFile)?.[1] ?? 3306);
    const tsv = readFileSync(join(L7, `${cap}.tshark.tsv`), 'utf8').split('\n').slice(1).map((l) => l.split('\t'));
    const server = tsv.find((f) => Number(f[5]) === port);
    if (server === undefined) continue;
    const ip = server[3] || server[4];
    const text = execFileSync('tcpdump', ['-s', '65535', '-x', '-nn', '-q', '-tttt', '-r', join(L7, cap)], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
    const run = spawnSync('pt-query-digest', ['--type', 'tcpdump', '--watch-server', `${ip}:${port}`, '--output', 'json', '--limit', '100%'], { input: text, encoding: 'utf8', maxBuffer: 1 << 28 });
    let classes = [];
    try {
      const j = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
      classes = j.classes.map((c) => ({
        fingerprint: c.fingerprint,
        count: Number(c.query_count),
        query_time_us: Math.round(Number(c.metrics.Query_time.sum) * 1e6),
        rows_affected: c.metrics.Rows_affected ? Number(c.metrics.Rows_affected.sum) : null,
      }));
    } catch {
      classes = [];
    }
    const out = {
      command: `tcpdump -s 65535 -x -nn -q -tttt -r ${cap} | pt-query-digest --type tcpdump --watch-server ${ip}:${port} --output json --limit 100%`,
      version: ptqd.stdout.trim(),
      session_errors: (run.stdout.match(/had errors/g) ?? []).length + (run.stderr.match(/had errors/g) ?? []).length,
      classes: classes.sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1)),
    };
    writeFileSync(join('fixtures/pcaps/oracles', `${cap}.pt-query-digest.json`), JSON.stringify(out, null, 1) + '\n');
    console.log(`${cap}.pt-query-digest.json: ${classes.length} classes${out.session_errors ? `, ${out.session_errors} sessions with errors` : ''}`);
  }
}

const unescape = (s) => s.replace(/\\([nrt])/g, (_, c) => ({ n: '\n', r: '\r', t: '\t' })[c]);
const statements = new Set();
for (const tsv of readdirSync(L7).filter((n) => n.endsWith('.tshark.tsv')).sort()) {
  const lines = readFileSync(join(L7, tsv), 'utf8').split('\n').filter((l) => l !== '');
  const head = lines[0].split('\t');
  for (const col of ['mysql.query', 'pgsql.query']) {
    const i = head.indexOf(col);
    if (i < 0) continue;
    for (const l of lines.slice(1)) {
      const v = l.split('\t')[i];
      // several PDUs of one frame are joined by "|": keep the values that are statements whole
      if (v) for (const q of v.split('|')) if (q.trim() !== '') statements.add(unescape(q));
    }
  }
}
const pt = spawnSync('pt-fingerprint', ['--version'], { encoding: 'utf8' });
if (pt.error !== undefined || !/pt-fingerprint/.test(pt.stdout)) {
  console.error('pt-fingerprint not found: fingerprints not regenerated (apt-get install percona-toolkit)');
  process.exit(0);
}
const rows = [`# ${pt.stdout.trim()}: pt-fingerprint --query STATEMENT, for every distinct mysql.query and pgsql.query of the fixtures' tshark dumps (scripts/make-sql-oracles.mjs)`];
for (const q of [...statements].sort()) {
  const r = spawnSync('pt-fingerprint', ['--query', q], { encoding: 'utf8' });
  // pt-fingerprint 3.2.1 exits 1 after printing the fingerprint: its output decides
  if (r.stdout === '') continue;
  rows.push(`${JSON.stringify(q)}\t${JSON.stringify(r.stdout.replace(/\n$/, ''))}`);
}
writeFileSync('fixtures/pcaps/oracles/sql-fingerprints.pt-fingerprint.tsv', rows.join('\n') + '\n');
console.log(`sql-fingerprints.pt-fingerprint.tsv: ${rows.length - 1} statements`);
