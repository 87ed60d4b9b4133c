/**
 * Zeek's conn_state decision order (the pure connState()), and the history
 * letters' repetition rules as ZeekState applies them packet by packet:
 * a d i q once per direction; f h r s again only when the sequence number
 * differs from the last packet with that flag; c g t w logarithmically (the
 * 2nd letter at the 10th instance, the 3rd at the 100th, ...); ^ for Zeek's
 * role flips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connState, TcpState as T, UdpState as U } from '../src/analysis/conn-state.js';
import { ZeekState } from '../src/analysis/zeek-state.js';
import { Decoded, FIN, SYN, RST, ACK, PSH, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP } from '../src/decode/decoded.js';
import type { RecordValues } from '../src/records/schema.js';

// ---------------------------------------------------------------------------
// conn_state: every code, in Zeek's decision order

const TCP_CASES: [string, number, number, number, number, string, string][] = [
  // rule                                                      os              rs             osz rsz history  code
  ['resp RESET, orig SYN_SENT', T.SYN_SENT, T.RESET, 0, 0, 'Sr', 'REJ'],
  ['resp RESET, orig SYN_ACK_SENT', T.SYN_ACK_SENT, T.RESET, 0, 0, 'Hr', 'REJ'],
  ['resp RESET, orig RESET, both sizes 0', T.RESET, T.RESET, 0, 0, 'SRr', 'REJ'],
  ['resp RESET, orig RESET, data sent', T.RESET, T.RESET, 10, 0, 'ShADRr', 'RSTR'],
  ['resp RESET, orig INACTIVE', T.INACTIVE, T.RESET, 0, 0, 'hr', 'RSTRH'],
  ['resp RESET, orig PARTIAL', T.PARTIAL, T.RESET, 0, 0, 'Dr', 'RSTRH'],
  ['resp RESET, orig ESTABLISHED', T.ESTABLISHED, T.RESET, 5, 5, 'ShADadr', 'RSTR'],
  ['resp RESET, orig CLOSED', T.CLOSED, T.RESET, 5, 5, 'ShADadFr', 'RSTR'],
  ['orig RESET, resp INACTIVE, SYN then RST', T.RESET, T.INACTIVE, 0, 0, 'SR', 'RSTOS0'],
  ['orig RESET, resp INACTIVE, flipped SYN then RST', T.RESET, T.INACTIVE, 0, 0, '^SR', 'RSTOS0'],
  ['orig RESET, resp PARTIAL, SYN, d, then RST', T.RESET, T.PARTIAL, 0, 0, 'SdR', 'RSTOS0'],
  ['orig RESET, resp INACTIVE, SYN, A, then RST (Zeek: SaR)', T.RESET, T.INACTIVE, 0, 0, 'SaR', 'RSTOS0'],
  ['orig RESET, resp INACTIVE, lone RST', T.RESET, T.INACTIVE, 0, 0, 'R', 'OTH'],
  ['orig RESET, resp INACTIVE, FIN before RST (Zeek: SaFR)', T.RESET, T.INACTIVE, 0, 0, 'SaFR', 'OTH'],
  ['orig RESET, resp INACTIVE, ACK before RST', T.RESET, T.INACTIVE, 0, 0, 'SAR', 'OTH'],
  ['orig RESET, resp ESTABLISHED', T.RESET, T.ESTABLISHED, 5, 5, 'ShADadR', 'RSTO'],
  ['orig RESET, resp CLOSED', T.RESET, T.CLOSED, 5, 5, 'ShADadfR', 'RSTO'],
  ['both CLOSED', T.CLOSED, T.CLOSED, 5, 5, 'ShADadFf', 'SF'],
  ['orig CLOSED, resp INACTIVE', T.CLOSED, T.INACTIVE, 0, 0, 'SF', 'SH'],
  ['orig CLOSED, resp PARTIAL', T.CLOSED, T.PARTIAL, 0, 0, 'DdF', 'SH'],
  ['orig CLOSED, resp ESTABLISHED', T.CLOSED, T.ESTABLISHED, 5, 5, 'ShADadF', 'S2'],
  ['orig CLOSED, resp SYN_SENT', T.CLOSED, T.SYN_SENT, 0, 0, 'SsF', 'S2'],
  ['resp CLOSED, orig INACTIVE', T.INACTIVE, T.CLOSED, 0, 0, 'hf', 'SHR'],
  ['resp CLOSED, orig PARTIAL', T.PARTIAL, T.CLOSED, 0, 0, 'Ddf', 'SHR'],
  ['resp CLOSED, orig ESTABLISHED', T.ESTABLISHED, T.CLOSED, 5, 5, 'ShADadf', 'S3'],
  ['orig SYN_SENT, resp INACTIVE', T.SYN_SENT, T.INACTIVE, 0, 0, 'S', 'S0'],
  ['both ESTABLISHED', T.ESTABLISHED, T.ESTABLISHED, 5, 5, 'ShADad', 'S1'],
  ['orig SYN_SENT, resp PARTIAL', T.SYN_SENT, T.PARTIAL, 0, 0, 'Sd', 'OTH'],
  ['orig SYN_ACK_SENT, resp INACTIVE', T.SYN_ACK_SENT, T.INACTIVE, 0, 0, 'H', 'OTH'],
  ['both PARTIAL', T.PARTIAL, T.PARTIAL, 5, 5, 'Dd', 'OTH'],
  ['orig PARTIAL, resp INACTIVE', T.PARTIAL, T.INACTIVE, 5, 0, 'D', 'OTH'],
  ['orig ESTABLISHED, resp PARTIAL', T.ESTABLISHED, T.PARTIAL, 5, 5, 'SAd', 'OTH'],
  ['both INACTIVE', T.INACTIVE, T.INACTIVE, 0, 0, '', 'OTH'],
];

test('connState TCP: every code in Zeek decision order', () => {
  for (const [why, os, rs, osz, rsz, h, code] of TCP_CASES) assert.equal(connState(IPPROTO_TCP, os, rs, osz, rsz, h), code, why);
  const codes = new Set(TCP_CASES.map((c) => c[6]));
  for (const c of ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH']) assert.ok(codes.has(c), c);
});

test('connState TCP: a responder RESET is decided before an originator RESET or CLOSED', () => {
  assert.equal(connState(IPPROTO_TCP, T.CLOSED, T.RESET, 1, 1, 'ShADFr'), 'RSTR');
  assert.equal(connState(IPPROTO_TCP, T.RESET, T.RESET, 1, 0, 'ShADRr'), 'RSTR');
  // orig RESET beats both-CLOSED rules
  assert.equal(connState(IPPROTO_TCP, T.RESET, T.CLOSED, 1, 1, 'ShADfR'), 'RSTO');
  // the RSTOS0 history test is anchored: a leading letter other than ^ fails it
  assert.equal(connState(IPPROTO_TCP, T.RESET, T.INACTIVE, 0, 0, 'DSR'), 'OTH');
});

test('connState UDP and ICMP', () => {
  assert.equal(connState(IPPROTO_UDP, U.ACTIVE, U.ACTIVE, 0, 0, 'Dd'), 'SF');
  assert.equal(connState(IPPROTO_UDP, U.ACTIVE, U.INACTIVE, 0, 0, 'D'), 'S0');
  assert.equal(connState(IPPROTO_UDP, U.INACTIVE, U.ACTIVE, 0, 0, 'd'), 'SHR');
  assert.equal(connState(IPPROTO_UDP, U.INACTIVE, U.INACTIVE, 0, 0, ''), 'OTH');
  assert.equal(connState(IPPROTO_ICMP, 1, 1, 0, 0, ''), 'OTH');
});

// ---------------------------------------------------------------------------
// history, packet by packet

const d = new Decoded();

interface Seg {
  flags: number;
  seq: number;
  ack?: number;
  len?: number;
  /** captured payload bytes (default: all) */
  cap?: number;
  win?: number;
}

