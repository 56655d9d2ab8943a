/**
 * kill -9 of one of three workers in the middle of a burst of 600 GETs: no request hangs (each ends
 * within a bound), none gets another request's body, at least 99% succeed (in-flight GETs on the dead
 * worker are retried elsewhere), and requests sent after the kill are served only by survivors.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EchoReply } from '../fixtures/echo.ts';
import {
  headerValue,
  httpRequest,
  makeAgent,
  startRouter,
  startWorkers,
  useTestEnvironment,
  type ManagedProcess,
  type RouterProcess,
} from '../helpers/index.ts';

const TOTAL = 600;
const LANES = 48;
/** Every request must end (any status) within this bound; more means it hung. */
const PER_REQUEST_BOUND_MS = 15_000;
/** Kill once the victim has started this many requests: well inside the burst. */
const KILL_AFTER_STARTED_ON_VICTIM = 40;

interface Outcome {
  index: number;
  id: string;
  startedAt: number;
  endedAt: number;
  status: number | 'error';
  error?: string;
  workerId?: string;
  echoedPath?: string;
}

describe('worker killed during a burst', () => {
  const env = useTestEnvironment();
  const agent = makeAgent(LANES);
  after(() => agent.close());
  let router: RouterProcess;
  let workers: ManagedProcess[];

  before(async () => {
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--heartbeat', '200', '--retries', '2'] });
    workers = await startWorkers(
      env.group,
      ['kill-a', 'kill-b', 'kill-c'].map((id) => ({ connect: router.bindEndpoint, handler: 'routes', id })),
    );
  });

  it('600 GETs survive kill -9 of one of 3 workers', async (t) => {
    const victim = workers[1]!;
    const victimId = 'kill-b';
    const ids = Array.from({ length: TOTAL }, () => randomUUID());
    const outcomes: Outcome[] = [];
    let next = 0;

    const lane = async (): Promise<void> => {
      for (let guard = 0; guard < TOTAL && next < TOTAL; guard++) {
        const index = next++;
        const id = ids[index]!;
        const startedAt = Date.now();
        try {
          const res = await httpRequest(`${router.httpUrl}/slow-echo?delay=25&id=${id}`, { dispatcher: agent, timeoutMs: PER_REQUEST_BOUND_MS });
          const outcome: Outcome = { index, id, startedAt, endedAt: Date.now(), status: res.status, workerId: headerValue(res, 'x-worker-id') };
          if (res.status === 200) outcome.echoedPath = (JSON.parse(res.body.toString()) as EchoReply).path;
          outcomes.push(outcome);
        } catch (err) {
          outcomes.push({ index, id, startedAt, endedAt: Date.now(), status: 'error', error: (err as Error).message });
        }
      }
    };

    const burst = Promise.all(Array.from({ length: LANES }, lane));
    await victim.waitForLog(
      () => victim.findLogs((l) => l.msg === 'fixture request started').length >= KILL_AFTER_STARTED_ON_VICTIM,
      20_000,
      `${KILL_AFTER_STARTED_ON_VICTIM} requests started on the victim`,
    );
    victim.signal('SIGKILL');
    await victim.waitForExit(5000);
    const killedAt = Date.now();
    await burst;

    assert.equal(outcomes.length, TOTAL, 'every request ended');
    const hung = outcomes.filter((o) => o.status === 'error' && /timed out|timeout/i.test(o.error ?? ''));
    assert.deepEqual(hung.map((o) => o.index), [], `requests that hung: ${JSON.stringify(hung.slice(0, 3))}`);
    for (const o of outcomes) {
      assert.ok(o.endedAt - o.startedAt <= PER_REQUEST_BOUND_MS, `request ${o.index} took ${o.endedAt - o.startedAt} ms`);
      if (o.status === 200) assert.equal(o.echoedPath, `/slow-echo?id=${o.id}`, `request ${o.index} got another request's body`);
    }
    const ok = outcomes.filter((o) => o.status === 200).length;
    const failures = outcomes.filter((o) => o.status !== 200);
    assert.ok(ok >= Math.ceil(TOTAL * 0.99), `only ${ok}/${TOTAL} succeeded; failures: ${JSON.stringify(failures.slice(0, 5))}`);
    for (const o of failures) {
      assert.ok(o.status === 'error' || (o.status >= 500 && o.status <= 504), `unexpected failure status ${JSON.stringify(o)}`);
    }

    const afterKill = outcomes.filter((o) => o.startedAt >= killedAt);
    const slowest = Math.max(...outcomes.map((o) => o.endedAt - o.startedAt));
    t.diagnostic(`ok ${ok}/${TOTAL}, started after the kill ${afterKill.length}, slowest ${slowest} ms, failures ${JSON.stringify(failures.map((f) => f.status))}`);
    assert.ok(afterKill.length > 0, 'the kill landed after the burst was over: nothing to check');
    for (const o of afterKill) {
      if (o.status === 200) assert.notEqual(o.workerId, victimId, `request ${o.index} sent after the kill was served by the dead worker`);
    }
    const beforeKill = new Set(outcomes.filter((o) => o.endedAt < killedAt && o.status === 200).map((o) => o.workerId));
    assert.ok(beforeKill.has(victimId), 'the victim served requests before it was killed');
    const survivorsAfter = new Set(afterKill.filter((o) => o.status === 200).map((o) => o.workerId));
    assert.ok(survivorsAfter.size >= 1 && !survivorsAfter.has(victimId));

    // The router is still healthy afterwards.
    const probe = await httpRequest(`${router.httpUrl}/probe`);
    assert.equal(probe.status, 200);
    assert.equal(router.proc.exitInfo, undefined, 'router still running');
  });
});
