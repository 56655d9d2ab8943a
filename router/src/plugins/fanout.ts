/**
 * fanout (seeds 002/003, the balancing reverse proxy): several attempts for one request, the first
 * terminal response wins. `sequential` tries targets in order (failover), `parallel` sends to all at
 * once, `hedge` starts the next target when the previous has no answer after a delay (fixed, or the
 * observed p95). Targets: every live worker of the route's pool (`workers`, the seed's endpoint list
 * made live), or a list of pool names and http(s) URLs (URL = the `--forward` workers bridging to it).
 * The core executes the plan: body buffered once and replayed, losers reset, per-attempt timeout.
 */
import { fail, integer, list, object, oneOf, onlyKeys, type Path } from './check.ts';
import { DEFAULT_ATTEMPT_TIMEOUT_MS, DEFAULT_BUFFER_LIMIT, DEFAULT_HEDGE_FALLBACK_MS, DEFAULT_TERMINAL } from './decisions.ts';
import { parseDestination, type Destination } from './rewrite.ts';
import type { AttemptMode, AttemptTarget, PluginContext, PluginDefinition, PluginHead, PluginInstance, PluginOutput } from './types.ts';

export interface FanoutConfig {
  mode: AttemptMode;
  targets: 'workers' | Destination[];
  terminal: number[];
  attemptTimeoutMs: number;
  hedgeDelayMs: number | 'p95';
  hedgeFallbackMs: number;
  bufferLimit: number;
  maxAttempts: number;
}

export const FANOUT_DEFAULTS = {
  mode: 'sequential',
  targets: 'workers',
  terminal: DEFAULT_TERMINAL,
  attemptTimeoutMs: DEFAULT_ATTEMPT_TIMEOUT_MS,
  hedgeDelayMs: 'p95',
  hedgeFallbackMs: DEFAULT_HEDGE_FALLBACK_MS,
  bufferLimit: DEFAULT_BUFFER_LIMIT,
  maxAttempts: 16,
} as const;

/** "100,200,300" or [100, 200, 300]: multiples of 100 between 100 and 500 (as the seed's -t flag). */
export function parseTerminal(value: unknown, path: Path): number[] {
  const items = typeof value === 'string' ? value.split(',').map((s) => Number(s.trim())) : list(value, path);
  if (items.length === 0) fail(path, 'must name at least one status class');
  return items.map((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v % 100 !== 0 || v < 100 || v > 500) {
      fail(typeof value === 'string' ? path : [...path, i], `${String(v)} is not a status class (100, 200, 300, 400 or 500)`);
    }
    return v;
  });
}

export function parseFanoutConfig(raw: unknown): FanoutConfig {
  const c = object(raw ?? {}, []);
  onlyKeys(c, ['mode', 'targets', 'terminal', 'attemptTimeoutMs', 'hedgeDelayMs', 'hedgeFallbackMs', 'bufferLimit', 'maxAttempts'], []);
  let targets: FanoutConfig['targets'] = 'workers';
  if (c['targets'] !== undefined && c['targets'] !== 'workers') {
    const items = list(c['targets'], ['targets']);
    if (items.length === 0) fail(['targets'], 'must list at least one pool or URL (or be "workers")');
    targets = items.map((v, i) => parseDestination(v, ['targets', i]));
  }
  const hedgeDelay = c['hedgeDelayMs'];
  return {
    mode: c['mode'] === undefined ? FANOUT_DEFAULTS.mode : oneOf(c['mode'], ['mode'], ['sequential', 'parallel', 'hedge'] as const),
    targets,
    terminal: c['terminal'] === undefined ? [...DEFAULT_TERMINAL] : parseTerminal(c['terminal'], ['terminal']),
    attemptTimeoutMs: c['attemptTimeoutMs'] === undefined ? DEFAULT_ATTEMPT_TIMEOUT_MS : integer(c['attemptTimeoutMs'], ['attemptTimeoutMs'], 0, 86_400_000),
    hedgeDelayMs: hedgeDelay === undefined || hedgeDelay === 'p95' ? 'p95' : integer(hedgeDelay, ['hedgeDelayMs'], 0, 3_600_000),
    hedgeFallbackMs: c['hedgeFallbackMs'] === undefined ? DEFAULT_HEDGE_FALLBACK_MS : integer(c['hedgeFallbackMs'], ['hedgeFallbackMs'], 0, 3_600_000),
    bufferLimit: c['bufferLimit'] === undefined ? DEFAULT_BUFFER_LIMIT : integer(c['bufferLimit'], ['bufferLimit'], 0, 64 * 1024 * 1024),
    maxAttempts: c['maxAttempts'] === undefined ? FANOUT_DEFAULTS.maxAttempts : integer(c['maxAttempts'], ['maxAttempts'], 1, 64),
  };
}

export function createFanout(config: FanoutConfig): PluginInstance {
  return {
    name: 'fanout',
    decide(_head: PluginHead, ctx: PluginContext): PluginOutput | undefined {
      let targets: AttemptTarget[];
      if (config.targets === 'workers') {
        targets = ctx
          .workers(ctx.pool)
          .filter((w) => !w.lost && !w.draining)
          .map((worker) => ({ worker }));
        // No worker yet: one attempt on the pool, which waits in its queue like any request.
        if (targets.length === 0) targets = [{ selector: { pool: ctx.pool } }];
      } else {
        targets = config.targets.map((d) => ({ selector: 'pool' in d ? { pool: d.pool } : { pool: ctx.pool, meta: { forward: d.forward } } }));
      }
      return {
        decision: {
          kind: 'attempts',
          mode: config.mode,
          targets: targets.slice(0, config.maxAttempts),
          terminal: config.terminal,
          attemptTimeoutMs: config.attemptTimeoutMs,
          hedgeDelayMs: config.hedgeDelayMs,
          hedgeFallbackMs: config.hedgeFallbackMs,
          bufferLimit: config.bufferLimit,
        },
      };
    },
  };
}

export const fanoutPlugin: PluginDefinition = {
  name: 'fanout',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      mode: { enum: ['sequential', 'parallel', 'hedge'], default: 'sequential' },
      targets: {
        default: 'workers',
        oneOf: [{ const: 'workers' }, { type: 'array', minItems: 1, items: { type: 'string', description: 'pool name or http(s) URL' } }],
      },
      terminal: { default: [100, 200, 300, 400], oneOf: [{ type: 'string' }, { type: 'array', items: { enum: [100, 200, 300, 400, 500] } }] },
      attemptTimeoutMs: { type: 'integer', minimum: 0, default: 30000 },
      hedgeDelayMs: { default: 'p95', oneOf: [{ const: 'p95' }, { type: 'integer', minimum: 0 }] },
      hedgeFallbackMs: { type: 'integer', minimum: 0, default: 100 },
      bufferLimit: { type: 'integer', minimum: 0, default: 1048576 },
      maxAttempts: { type: 'integer', minimum: 1, maximum: 64, default: 16 },
    },
  },
  create: (raw) => createFanout(parseFanoutConfig(raw)),
};
