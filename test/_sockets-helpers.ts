/**
 * Shared by the `tcpcapture sockets` tests: tcp-info's recorded raw netlink
 * messages (fixtures/tcpinfo/repo/testdata.zst, 3 polls of 140 sockets) as
 * poll cycles with the harness's times, and small file helpers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decompress } from './_zstd.js';
import { GoTime } from '../src/tcpinfo/go-time.js';
import { readRawNetlinkMessages, type NetlinkMessage } from '../src/tcpinfo/netlink.js';
import type { PollCycle } from '../src/live/sockets/saver.js';
import { MessageBatch } from '../src/live/sockets/netlink-dump.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const TCPINFO_FIX = join(ROOT, 'fixtures', 'tcpinfo');
export const TCPCAPTURE = join(ROOT, 'dist', 'cli', 'tcpcapture.js');
export const CSVTOOL = join(ROOT, 'dist', 'cli', 'csvtool.js');
/** The prefix tcp-info's saver-replay harness used. */
export const HARNESS_PREFIX = 'harness.example.com_1553815964';
/** 2023-10-10T12:00:00Z, the harness's first poll. */
export const T0 = 1_696_939_200_000_000_000n;

/** The 420 recorded messages: 3 polls x 140 sockets, IPv6 and IPv4 mixed in each poll. */
export const RAW_MESSAGES: readonly NetlinkMessage[] = [...readRawNetlinkMessages(decompress(readFileSync(join(TCPINFO_FIX, 'repo', 'testdata.zst'))))];

/** Poll `i` (0..2, or an empty one beyond) as the harness timed it: IPv6 at T0 + i*10 ms, IPv4 1 ms later. */
export function fixtureCycle(i: number, pick: (m: NetlinkMessage, index: number) => boolean = () => true): PollCycle {
  const block = i < 3 ? RAW_MESSAGES.slice(i * 140, i * 140 + 140) : [];
  const chosen = block.filter((m, k) => pick(m, i * 140 + k));
  return {
    v6: MessageBatch.of(chosen.filter((m) => m.data[0] === 10)),
    v6Time: GoTime.fromUnixNanos(T0 + BigInt(i) * 10_000_000n),
    v4: MessageBatch.of(chosen.filter((m) => m.data[0] === 2)),
    v4Time: GoTime.fromUnixNanos(T0 + BigInt(i) * 10_000_000n + 1_000_000n),
  };
}

export { listFiles } from './_fixtures.js';

/** A zstd archive's lines (without the final empty one). */
export function archiveLines(path: string): string[] {
  const lines = decompress(readFileSync(path)).toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The cookie of a message, as %016X. */
export function cookieHex(m: NetlinkMessage): string {
  return Buffer.from(m.data.subarray(44, 52)).readBigUInt64LE().toString(16).toUpperCase().padStart(16, '0');
}

/** The payloads of a batch as NetlinkMessage objects (for checks). */
export function batchMessages(b: MessageBatch): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  for (let i = 0; i < b.count; i++) out.push({ len: b.lens[i]! + 16, type: 20, flags: 0, seq: 0, pid: 0, data: b.bufs[i]!.subarray(b.offs[i]!, b.offs[i]! + b.lens[i]!) });
  return out;
}

/** Fills `into` with the messages (a fake sock_diag source's dump). */
export function fillBatch(into: MessageBatch, msgs: readonly NetlinkMessage[]): MessageBatch {
  into.clear();
  for (const m of msgs) into.push(m.data, 0, m.data.length);
  return into;
}
