/**
 * Counts retries from the servers' side: the chaos handler and backend log one line per request
 * they see, and the client sends each request once, so a request id seen twice was retried by the
 * router (a lower bound: a REQ lost with its worker before the handler ran is not seen).
 */
import type { ManagedProcess } from '../test/helpers/index.ts';

export class SeenRequests {
  private readonly seen = new Map<string, number>();
  retried = 0;

  /** Follows a process's stdout for "chaos request" lines. */
  watch(proc: ManagedProcess): void {
    let pending = '';
    proc.child.stdout?.on('data', (chunk: string | Buffer) => {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.includes('"chaos request"')) this.onLine(line);
      }
    });
  }

  private onLine(line: string): void {
    let id: unknown;
    try {
      id = (JSON.parse(line) as { requestId?: unknown }).requestId;
    } catch {
      return;
    }
    if (typeof id !== 'string') return;
    const count = (this.seen.get(id) ?? 0) + 1;
    this.seen.set(id, count);
    if (count === 2) this.retried++;
  }
}
