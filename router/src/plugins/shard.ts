/**
 * shard (seed 000, the ringpop sidecar): each key has an owner among the pool's live workers by
 * rendezvous hashing with bounded loads; the key comes from the client IP (default), a header, a
 * cookie, a path segment or a query parameter. Responses say who handled (X-Handled-By, the worker
 * id) and who received (X-Received-By, the router id) the request, as X-Ringpop-* did.
 * Workers may announce `weight` (number > 0) and `labels` (comma-separated) in HELLO meta.
 */
import { fail, headerName, number, object, onlyKeys, string, list, type Path } from './check.ts';
import { one } from './decisions.ts';
import { getCookie, getHeader } from './headers.ts';
import { pickBounded, type Member } from './rendezvous.ts';
import type { LiveWorker, PluginContext, PluginDefinition, PluginHead, PluginInstance, PluginOutput } from './types.ts';

export type KeySource =
  | { from: 'ip' }
  | { from: 'header'; name: string }
  | { from: 'cookie'; name: string }
  | { from: 'path'; segment: number }
  | { from: 'query'; name: string };

export interface ShardConfig {
  key: KeySource;
  /** Where the key is missing: use the client IP, or leave the choice to least-in-flight. */
  fallback: 'ip' | 'any';
  loadFactor: number;
  /** Only workers whose HELLO meta `labels` include all of these. */
  labels: string[];
  handledByHeader: string | null;
  receivedByHeader: string | null;
}

export const SHARD_DEFAULTS = { key: 'ip', fallback: 'ip', loadFactor: 1.25, handledByHeader: 'x-handled-by', receivedByHeader: 'x-received-by' } as const;

/** "ip" | "header:NAME" | "cookie:NAME" | "path:N" (1-based segment) | "query:NAME". */
export function parseKeySource(text: string, path: Path): KeySource {
  if (text === 'ip') return { from: 'ip' };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? '' : text.slice(colon + 1);
  if (arg === '' && kind !== 'ip') fail(path, `"${text}": expected ip, header:NAME, cookie:NAME, path:N or query:NAME`);
  switch (kind) {
    case 'header':
      return { from: 'header', name: headerName(arg, path) };
    case 'cookie':
      return { from: 'cookie', name: arg };
    case 'query':
      return { from: 'query', name: arg };
    case 'path': {
      const n = Number(arg);
      if (!Number.isInteger(n) || n < 1 || n > 64) fail(path, `"${text}": the path segment is a number 1..64`);
      return { from: 'path', segment: n };
    }
    default:
      fail(path, `"${text}": expected ip, header:NAME, cookie:NAME, path:N or query:NAME`);
  }
}

/** The shard key of a request, or undefined when its source is absent. */
export function shardKey(head: PluginHead, source: KeySource): string | undefined {
  switch (source.from) {
    case 'ip':
      return head.remote;
    case 'header':
      return getHeader(head.headers, source.name);
    case 'cookie':
      return getCookie(head.headers, source.name);
    case 'path': {
      const q = head.path.indexOf('?');
      const segments = (q < 0 ? head.path : head.path.slice(0, q)).split('/').filter((s) => s !== '');
      return segments[source.segment - 1];
    }
    case 'query': {
      const q = head.path.indexOf('?');
      if (q < 0) return undefined;
      return new URLSearchParams(head.path.slice(q + 1)).get(source.name) ?? undefined;
    }
  }
}

