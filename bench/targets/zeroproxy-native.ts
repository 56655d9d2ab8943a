/**
 * zeroproxy router with the native HTTP/1.1 front (`--front native`, issue 13 spike) + the bench's
 * SDK worker: the zeroproxy-sdk path with the other front. It waits for the router's "native
 * HTTP/1.1 front" line too, so an unbuilt addon (native/build.sh), with which the router would
 * quietly serve node:http, fails the start instead of measuring the wrong front.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startRouter } from '../zeroproxy-processes.ts';
import { START_TIMEOUT_MS, type Target } from './types.ts';

export const zeroproxyNativeTarget: Target = {
  name: 'zeroproxy-native',
  description: 'wrk → zeroproxy router --front native (C front, experimental) → SDK worker (bench/sdk-worker.ts, onStream) over ipc://',
  needs: [],
  async start(ctx) {
    // Fail at once with the fix, instead of after the start timeout.
    if (!existsSync(join(ctx.repoRoot, 'native', 'build', 'Release', 'zeroproxy_front.node'))) throw new Error('the native front is not built: npm run build:native');
    const dir = join(ctx.tempDir, 'zeroproxy-native');
    await mkdir(dir, { recursive: true });
    const { child: router, endpoint, ready } = startRouter(ctx.children, ctx.repoRoot, dir, ['--front', 'native']);
    const worker = ctx.children.start({
      name: 'sdk worker',
      command: process.execPath,
      args: ['--import', 'tsx', join(ctx.repoRoot, 'bench', 'sdk-worker.ts'), '--connect', endpoint, '--capacity', String(ctx.workerCapacity)],
      cwd: ctx.repoRoot,
    });
    try {
      const [baseUrl] = await Promise.all([
        ready,
        router.waitForLog('native HTTP/1.1 front (experimental)', START_TIMEOUT_MS),
        worker.waitForLog('worker registered', START_TIMEOUT_MS),
      ]);
      return {
        baseUrl,
        frontPid: router.pid,
        processes: [{ role: 'router', pid: router.pid, threads: true }, { role: 'worker', pid: worker.pid, threads: true }],
        stop: async () => {
          await ctx.children.stop([worker]);
          await ctx.children.stop([router]);
        },
      };
    } catch (err) {
      await ctx.children.stop([worker, router]);
      throw err;
    }
  },
};
