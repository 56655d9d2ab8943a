/**
 * A real child process for the interop tests (the router, the Python worker): a ManagedProcess from
 * test/helpers/process.ts — stdout JSON log lines, bounded waits for a log line or for exit — spawned
 * from any command rather than only `node`, with a spawn error kept in the output instead of thrown,
 * and `kill()` for after() hooks.
 */
import { spawn } from 'node:child_process';
import { ManagedProcess } from '../helpers/process.ts';

export type { ExitInfo, LogLine } from '../helpers/process.ts';

export class Child extends ManagedProcess {
  constructor(name: string, command: string, args: string[], cwd: string) {
    super(name, spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
    this.child.once('error', (err) => this.rawOutput.push(`spawn error: ${err.message}`));
  }

  /** For after() hooks: SIGKILL if still running, then wait (bounded) for the exit. */
  async kill(): Promise<void> {
    if (this.exitInfo || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.waitForExit(5_000).catch(() => undefined);
  }
}
