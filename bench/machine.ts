/** What the numbers were measured on: CPU, cores, OS, and the versions of everything involved. */
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, release, totalmem, type as osType } from 'node:os';
import type { Tools } from './tools.ts';

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs listed in /proc/cpuinfo (what wrk, the proxy and the backend share). */
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

export async function machineInfo(): Promise<MachineInfo> {
  let cpuModel = 'unknown';
  let cores = availableParallelism();
  try {
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
    const models = cpuinfo.split('\n').filter((l) => /^model name\s*:/.test(l));
    const processors = cpuinfo.split('\n').filter((l) => /^processor\s*:/.test(l)).length;
    if (models[0] !== undefined) cpuModel = models[0].replace(/^model name\s*:\s*/, '').trim();
    if (processors > 0) cores = processors;
  } catch {
    // Not Linux: keep what node:os says.
  }
  return {
    cpuModel,
    cores,
    os: `${osType()} ${release()}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** "nginx version: nginx/1.22.1" → "nginx/1.22.1"; keeps the line when it has no recognisable shape. */
function shortVersion(line: string | null, pattern: RegExp): string | null {
  if (line === null) return null;
  return pattern.exec(line)?.[1] ?? line;
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
