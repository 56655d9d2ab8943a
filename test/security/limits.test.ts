/**
 * Limits against slow or greedy peers, with real processes:
 * - slowloris: a head sent byte by byte gets 408 and the connection closed (--header-timeout);
 *   a body that stalls gets 408 too (--body-timeout);
 * - --max-worker-streams caps a worker's streams in flight whatever credit it claims;
 * - a full queue answers 503 with Retry-After;
 * - --retry-budget: when a worker dies with 30 requests in flight and the budget is 0 %, only the
 *   reserve (10) is retried and the rest get 502 ZP_ERR_RETRY_BUDGET.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EMPTY_BODY } from '../../proto/src/index.ts';
import { FakeWorker } from '../router/fake-worker.ts';
import { RETRY_BUDGET_RESERVE } from '../../router/src/security/retry-budget.ts';
import { headerValue, httpRequest, makeAgent, startRouter, startWorker, useTestEnvironment, withTimeout, type HttpResult, type RouterProcess } from '../helpers/index.ts';

const HEADER_TIMEOUT_MS = 1000;
const BODY_TIMEOUT_MS = 2000;
/** Upper bound on how long past the timeout the 408 may come (node checks every timeout/4). */
const SLACK_MS = 8000;

/** Opens a connection, runs `feed` (which writes slowly), and resolves with all bytes once the server closes. */
async function slowClient(url: string, feed: (socket: net.Socket, closed: () => boolean) => Promise<void>): Promise<{ reply: string; elapsedMs: number }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  const started = Date.now();
  let isClosed = false;
  const chunks: Buffer[] = [];
  const closed = new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      isClosed = true;
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  void feed(socket, () => isClosed);
  try {
    await withTimeout(closed, HEADER_TIMEOUT_MS + BODY_TIMEOUT_MS + SLACK_MS, 'the server to close a slow connection');
  } finally {
    socket.destroy();
  }
  return { reply: Buffer.concat(chunks).toString('latin1'), elapsedMs: Date.now() - started };
}

async function trickle(socket: net.Socket, closed: () => boolean, text: string, everyMs: number): Promise<void> {
  for (let i = 0; i < 1000 && !closed(); i++) {
    socket.write(text[i % text.length]!);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

describe('slow clients, worker stream cap, full queue', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let fake: FakeWorker | undefined;
  after(async () => fake?.close());

  before(async () => {
    router = await startRouter(env.group, {
      bind: env.tmp.ipc('r.sock'),
      args: ['--header-timeout', String(HEADER_TIMEOUT_MS), '--body-timeout', String(BODY_TIMEOUT_MS), '--max-worker-streams', '3', '--queue-size', '3', '--queue-timeout', '30000'],
    });
  });

  it('a head sent byte by byte gets 408 and the connection is closed', async () => {
    const { reply, elapsedMs } = await slowClient(router.httpUrl, (socket, closed) =>
      trickle(socket, closed, 'GET /slowloris HTTP/1.1\r\nHost: a\r\nX-Filler: ' + 'y'.repeat(5000), 50),
    );
    assert.match(reply, /^HTTP\/1\.1 408 /, reply);
    assert.ok(elapsedMs >= HEADER_TIMEOUT_MS - 50, `closed after ${elapsedMs} ms, not before the timeout`);
  });

  it('a body that stalls gets 408 and the connection is closed', async () => {
    const { reply } = await slowClient(router.httpUrl, async (socket, closed) => {
      socket.write('POST /slow-body HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n0123456789');
      await trickle(socket, closed, 'z', 200);
    });
    assert.match(reply, /^HTTP\/1\.1 408 /, reply);
  });

  it('--max-worker-streams caps a worker whatever credit it announces; a full queue answers 503 + Retry-After', async () => {
    fake = new FakeWorker(router.bindEndpoint, { id: 'greedy', capacity: 10 });
    await fake.sendHello({}, 30_000);
    await fake.next('WELCOME', 30_000);
    const pending = Array.from({ length: 6 }, (_, i) => httpRequest(`${router.httpUrl}/capped/${i}`, { timeoutMs: 30_000 }));
    const reqs = [];
    for (let i = 0; i < 3; i++) reqs.push(await fake.next('REQ', 30_000));
    // More credit than the cap allows, then a round trip that proves the router has handled it:
    // a DATA for an unknown stream is answered with one RST, after any REQ the CREDIT released.
    await fake.send({ type: 'CREDIT', credit: 100 }, { type: 'DATA', stream: 999_999, seq: 0, fin: true, body: EMPTY_BODY });
    await fake.next('RST', 30_000, (m) => m.stream === 999_999);
    assert.equal(fake.take('REQ').length, 0, 'no fourth stream on the capped worker');

    // Three wait in the queue (size 3): one more gets 503 at once, with Retry-After.
    const full = await httpRequest(`${router.httpUrl}/overflow`);
    assert.equal(full.status, 503);
    assert.match(headerValue(full, 'retry-after') ?? '', /^\d+$/);

    // Finish streams one by one (CREDIT +1 each, as the SDK does): the queued ones follow, ≤ 3 at a time.
    let open = reqs;
    let finished = 0;
    while (finished < 6) {
      const req = open.shift()!;
      await fake.send(
        { type: 'RES', stream: req.stream, seq: 0, status: 200, headers: ['x-path', req.path], fin: true, body: Buffer.from(req.path) },
        { type: 'CREDIT', credit: 1 },
      );
      finished++;
      if (finished <= 3) open.push(await fake.next('REQ', 30_000));
      assert.ok(open.length <= 3);
    }
    const results: HttpResult[] = await Promise.all(pending);
    results.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `/capped/${i}`);
    });
    open = [];
  });
});

describe('retry budget', () => {
  const env = useTestEnvironment();
  const agent = makeAgent(40);
  let victim: FakeWorker | undefined;
  after(async () => {
    await victim?.close();
    await agent.close();
  });

  it('with --retry-budget 0 only the reserve is retried when a worker dies; the rest get 502', async () => {
    const router = await startRouter(env.group, { bind: env.tmp.ipc('b.sock'), args: ['--retry-budget', '0', '--retries', '2'] });
    victim = new FakeWorker(router.bindEndpoint, { id: 'victim', capacity: 30 });
    await victim.sendHello({}, 30_000);
    await victim.next('WELCOME', 30_000);
    const pending = Array.from({ length: 30 }, (_, i) => httpRequest(`${router.httpUrl}/budget/${i}`, { dispatcher: agent, timeoutMs: 60_000 }));
    for (let i = 0; i < 30; i++) await victim.next('REQ', 15_000);
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'echo', id: 'survivor' });
    await victim.send({ type: 'BYE', reason: 'dying' }); // every stream fails at once, none answered
    const results = await Promise.all(pending);
    const retried = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 502 && (JSON.parse(r.body.toString()) as { error: string }).error === 'ZP_ERR_RETRY_BUDGET');
    assert.equal(retried.length, RETRY_BUDGET_RESERVE, `retried within the reserve: ${results.map((r) => r.status).join(',')}`);
    assert.equal(refused.length, 30 - RETRY_BUDGET_RESERVE);
    for (const r of retried) assert.equal(headerValue(r, 'x-worker-id'), 'survivor');
    await router.proc.waitForLog((l) => l.msg === 'retry budget exhausted: not retrying', 5000, 'the budget log line');
  });
});
