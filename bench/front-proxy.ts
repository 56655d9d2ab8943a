/**
 * Starting nginx or HAProxy in front of the backend: its config filled in from a template in bench/
 * into a private temp dir, a free port chosen at start (they cannot report an ephemeral port back;
 * the short race with other processes is accepted), the program in the foreground as a child, and
 * readiness by polling until GET /1kb answers correctly (they print nothing when ready). Bounded.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ManagedChild } from './children.ts';
import { SMALL_BODY_BYTES, SMALL_PATH } from './payloads.ts';
import { checkResponse } from './scenarios.ts';
import { START_TIMEOUT_MS, type RunningTarget, type TargetContext } from './targets/types.ts';

export interface FrontProxySpec {
  /** The program (a tool found on PATH) and its CPU role. */
  tool: 'nginx' | 'haproxy';
  /** File name in bench/ with `{{NAME}}` placeholders. */
  template: string;
  /** Values besides TEMP_DIR, PORT and BACKEND_PORT. */
  values?: Readonly<Record<string, string>>;
  /** Its arguments, given its directory and config file. */
  args(dir: string, configPath: string): string[];
  /** How a clean stop ends (HAProxy in the foreground dies by SIGTERM). */
  cleanExits?: readonly string[];
}

/** Fills `{{NAME}}` placeholders; a placeholder left without a value is an error, not an empty string. */
function fillTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_all, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template placeholder {{${key}}} has no value`);
    return String(value);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().unref().once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/** Polls until the proxy answers the 1 KB GET correctly, or its process exits, or the deadline passes. */
async function waitUntilServing(baseUrl: string, child: ManagedChild, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!child.running) throw new Error(`${child.name} exited before answering ${baseUrl}; last output:\n${child.tail()}`);
    const error = await checkResponse(baseUrl, { method: 'GET', path: SMALL_PATH, responseBytes: SMALL_BODY_BYTES }, 1000).then(() => null, (err: Error) => err.message);
    if (error === null) return;
    last = error;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${child.name}: ${baseUrl} did not serve within ${timeoutMs} ms (last: ${last}); output:\n${child.tail()}`);
}

export async function startFrontProxy(ctx: TargetContext, spec: FrontProxySpec): Promise<RunningTarget> {
  const dir = join(ctx.tempDir, spec.tool);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const template = await readFile(join(ctx.repoRoot, 'bench', spec.template), 'utf8');
  const configPath = join(dir, spec.template.replace(/\.template$/, ''));
  await writeFile(configPath, fillTemplate(template, { ...spec.values, TEMP_DIR: dir, PORT: port, BACKEND_PORT: new URL(ctx.backendUrl).port }));
  const child = ctx.children.start({ name: spec.tool, command: ctx.tools[spec.tool].path!, args: spec.args(dir, configPath), ...(spec.cleanExits && { cleanExits: spec.cleanExits }) });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilServing(baseUrl, child, START_TIMEOUT_MS);
  } catch (err) {
    await ctx.children.stop([child]);
    throw err;
  }
  return { baseUrl, frontPid: child.pid, processes: [{ role: spec.tool, pid: child.pid }, ctx.backendRole], stop: () => ctx.children.stop([child]) };
}
