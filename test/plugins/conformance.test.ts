/**
 * The one conformance suite every routing plugin passes — built-ins and the custom example alike:
 * valid configs are accepted; invalid ones fail with an error naming the key (and, through the
 * config loader, the line); decisions are pure and deterministic (frozen inputs, same output twice,
 * a reloaded instance decides the same); plugin sources import nothing that reaches a socket.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ConfigError } from '../../router/src/config/errors.ts';
import { parseConfig } from '../../router/src/config/load.ts';
import { configSchema } from '../../router/src/config/schema.ts';
import { BUILTIN_PLUGINS } from '../../router/src/plugins/builtins.ts';
import { loadPluginFile } from '../../router/src/plugins/loader.ts';
import { PluginConfigError, type LiveWorker, type PluginContext, type PluginDefinition, type PluginHead } from '../../router/src/plugins/types.ts';
import { REPO_ROOT } from '../helpers/index.ts';

interface Case {
  /** Built-in name, or a file path relative to the repository. */
  plugin: string;
  source: string;
  valid: unknown[];
  invalid: { config: unknown; path: (string | number)[] }[];
}

const CASES: Case[] = [
  {
    plugin: 'shard',
    source: 'router/src/plugins/shard.ts',
    valid: [undefined, {}, { key: 'header:x-user', loadFactor: 2 }, { key: 'cookie:sid' }, { key: 'path:2', fallback: 'any' }, { key: 'query:u', labels: ['eu'], handledByHeader: false }],
    invalid: [
      { config: { key: 'nose' }, path: ['key'] },
      { config: { key: 'path:zero' }, path: ['key'] },
      { config: { loadFactor: 0.5 }, path: ['loadFactor'] },
      { config: { labels: 'eu' }, path: ['labels'] },
      { config: { typo: 1 }, path: ['typo'] },
      { config: [], path: [] },
    ],
  },
  {
    plugin: 'rewrite',
    source: 'router/src/plugins/rewrite.ts',
    valid: [
      {},
      { key: 'environment', rewrites: { dev: { patch: [{ key: 'Host', val: 'example.com' }, { key: 'dispatched', val: true }], destination: 'http://example.com' } }, destination: 'http://example.org' },
      { path: { stripPrefix: '/api' }, host: 'internal', request: { set: { 'x-a': 1 }, remove: ['cookie'] }, response: { set: { 'x-b': 'c' }, remove: ['server'] } },
      { path: { regex: '^/v1/(.*)$', replace: '/$1' }, destination: 'blue' },
    ],
    invalid: [
      { config: { rewrites: { dev: {} } }, path: ['key'] },
      { config: { key: 'env', rewrites: { dev: { patch: [{ key: 'bad header', val: 'x' }] } } }, path: ['rewrites', 'dev', 'patch', 0, 'key'] },
      { config: { key: 'env', rewrites: { dev: { patch: [{ key: 'x' }] } } }, path: ['rewrites', 'dev', 'patch', 0, 'val'] },
      { config: { key: 'env', rewrites: { dev: { patch: [{ key: 'x', val: 'a\r\nb' }] } } }, path: ['rewrites', 'dev', 'patch', 0, 'val'] },
      { config: { path: { regex: '(' , replace: '' } }, path: ['path', 'regex'] },
      { config: { path: { stripPrefix: 'api' } }, path: ['path', 'stripPrefix'] },
      { config: { destination: 'not a pool' }, path: ['destination'] },
    ],
  },
  {
    plugin: 'fanout',
    source: 'router/src/plugins/fanout.ts',
    valid: [undefined, { mode: 'parallel' }, { mode: 'hedge', hedgeDelayMs: 50, targets: ['a', 'http://b.example/'] }, { terminal: '100,200,300' }, { terminal: [200], bufferLimit: 0 }],
    invalid: [
      { config: { mode: 'random' }, path: ['mode'] },
      { config: { terminal: [250] }, path: ['terminal', 0] },
      { config: { terminal: '100,x' }, path: ['terminal'] },
      { config: { targets: [] }, path: ['targets'] },
      { config: { hedgeDelayMs: -1 }, path: ['hedgeDelayMs'] },
      { config: { attemptTimeoutMs: 'soon' }, path: ['attemptTimeoutMs'] },
    ],
  },
  {
    plugin: './examples/custom-plugin.ts',
    source: 'examples/custom-plugin.ts',
    valid: [{ pool: 'canary' }, { pool: 'canary', percent: 50, key: 'header:x-user' }],
    invalid: [
      { config: {}, path: ['pool'] },
      { config: { pool: 'c', percent: 101 }, path: ['percent'] },
      { config: { pool: 'c', key: 'cookie:x' }, path: ['key'] },
    ],
  },
];

const HEADS: PluginHead[] = [
  { method: 'GET', scheme: 'http', authority: 'a.example', path: '/api/v1/items?u=7', headers: ['host', 'a.example', 'environment', 'dev', 'x-user', 'u1', 'cookie', 'sid=abc'], remote: '10.0.0.1', requestId: 'r1' },
  { method: 'POST', scheme: 'http', authority: 'b.example', path: '/', headers: ['host', 'b.example'], remote: '::1', requestId: 'r2' },
];

