/**
 * Helpers for the MySQL and PostgreSQL decoder tests: the fixture captures
 * of each protocol, the server ports their stored tshark commands give
 * (`-d tcp.port==N,mysql|pgsql`), and the stored oracle outputs.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { L7 } from './_l7-helpers.js';

const TSHARK_NAMES: Record<string, string> = { mysql: 'mysql', pgsql: 'postgresql' };

/** The captures of fixtures/pcaps/l7 whose names say MySQL. */
export const MYSQL_CAPTURES: readonly string[] = readdirSync(L7)
  .filter((n) => /mysql.*\.pcap$/.test(n))
  .sort()
  .map((n) => join(L7, n));

/** The captures of fixtures/pcaps/l7 whose names say PostgreSQL. */
export const POSTGRESQL_CAPTURES: readonly string[] = readdirSync(L7)
  .filter((n) => /postgre.*\.pcap$/.test(n))
  .sort()
  .map((n) => join(L7, n));

/** --decode-port's map for a capture, from its stored tshark command's `-d tcp.port==N,proto`. */
export function decodePorts(path: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const cmd = `${path}.tshark.cmd`;
  if (!existsSync(cmd)) return m;
  for (const x of readFileSync(cmd, 'utf8').matchAll(/-d tcp\.port==(\d+),(\w+)/g)) {
    const name = TSHARK_NAMES[x[2]!];
    if (name === undefined) continue;
    m.set(name, [...(m.get(name) ?? []), Number(x[1])]);
  }
  return m;
}
