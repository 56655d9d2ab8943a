/**
 * WebSocket in the worker SDK (ws-wire design) against a real ZeroMQ ROUTER acting as the router:
 * both accept APIs, messages both ways with fragmentation and windows, the close handshake in both
 * directions, RST, the message-size limit, refusal and drain.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, test } from 'node:test';
import {
  createWorker,
  isWebSocketRequest,
  upgradeWebSocket,
  WebSocketStateError,
  WebSocketUpgradeError,
  type FetchHandler,
  type StreamHandler,
  type WebSocketAcceptOptions,
  type Worker,
  type WorkerWebSocket,
} from '../../worker-sdk/src/index.ts';
import { captureLogger, deferred, FakeRouter, header, readResponse, req } from './fake-router.ts';
import { FakeWsClient } from './fake-ws-client.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  router: FakeRouter;
  id: string;
  worker: Worker;
  client: FakeWsClient;
}

async function setup(
  handler: { onStream: StreamHandler } | { handler: FetchHandler },
  opts: { window?: number; routerWindow?: number; maxFrame?: number; drainTimeoutMs?: number } = {},
): Promise<Setup> {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const id = `w-${Math.random().toString(36).slice(2)}`;
  const worker = createWorker({
    connect: router.endpoint,
    ...handler,
    id,
    handleSignals: false,
    logger: captureLogger().logger,
    drainTimeoutMs: opts.drainTimeoutMs ?? 200, // cleanup of a socket left open need not wait long
    window: opts.window ?? 262144,
  });
  cleanups.push(() => worker.close());
  await router.welcome({ window: opts.routerWindow ?? 262144, maxFrame: opts.maxFrame ?? 262144, heartbeatMs: 60000 });
  await worker.ready;
  return { router, id, worker, client: new FakeWsClient(router, id, 1) };
}

/** A low-level handler that accepts and hands the socket to the test. */
function accepting(options: WebSocketAcceptOptions = {}): { onStream: StreamHandler; socket: Promise<WorkerWebSocket> } {
  const socket = deferred<WorkerWebSocket>();
  const onStream: StreamHandler = (s) => {
    socket.resolve(s.acceptWebSocket(options));
  };
  return { onStream, socket: socket.promise };
}

/** A worker that accepts every WebSocket, a client stream opened on it, and the accepted socket. */
async function openAccepted(opts: Parameters<typeof setup>[1] = {}): Promise<Setup & { socket: WorkerWebSocket }> {
  const a = accepting();
  const ready = await setup({ onStream: a.onStream }, opts);
  await ready.client.open();
  await ready.router.next('RES');
  return { ...ready, socket: await a.socket };
}

test('stream.acceptWebSocket: RES 101 with the chosen protocol and headers; text and binary both ways', async () => {
  const a = accepting({ protocol: 'chat', headers: { 'set-cookie': 'sid=1' } });
  const { router, client } = await setup({ onStream: a.onStream });
  await client.open({}, 'superchat, chat');
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.status, 101);
  assert.equal(res.fin, false);
  assert.equal(res.body.length, 0);
  assert.equal(header(res.headers, 'sec-websocket-protocol'), 'chat');
  assert.equal(header(res.headers, 'set-cookie'), 'sid=1');
  const socket = await a.socket;
  assert.equal(socket.protocol, 'chat');
  assert.equal(socket.readyState, 'open');
  socket.on('message', (data: Buffer, isBinary: boolean) => void socket.send(isBinary ? data : `echo: ${data.toString()}`, { binary: isBinary }));
  await client.data('text', 'héllo');
  assert.deepEqual(await client.readMessage(), { op: 'text', data: Buffer.from('echo: héllo'), fragments: [Buffer.byteLength('echo: héllo')] });
  await client.data('binary', Buffer.from([0, 1, 2, 255]));
  const bin = await client.readMessage();
  assert.equal(bin.op, 'binary');
  assert.deepEqual(bin.data, Buffer.from([0, 1, 2, 255]));
});

test('upgradeWebSocket: returning its response sends RES 101, then "open"; the socket echoes', async () => {
  const opened = deferred();
  const seen = deferred<{ isWs: boolean; status: number }>();
  const { router, client } = await setup({
    handler: (request) => {
      const { socket, response } = upgradeWebSocket(request, { protocol: 'v2' });
      seen.resolve({ isWs: isWebSocketRequest(request), status: response.status });
      assert.equal(socket.readyState, 'connecting');
      socket.on('open', () => opened.resolve());
      socket.on('message', (data: Buffer) => void socket.send(data.toString().toUpperCase()));
      // A send before the 101 waits for it instead of failing.
      void socket.send('first');
      return response;
    },
  });
  await client.open({}, 'v1, v2');
  assert.deepEqual(await seen.promise, { isWs: true, status: 101 });
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.status, 101);
  assert.equal(header(res.headers, 'sec-websocket-protocol'), 'v2');
  await opened.promise;
  assert.deepEqual((await client.readMessage()).data.toString(), 'first');
  await client.data('text', 'abc');
  assert.equal((await client.readMessage()).data.toString(), 'ABC');
});

