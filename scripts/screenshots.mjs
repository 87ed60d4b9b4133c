#!/usr/bin/env node
// Regenerates the README's two screenshots (npm run screenshots, after a
// build): the overview of a report on every recorded fixture capture
// (fixtures/pcaps/recorded/, recorded within 36 s of each other, so one
// capture day: clean, lossy, zero-window, refused and timed-out
// connections), and the time-sequence graph of its lossy IPv4 download.
// Needs chromium (apt-get install chromium) and playwright-core (a dev
// dependency); TCPKIT_CHROMIUM names another browser binary.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url).pathname;
const rec = join(root, 'fixtures/pcaps/recorded');
// relative to the repository, so the page names the captures as a reader of the README finds them
const captures = readdirSync(rec).filter((f) => f.endsWith('.pcap')).sort().map((f) => join('fixtures/pcaps/recorded', f));
const dir = mkdtempSync(join(tmpdir(), 'tcpkit-shots-'));
const html = join(dir, 'report.html');
try {
  const r = spawnSync(process.execPath, [join(root, 'dist/cli/tcpanalyze.js'), ...captures, '--decode', 'all', '--report', html], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) throw new Error(`tcpanalyze exited with ${r.status}`);
  const browser = await chromium.launch({ executablePath: process.env.TCPKIT_CHROMIUM ?? '/usr/bin/chromium' });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
    page.on('pageerror', (e) => {
      throw e;
    });
    await page.goto(pathToFileURL(html).href);
    await page.waitForSelector('body[data-ready="yes"]');
    const overview = join(root, 'docs/img/report-overview.png');
    await page.screenshot({ path: overview });
    // the lossy IPv4 download: the section whose server port is 8080 with the most retransmissions, server's data
    const sec = page.locator('section.conn', { hasText: '192.0.2.2:8080' }).first();
    await sec.locator('button.dir[data-dir="1"]').click();
    await page.evaluate(() => document.querySelector('nav').style.display = 'none');
    const tseq = join(root, 'docs/img/tseq-lossy.png');
    await sec.locator('.chart-box[data-chart="tseq"]').screenshot({ path: tseq });
    process.stderr.write(`screenshots: ${overview}, ${tseq}\n`);
  } finally {
    await browser.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
