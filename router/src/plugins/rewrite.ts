/**
 * rewrite (seed 001, the sidecar http dispatcher): the value of one request header (`key`) selects a
 * rule of `rewrites` — header patches and a destination — else the default `destination`. The seed's
 * YAML is accepted unchanged. A destination is a pool name, or an http(s) URL: then the request goes
 * to the `--forward` workers bridging to that URL (they announce it as HELLO meta `forward`).
 * Also: path rewrite (prefix strip/add, regex), host rewrite, header set/remove on request and response.
 */
import { fail, headerMap, headerName, headerNames, headerValue, list, object, onlyKeys, scalarString, string, type Path } from './check.ts';
import { getHeader, removeHeaders, setHeader } from './headers.ts';
import type { HeaderEdit, PluginDefinition, PluginHead, PluginInstance, PluginOutput } from './types.ts';

export type Destination = { pool: string } | { forward: string };

interface Rule {
  patch: [string, string][];
  destination: Destination | null;
}

export interface RewriteConfig {
  key: string | null;
  rules: Map<string, Rule>;
  destination: Destination | null;
  path: { stripPrefix: string | null; addPrefix: string | null; regex: RegExp | null; replace: string };
  host: string | null;
  requestSet: [string, string][];
  requestRemove: Set<string>;
  response: HeaderEdit | null;
}

/** The form bridges announce: `new URL(x).href`, so "http://a" and "http://a/" are the same target. */
export function normalizeForwardUrl(url: string): string {
  return new URL(url).href;
}

export function parseDestination(value: unknown, path: Path): Destination {
  const text = string(value, path);
  if (/^https?:\/\//i.test(text)) {
    try {
      return { forward: normalizeForwardUrl(text) };
    } catch {
      fail(path, `"${text}" is not a valid URL`);
    }
  }
  if (!/^[\x21-\x7e]{1,255}$/.test(text)) fail(path, `"${text}" is neither an http(s) URL nor a pool name`);
  return { pool: text };
}

function parsePatch(value: unknown, path: Path): [string, string][] {
  return list(value, path).map((item, i) => {
    const p = object(item, [...path, i]);
    onlyKeys(p, ['key', 'val'], [...path, i]);
    if (p['val'] === undefined) fail([...path, i, 'val'], 'is required');
    return [headerName(p['key'], [...path, i, 'key']), headerValue(scalarString(p['val'], [...path, i, 'val']), [...path, i, 'val'])];
  });
}

function parseHeaderEdit(value: unknown, path: Path): { set: [string, string][]; remove: string[] } {
  const e = object(value, path);
  onlyKeys(e, ['set', 'remove'], path);
  return {
    set: e['set'] === undefined ? [] : headerMap(e['set'], [...path, 'set']),
    remove: e['remove'] === undefined ? [] : headerNames(e['remove'], [...path, 'remove']),
  };
}

export function parseRewriteConfig(raw: unknown): RewriteConfig {
  const c = object(raw ?? {}, []);
  onlyKeys(c, ['key', 'rewrites', 'destination', 'path', 'host', 'request', 'response'], []);
  const rules = new Map<string, Rule>();
  if (c['rewrites'] !== undefined) {
    if (c['key'] === undefined) fail(['key'], 'is required when `rewrites` is given');
    for (const [value, ruleRaw] of Object.entries(object(c['rewrites'], ['rewrites']))) {
      const at = ['rewrites', value];
      const r = object(ruleRaw, at);
      onlyKeys(r, ['patch', 'destination'], at);
      rules.set(value, {
        patch: r['patch'] === undefined ? [] : parsePatch(r['patch'], [...at, 'patch']),
        destination: r['destination'] === undefined ? null : parseDestination(r['destination'], [...at, 'destination']),
      });
    }
  }
  let pathRule: RewriteConfig['path'] = { stripPrefix: null, addPrefix: null, regex: null, replace: '' };
  if (c['path'] !== undefined) {
    const p = object(c['path'], ['path']);
    onlyKeys(p, ['stripPrefix', 'addPrefix', 'regex', 'replace'], ['path']);
    let regex: RegExp | null = null;
    if (p['regex'] !== undefined) {
      try {
        regex = new RegExp(string(p['regex'], ['path', 'regex']));
      } catch (err) {
        fail(['path', 'regex'], `invalid regular expression: ${(err as Error).message}`);
      }
      if (p['replace'] === undefined) fail(['path', 'replace'], 'is required with `regex`');
    }
    const prefix = (v: unknown, key: string): string | null => {
      if (v === undefined) return null;
      const s = string(v, ['path', key]);
      if (!s.startsWith('/')) fail(['path', key], 'must start with "/"');
      return s;
    };
    pathRule = {
      stripPrefix: prefix(p['stripPrefix'], 'stripPrefix'),
      addPrefix: prefix(p['addPrefix'], 'addPrefix'),
      regex,
      replace: p['replace'] === undefined ? '' : string(p['replace'], ['path', 'replace'], { nonEmpty: false }),
    };
  }
  const request = c['request'] === undefined ? { set: [], remove: [] } : parseHeaderEdit(c['request'], ['request']);
  const response = c['response'] === undefined ? null : parseHeaderEdit(c['response'], ['response']);
  return {
    key: c['key'] === undefined ? null : headerName(c['key'], ['key']),
    rules,
    destination: c['destination'] === undefined ? null : parseDestination(c['destination'], ['destination']),
    path: pathRule,
    host: c['host'] === undefined ? null : headerValue(string(c['host'], ['host']), ['host']),
    requestSet: request.set,
    requestRemove: new Set(request.remove),
    response,
  };
}