test('upgradeWebSocket on a plain request throws WebSocketUpgradeError; an unoffered protocol too', async () => {
  const errors: unknown[] = [];
  const { router, id, client } = await setup({
    handler: (request) => {
      try {
        upgradeWebSocket(request, { protocol: 'nope' });
      } catch (err) {
        errors.push(err);
      }
      return new Response(isWebSocketRequest(request) ? 'ws' : 'plain');
    },
  });
  await router.send(id, req(2));
  assert.equal((await readResponse(router, 2)).body.toString(), 'plain');
  await client.open({}, 'v1');
  assert.equal((await readResponse(router, 1)).body.toString(), 'ws');
  assert.equal(errors.length, 2);
  assert.ok(errors[0] instanceof WebSocketUpgradeError);
  assert.match((errors[0] as Error).message, /not a WebSocket request/);
  assert.ok(errors[1] instanceof WebSocketUpgradeError);
  assert.match((errors[1] as Error).message, /not offered/);
});

test('refusal: a fetch handler answering 403 sends a normal response; a socket made for it reports close 1006', async () => {
  const closed = deferred<[number, string]>();
  const { router, client } = await setup({
    handler: (request) => {
      const { socket } = upgradeWebSocket(request);
      socket.on('close', (code: number, reason: string) => closed.resolve([code, reason]));
      return new Response('go away', { status: 403 });
    },
  });
  await client.open();
  const res = await readResponse(router, 1);
  assert.equal(res.status, 403);
  assert.equal(res.body.toString(), 'go away');
  const [code] = await closed.promise;
  assert.equal(code, 1006);
  assert.equal((await router.next('CREDIT')).credit, 1);
});

test('incoming fragments are reassembled into one message; fragments are granted back as they arrive', async () => {
  const { router, client, socket } = await openAccepted({ window: 4096 });
  const got = deferred<[Buffer, boolean]>();
  socket.on('message', (data: Buffer, isBinary: boolean) => got.resolve([data, isBinary]));
  // 3 × 3000 bytes: more than the 4096-byte window, so it can only arrive if fragments are granted.
  const parts = [Buffer.alloc(3000, 'a'), Buffer.alloc(3000, 'b'), Buffer.alloc(3000, 'c')];
  await client.data('text', parts[0]!, false);
  const w1 = await router.next('WINDOW', (m) => m.stream === 1);
  assert.equal(w1.increment, 3000);
  await client.data('text', parts[1]!, false);
  await router.next('WINDOW', (m) => m.stream === 1);
  await client.data('text', parts[2]!, true);
  const [data, isBinary] = await got.promise;
  assert.equal(isBinary, false);
  assert.deepEqual(data, Buffer.concat(parts));
});

test('outgoing messages larger than maxFrame are fragmented, fin on the last fragment only', async () => {
  const { router, client, socket } = await openAccepted({ maxFrame: 1024 });
  const payload = Buffer.alloc(3000);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  await socket.send(payload);
  const frames = [await client.nextData(), await client.nextData(), await client.nextData()];
  assert.deepEqual(frames.map((f) => [f.op, f.fin, f.body.length]), [
    ['binary', false, 1024],
    ['binary', false, 1024],
    ['binary', true, 952],
  ]);
  assert.deepEqual(Buffer.concat(frames.map((f) => f.body)), payload);
});

test('send() waits while the router window is exhausted and resumes on WINDOW', async () => {
  const { router, id, client, socket } = await openAccepted({ routerWindow: 1024, maxFrame: 1024 });
  let sent = false;
  const sending = socket.send(Buffer.alloc(3000, 7)).then(() => (sent = true));
  const first = await client.nextData();
  assert.equal(first.body.length, 1024);
  await router.sync(id, 9001);
  assert.equal(router.pending('DATA').filter((d) => d.stream === 1).length, 0, 'nothing beyond the window');
  assert.equal(sent, false, 'send() is still waiting');
  await client.window(4096);
  await sending;
  const rest = [await client.nextData(), await client.nextData()];
  assert.deepEqual(rest.map((d) => [d.body.length, d.fin]), [
    [1024, false],
    [952, true],
  ]);
});

test('slow async iteration: a complete message is granted only when pulled (at most one window held)', async () => {
  const { router, id, client, socket } = await openAccepted({ window: 4096 });
  const it = socket[Symbol.asyncIterator]();
  for (let i = 0; i < 4; i++) await client.data('binary', Buffer.alloc(1024, i));
  await router.sync(id, 9002);
  assert.equal(router.pending('WINDOW').length, 0, 'nothing pulled yet: no window granted');
  const m0 = await it.next();
  assert.equal((m0.value as { data: Buffer }).data[0], 0);
  const w = await router.next('WINDOW', (m) => m.stream === 1);
  assert.equal(w.increment, 1024);
  for (let i = 1; i < 4; i++) assert.equal(((await it.next()).value as { data: Buffer }).data[0], i);
  await client.close(1000, 'bye');
  assert.equal((await it.next()).done, true, 'the iterator ends at close');
});

