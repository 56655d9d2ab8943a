/**
 * Workers come and go with no configuration: a worker started before the router registers once the
 * router comes up; a worker added live gets traffic within 2 s; with no worker at all a request gets
 * 503 with Retry-After after --queue-timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EchoReply } from '../fixtures/echo.ts';
import {
  headerValue,
  httpRequest,
  spawnWorker,
  startRouter,
  startWorker,
  useTestEnvironment,
  waitForRegistrations,
} from '../helpers/index.ts';

describe('membership', () => {
  const env = useTestEnvironment();

  it('a worker started before the router registers once the router comes up', async () => {
    const bind = env.tmp.ipc('early.sock');
    const worker = spawnWorker(env.group, { connect: bind, handler: 'routes', id: 'early-bird' });
    // Give the worker a head start: its first log line (if it logs one before registering) shows it is
    // up and trying to reach a router that does not exist yet. Silence is allowed, hence the catch.
    await worker.waitForLog(() => true, 5000, 'a startup log line').catch(() => undefined);
    assert.equal(worker.findLogs((l) => l.msg === 'worker registered').length, 0);
    assert.equal(worker.exitInfo, undefined, 'worker still running without a router');

    const router = await startRouter(env.group, { bind, name: 'late-router', args: ['--heartbeat', '200'] });
    const line = await worker.waitForLog((l) => l.msg === 'worker registered', 15_000, 'registration after the router started');
    assert.equal(line['workerId'], 'early-bird');
    assert.equal(line['router'], bind);
    const res = await httpRequest(`${router.httpUrl}/after-start`);
    assert.equal(res.status, 200);
    assert.equal(headerValue(res, 'x-worker-id'), 'early-bird');
    await router.proc.stop();
    await worker.stop();
  });

  it('a worker added live gets traffic within 2 s of registering', async () => {
    const router = await startRouter(env.group, { bind: env.tmp.ipc('live.sock'), name: 'live-router', args: ['--heartbeat', '200'] });
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'live-first' });
    const first = await httpRequest(`${router.httpUrl}/x`);
    assert.equal(headerValue(first, 'x-worker-id'), 'live-first');

    const newcomer = spawnWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'live-second' });
    await waitForRegistrations(newcomer);
    const registeredAt = Date.now();
    let servedByNewcomer = false;
    // Small concurrent batches: least-in-flight spreads them, so the newcomer must get some quickly.
    for (let batch = 0; batch < 200 && !servedByNewcomer && Date.now() - registeredAt < 2000; batch++) {
      const results = await Promise.all(Array.from({ length: 8 }, () => httpRequest(`${router.httpUrl}/slow-echo?delay=10`, { timeoutMs: 2000 })));
      for (const r of results) {
        assert.equal(r.status, 200);
        if (headerValue(r, 'x-worker-id') === 'live-second') servedByNewcomer = true;
      }
    }
    const elapsed = Date.now() - registeredAt;
    assert.ok(servedByNewcomer, 'the new worker served nothing');
    assert.ok(elapsed <= 2000, `the new worker got its first request after ${elapsed} ms`);
  });

  it('with no worker, a request gets 503 with Retry-After after --queue-timeout', async () => {
    const queueTimeout = 400;
    const router = await startRouter(env.group, {
      bind: env.tmp.ipc('empty.sock'),
      name: 'empty-router',
      args: ['--heartbeat', '200', '--queue-timeout', String(queueTimeout)],
    });
    const res = await httpRequest(`${router.httpUrl}/nobody-home`, { timeoutMs: 10_000 });
    assert.equal(res.status, 503);
    const retryAfter = headerValue(res, 'retry-after');
    assert.ok(retryAfter !== undefined && /^\d+$/.test(retryAfter), `Retry-After should be delta-seconds, got ${retryAfter}`);
    assert.ok(res.elapsedMs >= queueTimeout - 50, `503 came after ${res.elapsedMs} ms, before the queue timeout`);
    assert.ok(res.elapsedMs < queueTimeout + 3000, `503 came after ${res.elapsedMs} ms`);
  });

  it('a request queued before any worker exists is served when one arrives', async () => {
    const router = await startRouter(env.group, {
      bind: env.tmp.ipc('queued.sock'),
      name: 'queue-router',
      args: ['--heartbeat', '200', '--queue-timeout', '10000'],
    });
    const pending = httpRequest(`${router.httpUrl}/waited`, { timeoutMs: 15_000 });
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'queue-late' });
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body.toString()) as EchoReply).path, '/waited');
  });
});
