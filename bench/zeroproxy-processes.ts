/**
 * Starting `zeroproxy router` and a worker as real processes, the way users run them, and reading
 * their readiness from the pino JSON lines the CLI contract promises ("router listening",
 * "worker registered"). Both start at once: start order does not matter to zeroproxy, and it saves
 * a tsx start-up per target.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManagedChild } from './children.ts';
import type { ProcessRole } from './cpu.ts';
import { parseLogLine } from './log-line.ts';
import type { RunningTarget, TargetContext } from './targets/types.ts';
import { START_TIMEOUT_MS } from './targets/types.ts';

/** Shutdown is bounded for the bench: in-flight requests get this long after SIGTERM. */
export const DRAIN_TIMEOUT_MS = 2000;

export interface WorkerSpec {
  name: string;
  /** Its column in the CPU-per-request table ("worker", "bridge"). */
  role: string;
  /** Arguments after `node`: a script and its flags (the router endpoint is already known). */
  args: readonly string[];
}

function routerReady(line: string): { http: string; bind: string } | undefined {
  const rec = parseLogLine(line);
  if (rec?.['msg'] !== 'router listening') return undefined;
  const http = rec['http'];
  const bind = rec['bind'];
  return typeof http === 'string' && typeof bind === 'string' ? { http, bind } : undefined;
}

function workerRegistered(line: string): true | undefined {
  return parseLogLine(line)?.['msg'] === 'worker registered' ? true : undefined;
}

/**
 * Router on 127.0.0.1:<ephemeral> bound to ipc://<dir>/router.ipc (a few % faster than tcp:// on
 * one machine, NOTES.md) plus one worker connected to it; resolves once the router listens and the
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
  const endpoint = `ipc://${join(dir, 'router.ipc')}`;
  const zeroproxyBin = join(ctx.repoRoot, 'bin', 'zeroproxy.js');
  // --no-access-log: the nginx and HAProxy configs log no requests either (nginx: access_log off).
  const routerArgs = ['router', '--http', '127.0.0.1:0', '--bind', endpoint, '--drain-timeout', String(DRAIN_TIMEOUT_MS), '--no-access-log'];
  const router = ctx.children.start({ name: 'zeroproxy router', command: process.execPath, args: [zeroproxyBin, ...routerArgs], cwd: ctx.repoRoot });
  const spec = worker(endpoint);
  // cwd = repository root: `--import tsx` is resolved from there.
  const workerChild: ManagedChild = ctx.children.start({ name: spec.name, command: process.execPath, args: spec.args, cwd: ctx.repoRoot });
  try {
    const [ready] = await Promise.all([
      router.waitForLine(routerReady, START_TIMEOUT_MS, '"router listening" line with http and bind'),
      workerChild.waitForLine(workerRegistered, START_TIMEOUT_MS, '"worker registered" line'),
    ]);
    return {
      baseUrl: ready.http.replace(/\/$/, ''),
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
