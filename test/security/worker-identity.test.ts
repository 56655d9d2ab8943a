/**
 * Worker identity (issue 11 item 4), with real processes on loopback:
 * - a plaintext peer that connects with a live worker's routing id (read off the wire, as an on-path
 *   observer would) and never sends HELLO gets no client request — not one of 20 carrying cookies and
 *   authorization — and its answers (RES for every plausible stream id) reach no client;
 * - the real worker keeps serving while the rogue stays connected;
 * - a worker its router no longer hears (its connection frozen half-open by the relay) comes back by
 *   itself on a fresh connection with a fresh routing id (the test prints how long it took; the
 *   heartbeat is short so the wait is short);
 * - the worker's routing id is random, never its workerId, and appears in no log line or admin page;
 * - with CURVE, the routing id does not appear on the wire, and a peer holding another ALLOWED key that
 *   presents a registered worker's routing id gets no request and answers no client;
 * - a connection re-registering faster than --max-hellos per interval gets ERROR protocol;
 * - a HELLO with absurd fields (100k-character pool, 300 meta keys, a `__proto__` meta key, 20 KB of
 *   meta) gets ERROR, not silence.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { mkdirSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { readSecretKeyPair } from '../../proto/src/curve-keys.ts';
import { curveClientSocketOptions } from '../../worker-sdk/src/curve.ts';
import { Router } from 'zeromq';
import { decodeFrames, encode, type Message } from '../../proto/src/index.ts';
import { httpRequest, makeAgent, runToExit, startRouter, startWorker, useTestEnvironment, withTimeout, type HttpResult, type ManagedProcess, type RouterProcess } from '../helpers/index.ts';
import { describeUnlessMissing } from '../helpers/skip.ts';
import { FIXTURE_WORKER, PYTHON, pythonMissing } from '../interop/python.ts';

const HEARTBEAT_MS = 200;
const WORKER_ID = 'identity-worker';
const SECRET_HEADERS = { cookie: 'session=top-secret-cookie', authorization: 'Bearer top-secret-token' };

/** Messages decoded from what a raw peer received, and a way to wait for them. */
class RawPeer {
  readonly socket: Router;
  readonly inbox: Message[] = [];
  private wake: (() => void) | null = null;

  constructor(endpoint: string, routingId: string, curve: { curveSecretKey: string; curvePublicKey: string; curveServerKey: string } | object = {}) {
    this.socket = new Router({ ...curve, routingId, mandatory: true, linger: 0 });
    this.socket.connect(endpoint, { routingId: 'router' });
    void this.read();
  }

  private async read(): Promise<void> {
    try {
      for await (const [, ...frames] of this.socket) {
        decodeFrames(frames, { message: (m) => this.inbox.push(m), error: () => undefined });
        this.wake?.();
      }
    } catch {
      // closed
    }
  }

  async send(...messages: Message[]): Promise<void> {
    await this.socket.send(['router', ...messages.flatMap((m) => encode(m))]);
  }

  async next(type: Message['type'], timeoutMs: number): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.inbox.find((m) => m.type === type);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} within ${timeoutMs} ms (got ${this.inbox.map((m) => m.type).join(',') || 'nothing'})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * A TCP relay in front of the router that reads the routing id each connecting worker announces in
 * its plaintext ZMTP READY command ("Identity" property): what anyone on the path can see.
 */
