/** HAProxy (one thread, keep-alive + connection reuse) → the fastify backend. */
import { startFrontProxy } from '../front-proxy.ts';
import type { Target } from './types.ts';

export const haproxyTarget: Target = {
  name: 'haproxy',
  description: 'wrk → HAProxy (1 thread, keep-alive, http-reuse always) → fastify backend',
  needs: ['haproxy'],
  start(ctx) {
    // -db: stay in the foreground (a child we can stop), -f: our config only.
    return startFrontProxy(ctx, { tool: 'haproxy', template: 'haproxy.cfg.template', args: (_dir, config) => ['-db', '-f', config], cleanExits: ['exit code 0', 'SIGTERM'] });
  },
};
