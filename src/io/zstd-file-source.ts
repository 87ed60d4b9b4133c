/**
 * ZstdFileSource: a ByteSource (src/io/window.ts) that decompresses a zstd
 * file straight into the reader's window with zstd-napi's streaming
 * context: no intermediate chunks, so memory does not grow with the
 * compression ratio. Concatenated frames, skippable frames and frames
 * without a content size (the zstd CLI writing from a pipe, as tcp-info
 * does) are all handled by ZSTD_decompressStream; input that ends inside a
 * frame is an error, as is corrupt data (ZSTD_CORRUPT, like src/io/input.ts).
 *
 * Measured on the benchmark's 114 MB archive (8.9 MB compressed): peak RSS
 * 66 MB, the same as plain input, against 163 MB through openInput's
 * DecompressStream with 1 MiB reads (each read's whole output, ~13 MB, is
 * buffered at once) and 94 MB with 64 KiB reads. openInput uses it for
 * every regular zstd file; streams (stdin) go through DecompressStream.
 */
import type { FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ToolError } from '../util/errors.js';
import type { ByteSource } from './window.js';

interface DCtx {
  decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number];
}

const require = createRequire(import.meta.url);
type Binding = { DCtx: new () => DCtx };
let binding: Binding | null = null;
/** The native module loads on first use: most runs read no zstd input (12 ms of start-up saved). */
function zstdBinding(): Binding {
  return (binding ??= require('zstd-napi/binding') as Binding);
}

const READ_BYTES = 1 << 17;

export class ZstdFileSource implements ByteSource {
  private readonly dctx = new (zstdBinding().DCtx)();
  private readonly input = Buffer.allocUnsafe(READ_BYTES);
  private inStart = 0;
  private inEnd = 0;
  private inputDone = false;
  private position: number;
  /** Inside a frame (ZSTD_decompressStream returned non-zero). */
  private inFrame = false;
  /** Compressed bytes consumed so far (for messages). */
  consumed = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly name: string,
    position = 0,
  ) {
    this.position = position;
  }

  async readInto(dst: Buffer, off: number, max: number): Promise<number> {
    if (max <= 0) return 0;
    for (;;) {
      if (this.inStart === this.inEnd && !this.inputDone) {
        const { bytesRead } = await this.fh.read(this.input, 0, READ_BYTES, this.position);
        this.position += bytesRead;
        this.inStart = 0;
        this.inEnd = bytesRead;
        if (bytesRead === 0) this.inputDone = true;
      }
      if (this.inStart === this.inEnd && this.inputDone) {
        if (this.inFrame) throw this.error('the input ends inside a zstd frame');
        return 0;
      }
      let r: [number, number, number];
      try {
        r = this.dctx.decompressStream(dst.subarray(off, off + max), this.input.subarray(this.inStart, this.inEnd));
      } catch (e) {
        throw this.error(e instanceof Error ? e.message : String(e));
      }
      const [ret, produced, used] = r;
      this.inStart += used;
      this.consumed += used;
      this.inFrame = ret !== 0;
      if (produced > 0) return produced;
      if (used === 0) throw this.error('no progress (ZSTD_decompressStream consumed and produced nothing)');
    }
  }

  private error(msg: string): ToolError {
    return new ToolError('ZSTD_CORRUPT', `zstd data is corrupt or truncated: ${msg} (at compressed byte ${this.consumed})`, { file: this.name });
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
