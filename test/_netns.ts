/**
 * Two network namespaces joined by a veth pair, for ground-truth tests with
 * real servers and clients: the server side 192.0.2.1 / 2001:db8::1, the
 * client side 192.0.2.2 / 2001:db8::2 (documentation addresses; no other
 * network is touched), offloads off so captures see wire-sized segments, and
 * tcpdump capturing on the server side. `skip` says why the test cannot run
 * (not root, a tool missing, namespaces refused); `close()` removes
 * everything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

export const SERVER_V4 = '192.0.2.1';
export const CLIENT_V4 = '192.0.2.2';

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export interface Sh {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function sh(cmd: readonly string[], input?: string, timeoutMs = 60_000): Sh {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', input: input ?? '', timeout: timeoutMs, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(cmd: readonly string[]): void {
  const r = sh(cmd);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

export class NetnsPair {
  readonly server: string;
  readonly client: string;
  readonly serverIf: string;
  readonly clientIf: string;
  /** Why the namespaces could not be made (the test skips with it), or false. */
  skip: string | false = false;
  private children: ChildProcess[] = [];

  constructor(tag: string, tools: readonly string[] = []) {
    const id = `${tag}${process.pid}`;
    this.server = `tks-${id}`;
    this.client = `tkc-${id}`;
    this.serverIf = `vs${id}`.slice(0, 15);
    this.clientIf = `vc${id}`.slice(0, 15);
    const missing = ['ip', 'tcpdump', ...tools].filter((c) => !has(c));
    if (process.getuid?.() !== 0) this.skip = 'needs root (network namespaces, a veth pair, packet capture)';
    else if (missing.length > 0) this.skip = `needs ${missing.join(', ')} on PATH (.ci/run installs them)`;
    if (this.skip) return;
    const probe = sh(['ip', 'netns', 'add', this.server]);
    if (probe.status !== 0) {
      this.skip = `cannot create a network namespace here: ${probe.stderr.trim()}`;
      return;
    }
    must(['ip', 'netns', 'add', this.client]);
    must(['ip', 'link', 'add', this.serverIf, 'type', 'veth', 'peer', 'name', this.clientIf]);
    must(['ip', 'link', 'set', this.serverIf, 'netns', this.server]);
    must(['ip', 'link', 'set', this.clientIf, 'netns', this.client]);
    for (const [ns, dev, v4, v6] of [
      [this.server, this.serverIf, `${SERVER_V4}/24`, '2001:db8::1/64'],
      [this.client, this.clientIf, `${CLIENT_V4}/24`, '2001:db8::2/64'],
    ] as const) {
      must(['ip', '-n', ns, 'addr', 'add', v4, 'dev', dev]);
      must(['ip', '-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad']);
      must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      if (has('ethtool')) sh(['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    }
  }

  /** Runs a command in a namespace to completion. */
  exec(ns: string, cmd: readonly string[], input?: string, timeoutMs?: number): Sh {
    return sh(['ip', 'netns', 'exec', ns, ...cmd], input, timeoutMs);
  }

  /** Starts a long-running command in a namespace; resolves once its stdout or stderr shows `ready` (or at once when null). */
  async start(ns: string, cmd: readonly string[], ready: RegExp | null, timeoutMs = 15_000): Promise<ChildProcess> {
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    if (ready === null) return child;
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const t = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not become ready: ${seen}`)), timeoutMs);
      const look = (d: Buffer): void => {
        seen += String(d);
        if (ready.test(seen)) {
          clearTimeout(t);
          resolve();
        }
      };
      child.stdout!.on('data', look);
      child.stderr!.on('data', look);
      child.on('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`${cmd.join(' ')} exited (${code}) before it was ready: ${seen}`));
      });
    });
    return child;
  }

  /** Starts tcpdump on the server side's interface writing `file`; the returned function stops it and waits until the file is complete. */
  async capture(file: string, filter: readonly string[] = []): Promise<() => Promise<void>> {
    const td = await this.start(this.server, ['tcpdump', '-i', this.serverIf, '--immediate-mode', '-U', '-n', '-s', '0', '-w', file, ...filter], /listening on/);
    return async () => {
      // tcpdump -U writes each packet once it has read it: wait until the file stops growing (a busy
      // machine can leave packets in the capture buffer for a while; SIGINT would drop them)
      let last = -1, still = 0;
      for (let i = 0; i < 100 && still < 8; i++) {
        await new Promise((r) => setTimeout(r, 150));
        const size = existsSync(file) ? statSync(file).size : 0;
        still = size === last ? still + 1 : 0;
        last = size;
      }
      const done = new Promise((r) => td.once('exit', r));
      td.kill('SIGINT');
      await done;
    };
  }

  close(): void {
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    if (process.getuid?.() === 0) for (const ns of [this.server, this.client]) sh(['ip', 'netns', 'del', ns]);
  }
}