/** A on port 40000 (client), B on port 8765 (not a likely server port). */
function seg(z: ZeekState, fromA: boolean, s: Seg, ports: [number, number] = [40000, 8765]): void {
  d.flags = s.flags;
  d.seq = s.seq >>> 0;
  d.ack = (s.ack ?? 0) >>> 0;
  d.payloadLen = s.len ?? 0;
  d.payloadCap = s.cap ?? d.payloadLen;
  d.window = s.win ?? 1000;
  d.ipVersion = 4;
  d.sport = fromA ? ports[0] : ports[1];
  d.dport = fromA ? ports[1] : ports[0];
  d.da0 = 0x0a000002;
  z.onTcp(fromA, d, 0, 0);
}

function out(z: ZeekState, origIsA = true): { history: string | null; state: string | null } {
  const r: RecordValues = { orig_p: 40000, resp_p: 8765, orig_h: '10.0.0.1', resp_h: '10.0.0.2' };
  z.fill(r, origIsA, IPPROTO_TCP);
  return { history: r['history'] as string | null, state: r['conn_state'] as string | null };
}

const ISN_A = 1000, ISN_B = 5000;

/** SYN, SYN/ACK, ACK: both established; A's next byte is ISN_A + 1, B's ISN_B + 1. */
function handshake(z: ZeekState): void {
  seg(z, true, { flags: SYN, seq: ISN_A });
  seg(z, false, { flags: SYN | ACK, seq: ISN_B, ack: ISN_A + 1 });
  seg(z, true, { flags: ACK, seq: ISN_A + 1, ack: ISN_B + 1 });
}

