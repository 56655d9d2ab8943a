/**
 * The --forward bridge against a real node:http backend, driven by a real ZeroMQ ROUTER acting as
 * the router that honours both windows: status, headers, hop-by-hop stripping, byte-exact streaming
 * both ways, 502 when the backend is unreachable or refuses the request, a small answer in one
 * message, back-pressure from the router's window to the backend socket, cancellation (also of a
 * request still queued in the pool), a backend failing mid-response, 1xx responses.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, test } from 'node:test';
import { createBridge, createWorker, stripHopByHop } from '../../worker-sdk/src/index.ts';
import { backendRequestHeaders, backendResponseHeaders } from '../../worker-sdk/src/bridge-headers.ts';
import { RELAY_HIGH_WATER_BYTES } from '../../worker-sdk/src/bridge-exchange.ts';
import type { Req } from '../../proto/src/index.ts';
import { captureLogger, deferred, FakeRouter, header, readResponse, req, type Deferred } from './fake-router.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
}

/** A backend that echoes the request body back as it streams in and records what it saw. */
interface Big {
  /** Bytes the backend got into its socket so far. */
  produced: number;
  closed: Deferred<void>;
}

/** A chunk with a position-dependent pattern, so a lost or repeated chunk changes the bytes. */
const BIG_CHUNK = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7 + 3) & 0xff));

