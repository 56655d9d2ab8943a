/**
 * The SDK and the `--forward` bridge check a response head against the protocol limits before
 * sending it and answer 502 themselves, with a log line that says why (issue 11 item 2); the
 * bridge drops backend framing it did not check and the router frames what it relays (item 1);
 * a backend status outside 200–599 is a 502 (item 3). Real router and worker processes, and a raw
 * TCP backend on loopback that writes exactly the bytes a test needs.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { httpRequest, startRouter, startWorker, useTestEnvironment, type LogLine, type ManagedProcess, type RouterProcess } from '../helpers/index.ts';
import { RawH1Connection } from './raw-h1.ts';

/** Raw backend answers by path (the request line's target). */
const BACKEND: Record<string, string> = {
  '/204': 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nProxy-Foo: x\r\nX-Kept: yes\r\n\r\n',
  '/fields': `HTTP/1.1 200 OK\r\n${Array.from({ length: 1000 }, (_, i) => `x-h${i}: v\r\n`).join('')}Content-Length: 2\r\n\r\nok`,
  '/status-700': 'HTTP/1.1 700 Weird\r\nContent-Length: 2\r\n\r\nok',
  '/ok': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
};

function startRawBackend(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const target = buffered.slice(0, end).split(' ')[1] ?? '/';
        buffered = buffered.slice(end + 4);
        const path = target.replace(/^\/app/, '');
        socket.write(BACKEND[path] ?? BACKEND['/ok']!);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('SDK and bridge: response heads the router would refuse', () => {
  const env = useTestEnvironment();
  let sdkRouter: RouterProcess;
  let bridgeRouter: RouterProcess;
  let sdkWorker: ManagedProcess;
  let bridge: ManagedProcess;
  let backend: net.Server;
  const connections: RawH1Connection[] = [];

  before(async () => {
    backend = await startRawBackend();
    const port = (backend.address() as net.AddressInfo).port;
    // A bounded deadline: on a router or SDK that lets such a head through, the client gets a 504
    // (not the 502 asserted) instead of a hang.
    const args = ['--request-timeout', '15000'];
    [sdkRouter, bridgeRouter] = await Promise.all([
      startRouter(env.group, { bind: env.tmp.ipc('sdk.sock'), args, name: 'sdk-router' }),
      startRouter(env.group, { bind: env.tmp.ipc('bridge.sock'), args, name: 'bridge-router' }),
    ]);
    [sdkWorker, bridge] = await Promise.all([
      startWorker(env.group, { connect: sdkRouter.bindEndpoint, handler: 'big-head', id: 'sdk-worker' }),
      startWorker(env.group, { connect: bridgeRouter.bindEndpoint, forward: `http://127.0.0.1:${port}`, id: 'bridge-worker' }),
    ]);
  });

  after(async () => {
    for (const c of connections) c.close();
    backend?.close();
  });

  it('SDK: 1000 header fields or a 100 KB field → 502 from the worker, with a log line', async () => {
    for (const path of ['/fields', '/value']) {
      const res = await httpRequest(`${sdkRouter.httpUrl}${path}`, { timeoutMs: 30_000 });
      assert.equal(res.status, 502, path);
      assert.match(res.body.toString(), /response head is over the protocol limits/);
    }
    const line = await sdkWorker.waitForLog((l: LogLine) => l.msg === 'response head over the protocol limits: answered 502 instead', 10_000, 'the SDK log line');
    assert.match(String(line['problem']), /header fields|bytes/);
  });

  it('bridge: a backend head with 1000 fields → 502 from the bridge, with a log line', async () => {
    const res = await httpRequest(`${bridgeRouter.httpUrl}/fields`, { timeoutMs: 30_000 });
    assert.equal(res.status, 502);
    await bridge.waitForLog((l: LogLine) => l.msg === 'response head over the protocol limits: answered 502 instead', 10_000, 'the bridge log line');
  });

  it('bridge: a backend status outside 200–599 → 502 Bad Gateway', async () => {
    const c = await RawH1Connection.open(bridgeRouter.httpUrl);
    connections.push(c);
    c.request('/status-700');
    const r = await c.response(30_000);
    assert.equal(r.statusLine, 'HTTP/1.1 502 Bad Gateway');
  });

  it('bridge: a backend 204 with content-length and Proxy-* reaches the client framed by the router', async () => {
    const c = await RawH1Connection.open(bridgeRouter.httpUrl);
    connections.push(c);
    c.request('/204');
    const r = await c.response(30_000);
    assert.equal(r.statusLine, 'HTTP/1.1 204 No Content');
    const names = r.headers.map(([k]) => k);
    assert.ok(!names.includes('content-length') && !names.includes('proxy-foo'), JSON.stringify(r.headers));
    assert.ok(names.includes('x-kept'));
    c.request('/ok');
    const ok = await c.response(30_000);
    assert.equal(ok.body.toString(), 'ok', 'the connection still frames correctly');
  });
});
