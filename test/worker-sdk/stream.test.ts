/**
 * The low-level stream API against a real ZeroMQ ROUTER acting as the router: request and response
 * windows, seq checks, unknown streams, malformed input.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { createWorker, type Stream, type StreamHandler } from '../../worker-sdk/src/index.ts';
import { captureLogger, deferred, FakeRouter, readResponse, req } from './fake-router.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(onStream: StreamHandler, opts: { window?: number; routerWindow?: number; maxFrame?: number } = {}): Promise<{ router: FakeRouter; id: string; logs: ReturnType<typeof captureLogger> }> {
  const router = await FakeRouter.bind();
  cleanups.push(() => router.close());
  const logs = captureLogger();
  const id = `w-${Math.random().toString(36).slice(2)}`;
  const worker = createWorker({ connect: router.endpoint, onStream, id, handleSignals: false, logger: logs.logger, drainTimeoutMs: 500, window: opts.window ?? 262144 });
  cleanups.push(() => worker.close());
  const welcome: Parameters<FakeRouter['welcome']>[0] = {};
  if (opts.routerWindow !== undefined) welcome.window = opts.routerWindow;
  if (opts.maxFrame !== undefined) welcome.maxFrame = opts.maxFrame;
  await router.welcome(welcome);
  await worker.ready;
  return { router, id, logs };
}

test('stream head: method, scheme, authority, path, headers as list and object, remote, requestId, timeout', async () => {
  const got = deferred<Stream>();
  const { router, id } = await setup(async (s) => {
    got.resolve(s);
    s.respond(204, { 'x-a': ['1', '2'], 'X-B': 3 });
    await s.end();
  });
  await router.send(id, req(1, { method: 'DELETE', scheme: 'https', authority: 'h.test:8443', path: '/a?b=c', headers: ['cookie', 'a=1', 'cookie', 'b=2', 'x-y', 'z', 'constructor', 'c', '__proto__', 'p'], remote: '::1', requestId: 'r1', timeoutMs: 60000 }));
  const s = await got.promise;
  assert.equal(s.method, 'DELETE');
  assert.equal(s.scheme, 'https');
  assert.equal(s.authority, 'h.test:8443');
  assert.equal(s.path, '/a?b=c');
  assert.deepEqual(s.headerList, ['cookie', 'a=1', 'cookie', 'b=2', 'x-y', 'z', 'constructor', 'c', '__proto__', 'p']);
  assert.deepEqual(Object.keys(s.headers), ['cookie', 'x-y', 'constructor', '__proto__']);
  assert.equal(s.headers['cookie'], 'a=1; b=2');
  assert.equal(s.headers['x-y'], 'z');
  assert.equal(s.headers['constructor'], 'c');
  assert.equal(Object.getOwnPropertyDescriptor(s.headers, '__proto__')?.value, 'p');
  assert.equal(s.remoteAddress, '::1');
  assert.equal(s.requestId, 'r1');
  assert.equal(s.timeoutMs, 60000);
  assert.equal(s.bodyless, true);
  const res = await readResponse(router, 1);
  assert.equal(res.status, 204);
  assert.deepEqual(res.headers, ['x-a', '1', 'x-a', '2', 'x-b', '3']);
});

test('request body: WINDOW is granted only as the handler reads, in increments of at least a quarter window', async () => {
  const reads: { next(): Promise<Buffer | null> }[] = [];
  const ready = deferred();
  const { router, id } = await setup(
    async (s) => {
      const it = s.body[Symbol.asyncIterator]();
      reads.push({ next: async () => ((await it.next()).value as Buffer | undefined) ?? null });
      ready.resolve();
      s.respond(200);
    },
    { window: 4096 },
  );
  // The router may send a full window (inline + DATA) without waiting.
  await router.send(id, req(1, { method: 'POST', fin: false, body: Buffer.alloc(1100, 1) }));
  await router.send(id, { type: 'DATA', stream: 1, seq: 1, fin: false, body: Buffer.alloc(500, 2) }, { type: 'DATA', stream: 1, seq: 2, fin: false, body: Buffer.alloc(2496, 3) });
  await ready.promise;
  await router.sync(id, 1001);
  assert.equal(router.pending('WINDOW').length, 0, 'nothing read yet: no window granted');
  const reader = reads[0]!;
  assert.equal((await reader.next())!.length, 1100);
  await router.sync(id, 1002);
  const w1 = await router.next('WINDOW', (m) => m.stream === 1);
  assert.equal(w1.increment, 1100);
  assert.equal((await reader.next())!.length, 500);
  await router.sync(id, 1003);
  assert.equal(router.pending('WINDOW').length, 0, '500 bytes is less than a quarter window: no tiny increment');
  assert.equal((await reader.next())!.length, 2496);
  const w2 = await router.next('WINDOW', (m) => m.stream === 1);
  assert.equal(w2.increment, 2996);
  assert.equal(w2.seq, w1.seq + 1);
  // The granted window is usable: 1100 + 2996 more bytes are accepted.
  await router.send(id, { type: 'DATA', stream: 1, seq: 3, fin: true, body: Buffer.alloc(4096, 4) });
  assert.equal((await reader.next())!.length, 4096);
  assert.equal(await reader.next(), null);
});

test('request body beyond the window gets RST flow_control', async () => {
  const { router, id } = await setup(() => {}, { window: 1024 });
  await router.send(id, req(1, { method: 'POST', fin: false, body: Buffer.alloc(1024) }));
  await router.send(id, { type: 'DATA', stream: 1, seq: 1, fin: true, body: Buffer.alloc(1) });
  const rst = await router.next('RST', (m) => m.stream === 1);
  assert.equal(rst.code, 'flow_control');
});

test('response body: the worker stops at the router window and resumes on WINDOW; frames ≤ maxFrame', async () => {
  const written = deferred();
  let writeDone = false;
  const payload = Buffer.alloc(3000);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  const { router, id } = await setup(
    async (s) => {
      s.respond(200, ['content-type', 'application/octet-stream']);
      await s.write(payload);
      writeDone = true;
      written.resolve();
      await s.end();
    },
    { routerWindow: 1024, maxFrame: 1024 },
  );
  await router.send(id, req(1));
  const got: Buffer[] = [];
  const res = await router.next('RES', (m) => m.stream === 1);
  got.push(res.body);
  await router.sync(id, 2001);
  for (const d of router.pending('DATA')) if (d.stream === 1) got.push(d.body);
  assert.equal(Buffer.concat(got).length, 1024, 'exactly one window was sent');
  assert.equal(writeDone, false, 'write() waits for the window');
  got.length = 0;
  router.received.length = 0;
  await router.send(id, { type: 'WINDOW', stream: 1, seq: 1, increment: 1024 });
  await router.sync(id, 2002);
  const after1 = router.pending('DATA').filter((d) => d.stream === 1);
  assert.equal(after1.reduce((n, d) => n + d.body.length, 0), 1024);
  assert.equal(writeDone, false);
  router.received.length = 0;
  await router.send(id, { type: 'WINDOW', stream: 1, seq: 2, increment: 4096 });
  await written.promise;
  const rest: Buffer[] = [];
  for (let i = 0; i < 10; i++) {
    const d = await router.next('DATA', (m) => m.stream === 1);
    assert.ok(d.body.length <= 1024);
    rest.push(d.body);
    if (d.fin) break;
  }
  const all = Buffer.concat([res.body, ...router.log.filter((r) => r.m.type === 'DATA' && r.m.stream === 1).map((r) => (r.m as { body: Buffer }).body)]);
  assert.deepEqual(all, payload);
});

test('a seq gap resets the stream with RST protocol and aborts its signal', async () => {
  const aborted = deferred<unknown>();
  const { router, id } = await setup((s) => {
    s.signal.addEventListener('abort', () => aborted.resolve(s.signal.reason));
  });
  await router.send(id, req(1, { method: 'POST', fin: false }));
  await router.send(id, { type: 'DATA', stream: 1, seq: 2, fin: true, body: Buffer.from('x') });
  const rst = await router.next('RST', (m) => m.stream === 1);
  assert.equal(rst.code, 'protocol');
  assert.equal(((await aborted.promise) as { code: string }).code, 'protocol');
});

test('unknown streams: DATA gets one RST cancel, WINDOW and RST are ignored (never RST for RST)', async () => {
  const { router, id } = await setup(() => {});
  await router.send(id, { type: 'DATA', stream: 42, seq: 0, fin: false, body: Buffer.from('a') });
  await router.send(id, { type: 'DATA', stream: 42, seq: 1, fin: true, body: Buffer.from('b') });
  await router.send(id, { type: 'WINDOW', stream: 43, seq: 0, increment: 100 });
  await router.send(id, { type: 'RST', stream: 44, code: 'cancel', message: '' });
  await router.sync(id, 3001);
  const rsts = router.log.filter((r) => r.m.type === 'RST').map((r) => r.m as { stream: number; code: string });
  assert.deepEqual(rsts.map((r) => [r.stream, r.code]), [[42, 'cancel'], [3001, 'cancel']]);
});

test('malformed messages are logged (rate-limited) and never stop the worker', async () => {
  const { router, id, logs } = await setup(async (s) => {
    s.respond(200);
    await s.end('still here');
  });
  await router.socket.send([router.routingIdOf(id), Buffer.from('garbage'), Buffer.alloc(0)]);
  await router.socket.send([router.routingIdOf(id), Buffer.from('odd frame count')]);
  await router.socket.send([router.routingIdOf(id), Buffer.from([0x93, 0xa2, 0x5a, 0x50, 0x01, 0x63]), Buffer.alloc(0)]);
  await router.send(id, req(1));
  const res = await readResponse(router, 1);
  assert.equal(res.body.toString(), 'still here');
  const line = await logs.waitFor('bad message from router');
  assert.equal(line['router'], router.endpoint);
  assert.equal(logs.lines.filter((l) => l['msg'] === 'bad message from router').length, 1, 'rate-limited to one line');
});

test('respond() twice and write() before respond() are usage errors; end() finishes once', async () => {
  const errors = deferred<string[]>();
  const { router, id } = await setup(async (s) => {
    const seen: string[] = [];
    await s.write('x').catch((e: Error) => seen.push(e.name));
    s.respond(200);
    try {
      s.respond(200);
    } catch (e) {
      seen.push((e as Error).name);
    }
    await s.end('ok');
    await s.end().catch((e: Error) => seen.push(e.name));
    errors.resolve(seen);
  });
  await router.send(id, req(1));
  const res = await readResponse(router, 1);
  assert.equal(res.body.toString(), 'ok');
  assert.deepEqual(await errors.promise, ['StreamStateError', 'StreamStateError', 'StreamStateError']);
});

test('reading the body of a stream the router reset throws its reason instead of ending early', async () => {
  const got = deferred<Stream>();
  const { router, id } = await setup((s) => got.resolve(s));
  await router.send(id, req(1, { method: 'POST', fin: false, body: Buffer.from('partial') }));
  const s = await got.promise;
  await router.send(id, { type: 'RST', stream: 1, code: 'cancel', message: 'client went away' });
  await router.sync(id, 4001);
  const chunks: Buffer[] = [];
  await assert.rejects(
    (async () => {
      for await (const c of s.body) chunks.push(c);
    })(),
    (err: Error & { code?: string }) => err.name === 'StreamResetError' && err.code === 'cancel',
  );
  assert.equal(s.signal.aborted, true);
  s.respond(200);
  await assert.rejects(s.write('x'), (err: Error & { code?: string }) => err.name === 'StreamResetError' && err.code === 'cancel');
  assert.equal(router.log.filter((r) => r.m.type === 'RES').length, 0, 'nothing is sent on a reset stream');
});
