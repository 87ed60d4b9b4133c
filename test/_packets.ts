/**
 * Building packets for tests: Ethernet, IPv4, UDP and TCP headers with
 * correct length fields (checksums are left 0: tcpkit does not verify them).
 */

export function ip4(src: number[], dst: number[], proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(src).copy(h, 12);
  Buffer.from(dst).copy(h, 16);
  return Buffer.concat([h, payload]);
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function eth(type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  h.writeUInt32BE(0x02000000, 0);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export function tcp(sport: number, dport: number, seq: number, ack: number, flags: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(ack >>> 0, 8);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, data]);
}

/** An Ethernet/IPv4/TCP frame from a to b. */
export function tcpFrame(a: number[], b: number[], sport: number, dport: number, seq: number, ack: number, flags: number, data?: Buffer): Buffer {
  return eth(0x0800, ip4(a, b, 6, tcp(sport, dport, seq, ack, flags, data)));
}
