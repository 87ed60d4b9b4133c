/**
 * tcpeek's filter grammar (`-f name:DIR@addr[/prefix]:port[:port...],...`)
 * and its semantics over `conn` records, plus DataDog's connection direction.
 *
 *   filter = [name] ":" dir "@" group { "," group }
 *   dir    = "RX" | "TX"
 *   group  = addr [ "/" prefix ] ":" port { ":" port }
 *   addr   = "%" | "*" | ipv4 | "[" ipv6 "]" | ipv6 (only when a "/" prefix follows)
 *   port   = "%" | "*" | 0..65535
 *
 * TX matches connections the local side originated, RX those it accepted;
 * `addr:port` is matched against the responder (resp_h, resp_p). A filter
 * without a name is an exclusion: a connection it matches counts in no filter.
 * Only TCP records match (records without a proto field are taken as TCP).
 */
import type { RecordValues } from '../records/schema.js';
import { UsageError } from '../util/errors.js';
import { parseAddr } from '../util/ip.js';
import { type Cidr, CidrSet, type AddrWords, cidrContains, makeCidr, parseAddrFast, parseCidr } from './cidr.js';

export type Dir = 'RX' | 'TX';

export interface AddrGroup {
  /** null = any address. */
  cidr: Cidr | null;
  /** null = any port. */
  ports: readonly number[] | null;
}

export interface TcpeekFilter {
  /** '' for an exclusion. */
  name: string;
  dir: Dir;
  groups: readonly AddrGroup[];
  /** The text as given. */
  spec: string;
}

/** tcpeek's filters when none is given. */
export const DEFAULT_FILTERS: readonly string[] = ['RX:RX@*:*', 'TX:TX@*:*'];

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  fail(message: string, at = this.pos): never {
    const column = at + 1;
    throw new UsageError('FILTER_SYNTAX', `filter "${this.text}": ${message} at column ${column}`, { column });
  }
  expect(ch: string, what: string): void {
    if (this.peek() !== ch) this.fail(`expected ${what}${this.pos >= this.text.length ? ', found the end' : `, found "${this.peek()}"`}`);
    this.pos++;
  }
}

function parseGroup(c: Cursor): AddrGroup {
  const t = c.text;
  const start = c.pos;
  let cidr: Cidr | null = null;
  let wildcard = false;
  let version: 4 | 6 = 4;
  let words: readonly number[] = [0, 0, 0, 0];
  const ch = c.peek();
  if (ch === '%' || ch === '*') {
    wildcard = true;
    c.pos++;
  } else if (ch === '[') {
    const close = t.indexOf(']', start + 1);
    if (close < 0) c.fail('unclosed "[" of an IPv6 address', start);
    const inner = t.slice(start + 1, close);
    const a = parseAddr(inner);
    if (!a || a.version !== 6) c.fail(`"${inner}" is not an IPv6 address`, start + 1);
    version = 6;
    words = a.w;
    c.pos = close + 1;
  } else {
    let end = start;
    while (end < t.length && /[0-9A-Fa-f:.]/.test(t[end]!)) end++;
    if (end === start) c.fail(ch === '' ? 'expected an address, found the end' : `expected an address, found "${ch}"`);
    let text: string;
    if (t[end] === '/') {
      text = t.slice(start, end);
    } else {
      const colon = t.indexOf(':', start);
      text = t.slice(start, colon < 0 || colon > end ? end : colon);
      if (!text.includes('.') && t.slice(start, end).includes(':') && parseAddr(text) === null) {
        c.fail('an IPv6 address must be written in brackets or end at its /prefix', start);
      }
    }
    const a = parseAddr(text);
    if (!a) c.fail(`"${text}" is not an address`, start);
    if (a.version === 6 && t[end] !== '/') c.fail('an IPv6 address must be written in brackets or end at its /prefix', start);
    version = a.version;
    words = a.w;
    c.pos = start + text.length;
  }
  if (c.peek() === '/') {
    c.pos++;
    const pstart = c.pos;
    if (wildcard) c.fail('a wildcard address takes no prefix', pstart - 1);
    while (/[0-9]/.test(c.peek())) c.pos++;
    if (c.pos === pstart) c.fail(c.pos >= t.length ? 'expected a prefix length, found the end' : `expected a prefix length, found "${c.peek()}"`);
    const digits = t.slice(pstart, c.pos);
    const prefix = Number(digits);
    const max = version === 4 ? 32 : 128;
    if (prefix > max) c.fail(`prefix /${digits} is longer than ${max}`, pstart);
    cidr = makeCidr(version, words, prefix);
  } else if (!wildcard) {
    cidr = makeCidr(version, words, version === 4 ? 32 : 128);
  }
  c.expect(':', '":" and a port');
  const ports: number[] = [];
  let any = false;
  for (;;) {
    const pstart = c.pos;
    const p = c.peek();
    if (p === '%' || p === '*') {
      any = true;
      c.pos++;
    } else {
      while (/[0-9]/.test(c.peek())) c.pos++;
      if (c.pos === pstart) c.fail(p === '' ? 'expected a port, found the end' : `expected a port, found "${p}"`);
      const digits = t.slice(pstart, c.pos);
      const port = Number(digits);
      if (port > 65535) c.fail(`port ${digits} is larger than 65535`, pstart);
      ports.push(port);
    }
    if (c.peek() !== ':') break;
    c.pos++;
  }
  return { cidr, ports: any ? null : ports };
}

