/**
 * Real ClickHouse servers for the tests and the benchmark: Debian's clickhouse-server (18.16;
 * the package does not start it) run with a config file of our own in a
 * temporary directory, on free ports, as one node or as the shards of a
 * cluster (`remote_servers`, no ZooKeeper). Start-up takes about a second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';

function which(cmd: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/usr/bin'])) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      /* next */
    }
  }
  return null;
}

export const CLICKHOUSE_SERVER = which('clickhouse-server');

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerPorts {
  http: number;
  tcp: number;
  interserver: number;
}

export async function allocPorts(): Promise<ServerPorts> {
  return { http: await freePort(), tcp: await freePort(), interserver: await freePort() };
}

function configXml(dir: string, p: ServerPorts, cluster: { name: string; shards: ServerPorts[] } | null): string {
  const remote =
    cluster === null
      ? ''
      : `  <remote_servers>\n    <${cluster.name}>\n${cluster.shards.map((s) => `      <shard><replica><host>127.0.0.1</host><port>${s.tcp}</port></replica></shard>`).join('\n')}\n    </${cluster.name}>\n  </remote_servers>\n`;
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/err.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${p.http}</http_port>
  <tcp_port>${p.tcp}</tcp_port>
  <interserver_http_port>${p.interserver}</interserver_http_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/data/tmp/</tmp_path>
  <user_files_path>${dir}/data/user_files/</user_files_path>
  <format_schema_path>${dir}/data/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
${remote}</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage><max_block_size>8192</max_block_size><max_threads>2</max_threads></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default>
    <loader><password>s3cret:pw</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></loader>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One HTTP request on a new connection (no keep-alive: a pooled connection
 * the server closed while a test waited would fail the next request).
 */
function post(port: number, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: path === '/ping' ? 'GET' : 'POST', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(path === '/ping' ? undefined : body);
  });
}

/** A user with a password (the tests' authentication cases). */
export const LOADER_USER = { name: 'loader', password: 's3cret:pw' };

export class ClickHouseServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly ports: ServerPorts,
  ) {}

  /** Writes the configuration into `dir` and starts the server; resolves when it answers. */
  static async start(dir: string, ports?: ServerPorts, cluster: { name: string; shards: ServerPorts[] } | null = null): Promise<ClickHouseServer> {
    if (CLICKHOUSE_SERVER === null) throw new Error('clickhouse-server is not installed (.ci/run installs it)');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const p = ports ?? (await allocPorts());
    writeFileSync(join(dir, 'config.xml'), configXml(dir, p, cluster));
    writeFileSync(join(dir, 'users.xml'), USERS_XML);
    const s = new ClickHouseServer(dir, p);
    await s.restart();
    return s;
  }

  get url(): string {
    return `clickhouse://127.0.0.1:${this.ports.http}`;
  }

  /** Starts the server process (again, on the same data) and waits until it answers. */
  async restart(): Promise<void> {
    const child = spawn(CLICKHOUSE_SERVER!, [`--config-file=${join(this.dir, 'config.xml')}`], { stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', () => r()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`clickhouse-server exited with ${child.exitCode} at start (see ${this.dir}/err.log)`);
      try {
        if ((await post(this.ports.http, '/ping', '')).status === 200) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`clickhouse-server did not answer within 60 s (see ${this.dir}/err.log)`);
      await sleep(100);
    }
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<void> {
    if (this.child === null) return;
    this.child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  /** Ends the server (kill -9: its data directory is thrown away after the test). */
  async stop(): Promise<void> {
    await this.kill9();
  }

  /** Runs SQL; returns the response text (throws with the server's message). */
  async query(sql: string): Promise<string> {
    const r = await post(this.ports.http, '/', sql);
    if (r.status !== 200) throw new Error(`${sql.slice(0, 80)}: ${r.text.trim()}`);
    return r.text;
  }

  /** Rows of a query as objects (JSONEachRow; 64-bit integers arrive as strings). */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    const text = await this.query(`${sql} FORMAT JSONEachRow`);
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