async function startBackend(): Promise<{ url: string; seen: Seen[]; hang: { arrived: Deferred<void>; closed: Deferred<void> }; sse: { next: Deferred<void> }; big: Big }> {
  const seen: Seen[] = [];
  const hang = { arrived: deferred(), closed: deferred() };
  const sse = { next: deferred() };
  const big: Big = { produced: 0, closed: deferred() };
  const server: Server = createServer((request, response) => {
    if (request.url === '/big') {
      // 256 MiB as fast as the socket takes it: only the bridge pausing its read can stop it.
      const total = 256 * 1024 * 1024;
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      response.on('close', () => big.closed.resolve());
      const pump = (): void => {
        while (big.produced < total && !response.destroyed) {
          big.produced += BIG_CHUNK.length;
          if (!response.write(BIG_CHUNK)) return void response.once('drain', pump);
        }
        if (big.produced >= total) response.end();
      };
      pump();
      return;
    }
    if (request.url === '/broken') {
      // Head and a first piece, then the connection dies: the response can only end with a reset.
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
      response.write('partial', () => response.socket?.destroy());
      return;
    }
    if (request.url === '/hints') {
      response.writeEarlyHints({ link: '</style.css>; rel=preload' });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('after hints');
      return;
    }
    if (request.url === '/hang') {
      // Never answers: only a cancel from the router side ends it.
      response.on('close', () => hang.closed.resolve());
      hang.arrived.resolve();
      return;
    }
    if (request.url === '/sse') {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: first\n\n');
      void sse.next.promise.then(() => response.end('data: last\n\n'));
      return;
    }
    const record: Seen = { method: request.method!, url: request.url!, headers: request.headers, bodyBytes: 0 };
    seen.push(record);
    response.statusCode = request.url === '/created' ? 201 : 207;
    response.setHeader('x-backend', 'node-http');
    response.setHeader('set-cookie', ['s=1', 't=2']);
    response.setHeader('connection', 'keep-alive, x-resp-hop');
    response.setHeader('x-resp-hop', 'drop me');
    request.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
      response.write(chunk);
    });
    request.on('end', () => response.end(request.method === 'GET' ? 'got it' : ''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  cleanups.push(() => server.closeAllConnections());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, hang, sse, big };
}

async function startBridgeWorker(target: string, routerWindow: number, workerWindow: number, connections = 4): Promise<{ router: FakeRouter; id: string }> {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const logs = captureLogger();
  const bridge = createBridge({ target, connections, logger: logs.logger });
  cleanups.push(() => bridge.close());
  const id = `bridge-${Math.random().toString(36).slice(2)}`;
  const worker = createWorker({ connect: router.endpoint, onStream: bridge.onStream, id, handleSignals: false, logger: logs.logger, window: workerWindow, drainTimeoutMs: 500 });
  cleanups.push(() => worker.close());
  await router.welcome({ window: routerWindow, maxFrame: 65536 });
  await worker.ready;
  return { router, id };
}

/**
 * Plays the router's part of one exchange: sends the request body within the worker's window
 * (waiting for its WINDOW grants) while reading the response and granting the worker window.
 */
async function exchange(router: FakeRouter, id: string, head: Partial<Req>, body: Buffer, windows: { router: number; worker: number }): Promise<{ status: number; headers: string[]; body: Buffer }> {
  const stream = 1;
  let seq = 0;
  const inline = body.subarray(0, Math.min(body.length, windows.worker, 16384));
  await router.send(id, req(stream, { ...head, fin: inline.length === body.length, body: inline, seq: seq++ }));
  const sender = (async () => {
    let offset = inline.length;
    let allowed = windows.worker - inline.length;
    while (offset < body.length) {
      if (allowed === 0) {
        allowed += (await router.next('WINDOW', (m) => m.stream === stream)).increment;
        continue;
      }
      const n = Math.min(body.length - offset, allowed, 16384);
      await router.send(id, { type: 'DATA', stream, seq: seq++, fin: offset + n === body.length, body: body.subarray(offset, offset + n) });
      offset += n;
      allowed -= n;
    }
  })();
  const res = await router.next('RES', (m) => m.stream === stream, 10000);
  const chunks: Buffer[] = [res.body];
  let unacked = res.body.length;
  let fin = res.fin;
  while (!fin) {
    if (unacked >= windows.router / 2) {
      await router.send(id, { type: 'WINDOW', stream, seq: seq++, increment: unacked });
      unacked = 0;
    }
    const d = await router.next('DATA', (m) => m.stream === stream, 10000);
    chunks.push(d.body);
    unacked += d.body.length;
    assert.ok(unacked <= windows.router, `worker sent ${unacked} bytes beyond a ${windows.router}-byte window`);
    fin = d.fin;
  }
  await sender;
  return { status: res.status, headers: res.headers, body: Buffer.concat(chunks) };
}

test('bridge: a 1 MiB POST streams to the backend and back byte-exact, status and headers pass through', async () => {
  const backend = await startBackend();
  const windows = { router: 65536, worker: 65536 };
  const { router, id } = await startBridgeWorker(backend.url, windows.router, windows.worker);
  const payload = randomBytes(1024 * 1024);
  const res = await exchange(
    router,
    id,
    {
      method: 'POST',
      path: '/upload?x=1',
      authority: 'front.test',
      headers: ['host', 'front.test', 'x-forwarded-for', '203.0.113.9', 'x-forwarded-proto', 'https', 'x-forwarded-host', 'front.test', 'x-request-id', 'rid-9', 'connection', 'keep-alive, x-hop', 'x-hop', 'secret', 'te', 'trailers', 'content-type', 'application/octet-stream'],
    },
    payload,
    windows,
  );
  assert.equal(res.status, 207);
  assert.equal(res.body.length, payload.length);
  assert.equal(createHash('sha256').update(res.body).digest('hex'), createHash('sha256').update(payload).digest('hex'));
  assert.equal(header(res.headers, 'x-backend'), 'node-http');
  const cookies = res.headers.filter((_, i) => i % 2 === 1 && res.headers[i - 1] === 'set-cookie');
  assert.deepEqual(cookies, ['s=1', 't=2']);
  for (const hop of ['connection', 'keep-alive', 'transfer-encoding', 'x-resp-hop']) assert.equal(header(res.headers, hop), undefined, `${hop} stripped`);
  const seen = backend.seen[0]!;
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/upload?x=1');
  assert.equal(seen.bodyBytes, payload.length);
  assert.equal(seen.headers['host'], 'front.test');
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-forwarded-host'], 'front.test');
  assert.equal(seen.headers['x-request-id'], 'rid-9');
  assert.equal(seen.headers['x-hop'], undefined, 'a field named by Connection is not forwarded');
  assert.equal(seen.headers['te'], undefined);
});

test('bridge: GET with a path prefix in the target URL', async () => {
  const backend = await startBackend();
  const windows = { router: 65536, worker: 65536 };
  const { router, id } = await startBridgeWorker(`${backend.url}/api/`, windows.router, windows.worker);
  const res = await exchange(router, id, { method: 'GET', path: '/created', authority: 'front.test', headers: ['host', 'front.test'] }, Buffer.alloc(0), windows);
  assert.equal(res.status, 207);
  assert.equal(res.body.toString(), 'got it');
  assert.equal(backend.seen[0]!.url, '/api/created');
});

test('bridge: an unreachable backend: RST refused (nothing was sent, the router may retry elsewhere), credit back', async () => {
  // A port that was just free: nothing listens on it.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const windows = { router: 65536, worker: 65536 };
  const { router, id } = await startBridgeWorker(`http://127.0.0.1:${port}`, windows.router, windows.worker);
  await router.send(id, req(1, { method: 'POST', path: '/', headers: ['host', 'front.test'] }));
  const rst = await router.next('RST', (m) => m.stream === 1);
  assert.equal(rst.code, 'refused');
  assert.equal(router.pending('RES').length, 0, 'no 502 (and no backend address) for the client');
  assert.equal((await router.next('CREDIT')).credit, 1);
});

test('bridge: a streamed backend response (SSE) reaches the router before the backend finishes', async () => {
  const backend = await startBackend();
  const { router, id } = await startBridgeWorker(backend.url, 65536, 65536);
  await router.send(id, req(1, { path: '/sse', headers: ['host', 'front.test', 'accept', 'text/event-stream'] }));
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.status, 200);
  assert.equal(header(res.headers, 'content-type'), 'text/event-stream');
  const first = res.body.length > 0 ? res : await router.next('DATA', (m) => m.stream === 1);
  assert.equal(first.body.toString(), 'data: first\n\n');
  assert.equal(first.fin, false);
  backend.sse.next.resolve();
  const chunks: Buffer[] = [];
  for (let i = 0; i < 10; i++) {
    const d = await router.next('DATA', (m) => m.stream === 1);
    chunks.push(d.body);
    if (d.fin) break;
  }
  assert.equal(Buffer.concat(chunks).toString(), 'data: last\n\n');
});

