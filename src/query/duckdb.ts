/**
 * DuckDB, loaded on first use: `@duckdb/node-api` is an optional dependency
 * (about 70 MB installed) that only tcpquery and `--format parquet` through
 * DuckDB need, so no other command loads it or waits for it, and tcpkit
 * installs without it (`npm install --omit=optional`).
 */
import { ToolError } from '../util/errors.js';

export type DuckDBApi = typeof import('@duckdb/node-api');

let api: DuckDBApi | null = null;

/** The DuckDB API, or a clear error when the optional package is not installed. */
export async function loadDuckDB(): Promise<DuckDBApi> {
  if (api) return api;
  try {
    api = await import('@duckdb/node-api');
  } catch (e) {
    throw new ToolError(
      'QUERY_ENGINE_MISSING',
      `tcpquery runs SQL with DuckDB, from the optional package @duckdb/node-api, which is not installed here (${(e as Error).message.split('\n')[0]}): install it with "npm install @duckdb/node-api" (about 70 MB)`,
      {},
      1,
    );
  }
  return api;
}

/**
 * One line for an error DuckDB raised, and whether the SQL is to blame
 * (parser, binder, catalog: a usage error, exit 2) or the data (conversion,
 * I/O, constraint: exit 1). DuckDB's messages may span lines (a caret under
 * the offending text): the first line is kept, with the position appended.
 */
export function engineError(e: unknown, what = 'SQL'): ToolError {
  const msg = e instanceof Error ? e.message : String(e);
  const lines = msg.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  // the node binding may prefix the engine's text ("Failed to extract statements: Parser Error: ...")
  const first = (lines[0] ?? 'unknown error').replace(/^.*?(?=\b(?:Parser|Binder|Catalog|Syntax|Conversion|Invalid Input|Out of Range|IO|Not implemented|Constraint|Dependency|Permission|Serialization|Internal|Out of Memory) Error:)/, '');
  const m = /^(\w[\w ]*?) Error: ?(.*)$/.exec(first);
  const kind = m ? m[1]! : '';
  const sqlKinds = new Set(['Parser', 'Binder', 'Catalog', 'Syntax', 'Not implemented', 'Permission', 'Dependency']);
  const usage = sqlKinds.has(kind);
  const lineInfo = lines.find((l) => /^LINE \d+:/.test(l));
  const text = `${what}: ${first}${lineInfo ? ` (${lineInfo.replace(/\s+/g, ' ').slice(0, 120)})` : ''}`;
  return new ToolError(usage ? 'QUERY_SQL_ERROR' : 'QUERY_DATA_ERROR', text, {}, usage ? 2 : 1);
}