/** Parses one filter; throws UsageError FILTER_SYNTAX naming the column. */
export function parseFilter(spec: string): TcpeekFilter {
  const c = new Cursor(spec);
  // `RX@...` / `TX@...` without "name:" is a named filter, named by its own text
  const bare = /^(RX|TX)@/.test(spec);
  const colon = bare ? -1 : spec.indexOf(':');
  if (colon < 0 && !bare) c.fail('expected "name:" before the direction', spec.length);
  const name = bare ? spec : spec.slice(0, colon);
  if (!bare && name !== '' && !NAME_RE.test(name)) {
    const bad = [...name].findIndex((ch) => !/[A-Za-z0-9_.-]/.test(ch));
    c.fail(`"${name[bad]}" is not allowed in a filter name (letters, digits, "_", "." and "-")`, bad);
  }
  c.pos = colon + 1;
  const d = spec.slice(c.pos, c.pos + 2);
  if (d !== 'RX' && d !== 'TX') c.fail('expected the direction RX or TX');
  c.pos += 2;
  c.expect('@', '"@" after the direction');
  const groups: AddrGroup[] = [parseGroup(c)];
  while (c.peek() === ',') {
    c.pos++;
    groups.push(parseGroup(c));
  }
  if (c.pos < spec.length) c.fail(`unexpected "${c.peek()}"`);
  return { name, dir: d as Dir, groups, spec };
}

/** Parses `--local CIDR,...` (one or several arguments, each comma-separated). */
export function parseLocal(specs: string | readonly string[]): CidrSet {
  const cidrs: Cidr[] = [];
  for (const spec of typeof specs === 'string' ? [specs] : specs) {
    let off = 0;
    for (const part of spec.split(',')) {
      const c = parseCidr(part.trim());
      if (!c) {
        throw new UsageError('FILTER_SYNTAX', `--local "${spec}": "${part}" is not an address or CIDR at column ${off + 1}`, { column: off + 1 });
      }
      cidrs.push(c);
      off += part.length + 1;
    }
  }
  return new CidrSet(cidrs);
}

export type Direction = 'outgoing' | 'incoming' | 'local' | 'none';

/**
 * DataDog's direction: which ends of the connection are local. Without a
 * local list, as for the filters, the originator is local and the responder
 * is not, so every connection is outgoing.
 */
export function direction(record: RecordValues, local?: CidrSet | null): Direction {
  if (!local) return 'outgoing';
  const o = local.containsText(record.orig_h);
  const r = local.containsText(record.resp_h);
  return o ? (r ? 'local' : 'outgoing') : r ? 'incoming' : 'none';
}

