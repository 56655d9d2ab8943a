/**
 * Fetch-style handlers through a real ZeroMQ ROUTER acting as the router: GET, POST with a body,
 * streamed responses, handler failures, RST → request.signal, credit, capacity.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { MessageCode } from '../../proto/src/index.ts';
import { deferred, header, readResponse, req } from './fake-router.ts';
import { fetchWorkerFixture } from './worker-fixture.ts';

const { setup } = fetchWorkerFixture();

test('GET: request head reaches the handler; status, headers and body come back; credit returned', async () => {
  let seen: { url: string; method: string; headers: Record<string, string>; ctx: Record<string, unknown>; body: Request['body'] } | undefined;
  const { router, id } = await setup(
    (request, ctx) => {
      const headers: Record<string, string> = {};
      request.headers.forEach((v, k) => (headers[k] = v));
      seen = { url: request.url, method: request.method, headers, ctx: { ...ctx }, body: request.body };
      const res = new Response('hello world', { status: 201, headers: { 'x-test': 'yes', 'content-type': 'text/plain' } });
      res.headers.append('set-cookie', 'a=1');
      res.headers.append('set-cookie', 'b=2');
      return res;
    },
    { id: 'w-get' },
  );
  await router.send(id, req(1, { path: '/p/q?x=1', authority: 'api.test', headers: ['host', 'api.test', 'x-forwarded-for', '10.0.0.1', 'accept', 'a', 'accept', 'b'], remote: '10.0.0.1', requestId: 'rid-1' }));
  const res = await readResponse(router, 1);
  assert.equal(res.status, 201);
  assert.equal(res.body.toString(), 'hello world');
  assert.equal(header(res.headers, 'x-test'), 'yes');
  const cookies = res.headers.filter((_, i) => i % 2 === 1 && res.headers[i - 1] === 'set-cookie');
  assert.deepEqual(cookies, ['a=1', 'b=2']);
  assert.equal(seen!.url, 'http://api.test/p/q?x=1');
  assert.equal(seen!.method, 'GET');
  assert.equal(seen!.headers['x-forwarded-for'], '10.0.0.1');
  assert.equal(seen!.headers['accept'], 'a, b');
  assert.equal(seen!.body, null);
  assert.equal(seen!.ctx['requestId'], 'rid-1');
  assert.equal(seen!.ctx['remoteAddress'], '10.0.0.1');
  assert.equal(seen!.ctx['workerId'], 'w-get');
  assert.ok(seen!.ctx['signal'] instanceof AbortSignal);
  const credit = await router.next('CREDIT');
  assert.equal(credit.credit, 1);
});

test('a complete small response leaves as one RES with the body inline and fin', async () => {
  const { router, id } = await setup(() => new Response('tiny'));
  await router.send(id, req(1));
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.fin, true);
  assert.equal(res.body.toString(), 'tiny');
  assert.equal(res.seq, 0);
});

test('POST: a body sent inline and in DATA frames reaches request.body byte-exact', async () => {
  const { router, id } = await setup(async (request) => {
    const body = Buffer.from(await request.arrayBuffer());
    return new Response(`${request.method} ${body.length} ${body.toString('hex').slice(0, 8)}|` + body.toString('base64'));
  });
  const payload = Buffer.alloc(3000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  await router.send(id, req(2, { method: 'POST', fin: false, body: payload.subarray(0, 1000), headers: ['content-type', 'application/octet-stream'] }));
  await router.send(id, { type: 'DATA', stream: 2, seq: 1, fin: false, body: payload.subarray(1000, 2500) });
  await router.send(id, { type: 'DATA', stream: 2, seq: 2, fin: true, body: payload.subarray(2500) });
  const res = await readResponse(router, 2);
  assert.equal(res.status, 200);
  const [head, b64] = res.body.toString().split('|');
  assert.equal(head, `POST 3000 ${payload.toString('hex').slice(0, 8)}`);
  assert.deepEqual(Buffer.from(b64!, 'base64'), payload);
});

test('POST with an empty body (REQ fin, no bytes) works', async () => {
  const { router, id } = await setup(async (request) => new Response(`len=${(await request.text()).length}`));
  await router.send(id, req(3, { method: 'POST' }));
  const res = await readResponse(router, 3);
  assert.equal(res.body.toString(), 'len=0');
});

test('the response is streamed: RES and the first DATA arrive before the handler finishes producing (SSE)', async () => {
  const more = deferred();
  const { router, id } = await setup(() => {
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(enc.encode('data: one\n\n'));
        await more.promise;
        controller.enqueue(enc.encode('data: two\n\n'));
        controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  });
  await router.send(id, req(4));
  const res = await router.next('RES', (m) => m.stream === 4);
  assert.equal(header(res.headers, 'content-type'), 'text/event-stream');
  assert.equal(res.fin, false);
  const firstChunks: Buffer[] = [res.body];
  if (res.body.length === 0) firstChunks.push((await router.next('DATA', (m) => m.stream === 4)).body);
  assert.equal(Buffer.concat(firstChunks).toString(), 'data: one\n\n', 'first event before the producer continues');
  more.resolve();
  const rest: Buffer[] = [];
  for (let i = 0; i < 10; i++) {
    const d = await router.next('DATA', (m) => m.stream === 4);
    rest.push(d.body);
    if (d.fin) break;
  }
  assert.equal(Buffer.concat(rest).toString(), 'data: two\n\n');
});

test('a handler that throws gives 500, the worker stays up and the next request works', async () => {
  let calls = 0;
  const { router, id, logs } = await setup(async (request) => {
    calls++;
    if (new URL(request.url).pathname === '/boom') throw new Error('kaboom');
    return new Response('fine');
  });
  await router.send(id, req(1, { path: '/boom' }));
  const bad = await readResponse(router, 1);
  assert.equal(bad.status, 500);
  await logs.waitFor('handler failed');
  await router.send(id, req(2, { path: '/ok' }));
  const good = await readResponse(router, 2);
  assert.equal(good.status, 200);
  assert.equal(good.body.toString(), 'fine');
  assert.equal(calls, 2);
});

test('a body stream that fails after the response started ends the stream with RST internal', async () => {
  const breakNow = deferred();
  const { router, id } = await setup(() => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('partial'));
        await breakNow.promise;
        controller.error(new Error('producer broke'));
      },
    });
    return new Response(body);
  });
  await router.send(id, req(1));
  const res = await router.next('RES', (m) => m.stream === 1);
  assert.equal(res.status, 200);
  breakNow.resolve();
  const rst = await router.next('RST', (m) => m.stream === 1);
  assert.equal(rst.code, 'internal');
  assert.equal((await router.next('CREDIT')).credit, 1);
});

test('RST from the router aborts request.signal and ctx.signal; the reset is logged; late DATA is dropped', async () => {
  const started = deferred();
  const aborted = deferred<unknown>();
  const { router, id, logs } = await setup(
    (request, ctx) => {
    started.resolve();
    return new Promise<Response>((_resolve, reject) => {
      request.signal.addEventListener('abort', () => {
        assert.equal(ctx.signal.aborted, true);
        aborted.resolve(ctx.signal.reason);
        reject(request.signal.reason as Error);
      });
    });
    },
    {},
    { heartbeatMs: 60000 }, // no heartbeat traffic that could carry the CREDIT by chance
  );
  await router.send(id, req(7, { requestId: 'rid-7', fin: false, method: 'POST' }));
  await started.promise;
  await router.send(id, { type: 'RST', stream: 7, code: 'cancel', message: 'client went away' });
  const reason = (await aborted.promise) as { code?: string };
  assert.equal(reason.code, 'cancel');
  const line = await logs.waitFor('stream reset');
  assert.equal(line['stream'], 7);
  assert.equal(line['code'], 'cancel');
  assert.equal(line['requestId'], 'rid-7');
  // The credit goes out in the same turn, not with the next message that happens to be sent.
  assert.equal((await router.next('CREDIT', () => true, 1000)).credit, 1);
  // A late DATA for the reset stream is discarded (no RST back), unlike DATA for an unknown stream.
  await router.send(id, { type: 'DATA', stream: 7, seq: 1, fin: true, body: Buffer.from('late') });
  await router.sync(id, 999);
  assert.equal(router.pending('RST').length, 0);
  assert.equal(router.log.filter((r) => r.m.type === 'RST').length, 1, 'only the RST for the unknown stream 999');
});

test('request timeoutMs aborts the handler and resets the stream with RST timeout', async () => {
  const aborted = deferred<unknown>();
  const { router, id } = await setup(
    (request) =>
      new Promise<Response>((_resolve, reject) => {
        request.signal.addEventListener('abort', () => {
          aborted.resolve(request.signal.reason);
          reject(request.signal.reason as Error);
        });
      }),
  );
  await router.send(id, req(8, { timeoutMs: 50 }));
  const rst = await router.next('RST', (m) => m.stream === 8);
  assert.equal(rst.code, 'timeout');
  assert.equal(((await aborted.promise) as { code?: string }).code, 'timeout');
});

test('a REQ beyond capacity is refused (RST refused) and its credit is returned', async () => {
  const release = deferred();
  const { router, id } = await setup(
    async () => {
      await release.promise;
      return new Response('x');
    },
    { capacity: 2 },
  );
  await router.send(id, req(1), req(2), req(3));
  const rst = await router.next('RST', (m) => m.stream === 3);
  assert.equal(rst.code, 'refused');
  assert.equal((await router.next('CREDIT')).credit, 1);
  release.resolve();
  await readResponse(router, 1);
  await readResponse(router, 2);
  let returned = 0;
  for (let i = 0; i < 2 && returned < 2; i++) returned += (await router.next('CREDIT')).credit;
  assert.equal(returned, 2);
});

test('a duplicate REQ resets the open stream (RST protocol) and both credits come back (SPEC §7.1)', async () => {
  const release = deferred();
  const { router, id } = await setup(async (request) => {
    await Promise.race([release.promise, new Promise((resolve) => request.signal.addEventListener('abort', resolve))]);
    return new Response('x');
  });
  await router.send(id, req(1));
  await router.sync(id, 900);
  await router.send(id, req(1));
  const rst = await router.next('RST', (m) => m.stream === 1);
  assert.equal(rst.code, 'protocol');
  let returned = 0;
  for (let i = 0; i < 2 && returned < 2; i++) returned += (await router.next('CREDIT')).credit;
  assert.equal(returned, 2, 'the open stream and the duplicate REQ each return their credit');
  release.resolve();
});

test('a REQ that does not decode but names its stream is refused with RST protocol and its credit returned (SPEC §6.1)', async () => {
  const { router, id } = await setup(() => new Response('x'));
  // A REQ whose method is a number: the decoder reads stream 7, then fails on the method field.
  const header = Buffer.from(msgpackEncode(['ZP', 1, MessageCode.REQ, 7, 0, 42, 'http', 'a', '/', [], '', '', 0, true]));
  await router.socket.send([router.routingIdOf(id), header, Buffer.alloc(0)]);
  const rst = await router.next('RST', (m) => m.stream === 7);
  assert.equal(rst.code, 'protocol');
  assert.equal((await router.next('CREDIT')).credit, 1);
});

test('credits for streams ending in the same turn are batched into one CREDIT', async () => {
  const { router, id } = await setup(() => new Response('x'));
  await router.send(id, req(1), req(2), req(3), req(4));
  for (const s of [1, 2, 3, 4]) await readResponse(router, s);
  const credit = await router.next('CREDIT');
  assert.equal(credit.credit, 4);
});

test('Response bodies from a byte view, a Blob and a consumed-then-rebuilt Response are sent exactly', async () => {
  const backing = Buffer.from('0123456789abcdef');
  const { router, id } = await setup(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === '/view') return new Response(new Uint8Array(backing.buffer, backing.byteOffset + 4, 6));
    if (path === '/blob') return new Response(new Blob(['blob-', 'body']));
    const first = new Response('rebuilt');
    return new Response(await first.text() + '!');
  });
  await router.send(id, req(1, { path: '/view' }), req(2, { path: '/blob' }), req(3, { path: '/re' }));
  assert.equal((await readResponse(router, 1)).body.toString(), '456789');
  assert.equal((await readResponse(router, 2)).body.toString(), 'blob-body');
  assert.equal((await readResponse(router, 3)).body.toString(), 'rebuilt!');
});
