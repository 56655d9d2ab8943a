/**
 * Every process the bench starts (backend, nginx, haproxy, router, workers) goes through one
 * ChildSet, so one call kills them all — at the end, on Ctrl-C and on errors. Each child gets its
 * own process group (detached) so nginx's worker or a tsx loader child dies with its parent.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** How many output lines a child keeps for error messages (bounded: children may log a lot). */
const KEPT_LINES = 200;
/** After SIGTERM, how long a child gets before SIGKILL. */
const KILL_GRACE_MS = 5000;

export interface SpawnSpec {
  /** Short name for progress lines and errors, e.g. "nginx". */
  name: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How a clean stop ends (default: exit code 0). HAProxy in the foreground dies by SIGTERM. */
  cleanExits?: readonly string[];
}

/** `promise`'s value, or 'late' when it has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** One pino-style JSON line; anything else (a stack trace, a warning) is not a log record. */
function parseLogLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class ManagedChild {
  readonly name: string;
  readonly pid: number;
  readonly cleanExits: readonly string[];
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<string>;
  private readonly lines: string[] = [];
  private readonly watchers = new Set<(line: string) => void>();
  private partial = '';
  private exitReason: string | null = null;

  constructor(
    name: string,
    private readonly proc: ChildProcess,
    cleanExits: readonly string[] = ['exit code 0'],
  ) {
    this.name = name;
    this.cleanExits = cleanExits;
    if (proc.pid === undefined) throw new Error(`${name}: spawn failed`);
    this.pid = proc.pid;
    // Output is always drained: a child blocked on a full stdout pipe would stall the benchmark.
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.onOutput(chunk));
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.onOutput(chunk));
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitReason = signal ?? `exit code ${code}`;
        resolve(this.exitReason);
      });
      proc.once('error', (err) => {
        this.exitReason = `spawn error: ${err.message}`;
        resolve(this.exitReason);
      });
    });
  }

  get running(): boolean {
    return this.exitReason === null;
  }

  /** The last lines the child printed (stdout and stderr interleaved): 20 for error reports, or all it kept. */
  tail(count = 20): string {
    return [...this.lines, this.partial].slice(-count).join('\n').trim();
  }

  /**
   * Waits for an output line (one already printed, or one to come) that `match` accepts, bounded by
   * `timeoutMs`. Rejects early, with the child's last output, if the child exits first.
   */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (outcome: () => void): void => {
        clearTimeout(timer);
        this.watchers.delete(watch);
        outcome();
      };
      const watch = (line: string): void => {
        const value = match(line);
        if (value !== undefined) finish(() => resolve(value));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; last output:\n${this.tail()}`))), timeoutMs);
      this.watchers.add(watch);
      for (const line of this.lines) if (this.watchers.has(watch)) watch(line);
      void this.exited.then((reason) => {
        if (this.watchers.has(watch)) finish(() => reject(new Error(`${this.name} exited (${reason}) before ${what}; last output:\n${this.tail()}`)));
      });
    });
  }

  /** Waits for the pino-style JSON line whose msg is `msg` (the readiness lines the CLI contract promises); resolves with it. */
  waitForLog(msg: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return this.waitForLine((line) => {
      const rec = parseLogLine(line);
      return rec?.['msg'] === msg ? rec : undefined;
    }, timeoutMs, `"${msg}" line`);
  }

  /**
   * SIGTERM to the whole group, SIGKILL after the grace period; resolves once it is gone, with how
   * it ended ("exit code N", a signal name, or "killed" when it ignored SIGTERM for the grace period).
   */
  async stop(graceMs = KILL_GRACE_MS): Promise<string> {
    if (!this.running) return this.exitReason ?? 'not running';
    this.signalGroup('SIGTERM');
    const outcome = await within(this.exited, graceMs);
    if (outcome === 'late') {
      this.signalGroup('SIGKILL');
      await within(this.exited, 1000);
    }
    // The leader may exit on SIGTERM while a grandchild lingers; make sure the group is gone.
    this.signalGroup('SIGKILL');
    return outcome === 'late' ? 'killed' : outcome;
  }

  /** Synchronous last resort for process 'exit' handlers. */
  killNow(): void {
    this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  private onOutput(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    // A child that never prints a newline must not grow memory without bound either.
    if (this.partial.length > 65536) this.partial = this.partial.slice(-65536);
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > KEPT_LINES) this.lines.shift();
      for (const watch of [...this.watchers]) watch(line);
    }
  }
}

/** Owns every child of one bench run. */
export class ChildSet {
  private readonly children = new Set<ManagedChild>();
  private closed = false;

  constructor(private readonly warn: (line: string) => void) {}

  start(spec: SpawnSpec): ManagedChild {
    // After shutdown (Ctrl-C) the run may still be unwinding: it must not start anything new.
    if (this.closed) throw new Error(`not starting ${spec.name}: the bench is shutting down`);
    const proc = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const child = new ManagedChild(spec.name, proc, spec.cleanExits);
    this.children.add(child);
    void child.exited.then(() => this.children.delete(child));
    return child;
  }

  /**
   * Stops the given children (or all), in parallel, bounded by the kill grace period. An unclean
   * end (not one of the child's cleanExits, e.g. SIGTERM ignored) is reported through `warn`: the
   * CLI contract says SIGTERM → exit 0, and the bench is a cheap place to notice when it does not.
   */
  async stop(children: readonly ManagedChild[] = [...this.children]): Promise<void> {
    await Promise.all(
      children.map(async (c) => {
        const reason = await c.stop();
        if (!c.cleanExits.includes(reason)) this.warn(`${c.name} (pid ${c.pid}) did not exit cleanly on SIGTERM: ${reason}`);
      }),
    );
  }

  /** Stops every child and refuses to start new ones. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  killAllNow(): void {
    this.closed = true;
    for (const child of this.children) child.killNow();
  }

  get count(): number {
    return this.children.size;
  }
}