test('bridge: RST from the router cancels the backend request', async () => {
  const backend = await startBackend();
  const { router, id } = await startBridgeWorker(backend.url, 65536, 65536);
  await router.send(id, req(1, { path: '/hang', headers: ['host', 'front.test'] }));
  await backend.hang.arrived.promise;
  await router.send(id, { type: 'RST', stream: 1, code: 'cancel', message: 'client went away' });
  await backend.hang.closed.promise;
  assert.equal((await router.next('CREDIT')).credit, 1);
  assert.equal(router.log.filter((r) => r.m.type === 'RST').length, 0, 'RST is never answered with RST');
});

test('bridge: a small complete answer leaves as ONE RES carrying the body and fin', async () => {
  const backend = await startBackend();
  const { router, id } = await startBridgeWorker(backend.url, 65536, 65536);
  await router.send(id, req(1, { path: '/created', headers: ['host', 'front.test'] }));
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.status, 201);
  assert.equal(res.fin, true, 'headers, body and end parsed from one read go out together');
  assert.equal(res.body.toString(), 'got it');
  await router.sync(id, 999);
  assert.equal(router.log.filter((r) => r.m.type === 'DATA' && r.m.stream === 1).length, 0, 'no separate DATA message');
  // The same connection serves the next request (keep-alive), answered the same way.
  await router.send(id, req(3, { path: '/created', headers: ['host', 'front.test'] }));
  const again = await router.next('RES', (m) => m.stream === 3);
  assert.equal(again.fin, true);
  assert.equal(again.body.toString(), 'got it');
});

