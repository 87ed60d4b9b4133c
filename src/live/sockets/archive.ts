/**
 * The archive writer of `tcpcapture sockets`: tcp-info's per-connection
 * files (src/output/tcpinfo-archive.ts), with compressors sized for many
 * small files open at once.
 *
 * tcp-info pipes each connection into its own `zstd` process (level 3,
 * 2 MiB window). A live capture holds one compressor per connection with an
 * open segment, so here each uses level 3 with a 64 KiB window and 4 KiB
 * hash and chain tables: about 0.1-0.3 MB per open file instead of 0.8-1.1,
 * and on tcp-info's own archives the output is no larger (523,166 bytes of
 * JSONL: 62,807 bytes with the CLI's parameters, 59,625 with these). Any
 * zstd reader accepts the frames (window 64 KiB, checksum on, no content
 * size, as the CLI writes when streaming).
 */
import type { Transform } from 'node:stream';
import { CompressStream } from 'zstd-napi';
import { TcpInfoArchiveWriter } from '../../output/tcpinfo-archive.js';
import type { SocketsMetrics } from './metrics.js';

export const SOCKETS_ZSTD_PARAMS = { compressionLevel: 3, checksumFlag: true, windowLog: 16, hashLog: 12, chainLog: 12 } as const;

export function smallZstdCompressor(): Transform {
  return new CompressStream({ ...SOCKETS_ZSTD_PARAMS }) as unknown as Transform;
}

export interface SocketsArchiveOptions {
  dir: string;
  uuidPrefix: string;
  metrics?: SocketsMetrics;
  /** Rotation age in nanoseconds (default 10 minutes). */
  rotateNs?: bigint;
  /** Most segment files open at once (default 1000): bounds descriptors and compressor memory. */
  maxOpenFiles?: number;
}

export const DEFAULT_MAX_OPEN_FILES = 1000;

/**
 * A writer that does not keep the list of completed files (a daemon runs for
 * months), counts new files, and keeps at most `maxOpenFiles` segments open
 * (beyond, the least recently written one is completed; its connection goes
 * on in its next segment).
 */
export function openSocketsArchive(o: SocketsArchiveOptions): TcpInfoArchiveWriter {
  return new TcpInfoArchiveWriter({
    dir: o.dir,
    uuidPrefix: o.uuidPrefix,
    createCompressor: smallZstdCompressor,
    keepCompleted: false,
    maxOpenFiles: o.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES,
    ...(o.rotateNs !== undefined ? { rotateNs: o.rotateNs } : {}),
    onFile: (event) => {
      if (event === 'created') o.metrics?.newFiles.inc();
    },
  });
}
