/**
 * A tiny process supervisor for examples/start.ts: starts children, waits for a JSON line that says
 * each is ready, restarts a child that dies when it is allowed to (the demo invites `kill -9` of a
 * worker), and stops them all together — SIGTERM first (they drain), SIGKILL after a bound. It also
 * stops everything when its own parent goes away (`npm start &` then `kill <npm's pid>`: npm does not
 * pass the signal on, so the demo would otherwise keep :8080 and :5555 forever).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildSpec {
  name: string;
  /** Arguments to `node`. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** The stdout JSON line that says the child is ready. */
  ready: (line: JsonLine) => boolean;
  /** Start it again when it dies on its own (a worker), or stop everything (the router). */
  restart: boolean;
}

export interface SupervisedChild {
  readonly spec: ChildSpec;
  proc: ChildProcess;
  exited: Promise<ExitStatus>;
  restarts: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SupervisorOptions {
  cwd: string;
  /** How long children get to drain on stop before SIGKILL. */
  stopGraceMs: number;
  /** How long a child may take to print its ready line. */
  startTimeoutMs: number;
  /** Wait before restarting a child that died. */
  restartDelayMs: number;
  /** Restarts allowed per child; past it the child stays down (the rest keep running). */
  maxRestarts: number;
}

export interface SupervisorEvents {
  /** A child that may not be restarted died while nothing asked it to. */
  fatalExit(child: SupervisedChild, status: ExitStatus): void;
  /** Something a person watching the demo should read. */
  notice(message: string): void;
  /** A restarted child is ready again. */
  restarted(child: SupervisedChild): void;
}

export type JsonLine = Record<string, unknown>;

/** "code 1" or "signal SIGKILL": what actually ended a process. */
export function describeExit(status: ExitStatus): string {
  return status.signal !== null ? `signal ${status.signal}` : `code ${status.code}`;
}

export class Supervisor {
  private readonly children: SupervisedChild[] = [];
  private stopping: Promise<void> | undefined;
  private parentWatch: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: SupervisorOptions,
    private readonly events: SupervisorEvents,
  ) {}

  get pids(): number[] {
    return this.children.map((c) => c.proc.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** Starts `node <spec.args…>` and resolves with its ready line. */
  async start(spec: ChildSpec): Promise<{ child: SupervisedChild; line: JsonLine }> {
    const child: SupervisedChild = { spec, restarts: 0, ...this.spawn(spec) };
    this.children.push(child);
    this.watch(child);
    return { child, line: await this.waitForLine(child, spec.ready) };
  }

  /**
   * Calls `gone` once when this process's parent exits (we are re-parented). Polled: Node has no
   * parent-death signal, and one check a second costs nothing.
   */
  onParentExit(gone: () => void, pollMs = 1000): void {
    const parent = process.ppid;
    this.parentWatch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(this.parentWatch);
      gone();
    }, pollMs);
    this.parentWatch.unref();
  }

  /** SIGTERM to every child still running, SIGKILL after the grace period; resolves when all exited. */
  stopAll(): Promise<void> {
    clearInterval(this.parentWatch);
    this.stopping ??= (async () => {
      const running = (c: SupervisedChild): boolean => c.proc.exitCode === null && c.proc.signalCode === null;
      for (const c of this.children) if (running(c)) c.proc.kill('SIGTERM');
      const killTimer = setTimeout(() => {
        for (const c of this.children) if (running(c)) c.proc.kill('SIGKILL');
      }, this.options.stopGraceMs);
      await Promise.all(this.children.map((c) => c.exited));
      clearTimeout(killTimer);
    })();
    return this.stopping;
  }

  private spawn(spec: ChildSpec): Pick<SupervisedChild, 'proc' | 'exited'> {
    const proc = spawn(process.execPath, spec.args, { cwd: this.options.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<ExitStatus>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    return { proc, exited };
  }

  private watch(child: SupervisedChild): void {
    void child.exited.then((status) => {
      if (this.stopping) return;
      const name = child.spec.name;
      if (!child.spec.restart) return this.events.fatalExit(child, status);
      if (child.restarts >= this.options.maxRestarts) {
        this.events.notice(`${name} exited (${describeExit(status)}) after ${child.restarts} restarts; leaving it down, the rest keep serving`);
        return;
      }
      this.events.notice(`${name} exited (${describeExit(status)}); in-flight requests were retried elsewhere; restarting it in ${this.options.restartDelayMs} ms`);
      setTimeout(() => void this.restart(child), this.options.restartDelayMs).unref();
    });
  }

  private async restart(child: SupervisedChild): Promise<void> {
    if (this.stopping) return;
    child.restarts++;
    Object.assign(child, this.spawn(child.spec));
    this.watch(child);
    try {
      await this.waitForLine(child, child.spec.ready);
      this.events.restarted(child);
    } catch (err) {
      this.events.notice((err as Error).message);
    }
  }

  /**
   * Resolves with the first stdout JSON line of `child` that satisfies `match`. Lines at pino level
   * warn (40) or above, and non-JSON lines, are echoed with the child's name; info stays quiet.
   */
  private waitForLine(child: SupervisedChild, match: (line: JsonLine) => boolean): Promise<JsonLine> {
    const { proc, exited } = child;
    const name = child.spec.name;
    return new Promise((resolve, reject) => {
      let pending = '';
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`${name} was not ready within ${this.options.startTimeoutMs} ms`)), this.options.startTimeoutMs);
      proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const text = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          let line: JsonLine;
          try {
            line = JSON.parse(text) as JsonLine;
          } catch {
            console.log(`[${name}] ${text}`);
            continue;
          }
          if (typeof line['level'] === 'number' && line['level'] >= 40) console.log(`[${name}] ${text}`);
          if (!ready && match(line)) {
            ready = true;
            clearTimeout(timer);
            resolve(line);
          }
        }
      });
      void exited.then((status) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`${name} exited (${describeExit(status)}) before it was ready`));
      });
    });
  }
}
