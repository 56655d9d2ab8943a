/** The fastify backend itself, no proxy: the ceiling every proxy is compared with. */
import type { Target } from './types.ts';

export const directTarget: Target = {
  name: 'direct',
  description: 'wrk → fastify backend (no proxy)',
  needs: [],
  start(ctx) {
    return Promise.resolve({ baseUrl: ctx.backendUrl, frontPid: ctx.backendPid, processes: [ctx.backendRole], stop: () => Promise.resolve() });
  },
};
