/**
 * `zeroproxy worker --connect dns:localhost:<port>` as a real process: localhost resolves (through
 * /etc/hosts) to 127.0.0.1, where a real router listens; a mixed list with a tcp:// endpoint joins
 * both routers. Malformed dns: entries and intervals are usage errors (exit 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpRequest, runToExit, startRouter, useTestEnvironment, waitForRegistrations, spawnWorker, fixture } from '../helpers/index.ts';

const { group } = useTestEnvironment();

function portOf(endpoint: string): number {
  return Number(/:(\d+)$/.exec(endpoint)![1]);
}

test('worker --connect dns:localhost:<port>,tcp://… joins the router DNS names and the fixed one', async () => {
  const viaDns = await startRouter(group, { bind: 'tcp://127.0.0.1:*', name: 'router via dns' });
  const fixed = await startRouter(group, { bind: 'tcp://127.0.0.1:*', name: 'router fixed' });
  const worker = spawnWorker(group, {
    connect: `dns:localhost:${portOf(viaDns.bindEndpoint)},${fixed.bindEndpoint}`,
    handler: 'echo',
    args: ['--resolve-interval', '200'],
  });
  await waitForRegistrations(worker, 2);
  const added = worker.findLogs((l) => l.msg === 'router added');
  assert.deepEqual(added.map((l) => l['router']), [`tcp://127.0.0.1:${portOf(viaDns.bindEndpoint)}`]);
  const started = worker.findLogs((l) => l.msg === 'worker started')[0]!;
  assert.deepEqual(started['routers'], [fixed.bindEndpoint, `dns:localhost:${portOf(viaDns.bindEndpoint)}`]);
  for (const router of [viaDns, fixed]) {
    const res = await httpRequest(`${router.httpUrl}/hello`);
    assert.equal(res.status, 200, router.proc.name);
    assert.equal(JSON.parse(res.body.toString()).path, '/hello');
  }
  // Re-resolution that finds the same answer changes nothing: still one link to the dns router.
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(worker.findLogs((l) => l.msg === 'router added' || l.msg === 'router removed').length, 1);
  worker.signal('SIGTERM');
  assert.deepEqual(await worker.waitForExit(30_000), { code: 0, signal: null });
});

test('malformed dns: targets and --resolve-interval are usage errors', async () => {
  for (const args of [
    ['--connect', 'dns:localhost'],
    ['--connect', 'dns:localhost:0'],
    ['--connect', 'dns:bad name:5555'],
    ['--connect', 'dns:localhost:5555', '--resolve-interval', '0'],
  ]) {
    const r = await runToExit(['worker', ...args, '--handler', fixture('echo')], 30_000);
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
