/**
 * SyncFileStream: a Writable over a file descriptor that writes with
 * writeSync, as Node's own process.stdout does when it is a file. A chunk is
 * in the file (the page cache) when write() returns, so the producer never
 * waits for the event loop to complete a write, and may reuse the chunk's
 * buffer at once. The descriptor stays open: its owner closes it.
 *
 * Why (docs/bench.md): tcpanalyze reads plain files on demand without
 * returning to the event loop for each read; with fs.WriteStream every 64 KB
 * of output then waited for a write on the thread pool, and `-o FILE` took
 * 12 % longer than `> FILE` on the 10x benchmark capture. Used for the
 * offline commands' `-o` files (AtomicFile's `syncWrites`).
 */
import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';

export class SyncFileStream extends Writable {
  private readonly fd: number;

  constructor(fd: number) {
    super({ highWaterMark: 1 << 16 });
    this.fd = fd;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      // a regular file takes everything at once; loop for any short write
      for (let off = 0; off < chunk.length; ) off += writeSync(this.fd, chunk, off, chunk.length - off);
    } catch (e) {
      callback(e as Error);
      return;
    }
    callback();
  }
}
