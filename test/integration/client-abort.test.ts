/**
 * A client that goes away mid-response: the router resets the stream with code `cancel`, the worker
 * logs "stream reset" for that request, and the handler's AbortSignal fires.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { request } from 'undici';
import { httpRequest, startRouter, startWorker, useTestEnvironment, withTimeout, type ManagedProcess, type RouterProcess } from '../helpers/index.ts';

describe('client abort', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let worker: ManagedProcess;

  before(async () => {
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--heartbeat', '200'] });
    worker = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'abort-worker' });
  });

  it('aborting the client resets the stream with code cancel and aborts the handler', async () => {
    const requestId = `abort-${Date.now()}`;
    const controller = new AbortController();
    const res = await withTimeout(
      request(`${router.httpUrl}/abort`, { headers: { 'x-request-id': requestId }, signal: controller.signal }),
      10_000,
      'response head of the ticking stream',
    );
    assert.equal(res.statusCode, 200);
    const iterator = res.body[Symbol.asyncIterator]();
    const first = await withTimeout(iterator.next(), 10_000, 'first tick');
    assert.equal(first.done, false);
    assert.match(Buffer.from(first.value as Buffer).toString(), /^tick 1/);

    controller.abort();
    await iterator.return?.().catch(() => undefined);

    const reset = await worker.waitForLog((l) => l.msg === 'stream reset' && l['requestId'] === requestId, 10_000, '"stream reset" for the aborted request');
    assert.equal(reset['code'], 'cancel');
    assert.equal(typeof reset['stream'], 'number');
    await worker.waitForLog((l) => l.msg === 'fixture saw abort' && l['requestId'] === requestId, 10_000, "the handler's signal to abort");

    // The worker (and router) keep serving.
    const after = await httpRequest(`${router.httpUrl}/still-alive`);
    assert.equal(after.status, 200);
  });
});
