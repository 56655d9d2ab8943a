/**
 * What the bench runs on: the external programs it drives (wrk, nginx, haproxy), the machine, and
 * the versions of everything involved. It installs nothing: it looks the programs up on PATH (plus
 * the sbin directories Debian puts nginx/haproxy in), and the targets or scenarios that need a
 * missing one are skipped. BENCH_TOOLS_PATH, when set, replaces that search path entirely (to try
 * other builds of nginx/haproxy/wrk, or to see the bench without them).
 */
import { execFile } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { delimiter, join } from 'node:path';

/** Each is also the name of its Debian package. */
export const TOOL_NAMES = ['wrk', 'nginx', 'haproxy'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export interface Tool {
  /** Absolute path, or null when not installed. */
  path: string | null;
  /** First line of its `-v` output, or null. */
  version: string | null;
}

export type Tools = Readonly<Record<ToolName, Tool>>;

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs (what wrk, the proxy and the backend share). */
  cores: number;
  os: string;
  memoryGiB: number;
  /** 1-minute load average when the run started: other work on the machine makes numbers noisy. */
  loadAverage: number;
}

export interface Versions {
  node: string;
  zeroproxy: string;
  nginx: string | null;
  haproxy: string | null;
  wrk: string | null;
}

function toolSearchPath(env: NodeJS.ProcessEnv): string[] {
  const override = env['BENCH_TOOLS_PATH'];
  if (override !== undefined) return override.split(delimiter);
  return [...(env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
}

async function which(name: string, dirs: readonly string[]): Promise<string | null> {
  for (const dir of dirs.filter((d) => d !== '')) {
    const candidate = join(dir, name);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return null;
}

/** The first non-empty line of `path -v`, stdout or stderr (wrk -v exits 1; that is fine). */
function versionLine(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(path, ['-v'], { timeout: 5000 }, (_err, stdout, stderr) => {
      resolve(`${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? null);
    });
  });
}

export async function findTools(dirs: readonly string[] = toolSearchPath(process.env)): Promise<Tools> {
  const found = await Promise.all(
    TOOL_NAMES.map(async (name): Promise<[ToolName, Tool]> => {
      const path = await which(name, dirs);
      return [name, { path, version: path === null ? null : await versionLine(path) }];
    }),
  );
  return Object.fromEntries(found) as Record<ToolName, Tool>;
}

export function missingTools(tools: Tools): ToolName[] {
  return TOOL_NAMES.filter((n) => tools[n].path === null);
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    os: `${osType()} ${release()}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** "nginx version: nginx/1.22.1" → "1.22.1"; keeps the line when it has no recognisable shape. */
function shortVersion(line: string | null, pattern: RegExp): string | null {
  return line === null ? null : (pattern.exec(line)?.[1] ?? line);
}

export async function versions(tools: Tools, packageJsonPath: string): Promise<Versions> {
  const pkg = JSON.parse(await readFile(packageJsonPath, 'utf8')) as { version?: unknown };
  return {
    node: process.version,
    zeroproxy: typeof pkg.version === 'string' ? pkg.version : 'unknown',
    nginx: shortVersion(tools.nginx.version, /nginx\/(\S+)/),
    haproxy: shortVersion(tools.haproxy.version, /HAProxy version (\S+)/),
    wrk: shortVersion(tools.wrk.version, /^wrk (\S+)/),
  };
}
