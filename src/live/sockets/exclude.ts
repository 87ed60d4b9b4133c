/**
 * Which sockets are not recorded, as tcp-info decides in
 * netlink.MakeArchivalRecord with its ExcludeConfig (main always sets Local):
 *
 * 1. the source port is in `--exclude-srcport`;
 * 2. the source or destination address is local: loopback, link-local,
 *    multicast or unspecified (Go's isLocal; so every LISTEN socket too);
 * 3. the destination address is in `--exclude-dstip`.
 *
 * Differences from tcp-info, both on purpose: ports are parsed as 0..65535
 * (tcp-info's ParseInt(s, 10, 16) rejects ports above 32767), and an IPv4
 * address in `--exclude-dstip` also matches its IPv4-mapped form
 * (`::ffff:a.b.c.d`, how dual-stack AF_INET6 sockets carry IPv4 peers),
 * where tcp-info compares the raw 16 bytes only.
 */
import { UsageError } from '../../util/errors.js';
import { parseAddr } from '../../util/ip.js';
import { isLocalAddress } from '../../tcpinfo/netlink.js';

export const KEEP = 0;
export const EXCLUDED_SRCPORT = 1;
export const EXCLUDED_LOCAL = 2;
export const EXCLUDED_DSTIP = 3;
export const EXCLUDE_REASONS: readonly string[] = ['kept', 'srcport', 'local', 'dstip'];

export interface ExcludeOptions {
  /** Source ports whose sockets are skipped. */
  srcPorts?: readonly number[];
  /** Destination addresses (raw 16-byte inet_diag_sockid form, see dstIpKeys) whose sockets are skipped. */
  dstIps?: readonly Uint8Array[];
  /** Skip loopback / link-local / multicast / unspecified addresses (default true, as tcp-info). */
  local?: boolean;
}

/** The items of comma-separated lists given to a repeatable option, trimmed, empty ones dropped. */
function listItems(texts: readonly string[]): string[] {
  const out: string[] = [];
  for (const text of texts) {
    for (const part of text.split(',')) {
      const t = part.trim();
      if (t !== '') out.push(t);
    }
  }
  return out;
}

/** Parses comma-separated port lists (each 0..65535), e.g. from repeated `--exclude-srcport`. */
export function parsePortList(texts: readonly string[], flag = '--exclude-srcport'): number[] {
  const out: number[] = [];
  for (const p of listItems(texts)) {
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new UsageError('USAGE_BAD_PORT', `${flag}: "${p}" is not a port number (0-65535)`);
    out.push(Number(p));
  }
  return out;
}

function v4Key(a: number, mapped: boolean): Uint8Array {
  const k = new Uint8Array(16);
  const o = mapped ? 12 : 0;
  if (mapped) k[10] = k[11] = 0xff;
  k[o] = a >>> 24;
  k[o + 1] = (a >>> 16) & 255;
  k[o + 2] = (a >>> 8) & 255;
  k[o + 3] = a & 255;
  return k;
}

/**
 * The raw destination-field forms of comma-separated addresses: an IPv4
 * address as the kernel puts it in an AF_INET socket (4 bytes then 12
 * zeros) and in an AF_INET6 one (IPv4-mapped); an IPv6 address as its 16
 * bytes (plus the AF_INET form when it is IPv4-mapped).
 */
export function dstIpKeys(texts: readonly string[], flag = '--exclude-dstip'): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const t of listItems(texts)) {
    const a = parseAddr(t);
    if (a === null) throw new UsageError('USAGE_BAD_ADDRESS', `${flag}: "${t}" is not an IPv4 or IPv6 address`);
    if (a.version === 4) {
      out.push(v4Key(a.w[0], false), v4Key(a.w[0], true));
      continue;
    }
    const k = new Uint8Array(16);
    const dv = new DataView(k.buffer);
    for (let i = 0; i < 4; i++) dv.setUint32(4 * i, a.w[i]!);
    out.push(k);
    if (a.w[0] === 0 && a.w[1] === 0 && a.w[2] === 0xffff) out.push(v4Key(a.w[3], false));
  }
  return out;
}

function sameAt(b: Uint8Array, o: number, key: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (b[o + i] !== key[i]) return false;
  return true;
}

export class SocketFilter {
  private readonly ports: Uint8Array = new Uint8Array(65536);
  private readonly anyPort: boolean;
  private readonly dst: readonly Uint8Array[];
  private readonly local: boolean;

  constructor(options: ExcludeOptions = {}) {
    for (const p of options.srcPorts ?? []) this.ports[p] = 1;
    this.anyPort = (options.srcPorts ?? []).length > 0;
    this.dst = options.dstIps ?? [];
    this.local = options.local ?? true;
  }

  /** KEEP, or why the socket whose struct inet_diag_msg is at `off` is skipped (tcp-info's order). */
  check(idm: Uint8Array, off = 0): number {
    if (this.anyPort && this.ports[(idm[off + 4]! << 8) | idm[off + 5]!] === 1) return EXCLUDED_SRCPORT;
    if (this.local && (isLocalAddress(idm, off + 8) || isLocalAddress(idm, off + 24))) return EXCLUDED_LOCAL;
    for (const k of this.dst) if (sameAt(idm, off + 24, k)) return EXCLUDED_DSTIP;
    return KEEP;
  }
}