export class FilterSet {
  readonly filters: readonly TcpeekFilter[];
  readonly exclusions: readonly TcpeekFilter[];
  private readonly resp: AddrWords = { version: 0, w: [0, 0, 0, 0] };
  private readonly orig: AddrWords = { version: 0, w: [0, 0, 0, 0] };

  constructor(filters: readonly TcpeekFilter[], exclusions: readonly TcpeekFilter[]) {
    this.filters = filters;
    this.exclusions = exclusions;
  }

  /**
   * Names of the named filters the connection matches (in filter order), or
   * [] when an exclusion matches. Without `local`, every connection is TX.
   */
  match(record: RecordValues, local?: CidrSet | null): string[] {
    const proto = record.proto;
    if (proto !== undefined && proto !== null && proto !== 'tcp') return [];
    const respText = record.resp_h;
    const a = parseAddrFast(typeof respText === 'string' ? respText : '', this.resp);
    let tx: boolean, rx: boolean;
    if (!local) {
      tx = true;
      rx = false;
    } else {
      const origText = record.orig_h;
      tx = local.containsWords(parseAddrFast(typeof origText === 'string' ? origText : '', this.orig));
      rx = local.containsWords(a);
    }
    return this.matchDirs(record, tx, rx, a);
  }

  /**
   * As `match`, when the caller already knows which side is local: `tx` the
   * originator is local, `rx` the responder is (a tcp-info socket is local by
   * definition). `resp` is the parsed responder address when known.
   */
  matchDirs(record: RecordValues, tx: boolean, rx: boolean, resp?: AddrWords): string[] {
    if (!tx && !rx) return [];
    const proto = record.proto;
    if (proto !== undefined && proto !== null && proto !== 'tcp') return [];
    let a = resp;
    if (a === undefined) {
      const respText = record.resp_h;
      a = parseAddrFast(typeof respText === 'string' ? respText : '', this.resp);
    }
    const pv = record.resp_p;
    const port = typeof pv === 'number' ? pv : typeof pv === 'string' && pv !== '' ? Number(pv) : NaN;
    const ex = this.exclusions;
    for (let i = 0; i < ex.length; i++) if (filterMatches(ex[i]!, tx, rx, a, port)) return [];
    const names: string[] = [];
    const fs = this.filters;
    for (let i = 0; i < fs.length; i++) if (filterMatches(fs[i]!, tx, rx, a, port)) names.push(fs[i]!.name);
    return names;
  }
}

function filterMatches(f: TcpeekFilter, tx: boolean, rx: boolean, a: AddrWords, port: number): boolean {
  if (!(f.dir === 'TX' ? tx : rx)) return false;
  const gs = f.groups;
  for (let i = 0; i < gs.length; i++) if (groupMatches(gs[i]!, a, port)) return true;
  return false;
}

function groupMatches(g: AddrGroup, a: AddrWords, port: number): boolean {
  if (g.cidr !== null && !cidrContains(g.cidr, a)) return false;
  return g.ports === null || g.ports.includes(port);
}

/**
 * Parses every `-f` filter. Without a named filter, tcpeek's defaults
 * (RX:RX@*:* and TX:TX@*:*) are used; exclusions still apply.
 */
export function parseFilters(specs: readonly string[]): FilterSet {
  const parsed = specs.map(parseFilter);
  const seen = new Set<string>();
  for (const f of parsed) {
    if (f.name === '') continue;
    if (seen.has(f.name)) throw new UsageError('FILTER_SYNTAX', `filter "${f.spec}": the name "${f.name}" is used by an earlier filter at column 1`, { column: 1 });
    seen.add(f.name);
  }
  const named = parsed.filter((f) => f.name !== '');
  const exclusions = parsed.filter((f) => f.name === '');
  return new FilterSet(named.length > 0 ? named : DEFAULT_FILTERS.map(parseFilter), exclusions);
}
