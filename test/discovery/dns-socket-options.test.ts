/**
 * Issue 12 item 5: a worker with a dns: router printed zeromq.js's "Warning: Socket option will not
 * take effect until next connect/bind" when re-resolution added a router. The worker then had one
 * socket for every router, and naming a second connection (ZMQ_CONNECT_ROUTING_ID) is an option set
 * on a socket that already has an endpoint. Now each router connection is its own socket, created
 * with every option and connected once (worker-sdk/src/transport.ts).
 *
 * A real worker process with a fixed router and a dns:localhost router (resolved every 50 ms): it
 * registers with both, re-resolves several times, drains on SIGTERM; its stderr has no warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRouter, useTestEnvironment, waitForRegistrations, spawnWorker } from '../helpers/index.ts';

const { group } = useTestEnvironment();
/** Re-resolutions to see after both routers registered the worker. */
const RE_RESOLUTIONS = 5;
const WAIT_MS = 30_000;

function portOf(endpoint: string): number {
  return Number(/:(\d+)$/.exec(endpoint)![1]);
}

test('a worker whose dns: target adds a router prints no socket-option warning', async () => {
  const fixed = await startRouter(group, { bind: 'tcp://127.0.0.1:*', name: 'router fixed' });
  const viaDns = await startRouter(group, { bind: 'tcp://127.0.0.1:*', name: 'router via dns' });
  const worker = spawnWorker(group, {
    // The fixed endpoint first: the dns: router is the second connection, added by the watcher.
    connect: `${fixed.bindEndpoint},dns:localhost:${portOf(viaDns.bindEndpoint)}`,
    handler: 'echo',
    args: ['--resolve-interval', '50', '--log-level', 'debug'],
    env: { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --trace-warnings`.trim() },
  });
  await worker.waitForLog((l) => l.msg === 'router added', WAIT_MS, '"router added"');
  await waitForRegistrations(worker, 2);
  const resolvedBefore = worker.findLogs((l) => l.msg === 'DNS resolved').length;
  await worker.waitForLog(() => worker.findLogs((l) => l.msg === 'DNS resolved').length >= resolvedBefore + RE_RESOLUTIONS, WAIT_MS, `${RE_RESOLUTIONS} more "DNS resolved" lines`);
  assert.equal(worker.findLogs((l) => l.msg === 'router added' || l.msg === 'router removed').length, 1, 'the same answer changes nothing');

  worker.signal('SIGTERM');
  assert.deepEqual(await worker.waitForExit(WAIT_MS), { code: 0, signal: null });
  assert.doesNotMatch(worker.stderr, /Socket option will not take effect/);
  assert.doesNotMatch(worker.stderr, /Warning:/);
});
