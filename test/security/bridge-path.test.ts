/**
 * Issue 11 item 7 (bridge half) and item 8's error bodies: a real `zeroproxy worker --forward
 * http://127.0.0.1:<port>/app` process, driven by a scripted router (a bare ZeroMQ ROUTER speaking
 * the protocol) so that REQs can carry paths no router would send.
 *
 * `GET /pfx/../../secret` once reached the backend as `/app/pfx/../../secret`: outside its prefix.
 * The bridge must refuse (400) every path whose dot segments climb above the prefix, including
 * percent-encoded dots and slashes, backslashes and `..;`, and never send it to the backend. And a
 * 502 from the bridge names no backend address (the bridge's log has it).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { spawnWorker, useTestEnvironment, type ManagedProcess } from '../helpers/index.ts';
import { FakeRouter, readResponse, req } from '../worker-sdk/fake-router.ts';

const WAIT_MS = 30_000;

describe('--forward bridge: a forwarded path never leaves the backend prefix', () => {
  const env = useTestEnvironment();
  let router: FakeRouter;
  let worker: ManagedProcess;
  let workerAddress = '';
  let backend: Server;
  const seen: string[] = [];
  let nextStream = 1;

  before(async () => {
    backend = createServer((request, response) => {
      seen.push(request.url!);
      if (request.url!.startsWith('/app/drop')) {
        request.socket.destroy(); // no answer at all: the bridge can only say 502
        return;
      }
      response.end(`backend saw ${request.url}`);
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    router = await FakeRouter.bind('tcp://127.0.0.1:*');
    const port = (backend.address() as AddressInfo).port;
    worker = spawnWorker(env.group, { connect: router.endpoint, id: 'path-bridge', forward: `http://127.0.0.1:${port}/app` });
    // A cold CLI start can take longer than welcome()'s own wait: first see the worker start.
    await worker.waitForLog((l) => l.msg === 'worker started', WAIT_MS, '"worker started"');
    workerAddress = (await router.welcome({ heartbeatMs: 60_000 })).from;
    await worker.waitForLog((l) => l.msg === 'worker registered', WAIT_MS, '"worker registered"');
  });
  after(async () => {
    await router.close();
    backend.closeAllConnections();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  const send = async (path: string): Promise<{ status: number; body: string }> => {
    const stream = nextStream;
    nextStream += 2;
    await router.send(workerAddress, req(stream, { path, headers: ['host', 'front.test'] }));
    const res = await readResponse(router, stream, WAIT_MS);
    return { status: res.status, body: res.body.toString() };
  };

  const climbing = [
    '/../../secret',
    '/pfx/../../secret',
    '/%2e%2e/secret',
    '/%2E%2E/%2e%2E/secret',
    '/a/..%2f..%2fsecret',
    '/a/%2e%2e%2F%2e%2e%2Fsecret',
    '/.%2e/secret',
    '/..;/secret',
    '/a\\..\\..\\secret',
    '/a/..%5c..%5csecret',
    '/a/b/../../../secret?x=1',
    'secret',
    'http://evil.example/x',
  ];

  for (const path of climbing) {
    it(`refuses ${JSON.stringify(path)} with 400 and never sends it to the backend`, async () => {
      const before = seen.length;
      const res = await send(path);
      assert.equal(res.status, 400, res.body);
      assert.doesNotMatch(res.body, /127\.0\.0\.1|\/app/, 'the 400 names no backend');
      assert.equal(seen.length, before, `the backend saw ${seen.slice(before).join(', ')}`);
    });
  }

  it('paths that stay inside the prefix are forwarded unchanged (dots in names, a query with ../)', async () => {
    for (const [path, expected] of [
      ['/a/../b', '/app/a/../b'],
      ['/file..name/x.txt', '/app/file..name/x.txt'],
      ['/search?q=../../etc/passwd', '/app/search?q=../../etc/passwd'],
      ['/%2e/x', '/app/%2e/x'],
    ] as const) {
      const res = await send(path);
      assert.equal(res.status, 200, `${path}: ${res.body}`);
      assert.equal(res.body, `backend saw ${expected}`);
    }
  });

  it('a 502 from the bridge names no backend address or port', async () => {
    const res = await send('/drop');
    assert.equal(res.status, 502);
    const port = String((backend.address() as AddressInfo).port);
    assert.ok(!res.body.includes('127.0.0.1') && !res.body.includes(port), `body: ${res.body}`);
    // The bridge's own log keeps the address for the operator.
    await worker.waitForLog((l) => l.msg === 'backend unreachable' && String(l['backend']).includes(port), WAIT_MS, 'the log line naming the backend');
  });
});
