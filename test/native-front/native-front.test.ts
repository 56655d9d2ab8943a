/**
 * The native HTTP/1.1 front (`--front native`, issue 13 spike) end to end: the real router CLI and
 * real SDK workers, requests over raw TCP connections. It needs the addon built (`npm run
 * build:native`; .ci/run does, and fails if it cannot): where it is not built the suites are reported
 * as skipped, and a router that falls back to node:http anyway fails the check in startNativeRouter.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { describeUnlessMissing } from '../helpers/skip.ts';
import type { EchoReply } from '../fixtures/echo.ts';
import { REPO_ROOT, startRouter, startWorker, useTestEnvironment, type ManagedProcess, type RouterProcess } from '../helpers/index.ts';
import { RawConnection } from './raw-connection.ts';
import { TestClient } from '../websocket/ws-helpers.ts';

const ADDON = path.join(REPO_ROOT, 'native', 'build', 'Release', 'zeroproxy_front.node');
const MAX_HEADER_SIZE = 4096;
const NOT_BUILT = existsSync(ADDON) ? false : `the native front is not built (${ADDON}): npm run build:native`;

function portOf(router: RouterProcess): number {
  return Number(new URL(router.httpUrl).port);
}

function get(target: string, extra = ''): string {
  return `GET ${target} HTTP/1.1\r\nHost: native.test\r\n${extra}\r\n`;
}

async function startNativeRouter(env: ReturnType<typeof useTestEnvironment>, args: string[] = []): Promise<RouterProcess> {
  const router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: ['--front', 'native', ...args] });
  assert.equal(router.proc.findLogs((l) => l.msg === 'native HTTP/1.1 front (experimental)').length, 1, 'the router serves with the native front');
  return router;
}

describeUnlessMissing('native front: HTTP/1.1 through the dispatcher to an SDK worker', NOT_BUILT, () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  const open: RawConnection[] = [];
  const connect = async (): Promise<RawConnection> => {
    const conn = await RawConnection.open(portOf(router));
    open.push(conn);
    return conn;
  };
  after(() => open.forEach((c) => c.destroy()));

  before(async () => {
    router = await startNativeRouter(env, ['--max-header-size', String(MAX_HEADER_SIZE), '--header-timeout', '1000', '--heartbeat', '200']);
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'routes', id: 'main' });
  });

  it('serves keep-alive GETs on one connection, each request reaching the worker', async () => {
    const conn = await connect();
    for (const name of ['one', 'two', 'three']) {
      conn.write(get(`/keep/${name}?q=1`));
      const res = await conn.readResponse();
      assert.equal(res.status, 200);
      assert.equal(res.headers['connection'], 'keep-alive');
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.path, `/keep/${name}?q=1`);
      assert.equal(reply.method, 'GET');
      assert.equal(reply.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(res.headers['x-request-id'], reply.requestId);
    }
    assert.equal(conn.closed, false, 'the connection stays open between requests');
  });

  it('answers HEAD without a body: the next response on the connection parses cleanly', async () => {
    const conn = await connect();
    conn.write(`HEAD /head HTTP/1.1\r\nHost: native.test\r\n\r\n`);
    const head = await conn.readResponse(true);
    assert.equal(head.status, 200);
    conn.write(get('/after-head'));
    const next = await conn.readResponse();
    assert.equal(next.status, 200);
    assert.equal((JSON.parse(next.body.toString()) as EchoReply).path, '/after-head');
  });

  it('relays request bodies, Content-Length and chunked', async () => {
    const conn = await connect();
    conn.write(`POST /body HTTP/1.1\r\nHost: native.test\r\nContent-Length: 11\r\n\r\nhello world`);
    const fixed = JSON.parse((await conn.readResponse()).body.toString()) as EchoReply;
    assert.equal(fixed.body, 'hello world');
    conn.write(`POST /chunked HTTP/1.1\r\nHost: native.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`);
    const chunked = JSON.parse((await conn.readResponse()).body.toString()) as EchoReply;
    assert.equal(chunked.body, 'hello world');
  });

  it('answers pipelined requests in request order even when a later one finishes first', async () => {
    const conn = await connect();
    // The first waits 300 ms in the worker; the others are answered at once, before it.
    conn.write(get('/pipe/1?delay=300') + get('/pipe/2') + get('/pipe/3'));
    const paths: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await conn.readResponse();
      assert.equal(res.status, 200);
      paths.push((JSON.parse(res.body.toString()) as EchoReply).path);
    }
    assert.deepEqual(paths, ['/pipe/1?delay=300', '/pipe/2', '/pipe/3']);
  });

  it('answers a malformed request 400 (the node front door\'s JSON) and closes', async () => {
    const conn = await connect();
    conn.write('GET / HTTP/1.1\r\nHost: native.test\r\nNo colon here\r\n\r\n');
    const res = await conn.readResponse();
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body.toString()), { error: 'Bad Request', message: 'Client Error', statusCode: 400 });
    await conn.waitClosed();
  });

  it('answers 400 to a bad request after a good one on the same connection, after the good answer', async () => {
    const conn = await connect();
    conn.write(get('/good?delay=100') + 'BAD REQUEST LINE\r\n\r\n');
    assert.equal((await conn.readResponse()).status, 200);
    assert.equal((await conn.readResponse()).status, 400);
    await conn.waitClosed();
  });

  it('answers an oversized head 431 and closes', async () => {
    const conn = await connect();
    conn.write(get('/big', `X-Big: ${'a'.repeat(MAX_HEADER_SIZE * 2)}\r\n`));
    const res = await conn.readResponse();
    assert.equal(res.status, 431);
    await conn.waitClosed();
  });

  it('answers a head that never completes 408 (header timeout) and closes', async () => {
    const conn = await connect();
    conn.write('GET /slowloris HTTP/1.1\r\nHost: native.test\r\nX-A: ');
    const res = await conn.readResponse();
    assert.equal(res.status, 408);
    await conn.waitClosed();
  });

  it('refuses a request without Host (HTTP/1.1) with the router\'s own 400', async () => {
    const conn = await connect();
    conn.write('GET /no-host HTTP/1.1\r\n\r\n');
    const res = await conn.readResponse();
    assert.equal(res.status, 400);
    assert.match(res.body.toString(), /ZP_ERR_BAD_HOST/);
  });
});

describeUnlessMissing('native front: a worker killed mid-request', NOT_BUILT, () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  const open: RawConnection[] = [];
  after(() => open.forEach((c) => c.destroy()));

  before(async () => {
    router = await startNativeRouter(env, ['--heartbeat', '200', '--retries', '2']);
  });

  /** Sends `request` and waits until the slow worker has started on it. */
  async function sendToSlowWorker(worker: ManagedProcess, request: string): Promise<RawConnection> {
    const from = worker.findLogs(() => true).length;
    const conn = await RawConnection.open(portOf(router));
    open.push(conn);
    conn.write(request);
    await worker.waitForLog((l) => l.msg === 'fixture request started', 15_000, 'the request on the slow worker', from);
    return conn;
  }

  it('a POST the lost worker saw gets 502 (it cannot be replayed)', async () => {
    const slow = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'slow-echo', id: 'slow-a' });
    const conn = await sendToSlowWorker(slow, `POST /status/200?delay=30000 HTTP/1.1\r\nHost: native.test\r\nContent-Length: 2\r\n\r\nhi`);
    slow.forceKill();
    const res = await conn.readResponse();
    assert.equal(res.status, 502);
    assert.match(res.body.toString(), /ZP_ERR_WORKER_LOST/);
  });

  it('a GET on the lost worker is retried on another worker', async () => {
    const slow = await startWorker(env.group, { connect: router.bindEndpoint, handler: 'slow-echo', id: 'slow-b' });
    const conn = await sendToSlowWorker(slow, get('/status/200?delay=30000'));
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'status', id: 'survivor' });
    slow.forceKill();
    const res = await conn.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-worker-id'], 'survivor');
    assert.equal(res.body.toString(), 'status 200 from survivor\n');
  });
});

