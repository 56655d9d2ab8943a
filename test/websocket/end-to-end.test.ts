/**
 * WebSocket end to end through the CLI: a spawned router and `zeroproxy worker --handler
 * test/fixtures/ws-echo.ts` (the SDK's upgradeWebSocket). Echo of text, binary and messages larger
 * than a frame; kill -9 of the worker while a client is connected (the client gets close 1011 within
 * the heartbeat bound, and the router goes on serving WebSockets and plain GETs with a new worker);
 * SIGTERM of the worker (its clients get 1001 at once). And the `--forward` bridge: a real `ws`
 * client → router → `zeroproxy worker --forward` → a `ws` WebSocketServer backend, unchanged.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket as BackendSocket } from 'ws';
import { pollUntil, startRouter, startWorker, useTestEnvironment, withTimeout, type ManagedProcess, type RouterProcess } from '../helpers/index.ts';
import { TestClient } from './ws-helpers.ts';
import { getJson, scrape, startAdminRouter } from '../admin/admin-helpers.ts';
import { sumOf } from '../admin/prometheus-text.ts';

/** --heartbeat 200: a dead worker is noticed after 3 silent intervals; this leaves room for a slow CI machine. */
const DEATH_BOUND_MS = 5000;

describe('WebSocket through the CLI router and an SDK worker', () => {
  const env = useTestEnvironment();
  const clients: TestClient[] = [];
  let router: RouterProcess & { adminUrl: string };

  const open = async (protocols: string[] = []): Promise<TestClient> => {
    const c = new TestClient(router.httpUrl.replace(/^http/, 'ws') + '/ws', protocols);
    clients.push(c);
    await c.opened(10_000);
    return c;
  };
  const whoami = async (c: TestClient): Promise<string> => {
    const n = c.messages.length + 1;
    c.ws.send('whoami');
    return (await c.message(n)).data.toString();
  };
  const worker = (id: string): Promise<ManagedProcess> => startWorker(env.group, { connect: router.bindEndpoint, handler: 'ws-echo', id });

  before(async () => {
    router = await startAdminRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--heartbeat', '200', '--queue-timeout', '10000'] });
  });
  after(() => {
    for (const c of clients) c.terminate();
  });

  it('echoes text, binary and a 700 KiB message (fragmented both ways), with the chosen subprotocol', async () => {
    const w = await worker('echo-a');
    const c = await open(['other', 'echo']);
    assert.equal(c.ws.protocol, 'echo');
    c.ws.send('hello');
    assert.deepEqual(await c.message(1), { data: Buffer.from('hello'), isBinary: false });
    c.ws.send(Buffer.from([1, 2, 3]));
    assert.deepEqual(await c.message(2), { data: Buffer.from([1, 2, 3]), isBinary: true });
    const big = Buffer.alloc(700 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    c.ws.send(big);
    const echoed = await c.message(3, 10_000);
    assert.equal(echoed.isBinary, true);
    assert.ok(echoed.data.equals(big), 'the large message comes back byte-exact');
    // The admin endpoint counts it while it is open: /stats (the dashboard's tile) and /metrics.
    assert.equal((await getJson<{ websockets: number }>(`${router.adminUrl}/stats`)).body.websockets, 1);
    assert.equal(sumOf(await scrape(router.adminUrl), 'zeroproxy_websocket_connections'), 1);
    c.ws.close(1000, 'bye');
    assert.deepEqual(await c.closeEvent(), { code: 1000, reason: 'bye' });
    await pollUntil(async () => ((await getJson<{ websockets: number }>(`${router.adminUrl}/stats`)).body.websockets === 0 ? true : undefined), 10_000, 'the WebSocket leaves /stats');
    await w.stop();
  });

  it('kill -9 of the worker: the client gets 1011 within the heartbeat bound; a new worker serves a new WebSocket and a GET', async () => {
    const victim = await worker('victim');
    const c = await open();
    assert.equal(await whoami(c), 'victim');
    victim.signal('SIGKILL');
    const close = await withTimeout(c.closed, DEATH_BOUND_MS, 'close 1011 after the worker died');
    assert.equal(close.code, 1011);

    const fresh = await worker('fresh');
    const again = await open();
    assert.equal(await whoami(again), 'fresh');
    const res = await fetch(router.httpUrl + '/plain');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'plain from fresh\n');
    again.ws.close();
    await again.closeEvent();
    await fresh.stop();
  });

  it('SIGTERM of the worker: its clients get close 1001 right away', async () => {
    const w = await worker('draining');
    const c = await open();
    assert.equal(await whoami(c), 'draining');
    w.signal('SIGTERM');
    const close = await withTimeout(c.closed, 10_000, 'close 1001 from the draining worker');
    assert.equal(close.code, 1001);
    await w.waitForExit(15_000);
  });
});

