/** zeroproxy router + `zeroproxy worker --forward` (the undici bridge) → the fastify backend. */
import { join } from 'node:path';
import { DRAIN_TIMEOUT_MS, startZeroproxy, type WorkerSpec } from '../zeroproxy-processes.ts';
import type { Target } from './types.ts';

export const zeroproxyForwardTarget: Target = {
  name: 'zeroproxy-forward',
  description: 'wrk → zeroproxy router → `zeroproxy worker --forward` over ipc:// → fastify backend',
  needs: [],
  start(ctx) {
    const bridge = (endpoint: string): WorkerSpec => ({
      name: 'forward worker',
      role: 'bridge',
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
    });
    // The backend serves these requests too: its CPU per request is part of the total.
    return startZeroproxy(ctx, 'zeroproxy-forward', bridge, [ctx.backendRole]);
  },
};
