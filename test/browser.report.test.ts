/**
 * The report and the standalone SVG files in a real browser: Debian's
 * chromium driven by playwright-core. Fails on any console error, page
 * error or failed request, and on any request that is not the file itself;
 * checks the sections and the graph elements (the retransmission marks are
 * as many as the record counts), zooms, pans and hovers; keeps screenshots
 * in test-artifacts/browser/ (git-ignored). Skipped, with the reason, when
 * chromium is not installed outside CI; in CI (.ci/run installs it) a
 * missing chromium fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FIX, ROOT } from './_fixtures.js';
import { makeTempDir, runTcpanalyze } from './_capture-helpers.js';
import { reportData } from './_report-helpers.js';
import { generateBulk } from '../bench/gen-bulk.js';

const CHROMIUM = process.env['TCPKIT_CHROMIUM'] ?? '/usr/bin/chromium';
const IN_CI = process.env['CI'] === 'true';
const skip = existsSync(CHROMIUM) || IN_CI ? false : `chromium is not installed at ${CHROMIUM} (apt-get install chromium, as .ci/run does; or set TCPKIT_CHROMIUM)`;
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser');

type Page = import('playwright-core').Page;
// the page's document, in functions that run in the browser (this project compiles without the DOM library)
declare const document: any;

/** A page that records every console error, page error, failed request and request to anything but a file. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) problems.push(`request to ${r.url()}`);
  });
  return problems;
}

test('the report and the SVG files in chromium: sections, marks as many as the records count, zoom, pan, hover, no error', { skip, timeout: 180_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `CI needs chromium at ${CHROMIUM} (.ci/run installs it)`);
  const { chromium } = await import('playwright-core');
  const { dir, cleanup } = makeTempDir();
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    // every recorded capture together: clean, lossy, zero-window, refused and timed-out connections, UDP
    const recorded = readdirSync(join(FIX, 'recorded')).filter((f) => f.endsWith('.pcap')).map((f) => join(FIX, 'recorded', f));
    const html = join(dir, 'report.html');
    const r = runTcpanalyze([...recorded, '--decode', 'all', '--report', html, '-q'], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const data = reportData(readFileSync(html, 'utf8'));
    const lossy = data.conns.find((c) => c.title.endsWith('→ 192.0.2.2:8080') && (c.dirs[1]!.marks['R'] ?? 0) > 0)!;
    assert.ok(lossy, 'the lossy IPv4 download has a section');

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems = watch(page);
    await page.goto(pathToFileURL(html).href);
    await page.waitForSelector('body[data-ready="yes"]', { timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'report-top.png') });
    // the sticky navigation bar would cover the top of the section screenshots below
    await page.addStyleTag({ content: 'nav{position:static}' });
    for (const id of ['overview', 'worst', 'distributions', 'time', 'talkers', 'transactions', 'connections']) assert.equal(await page.locator(`section#${id}`).count(), 1, `section ${id}`);
    assert.equal(await page.locator('section.conn').count(), data.conns.length);
    assert.equal(await page.locator('section.conn .chart-box svg.chart').count(), data.conns.length * 4, 'four graphs per connection');
    assert.ok((await page.locator('#distributions svg.chart').count()) >= 3);

    const sec = page.locator(`section.conn[data-uid="${lossy.uid}"]`);
    const recordValue = async (field: string): Promise<number> =>
      Number(await sec.locator('table.record tr', { has: page.locator(`td:text-is("${field}")`) }).locator('td').nth(1).textContent());
    const marks = (key: string): ReturnType<Page['locator']> => sec.locator(`svg[data-chart="tseq"] g.layer[data-key="${key}"] .mark`);
    await sec.locator('button.dir[data-dir="1"]').click();
    const respRetx = await recordValue('resp_retransmission');
    assert.ok(respRetx > 0);
    assert.equal(await marks('R').count(), respRetx, 'one R per retransmission the record counts');
    assert.equal(await marks('O').count(), await recordValue('resp_out_of_order'));
    assert.equal(await marks('dup').count(), await recordValue('orig_duplicate_ack'), 'the receiver\'s duplicate ACKs');
    await sec.locator('button.dir[data-dir="0"]').click();
    assert.equal(await marks('R').count(), await recordValue('orig_retransmission'));
    await sec.locator('button.dir[data-dir="1"]').click();
    await sec.scrollIntoViewIfNeeded();
    await sec.screenshot({ path: join(ARTIFACTS, 'lossy-connection.png') });

    // zoom with the wheel around the middle of the time-sequence graph: the four graphs keep one time axis
    const tseq = sec.locator('.chart-box[data-chart="tseq"]');
    const span = async (chart: string): Promise<[number, number]> => {
      const s = sec.locator(`svg[data-chart="${chart}"]`);
      return [Number(await s.getAttribute('data-x0')), Number(await s.getAttribute('data-x1'))];
    };
    const before = await span('tseq');
    const box = (await tseq.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -100);
    await page.waitForFunction((b) => {
      const s = document.querySelector(`section.conn[data-uid="${b.uid}"] svg[data-chart="tseq"]`);
      return Number(s.getAttribute('data-x1')) - Number(s.getAttribute('data-x0')) < b.w * 0.6;
    }, { uid: lossy.uid, w: before[1] - before[0] });
    const zoomed = await span('tseq');
    assert.ok(zoomed[1] - zoomed[0] < (before[1] - before[0]) * 0.6, `zoomed in: ${zoomed} from ${before}`);
    assert.deepEqual(await span('rtt'), zoomed, 'the RTT graph follows the time axis');
    assert.deepEqual(await span('inflight'), zoomed);
    await tseq.screenshot({ path: join(ARTIFACTS, 'tseq-zoomed.png') });
    // drag to pan
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 150, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForTimeout(100);
    const panned = await span('tseq');
    assert.ok(panned[0] < zoomed[0] && Math.abs(panned[1] - panned[0] - (zoomed[1] - zoomed[0])) < 1e-9, `panned earlier: ${panned} from ${zoomed}`);
    // a double click restores the view
    await tseq.dblclick();
    await page.waitForTimeout(100);
    assert.deepEqual(await span('tseq'), before);
    // hover over a retransmission mark: its frame and flags
    const mark = (await marks('R').first().boundingBox())!;
    await page.mouse.move(mark.x + mark.width / 2, mark.y + mark.height / 2);
    const tip = page.locator('.tip');
    await tip.waitFor({ state: 'visible' });
    const text = (await tip.textContent()) ?? '';
    assert.match(text, /frame \d+/);
    assert.match(text, /retransmission/);
    assert.match(text, /seq \d+–\d+ \(\d+ bytes\)/, 'the retransmitted segment\'s sequence numbers');
    await sec.screenshot({ path: join(ARTIFACTS, 'hover.png') });
    assert.deepEqual(problems, []);

    // the standalone SVG files of the same connection
    const svgDir = join(dir, 'svg');
    const p = runTcpanalyze([...recorded, '--plot', svgDir, '--uid', lossy.uid, '-q'], { timeoutMs: 60_000 });
    assert.equal(p.status, 0, p.stderr);
    const files = readdirSync(svgDir).sort();
    assert.equal(files.length, 8);
    for (const f of files) {
      const sp = await browser.newPage({ viewport: { width: 1000, height: 520 } });
      const sProblems = watch(sp);
      await sp.goto(pathToFileURL(join(svgDir, f)).href);
      assert.equal(await sp.evaluate(() => document.documentElement.namespaceURI), 'http://www.w3.org/2000/svg', f);
      assert.ok((await sp.locator('g.layer').count()) > 0, `${f} has layers`);
      if (f.endsWith('-resp-tseq.svg')) {
        assert.equal(await sp.locator('g.layer[data-key="R"] .mark').count(), respRetx);
        await sp.screenshot({ path: join(ARTIFACTS, 'standalone-tseq.png') });
      }
      assert.deepEqual(sProblems, [], f);
      await sp.close();
    }
  } finally {
    await browser.close();
    cleanup();
  }
});

test('a decimated connection in chromium: envelopes drawn, every retransmission still a mark, hover on a bucket, no error', { skip, timeout: 120_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `CI needs chromium at ${CHROMIUM} (.ci/run installs it)`);
  const { chromium } = await import('playwright-core');
  const { dir, cleanup } = makeTempDir();
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    // one bulk transfer of 60,000 packets: three times the segments kept as they are, so decimated
    const cap = join(dir, 'bulk.pcap');
    const gen = generateBulk(cap, { packets: 60_000, loss: 0.002, seed: 3 });
    assert.ok(gen.retransmissions > 5);
    const html = join(dir, 'report.html');
    const r = runTcpanalyze([cap, '--report', html, '-q'], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const cc = reportData(readFileSync(html, 'utf8')).conns[0]!;
    assert.ok(cc.decimated, 'the connection is decimated');

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems = watch(page);
    await page.goto(pathToFileURL(html).href);
    await page.waitForSelector('body[data-ready="yes"]', { timeout: 30_000 });
    await page.addStyleTag({ content: 'nav{position:static}' });
    const sec = page.locator(`section.conn[data-uid="${cc.uid}"]`);
    assert.match((await sec.locator('p.meta').textContent()) ?? '', /^Decimated: [\d,]+ segments; \d+ marked segments drawn one by one, everything else as its envelope in 2,048 buckets of [\d.]+ ms\.$/);
    // the server's data is shown first (it has the retransmissions)
    const tseq = sec.locator('svg[data-chart="tseq"]');
    assert.equal(await tseq.locator('g.layer[data-key="R"] .mark').count(), gen.retransmissions, 'one R per retransmission the generator made');
    const record = Number(await sec.locator('table.record tr', { has: page.locator('td:text-is("resp_retransmission")') }).locator('td').nth(1).textContent());
    assert.equal(record, gen.retransmissions);
    assert.ok((await tseq.locator('g.layer[data-key="seg"] path').count()) > 0, 'the segments\' envelope is drawn');
    // hover over the middle of the envelope (a straight line: the transfer runs at one rate): a bucket's segments and frames
    await sec.scrollIntoViewIfNeeded();
    const seg = (await tseq.locator('g.layer[data-key="seg"]').first().boundingBox())!; // the envelope (drawn first), then the marked segments
    await page.mouse.move(seg.x + seg.width / 2, seg.y + seg.height / 2);
    const tip = page.locator('.tip');
    await tip.waitFor({ state: 'visible' });
    assert.match((await tip.textContent()) ?? '', /\d+ segments, frames \d+–\d+.*seq \d+ – \d+/);
    await sec.screenshot({ path: join(ARTIFACTS, 'decimated.png') });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    cleanup();
  }
});