test('history: a whole connection, ShADadFf and SF', () => {
  const z = new ZeekState();
  handshake(z);
  seg(z, true, { flags: ACK | PSH, seq: ISN_A + 1, ack: ISN_B + 1, len: 100 });
  seg(z, false, { flags: ACK, seq: ISN_B + 1, ack: ISN_A + 101 });
  seg(z, false, { flags: ACK | PSH, seq: ISN_B + 1, ack: ISN_A + 101, len: 50 });
  seg(z, true, { flags: FIN | ACK, seq: ISN_A + 101, ack: ISN_B + 51 });
  seg(z, false, { flags: FIN | ACK, seq: ISN_B + 51, ack: ISN_A + 102 });
  seg(z, true, { flags: ACK, seq: ISN_A + 102, ack: ISN_B + 52 });
  assert.deepEqual(out(z), { history: 'ShADadFf', state: 'SF' });
  assert.equal(z.endpointSize(true), 100);
  assert.equal(z.endpointSize(false), 50);
  assert.equal(z.missedBytes, 0);
});

test('history: a, d, i and q are recorded once per direction', () => {
  const z = new ZeekState();
  handshake(z);
  for (let i = 0; i < 5; i++) {
    seg(z, true, { flags: ACK, seq: ISN_A + 1, ack: ISN_B + 1 });
    seg(z, false, { flags: ACK, seq: ISN_B + 1, ack: ISN_A + 1 });
  }
  let seqA = ISN_A + 1, seqB = ISN_B + 1;
  for (let i = 0; i < 5; i++) {
    seg(z, true, { flags: ACK, seq: seqA, ack: seqB, len: 10 });
    seqA += 10;
    seg(z, false, { flags: ACK, seq: seqB, ack: seqA, len: 10 });
    seqB += 10;
  }
  // FIN+RST is "inconsistent" (i), SYN+FIN and SYN+RST are "multi-flag" (q)
  for (let i = 0; i < 3; i++) {
    seg(z, true, { flags: FIN | RST, seq: seqA + i });
    seg(z, false, { flags: FIN | RST, seq: seqB + i });
    seg(z, true, { flags: SYN | FIN, seq: seqA + 100 + i });
    seg(z, false, { flags: SYN | RST, seq: seqB + 100 + i });
  }
  assert.equal(out(z).history, 'ShAaDdIiQq');
});

