/**
 * FlowTable: bidirectional flows keyed by (protocol, addresses, ports) in an
 * open-addressing hash table with linear probing over an Int32Array of flow
 * ids. The hash of a key is the XOR of its two endpoint hashes, so both
 * directions land in the same slot chain without reordering the key.
 * Deletion uses backward shifting (no tombstones). Flow objects are pooled
 * (up to SPARE_FLOWS of them: after a flood the rest are garbage, so memory
 * follows the flows open).
 */
import { Conn } from './conn.js';

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Hash of one endpoint: the address words and the port folded with distinct
 * odd multipliers, then one finalizer round (murmur3's fmix32).
 */
export function endpointHash(a0: number, a1: number, a2: number, a3: number, port: number): number {
  return mix(a0 ^ Math.imul(a1, 0x2c1b3c6d) ^ Math.imul(a2, 0x297a2d39) ^ Math.imul(a3, 0x1b873593) ^ Math.imul(port + 1, 0x9e3779b1));
}

/** Ended flow objects kept for reuse. */
const SPARE_FLOWS = 4096;

export class FlowTable {
  private slots: Int32Array;
  private mask: number;
  private readonly flows: (Conn | null)[] = [];
  private readonly freeIds: number[] = [];
  private readonly pool: Conn[] = [];
  size = 0;
  /** After `lookup`: true when the packet goes from endpoint A to B. */
  fromA = true;
  /** Peak number of flows held at once. */
  peak = 0;

  constructor(initialSlots = 1 << 16) {
    this.slots = new Int32Array(initialSlots).fill(-1);
    this.mask = initialSlots - 1;
  }

  /** `tun`: the tunnel the flow's packets come through (0 for none; see analysis/tunnels.ts), part of the key. */
  static keyHash(proto: number, s0: number, s1: number, s2: number, s3: number, sp: number, d0: number, d1: number, d2: number, d3: number, dp: number, tun = 0): number {
    return (endpointHash(s0, s1, s2, s3, sp) ^ endpointHash(d0, d1, d2, d3, dp) ^ Math.imul(proto, 0x27d4eb2d) ^ Math.imul(tun, 0x165667b1)) | 0;
  }

  /** Finds the flow of a packet (src -> dst) that came through tunnel `tun`; sets `fromA`. */
  lookup(hash: number, proto: number, s0: number, s1: number, s2: number, s3: number, sp: number, d0: number, d1: number, d2: number, d3: number, dp: number, tun = 0): Conn | null {
    const slots = this.slots;
    const mask = this.mask;
    let i = hash & mask;
    for (;;) {
      const id = slots[i]!;
      if (id < 0) return null;
      const c = this.flows[id]!;
      if (c.hash === hash && c.proto === proto && c.tun === tun) {
        if (c.aPort === sp && c.bPort === dp && c.a0 === s0 && c.b0 === d0 && c.a1 === s1 && c.a2 === s2 && c.a3 === s3 && c.b1 === d1 && c.b2 === d2 && c.b3 === d3) {
          this.fromA = true;
          return c;
        }
        if (c.aPort === dp && c.bPort === sp && c.a0 === d0 && c.b0 === s0 && c.a1 === d1 && c.a2 === d2 && c.a3 === d3 && c.b1 === s1 && c.b2 === s2 && c.b3 === s3) {
          this.fromA = false;
          return c;
        }
      }
      i = (i + 1) & mask;
    }
  }

  /** Inserts a new flow with endpoint A = src (through tunnel `tun`). */
  insert(hash: number, proto: number, version: number, s0: number, s1: number, s2: number, s3: number, sp: number, d0: number, d1: number, d2: number, d3: number, dp: number, tun = 0): Conn {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    const c = this.pool.pop() ?? new Conn();
    c.reset();
    c.hash = hash;
    c.proto = proto;
    c.tun = tun;
    c.ipVersion = version;
    c.a0 = s0; c.a1 = s1; c.a2 = s2; c.a3 = s3; c.aPort = sp;
    c.b0 = d0; c.b1 = d1; c.b2 = d2; c.b3 = d3; c.bPort = dp;
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.flows.length;
    if (id === this.flows.length) this.flows.push(c);
    else this.flows[id] = c;
    c.id = id;
    this.place(id, hash);
    this.size++;
    if (this.size > this.peak) this.peak = this.size;
    this.fromA = true;
    return c;
  }

  private place(id: number, hash: number): void {
    const slots = this.slots;
    let i = hash & this.mask;
    while (slots[i]! >= 0) i = (i + 1) & this.mask;
    slots[i] = id;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(-1);
    this.mask = this.slots.length - 1;
    for (let i = 0; i < old.length; i++) {
      const id = old[i]!;
      if (id >= 0) this.place(id, this.flows[id]!.hash);
    }
  }

  /** Removes a flow; the object returns to the pool (do not use it afterwards). */
  remove(c: Conn): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = c.hash & mask;
    while (slots[i] !== c.id) {
      if (slots[i]! < 0) throw new Error('FlowTable.remove: flow not found');
      i = (i + 1) & mask;
    }
    // backward-shift deletion
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const id = slots[j]!;
      if (id < 0) break;
      const home = this.flows[id]!.hash & mask;
      // move id into the hole i unless its home lies cyclically in (i, j]
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!inRange) {
        slots[i] = id;
        i = j;
      }
    }
    slots[i] = -1;
    this.flows[c.id] = null;
    this.freeIds.push(c.id);
    c.id = -1;
    this.size--;
    if (this.pool.length < SPARE_FLOWS) this.pool.push(c);
  }

  /** Every live flow (for the end of input). */
  *all(): Generator<Conn> {
    for (const c of this.flows) if (c !== null) yield c;
  }
}
