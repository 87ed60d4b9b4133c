/**
 * The archive writer of `tcpcapture sockets`: tcp-info's per-connection
 * files (src/output/tcpinfo-archive.ts), with compressors sized for many
 * small files open at once, and a cap on how many are open.
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
import { readFileSync } from 'node:fs';
import type { Transform } from 'node:stream';
import { createZstdCompress } from '../../io/zstd.js';
import { TcpInfoArchiveWriter } from '../../output/tcpinfo-archive.js';
import type { SocketsMetrics } from './metrics.js';

export const SOCKETS_ZSTD_PARAMS = { level: 3, checksum: true, windowLog: 16, hashLog: 12, chainLog: 12 } as const;

export function smallZstdCompressor(): Transform {
  return createZstdCompress({ ...SOCKETS_ZSTD_PARAMS });
}

export interface SocketsArchiveOptions {
  dir: string;
  uuidPrefix: string;
  metrics?: SocketsMetrics;
  /** Rotation age in nanoseconds (default 10 minutes). */
  rotateNs?: bigint;
  /** Most segment files open at once (default defaultMaxOpenFiles()): bounds descriptors and compressor memory. */
  maxOpenFiles?: number;
}

/**
 * 4096, or fewer when the process may not open that many files (the soft
 * RLIMIT_NOFILE from /proc/self/limits, less 256 for sockets and the rest).
 * At 0.1-0.3 MB per open file (compressor and buffers), 4096 open files
 * stay around 0.5-1 GB at most.
 */
export function defaultMaxOpenFiles(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'latin1');
    } catch {
      return 4096;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!m || m[1] === 'unlimited') return 4096;
  return Math.max(16, Math.min(4096, Number(m[1]) - 256));
}

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
    maxOpenFiles: o.maxOpenFiles ?? defaultMaxOpenFiles(),
    ...(o.rotateNs !== undefined ? { rotateNs: o.rotateNs } : {}),
    onFile: (event) => {
      if (event === 'created') o.metrics?.newFiles.inc();
    },
  });
}
