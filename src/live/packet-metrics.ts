/**
 * The Prometheus metrics of `tcpcapture packets --prom ADDR` (served by
 * src/live/prom.ts at /metrics). Values are pulled from the capture at
 * scrape time; nothing is counted twice. Names follow the Prometheus
 * naming guidelines (https://prometheus.io/docs/practices/naming/): a
 * `tcpcapture_` prefix, `_total` on counters, base units (bytes).
 */
import type { Registry } from './prom.js';
import { HANDSHAKE_RESULTS, type HandshakeResult } from './handshake-stats.js';

export interface PacketMetricsSource {
  packets(): number;
  /** Bytes on the wire of the packets read. */
  bytes(): number;
  /** Connections (flows) held open by the tracker. */
  openConnections(): number;
  /** Records written: conn (final and interim) and flow records. */
  records(): { final: number; interim: number; flow: number };
  /** Archive files completed. */
  files(): number;
  /** Decided handshakes by result, every connection (filters do not apply). */
  handshakes(): Record<HandshakeResult, number>;
  /** Packets dropped, as the capture tool reports them (0 for a pipe). */
  drops(): { kernel: number; interface: number };
}

export function registerPacketMetrics(reg: Registry, src: PacketMetricsSource): void {
  const packets = reg.counter('tcpcapture_packets_total', 'Packets read from the capture.');
  const bytes = reg.counter('tcpcapture_bytes_total', 'Bytes on the wire of the packets read (the original length of every frame).');
  const open = reg.gauge('tcpcapture_connections_open', 'TCP connections, UDP and ICMP flows currently tracked (not yet written as final records).');
  const records = reg.counter('tcpcapture_records_total', 'Records written to the archives, by kind: final and interim conn records, flow records.');
  const files = reg.counter('tcpcapture_archive_files_total', 'Archive files completed and renamed into place.');
  const handshakes = reg.counter('tcpcapture_handshakes_total', 'TCP handshakes by verdict (tcpeek): success, reject (RST), timeout (no answer within --syn-timeout), unreach (ICMP destination unreachable), abort (the SYN sender reset first; tcpkit extension).');
  const drops = reg.counter('tcpcapture_drops_total', 'Packets the capture lost, as tcpdump or dumpcap report them (libpcap ps_drop: kernel buffer full; ps_ifdrop: interface).');
  reg.onCollect(() => {
    packets.set(src.packets());
    bytes.set(src.bytes());
    open.set(src.openConnections());
    const r = src.records();
    records.set(r.final, { kind: 'final' });
    records.set(r.interim, { kind: 'interim' });
    records.set(r.flow, { kind: 'flow' });
    files.set(src.files());
    const h = src.handshakes();
    for (const result of HANDSHAKE_RESULTS) handshakes.set(h[result], { result });
    const d = src.drops();
    drops.set(d.kernel, { by: 'kernel' });
    drops.set(d.interface, { by: 'interface' });
  });
}
