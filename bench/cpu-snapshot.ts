/**
 * A snapshot of the CPU time (clock ticks, user + system, all threads) each role of a target has
 * used so far — a role being one process with its descendants (nginx master + worker) — and, for
 * the roles that ask for it, how much of it ran on the main thread and on ZeroMQ's I/O thread.
 * Taken right before and right after a measured wrk run; cpu-per-request.ts turns two into µs per
 * request. wrk itself is measured through the bench's own reaped-children time (cutime + cstime):
 * it is gone by the time the second snapshot could read it.
 *
 * Linux only: elsewhere (or without a readable /proc) takeCpuSnapshot returns null.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { processTree, readProcStat } from './proc-stat.ts';

/** A process a target consists of, under the name its column gets in the CPU table. */
export interface ProcessRole {
  role: string;
  pid: number;
  /** Split its CPU into main thread / ZeroMQ I/O thread / other threads (the zeroproxy processes). */
  threads?: boolean;
}

/** libzmq names its I/O threads "ZMQbg/IO/<n>" (and its reaper "ZMQbg/Reaper", counted as other). */
const ZMQ_IO_THREAD = /^ZMQbg\/IO\//;

export interface ProcessTicks {
  /** All threads, dead ones included (the process's own stat line). */
  ticks: number;
  /** Only with `threads`: the thread whose tid is the pid (Node's JS thread), and the ZeroMQ I/O threads. */
  main?: number;
  zmqIo?: number;
}

export interface RoleSample {
  /** "pid:starttime" of the role's own process: a different value means it is not the same process. */
  root: string;
  /** Every process of the role's tree, by "pid:starttime". */
  processes: Map<string, ProcessTicks>;
}

export interface CpuSnapshot {
  /** Roles whose process could be read; a gone or unreadable one is absent. */
  roles: Map<string, RoleSample>;
  /** cutime + cstime of this (bench) process: grows by wrk's CPU when wrk exits and is reaped. */
  reapedTicks: number | null;
}

async function threadTicks(pid: number): Promise<{ main: number; zmqIo: number } | undefined> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
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

async function sampleRole(p: ProcessRole): Promise<RoleSample | undefined> {
  const tree = await processTree(p.pid);
  if (tree === null) return undefined;
  const processes = new Map<string, ProcessTicks>();
  let root: string | undefined;
  for (const pid of tree) {
    const stat = await readProcStat(pid);
    if (stat === undefined) continue; // exited since the listing
    const key = `${pid}:${stat.starttime}`;
    if (pid === p.pid) root = key;
    const ticks: ProcessTicks = { ticks: stat.utime + stat.stime };
    if (p.threads) Object.assign(ticks, await threadTicks(pid));
    processes.set(key, ticks);
  }
  return root === undefined ? undefined : { root, processes };
}

export async function takeCpuSnapshot(processes: readonly ProcessRole[]): Promise<CpuSnapshot | null> {
  if (process.platform !== 'linux') return null;
  const self = await readProcStat(process.pid);
  if (self === undefined) return null;
  const roles = new Map<string, RoleSample>();
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
