/** nginx (one worker process, upstream keep-alive) → the fastify backend. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../ports.ts';
import { fillTemplate } from '../template.ts';
import { waitForHttp200 } from '../wait-http.ts';
import { SMALL_PATH } from '../payloads.ts';
import { START_TIMEOUT_MS, type Target } from './types.ts';

export const nginxTarget: Target = {
  name: 'nginx',
  description: 'wrk → nginx (1 worker, upstream keep-alive) → fastify backend',
  needs: ['nginx'],
  async start(ctx) {
    const dir = join(ctx.tempDir, 'nginx');
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const template = await readFile(new URL('../nginx.conf.template', import.meta.url), 'utf8');
    const config = fillTemplate(template, {
      // As root nginx would switch its worker to "nobody", which cannot use our 0700 temp dir.
      USER_DIRECTIVE: process.getuid?.() === 0 ? 'user root;' : '',
      TEMP_DIR: dir,
      PORT: port,
      BACKEND_PORT: new URL(ctx.backendUrl).port,
    });
    const configPath = join(dir, 'nginx.conf');
    await writeFile(configPath, config);
    const child = ctx.children.start({
      name: 'nginx',
      command: ctx.tools.nginx.path!,
      // -e: the error log before the config is read (else it tries /var/log/nginx).
      args: ['-p', dir, '-c', configPath, '-e', join(dir, 'nginx-startup.log')],
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttp200(baseUrl + SMALL_PATH, child, START_TIMEOUT_MS);
    return { baseUrl, frontPid: child.pid, processes: [{ role: 'nginx', pid: child.pid }, ctx.backendRole], stop: () => ctx.children.stop([child]) };
  },
};
