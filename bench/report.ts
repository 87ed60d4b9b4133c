#!/usr/bin/env node
/**
 * The report's size and speed (docs/graphs.md, "Size and speed"):
 *
 *   node dist/bench/report.js [--runs N] [--open-runs N] [CAPTURE...]
 *
 * For each capture (default: the benchmark capture and one 10-million-packet
 * bulk connection from gen-bulk.ts, both generated into bench/out/ when
 * missing): the wall time of `tcpanalyze CAPTURE --report` (median and
 * minimum of --runs), the page's size, and in chromium (playwright-core,
 * /usr/bin/chromium or TCPKIT_CHROMIUM) the time from navigation to
 * `<body data-ready="yes">`: the page parsed, the data decompressed and
 * every graph drawn (median and minimum of --open-runs, each in a new page).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT, median } from './_util.js';
import { DEFAULT_PACKETS, generateCapture } from './gen-capture.js';
import { generateBulk } from './gen-bulk.js';

declare const document: any;

const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'open-runs': { type: 'string', default: '5' } }, allowPositionals: true });
const runs = Number(values.runs), openRuns = Number(values['open-runs']);
const outDir = join(REPO_ROOT, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const captures = positionals.length > 0 ? positionals : [join(outDir, `bench-${DEFAULT_PACKETS}.pcap`), join(outDir, 'bulk-10m.pcap')];
for (const c of captures) {
  if (existsSync(c) || positionals.length > 0) continue;
  process.stderr.write(`generating ${c}\n`);
  if (c.endsWith('bulk-10m.pcap')) generateBulk(c, { packets: 10_000_000, loss: 0.0002, seed: 1 });
  else await generateCapture(c);
}

const tcpanalyze = join(REPO_ROOT, 'dist', 'cli', 'tcpanalyze.js');
const tmp = mkdtempSync(join(tmpdir(), 'tcpkit-bench-report-'));
const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: process.env['TCPKIT_CHROMIUM'] ?? '/usr/bin/chromium' });
const f2 = (x: number): string => x.toFixed(2);
try {
  for (const c of captures) {
    const html = join(tmp, 'report.html');
    const walls: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [tcpanalyze, c, '--report', html, '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0) throw new Error(`tcpanalyze exited with ${r.status} on ${c}`);
      walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const opens: number[] = [];
    for (let i = 0; i < openRuns; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const t0 = Date.now();
      await page.goto(pathToFileURL(html).href);
      await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
      const elapsed = Date.now() - t0;
      if ((await page.evaluate(() => document.body.getAttribute('data-ready'))) !== 'yes') throw new Error(`${c}: the page could not draw its graphs`);
      opens.push(elapsed / 1000);
      await page.close();
    }
    process.stdout.write(
      `${c}: report ${Math.round(statSync(html).size / 1024)} KiB; tcpanalyze --report ${f2(median(walls))} s median, ${f2(Math.min(...walls))} s min of ${runs}; ` +
        `chromium to data-ready ${f2(median(opens))} s median, ${f2(Math.min(...opens))} s min of ${openRuns}\n`,
    );
  }
} finally {
  await browser.close();
  rmSync(tmp, { recursive: true, force: true });
}