/** The path after the configured rewrites; the query string is kept as it was. */
function rewritePath(path: string, rule: RewriteConfig['path']): string {
  if (rule.stripPrefix === null && rule.addPrefix === null && rule.regex === null) return path;
  const q = path.indexOf('?');
  let p = q < 0 ? path : path.slice(0, q);
  const query = q < 0 ? '' : path.slice(q);
  const strip = rule.stripPrefix;
  if (strip !== null && (p === strip || p.startsWith(strip.endsWith('/') ? strip : `${strip}/`))) {
    p = p.slice(strip.endsWith('/') ? strip.length - 1 : strip.length) || '/';
  }
  if (rule.regex !== null) p = p.replace(rule.regex, rule.replace);
  if (rule.addPrefix !== null) p = rule.addPrefix.replace(/\/$/, '') + p;
  if (!p.startsWith('/')) p = `/${p}`;
  return p + query;
}

export function createRewrite(config: RewriteConfig): PluginInstance {
  return {
    name: 'rewrite',
    decide(head: PluginHead): PluginOutput {
      let headers: readonly string[] = head.headers;
      let authority = head.authority;
      const rule = config.key === null ? undefined : config.rules.get(getHeader(headers, config.key) ?? '');
      const setOne = (name: string, value: string): void => {
        headers = setHeader(headers, name, value);
        if (name === 'host') authority = value; // the worker sees the patched Host as :authority too
      };
      if (config.host !== null) setOne('host', config.host);
      if (config.requestRemove.size > 0) headers = removeHeaders(headers, config.requestRemove);
      for (const [name, value] of config.requestSet) setOne(name, value);
      if (rule !== undefined) for (const [name, value] of rule.patch) setOne(name, value);
      const destination = rule?.destination ?? config.destination;
      const out: { head: PluginHead; pool?: string; meta?: Record<string, string>; responseHeaders?: HeaderEdit } = {
        head: { ...head, headers, authority, path: rewritePath(head.path, config.path) },
      };
      if (destination !== null && 'pool' in destination) out.pool = destination.pool;
      if (destination !== null && 'forward' in destination) out.meta = { forward: destination.forward };
      if (config.response !== null) out.responseHeaders = config.response;
      return out;
    },
  };
}

const headerEditSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    set: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
    remove: { type: 'array', items: { type: 'string' } },
  },
};

export const rewriteSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    key: { type: 'string', description: 'request header whose value selects a rule of `rewrites`' },
    rewrites: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          patch: {
            type: 'array',
            items: {
              type: 'object',
              required: ['key', 'val'],
              additionalProperties: false,
              properties: { key: { type: 'string' }, val: { type: ['string', 'number', 'boolean'] } },
            },
          },
          destination: { type: 'string', description: 'pool name or http(s) URL of --forward workers' },
        },
      },
    },
    destination: { type: 'string', description: 'default destination: pool name or http(s) URL' },
    path: {
      type: 'object',
      additionalProperties: false,
      properties: { stripPrefix: { type: 'string' }, addPrefix: { type: 'string' }, regex: { type: 'string' }, replace: { type: 'string' } },
    },
    host: { type: 'string' },
    request: headerEditSchema,
    response: headerEditSchema,
  },
} as const;

export const rewritePlugin: PluginDefinition = {
  name: 'rewrite',
  schema: rewriteSchema,
  create: (raw) => createRewrite(parseRewriteConfig(raw)),
};
