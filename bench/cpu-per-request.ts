/**
 * CPU time per request, in µs, of each role of a target over one measured wrk run: the difference
 * of two CPU snapshots divided by the requests wrk completed. This is the number that stays
 * comparable on a small shared machine, where req/s mixes per-request cost with scheduling noise.
 *
 * A role whose process (or any process of its tree) exited or was replaced during the run gets no
 * number: part of its CPU would be missing. A process that appeared during the run counts from 0.
 */
import type { CpuSnapshot, ProcessTicks } from './cpu-snapshot.ts';

/** The load generator's role: reported, but not part of the cost of serving a request. */
export const CLIENT_ROLE = 'wrk';

/** µs per request of one role, by thread: Node's main (JS) thread, ZeroMQ's I/O thread, the rest. */
export interface ThreadSplit {
  main: number;
  zmqIo: number;
  other: number;
}

export interface CpuPerRequest {
  /** µs per request of each role that could be measured, the client (wrk) included. */
  byRole: Record<string, number>;
  /** Sum over the serving roles: everything but the client. */
  total: number;
  /** Roles sampled with their threads. */
  threads: Record<string, ThreadSplit>;
}

/** Two decimals: the tick resolution is far coarser anyway, and the JSON stays readable. */
function round(us: number): number {
  return Math.round(us * 100) / 100;
}

interface TickDelta {
  ticks: number;
  main?: number;
  zmqIo?: number;
}

function roleDelta(before: ReadonlyMap<string, ProcessTicks>, after: ReadonlyMap<string, ProcessTicks>): TickDelta | undefined {
  for (const key of before.keys()) if (!after.has(key)) return undefined;
  const sum: TickDelta = { ticks: 0 };
  for (const [key, a] of after) {
    const b = before.get(key);
    sum.ticks += a.ticks - (b?.ticks ?? 0);
    if (a.main !== undefined) sum.main = (sum.main ?? 0) + a.main - (b?.main ?? 0);
    // A ZeroMQ I/O thread never ends while its context lives; clamp all the same.
    if (a.zmqIo !== undefined) sum.zmqIo = (sum.zmqIo ?? 0) + Math.max(0, a.zmqIo - (b?.zmqIo ?? 0));
  }
  return sum;
}

/** null when there is nothing to divide (no snapshot, no request). */
export function cpuPerRequest(before: CpuSnapshot | null, after: CpuSnapshot | null, requests: number, ticksPerSecond: number): CpuPerRequest | null {
  if (before === null || after === null || !(requests > 0) || !(ticksPerSecond > 0)) return null;
  const us = (ticks: number): number => round((ticks * 1e6) / ticksPerSecond / requests);
  const out: CpuPerRequest = { byRole: {}, total: 0, threads: {} };
  let totalTicks = 0;
  for (const [role, b] of before.roles) {
    const a = after.roles.get(role);
    if (a === undefined || a.root !== b.root) continue;
    const d = roleDelta(b.processes, a.processes);
    if (d === undefined || d.ticks < 0) continue;
    out.byRole[role] = us(d.ticks);
    totalTicks += d.ticks;
    if (d.main !== undefined) {
      const main = Math.min(d.ticks, Math.max(0, d.main));
      const zmqIo = Math.min(d.ticks - main, d.zmqIo ?? 0);
      out.threads[role] = { main: us(main), zmqIo: us(zmqIo), other: us(d.ticks - main - zmqIo) };
    }
  }
  if (before.reapedTicks !== null && after.reapedTicks !== null && after.reapedTicks >= before.reapedTicks) {
    out.byRole[CLIENT_ROLE] = us(after.reapedTicks - before.reapedTicks);
  }
  out.total = us(totalTicks);
  return out;
}
