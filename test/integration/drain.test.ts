/**
 * Graceful shutdown. SIGTERM to a worker: its in-flight request completes, new requests go to the
 * other worker meanwhile, and it exits 0. SIGTERM to the router: the in-flight request completes and
 * the router exits 0, while the worker stays up waiting for a router to come back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EchoReply } from '../fixtures/echo.ts';
import { headerValue, httpRequest, startRouter, startWorkers, useTestEnvironment, type LogLine } from '../helpers/index.ts';

const SLOW_MS = 1500;

describe('drain', () => {
  const env = useTestEnvironment();

  it('SIGTERM on a worker finishes its in-flight request, then it exits 0', async () => {
    const router = await startRouter(env.group, { bind: env.tmp.ipc('w.sock'), args: ['--heartbeat', '200'] });
    const workers = await startWorkers(env.group, [
      { connect: router.bindEndpoint, handler: 'routes', id: 'drain-a' },
      { connect: router.bindEndpoint, handler: 'routes', id: 'drain-b' },
    ]);
    const requestId = `drain-${Date.now()}`;
    const inFlight = httpRequest(`${router.httpUrl}/slow-echo?delay=${SLOW_MS}`, { headers: { 'x-request-id': requestId }, timeoutMs: 15_000 });
    const isOurs = (l: LogLine): boolean => l.msg === 'fixture request started' && l['requestId'] === requestId;
    const holder = await Promise.any(workers.map((w) => w.waitForLog(isOurs, 10_000, 'the slow request to start').then(() => w)));
    const other = workers.find((w) => w !== holder)!;
    const otherId = holder === workers[0] ? 'drain-b' : 'drain-a';

    holder.signal('SIGTERM');
    // Once the worker has started draining (its log says so; the exact wording is not part of the
    // interface, hence the loose match), every new request must go to the other worker: a REQ that
    // crosses the DRAIN is refused by the worker and retried by the router (SPEC §5).
    await holder.waitForLog((l) => /drain/i.test(String(l.msg ?? '')), 5000, 'the worker to start draining');
    const during = await Promise.all(Array.from({ length: 6 }, (_, i) => httpRequest(`${router.httpUrl}/during-drain-${i}`, { timeoutMs: 10_000 })));
    for (const r of during) {
      assert.equal(r.status, 200);
      assert.equal(headerValue(r, 'x-worker-id'), otherId, 'a draining worker got a new request');
    }

    const res = await inFlight;
    assert.equal(res.status, 200, 'the in-flight request completed');
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    assert.equal(reply.requestId, requestId);
    const exit = await holder.waitForExit(10_000);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.equal(other.exitInfo, undefined, 'the other worker is untouched');
    await router.proc.stop();
  });

  it('SIGTERM on the router finishes its in-flight request, then it exits 0', async () => {
    const router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), name: 'router-2', args: ['--heartbeat', '200'] });
    const [worker] = await startWorkers(env.group, [{ connect: router.bindEndpoint, handler: 'routes', id: 'drain-c' }]);
    const requestId = `rdrain-${Date.now()}`;
    const inFlight = httpRequest(`${router.httpUrl}/slow-echo?delay=${SLOW_MS}`, { headers: { 'x-request-id': requestId }, timeoutMs: 15_000 });
    await worker!.waitForLog((l) => l.msg === 'fixture request started' && l['requestId'] === requestId, 10_000, 'the slow request to start');
    router.proc.signal('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200, 'the in-flight request completed during the router drain');
    assert.equal((JSON.parse(res.body.toString()) as EchoReply).requestId, requestId);
    const exit = await router.proc.waitForExit(10_000);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.equal(worker!.exitInfo, undefined, 'the worker stays up, ready for a router to come back');
  });
});
