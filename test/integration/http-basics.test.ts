/**
 * The basics through real processes: GET and POST reach a worker and come back; headers cross in both
 * directions; X-Forwarded-* and X-Request-Id are set; hop-by-hop headers are stripped; an app 404
 * passes through unchanged.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { EchoReply } from '../fixtures/echo.ts';
import { headerValue, httpRequest, rawHttpExchange, startRouter, startWorker, useTestEnvironment, type RouterProcess } from '../helpers/index.ts';

describe('HTTP basics', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  const workerId = 'basics-worker-1';

  before(async () => {
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--heartbeat', '200'] });
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: workerId });
  });

  it('GET reaches the worker and its answer comes back', async () => {
    const res = await httpRequest(`${router.httpUrl}/hello/world?x=1&y=two`);
    assert.equal(res.status, 200);
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    assert.equal(reply.method, 'GET');
    assert.equal(reply.path, '/hello/world?x=1&y=two');
    assert.equal(reply.bodyLength, 0);
    assert.equal(reply.workerId, workerId);
    assert.equal(headerValue(res, 'x-worker-id'), workerId);
    assert.match(headerValue(res, 'content-type') ?? '', /application\/json/);
  });

  it('POST carries its body to the worker', async () => {
    const body = JSON.stringify({ hello: 'world', n: 42, text: 'ünïcødé' });
    const res = await httpRequest(`${router.httpUrl}/submit`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    assert.equal(reply.method, 'POST');
    assert.equal(reply.body, body);
    assert.equal(reply.bodyLength, Buffer.byteLength(body));
    assert.equal(reply.headers['content-type'], 'application/json');
  });

  it('other methods (PUT, DELETE, PATCH) pass through', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await httpRequest(`${router.httpUrl}/m`, { method, body: method === 'DELETE' ? undefined : `body of ${method}` });
      assert.equal(res.status, 200, method);
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.method, method);
      if (method !== 'DELETE') assert.equal(reply.body, `body of ${method}`);
    }
  });

  it('request headers reach the worker and X-Forwarded-* are added', async () => {
    const res = await httpRequest(`${router.httpUrl}/h`, { headers: { 'x-custom': 'abc 123', 'user-agent': 'zp-test/1', host: 'example.test:8443' } });
    assert.equal(res.status, 200);
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    assert.equal(reply.headers['x-custom'], 'abc 123');
    assert.equal(reply.headers['user-agent'], 'zp-test/1');
    assert.match(reply.headers['x-forwarded-for'] ?? '', /127\.0\.0\.1/);
    assert.equal(reply.headers['x-forwarded-proto'], 'http');
    assert.equal(reply.headers['x-forwarded-host'], 'example.test:8443');
    assert.match(reply.remoteAddress, /127\.0\.0\.1/);
  });

  it('X-Request-Id is generated when absent and returned to the client', async () => {
    const a = await httpRequest(`${router.httpUrl}/rid`);
    const b = await httpRequest(`${router.httpUrl}/rid`);
    const ra = JSON.parse(a.body.toString()) as EchoReply;
    const rb = JSON.parse(b.body.toString()) as EchoReply;
    assert.ok(ra.requestId.length >= 8, `generated id too short: ${ra.requestId}`);
    assert.notEqual(ra.requestId, rb.requestId);
    assert.equal(ra.headers['x-request-id'], ra.requestId, 'worker sees the id as a header');
    assert.equal(headerValue(a, 'x-request-id'), ra.requestId, 'client sees the same id');
  });

  it('an incoming X-Request-Id is kept and echoed back', async () => {
    const res = await httpRequest(`${router.httpUrl}/rid`, { headers: { 'x-request-id': 'client-chosen-id-123' } });
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    assert.equal(reply.requestId, 'client-chosen-id-123');
    assert.equal(reply.headers['x-request-id'], 'client-chosen-id-123');
    assert.equal(headerValue(res, 'x-request-id'), 'client-chosen-id-123');
  });

  it('an unusable incoming X-Request-Id (too long) is replaced by a generated one', async () => {
    const tooLong = 'x'.repeat(1000);
    const res = await httpRequest(`${router.httpUrl}/rid`, { headers: { 'x-request-id': tooLong } });
    assert.equal(res.status, 200);
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    assert.notEqual(reply.requestId, tooLong);
    assert.ok(reply.requestId.length >= 8 && reply.requestId.length <= 200, reply.requestId);
    assert.equal(headerValue(res, 'x-request-id'), reply.requestId);
  });

  it('response headers come back, repeated ones included', async () => {
    const url = `${router.httpUrl}/resh?set=x-from-app:yes&set=set-cookie:a=1&set=set-cookie:b=2&status=201`;
    const res = await httpRequest(url);
    assert.equal(res.status, 201);
    assert.equal(headerValue(res, 'x-from-app'), 'yes');
    const cookies = res.headers['set-cookie'];
    assert.deepEqual(Array.isArray(cookies) ? [...cookies].sort() : cookies, ['a=1', 'b=2']);
  });

  it('hop-by-hop request headers are stripped (standard ones and those named in Connection)', async () => {
    const { hostname, port } = new URL(router.httpUrl);
    const body = 'chunked body';
    const raw =
      `POST /hop HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
      'Connection: close, X-Hop-Secret\r\nX-Hop-Secret: must-not-pass\r\nKeep-Alive: timeout=5\r\n' +
      'TE: trailers\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nX-End-To-End: kept\r\n' +
      `Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const res = await rawHttpExchange(hostname, Number(port), raw);
    assert.match(res.statusLine, /^HTTP\/1\.1 200/);
    const reply = JSON.parse(res.body.toString()) as EchoReply;
    assert.equal(reply.body, body, 'chunked request body arrives de-chunked');
    assert.equal(reply.headers['x-end-to-end'], 'kept');
    for (const name of ['connection', 'keep-alive', 'te', 'proxy-authorization', 'transfer-encoding', 'x-hop-secret']) {
      assert.equal(reply.headers[name], undefined, `${name} must not reach the worker`);
    }
  });

  it('hop-by-hop response headers from the worker are stripped', async () => {
    const url = `${router.httpUrl}/hopres?set=connection:x-worker-private&set=x-worker-private:secret&set=keep-alive:timeout=999&set=x-visible:1&set=proxy-authenticate:Basic`;
    const res = await httpRequest(url);
    assert.equal(res.status, 200);
    assert.equal(headerValue(res, 'x-visible'), '1');
    assert.equal(headerValue(res, 'x-worker-private'), undefined);
    assert.equal(headerValue(res, 'proxy-authenticate'), undefined);
    assert.notEqual(headerValue(res, 'keep-alive'), 'timeout=999', "the worker's keep-alive must not leak");
  });

  it('a 404 from the app passes through with its body', async () => {
    const res = await httpRequest(`${router.httpUrl}/status/404`);
    assert.equal(res.status, 404);
    assert.equal(res.body.toString(), `status 404 from ${workerId}\n`);
    assert.equal(headerValue(res, 'x-worker-id'), workerId);
  });

  it('other statuses pass through (201, 204, 418, 503)', async () => {
    for (const code of [201, 204, 418, 503]) {
      const res = await httpRequest(`${router.httpUrl}/status/${code}`);
      assert.equal(res.status, code);
      assert.equal(headerValue(res, 'x-worker-id'), workerId, 'answered by the app, not the router');
    }
  });
});