describeUnlessMissing('native front: Upgrade, CONNECT and h2c are handed to node:http', NOT_BUILT, () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  const clients: TestClient[] = [];
  after(() => clients.forEach((c) => c.terminate()));

  before(async () => {
    router = await startNativeRouter(env, ['--heartbeat', '200']);
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'ws-echo', id: 'ws' });
  });

  it('a WebSocket opens through the handed-over socket and echoes', async () => {
    const c = new TestClient(`ws://127.0.0.1:${portOf(router)}/ws/echo`, ['echo']);
    clients.push(c);
    await c.opened();
    assert.equal(c.ws.protocol, 'echo');
    c.ws.send('through the handoff');
    assert.deepEqual(await c.message(1), { data: Buffer.from('through the handoff'), isBinary: false });
    c.ws.close(1000, 'bye');
    assert.deepEqual(await c.closeEvent(), { code: 1000, reason: 'bye' });
  });

  it('CONNECT gets the node front door\'s 405', async () => {
    const conn = await RawConnection.open(portOf(router));
    try {
      conn.write('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
      const res = await conn.readResponse();
      assert.equal(res.status, 405);
    } finally {
      conn.destroy();
    }
  });

  it('h2c with prior knowledge is served by node:http2', async () => {
    const session = http2.connect(`http://127.0.0.1:${portOf(router)}`);
    session.on('error', () => undefined);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ':path': '/plain', ':authority': 'native.test' });
        let status = 0;
        let body = '';
        req.setEncoding('utf8');
        req.on('response', (headers) => (status = Number(headers[':status'])));
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => resolve({ status, body }));
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
      assert.equal(body, 'plain from ws\n');
    } finally {
      session.close();
    }
  });
});
