/**
 * The selection options tcpfilter, tcpsummary and tcpanalyze share:
 * tcpeek filters (as arguments or -F), --local, --where and --exclude-file,
 * turned into one Selector (src/filter/select.ts).
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { Selector, parseExclusionFile } from '../src/filter/select.js';

export interface SelectOptionValues {
  filter: string[];
  local?: string;
  where?: string;
  excludeFile?: string;
}

export function addSelectOptions(cmd: Command): Command {
  return cmd
    .option('-F, --filter <expr>', "tcpeek filter, repeatable (also accepted as an argument): name:RX|TX@addr[/prefix]:port[:port...][,addr:port...]; '%' or '*' are wildcards; ':RX@...' (no name) excludes; RX@... without a name is named by its text", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--local <cidrs>', 'comma-separated local networks: TX = connections they originate, RX = connections they accept (default: every originator is local, so every connection is TX)')
    .option('--where <expr>', "predicate on record fields, e.g. 'conn_state=REJ', 'orig_retransmission+resp_retransmission>0', 'rtt_ms>=100 and not handshake=success' (docs/filters.md)")
    .option('--exclude-file <file>', 'DataDog-style exclusion list (JSON): {"source_excludes": {CIDR|"*": ["80", "80-443", "TCP 443", "UDP *", "*"]}, "dest_excludes": {...}}, or one such map for both ends');
}

/**
 * A tcpeek filter given as an argument: anything with an "@" before its first
 * "/" (`[name]:RX|TX@...`, also a mistyped one such as `web:TXX@%:443`, so
 * the filter parser names the mistake), unless a file of that name exists.
 */
export function looksLikeFilter(arg: string): boolean {
  const at = arg.indexOf('@');
  return at >= 0 && !arg.slice(0, at).includes('/') && !existsSync(arg);
}

/** Splits command arguments into tcpeek filters and input files. */
export function splitFilterArgs(args: readonly string[]): { filters: string[]; files: string[] } {
  const filters: string[] = [];
  const files: string[] = [];
  for (const a of args) (looksLikeFilter(a) ? filters : files).push(a);
  return { filters, files };
}

export function selectorFrom(o: SelectOptionValues, argFilters: readonly string[] = []): Selector {
  return new Selector({
    filters: [...argFilters, ...o.filter],
    ...(o.local !== undefined ? { local: o.local } : {}),
    ...(o.where !== undefined ? { where: o.where } : {}),
    ...(o.excludeFile !== undefined ? { exclusions: parseExclusionFile(o.excludeFile) } : {}),
  });
}
