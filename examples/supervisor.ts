/**
 * A tiny process supervisor for examples/start.ts: starts children, waits for a JSON line that says
 * each is ready, and stops them all together — SIGTERM first (they drain), SIGKILL after a bound —
 * when asked or when any of them dies unexpectedly. No child outlives it on Ctrl-C/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface SupervisedChild {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

export interface SupervisorOptions {
  cwd: string;
  /** How long children get to drain on stop before SIGKILL. */
  stopGraceMs: number;
  /** How long a child may take to print its ready line. */
  startTimeoutMs: number;
}

type JsonLine = Record<string, unknown>;

export class Supervisor {
  private readonly children: SupervisedChild[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly options: SupervisorOptions,
    /** Called once when a child exits while nothing asked it to. */
    private readonly onUnexpectedExit: (child: SupervisedChild, code: number | null) => void,
  ) {}

  get pids(): number[] {
    return this.children.map((c) => c.proc.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** Starts `node <args…>`; stdout is parsed as JSON lines, stderr passes through. */
  start(name: string, args: string[], env: NodeJS.ProcessEnv = {}): SupervisedChild {
    const proc = spawn(process.execPath, args, { cwd: this.options.cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const child: SupervisedChild = { name, proc, exited };
    this.children.push(child);
    void exited.then((code) => {
      if (!this.stopping) this.onUnexpectedExit(child, code);
    });
    return child;
  }

  /**
   * Resolves with the first stdout JSON line of `child` that satisfies `match`. Lines at pino level
   * warn (40) or above, and non-JSON lines, are echoed with the child's name; info stays quiet.
   */
  waitForLine(child: SupervisedChild, match: (line: JsonLine) => boolean): Promise<JsonLine> {
    return new Promise((resolve, reject) => {
      let pending = '';
      const timer = setTimeout(() => reject(new Error(`${child.name} was not ready within ${this.options.startTimeoutMs} ms`)), this.options.startTimeoutMs);
      child.proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const text = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          let line: JsonLine;
          try {
            line = JSON.parse(text) as JsonLine;
          } catch {
            console.log(`[${child.name}] ${text}`);
            continue;
          }
          if (typeof line['level'] === 'number' && line['level'] >= 40) console.log(`[${child.name}] ${text}`);
          if (match(line)) {
            clearTimeout(timer);
            resolve(line);
          }
        }
      });
      void child.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${child.name} exited before it was ready`));
      });
    });
  }

  /** SIGTERM to every child still running, SIGKILL after the grace period; resolves when all exited. */
  stopAll(): Promise<void> {
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
}
