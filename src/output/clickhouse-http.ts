/**
 * ClickHouse's HTTP interface, with Node's own http module: queries in the
 * request body, inserts as `INSERT ... FORMAT TabSeparated` in the URL with
 * the rows as the body, one keep-alive connection. No client library: the
 * HTTP interface is two request shapes, and `@clickhouse/client` (1.23)
 * states support for ClickHouse 24.8 and later only.
 *
 * Errors say whether trying again can help (`retryable`): the server gone
 * (refused, reset, timed out, a 502-504 from a proxy) or a ClickHouse
 * exception code that names a passing condition (too many parts, memory,
 * network between shards); a parse error or an unknown table is final.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { ToolError, UsageError } from '../util/errors.js';

/** Where to load: parsed from clickhouse://[user[:password]@]host[:port]/database[.table]. */
export interface ClickHouseTarget {
  secure: boolean;
  host: string;
  port: number;
  database: string;
  /** The table of the URL (`db.table`), or null for one table per record kind. */
  table: string | null;
  user: string | null;
  password: string | null;
}

/** Parses `clickhouse://`, `clickhouses://` (HTTPS), `http://` or `https://` URLs. */
export function parseClickHouseUrl(text: string): ClickHouseTarget {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError('USAGE_BAD_URL', `"${text}" is not a URL (expected clickhouse://HOST:8123/DATABASE[.TABLE])`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!['clickhouse', 'clickhouses', 'http', 'https'].includes(scheme)) throw new UsageError('USAGE_BAD_URL', `${text}: the scheme is ${scheme}, expected clickhouse:// (or clickhouses:// for HTTPS)`);
  const secure = scheme === 'clickhouses' || scheme === 'https';
  const path = decodeURIComponent(u.pathname.replace(/^\/+/, '').replace(/\/+$/, ''));
  if (path === '' || path.includes('/')) throw new UsageError('USAGE_BAD_URL', `${text}: expected one path part, DATABASE or DATABASE.TABLE`);
  const dot = path.indexOf('.');
  const database = dot < 0 ? path : path.slice(0, dot);
  const table = dot < 0 ? null : path.slice(dot + 1);
  const ident = /^[A-Za-z_][A-Za-z0-9_]*$/;
  if (!ident.test(database) || (table !== null && !ident.test(table))) throw new UsageError('USAGE_BAD_URL', `${text}: database and table names are letters, digits and _`);
  return {
    secure,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port !== '' ? Number(u.port) : secure ? 8443 : 8123,
    database,
    table,
    user: u.username !== '' ? decodeURIComponent(u.username) : null,
    password: u.password !== '' ? decodeURIComponent(u.password) : null,
  };
}

/** The URL without its password, for messages and state files. */
export function describeTarget(t: ClickHouseTarget): string {
  return `${t.secure ? 'clickhouses' : 'clickhouse'}://${t.user !== null ? t.user + '@' : ''}${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}/${t.database}${t.table !== null ? '.' + t.table : ''}`;
}

/** ClickHouse exception codes that name a passing condition. */
const RETRYABLE_CODES = new Set([
  3, // UNEXPECTED_END_OF_FILE (the request body was cut)
  159, // TIMEOUT_EXCEEDED
  164, // READONLY (a replica starting up)
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR (a shard unreachable)
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  252, // TOO_MANY_PARTS
  279, // ALL_CONNECTION_TRIES_FAILED
  285, // TOO_FEW_LIVE_REPLICAS
  319, // UNKNOWN_STATUS_OF_INSERT
  425, // SYSTEM_ERROR
]);

const RETRYABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export class ClickHouseError extends ToolError {
  constructor(
    message: string,
    /** ClickHouse's exception code, when the server sent one. */
    readonly serverCode: number | null,
    /** Trying again later can succeed. */
    readonly retryable: boolean,
    code = 'CLICKHOUSE_ERROR',
  ) {
    super(code, message);
  }
}

/** The first line of a ClickHouse exception text, without the stack trace. */
function exceptionLine(body: string): string {
  const m = /e\.displayText\(\) = (?:DB::Exception: )?([\s\S]*?)(?:, e\.what\(\) = |$)/.exec(body);
  const text = (m ? m[1]! : body).trim();
  const first = text.split('\n')[0]!;
  return first.length > 500 ? first.slice(0, 500) + '...' : first;
}

export interface ClickHouseHttpOptions {
  /** Milliseconds a request may take, connection included (default 300,000). */
  timeoutMs?: number;
}

export class ClickHouseHttp {
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;

  constructor(
    readonly target: ClickHouseTarget,
    o: ClickHouseHttpOptions = {},
  ) {
    this.timeoutMs = o.timeoutMs ?? 300_000;
    this.agent = target.secure ? new https.Agent({ keepAlive: true, maxSockets: 4 }) : new http.Agent({ keepAlive: true, maxSockets: 4 });
  }

  /** Runs a query (in the request body) and returns the response text. */
  async query(sql: string, settings: Record<string, string | number> = {}): Promise<string> {
    return this.request(settings, null, Buffer.from(sql, 'utf8'));
  }

  /** Sends `body` as the data of `insertSql` (an `INSERT ... FORMAT ...` query). */
  async insert(insertSql: string, body: Buffer, settings: Record<string, string | number> = {}): Promise<void> {
    await this.request(settings, insertSql, body);
  }

  close(): void {
    this.agent.destroy();
  }

  private request(settings: Record<string, string | number>, urlQuery: string | null, body: Buffer): Promise<string> {
    const t = this.target;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(settings)) params.set(k, String(v));
    if (urlQuery !== null) params.set('query', urlQuery);
    const headers: http.OutgoingHttpHeaders = { 'Content-Length': body.length, 'Content-Type': 'text/plain; charset=utf-8' };
    if (t.user !== null || t.password !== null) headers['Authorization'] = 'Basic ' + Buffer.from(`${t.user ?? 'default'}:${t.password ?? ''}`).toString('base64');
    const mod = t.secure ? https : http;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const fail = (e: ClickHouseError): void => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      const req = mod.request({ host: t.host, port: t.port, method: 'POST', path: '/?' + params.toString(), headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => fail(networkError(e)));
        res.on('end', () => {
          if (settled) return;
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          // an exception after the response started is appended to the body
          const late = /\nCode: (\d+), e\.displayText\(\)/.exec(text);
          if (status >= 200 && status < 300 && late === null) {
            settled = true;
            resolve(text);
            return;
          }
          const codeM = /Code: (\d+)/.exec(text);
          const serverCode = codeM ? Number(codeM[1]) : null;
          const retryable = status === 502 || status === 503 || status === 504 || (serverCode !== null && RETRYABLE_CODES.has(serverCode));
          const msg = serverCode !== null ? `the server answered: ${exceptionLine(text)} (code ${serverCode})` : `HTTP ${status}: ${text.trim().slice(0, 300) || res.statusMessage}`;
          fail(new ClickHouseError(msg, serverCode, retryable, status === 401 || status === 403 || serverCode === 516 || serverCode === 192 || serverCode === 193 ? 'CLICKHOUSE_AUTH' : 'CLICKHOUSE_ERROR'));
        });
      });
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
      });
      req.on('error', (e) => fail(networkError(e)));
      req.end(body);
    });
  }
}

function networkError(e: Error): ClickHouseError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const retryable = RETRYABLE_ERRNO.has(code) || /socket hang up/i.test(e.message);
  return new ClickHouseError(`cannot reach the server: ${e.message}`, null, retryable, 'CLICKHOUSE_UNREACHABLE');
}
