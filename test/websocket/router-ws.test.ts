/**
 * WebSocket through the router (ws-wire.md) against a real ZeroMQ peer driven step by step: the
 * REQ (scheme ws, handshake headers stripped, subprotocols offered), the 101, messages both ways
 * with fragmentation and windows, closes both ways, RST, refusals, limits, the pinger, shutdown —
 * and `Upgrade: h2c` (curl --http2) served as plain HTTP/1.1.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, test } from 'node:test';
import { startHarness, type Harness } from '../router/harness.ts';
import { hasCommand, makeSelfSignedCert } from '../frontdoor/clients.ts';
import { withTimeout } from '../helpers/waiting.ts';
import { closeBody, headerValues, TestClient, WorkerSide } from './ws-helpers.ts';

const run = promisify(execFile);
let harness: Harness | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await harness?.close();
  harness = undefined;
});

function wsUrl(h: Harness, p: string): string {
  return h.router.httpUrl.replace(/^http/, 'ws') + p;
}

function client(h: Harness, p = '/chat', protocols: string[] = [], options = {}): TestClient {
  const c = new TestClient(wsUrl(h, p), protocols, options);
  clients.push(c);
  return c;
}

/** A client connected through an accepted stream. */
async function connected(h: Harness, workerOptions = {}): Promise<{ c: TestClient; side: WorkerSide }> {
  const w = await h.worker(workerOptions);
  const c = client(h);
  const side = await WorkerSide.take(w);
  await side.accept();
  await c.opened();
  return { c, side };
}

test('REQ: scheme ws, handshake headers stripped, subprotocols/origin/cookie kept; 101 carries the chosen protocol and extra headers', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const c = client(harness, '/chat?room=1', ['v2.chat', 'v1.chat'], { origin: 'http://example.test', headers: { cookie: 'session=abc', 'x-custom': 'yes' } });
  const side = await WorkerSide.take(w);
  const req = side.req;
  assert.equal(req.scheme, 'ws');
  assert.equal(req.method, 'GET');
  assert.equal(req.path, '/chat?room=1');
  assert.equal(req.fin, true);
  assert.equal(req.body.length, 0);
  for (const gone of ['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']) {
    assert.deepEqual(headerValues(req.headers, gone), [], `${gone} must not reach the worker`);
  }
  assert.deepEqual(headerValues(req.headers, 'sec-websocket-protocol'), ['v2.chat,v1.chat']);
  assert.deepEqual(headerValues(req.headers, 'origin'), ['http://example.test']);
  assert.deepEqual(headerValues(req.headers, 'cookie'), ['session=abc']);
  assert.deepEqual(headerValues(req.headers, 'x-custom'), ['yes']);
  assert.deepEqual(headerValues(req.headers, 'x-forwarded-proto'), ['http']);
  assert.equal(headerValues(req.headers, 'x-request-id').length, 1);

  await side.accept(['sec-websocket-protocol', 'v1.chat', 'set-cookie', 'room=1']);
  const upgrade = await c.opened();
  assert.equal(upgrade.statusCode, 101);
  assert.equal(c.ws.protocol, 'v1.chat');
  assert.equal(upgrade.headers['set-cookie']?.[0], 'room=1');
  assert.equal(upgrade.headers['x-request-id'], req.requestId);
});

test('text and binary both ways; a message over 256 KiB reaches the worker in fragments, fin on the last only', async () => {
  harness = await startHarness();
  const { c, side } = await connected(harness, { window: 4 * 1024 * 1024 });
  c.ws.send('hello');
  const text = await side.next();
  assert.deepEqual([text.op, text.fin, text.body.toString()], ['text', true, 'hello']);
  c.ws.send(Buffer.from([0, 1, 2, 255]));
  const binary = await side.next();
  assert.deepEqual([binary.op, binary.fin, [...binary.body]], ['binary', true, [0, 1, 2, 255]]);

  const big = Buffer.alloc(600 * 1024, 7);
  c.ws.send(big);
  const parts = [await side.next(), await side.next(), await side.next()];
  assert.deepEqual(parts.map((p) => p.body.length), [256 * 1024, 256 * 1024, 88 * 1024]);
  assert.deepEqual(parts.map((p) => p.fin), [false, false, true]);
  assert.ok(parts.every((p) => p.op === 'binary'));
  assert.ok(Buffer.concat(parts.map((p) => p.body)).equals(big));

  await side.data('text', 'wor', false);
  await side.data('text', 'ld', true);
  await side.data('binary', Buffer.from([9, 8]));
  const first = await c.message(1);
  assert.deepEqual([first.data.toString(), first.isBinary], ['world', false]);
  const second = await c.message(2);
  assert.deepEqual([[...second.data], second.isBinary], [[9, 8], true]);
});

