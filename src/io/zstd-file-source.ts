/**
 * ZstdFileSource: a ByteSource (src/io/window.ts) that decompresses a zstd
 * file (or any compressed byte source, such as stdin) straight into the
 * reader's window with zstd-napi's streaming context: no intermediate chunks,
 * so memory does not grow with the compression ratio. Concatenated frames,
 * skippable frames and frames without a content size (the zstd CLI writing
 * from a pipe, as tcp-info does) are all handled by ZSTD_decompressStream;
 * input that ends inside a frame is an error, as is corrupt data
 * (ZSTD_CORRUPT, like src/io/input.ts).
 *
 * Nothing decoded before damage is lost: a call of ZSTD_decompressStream
 * that fails returns no output, so the decoder is fed slices that end at
 * block boundaries (ZstdBlockBounds), one block completed per call at most,
 * and output that did not fit the window is drained before more input goes
 * in. A damaged block then takes only itself: every byte before it reaches
 * the parser, and the error names the compressed offset of the block (or
 * checksum) where the damage was found. (A damaged byte that still decodes
 * is found only by the frame's checksum, at the frame's end, after all its
 * data was delivered, as `zstd -dc` delivers it.)
 *
 * Measured on the benchmark's 114 MB archive (8.9 MB compressed): peak RSS
 * 66 MB, the same as plain input, against 163 MB through openInput's
 * DecompressStream with 1 MiB reads (each read's whole output, ~13 MB, is
 * buffered at once) and 94 MB with 64 KiB reads. openInput uses it for
 * every zstd input.
 */
import type { FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ToolError } from '../util/errors.js';
import type { ByteSource } from './window.js';
import { ZstdBlockBounds } from './zstd-blocks.js';

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
const NO_INPUT = new Uint8Array(0);

/** Positional reads of a file, as a ByteSource of its compressed bytes. */
class FileBytes implements ByteSource {
  constructor(
    private readonly fh: FileHandle,
    private position: number,
  ) {}
  async readInto(dst: Buffer, off: number, max: number): Promise<number> {
    const { bytesRead } = await this.fh.read(dst, off, max, this.position);
    this.position += bytesRead;
    return bytesRead;
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

export class ZstdFileSource implements ByteSource {
  private readonly dctx = new (zstdBinding().DCtx)();
  private readonly raw: ByteSource;
  private readonly input = Buffer.allocUnsafe(READ_BYTES);
  private inStart = 0;
  private inEnd = 0;
  /** End (in `input`) of the slice being fed: never past a block's last byte. */
  private sliceEnd = 0;
  private inputDone = false;
  private readonly bounds = new ZstdBlockBounds();
  /** Inside a frame (ZSTD_decompressStream returned non-zero). */
  private inFrame = false;
  /** The last call filled its output: the decoder may hold more, to drain before new input. */
  private drain = false;
  private failure: ToolError | null = null;
  /** Compressed bytes consumed so far (for messages). */
  consumed = 0;

  /** `from`: the file (read from `position`) or any source of the compressed bytes. */
  constructor(
    from: FileHandle | ByteSource,
    private readonly name: string,
    position = 0,
  ) {
    this.raw = 'readInto' in from ? from : new FileBytes(from, position);
  }

  async readInto(dst: Buffer, off: number, max: number): Promise<number> {
    if (max <= 0) return 0;
    if (this.failure !== null) throw this.failure;
    const out = dst.subarray(off, off + max);
    if (this.drain) {
      const produced = this.call(out, NO_INPUT);
      this.drain = produced === max;
      if (produced > 0) return produced;
    }
    for (;;) {
      if (this.inStart === this.inEnd && !this.inputDone) {
        const n = await this.raw.readInto(this.input, 0, READ_BYTES);
        this.inStart = this.sliceEnd = 0;
        this.inEnd = n;
        if (n === 0) this.inputDone = true;
      }
      if (this.inStart === this.inEnd && this.inputDone) {
        if (this.inFrame) throw (this.failure = this.error('the input ends inside a zstd frame', this.consumed));
        return 0;
      }
      if (this.inStart === this.sliceEnd) this.sliceEnd = this.inStart + this.bounds.take(this.input, this.inStart, this.inEnd);
      const before = this.consumed;
      const produced = this.call(out, this.input.subarray(this.inStart, this.sliceEnd));
      this.drain = produced === max;
      if (produced > 0) return produced;
      if (this.consumed === before) throw (this.failure = this.error('no progress (ZSTD_decompressStream consumed and produced nothing)', this.consumed));
    }
  }

  /** One decoder call; returns the bytes produced. A failure is kept and thrown (the call's output is lost, and it held at most the damaged block). */
  private call(out: Uint8Array, input: Uint8Array): number {
    let r: [number, number, number];
    try {
      r = this.dctx.decompressStream(out, input);
    } catch (e) {
      const b = this.bounds;
      const what = b.unitKind === 'checksum' ? "the frame's checksum" : `the zstd ${b.unitKind}`;
      throw (this.failure = this.error(`${e instanceof Error ? e.message : String(e)}`, `in ${what} at compressed byte ${b.unitStart}`));
    }
    const [ret, produced, used] = r;
    this.inStart += used;
    this.consumed += used;
    this.inFrame = ret !== 0;
    return produced;
  }

  private error(msg: string, where: number | string): ToolError {
    return new ToolError('ZSTD_CORRUPT', `zstd data is corrupt or truncated: ${msg} (${typeof where === 'number' ? `at compressed byte ${where}` : where})`, { file: this.name });
  }

  async close(): Promise<void> {
    await this.raw.close();
  }
}
