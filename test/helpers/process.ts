/**
 * A harness for real child processes (the zeroproxy CLI, example workers): it collects their stdout
 * JSON log lines, lets a test wait for a particular line (event-based, bounded), and stops every
 * process it started — SIGTERM first, SIGKILL after a bound — from one `stopAll()` in an after() hook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { withTimeout } from './waiting.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ZEROPROXY_BIN = path.join(REPO_ROOT, 'bin', 'zeroproxy.js');

/** One parsed JSON log line (pino or a fixture's console.log). */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Cap on kept output so a chatty process cannot grow the test's memory without bound. */
const MAX_KEPT_LINES = 20_000;

export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Parsed JSON lines from stdout, in order (oldest dropped past MAX_KEPT_LINES). */
  readonly logs: LogLine[] = [];
  /** Non-JSON stdout lines and all stderr lines, for failure messages. */
  readonly rawOutput: string[] = [];
  stderr = '';
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  private readonly events = new EventEmitter();

  constructor(
    name: string,
    child: ChildProcess,
    /** The child leads a process group of its own (a wrapper such as npx/npm): signals go to the whole group. */
    private readonly group = false,
  ) {
    this.name = name;
    this.child = child;
    this.events.setMaxListeners(0);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.events.emit('exit');
        resolve(this.exitInfo);
      });
    });
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    let pending = '';
    child.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        this.onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    child.stderr?.on('data', (chunk: string) => {
      if (this.stderr.length < 1_000_000) this.stderr += chunk;
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid (spawn failed?)`);
    return this.child.pid;
  }

  private onLine(line: string): void {
    const trimmed = line.trim();
    if (!trimmed) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      this.logs.push(parsed as LogLine);
      if (this.logs.length > MAX_KEPT_LINES) this.logs.shift();
      this.events.emit('log', parsed);
    } else {
      this.rawOutput.push(trimmed);
      if (this.rawOutput.length > MAX_KEPT_LINES) this.rawOutput.shift();
    }
  }

  /** Log lines seen so far that satisfy `predicate`. */
  findLogs(predicate: (line: LogLine) => boolean): LogLine[] {
    return this.logs.filter(predicate);
  }

  /**
   * Resolves with the first log line (already seen from index `from` on, or arriving later) that
   * satisfies `predicate`. Rejects after `timeoutMs`, or at once if the process exits first.
   */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number, what = 'a matching log line', from = 0): Promise<LogLine> {
    const seen = this.logs.slice(from).find(predicate);
    if (seen) return Promise.resolve(seen);
    let onLog: ((line: LogLine) => void) | undefined;
    let onExit: (() => void) | undefined;
    const waiting = new Promise<LogLine>((resolve, reject) => {
      onLog = (line: LogLine) => {
        if (predicate(line)) resolve(line);
      };
      onExit = () => reject(new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) before ${what}\n${this.describe()}`));
      this.events.on('log', onLog);
      this.events.once('exit', onExit);
      if (this.exitInfo) onExit();
    });
    return withTimeout(waiting, timeoutMs, `${this.name}: ${what}\n${this.describe()}`).finally(() => {
      if (onLog) this.events.off('log', onLog);
      if (onExit) this.events.off('exit', onExit);
    });
  }

  /** Waits for exit (bounded). */
  waitForExit(timeoutMs: number): Promise<ExitInfo> {
    return withTimeout(this.exited, timeoutMs, `${this.name} to exit\n${this.describe()}`);
  }

  /** Sends a signal if the process is still running. */
  signal(sig: NodeJS.Signals): void {
    if (!this.exitInfo && this.child.exitCode === null) this.child.kill(sig);
  }

  /** SIGKILL now, to the child and (for `group` children) its whole group: the last-resort cleanup. */
  forceKill(): void {
    this.signal('SIGKILL');
    this.signalGroup('SIGKILL');
  }

  /** Signals the child's process group (only for `group` children); a wrapper's leftovers included. */
  private signalGroup(sig: NodeJS.Signals): void {
    if (!this.group || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      // the group is already gone
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Never throws. */
  async stop(graceMs = 3000): Promise<ExitInfo> {
    if (this.exitInfo) {
      this.signalGroup('SIGKILL');
      return this.exitInfo;
    }
    this.signal('SIGTERM');
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => {
      this.signal('SIGKILL');
      this.signalGroup('SIGKILL');
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      // A wrapper (npx) can exit before what it started: nothing of the group may outlive the test.
      this.signalGroup('SIGKILL');
    }
  }

  /** The last lines of output, for assertion messages. */
  describe(lines = 15): string {
    const tail = this.logs.slice(-lines).map((l) => JSON.stringify(l));
    const raw = this.rawOutput.slice(-5);
    const err = this.stderr.split('\n').slice(-8).join('\n');
    return `--- ${this.name} (last logs) ---\n${[...tail, ...raw].join('\n')}\n--- stderr ---\n${err}`;
  }
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Start the child in a process group of its own and stop the whole group (for npx/npm wrappers). */
  processGroup?: boolean;
}

/**
 * Owns the processes one test file starts. Create one per file and call `stopAll()` from `after()`
 * so every process is stopped even when a test fails half-way.
 */
export class ProcessGroup {
  private readonly processes: ManagedProcess[] = [];
  private guardInstalled = false;

  /**
   * Last line of defence against orphans when after() never runs (the test process is killed by the
   * runner's timeout, or exits on an uncaught error): SIGKILL whatever is still running, then let the
   * signal do what it would have done.
   */
  private installExitGuard(): void {
    if (this.guardInstalled) return;
    this.guardInstalled = true;
    const killRemaining = (): void => {
      for (const p of this.processes) p.forceKill();
    };
    process.once('exit', killRemaining);
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        killRemaining();
        process.kill(process.pid, sig);
      });
    }
  }

  /** Spawns `node <args…>` with the repository as cwd. */
  spawnNode(name: string, args: string[], options: SpawnOptions = {}): ManagedProcess {
    return this.spawnProgram(name, process.execPath, args, options);
  }

  /** Spawns any program found on PATH (e.g. `npm start`, as a user types it). */
  spawnProgram(name: string, program: string, args: string[], options: SpawnOptions = {}): ManagedProcess {
    const child = spawn(program, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.processGroup === true,
    });
    const managed = new ManagedProcess(name, child, options.processGroup === true);
    this.processes.push(managed);
    this.installExitGuard();
    return managed;
  }

  /** Spawns `node bin/zeroproxy.js <args…>`. */
  spawnZeroproxy(name: string, args: string[], options: SpawnOptions = {}): ManagedProcess {
    return this.spawnNode(name, [ZEROPROXY_BIN, ...args], options);
  }

  /** Spawns a TypeScript file through tsx (examples, scripts). */
  spawnTs(name: string, file: string, args: string[] = [], options: SpawnOptions = {}): ManagedProcess {
    return this.spawnNode(name, ['--import', 'tsx', file, ...args], options);
  }

  /** Stops every process this group started, in parallel, each bounded by `graceMs`. */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop(graceMs)));
  }
}

/** Runs a command to completion (bounded), collecting its output: for CLI usage tests. */
export async function runToExit(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [ZEROPROXY_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  try {
    const result = await withTimeout(done, timeoutMs, `zeroproxy ${args.join(' ')} to exit`);
    return { ...result, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
