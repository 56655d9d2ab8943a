/**
 * The live dashboard in a real headless Chromium (playwright-core driving /usr/bin/chromium): the
 * page lists the registered workers, its charts update after traffic, worker-supplied text stays
 * text, and the page runs without a script error or a Content-Security-Policy violation.
 *
 * Skipped, saying why, only when /usr/bin/chromium is absent (CI installs it: see .ci/run).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { describeUnlessMissing } from '../helpers/skip.ts';
import { httpRequest, startWorker, useTestEnvironment } from '../helpers/index.ts';
import { startAdminRouter } from './admin-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WAIT_MS = 30_000;
const REQUESTS = 30;
/** Markup a worker might announce as a label: the page must show it as text, never build elements from it. */
const HOSTILE_META = '<img id="injected" src="x">';

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;

describeUnlessMissing('dashboard in headless Chromium', skip, () => {
  const env = useTestEnvironment();

  it('shows the registered workers, and its charts update after traffic', async () => {
    const router = await startAdminRouter(env.group, { bind: env.tmp.ipc('dash.sock'), args: ['--heartbeat', '200'] });
    await startWorker(env.group, {
      connect: router.bindEndpoint,
      handler: 'routes',
      id: 'dash-a',
      args: ['--capacity', '4', '--meta', `note=${HOSTILE_META}`],
    });

    const { chromium } = await import('playwright-core');
    // --user-data-dir is given the playwright way: a fresh profile directory per run.
    const context = await chromium.launchPersistentContext(path.join(env.tmp.path, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: WAIT_MS,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
      });

      const response = await page.goto(`${router.adminUrl}/`, { timeout: WAIT_MS });
      assert.equal(response?.status(), 200);
      assert.match((await response?.headerValue('content-security-policy')) ?? '', /script-src 'sha256-/);

      // The workers table.
      const row = '#workers tbody tr[data-worker-id="dash-a"]';
      await page.waitForSelector(row, { timeout: WAIT_MS });
      const cells = await page.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent ?? ''));
      assert.deepEqual(cells.slice(0, 6), ['dash-a', 'default', 'ready', '4', '4', '0']);
      assert.ok(cells[8]!.includes(`note=${HOSTILE_META}`), `meta shown as text: ${cells[8]}`);
      assert.equal(await page.$('#injected'), null, 'worker-supplied markup must not become an element');
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: WAIT_MS });

      // The charts before and after traffic.
      const requestsShown = (): Promise<number> => page.$eval('#rate-chart', (svg) => Number((svg as SVGElement).dataset['requests'] ?? 0));
      assert.equal(await requestsShown(), 0, 'no request yet');
      const responses = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => httpRequest(`${router.httpUrl}/dash-${i}`)));
      for (const r of responses) assert.equal(r.status, 200);

      await page.waitForFunction(
        (n) => {
          const svg = document.getElementById('rate-chart') as SVGElement | null;
          const line = document.getElementById('rate-line');
          return Number(svg?.dataset['requests'] ?? 0) >= n && (line?.getAttribute('d') ?? '').includes('L');
        },
        REQUESTS,
        { timeout: WAIT_MS },
      );
      assert.equal(await requestsShown(), REQUESTS, 'the rate chart counts exactly the requests sent');
      await page.waitForFunction(() => Number((document.getElementById('latency-chart') as SVGElement | null)?.dataset['points'] ?? 0) >= 1, null, {
        timeout: WAIT_MS,
      });
      const p50Path = (await page.getAttribute('#p50-line', 'd')) ?? '';
      const p99Path = (await page.getAttribute('#p99-line', 'd')) ?? '';
      assert.match(p50Path, /^M[\d.]+,[\d.]+/, `p50 line drawn: ${p50Path}`);
      assert.match(p99Path, /^M[\d.]+,[\d.]+/, `p99 line drawn: ${p99Path}`);
      // The tiles summarise the last minute.
      const p50Tile = (await page.textContent('#tile-p50')) ?? '';
      assert.match(p50Tile, /^[\d.]+ (µs|ms|s)$/, `p50 tile: ${p50Tile}`);
      assert.equal(await page.textContent('#tile-workers'), '1 / 0');

      assert.deepEqual(problems, [], 'the page ran without errors or CSP violations');
    } finally {
      await context.close();
    }
  });
});