async function identitySniffer(target: { host: string; port: number }): Promise<{ endpoint: string; ids: string[]; freeze(): void; close(): void }> {
  const ids: string[] = [];
  const sockets = new Set<net.Socket>();
  /** Connections whose bytes are dropped both ways from now on (half-open, as a dead NAT leaves them). */
  const frozen = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let head = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (frozen.has(client)) return;
      if (head.length < 1024) {
        head = Buffer.concat([head, chunk]);
        const at = head.indexOf('Identity');
        if (at >= 0 && head.length >= at + 12) {
          const len = head.readUInt32BE(at + 8);
          if (head.length >= at + 12 + len) {
            ids.push(head.subarray(at + 12, at + 12 + len).toString('latin1'));
            head = Buffer.alloc(2048); // done with this connection
          }
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!frozen.has(client)) client.write(chunk);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `tcp://127.0.0.1:${port}`,
    ids,
    freeze: () => {
      for (const s of sockets) frozen.add(s);
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function tcpTarget(endpoint: string): { host: string; port: number } {
  const m = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`not a tcp endpoint: ${endpoint}`);
  return { host: m[1]!, port: Number(m[2]) };
}

/**
 * A rogue connects straight to the router with `routingId` and never sends HELLO. It answers every
 * REQ it gets and sprays RES for the stream ids a router is likely to use. 20 client requests with
 * secrets must reach neither it nor (its answers) a client; then the real worker must be back
 * (`served` tells its answers apart) while the rogue is still connected. Bounded; prints the time.
 */
async function rogueTakeover(router: RouterProcess, routingId: string, agent: ReturnType<typeof makeAgent>, served: (r: HttpResult) => boolean): Promise<void> {
  const rogue = new RawPeer(router.bindEndpoint, routingId);
  const displacedAt = Date.now();
  const stolen: Message[] = [];
  let spraying = true;
  const spray = (async () => {
    for (let round = 0; spraying && round < 200; round++) {
      for (const m of rogue.inbox.splice(0)) {
        if (m.type !== 'REQ') continue;
        stolen.push(m);
        await rogue.send({ type: 'RES', stream: m.stream, seq: 0, status: 200, headers: ['content-type', 'text/plain'], fin: true, body: Buffer.from('rogue') }).catch(() => undefined);
      }
      const base = round * 20;
      const blind: Message[] = [];
      for (let s = base + 1; s <= base + 20; s++) blind.push({ type: 'RES', stream: s, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('rogue') });
      await rogue.send(...blind).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => httpRequest(`${router.httpUrl}/secret/${i}`, { dispatcher: agent, headers: SECRET_HEADERS, timeoutMs: 10_000 })),
    );
    for (const r of results) assert.notEqual(r.body.toString(), 'rogue', 'a rogue answer reached a client');
    assert.equal(stolen.length, 0, `the rogue received ${stolen.length} client requests`);

    // The real worker notices its connection is dead and comes back on a fresh one.
    let recoveredAfter = -1;
    const bound = 20 * HEARTBEAT_MS + 4000;
    while (Date.now() - displacedAt < bound) {
      const r = await httpRequest(`${router.httpUrl}/after`, { dispatcher: agent, headers: SECRET_HEADERS, timeoutMs: 5000 });
      assert.notEqual(r.body.toString(), 'rogue');
      if (served(r)) {
        recoveredAfter = Date.now() - displacedAt;
        break;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(recoveredAfter >= 0, `the worker did not recover within ${bound} ms`);
    console.log(`# the real worker answered ${recoveredAfter} ms after the rogue connected (heartbeat ${HEARTBEAT_MS} ms)`);
    assert.equal(stolen.length, 0, `the rogue received ${stolen.length} client requests`);
  } finally {
    spraying = false;
    await spray;
    rogue.close();
  }
}

/**
 * Freezes every connection through the relay (the worker's link goes half-open: neither side hears
 * the other, neither sees a close) and waits until `served` says the worker answers again — which it
 * can only do over a new connection. Bounded; prints the time.
 */
async function recoverAfterFreeze(router: RouterProcess, relay: { freeze(): void; ids: string[] }, agent: ReturnType<typeof makeAgent>, served: (r: HttpResult) => boolean): Promise<void> {
  const idsBefore = relay.ids.length;
  relay.freeze();
  const frozenAt = Date.now();
  let recoveredAfter = -1;
  const bound = 20 * HEARTBEAT_MS + 4000;
  while (Date.now() - frozenAt < bound) {
    const r = await httpRequest(`${router.httpUrl}/after-freeze`, { dispatcher: agent, timeoutMs: 5000 });
    if (served(r)) {
      recoveredAfter = Date.now() - frozenAt;
      break;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.ok(recoveredAfter >= 0, `the worker did not come back within ${bound} ms`);
  console.log(`# worker back ${recoveredAfter} ms after its connection froze (heartbeat ${HEARTBEAT_MS} ms)`);
  const fresh = relay.ids.slice(idsBefore);
  assert.ok(fresh.length >= 1, 'the worker opened a new connection');
  for (const id of fresh) assert.ok(!relay.ids.slice(0, idsBefore).includes(id), 'with a fresh routing id');
}

describe('worker identity: a routing id is not an identity', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let worker: ManagedProcess;
  let sniffer: Awaited<ReturnType<typeof identitySniffer>>;
  const agent = makeAgent(8);

  before(async () => {
    router = await startRouter(env.group, {
      bind: 'tcp://127.0.0.1:0',
      args: ['--heartbeat', String(HEARTBEAT_MS), '--queue-timeout', '300', '--request-timeout', '2000', '--admin', '127.0.0.1:0'],
    });
    sniffer = await identitySniffer(tcpTarget(router.bindEndpoint));
    worker = await startWorker(env.group, { connect: sniffer.endpoint, handler: 'echo', id: WORKER_ID });
  });
  after(async () => {
    sniffer?.close();
    await agent.close();
  });

  it('a rogue reusing a live worker\'s routing id gets no request and answers no client; the worker recovers by itself', async () => {
    const ok = await httpRequest(`${router.httpUrl}/before`, { dispatcher: agent });
    assert.equal(ok.status, 200);
    const routingId = sniffer.ids.at(-1);
    assert.ok(routingId, 'the worker\'s routing id was seen on the wire');
    await rogueTakeover(router, routingId, agent, (r) => r.status === 200 && String(r.headers['x-worker-id']) === WORKER_ID);
  });

  it('a worker its router no longer hears comes back by itself on a fresh connection', async () => {
    await recoverAfterFreeze(router, sniffer, agent, (r) => r.status === 200 && String(r.headers['x-worker-id']) === WORKER_ID);
  });

  it('the routing id is random, not the workerId, and no log line or admin page shows it', async () => {
    const ids = sniffer.ids;
    assert.ok(ids.length >= 1);
    for (const id of ids) {
      assert.notEqual(id, WORKER_ID);
      assert.ok(Buffer.byteLength(id) >= 22, `routing id ${JSON.stringify(id)} is too short to be unguessable`);
    }
    const line = router.proc.findLogs((l) => l.msg === 'router listening')[0];
    const workers = await httpRequest(`${String(line?.['admin'])}/workers`);
    assert.equal(workers.status, 200);
    const visible = [workers.body.toString(), JSON.stringify(router.proc.findLogs(() => true)), JSON.stringify(worker.findLogs(() => true))].join('\n');
    assert.ok(visible.includes(WORKER_ID), 'the workerId is what humans see');
    for (const id of ids) assert.ok(!visible.includes(id), 'a routing id appeared in a log or the admin page');
  });

  it('a connection re-registering faster than --max-hellos per interval gets ERROR protocol', async () => {
    const id = `hello-flood-${process.pid}`;
    const peer = new RawPeer(router.bindEndpoint, id);
    try {
      // 12 HELLOs with 12 nonces in one ZeroMQ message: each would re-register (workerId = routing id,
      // what a worker written from the old SPEC sends). The default budget is 8 per interval.
      const hellos: Message[] = Array.from({ length: 12 }, (_, i) => ({ type: 'HELLO', nonce: 100 + i, workerId: id, epoch: 'flood', versions: [1], pool: 'flood', capacity: 1, window: 65536, meta: {} }));
      await peer.send(...hellos);
      const error = await peer.next('ERROR', 5000);
      assert.equal(error.type === 'ERROR' && error.code, 'protocol');
      assert.match(error.type === 'ERROR' ? error.message : '', /HELLOs in one heartbeat interval/);
      assert.ok(peer.inbox.filter((m) => m.type === 'WELCOME').length <= 8, 'at most 8 registrations');
    } finally {
      peer.close();
    }
  });

  it('a HELLO with absurd fields gets ERROR, not silence', async () => {
    // workerId = routing id: what a worker written from the old SPEC sends.
    const hello = (workerId: string, over: Record<string, unknown>): Message =>
      ({ type: 'HELLO', nonce: 1, workerId, epoch: 'e', versions: [1], pool: 'default', capacity: 1, window: 65536, meta: {}, ...over }) as Message;
    const manyKeys: Record<string, string> = {};
    for (let i = 0; i < 300; i++) manyKeys[`k${i}`] = 'v';
    const bigMeta: Record<string, string> = {};
    for (let i = 0; i < 20; i++) bigMeta[`label${i}`] = 'x'.repeat(1000);
    const cases: [string, Record<string, unknown>][] = [
      ['a 100k-character pool', { pool: 'p'.repeat(100_000) }],
      ['300 meta keys', { meta: manyKeys }],
      ['a __proto__ meta key', { meta: { ['__proto__']: 'polluted', ok: 'yes' } }],
      ['20 KB of meta', { meta: bigMeta }],
    ];
    const peers: RawPeer[] = [];
    try {
      await Promise.all(
        cases.map(async ([what, fields], i) => {
          const id = `absurd-peer-${i}-${process.pid}`;
          const peer = new RawPeer(router.bindEndpoint, id);
          peers.push(peer);
          await peer.send(hello(id, fields));
          const answer = await withTimeout(peer.next('ERROR', 5000), 6000, `an ERROR for ${what}`);
          assert.equal(answer.type === 'ERROR' && answer.code, 'protocol', what);
          assert.equal(peer.inbox.filter((x) => x.type === 'WELCOME').length, 0, `${what} was not welcomed`);
        }),
      );
    } finally {
      for (const p of peers) p.close();
    }
  });
});

describeUnlessMissing('worker identity: the Python worker (examples/python-worker) recovers the same way', pythonMissing(), () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let sniffer: Awaited<ReturnType<typeof identitySniffer>>;
  const agent = makeAgent(8);

  before(async () => {
    router = await startRouter(env.group, { bind: 'tcp://127.0.0.1:0', args: ['--heartbeat', String(HEARTBEAT_MS), '--queue-timeout', '300', '--request-timeout', '2000'] });
    sniffer = await identitySniffer(tcpTarget(router.bindEndpoint));
    const worker = env.group.spawnProgram('python worker', PYTHON, [FIXTURE_WORKER, sniffer.endpoint, 'py-identity', '4']);
    await worker.waitForLog((l) => l.msg === 'worker registered', 30_000, '"worker registered"');
  });
  after(async () => {
    sniffer?.close();
    await agent.close();
  });

  it('a rogue reusing its routing id gets nothing; the Python worker reconnects with a fresh one', async () => {
    const ok = await httpRequest(`${router.httpUrl}/before`, { dispatcher: agent });
    assert.equal(ok.status, 200);
    const routingId = sniffer.ids.at(-1);
    assert.ok(routingId && routingId !== 'py-identity', `the routing id on the wire is random: ${routingId}`);
    await rogueTakeover(router, routingId, agent, (r) => r.status === 200 && r.body.toString() === 'ok /after\n');
  });

  it('the Python worker its router no longer hears comes back by itself on a fresh connection', async () => {
    await recoverAfterFreeze(router, sniffer, agent, (r) => r.status === 200 && r.body.toString() === 'ok /after-freeze\n');
  });
});

describe('worker identity with CURVE: a session is bound to the key of its connection', () => {
  const env = useTestEnvironment();
  let router: RouterProcess;
  let sniffer: Awaited<ReturnType<typeof identitySniffer>>;
  const agent = makeAgent(8);
  const key = (name: string): string => path.join(env.tmp.path, name);
  let routerPublic = '';

  before(async () => {
    const runs = await Promise.all(['router', 'victim', 'other', 'sdk'].map((n) => runToExit(['keygen', '--out', key(n)], 30_000)));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    mkdirSync(key('allowed'));
    for (const n of ['victim', 'other', 'sdk']) copyFileSync(`${key(n)}.pub`, path.join(key('allowed'), `${n}.pub`));
    routerPublic = readSecretKeyPair(`${key('router')}.key`).publicKey;
    router = await startRouter(env.group, {
      bind: 'tcp://127.0.0.1:0',
      args: ['--curve-secret', `${key('router')}.key`, '--allow-workers', key('allowed'), '--heartbeat', String(HEARTBEAT_MS), '--queue-timeout', '300'],
    });
    sniffer = await identitySniffer(tcpTarget(router.bindEndpoint));
  });
  after(async () => {
    sniffer?.close();
    await agent.close();
  });

  it('the routing id of a CURVE worker cannot be read off the wire', async () => {
    const worker = await startWorker(env.group, {
      connect: sniffer.endpoint,
      handler: 'echo',
      id: 'curve-sdk',
      args: ['--pool', 'sdk', '--curve-secret', `${key('sdk')}.key`, '--router-key', routerPublic],
    });
    assert.ok(worker.findLogs((l) => l.msg === 'worker registered').length >= 1);
    assert.deepEqual(sniffer.ids, [], 'no plaintext READY with an Identity crossed the relay');
  });

  it('another allowed key presenting a registered routing id gets no request and answers no client', async () => {
    const curve = (n: string): ReturnType<typeof curveClientSocketOptions> =>
      curveClientSocketOptions({ secretKey: readSecretKeyPair(`${key(n)}.key`).secretKey, serverKey: routerPublic });
    const routingId = `victim-${process.pid}-routing-id`;
    const victim = new RawPeer(router.bindEndpoint, routingId, curve('victim'));
    let attacker: RawPeer | undefined;
    let heartbeats: NodeJS.Timeout | undefined;
    try {
      // The victim registers first (sends before the CURVE handshake are queued, so one HELLO does).
      // workerId = routing id: what a worker written from the old SPEC sends (accepted either way).
      await victim.send({ type: 'HELLO', nonce: 1, workerId: routingId, epoch: 'v', versions: [1], pool: 'default', capacity: 8, window: 65536, meta: {} });
      await victim.next('WELCOME', 10_000);
      // A raw peer has no SDK to keep it alive: heartbeat well inside the short interval.
      heartbeats = setInterval(() => void victim.send({ type: 'HEARTBEAT', epoch: 'v' }).catch(() => undefined), HEARTBEAT_MS / 4);
      attacker = new RawPeer(router.bindEndpoint, routingId, curve('other'));
      const served = (async () => {
        for (let answered = 0; answered < 10; ) {
          const m = await victim.next('REQ', 10_000);
          victim.inbox.splice(victim.inbox.indexOf(m), 1);
          if (m.type !== 'REQ') continue;
          await victim.send({ type: 'RES', stream: m.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('victim') }, { type: 'CREDIT', credit: 1 });
          answered++;
        }
      })();
      // The attacker answers anything it gets, and sprays RES for likely stream ids.
      for (let s = 1; s <= 40; s++) await attacker.send({ type: 'RES', stream: s, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('rogue') }).catch(() => undefined);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => httpRequest(`${router.httpUrl}/curve/${i}`, { dispatcher: agent, headers: SECRET_HEADERS })));
      await withTimeout(served, 15_000, 'the victim to serve 10 requests');
      for (const r of results) assert.equal(r.body.toString(), 'victim');
      assert.equal(attacker.inbox.filter((m) => m.type === 'REQ').length, 0, 'the attacker received a client request');
    } finally {
      clearInterval(heartbeats);
      victim.close();
      attacker?.close();
    }
  });
});
