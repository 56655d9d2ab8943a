/** zeroproxy router + `zeroproxy worker --forward` (the undici bridge) → the fastify backend. */
import { join } from 'node:path';
import { DRAIN_TIMEOUT_MS, startZeroproxy } from '../zeroproxy-processes.ts';
import type { Target } from './types.ts';

export const zeroproxyForwardTarget: Target = {
  name: 'zeroproxy-forward',
  description: 'wrk → zeroproxy router → `zeroproxy worker --forward` over ipc:// → fastify backend',
  needs: [],
  start(ctx) {
    return startZeroproxy(ctx, 'zeroproxy-forward', (endpoint) => ({
      name: 'forward worker',
      args: [
        join(ctx.repoRoot, 'bin', 'zeroproxy.js'),
        'worker',
        '--connect',
        endpoint,
        '--forward',
        ctx.backendUrl,
        '--capacity',
        String(ctx.workerCapacity),
        '--drain-timeout',
        String(DRAIN_TIMEOUT_MS),
      ],
    }));
  },
};
