/**
 * DataDog-style exclusion lists (system-probe `source_excludes` and
 * `dest_excludes`): a JSON object mapping a CIDR (or "*" for every address)
 * to port entries:
 *
 *   entry = [ ("TCP" | "UDP") " " ] ( "*" | port | port "-" port )
 *
 * Protocol names are case-insensitive. An entry without a protocol applies to
 * TCP and UDP; "*" without a protocol excludes every flow of the address
 * (ICMP included). Source lists match orig_h/orig_p, destination lists
 * resp_h/resp_p.
 */
import type { RecordValues } from '../records/schema.js';
import { UsageError } from '../util/errors.js';
import { type Cidr, type AddrWords, cidrContains, parseAddrFast, parseCidr } from './cidr.js';

export interface PortRule {
  /** null = TCP and UDP (or every protocol for "*"). */
  proto: 'tcp' | 'udp' | null;
  /** Inclusive range; 0..65535 for "*". */
  lo: number;
  hi: number;
  /** The entry was "*": every port (and, without a protocol, every protocol). */
  any: boolean;
}

export interface ExclusionRule {
  /** null = "*", every address. */
  cidr: Cidr | null;
  ports: readonly PortRule[];
  key: string;
}

const ENTRY_RE = /^(?:(tcp|udp) +)?(?:(\*)|(\d{1,5})(?:-(\d{1,5}))?)$/i;

function parseEntry(entry: string): PortRule | string {
  const m = ENTRY_RE.exec(entry.trim());
  if (!m) return 'expected "*", a port or a LOW-HIGH range, optionally after TCP or UDP';
  const proto = m[1] ? (m[1].toLowerCase() as 'tcp' | 'udp') : null;
  if (m[2]) return { proto, lo: 0, hi: 65535, any: true };
  const lo = Number(m[3]);
  const hi = m[4] === undefined ? lo : Number(m[4]);
  if (lo > 65535 || hi > 65535) return 'a port is larger than 65535';
  if (lo > hi) return `the range ${lo}-${hi} is reversed`;
  return { proto, lo, hi, any: false };
}

export class Exclusions {
  readonly which: 'source' | 'destination';
  readonly rules: readonly ExclusionRule[];
  private readonly scratch: AddrWords = { version: 0, w: [0, 0, 0, 0] };
  private readonly hKey: 'orig_h' | 'resp_h';
  private readonly pKey: 'orig_p' | 'resp_p';

  constructor(which: 'source' | 'destination', rules: readonly ExclusionRule[]) {
    this.which = which;
    this.rules = rules;
    this.hKey = which === 'source' ? 'orig_h' : 'resp_h';
    this.pKey = which === 'source' ? 'orig_p' : 'resp_p';
  }

  /** Whether the record's source (or destination) address and port are excluded. */
  excluded(record: RecordValues): boolean {
    if (this.rules.length === 0) return false;
    const h = record[this.hKey];
    const a = parseAddrFast(typeof h === 'string' ? h : '', this.scratch);
    const pv = record[this.pKey];
    const port = typeof pv === 'number' ? pv : typeof pv === 'string' && pv !== '' ? Number(pv) : NaN;
    const proto = record.proto;
    for (const r of this.rules) {
      if (r.cidr !== null && (a.version === 0 || !cidrContains(r.cidr, a))) continue;
      for (const p of r.ports) {
        if (p.any && p.proto === null) return true;
        if (p.proto === null ? proto !== 'tcp' && proto !== 'udp' : proto !== p.proto) continue;
        if (p.any || (port >= p.lo && port <= p.hi)) return true;
      }
    }
    return false;
  }
}

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/** Parses an exclusion list (the parsed JSON); throws UsageError EXCLUSION_SYNTAX. */
export function parseExclusions(json: unknown, which: 'source' | 'destination'): Exclusions {
  const what = `${which} exclusions`;
  const fail = (message: string): never => {
    throw new UsageError('EXCLUSION_SYNTAX', `${what}: ${message}`);
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(`expected an object mapping a CIDR or "*" to port entries, found ${kind(json)}`);
  const rules: ExclusionRule[] = [];
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    let cidr: Cidr | null = null;
    if (key.trim() !== '*') {
      cidr = parseCidr(key.trim());
      if (!cidr) fail(`key "${key}" is not an address, a CIDR or "*"`);
    }
    if (!Array.isArray(value)) fail(`"${key}" must map to an array of port entries, found ${kind(value)}`);
    const ports: PortRule[] = [];
    for (const entry of value as unknown[]) {
      if (typeof entry !== 'string') fail(`"${key}": bad entry ${JSON.stringify(entry)} (entries are strings)`);
      const p = parseEntry(entry as string);
      if (typeof p === 'string') fail(`"${key}": bad entry "${entry as string}" (${p})`);
      ports.push(p as PortRule);
    }
    rules.push({ cidr, ports, key });
  }
  return new Exclusions(which, rules);
}
