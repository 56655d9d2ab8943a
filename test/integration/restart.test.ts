/**
 * Restarts, with no configuration change: a router that dies and comes back on the same endpoint gets
 * its workers back (they notice the silence, say HELLO again); a worker that dies and restarts with
 * the same id takes over its identity; one worker can serve two routers at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EchoReply } from '../fixtures/echo.ts';
import { httpRequest, startRouter, startWorker, useTestEnvironment, waitForRegistrations } from '../helpers/index.ts';

describe('restarts', () => {
  const env = useTestEnvironment();

  it('workers re-register with a router restarted after kill -9', async () => {
    const bind = env.tmp.ipc('restart.sock');
    const first = await startRouter(env.group, { bind, name: 'router-1', args: ['--heartbeat', '200'] });
    const worker = await startWorker(env.group, { connect: bind, handler: 'routes', id: 'survivor' });
    assert.equal((await httpRequest(`${first.httpUrl}/one`)).status, 200);

    first.proc.signal('SIGKILL');
    await first.proc.waitForExit(5000);
    const second = await startRouter(env.group, { bind, name: 'router-2', args: ['--heartbeat', '200'] });
    await waitForRegistrations(worker, 2);
    const res = await httpRequest(`${second.httpUrl}/two`, { timeoutMs: 10_000 });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body.toString()) as EchoReply).workerId, 'survivor');
    assert.equal(worker.exitInfo, undefined, 'the worker stayed up through the router restart');
    await Promise.all([second.proc.stop(), worker.stop()]);
  });

  it('a worker restarted with the same id serves again (handover)', async () => {
    const router = await startRouter(env.group, { bind: env.tmp.ipc('handover.sock'), name: 'router-h', args: ['--heartbeat', '200'] });
    const old = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'phoenix', name: 'phoenix-1' });
    const before = JSON.parse((await httpRequest(`${router.httpUrl}/a`)).body.toString()) as EchoReply;
    assert.equal(before.pid, old.pid);

    old.signal('SIGKILL');
    await old.waitForExit(5000);
    const reborn = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'phoenix', name: 'phoenix-2' });
    // Requests sent right away may still be routed to the dead registration: they must be retried
    // onto the new process (GET), never lost. All must end 200 from the new pid.
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => httpRequest(`${router.httpUrl}/b${i}`, { timeoutMs: 10_000 })));
    for (const res of after) {
      assert.equal(res.status, 200);
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.workerId, 'phoenix');
      assert.equal(reply.pid, reborn.pid);
    }
    await Promise.all([router.proc.stop(), reborn.stop()]);
  });

  it('one worker serves two routers at once', async () => {
    const a = await startRouter(env.group, { bind: env.tmp.ipc('a.sock'), name: 'router-a', args: ['--heartbeat', '200', '--id', 'router-a'] });
    const b = await startRouter(env.group, { bind: env.tmp.ipc('b.sock'), name: 'router-b', args: ['--heartbeat', '200', '--id', 'router-b'] });
    const worker = await startWorker(env.group, { connect: [a.bindEndpoint, b.bindEndpoint], handler: 'routes', id: 'shared' });
    await waitForRegistrations(worker, 2);
    const routersSeen = new Set(worker.findLogs((l) => l.msg === 'worker registered').map((l) => l['router']));
    assert.deepEqual([...routersSeen].sort(), [a.bindEndpoint, b.bindEndpoint].sort());
    const [ra, rb] = await Promise.all([httpRequest(`${a.httpUrl}/via-a`), httpRequest(`${b.httpUrl}/via-b`)]);
    assert.equal((JSON.parse(ra.body.toString()) as EchoReply).path, '/via-a');
    assert.equal((JSON.parse(rb.body.toString()) as EchoReply).path, '/via-b');
    assert.equal((JSON.parse(ra.body.toString()) as EchoReply).workerId, 'shared');
    assert.equal((JSON.parse(rb.body.toString()) as EchoReply).workerId, 'shared');
  });
});