test('windows: the router sends no more than the worker granted, stops reading the client, and resumes on WINDOW', async () => {
  harness = await startHarness();
  const window = 64 * 1024;
  const { c, side } = await connected(harness, { window });
  const message = Buffer.alloc(1024 * 1024, 3);
  const count = 24; // 24 MiB: more than the loopback socket buffers hold, so the client must back up
  for (let i = 0; i < count; i++) c.ws.send(message);
  let received = 0;
  while (received < window) received += (await side.next()).body.length;
  assert.equal(received, window, 'exactly one window before any WINDOW');
  assert.ok(c.ws.bufferedAmount > 0, 'the client is backed up while the worker grants nothing');
  const total = count * message.length;
  let fins = 0;
  while (received < total) {
    await side.window(window);
    let got = 0;
    while (got < window && received + got < total) {
      const d = await side.next();
      got += d.body.length;
      if (d.fin) fins++;
    }
    received += got;
  }
  assert.equal(received, total);
  assert.equal(fins, count, 'every message ended once');
  assert.equal(c.ws.bufferedAmount, 0);
});

test('a message larger than the window waits for WINDOW between fragments', async () => {
  harness = await startHarness();
  const { c, side } = await connected(harness, { window: 1024 });
  c.ws.send(Buffer.alloc(3000, 1));
  const first = await side.next();
  assert.deepEqual([first.body.length, first.fin], [1024, false]);
  await side.window(512);
  const second = await side.next();
  assert.deepEqual([second.body.length, second.fin], [512, false]);
  await side.window(4096);
  const last = await side.next();
  assert.deepEqual([last.body.length, last.fin, last.op], [3000 - 1024 - 512, true, 'binary']);
});

test('client close → DATA close with code and reason; the worker echoes and the client sees its code', async () => {
  harness = await startHarness();
  const { c, side } = await connected(harness);
  c.ws.close(4001, 'done here');
  const close = await side.next();
  assert.equal(close.op, 'close');
  assert.equal(close.fin, true);
  assert.equal(close.body.readUInt16BE(0), 4001);
  assert.equal(close.body.subarray(2).toString(), 'done here');
  await side.data('close', closeBody(4001, 'done here'));
  assert.deepEqual(await c.closeEvent(), { code: 4001, reason: 'done here' });
});

test('worker DATA close → the client sees its code and reason; the router echoes the client answer to the worker', async () => {
  harness = await startHarness();
  const { c, side } = await connected(harness);
  await side.data('close', closeBody(4002, 'server says bye'));
  assert.deepEqual(await c.closeEvent(), { code: 4002, reason: 'server says bye' });
  const echo = await side.next();
  assert.equal(echo.op, 'close');
  assert.equal(echo.body.readUInt16BE(0), 4002);
});

test('worker RST after the 101 → client close 1011 with the RST message', async () => {
  harness = await startHarness();
  const { c, side } = await connected(harness);
  await side.rst('handler crashed');
  assert.deepEqual(await c.closeEvent(), { code: 1011, reason: 'handler crashed' });
});