test('history: s and h repeat only when the relative sequence number differs', () => {
  const z = new ZeekState();
  seg(z, true, { flags: SYN, seq: ISN_A });
  seg(z, true, { flags: SYN, seq: ISN_A }); // retransmitted SYN: same seq
  // a SYN with a new ISN re-bases the endpoint (Zeek's SYN_seq_jump): relative seq 0 again, no new letter
  seg(z, true, { flags: SYN, seq: ISN_A + 777 });
  assert.deepEqual(out(z), { history: 'S', state: 'S0' });
  seg(z, false, { flags: SYN | ACK, seq: ISN_B, ack: ISN_A + 778 });
  seg(z, false, { flags: SYN | ACK, seq: ISN_B, ack: ISN_A + 778 }); // duplicate SYN/ACK
  assert.deepEqual(out(z), { history: 'Sh', state: 'S1' });
  // after a RST the endpoint is not re-based: a SYN at another sequence number is a new letter
  seg(z, true, { flags: RST, seq: ISN_A + 778 });
  seg(z, true, { flags: SYN, seq: ISN_A + 5000 });
  seg(z, true, { flags: SYN, seq: ISN_A + 5000 });
  assert.equal(out(z).history, 'ShRS');
});

test('history: f repeats only when the FIN ends at a different sequence number (data included)', () => {
  const z = new ZeekState();
  handshake(z);
  // data in a FIN packet is not a 'D' (a packet with a control flag is recorded by its flag)
  seg(z, true, { flags: FIN | ACK, seq: ISN_A + 1, ack: ISN_B + 1, len: 10 }); // FIN at +11
  seg(z, true, { flags: FIN | ACK, seq: ISN_A + 1, ack: ISN_B + 1, len: 10 }); // same FIN again (a retransmission: T)
  seg(z, true, { flags: FIN | ACK, seq: ISN_A + 11, ack: ISN_B + 1 }); // bare FIN at +11: same end
  assert.equal(out(z).history, 'ShAFT');
  seg(z, true, { flags: FIN | ACK, seq: ISN_A + 12, ack: ISN_B + 1 }); // a later FIN
  assert.equal(out(z).history, 'ShAFTF');
});

test('history: r repeats only when the sequence number differs', () => {
  const z = new ZeekState();
  handshake(z);
  seg(z, false, { flags: RST, seq: ISN_B + 1 });
  seg(z, false, { flags: RST, seq: ISN_B + 1 });
  seg(z, false, { flags: RST | ACK, seq: ISN_B + 1, ack: ISN_A + 1 });
  assert.deepEqual(out(z), { history: 'ShAr', state: 'RSTR' });
  seg(z, false, { flags: RST, seq: ISN_B + 2 });
  assert.equal(out(z).history, 'ShArr');
});

/** Counts of `letter` after n retransmissions of one data segment. */
function retransmissions(n: number): string {
  const z = new ZeekState();
  handshake(z);
  for (let i = 0; i <= n; i++) seg(z, true, { flags: ACK, seq: ISN_A + 1, ack: ISN_B + 1, len: 100 });
  return out(z).history!;
}

test('history: t is logarithmic (1st, 10th, 100th retransmission)', () => {
  assert.equal(retransmissions(0), 'ShAD');
  assert.equal(retransmissions(1), 'ShADT');
  assert.equal(retransmissions(9), 'ShADT');
  assert.equal(retransmissions(10), 'ShADTT');
  assert.equal(retransmissions(99), 'ShADTT');
  assert.equal(retransmissions(100), 'ShADTTT');
  assert.equal(retransmissions(999), 'ShADTTT');
  assert.equal(retransmissions(1000), 'ShADTTTT');
});

test('history: w is logarithmic (zero windows)', () => {
  const hist = (n: number): string => {
    const z = new ZeekState();
    handshake(z);
    for (let i = 0; i < n; i++) seg(z, false, { flags: ACK, seq: ISN_B + 1, ack: ISN_A + 1, win: 0 });
    return out(z).history!;
  };
  assert.equal(hist(1), 'ShAaw');
  assert.equal(hist(9), 'ShAaw');
  assert.equal(hist(10), 'ShAaww');
  assert.equal(hist(100), 'ShAawww');
  // a zero window in a RST does not count
  const z = new ZeekState();
  handshake(z);
  seg(z, false, { flags: RST, seq: ISN_B + 1, win: 0 });
  assert.equal(out(z).history, 'ShAr');
});

