/**
 * Starting the zeroproxy CLI pieces as real processes and learning what they announce:
 * a router's URLs from its "router listening" line, a worker's registration from "worker registered".
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT, type LogLine, type ManagedProcess, type ProcessGroup } from './process.ts';
import { withTimeout } from './waiting.ts';

/** Generous bounds: a cold `tsx` start of the CLI takes ~1 s on a small idle VM, far more on a loaded one. */
export const START_TIMEOUT_MS = 30_000;
export const REGISTER_TIMEOUT_MS = 30_000;

export interface RouterProcess {
  proc: ManagedProcess;
  /** e.g. "http://127.0.0.1:43123" */
  httpUrl: string;
  /** the endpoint workers connect to, resolved */
  bindEndpoint: string;
}

export interface StartRouterOptions {
  bind: string;
  /** Extra flags, e.g. ['--heartbeat', '200', '--queue-timeout', '500']. */
  args?: string[];
  name?: string;
}

/** Starts `zeroproxy router --http 127.0.0.1:0 --bind <bind>` and waits for "router listening". */
export async function startRouter(group: ProcessGroup, options: StartRouterOptions): Promise<RouterProcess> {
  const name = options.name ?? 'router';
  const proc = group.spawnZeroproxy(name, ['router', '--http', '127.0.0.1:0', '--bind', options.bind, ...(options.args ?? [])]);
  const line = await proc.waitForLog((l) => l.msg === 'router listening', START_TIMEOUT_MS, '"router listening"');
  const httpUrl = line['http'];
  const bindEndpoint = line['bind'];
  if (typeof httpUrl !== 'string' || typeof bindEndpoint !== 'string') {
    throw new Error(`"router listening" line lacks http/bind strings: ${JSON.stringify(line)}`);
  }
  return { proc, httpUrl: httpUrl.replace(/\/$/, ''), bindEndpoint };
}

export const FIXTURES_DIR = path.join(REPO_ROOT, 'test', 'fixtures');

/** Path of a handler module in test/fixtures/ (e.g. 'echo' → test/fixtures/echo.ts). */
export function fixture(name: string): string {
  return path.join(FIXTURES_DIR, `${name}.ts`);
}

export interface StartWorkerOptions {
  connect: string | string[];
  /** Fixture name (test/fixtures/<name>.ts) for --handler; or use `forward`. */
  handler?: string;
  forward?: string;
  id?: string;
  args?: string[];
  name?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts `zeroproxy worker …` without waiting for anything. */
export function spawnWorker(group: ProcessGroup, options: StartWorkerOptions): ManagedProcess {
  const connect = Array.isArray(options.connect) ? options.connect.join(',') : options.connect;
  const args = ['worker', '--connect', connect];
  if (options.handler) args.push('--handler', fixture(options.handler));
  if (options.forward) args.push('--forward', options.forward);
  if (options.id) args.push('--id', options.id);
  args.push(...(options.args ?? []));
  return group.spawnZeroproxy(options.name ?? `worker ${options.id ?? ''}`.trim(), args, { env: options.env });
}

/** True for the worker's own "worker registered" line. */
export function isRegistered(line: LogLine): boolean {
  return line.msg === 'worker registered';
}

/** Waits until the worker has logged `count` registrations in total (1 = first WELCOME). */
export async function waitForRegistrations(worker: ManagedProcess, count = 1, timeoutMs = REGISTER_TIMEOUT_MS): Promise<void> {
  await worker.waitForLog(() => worker.findLogs(isRegistered).length >= count, timeoutMs, `${count} "worker registered" line(s)`);
}

/** Starts a worker and waits for its first "worker registered" line. */
export async function startWorker(group: ProcessGroup, options: StartWorkerOptions): Promise<ManagedProcess> {
  const worker = spawnWorker(group, options);
  await waitForRegistrations(worker);
  return worker;
}

/** Starts several workers in parallel and waits until all of them are registered. */
export async function startWorkers(group: ProcessGroup, list: StartWorkerOptions[]): Promise<ManagedProcess[]> {
  const workers = list.map((o) => spawnWorker(group, o));
  await withTimeout(Promise.all(workers.map((w) => waitForRegistrations(w))), REGISTER_TIMEOUT_MS + 1000, `${list.length} workers to register`);
  return workers;
}

/** Reads a process's resident set size in bytes from /proc/<pid>/status (VmRSS). */
export async function readRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}
