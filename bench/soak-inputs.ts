#!/usr/bin/env node
/**
 * Hostile files too big for the unit suite, each with the command it must
 * survive in bounded memory and time:
 *
 *   node dist/bench/soak-inputs.js [--gb N] [--max-rss MB] [--only a,b]
 *
 * Generated once into bench/out/ (zstd, so 20 GB of zeros take ~1 MB):
 *  - zeros:   20 GB of zero bytes, no newline (one endless line)
 *  - newlines: 20 GB of newlines
 *  - pcapzeros: a pcap file header followed by 20 GB of zeros
 *  - longline: NDJSON records with one 100 MB line among them
 * Each command runs under GNU time; a line says its exit status, wall time,
 * peak RSS and the first stderr line, and PASS/FAIL against the expected
 * exit status, the RSS limit (default 200 MB) and a time limit.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { createZstdCompress } from '../src/io/zstd.js';
import { REPO_ROOT, fmtNum, measure } from './_util.js';

const OUT = join(REPO_ROOT, 'bench', 'out');
const CLI = (c: string): string => join(REPO_ROOT, 'dist', 'cli', `${c}.js`);

/** Writes `head`, then `total` bytes of `fill`, then `tail`, zstd-compressed, to `path`. */
async function zstdFile(path: string, head: Buffer, fill: number, total: number, tail: Buffer = Buffer.alloc(0)): Promise<void> {
  if (existsSync(path)) return;
  const z = createZstdCompress();
  const out = createWriteStream(`${path}.tmp`);
  z.pipe(out);
  const chunk = Buffer.alloc(1 << 22, fill);
  const write = async (b: Buffer): Promise<void> => {
    if (!z.write(b)) await once(z, 'drain');
  };
  await write(head);
  for (let left = total; left > 0; left -= chunk.length) await write(left >= chunk.length ? chunk : chunk.subarray(0, left));
  await write(tail);
  z.end();
  await once(out, 'close');
  renameSync(`${path}.tmp`, path);
}

function pcapHeader(): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(1, 20);
  return h;
}

interface Run {
  name: string;
  cmd: string;
  args: string[];
  file: string;
  exit: number;
  maxSeconds: number;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({ args: process.argv.slice(2), options: { gb: { type: 'string' }, 'max-rss': { type: 'string' }, only: { type: 'string' } } });
  const bytes = Number(v.gb ?? 20) * 1e9;
  const maxRss = Number(v['max-rss'] ?? 200);
  mkdirSync(OUT, { recursive: true });
  const gb = `${Number(v.gb ?? 20)}GB`;
  const files = {
    zeros: join(OUT, `soak-${gb}-zeros.zst`),
    newlines: join(OUT, `soak-${gb}-newlines.zst`),
    pcapzeros: join(OUT, `soak-pcaphdr-${gb}-zeros.pcap.zst`),
    longline: join(OUT, 'soak-100MB-line.ndjson.zst'),
  };
  console.log('soak-inputs: generating (once) ...');
  await zstdFile(files.zeros, Buffer.alloc(0), 0, bytes);
  await zstdFile(files.newlines, Buffer.alloc(0), 0x0a, bytes);
  await zstdFile(files.pcapzeros, pcapHeader(), 0, bytes);
  const rec = '{"record":"conn","ts":1700000000.000000000,"uid":"CAAAAAAAAAAAAAAAAA","proto":"tcp","orig_h":"10.0.0.1","orig_p":1,"resp_h":"10.0.0.2","resp_p":2,"orig_pkts":1,"resp_pkts":1}\n';
  await zstdFile(files.longline, Buffer.from(rec.repeat(5) + '{"record":"conn","uid":"'), 0x78, 100e6, Buffer.from('"}\n' + rec.repeat(5)));
  const runs: Run[] = [
    { name: 'zeros', cmd: 'csvtool', args: [], file: files.zeros, exit: 1, maxSeconds: 30 },
    { name: 'zeros', cmd: 'csvtool', args: ['--skip-bad'], file: files.zeros, exit: 0, maxSeconds: 600 },
    { name: 'zeros', cmd: 'tcpsummary', args: ['-f', 'json'], file: files.zeros, exit: 1, maxSeconds: 600 },
    { name: 'zeros', cmd: 'tcpfilter', args: [], file: files.zeros, exit: 1, maxSeconds: 30 },
    { name: 'newlines', cmd: 'tcpsummary', args: ['-f', 'json'], file: files.newlines, exit: 1, maxSeconds: 30 },
    { name: 'newlines', cmd: 'csvtool', args: ['--skip-bad'], file: files.newlines, exit: 1, maxSeconds: 30 },
    { name: 'newlines', cmd: 'tcpfilter', args: [], file: files.newlines, exit: 1, maxSeconds: 30 },
    { name: 'pcapzeros', cmd: 'tcpanalyze', args: [], file: files.pcapzeros, exit: 0, maxSeconds: 600 },
    { name: 'pcapzeros', cmd: 'tcpanalyze', args: ['--strict'], file: files.pcapzeros, exit: 1, maxSeconds: 30 },
    { name: 'longline', cmd: 'csvtool', args: [], file: files.longline, exit: 1, maxSeconds: 60 },
    { name: 'longline', cmd: 'csvtool', args: ['--skip-bad'], file: files.longline, exit: 0, maxSeconds: 60 },
    { name: 'longline', cmd: 'tcpsummary', args: ['-f', 'json'], file: files.longline, exit: 1, maxSeconds: 60 },
    { name: 'longline', cmd: 'tcpfilter', args: ['--where', 'orig_pkts>0'], file: files.longline, exit: 1, maxSeconds: 60 },
  ];
  let failed = 0;
  for (const r of runs.filter((x) => v.only === undefined || v.only.split(',').includes(x.name))) {
    const argv = [process.execPath, CLI(r.cmd), ...r.args, r.file];
    const m = await measure('/usr/bin/time', argv, OUT);
    const rss = m.rssKB / 1024;
    const ok = m.code === r.exit && rss < maxRss && m.wall < r.maxSeconds;
    if (!ok) failed++;
    const first = m.stderrTail.split('\n').find((l) => l !== '') ?? '';
    console.log(`${ok ? 'PASS' : 'FAIL'}: ${r.cmd} ${r.args.join(' ')} ${r.name}: exit ${m.code} (want ${r.exit}), ${fmtNum(m.wall, 1)} s, ${fmtNum(rss)} MB peak RSS; ${first.slice(0, 160)}`);
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`soak-inputs: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 2;
});
