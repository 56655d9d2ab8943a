/**
 * Request target and Host (issue 11 item 7), through a real router with a `pathPrefix: /pfx` route
 * and two `--forward http://…/app` bridges in front of plain node:http backends that record the
 * exact request line they got. Raw sockets, so the bytes are exactly what an attacker sends:
 *
 * - absolute-form becomes origin-form, routed on its path, with its authority as Host;
 * - routes match the normalised path (dot-segments removed, %2e and other unreserved escapes
 *   decoded, slashes merged; %2F left encoded), and that normalised path is what reaches the
 *   backend; a `..` climbing above "/" is 400 ZP_ERR_BAD_TARGET and reaches nobody;
 * - two Host fields, an invalid Host, or none on HTTP/1.1 → 400 ZP_ERR_BAD_HOST;
 * - CONNECT → 405 with a body, on HTTP/1.1 and HTTP/2;
 * - plain HTTP on the TLS port → 400 "The plain HTTP request was sent to HTTPS port".
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { describeUnlessMissing } from '../helpers/skip.ts';
import { rawHttpExchange, startRouter, startWorker, useTestEnvironment, withTimeout, type RawHttpResponse, type RouterProcess } from '../helpers/index.ts';
import { closeH2, connectH2, hasCommand, makeSelfSignedCert } from '../frontdoor/clients.ts';

interface Seen {
  backend: string;
  url: string;
  host: string;
}

/** A backend that records every request line it gets (and answers it as JSON). */
function startBackend(name: string, seen: Seen[]): Promise<Server> {
  const server = createServer((req, res) => {
    const entry: Seen = { backend: name, url: req.url ?? '', host: req.headers.host ?? '' };
    seen.push(entry);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(entry));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const CONFIG = `
routes:
  - name: pfx
    match: { pathPrefix: /pfx/ }
    pool: pfx
`;

function endpoint(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

async function send(router: RouterProcess, requestLine: string, headers = 'Host: good\r\n'): Promise<RawHttpResponse> {
  const { host, port } = endpoint(router.httpUrl);
  return rawHttpExchange(host, port, `${requestLine}\r\n${headers}Connection: close\r\n\r\n`);
}

interface H2Answer {
  status: number;
  body: string;
}

/** The status and whole body of one HTTP/2 stream (bounded). */
function readH2Answer(stream: http2.ClientHttp2Stream, what: string): Promise<H2Answer> {
  return withTimeout(
    new Promise((resolve, reject) => {
      let status = 0;
      const chunks: Buffer[] = [];
      stream.once('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
      stream.once('error', reject);
    }),
    10_000,
    what,
  );
}

function errorCode(r: RawHttpResponse): string {
  return (JSON.parse(r.body.toString('utf8')) as { error: string }).error;
}

describe('request target and Host', () => {
  const env = useTestEnvironment();
  const seen: Seen[] = [];
  const backends: Server[] = [];
  let router: RouterProcess;

  before(async () => {
    const pfx = await startBackend('pfx', seen);
    const other = await startBackend('default', seen);
    backends.push(pfx, other);
    const configFile = path.join(env.tmp.path, 'routes.yaml');
    writeFileSync(configFile, CONFIG);
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--config', configFile, '--heartbeat', '250', '--no-access-log'] });
    const port = (s: Server): number => (s.address() as AddressInfo).port;
    await startWorker(env.group, { connect: router.bindEndpoint, forward: `http://127.0.0.1:${port(pfx)}/app`, id: 'pfx-bridge', args: ['--pool', 'pfx'] });
    await startWorker(env.group, { connect: router.bindEndpoint, forward: `http://127.0.0.1:${port(other)}/app`, id: 'default-bridge' });
  });
  after(async () => {
    for (const s of backends) await new Promise<void>((resolve) => s.close(() => resolve()));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  /** (backend, url) of every request the backends got since the test began. */
  function seenUrls(): [string, string][] {
    return seen.map((x) => [x.backend, x.url]);
  }

  /** Sends a request line and returns the one backend request it caused. */
  async function reached(requestLine: string, headers?: string): Promise<Seen> {
    const r = await send(router, requestLine, headers);
    assert.match(r.statusLine, /^HTTP\/1\.1 200 /, `${requestLine} → ${r.statusLine} ${r.body.toString('utf8').slice(0, 300)}`);
    assert.equal(seen.length, 1, JSON.stringify(seen));
    const got = seen[0]!;
    seen.length = 0;
    return got;
  }

  it('absolute-form is routed on its path and forwarded in origin-form with the URL authority as Host', async () => {
    assert.deepEqual(await reached('GET http://evil.example/pfx/x?q=1 HTTP/1.1'), { backend: 'pfx', url: '/app/pfx/x?q=1', host: 'evil.example' });
    assert.deepEqual(await reached('GET http://evil.example:8080/x HTTP/1.1'), { backend: 'default', url: '/app/x', host: 'evil.example:8080' });
    assert.deepEqual(await reached('GET http://evil.example HTTP/1.1'), { backend: 'default', url: '/app/', host: 'evil.example' });
    const userinfo = await send(router, 'GET http://user:pw@evil.example/pfx/x HTTP/1.1');
    assert.match(userinfo.statusLine, /^HTTP\/1\.1 400 /);
    assert.equal(errorCode(userinfo), 'ZP_ERR_BAD_TARGET');
    assert.deepEqual(seen, []);
  });

  it('a path climbing above "/" is refused with 400 and reaches no backend', async () => {
    for (const target of ['/pfx/../../secret', '/pfx/%2e%2e/%2E%2E/secret', '/..', '/pfx/./../../../etc/passwd?x=1', '//pfx/.%2e/..']) {
      const r = await send(router, `GET ${target} HTTP/1.1`);
      assert.match(r.statusLine, /^HTTP\/1\.1 400 /, `${target} → ${r.statusLine}`);
      assert.equal(errorCode(r), 'ZP_ERR_BAD_TARGET', target);
    }
    // The same on a WebSocket opening handshake (the upgrade path does not pass through the parser twice).
    const ws = await send(router, 'GET /pfx/../../ws HTTP/1.1', 'Host: good\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n');
    assert.match(ws.statusLine, /^HTTP\/1\.1 400 /, ws.statusLine);
    assert.equal(errorCode(ws), 'ZP_ERR_BAD_TARGET');
    assert.deepEqual(seen, []);
  });

  it('routes match the normalised path, and the backend gets that same path inside its prefix', async () => {
    const cases: [string, Seen][] = [
      ['/pfx/../secret', { backend: 'default', url: '/app/secret', host: 'good' }],
      ['/pfx/%2e%2e/secret', { backend: 'default', url: '/app/secret', host: 'good' }],
      ['/pfx/a/./b/../c?d=../e', { backend: 'pfx', url: '/app/pfx/a/c?d=../e', host: 'good' }],
      ['//pfx//x', { backend: 'pfx', url: '/app/pfx/x', host: 'good' }],
      ['/%70fx/x', { backend: 'pfx', url: '/app/pfx/x', host: 'good' }],
      ['/x/..%2Fpfx/y', { backend: 'default', url: '/app/x/..%2Fpfx/y', host: 'good' }],
      ['/pfx/a%20b/%zz', { backend: 'pfx', url: '/app/pfx/a%20b/%zz', host: 'good' }],
      ['/pfx/x/.', { backend: 'pfx', url: '/app/pfx/x/', host: 'good' }],
    ];
    for (const [target, expected] of cases) assert.deepEqual(await reached(`GET ${target} HTTP/1.1`), expected, target);
  });

  it('HTTP/2 paths follow the same rules', async () => {
    const session = await connectH2(router.httpUrl);
    try {
      const get = (p: string): Promise<H2Answer> => readH2Answer(session.request({ ':path': p }), `HTTP/2 GET ${p}`);
      const climbing = await get('/pfx/../../secret');
      assert.equal(climbing.status, 400);
      assert.match(climbing.body, /ZP_ERR_BAD_TARGET/);
      assert.deepEqual(seen, []);
      const inside = await get('/pfx/a/%2e%2e/b');
      assert.equal(inside.status, 200, inside.body);
      assert.deepEqual(seenUrls(), [['pfx', '/app/pfx/b']]);
    } finally {
      await closeH2(session);
    }
  });

  it('two Host fields, an invalid Host, or none on HTTP/1.1 get 400; HTTP/1.0 may omit it', async () => {
    for (const headers of ['Host: good\r\nHost: evil\r\n', 'Host: good\r\nHost: good\r\n', 'Host: a@b\r\n', 'Host: good/x\r\n', 'Host: a b\r\n', 'Host:\r\n', '']) {
      const r = await send(router, 'GET /pfx/x HTTP/1.1', headers);
      assert.match(r.statusLine, /^HTTP\/1\.1 400 /, JSON.stringify(headers));
      if (r.body.length > 0 && r.body[0] === 0x7b) assert.equal(errorCode(r), 'ZP_ERR_BAD_HOST', JSON.stringify(headers));
    }
    assert.deepEqual(seen, []);
    assert.equal((await reached('GET /pfx/x HTTP/1.0', '')).url, '/app/pfx/x');
    assert.equal((await reached('GET /pfx/x HTTP/1.1', 'Host: [::1]:8080\r\n')).host, '[::1]:8080');
  });

  it('CONNECT gets 405 with a body and Allow, over HTTP/1.1 and HTTP/2', async () => {
    const r = await send(router, 'CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443\r\n');
    assert.match(r.statusLine, /^HTTP\/1\.1 405 /, r.statusLine);
    assert.equal(errorCode(r), 'ZP_ERR_METHOD_NOT_ALLOWED');
    assert.match(r.headers['allow'] ?? '', /GET/);

    const session = await connectH2(router.httpUrl);
    try {
      const stream = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' }, { endStream: false });
      const reply = await readH2Answer(stream, 'the HTTP/2 CONNECT answer');
      stream.close(http2.constants.NGHTTP2_CANCEL);
      assert.equal(reply.status, 405);
      assert.match(reply.body, /ZP_ERR_METHOD_NOT_ALLOWED/);
    } finally {
      await closeH2(session);
    }
    assert.deepEqual(seen, []);
  });
});

const HAS_OPENSSL = hasCommand('openssl', 'version');

describeUnlessMissing('plain HTTP on the TLS port', HAS_OPENSSL ? false : 'openssl not installed (needed to make a test certificate)', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;

  before(async () => {
    const certs = await makeSelfSignedCert(env.tmp.path);
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--tls-cert', certs.cert, '--tls-key', certs.key, '--no-access-log'] });
  });

  it('gets 400 "The plain HTTP request was sent to HTTPS port", as nginx answers', async () => {
    const r = await send(router, 'GET / HTTP/1.1');
    assert.match(r.statusLine, /^HTTP\/1\.1 400 /, r.statusLine);
    assert.match(r.body.toString('latin1'), /The plain HTTP request was sent to HTTPS port/);
  });
});
