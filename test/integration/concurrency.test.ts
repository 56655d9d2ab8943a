/**
 * 200 requests at once, each with its own id in path, header and body: every response must carry
 * exactly its own request's data (never another's), checked one by one.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EchoReply } from '../fixtures/echo.ts';
import { httpRequest, makeAgent, startRouter, startWorkers, useTestEnvironment, type RouterProcess } from '../helpers/index.ts';

const CONCURRENT = 200;

describe('concurrency', () => {
  const env = useTestEnvironment();
  const agent = makeAgent(CONCURRENT);
  after(() => agent.close());
  let router: RouterProcess;

  before(async () => {
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--heartbeat', '200'] });
    // 2 × capacity 64 < 200: part of the burst waits in the router's queue, which must keep order of nothing but identity.
    await startWorkers(env.group, [
      { connect: router.bindEndpoint, handler: 'routes', id: 'conc-a' },
      { connect: router.bindEndpoint, handler: 'routes', id: 'conc-b' },
    ]);
  });

  it(`${CONCURRENT} concurrent requests each get their own body`, async () => {
    const ids = Array.from({ length: CONCURRENT }, () => randomUUID());
    const results = await Promise.all(
      ids.map((id, i) =>
        httpRequest(`${router.httpUrl}/slow-echo?delay=${5 + (i % 20)}&id=${id}`, {
          method: 'POST',
          headers: { 'x-test-id': id },
          body: `body-of-${id}-`.repeat(1 + (i % 50)),
          dispatcher: agent,
          timeoutMs: 20_000,
        }),
      ),
    );
    const servedBy = new Set<string>();
    results.forEach((res, i) => {
      const id = ids[i]!;
      assert.equal(res.status, 200, `request ${i}`);
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.path, `/slow-echo?id=${id}`, `request ${i} path`);
      assert.equal(reply.headers['x-test-id'], id, `request ${i} header`);
      assert.equal(reply.body, `body-of-${id}-`.repeat(1 + (i % 50)), `request ${i} body`);
      servedBy.add(reply.workerId);
    });
    const requestIds = new Set(results.map((r) => (JSON.parse(r.body.toString()) as EchoReply).requestId));
    assert.equal(requestIds.size, CONCURRENT, 'every request got its own X-Request-Id');
    assert.deepEqual([...servedBy].sort(), ['conc-a', 'conc-b'], 'both workers took part');
  });
});
