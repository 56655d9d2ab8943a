/**
 * Bodies: an 8 MiB upload and a 12 MiB download arrive byte-exact (sha256), and a response is
 * streamed — its first chunk reaches the client while the handler is still holding the rest back.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { request } from 'undici';
import { deterministicSha256 } from '../fixtures/deterministic-bytes.ts';
import type { EchoReply } from '../fixtures/echo.ts';
import { FIRST_CHUNK, REST } from '../fixtures/slow-streamer.ts';
import { httpRequest, sha256, startRouter, startWorker, useTestEnvironment, withTimeout, type ManagedProcess, type RouterProcess } from '../helpers/index.ts';

describe('request and response bodies', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let worker: ManagedProcess;

  before(async () => {
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--heartbeat', '200'] });
    worker = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'bodies-worker' });
  });

  it('an 8 MiB upload reaches the worker byte-exact', async () => {
    const upload = randomBytes(8 * 1024 * 1024);
    const res = await httpRequest(`${router.httpUrl}/upload`, { method: 'POST', body: upload, timeoutMs: 30_000 });
    assert.equal(res.status, 200);
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    assert.equal(reply.bodyLength, upload.length);
    assert.equal(reply.bodySha256, sha256(upload));
  });

  it('a 12 MiB download reaches the client byte-exact', async () => {
    const total = 12 * 1024 * 1024;
    const res = await httpRequest(`${router.httpUrl}/big?bytes=${total}`, { timeoutMs: 30_000 });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, total);
    assert.equal(res.sha256, deterministicSha256(total));
  });

  it('the first response chunk arrives while the handler is still running', async () => {
    const key = `k${Date.now()}`;
    const controller = new AbortController();
    const res = await withTimeout(request(`${router.httpUrl}/slow/stream?key=${key}`, { signal: controller.signal }), 10_000, 'response head');
    try {
      assert.equal(res.statusCode, 200);
      const iterator = res.body[Symbol.asyncIterator]();
      // The handler will not send the rest until we call /slow/release: receiving the first chunk now
      // proves the router forwarded it without waiting for the handler to finish.
      let received = '';
      for (let i = 0; i < 100 && received.length < FIRST_CHUNK.length; i++) {
        const next = await withTimeout(iterator.next(), 10_000, 'first chunk while the handler waits');
        if (next.done) break;
        received += Buffer.from(next.value as Buffer).toString();
      }
      assert.equal(received, FIRST_CHUNK);
      assert.equal(worker.findLogs((l) => l.msg === 'fixture released' && l['key'] === key).length, 0, 'handler still holding');

      const release = await httpRequest(`${router.httpUrl}/slow/release?key=${key}`);
      assert.equal(release.status, 200, 'the release found the waiting handler');
      for (let i = 0; i < 100; i++) {
        const next = await withTimeout(iterator.next(), 10_000, 'rest of the body');
        if (next.done) break;
        received += Buffer.from(next.value as Buffer).toString();
      }
      assert.equal(received, FIRST_CHUNK + REST);
    } finally {
      controller.abort();
    }
  });
});
