/** Route matching on host, path prefix, method and header values (all given conditions must hold). */
import { fail, headerName, headerValue, list, object, onlyKeys, string, type Path } from '../plugins/check.ts';
import { getHeader } from '../plugins/headers.ts';
import type { PluginHead } from '../plugins/types.ts';
import { normalizeTarget } from '../http/request-target.ts';

export interface RouteMatch {
  /** Lower-case host names; "*.example.com" matches any subdomain. */
  hosts: string[] | null;
  pathPrefix: string | null;
  methods: Set<string> | null;
  headers: [string, string][];
}

export function parseMatch(raw: unknown, path: Path): RouteMatch {
  if (raw === undefined) return { hosts: null, pathPrefix: null, methods: null, headers: [] };
  const m = object(raw, path);
  onlyKeys(m, ['host', 'pathPrefix', 'method', 'headers'], path);
  const strings = (v: unknown, key: string): string[] =>
    typeof v === 'string' ? [v] : list(v, [...path, key]).map((x, i) => string(x, [...path, key, i]));
  let pathPrefix: string | null = null;
  if (m['pathPrefix'] !== undefined) {
    pathPrefix = string(m['pathPrefix'], [...path, 'pathPrefix']);
    if (!pathPrefix.startsWith('/')) fail([...path, 'pathPrefix'], 'must start with "/"');
    // Requests are matched on their normalised path (http/request-target.ts): a prefix that is not
    // itself normalised ("/a/../b", "//a", "/%61") could never match, or not what it says.
    const normalized = pathPrefix.includes('?') ? null : normalizeTarget(pathPrefix);
    if (normalized !== pathPrefix) {
      fail([...path, 'pathPrefix'], normalized === null ? 'must be a normalised path (no "?", no ".." above "/")' : `must be a normalised path: write "${normalized}"`);
    }
  }
  return {
    hosts: m['host'] === undefined ? null : strings(m['host'], 'host').map((h) => h.toLowerCase()),
    pathPrefix,
    methods: m['method'] === undefined ? null : new Set(strings(m['method'], 'method').map((x) => x.toUpperCase())),
    headers:
      m['headers'] === undefined
        ? []
        : Object.entries(object(m['headers'], [...path, 'headers'])).map(([k, v]) => [
            headerName(k, [...path, 'headers', k]),
            headerValue(v, [...path, 'headers', k]),
          ]),
  };
}

function hostMatches(authority: string, hosts: readonly string[]): boolean {
  const host = authority.toLowerCase().replace(/:\d+$/, '');
  return hosts.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) : host === h));
}

/** `head.path` is the normalised origin-form target (the front door normalised it once). */
export function matches(m: RouteMatch, head: PluginHead): boolean {
  if (m.methods !== null && !m.methods.has(head.method)) return false;
  if (m.pathPrefix !== null && !head.path.startsWith(m.pathPrefix)) return false;
  if (m.hosts !== null && !hostMatches(head.authority, m.hosts)) return false;
  for (const [name, value] of m.headers) if (getHeader(head.headers, name) !== value) return false;
  return true;
}
