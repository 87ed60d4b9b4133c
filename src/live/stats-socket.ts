/**
 * tcpeek's statistics socket (pandax381/tcpeek: listener thread, read by its
 * `tcpeekstat` script): a unix stream socket; a client connects, sends one
 * line, `GET` or `REFRESH` (tcpeekstat ends it with CRLF), and reads the
 * answer until the server closes the connection. The answer is one JSON
 * array: one object per named filter, then the capture counters,
 *
 *   [{"<filter>":{"success":{"total","dupsyn","dupsynack"},
 *                 "failure":{"total","timeout","reject","unreach","abort"}}}, ...,
 *    {"pcap":{"stats":{"recv","drop","ifdrop"}}}]
 *
 * GET gives the totals since the start; REFRESH the change since the last
 * REFRESH (tcpeek clears its second copy of the counters on REFRESH), for
 * the capture counters too. Any other line gets `{"error":...}`. The answer
 * ends with a newline. A stale socket file left by a previous run is
 * replaced; the file is removed when the server closes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import type { FilterCounts } from '../output/tcpeek.js';
import { ToolError, UsageError } from '../util/errors.js';

export interface CaptureCounters {
  /** Packets read from the capture. */
  recv: number;
  /** Dropped by the kernel (reported by the capture tool). */
  drop: number;
  /** Dropped by the interface (reported by the capture tool). */
  ifdrop: number;
}

export interface StatsSource {
  cumulative(): [string, FilterCounts][];
  /** The change since the previous refresh; the next starts from now. */
  refresh(): [string, FilterCounts][];
  counters(): CaptureCounters;
}

/** The answer text (without its newline). */
export function statsJson(filters: [string, FilterCounts][], c: CaptureCounters): string {
  return JSON.stringify([...filters.map(([name, counts]) => ({ [name]: counts })), { pcap: { stats: { recv: c.recv, drop: c.drop, ifdrop: c.ifdrop } } }]);
}

/** Longest request line read (tcpeek reads 128 bytes). */
const MAX_LINE = 128;

export class StatsSocket {
  private lastRefresh: CaptureCounters = { recv: 0, drop: 0, ifdrop: 0 };
  private constructor(
    private readonly server: Server,
    readonly path: string,
    private readonly source: StatsSource,
  ) {}

  static async listen(path: string, source: StatsSource): Promise<StatsSocket> {
    try {
      const st = await lstat(path);
      if (!st.isSocket()) throw new UsageError('STATS_SOCKET_EXISTS', 'exists and is not a socket; will not replace it', { file: path });
      await unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        if (e instanceof ToolError) throw e;
        throw new UsageError('STATS_SOCKET_FAILED', `cannot replace the old socket: ${(e as Error).message}`, { file: path });
      }
    }
    let s: StatsSocket | null = null;
    const server = createServer((conn) => s?.serve(conn));
    s = new StatsSocket(server, path, source);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: Error) => reject(new UsageError('STATS_SOCKET_FAILED', `cannot listen: ${e.message}`, { file: path })));
      server.listen(path, () => resolve());
    });
    return s;
  }

  private serve(conn: Socket): void {
    let buf = '';
    let done = false;
    conn.setEncoding('utf8');
    conn.setTimeout(2000, () => conn.destroy());
    conn.on('error', () => {});
    const answer = (line: string): void => {
      if (done) return;
      done = true;
      const method = line.trim();
      let text: string;
      if (method === 'GET') text = statsJson(this.source.cumulative(), this.source.counters());
      else if (method === 'REFRESH') {
        const now = this.source.counters();
        const prev = this.lastRefresh;
        this.lastRefresh = now;
        text = statsJson(this.source.refresh(), { recv: now.recv - prev.recv, drop: now.drop - prev.drop, ifdrop: now.ifdrop - prev.ifdrop });
      } else text = JSON.stringify({ error: `unknown request ${JSON.stringify(method.slice(0, 32))}: send GET or REFRESH` });
      conn.end(text + '\n');
    };
    conn.on('data', (s: string) => {
      buf += s;
      const nl = buf.indexOf('\n');
      if (nl >= 0) answer(buf.slice(0, nl));
      else if (buf.length > MAX_LINE) answer(buf.slice(0, MAX_LINE));
    });
    // a client that half-closes without a newline still gets its answer
    conn.on('end', () => answer(buf));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.path).catch(() => {});
  }
}