test('bridge: a backend faster than the router is paused at the window, resumes as window is granted, and RST stops it', async () => {
  const backend = await startBackend();
  const routerWindow = 65536;
  const { router, id } = await startBridgeWorker(backend.url, routerWindow, 65536);
  await router.send(id, req(1, { path: '/big', headers: ['host', 'front.test'] }));
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.status, 200);
  const received: Buffer[] = [res.body];
  let receivedBytes = res.body.length;
  const take = async (): Promise<void> => {
    const d = await router.next('DATA', (m) => m.stream === 1);
    received.push(d.body);
    receivedBytes += d.body.length;
  };
  while (receivedBytes < routerWindow) await take();
  assert.equal(receivedBytes, routerWindow, 'never beyond the window');

  // The backend writes until its socket is full; wait (bounded) until it stops making progress.
  let last = -1;
  let still = 0;
  for (let i = 0; i < 300 && still < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    still = backend.big.produced === last ? still + 1 : 0;
    last = backend.big.produced;
  }
  assert.equal(still, 4, `the backend never stalled (${backend.big.produced} bytes produced)`);
  // Kernel socket buffers hold a few MiB; without the pause the worker would have read all 256 MiB.
  assert.ok(backend.big.produced < 64 * 1024 * 1024, `backend stalled only after ${backend.big.produced} bytes`);

  // Granting window resumes the relay: 4 MiB more arrive, byte-exact.
  const more = 4 * 1024 * 1024;
  let seq = 1;
  while (receivedBytes < routerWindow + more) {
    await router.send(id, { type: 'WINDOW', stream: 1, seq: seq++, increment: routerWindow });
    const target = receivedBytes + routerWindow;
    while (receivedBytes < target) await take();
  }
  const body = Buffer.concat(received);
  for (let offset = 0; offset < body.length; offset += BIG_CHUNK.length) {
    assert.ok(body.subarray(offset, offset + BIG_CHUNK.length).equals(BIG_CHUNK.subarray(0, Math.min(BIG_CHUNK.length, body.length - offset))), `bytes at ${offset}`);
  }
  assert.ok(RELAY_HIGH_WATER_BYTES <= routerWindow * 4, 'the relay buffers at most a few windows');

  // The client goes away: the backend's response is cancelled.
  await router.send(id, { type: 'RST', stream: 1, code: 'cancel', message: 'client went away' });
  await backend.big.closed.promise;
});

test('bridge: a backend dying mid-response resets the stream (internal); the worker keeps serving', async () => {
  const backend = await startBackend();
  const { router, id } = await startBridgeWorker(backend.url, 65536, 65536);
  await router.send(id, req(1, { path: '/broken', headers: ['host', 'front.test'] }));
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.status, 200);
  const rst = await router.next('RST', (m) => m.stream === 1);
  assert.equal(rst.code, 'internal');
  await router.send(id, req(3, { path: '/created', headers: ['host', 'front.test'] }));
  const next = await readResponse(router, 3);
  assert.equal(next.status, 201);
  assert.equal(next.body.toString(), 'got it');
});

test('bridge: 1xx informational responses are not relayed; the final status is', async () => {
  const backend = await startBackend();
  const { router, id } = await startBridgeWorker(backend.url, 65536, 65536);
  await router.send(id, req(1, { path: '/hints', headers: ['host', 'front.test'] }));
  const res = await readResponse(router, 1);
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'after hints');
  assert.equal(router.log.filter((r) => r.m.type === 'RES' && r.m.stream === 1).length, 1);
});

