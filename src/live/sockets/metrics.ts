/**
 * The Prometheus metrics of `tcpcapture sockets`, named as m-lab tcp-info
 * names them (metrics/metrics.go), with the same histogram buckets:
 *
 *   tcpinfo_syscall_time_histogram{af}      seconds per netlink dump
 *   tcpinfo_polling_interval_histogram      seconds between poll starts (0..29 ms, 1 ms buckets)
 *   tcpinfo_connection_count_histogram{af}  messages per dump (local ones included)
 *   tcpinfo_cache_count_histogram           connections in the cache after a poll
 *   tcpinfo_error_total{type}               wrong seq num, wrong pid, NLMSG_ERROR, …
 *   tcpinfo_new_file_total                  archive files created
 *   tcpinfo_send_rate_histogram             bits sent per second, all connections
 *   tcpinfo_receive_rate_histogram          bits received per second
 *   tcpinfo_snapshot_total                  records polled (after exclusions)
 *   large_netlink_total{type}               attributes longer than tcp-info's Go structs
 *   netlink_skipped_total{type}             attributes tcp-info does not decode
 *   tcpinfo_flow_events_total{event}        open and close (tcp-info only ever counts open)
 *
 * src/live/prom.ts has counters and gauges; histograms are rendered here by
 * a Registry subclass, in the same text format (`_bucket{le}`, `_sum`,
 * `_count`).
 */
import { Registry, type Metric } from '../prom.js';

/** A Prometheus histogram with fixed upper bounds and optional label sets. */
export class Histogram {
  private readonly series = new Map<string, { labels: string; counts: Float64Array; sum: number; count: number }>();
  readonly bounds: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
  ) {
    this.bounds = bounds.filter((b) => b !== Infinity);
  }

  observe(value: number, labels?: Record<string, string>): void {
    const key = labels === undefined ? '' : Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`).join(',');
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: key, counts: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  /** Observations so far for these labels (for tests and summaries). */
  count(labels?: Record<string, string>): number {
    const key = labels === undefined ? '' : Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`).join(',');
    return this.series.get(key)?.count ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.series.values()) {
      const pre = s.labels === '' ? '' : s.labels + ',';
      const tail = s.labels === '' ? '' : `{${s.labels}}`;
      for (let i = 0; i < this.bounds.length; i++) out.push(`${this.name}_bucket{${pre}le="${this.bounds[i]}"} ${s.counts[i]}`);
      out.push(`${this.name}_bucket{${pre}le="+Inf"} ${s.count}`, `${this.name}_sum${tail} ${s.sum}`, `${this.name}_count${tail} ${s.count}`);
    }
  }
}

/** A registry that also renders histograms (after the counters and gauges). */
export class HistogramRegistry extends Registry {
  private readonly histograms: Histogram[] = [];

  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    const h = new Histogram(name, help, bounds);
    this.histograms.push(h);
    return h;
  }

  override render(): string {
    const base = super.render();
    const out: string[] = [];
    for (const h of this.histograms) h.render(out);
    return out.length === 0 ? base : base + out.join('\n') + '\n';
  }
}

const SYSCALL_BUCKETS = [
  0.001, 0.00125, 0.0016, 0.002, 0.0025, 0.0032, 0.004, 0.005, 0.0063, 0.0079, 0.01, 0.0125, 0.016, 0.02, 0.025, 0.032, 0.04, 0.05, 0.063, 0.079, 0.1,
  0.125, 0.16, 0.2,
];
const POLLING_BUCKETS = Array.from({ length: 30 }, (_, i) => i / 1000);
const COUNT_BUCKETS = [
  1, 2, 3, 4, 5, 6, 8, 10, 12.5, 16, 20, 25, 32, 40, 50, 63, 79, 100, 125, 160, 200, 250, 320, 400, 500, 630, 790, 1000, 1250, 1600, 2000, 2500, 3200,
  4000, 5000, 6300, 7900, 10000, 12500, 16000, 20000, 25000, 32000, 40000, 50000, 63000, 79000, 10000000,
];
const RATE_BUCKETS = [
  0, 1, 10, 100, 1000, 1580, 2510, 3980, 6310, 10000, 15800, 25100, 39800, 63100, 100000, 158000, 251000, 398000, 631000, 1000000, 1580000, 2510000,
  3980000, 6310000, 10000000, 15800000, 25100000, 39800000, 63100000, 100000000, 158000000, 251000000, 398000000, 631000000, 1000000000, 1260000000,
  1580000000, 2000000000, 2510000000, 3160000000, 3980000000, 5010000000, 6310000000, 7940000000, 10000000000,
];

/** Every metric the sockets source updates. */
export class SocketsMetrics {
  readonly registry: HistogramRegistry;
  readonly syscallTime: Histogram;
  readonly pollingInterval: Histogram;
  readonly connectionCount: Histogram;
  readonly cacheCount: Histogram;
  readonly sendRate: Histogram;
  readonly receiveRate: Histogram;
  readonly errors: Metric;
  readonly newFiles: Metric;
  readonly snapshots: Metric;
  readonly largeNetlink: Metric;
  readonly netlinkSkipped: Metric;
  readonly flowEvents: Metric;

  constructor(registry = new HistogramRegistry()) {
    this.registry = registry;
    this.errors = registry.counter('tcpinfo_error_total', 'The total number of errors encountered.');
    this.newFiles = registry.counter('tcpinfo_new_file_total', 'Number of files created.');
    this.snapshots = registry.counter('tcpinfo_snapshot_total', 'Number of snapshots taken.');
    this.largeNetlink = registry.counter('large_netlink_total', 'Number of oversize netlink messages.');
    this.netlinkSkipped = registry.counter('netlink_skipped_total', 'Number of skipped netlink messages.');
    this.flowEvents = registry.counter('tcpinfo_flow_events_total', 'Number of flow events (open, close) sent to the event socket.');
    this.syscallTime = registry.histogram('tcpinfo_syscall_time_histogram', 'netlink syscall latency distribution (seconds)', SYSCALL_BUCKETS);
    this.pollingInterval = registry.histogram('tcpinfo_polling_interval_histogram', 'netlink polling interval distribution (seconds)', POLLING_BUCKETS);
    this.connectionCount = registry.histogram('tcpinfo_connection_count_histogram', 'connection count histogram', COUNT_BUCKETS);
    this.cacheCount = registry.histogram('tcpinfo_cache_count_histogram', 'cache connection count histogram', COUNT_BUCKETS);
    this.sendRate = registry.histogram('tcpinfo_send_rate_histogram', 'send rate histogram', RATE_BUCKETS);
    this.receiveRate = registry.histogram('tcpinfo_receive_rate_histogram', 'receive rate histogram', RATE_BUCKETS);
  }
}
