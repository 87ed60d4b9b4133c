/**
 * Which connections get a section with graphs in the report: the ones named
 * by uid or tcp.stream number (`--uid`), or the `top` worst of those a `--select` predicate
 * accepts (every TCP connection when none is given).
 *
 * "Worst" is one score per connection (docs/graphs.md): its retransmitted
 * segments (tshark's retransmission class, both directions) plus its zero
 * windows, plus 5 when a RST ended it and 5 when its handshake failed
 * (timeout, reject, unreach); ties go to the connection that carried more
 * bytes, then to the earlier one. So a clean capture shows its largest
 * connections.
 */
import type { RecordValues } from '../records/schema.js';
import type { Predicate } from '../filter/where.js';
import { num } from '../output/_stats.js';

export const DEFAULT_TOP = 10;

/** The worst-connection score of a conn record (0 for non-TCP records). */
export function troubleScore(r: RecordValues): number {
  if (r['proto'] !== 'tcp') return 0;
  const retx = num(r['orig_retransmission']) + num(r['resp_retransmission']);
  const zw = num(r['orig_zero_window']) + num(r['resp_zero_window']);
  const reset = typeof r['end_reason'] === 'string' && r['end_reason'].startsWith('rst') ? 5 : 0;
  const hs = r['handshake'];
  const failed = hs === 'timeout' || hs === 'reject' || hs === 'unreach' ? 5 : 0;
  return retx + zw + reset + failed;
}

/** Bytes both ends sent (Zeek's orig_bytes + resp_bytes). */
export function connBytes(r: RecordValues): number {
  return num(r['orig_bytes']) + num(r['resp_bytes']);
}

/**
 * The `k` largest items by a key (compared element by element, larger
 * first); equal keys keep the earlier item. Memory: k items.
 */
export class TopK<T> {
  readonly items: { key: number[]; item: T }[] = [];
  constructor(readonly k: number) {}

  offer(key: number[], item: T): void {
    const a = this.items;
    if (a.length >= this.k && compareKeys(key, a[a.length - 1]!.key) <= 0) return;
    let i = a.length;
    while (i > 0 && compareKeys(key, a[i - 1]!.key) > 0) i--;
    a.splice(i, 0, { key, item });
    if (a.length > this.k) a.pop();
  }

  values(): T[] {
    return this.items.map((x) => x.item);
  }
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]! ? 1 : -1;
  return 0;
}

export class GraphSelection {
  /** Records of the selected connections by what named them (a uid or a tcp.stream number), in the order given. */
  private readonly named: Map<string, RecordValues | null> | null;
  /** uid -> the tcp.stream number that named it (from resolveStream). */
  private readonly alias = new Map<string, string>();
  private readonly top: TopK<RecordValues> | null;
  /** TCP connections the predicate accepted. */
  matched = 0;

  constructor(o: { uids?: readonly string[]; where?: Predicate | null; top?: number }) {
    this.named = o.uids !== undefined && o.uids.length > 0 ? new Map(o.uids.map((u) => [u, null])) : null;
    this.top = this.named === null ? new TopK<RecordValues>(o.top ?? DEFAULT_TOP) : null;
    this.where = o.where ?? null;
  }

  private readonly where: Predicate | null;

  /** The uids are known before the records (one pass is enough). */
  get explicit(): boolean {
    return this.named !== null;
  }

  /** The uids asked for by name (empty for a predicate selection). */
  get namedUids(): string[] {
    return this.named !== null ? [...this.named.keys()].filter((k) => !/^\d+$/.test(k)) : [];
  }

  /** The tcp.stream numbers asked for (Wireshark's numbering of TCP connections, from 0). */
  get namedStreams(): number[] {
    return this.named !== null ? [...this.named.keys()].filter((k) => /^\d+$/.test(k)).map(Number) : [];
  }

  /** The connection numbered `stream` has this uid (told at its first segment, before its record). */
  resolveStream(stream: number, uid: string): void {
    if (this.named === null) return;
    if (this.named.has(uid)) this.named.delete(String(stream)); // named twice: once is enough
    else this.alias.set(uid, String(stream));
  }

  /** Offers a finished connection's record. */
  offer(r: RecordValues): void {
    if (r['proto'] !== 'tcp') return;
    const uid = String(r['uid']);
    if (this.named !== null) {
      const key = this.named.has(uid) ? uid : this.alias.get(uid);
      if (key !== undefined) this.named.set(key, r);
      return;
    }
    if (this.where !== null && !this.where(r)) return;
    this.matched++;
    this.top!.offer([troubleScore(r), connBytes(r), -num(r['ts'])], r);
  }

  /** The selected connections' records, in report order (named: as given; else worst first); a named uid never seen has none. */
  records(): RecordValues[] {
    if (this.named !== null) return [...this.named.values()].filter((r): r is RecordValues => r !== null);
    return this.top!.values();
  }

  /** Named uids and tcp.stream numbers that matched no TCP connection. */
  missing(): string[] {
    return this.named === null ? [] : [...this.named].filter(([, r]) => r === null).map(([u]) => u);
  }
}
