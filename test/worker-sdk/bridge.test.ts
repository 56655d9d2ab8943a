/**
 * The --forward bridge against a real node:http backend, driven by a real ZeroMQ ROUTER acting as
 * the router that honours both windows: status, headers, hop-by-hop stripping, byte-exact streaming
 * both ways, 502 when the backend is unreachable.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, test } from 'node:test';
import { createBridge, createWorker } from '../../worker-sdk/src/index.ts';
import type { Req } from '../../proto/src/index.ts';
import { captureLogger, deferred, FakeRouter, header, req, type Deferred } from './fake-router.ts';

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
async function startBackend(): Promise<{ url: string; seen: Seen[]; hang: { arrived: Deferred<void>; closed: Deferred<void> }; sse: { next: Deferred<void> } }> {
  const seen: Seen[] = [];
  const hang = { arrived: deferred(), closed: deferred() };
  const sse = { next: deferred() };
  const server: Server = createServer((request, response) => {
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
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, hang, sse };
}

async function startBridgeWorker(target: string, routerWindow: number, workerWindow: number): Promise<{ router: FakeRouter; id: string }> {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const logs = captureLogger();
  const bridge = createBridge({ target, connections: 4, logger: logs.logger });
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

test('bridge: an unreachable backend gives 502 with a clear body', async () => {
  // A port that was just free: nothing listens on it.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const windows = { router: 65536, worker: 65536 };
  const { router, id } = await startBridgeWorker(`http://127.0.0.1:${port}`, windows.router, windows.worker);
  const res = await exchange(router, id, { method: 'GET', path: '/', headers: ['host', 'front.test'] }, Buffer.alloc(0), windows);
  assert.equal(res.status, 502);
  assert.match(res.body.toString(), /bad gateway: backend http:\/\/127\.0\.0\.1:\d+ failed: ECONNREFUSED/);
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
