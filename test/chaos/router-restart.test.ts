/**
 * Router restart: workers notice (heartbeat loss, the router's BYE, or the new router answering that
 * it does not know them) and register again with the router that comes back on the same endpoint
 * within 2× the heartbeat interval of it listening — measured between the two processes' own log
 * timestamps, so a slow test runner does not skew it. No worker restarts: same pids, still running.
 *
 * The router stays down for several heartbeat intervals, long enough for a worker to give the old
 * one up and fall back to its HELLO retry loop: the retry backoff must not outgrow the heartbeat.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import {
  httpRequest,
  isRegistered,
  REPO_ROOT,
  startRouter,
  startWorkers,
  useTestEnvironment,
  type LogLine,
} from '../helpers/index.ts';

const HANDLER = path.join(REPO_ROOT, 'chaos', 'handler.ts');
const HEARTBEAT_MS = 500;
/** How long nothing listens on the endpoint: the workers' HELLOs go unanswered for this long. */
const DOWN_MS = 4 * HEARTBEAT_MS;

function logTime(line: LogLine): number {
  assert.equal(typeof line['time'], 'number', `no pino time on ${JSON.stringify(line)}`);
  return line['time'] as number;
}

// The two cases use their own endpoints and processes: run side by side to halve the wall time.
describe('router restart', { concurrency: true }, () => {
  const env = useTestEnvironment();

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`after ${signal}, workers re-register within 2× the heartbeat, none restarted`, async (t) => {
      const bind = env.tmp.ipc(`${signal}.sock`);
      const args = ['--heartbeat', String(HEARTBEAT_MS)];
      const first = await startRouter(env.group, { bind, name: `${signal}-router-1`, args });
      const workers = await startWorkers(env.group, [
        { connect: bind, id: `${signal}-w1`, name: `${signal}-w1`, args: ['--handler', HANDLER] },
        { connect: bind, id: `${signal}-w2`, name: `${signal}-w2`, args: ['--handler', HANDLER] },
      ]);
      const pids = workers.map((w) => w.pid);
      assert.equal((await httpRequest(`${first.httpUrl}/chaos/get?seed=1&bytes=10`)).status, 200);

      first.proc.signal(signal);
      const exit = await first.proc.waitForExit(30_000);
      if (signal === 'SIGTERM') assert.deepEqual(exit, { code: 0, signal: null });
      // Registrations logged after this instant can only be with the new router.
      const goneAt = Date.now();
      const withNewRouter = (l: LogLine): boolean => isRegistered(l) && logTime(l) > goneAt;
      await sleep(DOWN_MS); // the scenario itself: the router is away for a while
      const second = await startRouter(env.group, { bind, name: `${signal}-router-2`, args });
      const upAt = logTime(second.proc.findLogs((l) => l.msg === 'router listening')[0]!);
      const lines = await Promise.all(workers.map((w) => w.waitForLog(withNewRouter, 30_000, 'a registration with the new router')));

      const delays = lines.map((l) => logTime(l) - upAt);
      t.diagnostic(`re-registered ${delays.join(' ms, ')} ms after the new router listened (heartbeat ${HEARTBEAT_MS} ms)`);
      for (const [i, d] of delays.entries()) {
        assert.ok(d <= 2 * HEARTBEAT_MS, `${workers[i]!.name} re-registered ${d} ms after the router came back (> 2 × ${HEARTBEAT_MS} ms)`);
      }
      assert.deepEqual(workers.map((w) => w.pid), pids);
      for (const w of workers) assert.equal(w.exitInfo, undefined, `${w.name} exited`);
      // A worker answers BYE with a new HELLO at once: a router on its way out must not WELCOME it,
      // or the worker believes it is registered with a router that no longer exists.
      for (const w of workers) {
        const early = w.findLogs((l) => isRegistered(l) && logTime(l) < upAt);
        assert.equal(early.length, 1, `${w.name} registered ${early.length} times before the new router was up\n${w.describe()}`);
      }
      const res = await httpRequest(`${second.httpUrl}/chaos/get?seed=2&bytes=10`, { timeoutMs: 10_000 });
      assert.equal(res.status, 200);
      await Promise.all([second.proc.stop(), ...workers.map((w) => w.stop())]);
    });
  }

});
