/**
 * Issue 11 item 8: failure containment of `--forward` bridges, with real processes (a router and
 * three `zeroproxy worker --forward` bridges) and real HTTP backends on loopback.
 *
 * Before the fix a bridge whose backend refused connections stayed in the pool and answered 502
 * with the backend's internal URL in the body (22 of 30 requests with 1 of 3 backends alive). Now a
 * request that could not connect is RST `refused` (the router retries it on another worker, POST
 * included), the bridge leaves the pool while its backend is down, rejoins when a probe connects,
 * and no client-facing body names a backend address.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { httpRequest, makeAgent, REGISTER_TIMEOUT_MS, spawnWorker, startRouter, waitForRegistrations, type ManagedProcess, type RouterProcess, useTestEnvironment } from '../helpers/index.ts';

const WAIT_MS = 20_000;
/** The bridges probe a down backend at most this far apart (the default is 5 s). */
const PROBE_MAX_MS = 400;
const LEFT = 'backend down: worker leaving the pool (DRAIN, BYE) until it answers';
const NOT_YET = 'backend not taking connections: the worker registers once it does';

interface Backend {
  server: Server;
  port: number;
}

/** A backend that names itself and echoes the request's method and body length. */
async function startBackend(name: string, port = 0): Promise<Backend> {
  const server = createServer((request, response) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      // No keep-alive: every request connects anew, so a backend that goes away is seen at connect.
      response.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      response.end(JSON.stringify({ backend: name, method: request.method, url: request.url, bytes }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}

async function stopBackend(b: Backend): Promise<void> {
  b.server.closeAllConnections();
  await new Promise<void>((resolve) => b.server.close(() => resolve()));
}

/** A loopback port that was free a moment ago: nothing listens there. */
async function deadPort(): Promise<number> {
  const b = await startBackend('probe');
  await stopBackend(b);
  return b.port;
}

interface Answer {
  status: number;
  backend: string | null;
  body: string;
}

describe('--forward bridges: a backend that refuses connections takes no traffic', () => {
  const env = useTestEnvironment();
  const agent = makeAgent(32);
  let router: RouterProcess;
  let live: Backend;
  const deadPorts: number[] = [];
  const bridges: ManagedProcess[] = [];
  const backends: Backend[] = [];

  const ask = async (i: number): Promise<Answer> => {
    const post = i % 2 === 1;
    const res = await httpRequest(`${router.httpUrl}/item/${i}`, {
      method: post ? 'POST' : 'GET',
      ...(post ? { body: Buffer.alloc(1000, i), headers: { 'content-type': 'application/octet-stream' } } : {}),
      dispatcher: agent,
    });
    const body = res.body.toString();
    let backend: string | null = null;
    try {
      backend = (JSON.parse(body) as { backend: string }).backend;
    } catch {
      // an error body: kept as text for the assertions
    }
    return { status: res.status, backend, body };
  };

  before(async () => {
    live = await startBackend('live');
    backends.push(live);
    deadPorts.push(await deadPort(), await deadPort());
    const bind = env.tmp.ipc('containment.sock');
    router = await startRouter(env.group, { bind, args: ['--heartbeat', '500', '--queue-timeout', '1000'] });
    const bridge = (id: string, port: number): ManagedProcess =>
      spawnWorker(env.group, { connect: bind, id, forward: `http://127.0.0.1:${port}/app`, args: ['--backend-probe-max', String(PROBE_MAX_MS)] });
    bridges.push(bridge('bridge-live', live.port), bridge('bridge-dead-0', deadPorts[0]!), bridge('bridge-dead-1', deadPorts[1]!));
    await waitForRegistrations(bridges[0]!);
    // Each dead bridge has made up its mind: registered (the old behaviour) or waiting for its backend.
    for (const b of bridges.slice(1)) {
      await b.waitForLog(() => b.findLogs((l) => l.msg === 'worker registered' || l.msg === NOT_YET).length > 0, REGISTER_TIMEOUT_MS, 'a dead bridge to register or wait');
    }
  });
  after(async () => {
    await agent.close();
    for (const b of backends) await stopBackend(b).catch(() => undefined);
  });

  it('with 2 of 3 backends refusing connections, all 30 requests (GET and POST) are answered 200 by the live one', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => ask(i)));
    const bad = answers.filter((a) => a.status !== 200);
    assert.deepEqual(bad, [], `${bad.length} of 30 failed`);
    for (const a of answers) assert.equal(a.backend, 'live');
  });

  it('a backend that comes back gets traffic again within a bounded wait', async () => {
    const revived = await startBackend('revived', deadPorts[0]);
    backends.push(revived);
    const b = bridges[1]!;
    const before = b.findLogs((l) => l.msg === 'worker registered').length;
    await b.waitForLog(() => b.findLogs((l) => l.msg === 'worker registered').length > before, WAIT_MS, 'the revived bridge to re-register');
    // Concurrent batches so both ready bridges are used; bounded.
    let served = 0;
    for (let round = 0; round < 20 && served === 0; round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => ask(round * 8 + i)));
      for (const a of answers) {
        assert.equal(a.status, 200, a.body);
        if (a.backend === 'revived') served++;
      }
    }
    assert.ok(served > 0, 'the revived backend served requests');
  });

  it('a backend that dies while its bridge is in the pool: its requests (POST too) are retried elsewhere and the bridge leaves', async () => {
    const revived = backends.pop()!;
    await stopBackend(revived);
    const b = bridges[1]!;
    // Batches of 6 at once: requests reach the dying bridge while it leaves (they cross its DRAIN).
    const answers: Answer[] = [];
    for (let i = 0; i < 30; i += 6) answers.push(...(await Promise.all(Array.from({ length: 6 }, (_, k) => ask(i + k)))));
    const bad = answers.filter((a) => a.status !== 200);
    assert.deepEqual(bad, [], `${bad.length} of 30 failed`);
    for (const a of answers) assert.equal(a.backend, 'live');
    // Either the bridge saw the refusal on a request, or (if no request reached it) it is still in:
    // make sure it has left by sending until it has, bounded.
    for (let i = 0; i < 50 && b.findLogs((l) => l.msg === LEFT).length < 1; i++) {
      const a = await ask(100 + i);
      assert.equal(a.status, 200, a.body);
    }
    assert.equal(b.findLogs((l) => l.msg === LEFT).length, 1, 'the bridge left the pool when its backend died');
  });

  it('client-facing bodies name no backend address when the only backend is down', async () => {
    await stopBackend(live);
    backends.length = 0;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => ask(i)));
    for (const a of answers) {
      assert.notEqual(a.status, 200);
      assert.doesNotMatch(a.body, /127\.0\.0\.1|:\d{4,5}|\/app/, `body: ${a.body}`);
    }
  });
});
