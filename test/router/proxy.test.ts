/**
 * HTTP through the router to a real ZeroMQ peer: method, path, headers both ways, proxy headers,
 * X-Request-Id, hop-by-hop stripping, request bodies streamed under the worker's window, responses
 * streamed before FIN, 413 and 431.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, test } from 'node:test';
import { request } from 'undici';
import type { HeaderList } from '../../proto/src/index.ts';
import { startHarness, type Harness } from './harness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function header(list: HeaderList, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) out.push(list[i + 1]!);
  return out;
}

test('GET: request head, proxy headers and hop-by-hop stripping toward the worker; response headers back', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  // Raw HTTP/1.1: clients like undici refuse to send hop-by-hop headers themselves.
  const { hostname, port } = new URL(harness.router.httpUrl);
  const socket = connect(Number(port), hostname);
  socket.setEncoding('latin1');
  let raw = '';
  socket.on('data', (d: string) => (raw += d));
  const responded = new Promise<void>((resolve, reject) => {
    socket.on('data', () => {
      if (/\r\n\r\nhello$/.test(raw)) resolve();
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`no complete response in 5 s: ${JSON.stringify(raw)}`)), 5000).unref();
  });
  socket.write(
    `GET /items/7?q=a%20b HTTP/1.1\r\nHost: ${hostname}:${port}\r\nX-Custom: one\r\nX-Forwarded-For: 10.0.0.1\r\n` +
      'X-Forwarded-Proto: https-spoofed\r\nConnection: keep-alive, X-Drop-Me\r\nX-Drop-Me: secret\r\nKeep-Alive: timeout=5\r\n' +
      'Proxy-Authorization: Basic abc\r\nTE: trailers\r\nX-Request-Id: client-id-123\r\n\r\n',
  );
  const req = await w.next('REQ');
  assert.equal(req.method, 'GET');
  assert.equal(req.path, '/items/7?q=a%20b');
  assert.equal(req.scheme, 'http');
  assert.equal(req.authority, new URL(harness.router.httpUrl).host);
  assert.equal(req.remote, '127.0.0.1');
  assert.equal(req.fin, true);
  assert.equal(req.body.length, 0);
  assert.equal(req.requestId, 'client-id-123');
  assert.ok(req.timeoutMs > 0);
  assert.deepEqual(header(req.headers, 'x-custom'), ['one']);
  assert.deepEqual(header(req.headers, 'x-forwarded-for'), ['10.0.0.1, 127.0.0.1']);
  assert.deepEqual(header(req.headers, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(header(req.headers, 'x-forwarded-host'), [req.authority]);
  assert.deepEqual(header(req.headers, 'x-request-id'), ['client-id-123']);
  for (const hop of ['connection', 'keep-alive', 'x-drop-me', 'proxy-authorization', 'te', 'transfer-encoding']) {
    assert.deepEqual(header(req.headers, hop), [], `${hop} must not reach the worker`);
  }
  for (let i = 0; i < req.headers.length; i += 2) assert.equal(req.headers[i], req.headers[i]!.toLowerCase());

  await w.send({
    type: 'RES',
    stream: req.stream,
    seq: 0,
    status: 203,
    headers: ['content-type', 'text/plain', 'content-length', '5', 'x-from-worker', 'yes', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'connection', 'x-secret', 'x-secret', 'no', 'upgrade', 'h2c', 'x-request-id', 'forged'],
    fin: true,
    body: Buffer.from('hello'),
  });
  try {
    await responded;
  } finally {
    socket.destroy();
  }
  const [head] = raw.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  assert.equal(lines[0], 'HTTP/1.1 203 Non-Authoritative Information');
  const got = (name: string) => lines.slice(1).filter((l) => l.toLowerCase().startsWith(name + ':')).map((l) => l.slice(name.length + 1).trim());
  assert.deepEqual(got('x-from-worker'), ['yes']);
  assert.deepEqual(got('content-type'), ['text/plain']);
  assert.deepEqual(got('set-cookie'), ['a=1', 'b=2']);
  assert.deepEqual(got('x-secret'), []);
  assert.deepEqual(got('upgrade'), []);
  assert.deepEqual(got('x-request-id'), ['client-id-123']);
});

test('an invalid incoming X-Request-Id is replaced by a generated one, returned to the client', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const pending = request(harness.url('/'), { headers: { 'x-request-id': 'x'.repeat(201) } });
  const req = await w.next('REQ');
  assert.notEqual(req.requestId, 'x'.repeat(201));
  assert.match(req.requestId, /^[A-Za-z0-9_-]{21}$/);
  assert.deepEqual(header(req.headers, 'x-request-id'), [req.requestId]);
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 204, headers: [], fin: true, body: Buffer.alloc(0) });
  const res = await pending;
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['x-request-id'], req.requestId);
  await res.body.dump();
});

test('POST body is streamed in DATA frames never beyond the window the worker granted', async () => {
  harness = await startHarness();
  const windowSize = 4096;
  const w = await harness.worker({ window: windowSize });
  const body = Buffer.alloc(50_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 251;
  const pending = request(harness.url('/upload'), { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
  const req = await w.next('REQ');
  assert.equal(req.method, 'POST');
  assert.deepEqual(header(req.headers, 'content-length'), ['50000']);
  const parts: Buffer[] = [req.body];
  let received = req.body.length;
  let granted = windowSize;
  let seq = 0;
  let windowSeq = 0;
  let fin = req.fin;
  while (!fin) {
    const data = await w.next('DATA');
    assert.equal(data.stream, req.stream);
    assert.equal(data.seq, ++seq);
    received += data.body.length;
    parts.push(data.body);
    assert.ok(received <= granted, `router sent ${received} bytes with only ${granted} granted`);
    fin = data.fin;
    // Grant more only when the window is used up, so any overrun would be seen above.
    if (received === granted && !fin) {
      granted += windowSize;
      await w.send({ type: 'WINDOW', stream: req.stream, seq: windowSeq++, increment: windowSize });
    }
  }
  assert.equal(received, body.length);
  assert.ok(Buffer.concat(parts).equals(body));
  await w.send({ type: 'RES', stream: req.stream, seq: windowSeq, status: 200, headers: [], fin: true, body: Buffer.from('stored') });
  const res = await pending;
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'stored');
});

test('a request body without content-type (chunked) streams too', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  async function* chunks() {
    yield Buffer.from('part-1;');
    yield Buffer.from('part-2');
  }
  const pending = request(harness.url('/chunked'), { method: 'PUT', body: Readable.from(chunks()) });
  const req = await w.next('REQ');
  const parts = [req.body];
  let fin = req.fin;
  while (!fin) {
    const data = await w.next('DATA');
    parts.push(data.body);
    fin = data.fin;
  }
  assert.equal(Buffer.concat(parts).toString(), 'part-1;part-2');
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.alloc(0) });
  const res = await pending;
  assert.equal(res.statusCode, 200);
  await res.body.dump();
});

test('the response is streamed: the client reads the first bytes before the worker sends FIN', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const res = request(harness.url('/stream'));
  const req = await w.next('REQ');
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: ['content-type', 'text/event-stream'], fin: false, body: Buffer.alloc(0) });
  const response = await res;
  assert.equal(response.statusCode, 200);
  await w.send({ type: 'DATA', stream: req.stream, seq: 1, fin: false, body: Buffer.from('first;') });
  const iterator = response.body[Symbol.asyncIterator]();
  const first = await iterator.next();
  assert.equal(Buffer.from(first.value as Buffer).toString(), 'first;');
  await w.send({ type: 'DATA', stream: req.stream, seq: 2, fin: true, body: Buffer.from('last') });
  let rest = '';
  for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest += Buffer.from(r.value as Buffer).toString();
  assert.equal(rest, 'last');
});

test('a response larger than the window needs WINDOW grants from the router as the client reads', async () => {
  harness = await startHarness({ window: 65536 });
  const w = await harness.worker();
  const pending = request(harness.url('/big'));
  const req = await w.next('REQ');
  const total = 1024 * 1024;
  const chunk = Buffer.alloc(16384, 0x61);
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: ['content-length', String(total)], fin: false, body: Buffer.alloc(0) });
  let sent = 0;
  let allowed = 65536;
  let seq = 1;
  let windowSeq = 0;
  const res = await pending;
  const reading = res.body.arrayBuffer();
  while (sent < total) {
    while (sent >= allowed) {
      const grant = await w.next('WINDOW');
      assert.equal(grant.stream, req.stream);
      assert.equal(grant.seq, ++windowSeq, 'WINDOW shares the router→worker seq after REQ');
      assert.ok(grant.increment >= 65536 / 4);
      allowed += grant.increment;
    }
    const n = Math.min(chunk.length, allowed - sent, total - sent);
    sent += n;
    await w.send({ type: 'DATA', stream: req.stream, seq: seq++, fin: sent === total, body: chunk.subarray(0, n) });
  }
  const body = Buffer.from(await reading);
  assert.equal(body.length, total);
});

test('a declared body above --max-body-size gets 413 before any worker sees it; a streamed one is cut at the limit', async () => {
  harness = await startHarness({ maxBodySize: 1000 });
  const w = await harness.worker();
  const res = await request(harness.url('/too-big'), { method: 'POST', body: Buffer.alloc(1001) });
  assert.equal(res.statusCode, 413);
  assert.equal(((await res.body.json()) as { error: string }).error, 'ZP_ERR_BODY_TOO_LARGE');

  async function* endless() {
    for (let i = 0; i < 100; i++) yield Buffer.alloc(100);
  }
  const pending = request(harness.url('/too-big-chunked'), { method: 'POST', body: Readable.from(endless()) });
  const req = await w.next('REQ');
  const rst = await w.next('RST', 3000, (m) => m.stream === req.stream);
  assert.equal(rst.code, 'cancel');
  const res2 = await pending.catch((err: Error) => err);
  if (!(res2 instanceof Error)) {
    assert.equal(res2.statusCode, 413);
    await res2.body.dump().catch(() => undefined);
  }
});

test('request headers above --max-header-size get 431', async () => {
  harness = await startHarness({ maxHeaderSize: 2048 });
  const { host, port } = new URL(harness.router.httpUrl);
  const socket = connect(Number(port), host.split(':')[0]);
  const reply = await new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`);
  });
  socket.destroy();
  assert.match(reply, /^HTTP\/1\.1 431 /);
});

test('a whole response in one RES gets a content-length instead of chunked encoding; a streamed one does not', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const whole = request(harness.router.httpUrl + '/whole');
  const req1 = await w.next('REQ');
  await w.send({ type: 'RES', stream: req1.stream, seq: 0, status: 200, headers: ['content-type', 'text/plain'], fin: true, body: Buffer.from('complete') });
  const r1 = await whole;
  assert.equal(r1.headers['content-length'], '8');
  assert.equal(r1.headers['transfer-encoding'], undefined);
  assert.equal(await r1.body.text(), 'complete');

  const streamed = request(harness.router.httpUrl + '/streamed');
  const req2 = await w.next('REQ');
  await w.send({ type: 'RES', stream: req2.stream, seq: 0, status: 200, headers: ['content-type', 'text/plain'], fin: false, body: Buffer.from('part') });
  await w.send({ type: 'DATA', stream: req2.stream, seq: 1, fin: true, body: Buffer.from('-rest') });
  const r2 = await streamed;
  assert.equal(r2.headers['content-length'], undefined);
  assert.equal(r2.headers['transfer-encoding'], 'chunked');
  assert.equal(await r2.body.text(), 'part-rest');
});
