/**
 * Issue 11 item 10: the admin endpoint (worker ids, pools, HELLO meta such as a bridge's backend URL,
 * rates) had no authentication and answered any Host, so a DNS-rebinding page could read it through
 * an operator's browser. Now: Host must be a loopback name or the endpoint's own address (421
 * otherwise, on every route); with --admin-token (or ZEROPROXY_ADMIN_TOKEN) the data routes need
 * `Authorization: Bearer` (401 otherwise); /healthz, /readyz and the static page stay open; a
 * Prometheus scrape with the bearer token works; the dashboard takes the token from `#token=`.
 * Real router processes, loopback only.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, before } from 'node:test';
import { httpRequest, rawHttpExchange, runToExit, START_TIMEOUT_MS, startWorker, useTestEnvironment, type RawHttpResponse } from '../helpers/index.ts';
import { startAdminRouter, type AdminRouterProcess } from '../admin/admin-helpers.ts';
import { parseExposition } from '../admin/prometheus-text.ts';

const TOKEN = 'test-admin-token-5f2c9a81d0e34b7c';
const WAIT_MS = 30_000;
const BACKEND_URL = 'http://10.20.30.40:8080/internal';
const DATA_ROUTES = ['/workers', '/metrics', '/stats'];
const OPEN_ROUTES = ['/healthz', '/readyz', '/'];

function port(url: string): number {
  return Number(new URL(url).port);
}

/** A request with exactly the Host (and headers) given, as a rebinding browser would send it. */
async function raw(adminUrl: string, target: string, host: string, headers: Record<string, string> = {}): Promise<RawHttpResponse & { status: number }> {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const res = await rawHttpExchange('127.0.0.1', port(adminUrl), `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
  return { ...res, status: Number(res.statusLine.split(' ')[1]) };
}

describe('admin endpoint: Host check and bearer token', () => {
  const env = useTestEnvironment();
  let router: AdminRouterProcess;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    router = await startAdminRouter(env.group, { bind: env.tmp.ipc('admin-access.sock'), args: ['--admin-token', TOKEN] });
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'echo', id: 'secret-worker-id', args: ['--meta', `forward=${BACKEND_URL}`] });
  });

  it('a foreign Host (DNS rebinding) gets 421 on every route and no data, even with the token', async () => {
    const p = port(router.adminUrl);
    for (const host of [`attacker.example:${p}`, 'attacker.example', `127.0.0.1.attacker.example:${p}`, `localhost.attacker.example:${p}`]) {
      for (const route of [...DATA_ROUTES, ...OPEN_ROUTES]) {
        const res = await raw(router.adminUrl, route, host, auth);
        assert.equal(res.status, 421, `${route} with Host ${host}: ${res.statusLine}`);
        const body = res.body.toString();
        assert.match(body, /misdirected request/);
        assert.ok(!body.includes('secret-worker-id') && !body.includes('10.20.30.40'), `${route}: ${body}`);
      }
    }
  });

  it('loopback names and the bound address are answered', async () => {
    const p = port(router.adminUrl);
    for (const host of [`127.0.0.1:${p}`, `localhost:${p}`, `[::1]:${p}`, 'LOCALHOST', 'localhost.']) {
      const res = await raw(router.adminUrl, '/workers', host, auth);
      assert.equal(res.status, 200, `Host ${host}: ${res.statusLine}`);
      assert.match(res.body.toString(), /secret-worker-id/);
    }
  });

  it('without the right token the data routes answer 401 with WWW-Authenticate and no data', async () => {
    for (const route of DATA_ROUTES) {
      for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: TOKEN }, { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }] as Record<string, string>[]) {
        const res = await httpRequest(`${router.adminUrl}${route}`, { headers });
        assert.equal(res.status, 401, `${route} ${JSON.stringify(headers)}`);
        assert.match(String(res.headers['www-authenticate']), /^Bearer /);
        const body = res.body.toString();
        assert.ok(!body.includes('secret-worker-id') && !body.includes('10.20.30.40'), `${route}: ${body}`);
      }
    }
  });

  it('/healthz, /readyz and the static dashboard page need no token; with it the data routes answer', async () => {
    for (const route of OPEN_ROUTES) {
      const res = await httpRequest(`${router.adminUrl}${route}`);
      assert.equal(res.status, 200, route);
      assert.ok(!res.body.toString().includes('secret-worker-id'), `${route} shows no worker data`);
    }
    const workers = await httpRequest(`${router.adminUrl}/workers`, { headers: auth });
    assert.equal(workers.status, 200);
    assert.match(workers.body.toString(), /secret-worker-id/);
  });

  it('a Prometheus scrape with the bearer token gets the exposition', async () => {
    const res = await httpRequest(`${router.adminUrl}/metrics`, { headers: { ...auth, accept: 'text/plain;version=0.0.4' } });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain.*version=0\.0\.4/);
    const exposition = parseExposition(res.body.toString());
    assert.ok(exposition.samples.length > 0);
  });
});

describe('admin token from the environment, and bad tokens', () => {
  const env = useTestEnvironment();

  it('ZEROPROXY_ADMIN_TOKEN is used and never appears in the process arguments', async () => {
    const proc = env.group.spawnZeroproxy('router-env', ['router', '--http', '127.0.0.1:0', '--bind', env.tmp.ipc('admin-env.sock'), '--admin', '127.0.0.1:0'], {
      env: { ZEROPROXY_ADMIN_TOKEN: TOKEN },
    });
    const line = await proc.waitForLog((l) => l.msg === 'router listening', START_TIMEOUT_MS, '"router listening"');
    const adminUrl = String(line['admin']);
    assert.equal((await httpRequest(`${adminUrl}/workers`)).status, 401);
    assert.equal((await httpRequest(`${adminUrl}/workers`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes(TOKEN), 'the token is not in argv');
    // `zeroproxy status` reads the same variable (runToExit's child inherits this environment).
    const without = await runToExit(['status', '--admin', adminUrl], 45_000);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /needs the admin token: set ZEROPROXY_ADMIN_TOKEN/);
    process.env['ZEROPROXY_ADMIN_TOKEN'] = TOKEN;
    const running = runToExit(['status', '--admin', adminUrl], 45_000); // spawned now, with the variable
    delete process.env['ZEROPROXY_ADMIN_TOKEN'];
    const withToken = await running;
    assert.equal(withToken.code, 0, withToken.stderr);
  });

  it('a token shorter than 16 characters is refused at start (exit 2)', async () => {
    const result = await runToExit(['router', '--http', '127.0.0.1:0', '--bind', env.tmp.ipc('admin-short.sock'), '--admin', '127.0.0.1:0', '--admin-token', 'short'], 30_000);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /admin token must be at least 16 characters/);
  });
});

const CHROMIUM = '/usr/bin/chromium';
const noChromium = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;

describe('the dashboard with an admin token', { skip: noChromium }, () => {
  const env = useTestEnvironment();

  it('takes the token from #token=, drops it from the address bar, and shows the workers; without it says a token is needed', async () => {
    const router = await startAdminRouter(env.group, { bind: env.tmp.ipc('admin-dash.sock'), args: ['--admin-token', TOKEN, '--heartbeat', '200'] });
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'echo', id: 'dash-token-worker' });
    const { chromium } = await import('playwright-core');
    const context = await chromium.launchPersistentContext(path.join(env.tmp.path, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: WAIT_MS,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

      await page.goto(`${router.adminUrl}/`, { timeout: WAIT_MS });
      await page.waitForFunction(() => (document.getElementById('status')?.textContent ?? '').startsWith('admin token needed'), null, { timeout: WAIT_MS });
      assert.equal(await page.$('#workers tbody tr'), null, 'no worker shown without the token');

      // A new tab: a fragment-only navigation would not reload the page (and sessionStorage is per tab).
      const tab = await context.newPage();
      tab.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      await tab.goto(`${router.adminUrl}/#token=${TOKEN}`, { timeout: WAIT_MS });
      await tab.waitForSelector('#workers tbody tr[data-worker-id="dash-token-worker"]', { timeout: WAIT_MS });
      await tab.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: WAIT_MS });
      assert.equal(new URL(tab.url()).hash, '', 'the token left the address bar');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
