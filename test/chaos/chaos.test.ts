/**
 * The chaos harness in CI: 30 s of load through a router while workers are SIGKILLed and SIGTERMed
 * every ~2 s (and the router is restarted once or twice), at a modest rate so a loaded 2-core
 * machine keeps up. The run must exit 0 — no hung request, no wrong body, no failure the guarantees
 * do not allow — and end with the summary line.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, useTestEnvironment } from '../helpers/index.ts';

const DURATION_S = 30;
/** Startup (router, backend, 4 workers through tsx) and the end of the last requests, with room. */
const RUN_BOUND_MS = (DURATION_S + 60) * 1000;
const SUMMARY = /^requests (\d+) ok (\d+) failed (\d+) hung (\d+) wrong-body (\d+) retried (\d+) p50 ([\d.]+) ms p99 ([\d.]+) ms$/;

describe('chaos harness', () => {
  const env = useTestEnvironment();

  it(`${DURATION_S} s of kills under load: nothing hangs, no wrong body, no disallowed failure`, { timeout: RUN_BOUND_MS + 10_000 }, async (t) => {
    const run = env.group.spawnTs('chaos', path.join(REPO_ROOT, 'chaos', 'run.ts'), [
      '--duration', String(DURATION_S),
      '--workers', '4',
      '--rate', '20',
      '--seed', '20261127',
      '--router-restarts',
      '--router-restart-every', '12000',
      '--results-dir', env.tmp.path,
    ]);
    const exit = await run.waitForExit(RUN_BOUND_MS);
    const output = run.rawOutput;
    const summary = output.at(-1) ?? '';
    t.diagnostic(summary);
    const explain = `exit ${JSON.stringify(exit)}\n${output.filter((l) => !l.startsWith('[')).join('\n')}\n${run.stderr}`;
    assert.deepEqual(exit, { code: 0, signal: null }, explain);
    const m = SUMMARY.exec(summary);
    assert.ok(m, `last line is not the summary: ${JSON.stringify(summary)}\n${explain}`);
    const [requests, ok, failed, hung, wrongBody] = m.slice(1, 6).map(Number) as [number, number, number, number, number];
    assert.equal(hung, 0);
    assert.equal(wrongBody, 0);
    assert.equal(requests, ok + failed + hung + wrongBody, 'the counts add up');
    assert.ok(requests >= DURATION_S * 20 * 0.5, `only ${requests} requests in ${DURATION_S} s at 20 req/s`);
    // The chaos really happened: both kinds of kill, and a router restart.
    const progress = output.join('\n');
    assert.match(progress, /SIGKILL chaos-/, 'no worker was SIGKILLed');
    assert.match(progress, /SIGTERM chaos-/, 'no worker was SIGTERMed');
    assert.match(progress, /router-up router-2/, 'the router was never restarted');
    assert.ok(output.some((l) => l.startsWith('latency chart: ')), 'no latency chart written');
  });
});
