/**
 * tcpload's loader against a scripted HTTP server standing in for
 * ClickHouse (runs everywhere; the real servers are in cli.tcpload*): which
 * failures are retried and which are final, the backoff between attempts,
 * an exception the server appends to a 200 response, and that the state
 * advances only past batches every part of which the server took.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ClickHouseError, ClickHouseHttp, parseClickHouseUrl } from '../src/output/clickhouse-http.js';
import { ClickHouseLoader, type KindTable } from '../src/output/clickhouse-load.js';
import { LoadState } from '../src/output/clickhouse-load-state.js';
import { CONN_SCHEMA } from '../src/records/index.js';

type Reply = { status: number; body: string } | 'reset';

/** A server answering each request with the next scripted reply (200 "" when the script is used up); records what it received. */
async function scripted(replies: Reply[]): Promise<{ url: string; got: { query: string; body: string }[]; close: () => Promise<void> }> {
  const got: { query: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
      got.push({ query, body: Buffer.concat(chunks).toString('utf8') });
      const r = replies.shift() ?? { status: 200, body: '' };
      if (r === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(r.status, { 'Content-Type': 'text/plain' });
      res.end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  return { url: `clickhouse://127.0.0.1:${port}/db`, got, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const exception = (code: number, text: string): string => `Code: ${code}, e.displayText() = DB::Exception: ${text}, e.what() = DB::Exception\n`;

function loaderFor(url: string, o: { retries: number; batchRows?: number; waits?: number[]; retried?: string[] }): { loader: ClickHouseLoader; http: ClickHouseHttp; state: LoadState } {
  const http = new ClickHouseHttp(parseClickHouseUrl(url));
  const state = LoadState.open(null, url, [{ name: 'in.ndjson', files: [] }], true);
  const table: KindTable = { schema: CONN_SCHEMA, table: 'db.conns', columns: ['uid', 'ts'] };
  const loader = new ClickHouseLoader(http, [table], state, {
    batchRows: o.batchRows ?? 1000,
    batchBytes: 1 << 20,
    retries: o.retries,
    backoffMs: 100,
    maxBackoffMs: 300,
    sleep: async (ms) => void o.waits?.push(ms),
    onRetry: (l) => void o.retried?.push(l),
  });
  return { loader, http, state };
}

test('a passing failure (too many parts, a reset connection, an exception after a 200) is retried with doubling backoff; then the query succeeds', async () => {
  const s = await scripted([
    { status: 500, body: exception(252, 'Too many parts (300). Merges are processing significantly slower than inserts') },
    'reset',
    { status: 200, body: '1\n' + exception(241, 'Memory limit (for query) exceeded') },
    { status: 503, body: 'proxy: upstream unavailable' },
    { status: 200, body: '42\n' },
  ]);
  const waits: number[] = [];
  const retried: string[] = [];
  const { loader, http } = loaderFor(s.url, { retries: 5, waits, retried });
  try {
    assert.equal(await loader.attempt(() => http.query('SELECT 42'), 'the answer'), '42\n');
    assert.equal(s.got.length, 5);
    assert.equal(waits.length, 4);
    // base 100, 200, 300 (the cap), 300; each wait is between half the base and the base
    [100, 200, 300, 300].forEach((base, i) => assert.ok(waits[i]! >= base / 2 && waits[i]! <= base, `wait ${i + 1}: ${waits[i]} for base ${base}`));
    assert.match(retried[0]!, /^the answer: the server answered: Too many parts \(300\)\. Merges are processing significantly slower than inserts \(code 252\); retrying in [\d.]+ s \(attempt 2 of 6\)$/);
    assert.match(retried[1]!, /^the answer: cannot reach the server: .*; retrying in/);
    assert.match(retried[2]!, /^the answer: the server answered: Memory limit \(for query\) exceeded \(code 241\); retrying in/);
    assert.match(retried[3]!, /^the answer: HTTP 503: proxy: upstream unavailable; retrying in/);
  } finally {
    http.close();
    await s.close();
  }
});

test('a final failure (a syntax error) is not retried and is one line; retries run out with the count', async () => {
  const s = await scripted([
    { status: 500, body: exception(62, 'Syntax error: failed at position 1 (line 1, col 1): SELEC 1. Expected one of: SELECT\n\n0. stack frames...') },
    ...Array.from({ length: 3 }, (): Reply => ({ status: 500, body: exception(252, 'Too many parts (300)') })),
  ]);
  const waits: number[] = [];
  const { loader, http } = loaderFor(s.url, { retries: 2, waits });
  try {
    await assert.rejects(
      loader.attempt(() => http.query('SELEC 1'), 'a query'),
      (e: unknown) => e instanceof ClickHouseError && !e.retryable && e.serverCode === 62 && e.message === 'a query: the server answered: Syntax error: failed at position 1 (line 1, col 1): SELEC 1. Expected one of: SELECT (code 62)',
    );
    assert.equal(waits.length, 0, 'no wait before a final failure');
    await assert.rejects(loader.attempt(() => http.query('SELECT 1'), 'a query'), (e: unknown) => e instanceof ClickHouseError && / \(code 252\) \(gave up after 3 attempts\)$/.test(e.message));
    assert.equal(s.got.length, 4);
  } finally {
    http.close();
    await s.close();
  }
});

test('the state advances past a batch only when the server took it: a failed INSERT sent again leaves the position where it was until it succeeds', async () => {
  const line = (i: number): Buffer => Buffer.from(`{"record":"conn","ts":1710252000.00000000${i},"uid":"C${i}"}`);
  const s = await scripted([{ status: 200, body: '' }, { status: 500, body: exception(252, 'Too many parts (300)') }]);
  const { loader, http, state } = loaderFor(s.url, { retries: 3, batchRows: 2 });
  try {
    loader.beginInput(0, 'in.ndjson');
    for (let i = 1; i <= 3; i++) {
      const b = line(i);
      loader.addLine('conn', b, 0, b.length);
      if (loader.full) await loader.ready();
    }
    loader.endInput();
    await loader.finish();
    // batch 1 (2 rows), then batch 2 (1 row) refused once and sent again
    assert.deepEqual(
      s.got.map((g) => [g.query, g.body.split('\n').filter((l) => l !== '').length]),
      [
        ['INSERT INTO db.conns (uid, ts) FORMAT TabSeparated', 2],
        ['INSERT INTO db.conns (uid, ts) FORMAT TabSeparated', 1],
        ['INSERT INTO db.conns (uid, ts) FORMAT TabSeparated', 1],
      ],
    );
    assert.equal(s.got[0]!.body, 'C1\t1710252000.000000001\nC2\t1710252000.000000002\n');
    assert.equal(s.got[2]!.body, s.got[1]!.body, 'the same rows again');
    assert.equal(state.committed(0), 3);
    assert.ok(state.isDone(0));
    assert.equal(loader.committedBatches, 2);
    assert.equal(loader.committedRows, 3);
  } finally {
    http.close();
    await s.close();
  }
});
