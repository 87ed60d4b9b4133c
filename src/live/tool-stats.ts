/**
 * The capture counters tcpdump and dumpcap print on stderr (libpcap's
 * pcap_stats: packets received by the filter, dropped by the kernel, dropped
 * by the interface), parsed into numbers.
 *
 * tcpdump (print_stats / info() in tcpdump.c), at exit:
 *   `N packets captured` / `N packets received by filter` /
 *   `N packets dropped by kernel` [/ `N packets dropped by interface`]
 * and, when asked with SIGUSR1 (Linux's stand-in for SIGINFO), one line:
 *   `tcpdump: N packets captured, N packets received by filter, N packets dropped by kernel`
 * dumpcap (capture_opts / dumpcap.c report_packet_drops), at exit:
 *   `Packets received/dropped on interface 'eth0': R/D (pcap:P/dumpcap:U/flushed:F/ps_ifdrop:I) (x%)`
 */

export interface DropCounters {
  /** Packets the capture filter passed (pcap ps_recv), when reported. */
  received: number;
  /** Dropped by the kernel: buffer overflow (pcap ps_drop). */
  kernel: number;
  /** Dropped by the interface or its driver (pcap ps_ifdrop). */
  interface: number;
}

export function emptyDrops(): DropCounters {
  return { received: 0, kernel: 0, interface: 0 };
}

const TCPDUMP_RE = /(\d+) packets? (received by filter|dropped by kernel|dropped by interface)/g;
const TCPDUMP_CAPTURED_RE = /^(?:tcpdump: )?\d+ packets? captured\b/;
const DUMPCAP_RE = /^Packets received\/dropped on interface .*: (\d+)\/(\d+) \(pcap:(\d+)\/dumpcap:(\d+)\/flushed:(\d+)\/ps_ifdrop:(\d+)\)/;
const DUMPCAP_CAPTURED_RE = /^\r?Packets captured: \d+$/;

/**
 * Updates `into` from one stderr line; returns true when the line was a
 * statistics line (such lines are not forwarded as messages).
 */
export function parseStatsLine(line: string, into: DropCounters): boolean {
  const d = DUMPCAP_RE.exec(line);
  if (d !== null) {
    into.received = Number(d[1]);
    into.kernel = Number(d[3]);
    into.interface = Number(d[6]);
    return true;
  }
  if (DUMPCAP_CAPTURED_RE.test(line)) return true;
  let any = TCPDUMP_CAPTURED_RE.test(line);
  for (const m of line.matchAll(TCPDUMP_RE)) {
    any = true;
    const n = Number(m[1]);
    if (m[2] === 'received by filter') into.received = n;
    else if (m[2] === 'dropped by kernel') into.kernel = n;
    else into.interface = n;
  }
  return any;
}
