/** nginx (one worker process, upstream keep-alive) → the fastify backend. */
import { startFrontProxy } from '../front-proxy.ts';
import type { Target } from './types.ts';

export const nginxTarget: Target = {
  name: 'nginx',
  description: 'wrk → nginx (1 worker, upstream keep-alive) → fastify backend',
  needs: ['nginx'],
  start(ctx) {
    return startFrontProxy(ctx, {
      tool: 'nginx',
      template: 'nginx.conf.template',
      // As root nginx would switch its worker to "nobody", which cannot use our 0700 temp dir.
      values: { USER_DIRECTIVE: process.getuid?.() === 0 ? 'user root;' : '' },
      // -e: the error log before the config is read (else it tries /var/log/nginx).
      args: (dir, config) => ['-p', dir, '-c', config, '-e', `${dir}/nginx-startup.log`],
    });
  },
};
