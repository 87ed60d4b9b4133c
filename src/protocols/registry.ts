/**
 * The application protocols tcpkit decodes, in the order their sniffs are
 * tried. Adding a protocol: write src/protocols/<name>.ts exporting a
 * ProtocolDef (decoder.ts says what it must do) and its record schema in
 * src/records/, then add one line to PROTOCOLS below.
 */
import { UsageError } from '../util/errors.js';
import type { ProtocolDef } from './decoder.js';
import { DNS } from './dns.js';
import { HTTP } from './http.js';
import { MONGODB } from './mongodb.js';
import { REDIS } from './redis.js';
import { MYSQL } from './mysql.js';
import { POSTGRESQL } from './postgresql.js';
import { TLS } from './tls.js';

export const PROTOCOLS: readonly ProtocolDef[] = [
  TLS,
  HTTP,
  DNS,
  REDIS,
  MONGODB,
  MYSQL,
  POSTGRESQL,
];

/** A protocol by name or alias (case-insensitive). */
export function protocolByName(name: string): ProtocolDef | undefined {
  const n = name.trim().toLowerCase();
  return PROTOCOLS.find((p) => p.name === n || p.aliases.includes(n));
}

function names(): string {
  return PROTOCOLS.map((p) => p.name).join(', ');
}

/** --decode's list: protocol names separated by commas, or `all`. */
export function parseDecodeList(text: string, option = '--decode'): ProtocolDef[] {
  const out: ProtocolDef[] = [];
  for (const part of text.split(',')) {
    const n = part.trim();
    if (n === '') continue;
    if (n.toLowerCase() === 'all') return [...PROTOCOLS];
    const p = protocolByName(n);
    if (p === undefined) throw new UsageError('USAGE_BAD_PROTOCOL', `${option}: unknown protocol "${n}" (known: ${names()}, or all)`);
    if (!out.includes(p)) out.push(p);
  }
  if (out.length === 0) throw new UsageError('USAGE_BAD_PROTOCOL', `${option}: no protocol named (known: ${names()}, or all)`);
  return out;
}

/** --decode-port values (`http:8080,8000`, repeatable): server ports per protocol name. */
export function parseDecodePorts(specs: readonly string[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const spec of specs) {
    const i = spec.indexOf(':');
    const p = i > 0 ? protocolByName(spec.slice(0, i)) : undefined;
    if (p === undefined) throw new UsageError('USAGE_BAD_PROTOCOL', `--decode-port: expected PROTOCOL:PORT[,PORT...] with a protocol among ${names()}, got ${JSON.stringify(spec)}`);
    const ports = m.get(p.name) ?? [];
    for (const t of spec.slice(i + 1).split(',')) {
      const v = Number(t.trim());
      if (t.trim() === '' || !Number.isInteger(v) || v < 1 || v > 65535) throw new UsageError('USAGE_BAD_NUMBER', `--decode-port: "${t.trim()}" is not a port number (1-65535) in ${JSON.stringify(spec)}`);
      if (!ports.includes(v)) ports.push(v);
    }
    m.set(p.name, ports);
  }
  return m;
}
