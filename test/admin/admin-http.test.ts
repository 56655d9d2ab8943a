/**
 * The admin endpoint's HTTP answers on node:http (issue 12 item 3: fastify left the router): route
 * matching (query cut, percent-escapes decoded, exact case and slash), HEAD with GET's head and no
 * body, JSON 404 / 400 bodies, no-store + nosniff on every answer, and the JSON 400 / 431 answers
 * to unparsable requests on the admin port and the HTTP port alike. A real router process.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { routePath } from '../../router/src/admin/routes.ts';
import { rawHttpExchange, useTestEnvironment, type RawHttpResponse } from '../helpers/index.ts';
import { startAdminRouter, type AdminRouterProcess } from './admin-helpers.ts';

describe('admin route paths', () => {
  it('cut the query and fragment, decode unreserved escapes, keep reserved ones', () => {
    assert.equal(routePath('/healthz?x=1'), '/healthz');
    assert.equal(routePath('/healthz#top'), '/healthz');
    assert.equal(routePath('/%68ealthz'), '/healthz');
    assert.equal(routePath('/%2Fhealthz'), '/%2Fhealthz');
    assert.equal(routePath('/nope?%zz'), '/nope');
    assert.equal(routePath('/%zz'), null);
  });

  it('take the path of an absolute-form target', () => {
    assert.equal(routePath('http://127.0.0.1:9090/workers?x'), '/workers');
    assert.equal(routePath('http://127.0.0.1:9090'), '/');
    assert.equal(routePath('http://127.0.0.1:9090?x'), '/');
    assert.equal(routePath('ftp://127.0.0.1/workers'), null);
    assert.equal(routePath('http:/workers'), null);
    assert.equal(routePath('workers'), null);
  });
});

function port(url: string): number {
  return Number(new URL(url).port);
}

async function exchange(url: string, request: string): Promise<RawHttpResponse & { status: number }> {
  const res = await rawHttpExchange('127.0.0.1', port(url), request);
  return { ...res, status: Number(res.statusLine.split(' ')[1]) };
}

describe('admin endpoint over HTTP', () => {
  const env = useTestEnvironment();
  let router: AdminRouterProcess;
  let host: string;
  const request = (method: string, target: string, extra = ''): Promise<RawHttpResponse & { status: number }> =>
    exchange(router.adminUrl, `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);

  before(async () => {
    router = await startAdminRouter(env.group, { bind: env.tmp.ipc('admin-http.sock') });
    host = `127.0.0.1:${port(router.adminUrl)}`;
  });

  it('GET routes answer JSON with no-store and nosniff; HEAD gets the same head and no body', async () => {
    const get = await request('GET', '/healthz?probe=1');
    assert.equal(get.status, 200);
    assert.equal(get.body.toString(), '{"status":"ok"}');
    assert.equal(get.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(get.headers['cache-control'], 'no-store');
    assert.equal(get.headers['x-content-type-options'], 'nosniff');
    const head = await request('HEAD', '/healthz');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], get.headers['content-length']);
    assert.equal(head.body.length, 0);
    const escaped = await request('GET', '/%68ealthz');
    assert.equal(escaped.status, 200);
    const ready = await request('HEAD', '/readyz');
    assert.equal(ready.status, 503, 'no worker yet');
    assert.equal(ready.body.length, 0);
  });

  it('an unknown path or method gets 404 with the JSON body naming it', async () => {
    for (const [method, target] of [
      ['GET', '/nope'],
      ['GET', '/healthz/'],
      ['GET', '/HEALTHZ'],
      ['POST', '/healthz'],
      ['DELETE', '/workers'],
    ] as const) {
      const res = await request(method, target, method === 'POST' ? 'Content-Length: 2\r\n' : '');
      assert.equal(res.status, 404, `${method} ${target}`);
      assert.deepEqual(JSON.parse(res.body.toString()), { message: `Route ${method}:${target} not found`, error: 'Not Found', statusCode: 404 });
      assert.equal(res.headers['cache-control'], 'no-store');
    }
  });

  it('a target that is not a valid URL gets 400 before any route runs', async () => {
    const res = await request('GET', '/%zz');
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body.toString()), { error: 'Bad Request', code: 'FST_ERR_BAD_URL', message: "'/%zz' is not a valid url component", statusCode: 400 });
  });

  it('unparsable requests get a JSON 400 / 431 on the admin port and on the HTTP port', async () => {
    for (const url of [router.adminUrl, router.httpUrl]) {
      const garbage = await exchange(url, 'HELLO\r\n\r\n');
      assert.equal(garbage.status, 400, url);
      assert.deepEqual(JSON.parse(garbage.body.toString()), { error: 'Bad Request', message: 'Client Error', statusCode: 400 });
      const huge = await exchange(url, `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      assert.equal(huge.status, 431, url);
      assert.equal(JSON.parse(huge.body.toString()).statusCode, 431);
    }
  });

  it('a body that turns out malformed after the answer went out gets no second response', async () => {
    // No POST route: the 404 goes out before the body is read, then the parser meets the bad chunk.
    const res = await exchange(router.adminUrl, `POST /healthz HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`);
    assert.equal(res.status, 404);
    assert.ok(!res.body.toString().includes('HTTP/1.1 400'), res.body.toString());
  });
});
