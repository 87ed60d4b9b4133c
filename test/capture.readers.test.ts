/**
 * The capture readers against independent readers: every fixture's frames
 * (time to the nanosecond, original and captured length) against tshark 4.0
 * (fixtures/pcaps/oracles/<capture>.frames.tsv, scripts/make-frame-oracles.sh),
 * classic pcap against the npm pcap-parser, and the four pcap magics against
 * each other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCaptures } from '../src/analysis/pipeline.js';
import { fixtureCaptures } from './_fixtures.js';
import { drivePackets } from '../src/capture/open.js';
import { formatEpoch } from '../src/util/time.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const FIX = join(ROOT, 'fixtures/pcaps');
const ORA = join(FIX, 'oracles');

interface Frame { time: string; len: number; cap: number; data?: Buffer }

async function readAll(path: string, keepData = false): Promise<{ frames: Frame[]; errors: Error[] }> {
  const frames: Frame[] = [];
  const { inputs, readers } = await openCaptures([{ path }]);
  const res = await drivePackets(readers, inputs, (p) => {
    frames.push({ time: formatEpoch(p.sec, p.nsec), len: p.origlen, cap: p.caplen, ...(keepData ? { data: Buffer.from(p.buf.subarray(p.off, p.off + p.caplen)) } : {}) });
  });
  for (const i of inputs) await i.window.close();
  return { frames, errors: res.errors };
}

function tsharkFrames(name: string): Frame[] {
  const lines = readFileSync(join(ORA, `${name}.frames.tsv`), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).slice(1);
  return lines.map((l) => {
    const [, time, len, cap] = l.split('\t');
    return { time: time ?? '', len: Number(len), cap: Number(cap) };
  });
}


/** Readers that stop with an error where tshark reads on (or the reverse), with the reason. */
const READER_DIFFERENCES: Record<string, string> = {};

for (const rel of fixtureCaptures()) {
  const name = rel.split('/').pop()!;
  const hasOracle = existsSync(join(ORA, `${name}.frames.tsv`));
  test(`every frame of ${rel} has tshark's time, length and captured length`, { skip: hasOracle ? false : 'no tshark frame oracle' }, async () => {
    let ours: Frame[] = [];
    try {
      ours = (await readAll(join(FIX, rel))).frames;
    } catch (e) {
      // header-level rejection: tshark must have rejected it too
      assert.deepEqual(tsharkFrames(name), [], `tcpkit rejected the file (${(e as Error).message}) but tshark read frames`);
      return;
    }
    // tshark lists pcapng custom/decryption blocks as frames without a time,
    // and simple packet blocks without a time; tcpkit gives SPBs time 0.
    const theirs = tsharkFrames(name).filter((f) => f.time !== '');
    const mine = ours.filter((f) => f.time !== '0.000000000');
    if (READER_DIFFERENCES[name]) {
      assert.deepEqual(mine, theirs.slice(0, mine.length), 'the frames before the difference agree');
      assert.ok(mine.length < theirs.length, READER_DIFFERENCES[name]);
      return;
    }
    assert.deepEqual(mine, theirs);
  });
}

test('simple packet blocks are read from pcapng files that have them (2 in le-test202, 1 in le-test102)', async () => {
  const spb = async (n: string): Promise<number> => (await readAll(join(FIX, n))).frames.filter((f) => f.time === '0.000000000').length;
  assert.equal(await spb('pcapngtg__le-test202.pcapng'), 2);
  assert.equal(await spb('pcapngtg__le-test102.pcapng'), 1);
});

test('classic pcap packets equal what the npm pcap-parser reads (independent reader)', async () => {
  const require = createRequire(import.meta.url);
  const pcapp = require('pcap-parser') as { parse(path: string): NodeJS.EventEmitter };
  for (const n of ['zeek__smtp.pcap', 'zeek__tcp-ssh-dups.pcap', 'zeek__smb-dssetup-be.cap', 'tcpdump__pptp.pcap', 'ndpi__synscan.pcap']) {
    const path = join(FIX, n);
    const theirs = await new Promise<Frame[]>((resolve, reject) => {
      const out: Frame[] = [];
      const p = pcapp.parse(path);
      p.on('packet', (pk: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }) => {
        out.push({ time: formatEpoch(pk.header.timestampSeconds, pk.header.timestampMicroseconds * 1000), len: pk.header.originalLength, cap: pk.header.capturedLength, data: Buffer.from(pk.data) });
      });
      p.on('end', () => resolve(out));
      p.on('error', reject);
    });
    const ours = (await readAll(path, true)).frames;
    assert.ok(ours.length > 0);
    assert.deepEqual(ours, theirs, n);
  }
});

/** Rewrites a little-endian microsecond pcap with another magic and byte order. */
function convert(src: Buffer, nano: boolean, bigEndian: boolean): Buffer {
  const out = Buffer.alloc(src.length);
  const w32 = (v: number, o: number): void => void (bigEndian ? out.writeUInt32BE(v >>> 0, o) : out.writeUInt32LE(v >>> 0, o));
  const w16 = (v: number, o: number): void => void (bigEndian ? out.writeUInt16BE(v, o) : out.writeUInt16LE(v, o));
  w32(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(src.readUInt16LE(4), 4);
  w16(src.readUInt16LE(6), 6);
  w32(src.readUInt32LE(8), 8);
  w32(src.readUInt32LE(12), 12);
  w32(src.readUInt32LE(16), 16);
  w32(src.readUInt32LE(20), 20);
  let o = 24;
  while (o + 16 <= src.length) {
    const incl = src.readUInt32LE(o + 8);
    w32(src.readUInt32LE(o), o);
    w32(src.readUInt32LE(o + 4) * (nano ? 1000 : 1), o + 4);
    w32(incl, o + 8);
    w32(src.readUInt32LE(o + 12), o + 12);
    src.copy(out, o + 16, o + 16, o + 16 + incl);
    o += 16 + incl;
  }
  return out;
}

test('all four pcap magics (µs and ns, both byte orders) give the same packets', async () => {
  const src = readFileSync(join(FIX, 'zeek__smtp.pcap'));
  assert.equal(src.readUInt32LE(0), 0xa1b2c3d4);
  const dir = mkdtempSync(join(tmpdir(), 'tcpkit-magic-'));
  try {
    const base = (await readAll(join(FIX, 'zeek__smtp.pcap'), true)).frames;
    for (const [nano, be] of [[false, true], [true, false], [true, true]] as const) {
      const p = join(dir, `v-${nano}-${be}.pcap`);
      writeFileSync(p, convert(src, nano, be));
      assert.deepEqual((await readAll(p, true)).frames, base, `nano=${nano} bigEndian=${be}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pcapng section with an unsupported version stops reading with an error after the packets before it, as tshark does', async () => {
  const r = await readAll(join(FIX, 'gopacket__pcapng-test901.pcapng'));
  assert.equal(r.frames.length, 1);
  assert.match(r.errors.map((e) => (e as { code?: string }).code).join(), /PCAPNG_BAD_VERSION/);
});

test('a nanosecond timestamp keeps all nine digits', async () => {
  const frames = (await readAll(join(FIX, 'tcpdump__tcp-handshake-nano.pcap'))).frames;
  assert.ok(frames.some((f) => !f.time.endsWith('000')), frames.map((f) => f.time).join(' '));
});