describe('WebSocket through the CLI router and a --forward bridge to a ws backend', () => {
  const env = useTestEnvironment();
  const clients: TestClient[] = [];
  let router: RouterProcess;
  let backend: WebSocketServer;
  let backendUrl: string;
  const backendSockets: BackendSocket[] = [];
  const backendRequests: { url: string; headers: Record<string, string | string[] | undefined> }[] = [];

  before(async () => {
    // The backend picks "chat" when offered, echoes with a prefix, and closes with 4001 on "bye".
    backend = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false) });
    backend.on('connection', (ws, req) => {
      backendSockets.push(ws);
      backendRequests.push({ url: req.url ?? '', headers: req.headers });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary && data.toString() === 'bye') ws.close(4001, 'backend says bye');
        else ws.send(isBinary ? data : `backend: ${data.toString()}`, { binary: isBinary });
      });
    });
    await once(backend, 'listening');
    backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    router = await startRouter(env.group, { bind: env.tmp.ipc('bridge.sock') });
    await startWorker(env.group, { connect: router.bindEndpoint, forward: backendUrl, id: 'bridge' });
  });
  after(async () => {
    for (const c of clients) c.terminate();
    for (const s of backendSockets) s.terminate();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  it('relays the handshake (path, subprotocol, proxy headers), messages both ways and the backend\'s close code', async () => {
    const c = new TestClient(router.httpUrl.replace(/^http/, 'ws') + '/room/7?x=1', ['chat'], { headers: { origin: 'http://app.test' } });
    clients.push(c);
    await c.opened(10_000);
    assert.equal(c.ws.protocol, 'chat');
    const seen = backendRequests.at(-1)!;
    assert.equal(seen.url, '/room/7?x=1');
    assert.equal(seen.headers['origin'], 'http://app.test');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.match(String(seen.headers['x-request-id']), /^.+$/);

    c.ws.send('hi');
    assert.deepEqual(await c.message(1), { data: Buffer.from('backend: hi'), isBinary: false });
    const big = Buffer.alloc(600 * 1024, 7);
    c.ws.send(big);
    const echoed = await c.message(2, 10_000);
    assert.ok(echoed.isBinary && echoed.data.equals(big), 'a 600 KiB binary message comes back byte-exact');

    c.ws.send('bye');
    assert.deepEqual(await withTimeout(c.closed, 10_000, 'the backend\'s close reaches the client'), { code: 4001, reason: 'backend says bye' });
  });

  it('a client close reaches the backend with its code and reason', async () => {
    const c = new TestClient(router.httpUrl.replace(/^http/, 'ws') + '/room/8', ['chat']);
    clients.push(c);
    await c.opened(10_000);
    const backendSide = backendSockets.at(-1)!;
    const backendClosed = once(backendSide, 'close') as Promise<[number, Buffer]>;
    c.ws.close(4002, 'client leaves');
    const [code, reason] = await withTimeout(backendClosed, 10_000, 'the client\'s close reaches the backend');
    assert.equal(code, 4002);
    assert.equal(reason.toString(), 'client leaves');
  });
});
