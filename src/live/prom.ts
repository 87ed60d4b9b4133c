/**
 * A small Prometheus registry and `/metrics` endpoint (text exposition format
 * 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Metrics are counters or gauges with an optional fixed label set; values are
 * set or incremented by the live sources, or pulled at scrape time through a
 * `collect` callback. Both tcpcapture sources register theirs here.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type MetricType = 'counter' | 'gauge';

interface Series {
  labels: string;
  value: number;
}

export class Metric {
  private readonly series = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
  ) {}

  /** Adds `by` (default 1) to the series with these labels. */
  inc(by = 1, labels?: Record<string, string>): void {
    const s = this.get(labels);
    s.value += by;
  }

  set(value: number, labels?: Record<string, string>): void {
    this.get(labels).value = value;
  }

  value(labels?: Record<string, string>): number {
    return this.series.get(labelText(labels))?.value ?? 0;
  }

  private get(labels: Record<string, string> | undefined): Series {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: key, value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    if (this.series.size === 0 && this.type === 'counter') out.push(`${this.name} 0`);
    for (const s of this.series.values()) out.push(`${this.name}${s.labels} ${formatValue(s.value)}`);
  }
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelText(labels: Record<string, string> | undefined): string {
  if (labels === undefined) return '';
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  const parts: string[] = [];
  for (const k of keys) {
    if (!LABEL_RE.test(k)) throw new Error(`bad Prometheus label name ${JSON.stringify(k)}`);
    parts.push(`${k}="${escapeLabel(labels[k]!)}"`);
  }
  return `{${parts.join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: (() => void)[] = [];

  counter(name: string, help: string): Metric {
    return this.add(name, help, 'counter');
  }

  gauge(name: string, help: string): Metric {
    return this.add(name, help, 'gauge');
  }

  /** `fn` runs before each scrape, to refresh pulled values. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  private add(name: string, help: string, type: MetricType): Metric {
    if (!NAME_RE.test(name)) throw new Error(`bad Prometheus metric name ${JSON.stringify(name)}`);
    const old = this.metrics.get(name);
    if (old !== undefined) {
      if (old.type !== type) throw new Error(`metric ${name} registered as ${old.type} and ${type}`);
      return old;
    }
    const m = new Metric(name, help, type);
    this.metrics.set(name, m);
    return m;
  }

  /** The whole registry in the text exposition format. */
  render(): string {
    for (const fn of this.collectors) fn();
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return out.join('\n') + '\n';
  }
}

/** Parses `:9990`, `127.0.0.1:9990`, `[::1]:9990` or `9990` into host and port. */
export function parseListenAddress(text: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*))?:?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`not a listen address: ${JSON.stringify(text)} (expected [host]:port, e.g. :9990)`);
  const host = m[1] ?? (m[2] || undefined);
  return { host, port };
}

/** Serves `GET /metrics` (and `/` with a link) until `close()`. */
export async function serveMetrics(registry: Registry, listen: string): Promise<{ server: Server; address: AddressInfo; close: () => Promise<void> }> {
  const { host, port } = parseListenAddress(listen);
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      const body = registry.render();
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<a href="/metrics">metrics</a>\n');
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    address: server.address() as AddressInfo,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
