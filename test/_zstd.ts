/**
 * zstd in tests, synchronous: node:zlib's zstdCompressSync/zstdDecompressSync
 * where Node has them (22.15+), else the zstd program (.ci/run installs it),
 * so that the tests check tcpkit's own zstd path (src/io/zstd.ts) against an
 * independent implementation.
 */
import { spawnSync } from 'node:child_process';
import * as zlib from 'node:zlib';

const z = zlib as unknown as { zstdCompressSync?: (b: Uint8Array, o?: { params?: Record<number, number> }) => Buffer; zstdDecompressSync?: (b: Uint8Array) => Buffer; constants: Record<string, number> };

function zstdProgram(args: string[], input: Uint8Array): Buffer {
  const r = spawnSync('zstd', ['-q', ...args], { input, maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`the zstd program is needed on this Node.js (${process.version}, no built-in zstd): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`zstd ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** zstd-compressed bytes (level 3, one frame, with a checksum). */
export function compress(b: Uint8Array, level = 3): Buffer {
  if (z.zstdCompressSync) return z.zstdCompressSync(b, { params: { [z.constants['ZSTD_c_compressionLevel']!]: level, [z.constants['ZSTD_c_checksumFlag']!]: 1 } });
  return zstdProgram([`-${level}`, '-c'], b);
}

/** The content of zstd data (every frame). */
export function decompress(b: Uint8Array): Buffer {
  if (z.zstdDecompressSync) return z.zstdDecompressSync(b);
  return zstdProgram(['-dc'], b);
}
