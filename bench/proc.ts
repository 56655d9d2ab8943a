/**
 * Reading Linux /proc: a process's (or thread's) stat line, a process tree found through parent
 * pids, and a tree's resident memory. Every reader returns undefined / null for a process that is
 * gone or unreadable (or off Linux): the callers decide what a missing process means.
 */
import { readdir, readFile } from 'node:fs/promises';

/** The fields of /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat) the bench uses. */
export interface ProcStat {
  ppid: number;
  /** CPU time in clock ticks (CLK_TCK): user and system, of all threads for a process stat. */
  utime: number;
  stime: number;
  /** CPU of children this process waited for (reaped), in clock ticks. */
  cutime: number;
  cstime: number;
  /** Clock ticks after boot when it started: with the pid, names a process across pid reuse. */
  starttime: number;
}

/**
 * Parses a stat line: "pid (comm) state ppid …". comm may hold spaces or parentheses, so the fields
 * are counted from the last ')'. Returns undefined for a line that is not one.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") ": field 3 (state) is index 0, so field N is index N - 3 (proc(5) numbering).
  const f = text.slice(close + 2).trim().split(' ');
  const at = (field: number): number => Number(f[field - 3]);
  const stat: ProcStat = { ppid: at(4), utime: at(14), stime: at(15), cutime: at(16), cstime: at(17), starttime: at(22) };
  return Object.values(stat).every((v) => Number.isInteger(v) && v >= 0) ? stat : undefined;
}

/** /proc/<pid>/stat, or of one thread with `tid`; undefined when gone or unreadable. */
export async function readProcStat(pid: number, tid?: number): Promise<ProcStat | undefined> {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  try {
    return parseProcStat(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * `rootPid` and all its descendants (nginx master → worker), or null when /proc cannot be listed
 * (not Linux). Found by parent pid over all of /proc: /proc/<pid>/task/<tid>/children needs
 * CONFIG_PROC_CHILDREN, which not every kernel has (the Firecracker VM this was written on lacks it).
 */
export async function processTree(rootPid: number): Promise<number[] | null> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return null;
  }
  const pids = entries.filter((e) => /^\d+$/.test(e)).map(Number);
  const parents = await Promise.all(pids.map(async (pid) => [pid, (await readProcStat(pid))?.ppid] as const));
  const tree = new Set([rootPid]);
  // Repeat until no new child joins (depth is tiny: master → worker); bounded all the same.
  for (let changed = true, rounds = 0; changed && rounds < 16; rounds++) {
    changed = false;
    for (const [pid, ppid] of parents) {
      if (ppid !== undefined && tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        changed = true;
      }
    }
  }
  return [...tree];
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** RSS in bytes of `rootPid` plus all its descendants, or null when /proc cannot be read. */
export async function treeRssBytes(rootPid: number): Promise<number | null> {
  const tree = await processTree(rootPid);
  if (tree === null) return null;
  const sizes = await Promise.all(tree.map(rssBytes));
  return sizes.reduce((a, b) => a + b, 0);
}
