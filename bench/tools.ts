/**
 * The external programs the bench drives. It installs nothing: it looks them up on PATH (plus the
 * sbin directories Debian puts nginx/haproxy in), reports what is missing, and the targets or
 * scenarios that need a missing one are skipped. BENCH_TOOLS_PATH, when set, replaces that search
 * path entirely (to try other builds of nginx/haproxy/wrk, or to see the bench without them).
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export type ToolName = 'wrk' | 'nginx' | 'haproxy';

export const TOOL_PACKAGES: Readonly<Record<ToolName, string>> = { wrk: 'wrk', nginx: 'nginx', haproxy: 'haproxy' };

export interface Tool {
  name: ToolName;
  /** Absolute path, or null when not installed. */
  path: string | null;
  /** First line of its version output, or null. */
  version: string | null;
}

export type Tools = Readonly<Record<ToolName, Tool>>;

const VERSION_ARGS: Readonly<Record<ToolName, readonly string[]>> = { wrk: ['-v'], nginx: ['-v'], haproxy: ['-v'] };
const VERSION_TIMEOUT_MS = 5000;

export function toolSearchPath(env: NodeJS.ProcessEnv): string[] {
  const override = env['BENCH_TOOLS_PATH'];
  if (override !== undefined) return override.split(delimiter);
  return [...(env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
}

async function which(name: string, dirs: readonly string[]): Promise<string | null> {
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Runs `cmd args` and returns the first non-empty line of stdout+stderr (wrk -v exits 1; that is fine). */
export function firstOutputLine(cmd: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: VERSION_TIMEOUT_MS }, (_err, stdout, stderr) => {
      const line = `${stdout}\n${stderr}`
        .split('\n')
        .map((l) => l.trim())
        .find((l) => l !== '');
      resolve(line ?? null);
    });
  });
}

async function findTool(name: ToolName, dirs: readonly string[]): Promise<Tool> {
  const path = await which(name, dirs);
  const version = path === null ? null : await firstOutputLine(path, VERSION_ARGS[name]);
  return { name, path, version };
}

export async function findTools(dirs: readonly string[] = toolSearchPath(process.env)): Promise<Tools> {
  const [wrk, nginx, haproxy] = await Promise.all([findTool('wrk', dirs), findTool('nginx', dirs), findTool('haproxy', dirs)]);
  return { wrk, nginx, haproxy };
}

export function missingTools(tools: Tools): ToolName[] {
  return (Object.keys(tools) as ToolName[]).filter((n) => tools[n].path === null);
}
