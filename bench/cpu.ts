/**
 * CPU time per request, in µs, of each role of a target over one measured wrk run — the number that
 * stays comparable on a small shared machine, where req/s mixes per-request cost with scheduling.
 *
 * A role is one process with its descendants (nginx master + worker). A snapshot of the CPU ticks
 * (user + system, all threads) of every role is taken right before and right after the run; the
 * difference divided by the requests wrk completed is the result. For the roles that ask for it,
 * the ticks are split into the main thread and ZeroMQ's I/O thread. wrk itself is measured through
 * the bench's own reaped-children time (cutime + cstime): it is gone by the second snapshot.
 *
 * A role whose process (or any process of its tree) exited or was replaced during the run gets no
 * number: part of its CPU would be missing. A process that appeared during the run counts from 0.
 * Linux only: elsewhere there are no snapshots and no numbers.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { processTree, readProcStat } from './proc.ts';

/** A process a target consists of, under the name its column gets in the CPU table. */
export interface ProcessRole {
  role: string;
  pid: number;
  /** Split its CPU into main thread / ZeroMQ I/O thread / other threads (the zeroproxy processes). */
  threads?: boolean;
}

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

export interface ProcessTicks {
  /** All threads, dead ones included (the process's own stat line). */
  ticks: number;
  /** Only with `threads`: the thread whose tid is the pid (Node's JS thread), and the ZeroMQ I/O threads. */
  main?: number;
  zmqIo?: number;
}

export interface CpuSnapshot {
  /** Roles whose process could be read (a gone one is absent): "pid:starttime" of the role's own process, and every process of its tree. */
  roles: Map<string, { root: string; processes: Map<string, ProcessTicks> }>;
  /** cutime + cstime of this (bench) process: grows by wrk's CPU when wrk exits and is reaped. */
  reapedTicks: number | null;
}

/** libzmq names its I/O threads "ZMQbg/IO/<n>" (and its reaper "ZMQbg/Reaper", counted as other). */
const ZMQ_IO_THREAD = /^ZMQbg\/IO\//;

async function threadTicks(pid: number): Promise<{ main: number; zmqIo: number } | undefined> {
  const tids = await readdir(`/proc/${pid}/task`).catch(() => undefined);
  if (tids === undefined) return undefined;
  let main = 0;
  let zmqIo = 0;
  for (const tid of tids.map(Number)) {
    const stat = await readProcStat(pid, tid);
    if (stat === undefined) continue; // a thread that ended since the listing
    const ticks = stat.utime + stat.stime;
    if (tid === pid) main = ticks;
    else if (ZMQ_IO_THREAD.test(await readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8').catch(() => ''))) zmqIo += ticks;
  }
  return { main, zmqIo };
}

async function sampleRole(p: ProcessRole): Promise<{ root: string; processes: Map<string, ProcessTicks> } | undefined> {
  const tree = await processTree(p.pid);
  if (tree === null) return undefined;
  const processes = new Map<string, ProcessTicks>();
  let root: string | undefined;
  for (const pid of tree) {
    const stat = await readProcStat(pid);
    if (stat === undefined) continue; // exited since the listing
    const key = `${pid}:${stat.starttime}`;
    if (pid === p.pid) root = key;
    processes.set(key, { ticks: stat.utime + stat.stime, ...(p.threads ? await threadTicks(pid) : {}) });
  }
  return root === undefined ? undefined : { root, processes };
}

/** The CPU used so far by every role; null off Linux (no readable /proc). */
export async function takeCpuSnapshot(processes: readonly ProcessRole[]): Promise<CpuSnapshot | null> {
  if (process.platform !== 'linux') return null;
  const self = await readProcStat(process.pid);
  if (self === undefined) return null;
  const roles: CpuSnapshot['roles'] = new Map();
  for (const p of processes) {
    const sample = await sampleRole(p);
    if (sample !== undefined) roles.set(p.role, sample);
  }
  return { roles, reapedTicks: self.cutime + self.cstime };
}

/** The unit of /proc's CPU fields (`getconf CLK_TCK`); 100, Linux's USER_HZ, when getconf fails. */
export function clockTicksPerSecond(): Promise<number> {
  return new Promise((resolve) => {
    execFile('getconf', ['CLK_TCK'], { timeout: 2000 }, (err, stdout) => {
      const n = Number(String(stdout).trim());
      resolve(err === null && Number.isInteger(n) && n > 0 ? n : 100);
    });
  });
}

interface TickDelta {
  ticks: number;
  main?: number;
  zmqIo?: number;
}

/** The ticks a role's tree used between two samples; undefined when one of its processes is gone. */
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

/** µs per request between two snapshots; null when there is nothing to divide (no snapshot, no request). */
export function cpuPerRequest(before: CpuSnapshot | null, after: CpuSnapshot | null, requests: number, ticksPerSecond: number): CpuPerRequest | null {
  if (before === null || after === null || !(requests > 0) || !(ticksPerSecond > 0)) return null;
  // Two decimals: the tick resolution is far coarser anyway, and the JSON stays readable.
  const us = (ticks: number): number => Math.round(((ticks * 1e6) / ticksPerSecond / requests) * 100) / 100;
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

/**
 * Brackets one measured run: call right before it starts, then finish(requests) right after it
 * ends. Nothing this process spawns may exit in between other than the run itself (wrk's CPU is read
 * from this process's reaped-children time). Never throws: CPU numbers are extra information, and a
 * run must not fail because /proc could not be read.
 */
export async function openCpuWindow(processes: readonly ProcessRole[]): Promise<{ finish(requests: number): Promise<CpuPerRequest | null> }> {
  const snapshot = (): Promise<CpuSnapshot | null> => takeCpuSnapshot(processes).catch(() => null);
  // getconf is a child too: it is reaped before the first snapshot, so it does not count as wrk.
  const ticksPerSecond = process.platform === 'linux' ? await clockTicksPerSecond() : 0;
  const before = ticksPerSecond > 0 ? await snapshot() : null;
  return {
    finish: async (requests) => (before === null ? null : cpuPerRequest(before, await snapshot(), requests, ticksPerSecond)),
  };
}
