/**
 * Golden files of the application decoders: `tcpanalyze --decode all` on
 * every capture of fixtures/pcaps/l7, its transaction records (NDJSON) and
 * stderr compared whole with test/golden/l7/<capture>.{ndjson,stderr}.
 * Non-standard ports are given as the stored tshark commands give them
 * (`-d tcp.port==N,proto` becomes `--decode-port proto:N`).
 * Generated – do not edit; `UPDATE_GOLDEN=1 npm test`, then review the diff.
 */
import { test } from 'node:test';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROTOCOLS, protocolByName } from '../src/protocols/registry.js';
import { expectGolden, run } from './_cli.js';
import { L7 } from './_l7-helpers.js';

/** tshark's dissector names for the protocols tcpkit knows by another name. */
const TSHARK_NAMES: Record<string, string> = { resp: 'redis', pgsql: 'postgresql', tls: 'tls', ssl: 'tls' };

function decodePorts(capture: string): string[] {
  const cmd = join(L7, `${capture}.tshark.cmd`);
  if (!existsSync(cmd)) return [];
  const out: string[] = [];
  for (const m of readFileSync(cmd, 'utf8').matchAll(/-d tcp\.port==(\d+),(\w+)/g)) {
    const p = protocolByName(TSHARK_NAMES[m[2]!] ?? m[2]!);
    if (p !== undefined) out.push('--decode-port', `${p.name}:${m[1]}`);
  }
  return out;
}

const kinds = PROTOCOLS.flatMap((p) => p.schemas.map((s) => s.kind)).join(',');

for (const capture of readdirSync(L7).filter((n) => /\.(pcap|pcapng)$/.test(n)).sort()) {
  test(`tcpanalyze --decode all on l7/${capture} equals its golden file`, () => {
    const r = run('tcpanalyze', ['--decode', 'all', '--records', kinds, '--format', 'ndjson', ...decodePorts(capture), join(L7, capture)]);
    expectGolden(`l7/${capture}.ndjson`, r.stdout);
    expectGolden(`l7/${capture}.stderr`, `exit ${r.status}\n${r.stderr.replaceAll(L7 + '/', '')}`);
  });
}
