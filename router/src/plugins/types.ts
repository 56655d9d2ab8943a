/**
 * The routing plugin API. A plugin decides, the core executes (Caddy's selection policies, Envoy's
 * route-level retry/hedge policies): a plugin sees the request head and a read-only view of the live
 * workers and returns a changed head to continue with, or a dispatch decision. It never touches a
 * socket, a stream, a queue or a timer.
 */

/** The request head as plugins see it. Headers are a flat [name, value, …] list, names lower-case. */
export interface PluginHead {
  readonly method: string;
  readonly scheme: string;
  /** Host / :authority. */
  readonly authority: string;
  /** Path and query, as received. */
  readonly path: string;
  readonly headers: readonly string[];
  /** Client address. */
  readonly remote: string;
  readonly requestId: string;
}

/** What a plugin may know about a registered worker (the router's live record, read-only). */
export interface LiveWorker {
  readonly workerId: string;
  readonly pool: string;
  /** HELLO meta: runtime, `forward` (bridge target URL), `weight`, `labels` … */
  readonly meta: Readonly<Record<string, string>>;
  readonly capacity: number;
  readonly credit: number;
  readonly inFlight: number;
  readonly draining: boolean;
  readonly lost: boolean;
  /** Has credit, not draining, not lost. */
  readonly available: boolean;
}

/** Selects workers by pool and (optionally) HELLO meta values, e.g. { forward: "http://x/" }. */
export interface WorkerSelector {
  readonly pool: string;
  readonly meta?: Readonly<Record<string, string>>;
}

/** One attempt target: a particular worker, or the least-loaded worker a selector matches. */
export type AttemptTarget = { readonly worker: LiveWorker } | { readonly selector: WorkerSelector };

export type AttemptMode = 'sequential' | 'parallel' | 'hedge';

/** How the core runs several attempts of one request (Envoy's RetryPolicy/HedgePolicy as data). */
export interface AttemptPlan {
  readonly kind: 'attempts';
  readonly mode: AttemptMode;
  readonly targets: readonly AttemptTarget[];
  /** Status classes (100, 200 …) whose responses are final; others try the next target. */
  readonly terminal: readonly number[];
  /** Per-attempt deadline for the response head (ms, 0 = none). */
  readonly attemptTimeoutMs: number;
  /** Hedge: start the next attempt after this long without a terminal head; 'p95' = observed p95. */
  readonly hedgeDelayMs: number | 'p95';
  /** Hedge delay used until enough latencies were observed for a p95. */
  readonly hedgeFallbackMs: number;
  /** Request-body bytes buffered for replay; a larger body goes to the first target only. */
  readonly bufferLimit: number;
}

export type Decision =
  | { readonly kind: 'one'; readonly worker: LiveWorker }
  | AttemptPlan
  | { readonly kind: 'reject'; readonly status: number; readonly message: string };

/** Header changes applied to the response the client gets. */
export interface HeaderEdit {
  readonly set?: readonly (readonly [string, string])[];
  readonly remove?: readonly string[];
}

/** What `decide` returns; undefined means "unchanged, continue". */
export interface PluginOutput {
  /** A changed head for the rest of the chain and the worker. */
  readonly head?: PluginHead;
  /** Route to this pool from here on. */
  readonly pool?: string;
  /** Narrow the pool to workers whose HELLO meta has these values. */
  readonly meta?: Readonly<Record<string, string>>;
  readonly responseHeaders?: HeaderEdit;
  /** Ends the chain. */
  readonly decision?: Decision;
}

/** Read-only facts a plugin may use. */
export interface PluginContext {
  readonly routerId: string;
  /** The pool the request is routed to so far. */
  readonly pool: string;
  /** Registered workers of `pool`, in registration order (includes ones without credit). */
  workers(pool: string): readonly LiveWorker[];
}

/** A configured plugin, ready to decide. `decide` must be pure: same inputs, same output. */
export interface PluginInstance {
  readonly name: string;
  decide(head: PluginHead, ctx: PluginContext): PluginOutput | undefined;
}

/** Thrown by `create` for a bad config; `path` is relative to the plugin's `config` key. */
export class PluginConfigError extends Error {
  constructor(
    readonly path: readonly (string | number)[],
    message: string,
  ) {
    super(message);
    this.name = 'PluginConfigError';
  }
}

/** A plugin module: what built-ins export and what a custom plugin file default-exports. */
export interface PluginDefinition {
  readonly name: string;
  /** JSON Schema of the plugin's `config` (published in schema/config.schema.json for built-ins). */
  readonly schema: Readonly<Record<string, unknown>>;
  /** Validates `config` (throws PluginConfigError naming the key) and returns a ready instance. */
  create(config: unknown): PluginInstance;
}