test('bridge: a request undici refuses (bad header value) gets 502; the worker keeps serving', async () => {
  const backend = await startBackend();
  const { router, id } = await startBridgeWorker(backend.url, 65536, 65536);
  await router.send(id, req(1, { path: '/created', headers: ['host', 'front.test', 'x-bad', 'a\r\nx-injected: 1'] }));
  const res = await readResponse(router, 1);
  assert.equal(res.status, 502);
  assert.match(res.body.toString(), /^bad gateway: the backend did not answer \(request req-1\)\n$/, 'no backend address or error detail for the client');
  assert.equal(backend.seen.length, 0, 'nothing reached the backend');
  await router.send(id, req(3, { path: '/created', headers: ['host', 'front.test'] }));
  assert.equal((await readResponse(router, 3)).status, 201);
});

test('bridge: a request reset while queued in the pool never reaches the backend', async () => {
  const backend = await startBackend();
  const { router, id } = await startBridgeWorker(backend.url, 65536, 65536, 1);
  // One connection: /hang holds it, so stream 3 waits in the pool's queue.
  await router.send(id, req(1, { path: '/hang', headers: ['host', 'front.test'] }));
  await backend.hang.arrived.promise;
  await router.send(id, req(3, { path: '/queued', headers: ['host', 'front.test'] }));
  await router.send(id, { type: 'RST', stream: 3, code: 'cancel', message: 'client went away' });
  await router.send(id, { type: 'RST', stream: 1, code: 'cancel', message: 'client went away' });
  await backend.hang.closed.promise;
  // The pool's only connection is free again: a later request is served, the cancelled one never was.
  await router.send(id, req(5, { path: '/later', headers: ['host', 'front.test'] }));
  assert.equal((await readResponse(router, 5)).status, 207);
  assert.deepEqual(backend.seen.map((s) => s.url), ['/later']);
  assert.equal(router.log.filter((r) => r.m.type === 'RES' && r.m.stream === 3).length, 0);
});

test('bridge: a GET that carries a body forwards it (the backend is not left waiting for it)', async () => {
  const backend = await startBackend();
  const windows = { router: 65536, worker: 65536 };
  const { router, id } = await startBridgeWorker(backend.url, windows.router, windows.worker);
  const body = Buffer.from('query in the body');
  const res = await exchange(router, id, { method: 'GET', path: '/search', headers: ['host', 'front.test', 'content-length', String(body.length)] }, body, windows);
  assert.equal(res.status, 207);
  assert.equal(res.body.toString(), 'query in the bodygot it');
  assert.equal(backend.seen[0]!.bodyBytes, body.length);
});

test('bridge headers: request list keeps order and repeats, drops hop-by-hop, Connection-named and pseudo fields, adds Host', () => {
  const list = ['x-a', '1', 'cookie', 'a=1', 'Connection', 'close, X-Hop', 'x-hop', 'h', 'te', 'trailers', ':path', '/', 'cookie', 'b=2', 'Transfer-Encoding', 'chunked'];
  assert.deepEqual(backendRequestHeaders(list, 'front.test:8080'), ['x-a', '1', 'cookie', 'a=1', 'cookie', 'b=2', 'host', 'front.test:8080']);
  assert.deepEqual(backendRequestHeaders(['host', 'given.test', 'x', 'y'], 'authority.test'), ['host', 'given.test', 'x', 'y']);
  assert.deepEqual(backendRequestHeaders([], ''), []);
  assert.deepEqual(stripHopByHop(['Keep-Alive', '5', 'X-Ok', 'v', 'connection', 'x-ok']), []);
});

test('bridge headers: raw response headers become a lower-case list in received order, hop-by-hop dropped', () => {
  const raw = ['Content-Type', 'text/plain', 'Set-Cookie', 's=1', 'Connection', 'keep-alive, X-Private', 'X-Private', 'p', 'Set-Cookie', 't=2', 'Keep-Alive', 'timeout=5', 'X-Latin1', 'caf\u00e9'].map((v) => Buffer.from(v, 'latin1'));
  assert.deepEqual(backendResponseHeaders(raw), ['content-type', 'text/plain', 'set-cookie', 's=1', 'set-cookie', 't=2', 'x-latin1', 'caf\u00e9']);
});
