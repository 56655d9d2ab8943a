/** Constructors for dispatch decisions, so plugins (built-in and custom) build them the same way. */
import type { AttemptPlan, AttemptTarget, Decision, LiveWorker } from './types.ts';

/** The balancing proxy seed's default: 1xx–4xx are final answers, 5xx try the next target. */
export const DEFAULT_TERMINAL: readonly number[] = Object.freeze([100, 200, 300, 400]);
/** Request bodies up to this size are buffered once and replayed to every attempt. */
export const DEFAULT_BUFFER_LIMIT = 1024 * 1024;
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 30_000;
export const DEFAULT_HEDGE_FALLBACK_MS = 100;

export interface AttemptOptions {
  terminal?: readonly number[];
  attemptTimeoutMs?: number;
  bufferLimit?: number;
  hedgeFallbackMs?: number;
}

function plan(mode: AttemptPlan['mode'], targets: readonly AttemptTarget[], hedgeDelayMs: number | 'p95', o: AttemptOptions): AttemptPlan {
  return {
    kind: 'attempts',
    mode,
    targets,
    terminal: o.terminal ?? DEFAULT_TERMINAL,
    attemptTimeoutMs: o.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
    hedgeDelayMs,
    hedgeFallbackMs: o.hedgeFallbackMs ?? DEFAULT_HEDGE_FALLBACK_MS,
    bufferLimit: o.bufferLimit ?? DEFAULT_BUFFER_LIMIT,
  };
}

export const one = (worker: LiveWorker): Decision => ({ kind: 'one', worker });
/** Targets one after another: the next only when the previous gave no terminal response. */
export const failover = (targets: readonly AttemptTarget[], o: AttemptOptions = {}): AttemptPlan => plan('sequential', targets, 0, o);
/** The next target starts when the previous has no terminal head after `afterMs` (or fails). */
export const hedge = (targets: readonly AttemptTarget[], afterMs: number | 'p95', o: AttemptOptions = {}): AttemptPlan =>
  plan('hedge', targets, afterMs, o);
/** All targets at once; the first terminal response wins. */
export const fanout = (targets: readonly AttemptTarget[], terminal: readonly number[] = DEFAULT_TERMINAL, o: AttemptOptions = {}): AttemptPlan =>
  plan('parallel', targets, 0, { ...o, terminal });
export const reject = (status: number, message: string): Decision => ({ kind: 'reject', status, message });