test('history: g is logarithmic; content gaps are what the peer acked but was never seen', () => {
  const gaps = (n: number): { h: string; missed: number } => {
    const z = new ZeekState();
    handshake(z);
    let seqA = ISN_A + 1;
    for (let i = 0; i < n; i++) {
      // 10 bytes never captured, then 5 that are, then B acks it all
      seg(z, true, { flags: ACK, seq: seqA + 10, ack: ISN_B + 1, len: 5 });
      seqA += 15;
      seg(z, false, { flags: ACK, seq: ISN_B + 1, ack: seqA });
    }
    return { h: out(z).history!, missed: z.missedBytes };
  };
  assert.deepEqual(gaps(1), { h: 'ShADaG', missed: 10 });
  assert.deepEqual(gaps(9), { h: 'ShADaG', missed: 90 });
  assert.deepEqual(gaps(10), { h: 'ShADaGG', missed: 100 });
  assert.deepEqual(gaps(100), { h: 'ShADaGGG', missed: 1000 });
});

test('history: payload cut by the snaplen is a gap once acked (Zeek cannot deliver it)', () => {
  const z = new ZeekState();
  handshake(z);
  seg(z, true, { flags: ACK, seq: ISN_A + 1, ack: ISN_B + 1, len: 1000, cap: 100 });
  seg(z, false, { flags: ACK, seq: ISN_B + 1, ack: ISN_A + 1001 });
  assert.equal(out(z).history, 'ShADaG');
  assert.equal(z.missedBytes, 1000);
});

test('history: no gap before both sides are established (partial connections)', () => {
  const z = new ZeekState();
  seg(z, true, { flags: ACK, seq: 100, ack: 900, len: 10 });
  seg(z, false, { flags: ACK, seq: 900, ack: 500 }); // acks 390 bytes never seen
  assert.deepEqual(out(z), { history: 'Da', state: 'OTH' });
  assert.equal(z.missedBytes, 0);
});

test('history: sequence numbers wrap past 2^32 (repeated FIN detection, sizes)', () => {
  const z = new ZeekState();
  const isn = 0xffffff00;
  seg(z, true, { flags: SYN, seq: isn });
  seg(z, false, { flags: SYN | ACK, seq: ISN_B, ack: isn + 1 });
  let s = (isn + 1) >>> 0;
  for (let i = 0; i < 4; i++) {
    seg(z, true, { flags: ACK, seq: s, ack: ISN_B + 1, len: 100 });
    s = (s + 100) >>> 0;
    seg(z, false, { flags: ACK, seq: ISN_B + 1, ack: s });
  }
  seg(z, true, { flags: FIN | ACK, seq: s, ack: ISN_B + 1 });
  seg(z, true, { flags: FIN | ACK, seq: s, ack: ISN_B + 1 });
  seg(z, false, { flags: FIN | ACK, seq: ISN_B + 1, ack: s + 1 });
  assert.deepEqual(out(z), { history: 'ShDaFf', state: 'SF' });
  assert.equal(z.endpointSize(true), 400);
  assert.equal(z.missedBytes, 0);
});

// ---------------------------------------------------------------------------
// ^: Zeek's role flips

test('^: a first packet from a likely server port toward another port flips at creation', () => {
  const z = new ZeekState();
  // the capture starts with the server's data from port 80
  seg(z, true, { flags: ACK, seq: 500, ack: 100, len: 10 }, [80, 40000]);
  seg(z, false, { flags: ACK, seq: 100, ack: 510 }, [80, 40000]);
  assert.equal(z.zeekOrigIsA, false);
  // tcpkit's originator is B too (ports rule): history as Zeek logs it
  assert.deepEqual(out(z, false), { history: '^dA', state: 'OTH' });
});

