/**
 * WebSocket passthrough of the --forward bridge: a real `ws` WebSocketServer backend on 127.0.0.1:0,
 * the bridge run by a real worker, driven by a real ZeroMQ ROUTER acting as the router. Covers echo
 * of text and binary, subprotocol choice, forwarded headers, a refusal relayed as is, an unreachable
 * backend (502), close codes both ways, an abnormal backend end (1011) and a reset stream.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { createBridge, createWorker } from '../../worker-sdk/src/index.ts';
import { captureLogger, deferred, FakeRouter, header, readResponse, type Deferred } from './fake-router.ts';
import { FakeWsClient } from './fake-ws-client.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Backend {
  url: string;
  /** The handshake request and server-side socket of each connection, in order. */
  connections: { request: IncomingMessage; socket: WebSocket; closed: Deferred<[number, string]> }[];
  connected: Deferred<void>;
}

/** An echo backend: text comes back prefixed, binary as is; /refuse answers 403, /chat picks "chat". */
async function startBackend(): Promise<Backend> {
  const backend: Backend = { url: '', connections: [], connected: deferred() };
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false),
    verifyClient: (info, cb) => {
      if (info.req.url === '/refuse') cb(false, 403, 'Forbidden', { 'x-why': 'no entry' });
      else cb(true);
    },
  });
  await once(wss, 'listening');
  backend.url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  wss.on('connection', (socket, request) => {
    const closed = deferred<[number, string]>();
    socket.on('close', (code, reason) => closed.resolve([code, reason.toString()]));
    socket.on('message', (data, isBinary) => {
      if (isBinary) socket.send(data, { binary: true });
      else if (data.toString() === 'close-me') socket.close(4001, 'backend says bye');
      else if (data.toString() === 'kill-me') socket.terminate();
      else socket.send(`echo: ${data.toString()}`);
    });
    backend.connections.push({ request, socket, closed });
    backend.connected.resolve();
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  return backend;
}

async function setup(target: string): Promise<{ router: FakeRouter; id: string; client: FakeWsClient }> {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const { logger } = captureLogger();
  const bridge = createBridge({ target, connections: 4, logger, webSocketHandshakeTimeoutMs: 5000 });
  cleanups.push(() => bridge.close());
  const id = `w-${Math.random().toString(36).slice(2)}`;
  const worker = createWorker({ connect: router.endpoint, onStream: bridge.onStream, id, handleSignals: false, logger, drainTimeoutMs: 200 });
  cleanups.push(() => worker.close());
  await router.welcome({ heartbeatMs: 60000 });
  await worker.ready;
  return { router, id, client: new FakeWsClient(router, id, 1) };
}

test('bridge: handshake with subprotocol and forwarded headers; text and binary echo', async () => {
  const backend = await startBackend();
  const { router, client } = await setup(backend.url);
  await client.open({ path: '/chat?room=1', headers: ['host', 'app.test', 'origin', 'http://app.test', 'cookie', 'a=1', 'x-request-id', 'r-1', 'sec-websocket-protocol', 'other, chat'] });
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.status, 101);
  assert.equal(header(res.headers, 'sec-websocket-protocol'), 'chat');
  const seen = backend.connections[0]!.request;
  assert.equal(seen.url, '/chat?room=1');
  assert.equal(seen.headers['host'], 'app.test');
  assert.equal(seen.headers['origin'], 'http://app.test');
  assert.equal(seen.headers['cookie'], 'a=1');
  assert.equal(seen.headers['x-request-id'], 'r-1');
  assert.equal(seen.headers['sec-websocket-protocol'], 'other,chat');
  assert.equal(seen.headers['sec-websocket-extensions'], undefined, 'permessage-deflate is off');
  await client.data('text', 'hello');
  assert.deepEqual(await client.readMessage(), { op: 'text', data: Buffer.from('echo: hello'), fragments: [11] });
  const bin = Buffer.from([0, 255, 1, 254]);
  await client.data('binary', bin);
  const back = await client.readMessage();
  assert.equal(back.op, 'binary');
  assert.deepEqual(back.data, bin);
});

test('bridge: a fragmented message from the router reaches the backend whole', async () => {
  const backend = await startBackend();
  const { router, client } = await setup(backend.url);
  await client.open();
  await router.next('RES');
  await client.data('text', 'frag', false);
  await client.data('text', 'mented', true);
  assert.equal((await client.readMessage()).data.toString(), 'echo: fragmented');
});

test('bridge: a backend refusal (403) is relayed as an HTTP response', async () => {
  const backend = await startBackend();
  const { router, client } = await setup(backend.url);
  await client.open({ path: '/refuse' });
  const res = await readResponse(router, 1);
  assert.equal(res.status, 403);
  assert.equal(header(res.headers, 'x-why'), 'no entry');
  assert.equal(header(res.headers, 'connection'), undefined, 'hop-by-hop fields are dropped');
  assert.equal((await router.next('CREDIT')).credit, 1);
});

test('bridge: backend down → RST refused (the router may try another worker)', async () => {
  // A port that was just free: bind, note it, close.
  const probe: Server = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const { router, client } = await setup(`http://127.0.0.1:${port}`);
  await client.open();
  const rst = await router.next('RST', (m) => m.stream === 1);
  assert.equal(rst.code, 'refused');
  assert.equal(router.pending('RES').length, 0, 'no 502 (and no backend address) for the client');
});

test('bridge: router close → backend gets the code; backend close → router gets the code', async () => {
  const backend = await startBackend();
  const { router, client } = await setup(backend.url);
  await client.open();
  await router.next('RES');
  await client.close(4002, 'client done');
  assert.deepEqual(await backend.connections[0]!.closed.promise, [4002, 'client done']);
  assert.equal((await client.readClose()).code, 4002, 'the SDK echoes the close');
  assert.equal((await router.next('CREDIT')).credit, 1);

  const second = new FakeWsClient(router, client.workerId, 2);
  await second.open();
  await router.next('RES', (m) => m.stream === 2);
  await second.data('text', 'close-me');
  assert.deepEqual(await second.readClose(), { code: 4001, reason: 'backend says bye', skipped: 0 });
  await second.close(4001);
  assert.equal((await router.next('CREDIT')).credit, 1);
});

test('bridge: a backend that drops the connection → close 1011; a reset stream ends the backend connection', async () => {
  const backend = await startBackend();
  const { router, id, client } = await setup(backend.url);
  await client.open();
  await router.next('RES');
  await client.data('text', 'kill-me');
  const c = await client.readClose();
  assert.equal(c.code, 1011);

  const second = new FakeWsClient(router, client.workerId, 2);
  await second.open();
  await router.next('RES', (m) => m.stream === 2);
  await router.send(id, { type: 'RST', stream: 2, code: 'cancel', message: 'client gone' });
  const [code] = await backend.connections[1]!.closed.promise;
  assert.equal(code, 1006, 'terminated without a close handshake');
});