function worker(id: string, pool: string, meta: Record<string, string> = {}, inFlight = 0): LiveWorker {
  return Object.freeze({ workerId: id, pool, meta: Object.freeze(meta), capacity: 64, credit: 64 - inFlight, inFlight, draining: false, lost: false, available: true });
}

const WORKERS: readonly LiveWorker[] = Object.freeze([
  worker('w1', 'default', { forward: 'http://example.com/' }),
  worker('w2', 'default', { weight: '2', labels: 'eu' }, 3),
  worker('w3', 'default', { forward: 'http://example.org/' }, 1),
]);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const ctx: PluginContext = Object.freeze({ routerId: 'r', pool: 'default', workers: (pool: string) => WORKERS.filter((w) => w.pool === pool) });

async function definitionOf(c: Case): Promise<PluginDefinition> {
  return BUILTIN_PLUGINS.get(c.plugin) ?? (await loadPluginFile(path.join(REPO_ROOT, c.plugin)));
}

/** Imports that could reach the network, a process or a file: a plugin decides, it does not act. */
const FORBIDDEN_IMPORTS = /from ['"](node:)?(net|dgram|http|https|http2|tls|child_process|fs|fs\/promises|worker_threads|cluster)['"]|from ['"]zeromq['"]|transport\/|core\/stream/;

describe('plugin conformance (built-ins and the custom example)', () => {
  it('the built-in list is what the suite covers', () => {
    for (const name of BUILTIN_PLUGINS.keys()) assert.ok(CASES.some((c) => c.plugin === name), `${name} has a conformance case`);
  });

  it('schema/config.schema.json is the generated schema', () => {
    const published = JSON.parse(readFileSync(path.join(REPO_ROOT, 'schema', 'config.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(published, configSchema());
  });

  it('no file of the plugin API imports anything that reaches a socket, a file or a process', () => {
    const dir = path.join(REPO_ROOT, 'router', 'src', 'plugins');
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      assert.doesNotMatch(readFileSync(path.join(dir, name), 'utf8'), FORBIDDEN_IMPORTS, name);
    }
  });

  for (const c of CASES) {
    describe(c.plugin, () => {
      it('has a name and an object JSON Schema', async () => {
        const def = await definitionOf(c);
        assert.match(def.name, /^[a-z][a-z0-9-]*$/);
        assert.equal(def.schema['type'], 'object');
      });

      it('accepts valid configs', async () => {
        const def = await definitionOf(c);
        for (const config of c.valid) assert.equal(typeof def.create(config).decide, 'function');
      });

      it('refuses invalid configs naming the key, and the loader adds the line', async () => {
        const def = await definitionOf(c);
        for (const bad of c.invalid) {
          assert.throws(
            () => def.create(bad.config),
            (err: unknown) => err instanceof PluginConfigError && err.message.length > 0 && JSON.stringify(err.path) === JSON.stringify(bad.path),
            `${JSON.stringify(bad.config)} → ${JSON.stringify(bad.path)}`,
          );
          const file = path.join(REPO_ROOT, 'conformance.yaml');
          const text = stringify({ routes: [{ match: { pathPrefix: '/' }, plugins: [{ plugin: c.plugin, config: bad.config }] }] });
          await assert.rejects(parseConfig(text, file), (err: unknown) => {
            assert.ok(err instanceof ConfigError, String(err));
            assert.ok(err.line !== null && err.line >= 1, `a line for ${err.message}`);
            assert.deepEqual(err.path, ['routes', 0, 'plugins', 0, 'config', ...bad.path]);
            return true;
          });
        }
      });

      it('decides purely and deterministically on frozen inputs', async () => {
        const def = await definitionOf(c);
        for (const config of c.valid) {
          const instance = def.create(deepFreeze(structuredClone(config)));
          for (const head of HEADS) {
            const frozen = deepFreeze(structuredClone(head));
            const first = instance.decide(frozen, ctx);
            const second = instance.decide(frozen, ctx);
            assert.deepEqual(second, first);
            assert.deepEqual(frozen, head, 'the head is not changed in place');
          }
        }
      });

      it('survives reload: a new instance decides as the old one, which keeps working', async () => {
        const file = path.join(REPO_ROOT, 'conformance.yaml');
        const text = stringify({ routes: [{ plugins: c.valid.filter((v) => v !== undefined).map((config) => ({ plugin: c.plugin, config })) }] });
        const before = await parseConfig(text, file);
        const after = await parseConfig(text, file);
        for (const head of HEADS) {
          const a = before.plan(head, 'r', ctx.workers);
          const b = after.plan(head, 'r', ctx.workers);
          assert.deepEqual({ ...b, route: null }, { ...a, route: null });
        }
      });

      it('imports nothing that reaches a socket, a file or a process', () => {
        const text = readFileSync(path.join(REPO_ROOT, c.source), 'utf8');
        assert.doesNotMatch(text, FORBIDDEN_IMPORTS);
      });
    });
  }
});
