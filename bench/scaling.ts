/**
 * The scaling curve: one zeroproxy router, then 1, 2, 4, 8 SDK workers (added live, as users add
 * them) whose GET /1kb waits a 5 ms timer before answering, driven by wrk at 200 connections.
 * Each worker takes `capacity` requests at a time, so until the router's core saturates the
 * throughput should follow capacity × workers / 5 ms; the table shows measured vs that ideal.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildSet, ManagedChild } from './children.ts';
import { checkResponse } from './check.ts';
import { parseLogLine } from './log-line.ts';
import { SMALL_BODY_BYTES, SMALL_PATH } from './payloads.ts';
import type { ScalingRecord } from './results-model.ts';
import { START_TIMEOUT_MS } from './targets/types.ts';
import { runWrk } from './wrk.ts';
import { errorCount } from './wrk-parse.ts';
import { DRAIN_TIMEOUT_MS } from './zeroproxy-processes.ts';

/** The handler's wait: a stand-in for a backend doing I/O (a timer, no CPU). */
export const SCALING_DELAY_MS = 5;
/**
 * Credit per worker: small on purpose, so one worker's ideal (16 / 5 ms = 3.2k req/s) is far below
 * the router's ceiling and the curve has room to grow before the router's core saturates.
 */
export const SCALING_CAPACITY = 16;
/** Enough connections to keep 8 × 16 = 128 slots busy with requests waiting in the router's queue. */
export const SCALING_CONNECTIONS = 200;
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

function routerReady(line: string): string | undefined {
  const rec = parseLogLine(line);
  return rec?.['msg'] === 'router listening' && typeof rec['http'] === 'string' ? rec['http'].replace(/\/$/, '') : undefined;
}

function workerRegistered(line: string): true | undefined {
  return parseLogLine(line)?.['msg'] === 'worker registered' ? true : undefined;
}

export function idealRequestsPerSec(workers: number): number {
  return (workers * SCALING_CAPACITY * 1000) / SCALING_DELAY_MS;
}

/** Measures every worker count in order; throws (after stopping what it started) on a failure. */
export async function runScaling(plan: ScalingPlan): Promise<ScalingRecord[]> {
  const dir = join(plan.tempDir, 'scaling');
  await mkdir(dir, { recursive: true });
  const endpoint = `ipc://${join(dir, 'router.ipc')}`;
  const bin = join(plan.repoRoot, 'bin', 'zeroproxy.js');
  const started: ManagedChild[] = [];
  const router = plan.children.start({
    name: 'zeroproxy router (scaling)',
    command: process.execPath,
    // The queue absorbs the connections beyond the workers' credit; it must not time them out.
    args: [bin, 'router', '--http', '127.0.0.1:0', '--bind', endpoint, '--drain-timeout', String(DRAIN_TIMEOUT_MS), '--no-access-log', '--queue-timeout', '30000'],
    cwd: plan.repoRoot,
  });
  const records: ScalingRecord[] = [];
  try {
    const baseUrl = await router.waitForLine(routerReady, START_TIMEOUT_MS, '"router listening" line');
    for (const count of plan.workerCounts) {
      // Add workers up to `count` (started in parallel: tsx start-up dominates).
      const adding: ManagedChild[] = [];
      while (started.length + adding.length < count) {
        adding.push(
          plan.children.start({
            name: `sdk worker ${started.length + adding.length + 1}`,
            command: process.execPath,
            args: ['--import', 'tsx', join(plan.repoRoot, 'bench', 'sdk-worker.ts'), '--connect', endpoint, '--capacity', String(SCALING_CAPACITY), '--delay-ms', String(SCALING_DELAY_MS)],
            cwd: plan.repoRoot,
          }),
        );
      }
      started.push(...adding);
      await Promise.all(adding.map((w) => w.waitForLine(workerRegistered, START_TIMEOUT_MS, '"worker registered" line')));
      const url = baseUrl + SMALL_PATH;
      await checkResponse(baseUrl, { method: 'GET', path: SMALL_PATH, responseBytes: SMALL_BODY_BYTES });
      if (plan.warmupSec > 0) await runWrk(plan.children, { wrkPath: plan.wrkPath, url, connections: SCALING_CONNECTIONS, durationSec: plan.warmupSec });
      plan.log(`[scaling] ${count} worker${count === 1 ? '' : 's'}: measuring ${plan.durationSec} s at c=${SCALING_CONNECTIONS}`);
      const r = await runWrk(plan.children, { wrkPath: plan.wrkPath, url, connections: SCALING_CONNECTIONS, durationSec: plan.durationSec });
      const rec: ScalingRecord = {
        workers: count,
        capacity: SCALING_CAPACITY,
        delayMs: SCALING_DELAY_MS,
        connections: SCALING_CONNECTIONS,
        idealRequestsPerSec: idealRequestsPerSec(count),
        requestsPerSec: r.requestsPerSec,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        errors: errorCount(r),
      };
      records.push(rec);
      plan.log(
        `[scaling] ${count} worker${count === 1 ? '' : 's'}: ${rec.requestsPerSec.toFixed(0)} req/s (ideal ${rec.idealRequestsPerSec.toFixed(0)}), p50 ${rec.p50Ms.toFixed(2)} ms` +
          (rec.errors > 0 ? `, ${rec.errors} ERRORS` : ''),
      );
    }
    return records;
  } finally {
    await plan.children.stop(started);
    await plan.children.stop([router]);
  }
}
