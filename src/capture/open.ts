/**
 * Picks the capture format from the first four bytes (never the file name)
 * and drives one or several readers, merging several files by timestamp so a
 * connection spanning files stays one connection.
 */
import { ToolError, UsageError } from '../util/errors.js';
import { KNOWN_KINDS, decompressedNote, hexHead, sniffContent, wrongKindMessage } from '../io/sniff.js';

/** Adds where reading stopped to an error that came from below the reader (decompression). */
function locate(e: unknown, r: CaptureReader, input: OpenedInput): Error {
  if (e instanceof ToolError) {
    if (e.context.offset === undefined) e.context.offset = input.window.offset + input.window.available;
    if (e.context.packet === undefined) e.context.packet = r.packets + 1;
    return e;
  }
  return e as Error;
}
import type { OpenedInput } from '../io/input.js';
import { END, HAVE_PACKET, type CaptureReader, type PacketView } from './packet.js';
import { PcapReader, isPcapMagic } from './pcap.js';
import { PcapngReader, SHB_TYPE } from './pcapng.js';

/** Whether the first four bytes (big-endian) start a pcap or pcapng capture. */
export function isCaptureMagic(first4: number): boolean {
  return isPcapMagic(first4) || first4 === SHB_TYPE;
}

/** `strict`: damage that a reader would count and skip ends the file as an error instead. */
export async function openCapture(input: OpenedInput, inputIndex = 0, strict = false): Promise<CaptureReader> {
  const w = input.window;
  try {
    await w.fill(4);
  } catch (e) {
    if (e instanceof ToolError && e.context.offset === undefined) {
      e.context.packet = 1;
      e.context.offset = 0;
    }
    throw e;
  }
  if (w.available === 0) throw new ToolError('CAPTURE_EMPTY', 'empty input (0 bytes): not a capture', { file: input.name, offset: 0 });
  if (w.available < 4) throw new ToolError('CAPTURE_TRUNCATED', `input of ${w.available} bytes is too short to be a capture`, { file: input.name, offset: 0 });
  const v = w.buf.readUInt32BE(w.pos);
  if (isPcapMagic(v)) return new PcapReader(w, input.name, inputIndex, strict);
  if (v === SHB_TYPE) return new PcapngReader(w, input.name, inputIndex);
  // not a capture: say what it is, when that is clear, and which command reads it
  await w.fill(512).catch(() => false);
  const head = w.buf.subarray(w.pos, w.end);
  const kind = sniffContent(head);
  if (KNOWN_KINDS.has(kind)) throw new UsageError('INPUT_WRONG_KIND', wrongKindMessage(kind, 'a pcap or pcapng capture', input.compression), { file: input.name });
  throw new ToolError('CAPTURE_UNKNOWN_FORMAT', `not a pcap or pcapng capture (first bytes ${hexHead(head)}${decompressedNote(input.compression)})`, { file: input.name, offset: 0 });
}

export interface DriveResult {
  packets: number;
  /** Data errors that ended a file early, in input order. */
  errors: Error[];
  stopped: boolean;
}

export interface DriveControl {
  /** Polled between buffer refills and every 65536 packets; true stops reading. */
  stop?: () => boolean;
  /** Called before each buffer refill; a promise pauses reading (backpressure). */
  wait?: () => Promise<void> | null;
}

interface Head {
  reader: CaptureReader;
  input: OpenedInput;
  live: boolean;
}

/** Advances `r` to its next packet; false when the file ended. */
async function advance(h: Head, errors: Error[]): Promise<boolean> {
  const r = h.reader;
  for (;;) {
    const s = r.next();
    if (s === HAVE_PACKET) return true;
    if (s === END) break;
    if (!(await h.input.window.fill(r.need))) {
      // The window now holds everything that is left; let the reader take
      // the complete records and report a cut one.
      const t = r.next();
      if (t === HAVE_PACKET) return true;
      r.finish();
      break;
    }
  }
  if (r.error) errors.push(r.error);
  h.live = false;
  return false;
}

/**
 * Calls `onPacket` for every packet of every input, in timestamp order across
 * inputs (each file keeps its own order). `shouldStop` is polled between
 * buffer refills and every 65536 packets.
 */
export async function drivePackets(
  readers: CaptureReader[],
  inputs: OpenedInput[],
  onPacket: (p: PacketView) => void,
  control: DriveControl = {},
): Promise<DriveResult> {
  const shouldStop = control.stop ?? (() => false);
  const wait = control.wait ?? (() => null);
  const errors: Error[] = [];
  let packets = 0;
  if (readers.length === 1) {
    const r = readers[0]!;
    const w = inputs[0]!.window;
    const pk = r.packet;
    for (;;) {
      const s = r.next();
      if (s === HAVE_PACKET) {
        onPacket(pk);
        if ((++packets & 0xffff) === 0 && shouldStop()) return { packets, errors, stopped: true };
        continue;
      }
      if (s === END) break;
      if (shouldStop()) return { packets, errors, stopped: true };
      const pending = wait();
      if (pending) await pending;
      try {
        if (!(await w.fill(r.need))) {
          while (r.next() === HAVE_PACKET) {
            onPacket(pk);
            packets++;
          }
          r.finish();
          break;
        }
      } catch (e) {
        // decompression failure: complete packets already went out
        errors.push(locate(e, r, inputs[0]!));
        return { packets, errors, stopped: false };
      }
    }
    if (r.error) errors.push(r.error);
    return { packets, errors, stopped: false };
  }

  const heads: Head[] = readers.map((reader, i) => ({ reader, input: inputs[i]!, live: true }));
  for (const h of heads) {
    try {
      await advance(h, errors);
    } catch (e) {
      errors.push(locate(e, h.reader, h.input));
      h.live = false;
    }
  }
  for (;;) {
    let best: Head | null = null;
    for (const h of heads) {
      if (!h.live) continue;
      if (best === null) {
        best = h;
        continue;
      }
      const a = h.reader.packet, b = best.reader.packet;
      if (a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec)) best = h;
    }
    if (best === null) break;
    onPacket(best.reader.packet);
    packets++;
    if ((packets & 0xffff) === 0 && shouldStop()) return { packets, errors, stopped: true };
    // fast path: the next record is usually already buffered
    if (best.reader.next() === HAVE_PACKET) continue;
    const pending = wait();
    if (pending) await pending;
    try {
      await advance(best, errors);
    } catch (e) {
      errors.push(locate(e, best.reader, best.input));
      best.live = false;
    }
  }
  return { packets, errors, stopped: false };
}
