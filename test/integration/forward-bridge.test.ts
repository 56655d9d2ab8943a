/**
 * `zeroproxy worker --forward URL` puts an unchanged node:http server behind the router: status,
 * headers (both ways) and bodies pass through.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { headerValue, httpRequest, sha256, startRouter, startWorker, useTestEnvironment, type RouterProcess } from '../helpers/index.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodySha256: string;
  bodyLength: number;
}

/** A plain backend that knows nothing of zeroproxy. */
function startBackend(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/teapot') {
        res.writeHead(418, { 'content-type': 'text/plain', 'x-backend': 'node-http' });
        res.end("I'm a teapot\n");
        return;
      }
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no such thing\n');
        return;
      }
      const seen: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodySha256: sha256(body), bodyLength: body.length };
      res.setHeader('set-cookie', ['s=1', 't=2']);
      res.writeHead(201, { 'content-type': 'application/json', 'x-backend': 'node-http' });
      res.end(JSON.stringify(seen));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('--forward bridge', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let backend: Server;

  before(async () => {
    backend = await startBackend();
    const { port } = backend.address() as AddressInfo;
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--heartbeat', '200'] });
    await startWorker(env.group, { connect: router.bindEndpoint, forward: `http://127.0.0.1:${port}`, id: 'bridge-worker' });
  });
  after(() => new Promise<void>((resolve) => backend.close(() => resolve())));

  it('status, headers and body pass through a POST', async () => {
    const body = randomBytes(300 * 1024);
    const res = await httpRequest(`${router.httpUrl}/api/items?q=1`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream', 'x-client': 'test' },
    });
    assert.equal(res.status, 201);
    assert.equal(headerValue(res, 'x-backend'), 'node-http');
    assert.deepEqual(res.headers['set-cookie'], ['s=1', 't=2']);
    const seen = JSON.parse(res.body.toString()) as Seen;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/api/items?q=1');
    assert.equal(seen.headers['x-client'], 'test');
    assert.equal(seen.headers['content-type'], 'application/octet-stream');
    assert.match(String(seen.headers['x-forwarded-for'] ?? ''), /127\.0\.0\.1/);
    assert.equal(seen.bodyLength, body.length);
    assert.equal(seen.bodySha256, sha256(body));
  });

  it('non-2xx statuses pass through with their bodies', async () => {
    const teapot = await httpRequest(`${router.httpUrl}/teapot`);
    assert.equal(teapot.status, 418);
    assert.equal(teapot.body.toString(), "I'm a teapot\n");
    assert.equal(headerValue(teapot, 'x-backend'), 'node-http');
    const missing = await httpRequest(`${router.httpUrl}/missing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.toString(), 'no such thing\n');
  });
});