test('^: a connection that began with a SYN-ACK flips when an ACK or data follows', () => {
  const z = new ZeekState();
  seg(z, true, { flags: SYN | ACK, seq: ISN_B, ack: ISN_A + 1 });
  seg(z, true, { flags: SYN | ACK, seq: ISN_B, ack: ISN_A + 1 }); // duplicate
  assert.equal(z.zeekOrigIsA, true);
  seg(z, false, { flags: ACK, seq: ISN_A + 1, ack: ISN_B + 1 });
  assert.equal(z.zeekOrigIsA, false);
  seg(z, true, { flags: ACK, seq: ISN_B + 1, ack: ISN_A + 1, len: 13 });
  assert.equal(out(z, false).history, '^hAd');
});

test('^: a SYN-ACK answered only by a RST is not flipped (a stealth scan)', () => {
  const z = new ZeekState();
  seg(z, true, { flags: SYN | ACK, seq: ISN_B, ack: ISN_A + 1 });
  seg(z, false, { flags: RST, seq: ISN_A + 1 });
  assert.equal(z.zeekOrigIsA, true);
  assert.deepEqual(out(z, true), { history: 'Hr', state: 'REJ' });
  // tcpkit calls the SYN-ACK's receiver the originator: the same seen from there
  const o = out(z, false);
  assert.equal(o.history, 'hR');
  assert.equal(z.rolesDiffer, true);
});

test('^: SYN-ACK then SYN with the ACKed sequence number is a reversal: Zeek flips', () => {
  const z = new ZeekState();
  seg(z, true, { flags: SYN | ACK, seq: ISN_B, ack: ISN_A + 1 });
  seg(z, false, { flags: SYN, seq: ISN_A });
  seg(z, false, { flags: ACK, seq: ISN_A + 1, ack: ISN_B + 1 });
  assert.equal(z.zeekOrigIsA, false);
  // Zeek records the SYN before it flips
  assert.equal(out(z, false).history, 'Hs^A');
});

test('reset() makes a pooled ZeekState new again', () => {
  const z = new ZeekState();
  handshake(z);
  seg(z, false, { flags: RST, seq: ISN_B + 1 });
  z.reset();
  seg(z, true, { flags: SYN, seq: 77 });
  assert.deepEqual(out(z), { history: 'S', state: 'S0' });
});

test('UDP: D and d once per direction; ^ when the first packet comes from a likely server port', () => {
  const udp = (r: RecordValues, origIsA: boolean, pkts: boolean[]): RecordValues => {
    const z = new ZeekState();
    for (const a of pkts) z.onOther(a, 10);
    z.fill(r, origIsA, IPPROTO_UDP);
    return r;
  };
  let r = udp({ orig_h: '10.0.0.1', orig_p: 40000, resp_h: '10.0.0.2', resp_p: 53 }, true, [true, false, true, false]);
  assert.deepEqual([r['history'], r['conn_state']], ['Dd', 'SF']);
  r = udp({ orig_h: '10.0.0.1', orig_p: 40000, resp_h: '10.0.0.2', resp_p: 53 }, true, [true, true]);
  assert.deepEqual([r['history'], r['conn_state']], ['D', 'S0']);
  // a DNS answer first: Zeek flips (53 is a likely server port)
  r = udp({ orig_h: '10.0.0.1', orig_p: 40000, resp_h: '10.0.0.2', resp_p: 53 }, false, [true, false]);
  assert.deepEqual([r['history'], r['conn_state']], ['^dD', 'SF']);
  r = udp({ orig_h: '10.0.0.1', orig_p: 40000, resp_h: '10.0.0.2', resp_p: 53 }, false, [true]);
  assert.deepEqual([r['history'], r['conn_state']], ['^d', 'SHR']);
});

test('ICMP: OTH, no history', () => {
  const z = new ZeekState();
  z.onOther(true, 56);
  const r: RecordValues = {};
  z.fill(r, true, IPPROTO_ICMP);
  assert.deepEqual([r['history'], r['conn_state']], [null, 'OTH']);
});
