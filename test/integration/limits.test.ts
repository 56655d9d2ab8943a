/**
 * Limits and failures end every request with a clear status, and nothing crashes: request timeout →
 * 504 (and the worker's stream is reset with code timeout), body too large → 413, head too large →
 * 431, full queue → 503 at once, a throwing handler → 500 with the worker still serving, garbage on
 * the HTTP port → 400.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { before, describe, it } from 'node:test';
import {
  headerValue,
  httpRequest,
  startRouter,
  startWorker,
  useTestEnvironment,
  withTimeout,
  type ManagedProcess,
  type RouterProcess,
} from '../helpers/index.ts';

const REQUEST_TIMEOUT_MS = 500;
const MAX_BODY = 64 * 1024;
const MAX_HEADER = 4096;

describe('limits', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let worker: ManagedProcess;

  before(async () => {
    router = await startRouter(env.group, {
      bind: env.tmp.ipc('r.sock'),
      args: ['--heartbeat', '200', '--request-timeout', String(REQUEST_TIMEOUT_MS), '--max-body-size', String(MAX_BODY), '--max-header-size', String(MAX_HEADER)],
    });
    worker = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'limits-worker' });
  });

  it('a request slower than --request-timeout gets 504 and the handler is aborted', async () => {
    const requestId = `timeout-${Date.now()}`;
    const res = await httpRequest(`${router.httpUrl}/slow-echo?delay=10000`, { headers: { 'x-request-id': requestId }, timeoutMs: 8000 });
    assert.ok(res.elapsedMs >= REQUEST_TIMEOUT_MS - 50 && res.elapsedMs < REQUEST_TIMEOUT_MS + 3000, `answer after ${res.elapsedMs} ms`);
    // The handler's signal aborts at the deadline (router RST timeout, or the worker's own deadline from REQ.timeoutMs).
    await worker.waitForLog((l) => l.msg === 'fixture saw abort' && l['requestId'] === requestId, 5000, 'the handler to be aborted at the deadline');
    assert.equal(res.status, 504, `SPEC §6: the deadline passing answers 504; got ${res.status} ${res.body.toString()}`);
  });

  it('a body over --max-body-size gets 413', async () => {
    const res = await httpRequest(`${router.httpUrl}/upload`, { method: 'POST', body: Buffer.alloc(MAX_BODY + 1, 0x61) });
    assert.equal(res.status, 413);
    const fits = await httpRequest(`${router.httpUrl}/upload`, { method: 'POST', body: Buffer.alloc(MAX_BODY, 0x61) });
    assert.equal(fits.status, 200, 'a body of exactly the limit is accepted');
  });

  it('a request head over --max-header-size gets 431', async () => {
    const res = await httpRequest(`${router.httpUrl}/big-head`, { headers: { 'x-filler': 'f'.repeat(MAX_HEADER * 2) } });
    assert.equal(res.status, 431);
    const ok = await httpRequest(`${router.httpUrl}/after-431`);
    assert.equal(ok.status, 200, 'the router still serves');
  });

  it('a handler that throws gives 500 and the worker keeps serving', async () => {
    const res = await httpRequest(`${router.httpUrl}/throw`);
    assert.equal(res.status, 500);
    assert.ok(!res.body.toString().includes('failed on purpose'), 'the error message does not leak to the client');
    const next = await httpRequest(`${router.httpUrl}/after-throw`);
    assert.equal(next.status, 200);
    assert.equal(headerValue(next, 'x-worker-id'), 'limits-worker');
    assert.equal(worker.exitInfo, undefined);
  });

  it('garbage on the HTTP port gets 400 and crashes nothing', async () => {
    const { hostname, port } = new URL(router.httpUrl);
    const socket = net.connect({ host: hostname, port: Number(port) });
    const reply = await withTimeout(
      new Promise<string>((resolve, reject) => {
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (c: string) => (data += c));
        socket.once('error', reject);
        socket.once('close', () => resolve(data));
        socket.once('connect', () => socket.write('THIS IS NOT HTTP\r\n\x00\x01\x02\r\n\r\n'));
      }),
      5000,
      'the router to answer garbage',
    ).finally(() => socket.destroy());
    assert.match(reply, /^HTTP\/1\.1 400/);
    const ok = await httpRequest(`${router.httpUrl}/after-garbage`);
    assert.equal(ok.status, 200);
    assert.equal(router.proc.exitInfo, undefined);
  });
});

describe('queue limit', () => {
  const env = useTestEnvironment();

  it('with --queue-size 2 and no worker, one of three requests gets 503 at once', async () => {
    const queueTimeout = 3000;
    const router = await startRouter(env.group, { bind: env.tmp.ipc('q.sock'), args: ['--queue-size', '2', '--queue-timeout', String(queueTimeout)] });
    // Three at once on separate connections: whichever arrives third finds the queue full.
    const results = await Promise.all(['q1', 'q2', 'q3'].map((p) => httpRequest(`${router.httpUrl}/${p}`, { timeoutMs: queueTimeout + 5000 })));
    for (const r of results) assert.equal(r.status, 503);
    const immediate = results.filter((r) => r.elapsedMs < queueTimeout / 2);
    const waited = results.filter((r) => r.elapsedMs >= queueTimeout - 50);
    assert.equal(immediate.length, 1, `one overflow 503 at once; elapsed: ${results.map((r) => Math.round(r.elapsedMs))}`);
    assert.equal(waited.length, 2, 'two queued until --queue-timeout');
  });
});
