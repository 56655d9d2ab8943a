/**
 * Dispatch against real ZeroMQ peers: credit, the wait queue (timeout, full), retry after a worker
 * dies, 502 when a request cannot be replayed, client abort → RST cancel, request deadline → 504.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { request } from 'undici';
import { startHarness, type Harness } from './harness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const EMPTY = Buffer.alloc(0);

test('credit is respected: with capacity 1 the second request waits until CREDIT arrives', async () => {
  harness = await startHarness();
  const w = await harness.worker({ capacity: 1 });
  const first = request(harness.url('/1'));
  const req1 = await w.next('REQ');
  const second = request(harness.url('/2'));
  // The router has the second request and holds it in its queue (were the credit off by one, it
  // would have sent it instead and never queued it): only now does "no REQ" mean anything.
  await harness.waitQueued(1);
  assert.equal(w.take('REQ').length, 0, 'no REQ without credit');
  // Finishing the first request gives no credit back by itself: the second REQ still waits for CREDIT.
  await w.send({ type: 'RES', stream: req1.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('one') });
  const res1 = await first;
  assert.equal(await res1.body.text(), 'one');
  assert.equal(await harness.queued(), 1, 'still queued after the first response');
  assert.equal(w.take('REQ').length, 0, 'no REQ without credit');
  await w.send({ type: 'CREDIT', credit: 1 });
  const req2 = await w.next('REQ');
  assert.equal(req2.path, '/2');
  await w.send({ type: 'RES', stream: req2.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('two') });
  assert.equal(await (await second).body.text(), 'two');
});

test('a request that arrives before any worker waits in the queue and is served when one registers', async () => {
  harness = await startHarness({ queueTimeoutMs: 5000 });
  const pending = request(harness.url('/early'));
  const w = await harness.worker();
  const req = await w.next('REQ');
  assert.equal(req.path, '/early');
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('late worker') });
  assert.equal(await (await pending).body.text(), 'late worker');
});

test('queue timeout gives 503 with Retry-After', async () => {
  harness = await startHarness({ queueTimeoutMs: 200 });
  const started = Date.now();
  const res = await request(harness.url('/nobody'));
  const waited = Date.now() - started;
  assert.equal(res.statusCode, 503);
  assert.ok(res.headers['retry-after'] !== undefined);
  assert.ok(waited >= 150, `answered after ${waited} ms, before the queue timeout`);
  assert.equal(((await res.body.json()) as { error: string }).error, 'ZP_ERR_QUEUE_TIMEOUT');
});

test('a full queue gives 503 at once', async () => {
  harness = await startHarness({ queueSize: 1, queueTimeoutMs: 3000 });
  const waiting = request(harness.url('/waits'));
  const started = Date.now();
  const res = await request(harness.url('/rejected'));
  assert.equal(res.statusCode, 503);
  assert.ok(Date.now() - started < 2000);
  assert.equal(((await res.body.json()) as { error: string }).error, 'ZP_ERR_QUEUE_FULL');
  // The queued one is still served once a worker comes.
  const w = await harness.worker();
  const req = await w.next('REQ');
  assert.equal(req.path, '/waits');
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: true, body: EMPTY });
  assert.equal((await waiting).statusCode, 200);
});

test('a GET whose worker dies mid-request is retried on a second worker', async () => {
  harness = await startHarness({ heartbeatMs: 5000 });
  const doomed = await harness.worker({ capacity: 1 });
  const pending = request(harness.url('/retry-me'));
  const req1 = await doomed.next('REQ');
  const survivor = await harness.worker({ capacity: 1 });
  await doomed.close(); // the connection drops: the router notices without waiting for heartbeats
  const req2 = await survivor.next('REQ', 5000);
  assert.equal(req2.path, '/retry-me');
  assert.equal(req2.requestId, req1.requestId);
  assert.notEqual(req2.stream, req1.stream);
  await survivor.send({ type: 'RES', stream: req2.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('second') });
  const res = await pending;
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'second');
});

test('a POST its worker refused (RST refused) is replayed on another worker from the held body', async () => {
  harness = await startHarness({ replayLimit: 1024 });
  const a = await harness.worker({ capacity: 1 });
  const pending = request(harness.url('/refused'), { method: 'POST', body: 'small body' });
  const req1 = await a.next('REQ');
  const b = await harness.worker({ capacity: 1 });
  await a.send({ type: 'RST', stream: req1.stream, code: 'refused', message: 'draining' });
  const req2 = await b.next('REQ');
  const parts = [req2.body];
  for (let fin = req2.fin; !fin; ) {
    const d = await b.next('DATA');
    parts.push(d.body);
    fin = d.fin;
  }
  assert.equal(Buffer.concat(parts).toString(), 'small body');
  await b.send({ type: 'RES', stream: req2.stream, seq: 0, status: 201, headers: [], fin: true, body: EMPTY });
  assert.equal((await pending).statusCode, 201);
});

test('a POST whose body was not held (above --replay-limit) gets 502 when its worker dies', async () => {
  harness = await startHarness({ replayLimit: 100 });
  const owner = await harness.worker({ capacity: 1 });
  const body = Buffer.alloc(1000, 0x62);
  const pending = request(harness.url('/not-replayable'), { method: 'POST', body });
  const req = await owner.next('REQ');
  // Wait until the whole body reached the worker, so it is known to be over the replay limit.
  let got = req.body.length;
  for (let fin = req.fin, i = 0; !fin && i < 1000; i++) {
    const d = await owner.next('DATA');
    got += d.body.length;
    fin = d.fin;
  }
  assert.equal(got, 1000);
  await harness.worker({ capacity: 1 }); // a healthy worker exists, yet the POST must not be replayed
  await owner.send({ type: 'BYE', reason: 'crash' });
  const res = await pending;
  assert.equal(res.statusCode, 502);
  assert.equal(((await res.body.json()) as { error: string }).error, 'ZP_ERR_WORKER_LOST');
  assert.equal(harness.workers[1]!.take('REQ').length, 0);
});

test('a POST with a held body is not replayed after its worker saw it and died (not idempotent)', async () => {
  harness = await startHarness({ replayLimit: 1024 });
  const owner = await harness.worker({ capacity: 1 });
  const pending = request(harness.url('/seen'), { method: 'POST', body: 'tiny' });
  await owner.next('REQ');
  await harness.worker({ capacity: 1 });
  await owner.send({ type: 'BYE', reason: 'crash' });
  assert.equal((await pending).statusCode, 502);
});

test('a response already started when the worker dies is cut, never ended cleanly', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const pending = request(harness.url('/half'));
  const req = await w.next('REQ');
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: false, body: Buffer.from('partial') });
  const res = await pending;
  assert.equal(res.statusCode, 200);
  const reading = res.body.text();
  await w.send({ type: 'BYE', reason: 'going' });
  await assert.rejects(reading);
});

test('a client that goes away makes the router send RST cancel to the worker', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const controller = new AbortController();
  const pending = request(harness.url('/abandoned'), { signal: controller.signal });
  const req = await w.next('REQ');
  controller.abort();
  await assert.rejects(pending);
  const rst = await w.next('RST', 3000, (m) => m.stream === req.stream);
  assert.equal(rst.code, 'cancel');
});

test('the request deadline gives 504 and RST timeout to the worker', async () => {
  harness = await startHarness({ requestTimeoutMs: 300 });
  const w = await harness.worker();
  const pending = request(harness.url('/slow'));
  const req = await w.next('REQ');
  assert.ok(req.timeoutMs > 0 && req.timeoutMs <= 300);
  const res = await pending;
  assert.equal(res.statusCode, 504);
  assert.equal(((await res.body.json()) as { error: string }).error, 'ZP_ERR_REQUEST_TIMEOUT');
  const rst = await w.next('RST', 3000, (m) => m.stream === req.stream);
  assert.equal(rst.code, 'timeout');
  // Late frames for the reset stream are dropped; the worker is still usable.
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: true, body: EMPTY });
  const next = request(harness.url('/next'));
  const req2 = await w.next('REQ');
  await w.send({ type: 'RES', stream: req2.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('ok') });
  assert.equal(await (await next).body.text(), 'ok');
});

test('a worker that gives up at the deadline it was told (RST timeout) also gives the client 504', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const pending = request(harness.url('/worker-timeout'));
  const req = await w.next('REQ');
  await w.send({ type: 'RST', stream: req.stream, code: 'timeout', message: 'deadline' });
  const res = await pending;
  assert.equal(res.statusCode, 504);
  await res.body.dump();
  assert.equal(w.take('RST').length, 0, 'an RST is never answered with an RST');
});

test('least-in-flight: two idle workers each get one of two concurrent requests', async () => {
  harness = await startHarness();
  const a = await harness.worker({ capacity: 10 });
  const b = await harness.worker({ capacity: 10 });
  const p1 = request(harness.url('/x'));
  const p2 = request(harness.url('/y'));
  const [ra, rb] = await Promise.all([a.next('REQ'), b.next('REQ')]);
  await a.send({ type: 'RES', stream: ra.stream, seq: 0, status: 200, headers: [], fin: true, body: EMPTY });
  await b.send({ type: 'RES', stream: rb.stream, seq: 0, status: 200, headers: [], fin: true, body: EMPTY });
  assert.equal((await p1).statusCode, 200);
  assert.equal((await p2).statusCode, 200);
});

test('a seq gap from the worker resets the stream (RST protocol) and the client gets 502', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const pending = request(harness.url('/gap'));
  const req = await w.next('REQ');
  await w.send({ type: 'RES', stream: req.stream, seq: 1, status: 200, headers: [], fin: true, body: EMPTY });
  const rst = await w.next('RST');
  assert.equal(rst.code, 'protocol');
  assert.equal((await pending).statusCode, 502);
});

test('a response head node cannot send (bad header value) gives 502, not a crash', async () => {
  harness = await startHarness();
  const w = await harness.worker();
  const pending = request(harness.url('/bad-head'));
  const req = await w.next('REQ');
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: ['x-bad', 'line\nbreak'], fin: true, body: EMPTY });
  const res = await pending;
  assert.equal(res.statusCode, 502);
  assert.equal(((await res.body.json()) as { error: string }).error, 'ZP_ERR_BAD_RESPONSE');
  assert.equal((await w.next('RST')).code, 'protocol');
});

test('response bytes beyond the granted window reset the stream with RST flow_control', async () => {
  harness = await startHarness({ window: 4096 });
  const w = await harness.worker();
  // Settled from the start: the client may be cut before the RST is awaited (no unhandled rejection).
  const outcome = request(harness.url('/flood')).then(
    (res) => res.body.arrayBuffer().then(() => 'ended cleanly', () => 'cut'),
    () => 'cut',
  );
  const req = await w.next('REQ');
  await w.send(
    // 1000 bytes stay below the router's grant threshold (a quarter window), so no WINDOW covers the rest.
    { type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: false, body: Buffer.alloc(1000) },
    { type: 'DATA', stream: req.stream, seq: 1, fin: false, body: Buffer.alloc(3097) },
  );
  const rst = await w.next('RST');
  assert.equal(rst.code, 'flow_control');
  // The head was committed: the client sees a cut connection (before or after the head), never a clean end.
  assert.equal(await outcome, 'cut');
});

test('close() lets an in-flight request finish, answers new ones 503 or refuses them, and says BYE', async () => {
  harness = await startHarness({ drainTimeoutMs: 5000 });
  const w = await harness.worker();
  const inFlight = request(harness.url('/finishing'));
  const req = await w.next('REQ');
  const closing = harness.router.close();
  const late = await request(harness.url('/late')).then(
    (r) => r.statusCode,
    () => 'refused',
  );
  assert.ok(late === 503 || late === 'refused', `late request got ${late}`);
  await w.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('done') });
  const res = await inFlight;
  assert.equal(await res.body.text(), 'done');
  await closing;
  const bye = await w.next('BYE');
  assert.ok(bye.reason.length > 0);
});

test('after DRAIN a worker gets no new requests; they go to another worker', async () => {
  harness = await startHarness();
  const draining = await harness.worker({ capacity: 10 });
  await draining.send({ type: 'DRAIN', lastStream: 0 });
  // A repeated HELLO is answered without changes; its WELCOME proves the DRAIN was read.
  await draining.sendHello();
  await draining.next('WELCOME');
  const other = await harness.worker({ capacity: 10 });
  // Were DRAIN ignored, least-in-flight would send one of these two to the draining worker.
  const pending = [request(harness.url('/a')), request(harness.url('/b'))];
  for (let i = 0; i < 2; i++) {
    const req = await other.next('REQ');
    await other.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: true, body: EMPTY });
  }
  for (const p of pending) assert.equal((await p).statusCode, 200);
  assert.equal(draining.take('REQ').length, 0);
});
