/**
 * tcpfilter on captures: keeps every packet of the selected connections.
 * Whether a connection is selected is known only from its record (its
 * originator, its conn_state, its retransmissions...), that is when it ends,
 * so the capture is read twice: pass 1 analyses it and notes the flow
 * numbers (Conn.serial, deterministic for the same input and options) of the
 * selected flows; pass 2 analyses it again and writes each packet whose flow
 * (or, for an ICMP error, the connection it quotes) was selected. Memory is
 * one bit per flow plus the connection table; output is in input order.
 *
 * Known limit: of an IP datagram that arrived in fragments, only the
 * fragment that completed it is written.
 */
import type { InputSpec } from '../io/input.js';
import type { ByteTarget } from '../io/byte-batch.js';
import type { Selector } from '../filter/select.js';
import { PcapWriter, PcapngWriter } from '../capture/writer.js';
import type { CaptureReader, PacketView } from '../capture/packet.js';
import { PcapReader } from '../capture/pcap.js';
import type { DriveControl } from '../capture/open.js';
import { analyzeCaptures, type AnalyzeOptions, type AnalyzeResult } from './pipeline.js';
import { ToolError } from '../util/errors.js';

export interface CaptureFilterOptions {
  selector: Selector;
  invert: boolean;
  /** Output format; 'input' keeps the input's (pcap stays pcap with its timestamp precision). */
  format: 'pcap' | 'pcapng' | 'input';
  target: ByteTarget;
  analysis: Pick<AnalyzeOptions, 'idleTimeoutMs' | 'closeLingerMs' | 'synTimeoutMs' | 'maxFlows' | 'budget'>;
  control: DriveControl;
  /** Progress of each pass (see AnalyzeOptions.onProgress). */
  onProgress?: AnalyzeOptions['onProgress'];
}

export interface CaptureFilterResult {
  /** Pass 1's result (errors, skips, inputs). */
  analysis: AnalyzeResult;
  flows: number;
  selectedFlows: number;
  packets: number;
  writtenPackets: number;
  format: 'pcap' | 'pcapng';
  stopped: boolean;
}

/** A growable bitset indexed by flow number. */
class Bits {
  private a = new Uint8Array(1024);
  set(i: number): void {
    const byte = i >>> 3;
    if (byte >= this.a.length) {
      let n = this.a.length;
      while (n <= byte) n *= 2;
      const b = new Uint8Array(n);
      b.set(this.a);
      this.a = b;
    }
    this.a[byte]! |= 1 << (i & 7);
  }
  has(i: number): boolean {
    const byte = i >>> 3;
    return byte < this.a.length && (this.a[byte]! & (1 << (i & 7))) !== 0;
  }
}

export async function filterCapture(spec: InputSpec, o: CaptureFilterOptions): Promise<CaptureFilterResult> {
  const selected = new Bits();
  let selectedFlows = 0;
  let flows = 0;
  interface First {
    format: 'pcap' | 'pcapng';
    nanos: boolean;
    linkType: number;
    snaplen: number;
  }
  let first: First | null = null;
  const progress = o.onProgress ? { onProgress: o.onProgress } : {};
  const pass1 = await analyzeCaptures([spec], {
    ...o.analysis,
    ...progress,
    analysis: 'full',
    onRecord: (r, c) => {
      flows++;
      if (o.selector.accepts(r) !== o.invert) {
        selected.set(c.serial);
        selectedFlows++;
      }
    },
    onPacketDone: (pv, _s, _l, reader) => {
      if (first === null) first = { format: reader.format, nanos: reader instanceof PcapReader ? reader.nanosecond : true, linkType: pv.linkType, snaplen: reader.snaplenOf(pv) };
    },
    control: o.control,
  });
  const info: First = (first as First | null) ?? { format: pass1.inputs[0]?.format === 'pcapng' ? 'pcapng' : 'pcap', nanos: false, linkType: 1, snaplen: 262144 };
  const format = o.format === 'input' ? info.format : o.format;
  const pcap = format === 'pcap' ? new PcapWriter(o.target, info.nanos, info.snaplen) : null;
  const pcapng = format === 'pcapng' ? new PcapngWriter(o.target) : null;
  let written = 0;
  let stopped = pass1.stopped;
  if (!stopped && selectedFlows > 0) {
    try {
      const pass2 = await analyzeCaptures([spec], {
        ...o.analysis,
        ...progress,
        analysis: 'full',
        onRecord: () => {},
        onPacketDone: (pv: PacketView, serial: number, linked: number, reader: CaptureReader, carriers: Int32Array, nCarriers: number) => {
          let keep = (serial !== 0 && selected.has(serial)) || (linked !== 0 && selected.has(linked));
          // a tunnelled packet also belongs to the UDP flows that carried it
          for (let i = 0; i < nCarriers && !keep; i++) keep = selected.has(carriers[i]!);
          if (!keep) return;
          written++;
          // the sink's ready() (control.wait, before each read) applies the backpressure
          if (pcap !== null) pcap.add(pv);
          else pcapng!.add(pv, reader.section, reader.snaplenOf(pv));
        },
        control: o.control,
      });
      stopped = pass2.stopped;
    } catch (e) {
      // the packets written before the error are kept; the error names the input
      if (pcap !== null) pcap.flush();
      else pcapng!.flush();
      if (e instanceof ToolError && e.context.file === undefined) throw new ToolError(e.code, e.message, { ...e.context, file: spec.name ?? spec.path ?? '<stdin>' }, e.exitCode);
      throw e;
    }
  }
  if (pcap !== null) pcap.end(info.linkType);
  else pcapng!.end();
  return { analysis: pass1, flows, selectedFlows, packets: pass1.stats.packets, writtenPackets: written, format, stopped };
}
