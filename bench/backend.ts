/** Starts the fastify backend (bench/backend-server.ts) as its own process and waits until it listens. */
import { join } from 'node:path';
import type { ChildSet, ManagedChild } from './children.ts';
import { parseLogLine } from './log-line.ts';

export interface StartedBackend {
  child: ManagedChild;
  url: string;
}

export async function startBackend(children: ChildSet, repoRoot: string, timeoutMs: number): Promise<StartedBackend> {
  const child = children.start({
    name: 'fastify backend',
    command: process.execPath,
    args: ['--import', 'tsx', join(repoRoot, 'bench', 'backend-server.ts'), '0'],
    cwd: repoRoot,
  });
  const port = await child.waitForLine(
    (line) => {
      const rec = parseLogLine(line);
      return rec?.['msg'] === 'backend listening' && typeof rec['port'] === 'number' ? rec['port'] : undefined;
    },
    timeoutMs,
    '"backend listening" line',
  );
  return { child, url: `http://127.0.0.1:${port}` };
}