test('worker refusal 403 → the client gets HTTP 403 with its body, and the connection closes', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const c = client(harness);
  const side = await WorkerSide.take(w);
  await side.respond(403, ['content-type', 'text/plain'], 'not you');
  const o = await withTimeout(c.opening, 5000, 'the refusal');
  assert.equal(o.kind, 'refused');
  assert.equal(o.kind === 'refused' && o.status, 403);
  assert.equal(o.kind === 'refused' && o.body, 'not you');
  assert.equal(o.kind === 'refused' && o.headers.connection, 'close');
});

test('a subprotocol the client did not offer → 502 and RST to the worker', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const c = client(harness, '/chat', ['a']);
  const side = await WorkerSide.take(w);
  await side.accept(['sec-websocket-protocol', 'b']);
  const o = await withTimeout(c.opening, 5000, 'the 502');
  assert.equal(o.kind === 'refused' && o.status, 502);
  assert.match(o.kind === 'refused' ? o.body : '', /ZP_ERR_BAD_RESPONSE/);
  assert.equal((await side.nextRst()).code, 'protocol');
});

test('no worker → 503 after the queue timeout', async () => {
  harness = await startHarness({ queueTimeoutMs: 200 });
  const c = client(harness);
  const o = await withTimeout(c.opening, 5000, 'the 503');
  assert.equal(o.kind === 'refused' && o.status, 503);
  assert.match(o.kind === 'refused' ? o.body : '', /ZP_ERR_QUEUE_TIMEOUT/);
});

test('a message over --ws-max-message → the client is closed with 1009 and the worker gets DATA close 1009', async () => {
  harness = await startHarness({ wsMaxMessage: 1000 });
  const { c, side } = await connected(harness);
  c.ws.send(Buffer.alloc(1001));
  assert.equal((await c.closeEvent()).code, 1009);
  const close = await side.next();
  assert.equal(close.op, 'close');
  assert.equal(close.body.readUInt16BE(0), 1009);
});

