/**
 * A client that goes away mid-response: the router's abort path resets the live stream with code
 * `cancel` (and nothing else resets it), the worker logs "stream reset" for that request, and the
 * handler's AbortSignal fires.
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
    // The RST came from the abort path itself, for the live stream — not from the router's fallback
    // that answers DATA for a stream it no longer knows ("unknown stream"), which would also say
    // `cancel` if the abort path sent nothing and the worker kept ticking.
    assert.equal(reset['message'], 'client went away', 'the RST of the abort path');
    await worker.waitForLog((l) => l.msg === 'fixture saw abort' && l['requestId'] === requestId, 10_000, "the handler's signal to abort");

    // The worker (and router) keep serving.
    const after = await httpRequest(`${router.httpUrl}/still-alive`);
    assert.equal(after.status, 200);
    // One reset for the stream, and the worker stopped sending on it: no fallback RST ever followed.
    const resets = worker.findLogs((l) => l.msg === 'stream reset' && l['stream'] === reset['stream']);
    assert.deepEqual(resets.map((l) => l['message']), ['client went away']);
  });
});
