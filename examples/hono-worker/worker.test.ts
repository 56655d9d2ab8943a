/**
 * The Hono example through a real router: `zeroproxy router` and examples/hono-worker/worker.ts as
 * processes, then its routes over HTTP — text, path/query params, a JSON body in and a 201 out,
 * a 400 for bad JSON, a 404 from Hono's notFound, and a streamed response read chunk by chunk.
 * The --handler form (handler.ts) is checked once too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { httpRequest, spawnWorker, startRouter, useTestEnvironment, waitForRegistrations, withTimeout, START_TIMEOUT_MS, REPO_ROOT } from '../../test/helpers/index.ts';
import path from 'node:path';

const { group } = useTestEnvironment();

test('a Hono app runs unchanged behind the SDK (createWorker({ handler: app.fetch }))', async () => {
  const router = await startRouter(group, { bind: 'tcp://127.0.0.1:*' });
  const worker = group.spawnTs('hono worker', 'examples/hono-worker/worker.ts', [], { env: { ZEROPROXY_CONNECT: router.bindEndpoint } });
  await worker.waitForLog((l) => l.msg === 'hono worker ready', START_TIMEOUT_MS, '"hono worker ready"');

  const home = await httpRequest(`${router.httpUrl}/`);
  assert.equal(home.status, 200);
  assert.equal(home.body.toString(), 'hello from Hono behind zeroproxy\n');
  assert.match(String(home.headers['content-type']), /^text\/plain/);

  const user = await httpRequest(`${router.httpUrl}/users/42?fields=name`);
  assert.equal(user.status, 200);
  assert.deepEqual(JSON.parse(user.body.toString()), { id: '42', fields: 'name' });

  const posted = await httpRequest(`${router.httpUrl}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'hono-test-1' },
    body: JSON.stringify({ hello: ['world', 1] }),
  });
  assert.equal(posted.status, 201);
  assert.equal(posted.headers['location'], '/echo/1');
  assert.deepEqual(JSON.parse(posted.body.toString()), { received: { hello: ['world', 1] }, requestId: 'hono-test-1' });

  const bad = await httpRequest(`${router.httpUrl}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
  assert.equal(bad.status, 400);

  const missing = await httpRequest(`${router.httpUrl}/no/such/route`);
  assert.equal(missing.status, 404);
  assert.deepEqual(JSON.parse(missing.body.toString()), { error: 'not found', path: '/no/such/route' });

  // Streamed: the first line arrives before the last is written (bounded read, never a hang).
  const signal = AbortSignal.timeout(20_000);
  const res = await request(`${router.httpUrl}/count/50`, { signal });
  assert.equal(res.statusCode, 200);
  let text = '';
  let chunks = 0;
  for await (const chunk of res.body) {
    chunks++;
    text += (chunk as Buffer).toString();
  }
  assert.equal(text, Array.from({ length: 50 }, (_, i) => `${i + 1}\n`).join(''));
  assert.ok(chunks > 1, `streamed in ${chunks} chunks, not buffered whole`);

  worker.signal('SIGTERM');
  assert.deepEqual(await worker.waitForExit(30_000), { code: 0, signal: null });
});

test('the same app as a --handler module', async () => {
  const router = await startRouter(group, { bind: 'tcp://127.0.0.1:*', name: 'router 2' });
  const worker = spawnWorker(group, { connect: router.bindEndpoint, args: ['--handler', path.join(REPO_ROOT, 'examples/hono-worker/handler.ts')] });
  await withTimeout(waitForRegistrations(worker), 35_000, 'hono --handler worker');
  const user = await httpRequest(`${router.httpUrl}/users/7`);
  assert.equal(user.status, 200);
  assert.deepEqual(JSON.parse(user.body.toString()), { id: '7', fields: null });
});