test('an invalid handshake → 400 with a JSON error body', async () => {
  harness = await startHarness();
  const { hostname, port } = new URL(harness.router.httpUrl);
  const socket = connect(Number(port), hostname);
  let raw = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (raw += d));
  const ended = new Promise((r) => socket.on('close', r));
  socket.write(`GET /chat HTTP/1.1\r\nHost: ${hostname}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await withTimeout(ended, 5000, 'the 400 and the connection close');
  assert.match(raw, /^HTTP\/1\.1 400 /);
  const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: string };
  assert.equal(body.error, 'ZP_ERR_BAD_REQUEST');
});

test('--request-timeout stops at the 101; the pinger pings clients and their pongs reach the worker', async () => {
  harness = await startHarness({ requestTimeoutMs: 150, wsPingIntervalMs: 100 });
  const { c, side } = await connected(harness);
  for (let i = 0; i < 4; i++) assert.equal((await side.next()).op, 'pong'); // ≥ 300 ms: twice the deadline
  c.ws.send('still here');
  const d = await side.next(3000);
  assert.deepEqual([d.op, d.body.toString()], ['text', 'still here']);
});

test('a worker ping pings the client; a client that never pongs is dropped and its worker gets RST cancel', async () => {
  harness = await startHarness({ wsPingIntervalMs: 100 });
  const w = await harness.worker();
  const c = client(harness, '/chat', [], { autoPong: false });
  const side = await WorkerSide.take(w);
  await side.accept();
  await c.opened();
  await side.data('ping', 'are you there');
  // The pinger's own (empty) pings may come first.
  await withTimeout(
    (async () => {
      for (let i = 1; ; i++) if ((await c.ping(i)).toString() === 'are you there') return;
    })(),
    5000,
    "the worker's ping",
  );
  assert.equal((await side.nextRst()).code, 'cancel');
  assert.equal((await c.closeEvent()).code, 1006);
});

test('client TCP loss without a close frame → RST cancel to the worker', async () => {
  harness = await startHarness();
  const { c, side } = await connected(harness);
  c.terminate();
  assert.equal((await side.nextRst()).code, 'cancel');
});

test('router shutdown: the client gets 1001 and the worker DATA close 1001; the worker echo ends the drain', async () => {
  harness = await startHarness();
  const { c, side } = await connected(harness);
  const closing = harness.router.close();
  const close = await side.next();
  assert.equal(close.op, 'close');
  assert.equal(close.body.readUInt16BE(0), 1001);
  await side.data('close', closeBody(1001));
  assert.equal((await c.closeEvent()).code, 1001);
  await withTimeout(closing, 5000, 'router close');
});

test('Upgrade: h2c (curl --http2) is served as HTTP/1.1: GET, POST and chunked POST with bodies intact', { skip: hasCommand('curl') ? false : 'curl not installed' }, async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const served: { method: string; body: string; upgrade: string[] }[] = [];
  const serving = (async () => {
    for (let i = 0; i < 3; i++) {
      const req = await w.next('REQ', 10000);
      const parts = [req.body];
      for (let fin = req.fin; !fin; ) {
        const d = await w.next('DATA', 5000, (m) => m.stream === req.stream);
        parts.push(d.body);
        fin = d.fin;
      }
      const body = Buffer.concat(parts).toString();
      served.push({ method: req.method, body, upgrade: [...headerValues(req.headers, 'upgrade'), ...headerValues(req.headers, 'http2-settings')] });
      await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: ['content-type', 'text/plain'], fin: true, body: Buffer.from(`${req.method} ${body.length}`) });
    }
  })();
  const payload = 'x'.repeat(100_000);
  const get = await run('curl', ['-sS', '-i', '--http2', harness.url('/a')]);
  const post = await run('curl', ['-sS', '-i', '--http2', '--data-binary', payload, harness.url('/b')], { maxBuffer: 1 << 20 });
  const chunked = await run('curl', ['-sS', '-i', '--http2', '-H', 'Transfer-Encoding: chunked', '--data-binary', payload, harness.url('/c')], { maxBuffer: 1 << 20 });
  await withTimeout(serving, 10000, 'three requests at the worker');
  assert.match(get.stdout, /^HTTP\/1\.1 200 [^]*GET 0$/);
  assert.match(post.stdout, /^HTTP\/1\.1 200 [^]*POST 100000$/);
  assert.match(chunked.stdout, /^HTTP\/1\.1 200 [^]*POST 100000$/);
  assert.deepEqual(served.map((s) => [s.method, s.body.length, s.upgrade.length]), [['GET', 0, 0], ['POST', 100000, 0], ['POST', 100000, 0]]);
  assert.ok(served.slice(1).every((s) => s.body === payload));
});

test('wss: WebSocket over TLS (HTTP/1.1 via ALPN) with scheme wss', { skip: hasCommand('openssl', 'version') ? false : 'openssl not installed' }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'zp-wss-'));
  try {
    const certs = await makeSelfSignedCert(dir);
    harness = await startHarness({ tlsCert: certs.cert, tlsKey: certs.key });
    const w = await harness.worker();
    const c = client(harness, '/secure', [], { ca: certs.certPem });
    const side = await WorkerSide.take(w);
    assert.equal(side.req.scheme, 'wss');
    assert.deepEqual(headerValues(side.req.headers, 'x-forwarded-proto'), ['https']);
    await side.accept();
    await c.opened();
    c.ws.send('over tls');
    assert.equal((await side.next()).body.toString(), 'over tls');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a fan-out route sends a WebSocket to its first target only', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'zp-ws-fanout-'));
  try {
    const config = path.join(dir, 'routes.yaml');
    await writeFile(config, 'routes:\n  - match: { pathPrefix: /par }\n    plugins:\n      - plugin: fanout\n        config: { mode: parallel, targets: [first, second] }\n');
    harness = await startHarness({ configFile: config });
    const second = await harness.worker({ pool: 'second' });
    const first = await harness.worker({ pool: 'first' });
    const c = client(harness, '/par/chat');
    const side = await WorkerSide.take(first);
    await side.accept();
    await c.opened();
    c.ws.send('only here');
    assert.equal((await side.next()).body.toString(), 'only here');
    assert.deepEqual(second.take('REQ'), [], 'the second target never saw the WebSocket');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
