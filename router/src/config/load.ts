/**
 * Loads a config file (YAML, or JSON — YAML parses both, so every error has a line) into a
 * RoutingTable. Every problem is a ConfigError naming the file, the key path and the line.
 *
 *   routes:                       # first match wins; no match → pool "default", least-in-flight
 *     - name: api
 *       match: { host: api.example.com, pathPrefix: /v1, method: [GET, POST], headers: { x-env: dev } }
 *       pool: default
 *       plugins:                  # ordered chain; a plugin is a built-in name or a file path
 *         - plugin: shard
 *           config: { key: "header:x-user" }
 *
 * The dispatcher seed's own file (top-level `key`, `rewrites`, `destination`) is accepted unchanged:
 * it becomes one catch-all route with the rewrite plugin.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { BUILTIN_PLUGINS } from '../plugins/builtins.ts';
import { list, object, onlyKeys, string } from '../plugins/check.ts';
import { loadPluginFile } from '../plugins/loader.ts';
import { PluginConfigError, type PluginDefinition, type PluginInstance } from '../plugins/types.ts';
import { ConfigError } from './errors.ts';
import { parseMatch } from './route-match.ts';
import { newRoute, RoutingTable, type CompiledRoute } from './routing-table.ts';

type KeyPath = (string | number)[];
const SEED_KEYS = ['key', 'rewrites', 'destination'];
/** A config file larger than this is refused (it is read whole, on every reload). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Maps key paths to 1-based lines of the source. */
class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  line(keyPath: readonly (string | number)[]): number | null {
    // The deepest node of the path that exists (a missing key is reported at its parent).
    for (let n = keyPath.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(keyPath.slice(0, n), true);
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return null;
  }
}

function isPluginPath(name: string): boolean {
  return name.startsWith('.') || name.startsWith('/') || /\.(ts|js|mjs|mts)$/.test(name);
}

async function resolvePlugin(name: string, configDir: string, at: KeyPath): Promise<PluginDefinition> {
  const builtin = BUILTIN_PLUGINS.get(name);
  if (builtin !== undefined) return builtin;
  if (!isPluginPath(name)) {
    throw new PluginConfigError(at, `unknown plugin "${name}" (built-ins: ${[...BUILTIN_PLUGINS.keys()].join(', ')}; or a file path)`);
  }
  try {
    return await loadPluginFile(path.resolve(configDir, name));
  } catch (err) {
    throw new PluginConfigError(at, (err as Error).message);
  }
}

async function compilePlugins(raw: unknown, at: KeyPath, configDir: string): Promise<PluginInstance[]> {
  const instances: PluginInstance[] = [];
  const items = raw === undefined ? [] : list(raw, at);
  for (let j = 0; j < items.length; j++) {
    const entryPath = [...at, j];
    const entry = object(items[j], entryPath);
    onlyKeys(entry, ['plugin', 'config'], entryPath);
    const name = string(entry['plugin'], [...entryPath, 'plugin']);
    const def = await resolvePlugin(name, configDir, [...entryPath, 'plugin']);
    try {
      instances.push(def.create(entry['config']));
    } catch (err) {
      if (err instanceof PluginConfigError) throw new PluginConfigError([...entryPath, 'config', ...err.path], err.message);
      throw new PluginConfigError([...entryPath, 'config'], `plugin ${name}: ${(err as Error).message}`);
    }
  }
  return instances;
}

/**
 * Why an empty file is an error and not "no routes": a file caught half-written (an editor that
 * truncates then writes, `>` redirection, a copy in progress) reads as empty, and taking it as "no
 * routes" would silently send every request to pool `default`. Clearing the routes takes the
 * explicit `routes: []`.
 */
export const EMPTY_CONFIG_REASON = 'the file is empty (no document): write `routes: []` to route everything to pool "default"';

async function compile(raw: unknown, configDir: string): Promise<CompiledRoute[]> {
  if (raw === null || raw === undefined) throw new PluginConfigError([], EMPTY_CONFIG_REASON);
  const top = object(raw, []);
  if (top['routes'] === undefined && Object.keys(top).some((k) => SEED_KEYS.includes(k))) {
    // The dispatcher seed's file, as its users wrote it.
    try {
      return [newRoute('rewrite', parseMatch(undefined, []), 'default', [BUILTIN_PLUGINS.get('rewrite')!.create(top)])];
    } catch (err) {
      if (err instanceof PluginConfigError) throw err;
      throw new PluginConfigError([], (err as Error).message);
    }
  }
  onlyKeys(top, ['routes'], []);
  // `{}` is as likely a cut-off file as a wish for no routes: only `routes: []` says the latter.
  if (top['routes'] === undefined) throw new PluginConfigError([], 'no `routes` key: write `routes: []` to route everything to pool "default"');
  const routes: CompiledRoute[] = [];
  const items = list(top['routes'], ['routes']);
  for (let i = 0; i < items.length; i++) {
    const at: KeyPath = ['routes', i];
    const r = object(items[i], at);
    onlyKeys(r, ['name', 'match', 'pool', 'plugins'], at);
    const name = r['name'] === undefined ? `route ${i}` : string(r['name'], [...at, 'name']);
    const pool = r['pool'] === undefined ? 'default' : string(r['pool'], [...at, 'pool']);
    routes.push(newRoute(name, parseMatch(r['match'], [...at, 'match']), pool, await compilePlugins(r['plugins'], [...at, 'plugins'], configDir)));
  }
  return routes;
}

/** Parses and compiles `text` (the contents of `file`). */
export async function parseConfig(text: string, file: string): Promise<RoutingTable> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line;
    throw new ConfigError(file, [], line, `syntax: ${e.message.split('\n')[0]}`);
  }
  const locator = new Locator(doc, lines);
  try {
    return new RoutingTable(file, await compile(doc.toJS({ maxAliasCount: 100 }), path.dirname(file)));
  } catch (err) {
    if (err instanceof PluginConfigError) throw new ConfigError(file, err.path, locator.line(err.path), err.message);
    throw new ConfigError(file, [], null, (err as Error).message);
  }
}

/** Reads and compiles a config file. */
export async function loadConfig(file: string): Promise<RoutingTable> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    const buf = await readFile(absolute);
    if (buf.length > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    throw new ConfigError(absolute, [], null, `cannot read: ${(err as Error).message}`);
  }
  return parseConfig(text, absolute);
}
