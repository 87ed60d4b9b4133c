/**
 * One selection of records from the three filter languages together, as
 * tcpfilter, tcpsummary and tcpanalyze apply them:
 *
 * - tcpeek filters (`src/filter/tcpeek.ts`): when any is given (named or an
 *   exclusion), a record must count in at least one named filter (tcpeek's
 *   RX/TX defaults when only exclusions are given);
 * - `--where` (`src/filter/where.ts`): the predicate must hold;
 * - `--exclude-file` (`src/filter/exclusions.ts`): no source or destination
 *   exclusion may match.
 *
 * `names()` tells which named filters a record counts in (for per-filter
 * summaries); `accepts()` is the yes/no that tcpfilter needs.
 */
import { readFileSync } from 'node:fs';
import type { RecordValues } from '../records/schema.js';
import { UsageError } from '../util/errors.js';
import type { CidrSet } from './cidr.js';
import { parseExclusions, type Exclusions } from './exclusions.js';
import { parseFilters, parseLocal, type FilterSet } from './tcpeek.js';
import { compileWhere, type Predicate } from './where.js';
import type { FieldDef } from '../records/schema.js';

export interface SelectorOptions {
  /** tcpeek filter expressions (`name:DIR@addr:port...`; unnamed ones exclude). */
  filters?: readonly string[];
  /** The local side: CIDRs, comma-separated or as a list. */
  local?: string | readonly string[];
  /** A `--where` expression. */
  where?: string;
  /** Fields `where` may name (default: the conn record's). */
  whereFields?: readonly FieldDef[];
  /** Parsed exclusion file (see parseExclusionFile). */
  exclusions?: { source: Exclusions | null; destination: Exclusions | null };
}

export class Selector {
  /** Null when no tcpeek filter was given: then every record counts in `ALL`. */
  readonly filterSet: FilterSet | null;
  readonly local: CidrSet | null;
  readonly where: Predicate | null;
  private readonly ex: NonNullable<SelectorOptions['exclusions']> | null;
  /** The names records are counted under: the named filters, or [ALL]. */
  readonly filterNames: readonly string[];
  static readonly ALL = 'all';
  private readonly allNames: string[] = [Selector.ALL];

  constructor(o: SelectorOptions) {
    const specs = o.filters ?? [];
    this.filterSet = specs.length > 0 ? parseFilters(specs) : null;
    this.local = o.local !== undefined && o.local.length > 0 ? parseLocal(o.local) : null;
    this.where = o.where !== undefined ? compileWhere(o.where, o.whereFields) : null;
    this.ex = o.exclusions ?? null;
    this.filterNames = this.filterSet ? this.filterSet.filters.map((f) => f.name) : [Selector.ALL];
  }

  /** Lines for stderr about filters that cannot match anything as configured. */
  warnings(): string[] {
    const out: string[] = [];
    if (this.filterSet && !this.local) {
      for (const f of [...this.filterSet.filters, ...this.filterSet.exclusions]) {
        if (f.dir === 'RX' && f.spec !== 'RX:RX@*:*') {
          out.push(`filter "${f.spec}" selects connections the local side accepted, but without --local every connection counts as outgoing (TX), so it matches nothing`);
        }
      }
    }
    return out;
  }

  private passesOthers(r: RecordValues): boolean {
    if (this.where !== null && !this.where(r)) return false;
    const ex = this.ex;
    if (ex !== null) {
      if (ex.source?.excluded(r)) return false;
      if (ex.destination?.excluded(r)) return false;
    }
    return true;
  }

  /** Names of the filters the record counts in; [] when it is not selected. */
  names(r: RecordValues): readonly string[] {
    if (!this.passesOthers(r)) return [];
    if (this.filterSet === null) return this.allNames;
    return this.filterSet.match(r, this.local);
  }

  /** As `names`, when the caller knows which side is local (tcp-info sockets). */
  namesWithDirs(r: RecordValues, tx: boolean, rx: boolean): readonly string[] {
    if (!this.passesOthers(r)) return [];
    if (this.filterSet === null) return this.allNames;
    return this.filterSet.matchDirs(r, tx, rx);
  }

  accepts(r: RecordValues): boolean {
    return this.names(r).length > 0;
  }
}

/**
 * Reads a DataDog-style exclusion file: either
 * `{"source_excludes": MAP, "dest_excludes": MAP}` (DataDog's configuration
 * keys; `source`/`destination` also accepted) or a plain MAP, which excludes
 * a flow when its source or its destination matches. MAP is
 * `{ "CIDR or *": ["80", "80-443", "TCP 443", "UDP *", "*"] }`.
 */
export function parseExclusionFile(path: string): NonNullable<SelectorOptions['exclusions']> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError('EXCLUSION_FILE', `cannot read exclusion file: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`, { file: path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError('EXCLUSION_SYNTAX', `not valid JSON: ${(e as Error).message}`, { file: path });
  }
  try {
    return exclusionsFromJson(json);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(e.code, e.message, { file: path });
    throw e;
  }
}

const SOURCE_KEYS = ['source_excludes', 'source'];
const DEST_KEYS = ['dest_excludes', 'destination'];

export function exclusionsFromJson(json: unknown): NonNullable<SelectorOptions['exclusions']> {
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const keys = Object.keys(json);
    const split = keys.length > 0 && keys.every((k) => SOURCE_KEYS.includes(k) || DEST_KEYS.includes(k));
    if (split) {
      const o = json as Record<string, unknown>;
      const src = SOURCE_KEYS.map((k) => o[k]).find((v) => v !== undefined);
      const dst = DEST_KEYS.map((k) => o[k]).find((v) => v !== undefined);
      return {
        source: src === undefined ? null : parseExclusions(src, 'source'),
        destination: dst === undefined ? null : parseExclusions(dst, 'destination'),
      };
    }
  }
  const s = parseExclusions(json, 'source');
  const d = parseExclusions(json, 'destination');
  return { source: s, destination: d };
}
