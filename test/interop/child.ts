/**
 * A real child process whose stdout is JSON log lines (pino from the router, the same shape from the
 * Python worker). Tests wait for a log line or for exit — event-based and always bounded — and
 * `kill()` in an after() hook ends whatever is still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';

export type LogLine = Record<string, unknown> & { msg?: string };
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Kept output is capped so a chatty process cannot grow the test's memory without bound. */
const MAX_LINES = 10_000;

export class Child {
  readonly logs: LogLine[] = [];
  readonly output: string[] = [];
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;
  private readonly child: ChildProcess;
  private readonly lines = new EventEmitter();

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    cwd: string,
  ) {
    this.child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.lines.setMaxListeners(0);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        this.lines.emit('exit');
        resolve(this.exit);
      });
    });
    this.child.once('error', (err) => this.keep(`spawn error: ${err.message}`));
    let pending = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        this.onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.keep(`stderr: ${chunk.trimEnd()}`));
  }

  private keep(text: string): void {
    if (this.output.length < MAX_LINES) this.output.push(text);
  }

  private onLine(line: string): void {
    this.keep(line);
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return; // not a log line: kept in `output` for failure messages only
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return;
    if (this.logs.length < MAX_LINES) this.logs.push(parsed as LogLine);
    this.lines.emit('line', parsed);
  }

  /** The first log line (already seen or still to come) that matches; rejects on timeout or exit. */
  async waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs: number, from = 0): Promise<LogLine> {
    const seen = this.logs.slice(from).find(match);
    if (seen) return seen;
    return new Promise((resolve, reject) => {
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        this.lines.off('line', onLine);
        this.lines.off('exit', onExit);
        fn();
      };
      const onLine = (line: LogLine): void => {
        if (match(line)) finish(() => resolve(line));
      };
      const onExit = (): void =>
        finish(() => reject(new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before ${what}\n${this.tail()}`)));
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.tail()}`))),
        timeoutMs,
      );
      this.lines.on('line', onLine);
      this.lines.once('exit', onExit);
      if (this.exit) onExit();
    });
  }

  /** Exit code/signal, or a rejection if the process is still running after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} still running after ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exit) this.child.kill(sig);
  }

  /** For after() hooks: SIGKILL if still running, then wait (bounded) for the exit. */
  async kill(): Promise<void> {
    if (this.exit || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.waitForExit(5_000).catch(() => undefined);
  }

  tail(lines = 30): string {
    return this.output.slice(-lines).join('\n');
  }
}
