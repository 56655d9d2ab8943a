/**
 * rewrite plugin, route matching and the chain: header patches (the seed's `key`/`rewrites`), the
 * destination as pool or bridge URL, path (prefix strip/add, regex) and host rewrite, header
 * set/remove on request and response; routes matched on host, path prefix, method and headers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../router/src/config/load.ts';
import { applyHeaderEdits } from '../../router/src/plugins/chain.ts';
import { rewritePlugin } from '../../router/src/plugins/rewrite.ts';
import type { PluginHead } from '../../router/src/plugins/types.ts';

const ctx = { routerId: 'r', pool: 'default', workers: () => [] };
const head = (over: Partial<PluginHead> = {}): PluginHead => ({
  method: 'GET', scheme: 'http', authority: 'front.example', path: '/api/v1/items?x=1', headers: ['host', 'front.example', 'cookie', 'c=1', 'environment', 'dev'], remote: '::1', requestId: 'r', ...over,
});

describe('rewrite plugin', () => {
  it('applies the seed patches (Host also sets the authority) and selects the bridge by URL', () => {
    const p = rewritePlugin.create({
      key: 'environment',
      rewrites: { dev: { patch: [{ key: 'Host', val: 'example.com' }, { key: 'dispatched', val: true }], destination: 'http://example.com' } },
      destination: 'http://example.org',
    });
    const dev = p.decide(head(), ctx)!;
    assert.equal(dev.head!.authority, 'example.com');
    assert.deepEqual(dev.head!.headers, ['host', 'example.com', 'cookie', 'c=1', 'environment', 'dev', 'dispatched', 'true']);
    assert.deepEqual(dev.meta, { forward: 'http://example.com/' });
    const other = p.decide(head({ headers: ['host', 'front.example', 'environment', 'prod'] }), ctx)!;
    assert.deepEqual(other.head!.headers, ['host', 'front.example', 'environment', 'prod']);
    assert.deepEqual(other.meta, { forward: 'http://example.org/' });
  });

  it('a destination without a scheme is a pool', () => {
    assert.equal(rewritePlugin.create({ destination: 'blue' }).decide(head(), ctx)!.pool, 'blue');
  });

  it('rewrites path (strip, regex, add), host and request headers; edits response headers', () => {
    const p = rewritePlugin.create({
      path: { stripPrefix: '/api', regex: '^/v1/(.*)$', replace: '/$1', addPrefix: '/svc' },
      host: 'internal.local',
      request: { set: { 'x-added': 'yes' }, remove: ['cookie'] },
      response: { set: { 'x-served-by': 'zeroproxy' }, remove: ['server'] },
    });
    const out = p.decide(head(), ctx)!;
    assert.equal(out.head!.path, '/svc/items?x=1');
    assert.equal(out.head!.authority, 'internal.local');
    assert.deepEqual(out.head!.headers, ['host', 'internal.local', 'environment', 'dev', 'x-added', 'yes']);
    assert.deepEqual(applyHeaderEdits(['server', 'x', 'content-type', 'text/plain'], [out.responseHeaders!]), ['content-type', 'text/plain', 'x-served-by', 'zeroproxy']);
    // A prefix matches whole segments only.
    assert.equal(rewritePlugin.create({ path: { stripPrefix: '/api' } }).decide(head({ path: '/apiary' }), ctx)!.head!.path, '/apiary');
  });
});

describe('routes', () => {
  it('match on host, path prefix, method and header; first match wins; no match → default pool', async () => {
    const table = await parseConfig(
      [
        'routes:',
        '  - name: dev',
        '    match: { host: "*.example.com", pathPrefix: /api, method: [GET, POST], headers: { environment: dev } }',
        '    pool: dev-pool',
        '  - name: api',
        '    match: { pathPrefix: /api }',
        '    pool: api-pool',
        '',
      ].join('\n'),
      '/tmp/routes.yaml',
    );
    const plan = (over: Partial<PluginHead>) => table.plan(head(over), 'r', () => []);
    assert.equal(plan({ authority: 'a.example.com:8080' }).pool, 'dev-pool');
    assert.equal(plan({ authority: 'a.example.com', method: 'DELETE' }).pool, 'api-pool');
    assert.equal(plan({ authority: 'other.org' }).pool, 'api-pool');
    assert.equal(plan({ path: '/web' }).pool, 'default');
    assert.equal(plan({ path: '/web' }).route, null);
  });

  it('unknown keys, unknown plugins and YAML syntax errors name the line', async () => {
    await assert.rejects(parseConfig('routes:\n  - pool: a\n    plugin: []\n', '/c.yaml'), /\/c\.yaml:3: routes\[0\]\.plugin: unknown key/);
    await assert.rejects(parseConfig('routes:\n  - plugins:\n      - plugin: nope\n', '/c.yaml'), /\/c\.yaml:3: routes\[0\]\.plugins\[0\]\.plugin: unknown plugin "nope"/);
    await assert.rejects(parseConfig('routes:\n  - pool: [a\n', '/c.yaml'), /\/c\.yaml:\d+: syntax/);
    await assert.rejects(parseConfig('{"routes": [{"pool": 5}]}', '/c.json'), /\/c\.json:1: routes\[0\]\.pool: must be a string/);
  });
});

describe('shipped configs', () => {
  it('every example config loads', async () => {
    const { loadConfig } = await import('../../router/src/config/load.ts');
    const { REPO_ROOT } = await import('../helpers/index.ts');
    const { join } = await import('node:path');
    for (const f of ['examples/seeds/000-ringpop-sidecar.yaml', 'examples/seeds/001-sidecar-dispatcher.yaml', 'examples/seeds/002-balancing-proxy.yaml', 'examples/sharded-kv/config.yaml']) {
      const table = await loadConfig(join(REPO_ROOT, f));
      assert.equal(table.routes.length, 1, f);
    }
  });
});
