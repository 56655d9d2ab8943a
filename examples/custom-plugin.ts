/**
 * A custom routing plugin: "canary" sends a stable share of clients to another pool.
 *
 *   routes:
 *     - plugins:
 *         - plugin: ./examples/custom-plugin.ts     # a path, relative to the config file
 *           config: { pool: canary, percent: 10, key: "header:x-user" }
 *
 * The default export is a PluginDefinition: a name, a JSON Schema of the config, and `create`, which
 * validates the config (errors name the key) and returns an instance whose `decide` is pure — it sees
 * the request head and a read-only view of the workers, and returns a change or a decision.
 */
import { PluginConfigError, type PluginDefinition, type PluginHead, type PluginOutput } from '../router/src/plugins/types.ts';
import { hash53 } from '../router/src/plugins/rendezvous.ts';
import { getHeader } from '../router/src/plugins/headers.ts';

interface CanaryConfig {
  pool: string;
  /** 0..100: the share of keys sent to `pool`. */
  percent: number;
  /** "ip" or "header:NAME". */
  key: { from: 'ip' } | { from: 'header'; name: string };
}

function parse(raw: unknown): CanaryConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PluginConfigError([], 'must be a mapping');
  const c = raw as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!['pool', 'percent', 'key'].includes(k)) throw new PluginConfigError([k], 'unknown key (allowed: pool, percent, key)');
  if (typeof c['pool'] !== 'string' || c['pool'] === '') throw new PluginConfigError(['pool'], 'must be a pool name');
  const percent = c['percent'] ?? 10;
  if (typeof percent !== 'number' || percent < 0 || percent > 100) throw new PluginConfigError(['percent'], 'must be a number 0..100');
  const key = c['key'] ?? 'ip';
  if (key !== 'ip' && (typeof key !== 'string' || !/^header:[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(key))) {
    throw new PluginConfigError(['key'], 'must be "ip" or "header:NAME"');
  }
  return { pool: c['pool'], percent, key: key === 'ip' ? { from: 'ip' } : { from: 'header', name: key.slice(7).toLowerCase() } };
}

const canary: PluginDefinition = {
  name: 'canary',
  schema: {
    type: 'object',
    required: ['pool'],
    additionalProperties: false,
    properties: {
      pool: { type: 'string' },
      percent: { type: 'number', minimum: 0, maximum: 100, default: 10 },
      key: { type: 'string', default: 'ip' },
    },
  },
  create(raw) {
    const config = parse(raw);
    return {
      name: 'canary',
      decide(head: PluginHead): PluginOutput | undefined {
        const key = config.key.from === 'ip' ? head.remote : getHeader(head.headers, config.key.name);
        if (key === undefined) return undefined;
        // The same key always lands on the same side: a client does not flip between versions.
        return (hash53(key) % 10_000) / 100 < config.percent ? { pool: config.pool } : undefined;
      },
    };
  },
};

export default canary;
