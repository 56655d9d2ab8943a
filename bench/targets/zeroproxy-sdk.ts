/** zeroproxy router + the bench's SDK worker (bench/sdk-worker.ts, low-level onStream API). */
import { join } from 'node:path';
import { startZeroproxy } from '../zeroproxy-processes.ts';
import type { Target } from './types.ts';

export const zeroproxySdkTarget: Target = {
  name: 'zeroproxy-sdk',
  description: 'wrk → zeroproxy router → SDK worker (bench/sdk-worker.ts, onStream) over ipc://',
  needs: [],
  start(ctx) {
    return startZeroproxy(ctx, 'zeroproxy-sdk', (endpoint) => ({
      name: 'sdk worker',
      role: 'worker',
      args: ['--import', 'tsx', join(ctx.repoRoot, 'bench', 'sdk-worker.ts'), '--connect', endpoint, '--capacity', String(ctx.workerCapacity)],
    }));
  },
};