export function parseShardConfig(raw: unknown): ShardConfig {
  const c = object(raw ?? {}, []);
  onlyKeys(c, ['key', 'fallback', 'loadFactor', 'labels', 'handledByHeader', 'receivedByHeader'], []);
  const headerOrOff = (v: unknown, key: string, dflt: string): string | null =>
    v === undefined ? dflt : v === false ? null : headerName(v, [key]);
  return {
    key: parseKeySource(c['key'] === undefined ? SHARD_DEFAULTS.key : string(c['key'], ['key']), ['key']),
    fallback: c['fallback'] === undefined ? SHARD_DEFAULTS.fallback : c['fallback'] === 'ip' || c['fallback'] === 'any' ? c['fallback'] : fail(['fallback'], 'must be one of ip, any'),
    loadFactor: c['loadFactor'] === undefined ? SHARD_DEFAULTS.loadFactor : number(c['loadFactor'], ['loadFactor'], 1, 100),
    labels: c['labels'] === undefined ? [] : list(c['labels'], ['labels']).map((v, i) => string(v, ['labels', i])),
    handledByHeader: headerOrOff(c['handledByHeader'], 'handledByHeader', SHARD_DEFAULTS.handledByHeader),
    receivedByHeader: headerOrOff(c['receivedByHeader'], 'receivedByHeader', SHARD_DEFAULTS.receivedByHeader),
  };
}

export interface WorkerMember extends Member {
  readonly worker: LiveWorker;
}

/** HELLO meta `weight`: a positive number, else 1 (a bad value must not take a worker's keys away). */
export function workerWeight(worker: LiveWorker): number {
  const w = Number(worker.meta['weight']);
  return Number.isFinite(w) && w > 0 ? w : 1;
}

function hasLabels(worker: LiveWorker, wanted: readonly string[]): boolean {
  if (wanted.length === 0) return true;
  const have = new Set((worker.meta['labels'] ?? '').split(',').map((s) => s.trim()));
  return wanted.every((l) => have.has(l));
}

/** The members a key is hashed over: live (not draining, not lost) workers with the wanted labels. */
export function shardMembers(workers: readonly LiveWorker[], labels: readonly string[]): WorkerMember[] {
  const members: WorkerMember[] = [];
  for (const w of workers) {
    if (w.lost || w.draining || !hasLabels(w, labels)) continue;
    members.push({ id: w.workerId, weight: workerWeight(w), worker: w });
  }
  return members;
}

/** A worker's load for bounded load: its streams in flight, Infinity (full) without credit. */
export function shardLoad(m: WorkerMember): number {
  return m.worker.credit > 0 ? m.worker.inFlight : Infinity;
}

/** What a worker may always hold before its keys spill: its announced capacity (HELLO). */
export function shardFloor(m: WorkerMember): number {
  return m.worker.capacity;
}

export function createShard(config: ShardConfig): PluginInstance {
  return {
    name: 'shard',
    decide(head: PluginHead, ctx: PluginContext): PluginOutput | undefined {
      let key = shardKey(head, config.key);
      if (key === undefined && config.fallback === 'ip') key = head.remote;
      if (key === undefined) return undefined;
      const members = shardMembers(ctx.workers(ctx.pool), config.labels);
      // Workers without credit count as full: bounded load moves the key to its next owner. A worker
      // under its announced capacity never counts as full (the floor), so one client's concurrent
      // requests stay on its owner at low load (seed 000 stickiness) and spill only under real load.
      const chosen = pickBounded(key, members, shardLoad, config.loadFactor, shardFloor);
      if (chosen === undefined) return undefined; // no worker yet: the request waits in the pool's queue
      const set: [string, string][] = [];
      if (config.handledByHeader !== null) set.push([config.handledByHeader, chosen.worker.workerId]);
      if (config.receivedByHeader !== null) set.push([config.receivedByHeader, ctx.routerId]);
      return { decision: one(chosen.worker), responseHeaders: { set } };
    },
  };
}

export const shardPlugin: PluginDefinition = {
  name: 'shard',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      key: { type: 'string', default: 'ip', pattern: '^(ip|header:.+|cookie:.+|path:[0-9]+|query:.+)$' },
      fallback: { enum: ['ip', 'any'], default: 'ip' },
      loadFactor: { type: 'number', minimum: 1, maximum: 100, default: 1.25 },
      labels: { type: 'array', items: { type: 'string' }, default: [] },
      handledByHeader: { type: ['string', 'boolean'], default: 'x-handled-by' },
      receivedByHeader: { type: ['string', 'boolean'], default: 'x-received-by' },
    },
  },
  create: (raw) => createShard(parseShardConfig(raw)),
};