test('worker closes: DATA close with code and reason, then the router\'s close ends the stream', async () => {
  const { router, client, socket } = await openAccepted();
  const closed = once(socket, 'close');
  socket.close(4000, 'done here');
  assert.equal(socket.readyState, 'closing');
  await assert.rejects(socket.send('late'), WebSocketStateError);
  assert.throws(() => socket.ping(), WebSocketStateError);
  assert.deepEqual(await client.readClose(), { code: 4000, reason: 'done here', skipped: 0 });
  await client.close(4000);
  assert.deepEqual(await closed, [4000, '']);
  assert.equal(socket.readyState, 'closed');
  assert.equal((await router.next('CREDIT')).credit, 1, 'both closes done: the stream is over');
});

test('router closes: the worker echoes the code, emits close once, and the stream ends', async () => {
  const { router, client, socket } = await openAccepted();
  const closes: [number, string][] = [];
  socket.on('close', (code: number, reason: string) => closes.push([code, reason]));
  await client.close(1000, 'client leaves');
  assert.deepEqual(await client.readClose(), { code: 1000, reason: '', skipped: 0 });
  assert.equal((await router.next('CREDIT')).credit, 1);
  assert.deepEqual(closes, [[1000, 'client leaves']]);
  socket.close(); // a no-op now
  assert.deepEqual(closes.length, 1);
});

test('ping and pong: router ping/pong become events; socket.ping() sends DATA ping', async () => {
  const { client, router, socket } = await openAccepted();
  const ping = once(socket, 'ping');
  const pong = once(socket, 'pong');
  await client.data('ping', 'p1');
  await client.data('pong', 'p2');
  assert.equal(((await ping)[0] as Buffer).toString(), 'p1');
  assert.equal(((await pong)[0] as Buffer).toString(), 'p2');
  socket.ping('hi');
  const d = await client.nextData();
  assert.deepEqual([d.op, d.fin, d.body.toString()], ['ping', true, 'hi']);
  assert.throws(() => socket.ping(Buffer.alloc(126)), RangeError);
});

test('RST from the router: close 1006 with the reason; later sends reject with a typed error', async () => {
  const { router, id, client, socket } = await openAccepted();
  const closed = once(socket, 'close');
  await router.send(id, { type: 'RST', stream: 1, code: 'cancel', message: 'client gone' });
  const [code, reason] = (await closed) as [number, string];
  assert.equal(code, 1006);
  assert.match(reason, /client gone/);
  await assert.rejects(socket.send('x'), WebSocketStateError);
  assert.equal((await router.next('CREDIT')).credit, 1);
});

test('an incoming message over maxMessageBytes closes with 1009', async () => {
  const a = accepting({ maxMessageBytes: 1000 });
  const { router, client } = await setup({ onStream: a.onStream });
  await client.open();
  await router.next('RES');
  const socket = await a.socket;
  const messages: Buffer[] = [];
  socket.on('message', (d: Buffer) => messages.push(d));
  await client.data('binary', Buffer.alloc(600), false);
  await client.data('binary', Buffer.alloc(600), true);
  const c = await client.readClose();
  assert.equal(c.code, 1009);
  await client.close(1009);
  assert.deepEqual(await once(socket, 'close'), [1009, '']);
  assert.equal(messages.length, 0);
});

test('DATA without op on a WebSocket stream is a protocol error (RST protocol, close 1006)', async () => {
  const { router, id, client, socket } = await openAccepted();
  const closed = once(socket, 'close');
  await router.send(id, { type: 'DATA', stream: 1, seq: 1, fin: true, body: Buffer.from('x') });
  assert.equal((await router.next('RST', (m) => m.stream === 1)).code, 'protocol');
  assert.equal(((await closed) as [number])[0], 1006);
});

test('drain: worker.close() closes open sockets with 1001 at once and finishes after the router\'s close', async () => {
  const { router, client, worker, socket } = await openAccepted({ drainTimeoutMs: 5000 });
  const closing = worker.close();
  await router.next('DRAIN');
  assert.deepEqual(await client.readClose(), { code: 1001, reason: 'worker draining', skipped: 0 });
  await client.close(1001);
  assert.deepEqual(await once(socket, 'close'), [1001, '']);
  await router.next('BYE');
  await closing;
});

test('examples/websocket-echo.ts: greets, echoes text and binary, picks the "echo" subprotocol', async () => {
  const { default: handler } = await import('../../examples/websocket-echo.ts');
  const { router, client } = await setup({ handler });
  await client.open({}, 'echo');
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.status, 101);
  assert.equal(header(res.headers, 'sec-websocket-protocol'), 'echo');
  assert.match((await client.readMessage()).data.toString(), /^hello from w-/);
  await client.data('text', 'ping?');
  assert.equal((await client.readMessage()).data.toString(), 'echo: ping?');
  await client.data('binary', Buffer.from([9, 8, 7]));
  assert.deepEqual((await client.readMessage()).data, Buffer.from([9, 8, 7]));
});
