import type { ByteWindow } from '../io/window.js';

/**
 * The packet view every capture reader fills: one reused object per reader,
 * describing bytes inside the reader's window. Valid until the reader's next
 * `next()` call (gopacket's ZeroCopyReadPacketData contract); copy what must
 * outlive it.
 */

export class PacketView {
  /** The buffer holding the packet bytes (the reader's window). */
  buf: Buffer = Buffer.alloc(0);
  /** DataView over `buf` (recreated only when the window grows). */
  dv: DataView = new DataView(new ArrayBuffer(0));
  /** Offset of the first captured byte in `buf`. */
  off = 0;
  /** Captured length. */
  caplen = 0;
  /** Length on the wire. */
  origlen = 0;
  /** Seconds since the epoch (exact integer). */
  sec = 0;
  /** Nanoseconds within the second (exact integer 0..999999999). */
  nsec = 0;
  /** LINKTYPE_* of the interface the packet came from. */
  linkType = 0;
  /** Interface index (pcapng), 0 for classic pcap. */
  iface = 0;
  /** 1-based packet number within its file. */
  index = 0;
  /** Byte offset of the packet's record (or block) in the (decompressed) file. */
  recordOffset = 0;
  /** Which input file (0-based) when several are merged. */
  input = 0;
}

/**
 * The DataView over a reader's window buffer, recreated only when the window
 * replaced its buffer (it grew), and mirrored into the reader's packet view.
 */
export class WindowView {
  private buf: Buffer | null = null;
  private dv: DataView = new DataView(new ArrayBuffer(0));

  of(w: ByteWindow, pk: PacketView): DataView {
    const b = w.buf;
    if (b !== this.buf) {
      this.buf = b;
      this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      pk.buf = b;
      pk.dv = this.dv;
    }
    return this.dv;
  }
}

/** Link-layer header types (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  /** DLT_RAW value on some BSDs, written by old tools. */
  RAW_BSD12: 12,
  RAW_BSD14: 14,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
  PPP: 9,
  FDDI: 10,
  PPP_HDLC: 50,
  C_HDLC: 104,
  ARCNET_LINUX: 129,
  NFLOG: 239,
  IPOIB: 242,
} as const;

export const LINKTYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'ETHERNET',
  12: 'RAW',
  14: 'RAW',
  101: 'RAW',
  108: 'LOOP',
  113: 'LINUX_SLL',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2',
  9: 'PPP',
  10: 'FDDI',
  50: 'PPP_HDLC',
  104: 'C_HDLC',
  105: 'IEEE802_11',
  127: 'IEEE802_11_RADIOTAP',
  129: 'ARCNET_LINUX',
  239: 'NFLOG',
  242: 'IPOIB',
  274: 'ETHER_MPACKET',
};

/** Status returned by a reader's `next()`. */
export const NEED_MORE = 0;
export const HAVE_PACKET = 1;
export const END = -1;

/** What every capture-file reader offers. */
export interface CaptureReader {
  readonly format: 'pcap' | 'pcapng';
  readonly packet: PacketView;
  /** Bytes the reader needs buffered before `next()` can make progress. */
  readonly need: number;
  /** HAVE_PACKET, NEED_MORE (await window.fill(need) and retry) or END. */
  next(): number;
  /** Called once the window reached end of input; sets `error` when a record was cut. */
  finish(): void;
  /** A data error that ended reading early (complete packets before it were delivered). */
  error: Error | null;
  /** Counters for things skipped or tolerated, by reason. */
  readonly skips: Map<string, number>;
  /** Packets delivered so far. */
  readonly packets: number;
  /** Section (pcapng SHB) the current packet belongs to, 1-based; 1 for classic pcap. */
  readonly section: number;
  /** Snapshot length of the interface of the current packet (0 when unknown). */
  snaplenOf(pk: PacketView): number;
}

export function countSkip(map: Map<string, number>, reason: string, n = 1): void {
  map.set(reason, (map.get(reason) ?? 0) + n);
}
