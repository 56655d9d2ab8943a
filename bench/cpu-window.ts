/**
 * Brackets one measured run: a CPU snapshot of the target's processes right before it starts and
 * one right after it ends. Never throws — CPU numbers are extra information, and a run must not
 * fail because /proc could not be read (or does not exist: not Linux, then there are no numbers).
 */
import { cpuPerRequest, type CpuPerRequest } from './cpu-per-request.ts';
import { clockTicksPerSecond, takeCpuSnapshot, type CpuSnapshot, type ProcessRole } from './cpu-snapshot.ts';

export interface CpuWindow {
  /** The second snapshot, divided by the requests the run completed; null when unavailable. */
  finish(requests: number): Promise<CpuPerRequest | null>;
}

async function snapshot(processes: readonly ProcessRole[]): Promise<CpuSnapshot | null> {
  try {
    return await takeCpuSnapshot(processes);
  } catch {
    return null;
  }
}

/**
 * Call right before the run starts; nothing this process spawns may exit between here and
 * finish() other than the run itself (wrk's CPU is read from this process's reaped-children time).
 */
export async function openCpuWindow(processes: readonly ProcessRole[]): Promise<CpuWindow> {
  // getconf is a child too: it is reaped before the first snapshot, so it does not count as wrk.
  const ticksPerSecond = process.platform === 'linux' ? await clockTicksPerSecond() : 0;
  const before = ticksPerSecond > 0 ? await snapshot(processes) : null;
  return {
    async finish(requests) {
      if (before === null) return null;
      return cpuPerRequest(before, await snapshot(processes), requests, ticksPerSecond);
    },
  };
}
