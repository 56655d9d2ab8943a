/**
 * The scaling curve: one zeroproxy router, then 1, 2, 4, 8 SDK workers (added live, as users add
 * them) whose GET /1kb waits a 5 ms timer before answering, driven by wrk at 200 connections.
 * Each worker takes `capacity` requests at a time, so until the router's core saturates the
 * throughput should follow capacity × workers / 5 ms; the table shows measured vs that ideal.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildSet, ManagedChild } from './children.ts';
import { SMALL_BODY_BYTES, SMALL_PATH } from './payloads.ts';
import type { ScalingRecord } from './results.ts';
import { checkResponse } from './scenarios.ts';
import { START_TIMEOUT_MS } from './targets/types.ts';
import { runWrk } from './wrk.ts';
import { startRouter } from './zeroproxy-processes.ts';

/** The handler's wait: a stand-in for a backend doing I/O (a timer, no CPU). */
const DELAY_MS = 5;
/**
 * Credit per worker: small on purpose, so one worker's ideal (16 / 5 ms = 3.2k req/s) is far below
 * the router's ceiling and the curve has room to grow before the router's core saturates.
 */
const CAPACITY = 16;
/** Enough connections to keep 8 × 16 = 128 slots busy with requests waiting in the router's queue. */
const CONNECTIONS = 200;
export const SCALING_WORKER_COUNTS = [1, 2, 4, 8] as const;

export interface ScalingPlan {
  children: ChildSet;
  repoRoot: string;
  tempDir: string;
  wrkPath: string;
  workerCounts: readonly number[];
  durationSec: number;
  warmupSec: number;
  log(line: string): void;
}

/** Measures every worker count in order; throws (after stopping what it started) on a failure. */
export async function runScaling(plan: ScalingPlan): Promise<ScalingRecord[]> {
  const dir = join(plan.tempDir, 'scaling');
  await mkdir(dir, { recursive: true });
  // The queue absorbs the connections beyond the workers' credit; it must not time them out.
  const router = startRouter(plan.children, plan.repoRoot, dir, ['--queue-timeout', '30000']);
  const workers: ManagedChild[] = [];
  const records: ScalingRecord[] = [];
  try {
    const baseUrl = await router.ready;
    const wrk = { wrkPath: plan.wrkPath, url: baseUrl + SMALL_PATH, connections: CONNECTIONS };
    for (const count of plan.workerCounts) {
      // Add workers up to `count`, started in parallel (tsx start-up dominates).
      const adding = Array.from({ length: count - workers.length }, (_, i) =>
        plan.children.start({
          name: `sdk worker ${workers.length + i + 1}`,
          command: process.execPath,
          args: ['--import', 'tsx', join(plan.repoRoot, 'bench', 'sdk-worker.ts'), '--connect', router.endpoint, '--capacity', String(CAPACITY), '--delay-ms', String(DELAY_MS)],
          cwd: plan.repoRoot,
        }),
      );
      workers.push(...adding);
      await Promise.all(adding.map((w) => w.waitForLog('worker registered', START_TIMEOUT_MS)));
      await checkResponse(baseUrl, { method: 'GET', path: SMALL_PATH, responseBytes: SMALL_BODY_BYTES });
      if (plan.warmupSec > 0) await runWrk(plan.children, { ...wrk, durationSec: plan.warmupSec });
      const label = `[scaling] ${count} worker${count === 1 ? '' : 's'}`;
      plan.log(`${label}: measuring ${plan.durationSec} s at c=${CONNECTIONS}`);
      const r = await runWrk(plan.children, { ...wrk, durationSec: plan.durationSec });
      const ideal = (count * CAPACITY * 1000) / DELAY_MS;
      records.push({ workers: count, capacity: CAPACITY, delayMs: DELAY_MS, connections: CONNECTIONS, idealRequestsPerSec: ideal, requestsPerSec: r.requestsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors });
      plan.log(`${label}: ${r.requestsPerSec.toFixed(0)} req/s (ideal ${ideal.toFixed(0)}), p50 ${r.p50Ms.toFixed(2)} ms${r.errors > 0 ? `, ${r.errors} ERRORS` : ''}`);
    }
    return records;
  } finally {
    await plan.children.stop(workers);
    await plan.children.stop([router.child]);
  }
}
