/**
 * Starting `zeroproxy router` and a worker as real processes, the way users run them, and reading
 * their readiness from the pino JSON lines the CLI contract promises ("router listening",
 * "worker registered"). Both start at once: start order does not matter to zeroproxy, and it saves
 * a tsx start-up per target.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildSet, ManagedChild } from './children.ts';
import type { ProcessRole } from './cpu.ts';
import { START_TIMEOUT_MS, type RunningTarget, type TargetContext } from './targets/types.ts';

/** Shutdown is bounded for the bench: in-flight requests get this long after SIGTERM. */
export const DRAIN_TIMEOUT_MS = 2000;

export interface WorkerSpec {
  name: string;
  /** Its column in the CPU-per-request table ("worker", "bridge"). */
  role: string;
  /** Arguments after `node`: a script and its flags (the router endpoint is already known). */
  args: readonly string[];
}

/**
 * `zeroproxy router` on 127.0.0.1:<ephemeral> bound to ipc://<dir>/router.ipc (a few % faster than
 * tcp:// on one machine, NOTES.md), as users run it; `ready` resolves with its URL once it listens.
 */
export function startRouter(
  children: ChildSet,
  repoRoot: string,
  dir: string,
  extraArgs: readonly string[] = [],
): { child: ManagedChild; endpoint: string; ready: Promise<string> } {
  const endpoint = `ipc://${join(dir, 'router.ipc')}`;
  // --no-access-log: the nginx and HAProxy configs log no requests either (nginx: access_log off).
  const args = ['router', '--http', '127.0.0.1:0', '--bind', endpoint, '--drain-timeout', String(DRAIN_TIMEOUT_MS), '--no-access-log', ...extraArgs];
  const child = children.start({ name: 'zeroproxy router', command: process.execPath, args: [join(repoRoot, 'bin', 'zeroproxy.js'), ...args], cwd: repoRoot });
  const ready = child.waitForLog('router listening', START_TIMEOUT_MS).then((rec) => {
    if (typeof rec['http'] !== 'string') throw new Error(`"router listening" without its http address: ${JSON.stringify(rec)}`);
    return rec['http'].replace(/\/$/, '');
  });
  return { child, endpoint, ready };
}

/**
 * A router (startRouter) plus one worker connected to it; resolves once the router listens and the
 * worker got its WELCOME. Stop order: worker first (DRAIN, BYE), then the router. `behind`: the
 * processes behind the worker (the backend of the --forward bridge), for the CPU table.
 */
export async function startZeroproxy(
  ctx: TargetContext,
  dirName: string,
  worker: (endpoint: string) => WorkerSpec,
  behind: readonly ProcessRole[] = [],
): Promise<RunningTarget> {
  const dir = join(ctx.tempDir, dirName);
  await mkdir(dir, { recursive: true });
  const { child: router, endpoint, ready } = startRouter(ctx.children, ctx.repoRoot, dir);
  const spec = worker(endpoint);
  // cwd = repository root: `--import tsx` is resolved from there.
  const workerChild = ctx.children.start({ name: spec.name, command: process.execPath, args: spec.args, cwd: ctx.repoRoot });
  try {
    const [baseUrl] = await Promise.all([ready, workerChild.waitForLog('worker registered', START_TIMEOUT_MS)]);
    return {
      baseUrl,
      frontPid: router.pid,
      // Both are Node + zeromq: split by thread to show where the router's time goes.
      processes: [{ role: 'router', pid: router.pid, threads: true }, { role: spec.role, pid: workerChild.pid, threads: true }, ...behind],
      stop: async () => {
        await ctx.children.stop([workerChild]);
        await ctx.children.stop([router]);
      },
    };
  } catch (err) {
    await ctx.children.stop([workerChild, router]);
    throw err;
  }
}
