/**
 * tcp-info's event socket (eventsocket/server.go): a unix stream socket
 * where any number of clients connect and receive one JSON line per flow
 * event, `json.Marshal(FlowEvent)` + "\n":
 *
 *   {"Event":0,"Timestamp":"…","UUID":"<prefix>_<COOKIE>","ID":{"SPort":…,"DPort":…,"SrcIP":"…","DstIP":"…","Interface":…,"Cookie":…}}
 *   {"Event":1,"Timestamp":"…","UUID":"<prefix>_<COOKIE>","ID":null}
 *
 * Event 0 = Open (a cookie seen for the first time; Timestamp = poll time,
 * UTC), 1 = Close (the cookie missing from a poll, or shutdown; Timestamp =
 * the current time in the host's zone, as Go's time.Now()). ID is
 * inetdiag.SockID: ports, addresses as tcp-info prints them (fields.ts
 * ipText), Interface read big-endian (tcp-info's quirk), Cookie as a signed
 * int64. The server never reads from clients; there is no handshake.
 *
 * tcp-info writes synchronously and a stuck client stalls its saver; here a
 * client whose unsent data passes `maxBufferedBytes` is disconnected
 * instead, so a slow reader can neither stall polling nor grow memory.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { ToolError } from '../../util/errors.js';
import { encodeGoString, encodeGoTime } from '../../tcpinfo/archival-record.js';
import type { GoTime } from '../../tcpinfo/go-time.js';
import { be16At, be32At, ipText, u64At } from '../../tcpinfo/fields.js';

export const FLOW_OPEN = 0;
export const FLOW_CLOSE = 1;

/** `"ID":{…}` of a FlowEvent, from the socket's struct inet_diag_msg. */
export function sockIdJson(idm: Uint8Array): string {
  return (
    `{"SPort":${be16At(idm, 4)},"DPort":${be16At(idm, 6)},"SrcIP":"${ipText(idm, 8)}","DstIP":"${ipText(idm, 24)}",` +
    `"Interface":${be32At(idm, 40)},"Cookie":${BigInt.asIntN(64, u64At(idm, 44))}}`
  );
}

/** One FlowEvent line without the newline; `idm` null gives `"ID":null` (Close events). */
export function flowEventLine(event: number, timestamp: GoTime, uuid: string, idm: Uint8Array | null): string {
  return `{"Event":${event},"Timestamp":${encodeGoTime(timestamp)},"UUID":${encodeGoString(uuid)},"ID":${idm === null ? 'null' : sockIdJson(idm)}}`;
}

export interface EventSocketOptions {
  /** A client with more unsent bytes than this is disconnected (default 1 MiB). */
  maxBufferedBytes?: number;
}

export class EventSocketServer {
  private readonly clients = new Set<Socket>();
  /** Clients dropped because they did not read fast enough. */
  droppedClients = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly maxBuffered: number,
  ) {
    server.on('connection', (s) => {
      if (this.closed) {
        s.destroy();
        return;
      }
      this.clients.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => this.clients.delete(s));
      s.resume(); // whatever a client sends is ignored
    });
  }

  /** Removes a stale socket file at `path` (as tcp-info does) and listens there. */
  static async listen(path: string, options: EventSocketOptions = {}): Promise<EventSocketServer> {
    try {
      await unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ToolError('EVENTSOCKET_FAILED', `cannot remove the old event socket: ${(e as Error).message}`, { file: path });
      }
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new ToolError('EVENTSOCKET_FAILED', `cannot listen on the event socket: ${e.message}`, { file: path })));
      server.listen(path, () => resolve());
    });
    return new EventSocketServer(path, server, options.maxBufferedBytes ?? 1 << 20);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Sends one event line (without newline) to every client. */
  send(line: string): void {
    if (this.closed || this.clients.size === 0) return;
    const data = line + '\n';
    for (const s of this.clients) {
      if (s.destroyed) continue;
      if (s.writableLength > this.maxBuffered) {
        this.droppedClients++;
        s.destroy();
        continue;
      }
      s.write(data);
    }
  }

  /** Flushes and ends every client, stops listening and removes the socket file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ends = [...this.clients].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.destroyed) return resolve();
          s.once('close', () => resolve());
          s.end();
          setTimeout(() => s.destroy(), 2000).unref();
        }),
    );
    await Promise.all(ends);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
