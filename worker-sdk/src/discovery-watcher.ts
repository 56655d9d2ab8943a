/**
 * Re-resolves each DNS target every interval and reports the union of the endpoints they stand
 * for whenever it changes. A failed resolution keeps the last answer (a DNS hiccup must not drop
 * healthy routers); an empty answer (no such name) means the routers are gone.
 */
import type { Logger } from 'pino';
import { endpointForAddress, MAX_ADDRESSES_PER_NAME, type DnsTarget, type Resolver } from './discovery.ts';

/** Longest one resolution may take before it counts as failed (the system resolver can stall). */
const RESOLVE_TIMEOUT_MS = 10_000;
/** At most one failure line per target per this many ms. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

export interface DnsWatcherOptions {
  targets: readonly DnsTarget[];
  resolve: Resolver;
  intervalMs: number;
  logger: Logger;
  /** Called with every endpoint the targets currently stand for, each time that set changes. */
  onChange(endpoints: ReadonlySet<string>): void;
}

interface TargetState {
  target: DnsTarget;
  endpoints: Set<string>;
  timer: NodeJS.Timeout | undefined;
  failureLoggedAt: number;
}

export class DnsWatcher {
  private readonly states: TargetState[];
  private stopped = false;

  constructor(private readonly o: DnsWatcherOptions) {
    this.states = o.targets.map((target) => ({ target, endpoints: new Set(), timer: undefined, failureLoggedAt: 0 }));
  }

  /** Resolves every target now, then every interval. */
  start(): void {
    for (const state of this.states) void this.resolveLoop(state);
  }

  stop(): void {
    this.stopped = true;
    for (const state of this.states) clearTimeout(state.timer);
  }

  private async resolveLoop(state: TargetState): Promise<void> {
    if (this.stopped) return;
    const { name, port, spec } = state.target;
    try {
      const addresses = await withDeadline(this.o.resolve(name), RESOLVE_TIMEOUT_MS, `resolving ${name}`);
      if (this.stopped) return;
      const endpoints = new Set<string>();
      for (const address of addresses) {
        const endpoint = endpointForAddress(address, port);
        if (endpoint !== undefined && endpoints.size < MAX_ADDRESSES_PER_NAME) endpoints.add(endpoint);
      }
      if (addresses.length > endpoints.size) {
        this.o.logger.warn({ target: spec, addresses: addresses.length, used: endpoints.size }, 'DNS answer not fully used (not an IP address, or over the limit)');
      }
      this.o.logger.debug({ target: spec, endpoints: endpoints.size }, 'DNS resolved');
      if (!sameSet(endpoints, state.endpoints)) {
        state.endpoints = endpoints;
        this.o.onChange(this.union());
      }
    } catch (err) {
      const now = Date.now();
      if (now - state.failureLoggedAt >= FAILURE_LOG_INTERVAL_MS) {
        state.failureLoggedAt = now;
        this.o.logger.warn({ target: spec, err: (err as Error).message, keeping: state.endpoints.size }, 'DNS resolution failed, keeping the routers it gave before');
      }
    }
    if (this.stopped) return;
    state.timer = setTimeout(() => void this.resolveLoop(state), this.o.intervalMs);
  }

  private union(): Set<string> {
    const all = new Set<string>();
    for (const state of this.states) for (const e of state.endpoints) all.add(e);
    return all;
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
