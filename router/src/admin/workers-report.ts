/** The JSON documents of /workers and /readyz, built from the router's live state. */
import { workerState, type RouterLiveState, type WorkerState } from './live-state.ts';

/** One worker in /workers (and in `zeroproxy status`). Times are milliseconds. */
export interface WorkerReportEntry {
  id: string;
  pool: string;
  state: WorkerState;
  capacity: number;
  credit: number;
  inFlight: number;
  uptimeMs: number;
  /** Since the last message of any kind from the worker (every message counts as a heartbeat). */
  lastHeartbeatAgeMs: number;
  meta: Record<string, string>;
}

export interface WorkersReport {
  routerId: string;
  epoch: string;
  /** When the report was made (ms since epoch). */
  time: number;
  workers: WorkerReportEntry[];
}

export function workersReport(state: RouterLiveState, now: number): WorkersReport {
  const workers: WorkerReportEntry[] = [];
  for (const w of state.workers()) {
    workers.push({
      id: w.workerId,
      pool: w.pool,
      state: workerState(w),
      capacity: w.capacity,
      credit: w.draining ? 0 : Math.max(0, w.credit),
      inFlight: w.inFlight,
      uptimeMs: Math.max(0, now - w.registeredAt),
      lastHeartbeatAgeMs: Math.max(0, now - w.lastSeenAt),
      meta: { ...w.meta },
    });
  }
  return { routerId: state.routerId, epoch: state.epoch, time: now, workers };
}

export type Readiness = { ready: true; workers: number } | { ready: false; reason: string };

/** Ready = taking requests and at least one registered worker that is not draining. */
export function readiness(state: RouterLiveState): Readiness {
  if (!state.accepting()) return { ready: false, reason: 'router is shutting down' };
  let registered = 0;
  let ready = 0;
  for (const w of state.workers()) {
    registered++;
    if (!w.draining) ready++;
  }
  if (registered === 0) return { ready: false, reason: 'no worker registered' };
  if (ready === 0) return { ready: false, reason: `all ${registered} registered workers are draining` };
  return { ready: true, workers: ready };
}
