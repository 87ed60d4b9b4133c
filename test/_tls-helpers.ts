/**
 * Helpers for the TLS decoder tests: Zeek ssl.log baselines split into the
 * traces they were made from (multi-trace btests append several runs to one
 * file: `#file <trace>` lines in ssl-log-ext's ssl-all.log, the recipe's
 * TEST-EXEC order in tls13's ssl-out.log), record values in Zeek's text form,
 * and the TLS fixture captures.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordValue } from '../src/records/schema.js';
import { FIX } from './_fixtures.js';
import { L7 } from './_l7-helpers.js';

/** Every fixture capture with TLS in it. */
export const TLS_CAPTURES: string[] = [
  ...readdirSync(L7).filter((n) => /^zeek__tls-.*\.pcap$/.test(n)).map((n) => join(L7, n)),
  join(L7, 'zeek__postgresql-psql-aws-ssl-require.pcap'),
  ...['zeek__tls-openjdk-25.0.2-zeek.org.pcap', 'ndpi__psiphon3.pcap', 'ndpi__6in4tunnel.pcap'].map((n) => join(FIX, n)),
];

export type ZeekRow = Record<string, string | null>;

/** Rows of one Zeek log text (one #fields header). */
function rows(text: string): ZeekRow[] {
  const lines = text.split('\n');
  const fields = lines.find((l) => l.startsWith('#fields'))?.split('\t').slice(1);
  if (fields === undefined) {
    // a zeek-cut file: the first line after the btest banner is the header
    const body = lines.filter((l) => l !== '' && !l.startsWith('#'));
    const head = body[0]!.split('\t');
    return body.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [head[i]!, v === '-' ? null : v])));
  }
  return lines
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i]!, v === '-' ? null : v === '(empty)' ? '' : v])));
}

/**
 * A baseline's rows per trace name (e.g. "hrr.pcap"). `recipe` is the btest
 * whose TEST-EXEC lines give the order of sections that have no #file line.
 */
export function zeekSections(path: string, recipe?: string): Map<string, ZeekRow[]> {
  const text = readFileSync(path, 'utf8');
  const order = recipe === undefined ? [] : [...readFileSync(recipe, 'utf8').matchAll(/-r \$TRACES\/tls\/(\S+)/g)].map((m) => m[1]!);
  const out = new Map<string, ZeekRow[]>();
  let pending: string | null = null;
  let idx = 0;
  for (const p of text.split(/\n(?=#separator)/)) {
    const named = /^#file (\S+)\s*$/m.exec(p);
    if (p.includes('#fields') || /^ts\t/m.test(p)) {
      out.set(pending ?? order[idx] ?? `#${idx}`, rows(p.replace(/^#file .*$/m, '')));
      idx++;
      pending = null;
    }
    // a "#file" line after a section's #close names the next section
    if (named !== null) pending = named[1]!;
  }
  return out;
}

/** A record value as Zeek writes it (T/F, comma-joined vectors, '' for an empty vector, null for unset). */
export function zeekText(v: RecordValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}
