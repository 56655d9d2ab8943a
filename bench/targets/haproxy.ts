/** HAProxy (one thread, keep-alive + connection reuse) → the fastify backend. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../ports.ts';
import { fillTemplate } from '../template.ts';
import { waitForHttp200 } from '../wait-http.ts';
import { SMALL_PATH } from '../payloads.ts';
import { START_TIMEOUT_MS, type Target } from './types.ts';

export const haproxyTarget: Target = {
  name: 'haproxy',
  description: 'wrk → HAProxy (1 thread, keep-alive, http-reuse always) → fastify backend',
  needs: ['haproxy'],
  async start(ctx) {
    const dir = join(ctx.tempDir, 'haproxy');
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const template = await readFile(new URL('../haproxy.cfg.template', import.meta.url), 'utf8');
    const configPath = join(dir, 'haproxy.cfg');
    await writeFile(configPath, fillTemplate(template, { TEMP_DIR: dir, PORT: port, BACKEND_PORT: new URL(ctx.backendUrl).port }));
    // -db: stay in the foreground (a child we can stop), -f: our config only.
    const child = ctx.children.start({ name: 'haproxy', command: ctx.tools.haproxy.path!, args: ['-db', '-f', configPath], cleanExits: ['exit code 0', 'SIGTERM'] });
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttp200(baseUrl + SMALL_PATH, child, START_TIMEOUT_MS);
    return { baseUrl, frontPid: child.pid, processes: [{ role: 'haproxy', pid: child.pid }, ctx.backendRole], stop: () => ctx.children.stop([child]) };
  },
};
