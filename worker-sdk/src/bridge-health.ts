/**
 * Is the `--forward` backend taking connections? (issue 11 item 8: failure containment.)
 *
 * A bridge whose backend refuses connections must not stay in the router's pool answering 502: it
 * learns "down" from a request that could not connect (nothing was sent), and from then on probes
 * the backend with a plain TCP connect — never an HTTP request, so the application sees nothing —
 * with exponential backoff from `probeMinMs` to `probeMaxMs`, until a connect succeeds ("up").
 * What the worker does on each change (leave the router's pool, come back) is bridge-worker.ts's job.
 */
import { connect as tcpConnect } from 'node:net';
import type { Logger } from 'pino';

export const BACKEND_PROBE_DEFAULTS = {
  /** First probe after the backend was seen down; each failed probe doubles the wait. */
  probeMinMs: 250,
  /** Longest wait between two probes (so a backend that comes back is used within this). */
  probeMaxMs: 5000,
  /** One probe's connect attempt gives up after this. */
  connectTimeoutMs: 2000,
} as const;

export interface BackendHealthOptions {
  /** host and port of the backend (the bridge target's origin). */
  host: string;
  port: number;
  log: Logger;
  probeMinMs?: number;
  probeMaxMs?: number;
  connectTimeoutMs?: number;
}

/** undici/libuv error codes that mean the connection was never made: the request was not sent. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** True if `code` (an error raised before undici wrote the request) means the backend is not reachable. */
export function isConnectFailure(code: string | undefined): boolean {
  return code !== undefined && CONNECT_FAILURES.has(code);
}

export class BackendHealth {
  private isUp = true;
  private timer: NodeJS.Timeout | null = null;
  private waitMs: number;
  private closed = false;
  private readonly listeners: ((up: boolean) => void)[] = [];
  private readonly probeMinMs: number;
  private readonly probeMaxMs: number;
  private readonly connectTimeoutMs: number;

  constructor(private readonly o: BackendHealthOptions) {
    this.probeMinMs = o.probeMinMs ?? BACKEND_PROBE_DEFAULTS.probeMinMs;
    this.probeMaxMs = Math.max(this.probeMinMs, o.probeMaxMs ?? BACKEND_PROBE_DEFAULTS.probeMaxMs);
    this.connectTimeoutMs = o.connectTimeoutMs ?? BACKEND_PROBE_DEFAULTS.connectTimeoutMs;
    this.waitMs = this.probeMinMs;
  }

  get up(): boolean {
    return this.isUp;
  }

  /** `listener(up)` runs synchronously on every change (so a leaving worker's DRAIN goes out first). */
  onChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** A request could not connect: the backend is down until a probe connects. */
  markDown(code: string): void {
    if (!this.isUp || this.closed) return;
    this.isUp = false;
    this.o.log.warn({ backend: `${this.o.host}:${this.o.port}`, code, nextProbeMs: this.probeMinMs }, 'backend not taking connections: probing it');
    this.waitMs = this.probeMinMs;
    this.emit();
    this.schedule();
  }

  /** One probe now: null if the backend took the connection, else why not. Does not change the state. */
  probe(): Promise<string | null> {
    return new Promise((resolve) => {
      const socket = tcpConnect({ host: this.o.host, port: this.o.port });
      const done = (failure: string | null): void => {
        socket.destroy();
        resolve(failure);
      };
      socket.setTimeout(this.connectTimeoutMs, () => done('ETIMEDOUT'));
      socket.once('connect', () => done(null));
      socket.once('error', (err: Error & { code?: string }) => done(err.code ?? err.message));
    });
  }

  /** At start: the state is whatever one probe says (down starts the probe loop). */
  async check(): Promise<boolean> {
    const failure = await this.probe();
    if (failure !== null) this.markDown(failure);
    return failure === null;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.closed) return;
    // Not unref'd: while the backend is down and the worker has left, this timer is what keeps
    // the process alive waiting for the backend.
    this.timer = setTimeout(() => void this.tick(), this.waitMs);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.closed || this.isUp) return;
    if ((await this.probe()) === null) {
      if (this.closed) return;
      this.isUp = true;
      this.o.log.info({ backend: `${this.o.host}:${this.o.port}` }, 'backend taking connections again');
      this.emit();
      return;
    }
    this.waitMs = Math.min(this.waitMs * 2, this.probeMaxMs);
    this.schedule();
  }

  private emit(): void {
    for (const l of this.listeners) {
      try {
        l(this.isUp);
      } catch (err) {
        this.o.log.error({ err: String(err) }, 'backend health listener failed');
      }
    }
  }
}
