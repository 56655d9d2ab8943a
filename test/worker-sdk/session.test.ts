/**
 * Worker session against a real ZeroMQ ROUTER acting as the router: HELLO until WELCOME, re-register
 * on ERROR unknown_peer / BYE / new epoch / silence, heartbeats, drain on close().
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { createWorker, type Worker } from '../../worker-sdk/src/index.ts';
import { captureLogger, deferred, FakeRouter, ipcEndpoint, readResponse, req } from './fake-router.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startWorker(connect: string | string[], extra: Partial<Parameters<typeof createWorker>[0]> = {}): { worker: Worker; logs: ReturnType<typeof captureLogger> } {
  const logs = captureLogger();
  const worker = createWorker({
    connect,
    handler: () => new Response('ok'),
    handleSignals: false,
    logger: logs.logger,
    drainTimeoutMs: 2000,
    ...extra,
  });
  cleanups.push(() => worker.close());
  return { worker, logs };
}

test('HELLO is repeated until WELCOME even when the worker starts before the router binds', async () => {
  const ipc = ipcEndpoint();
  cleanups.push(ipc.cleanup);
  const { worker, logs } = startWorker(ipc.endpoint, { id: 'w-early', capacity: 7, pool: 'p1', window: 4096 });
  let registered = false;
  void worker.ready.then(() => (registered = true));
  // Let the worker send HELLO twice (nobody is listening yet) before the router exists.
  await logs.waitFor('HELLO sent', 2);
  const router = await FakeRouter.bind(ipc.endpoint);
  cleanups.push(() => router.close());
  const first = await router.next('HELLO');
  const second = await router.next('HELLO');
  assert.equal(first.nonce, second.nonce, 'repeated HELLOs carry the same nonce');
  assert.equal(first.workerId, 'w-early');
  // The routing id is random per connection, never the workerId humans see (SPEC §2).
  assert.notEqual(first.from, 'w-early');
  assert.match(first.from, /^[A-Za-z0-9_-]{24}$/);
  assert.equal(first.capacity, 7);
  assert.equal(first.pool, 'p1');
  assert.equal(first.window, 4096);
  assert.deepEqual(first.versions, [1]);
  assert.equal(registered, false, 'not ready before WELCOME');
  // A WELCOME with another nonce is not ours.
  await router.send('w-early', { type: 'WELCOME', nonce: (first.nonce + 1) >>> 0, routerId: 'r', epoch: 'e', version: 1, heartbeatMs: 1000, window: 65536, maxFrame: 65536 });
  await router.send('w-early', { type: 'WELCOME', nonce: first.nonce, routerId: 'r', epoch: 'e', version: 1, heartbeatMs: 1000, window: 65536, maxFrame: 65536 });
  await worker.ready;
  const line = await logs.waitFor('worker registered');
  assert.equal(line['router'], ipc.endpoint);
  assert.equal(line['workerId'], 'w-early');
  // Registered: it serves.
  await router.send('w-early', req(1));
  const res = await readResponse(router, 1);
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'ok');
});

test('ERROR unknown_peer, BYE and a new router epoch each lead to a new HELLO with a new nonce', async () => {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const { worker, logs } = startWorker(router.endpoint, { id: 'w-rereg' });
  const hello1 = await router.welcome({ epoch: 'A' });
  await worker.ready;

  await router.send('w-rereg', { type: 'ERROR', code: 'unknown_peer', message: 'who are you' });
  const hello2 = await router.welcome({ epoch: 'A' });
  assert.notEqual(hello2.nonce, hello1.nonce);
  assert.equal(hello2.epoch, hello1.epoch, 'the worker did not restart: same epoch');
  await logs.waitFor('worker registered', 2);

  await router.send('w-rereg', { type: 'BYE', reason: 'router stopping' });
  const hello3 = await router.welcome({ epoch: 'B' });
  assert.notEqual(hello3.nonce, hello2.nonce);
  await logs.waitFor('worker registered', 3);

  // The router restarted: its heartbeat carries another epoch.
  await router.send('w-rereg', { type: 'HEARTBEAT', epoch: 'C' });
  const hello4 = await router.next('HELLO', (h) => h.nonce !== hello3.nonce);
  assert.notEqual(hello4.nonce, hello3.nonce);
  const lost = logs.lines.filter((l) => l['msg'] === 'router lost');
  assert.equal(lost.length, 3);
});

test('a repeated WELCOME (same nonce and epoch) changes nothing; in-flight streams survive it', async () => {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const released = deferred();
  const { worker } = startWorker(router.endpoint, {
    id: 'w-repeat',
    onStream: async (s) => {
      s.respond(200);
      await released.promise;
      await s.end('done');
    },
    handler: undefined,
  });
  const hello = await router.welcome();
  await worker.ready;
  await router.send('w-repeat', req(5));
  await router.next('RES', (m) => m.stream === 5);
  await router.send('w-repeat', { type: 'WELCOME', nonce: hello.nonce, routerId: 'fake-router', epoch: 'epoch-1', version: 1, heartbeatMs: 1000, window: 262144, maxFrame: 262144 });
  released.resolve();
  const d = await router.next('DATA', (m) => m.stream === 5);
  assert.equal(d.body.toString(), 'done');
  assert.equal(d.fin, true);
  assert.equal(router.pending('HELLO').length, 0);
});

test('heartbeats on an idle link; a silent router is declared lost and the worker says HELLO again', async () => {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const { worker, logs } = startWorker(router.endpoint, { id: 'w-hb' });
  const hello = await router.welcome({ heartbeatMs: 40 });
  await worker.ready;
  const hb = await router.next('HEARTBEAT');
  assert.equal(hb.epoch, hello.epoch, 'HEARTBEAT carries the worker epoch');
  // The fake router never answers: after 2 silent intervals the worker re-registers on a fresh
  // connection (another connection may have taken this one's routing id over).
  const again = await router.next('HELLO', (h) => h.nonce !== hello.nonce, 2000);
  assert.equal(again.workerId, 'w-hb');
  assert.notEqual(again.from, hello.from, 'a fresh routing id');
  const lost = await logs.waitFor('router lost');
  assert.match(String(lost['reason']), /silent/);
});

test('one worker serves two routers, each with its own registration and credit', async () => {
  const r1 = await FakeRouter.bind();
  const r2 = await FakeRouter.bind();
  cleanups.push(() => r1.close(), () => r2.close());
  const { worker, logs } = startWorker([r1.endpoint, r2.endpoint], { id: 'w-two', capacity: 1 });
  await r1.welcome();
  await r2.welcome();
  await worker.ready;
  await logs.waitFor('worker registered', 2);
  // Stream 1 on both routers at once: capacity is per router link.
  await r1.send('w-two', req(1));
  await r2.send('w-two', req(1));
  assert.equal((await readResponse(r1, 1)).status, 200);
  assert.equal((await readResponse(r2, 1)).status, 200);
  assert.equal((await r1.next('CREDIT')).credit, 1);
  assert.equal((await r2.next('CREDIT')).credit, 1);
});

test('close(): DRAIN naming the last stream, later REQs refused, in-flight finishes, then BYE', async () => {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const released = deferred();
  const started = deferred();
  const { worker } = startWorker(router.endpoint, {
    id: 'w-drain',
    handler: async () => {
      started.resolve();
      await released.promise;
      return new Response('finished');
    },
  });
  await router.welcome();
  await worker.ready;
  await router.send('w-drain', req(9));
  await started.promise;
  const closed = worker.close();
  const drain = await router.next('DRAIN');
  assert.equal(drain.lastStream, 9);
  await router.send('w-drain', req(10));
  const refused = await router.next('RST', (m) => m.stream === 10);
  assert.equal(refused.code, 'refused');
  assert.equal(router.pending('BYE').length, 0, 'no BYE while a stream is in flight');
  released.resolve();
  const res = await readResponse(router, 9);
  assert.equal(res.body.toString(), 'finished');
  await router.next('BYE');
  await closed;
  assert.equal(router.pending('CREDIT').length, 0, 'no credit is returned after DRAIN');
  const order = router.log.map((r) => r.m.type).filter((t) => t === 'DRAIN' || t === 'BYE' || t === 'RES');
  assert.deepEqual(order, ['DRAIN', 'RES', 'BYE']);
});

test('close(): streams still running after drainTimeoutMs are reset, then BYE', async () => {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  let aborted: unknown;
  const started = deferred();
  const { worker } = startWorker(router.endpoint, {
    id: 'w-drain-timeout',
    drainTimeoutMs: 100,
    handler: (request) =>
      new Promise<Response>((_resolve, reject) => {
        started.resolve();
        request.signal.addEventListener('abort', () => {
          aborted = request.signal.reason;
          reject(request.signal.reason as Error);
        });
      }),
  });
  await router.welcome();
  await worker.ready;
  await router.send('w-drain-timeout', req(3));
  await started.promise;
  await worker.close();
  const rst = await router.next('RST', (m) => m.stream === 3);
  assert.equal(rst.code, 'cancel');
  await router.next('BYE');
  assert.ok(aborted, 'the handler saw its signal abort');
});
