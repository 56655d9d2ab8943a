/**
 * Worker identity (issue 11 item 4), with real processes on loopback:
 * - a plaintext peer that connects with a live worker's routing id (read off the wire, as an on-path
 *   observer would) and never sends HELLO gets no client request — not one of 20 carrying cookies and
 *   authorization — and its answers (RES for every plausible stream id) reach no client;
 * - the real worker, displaced, recovers by itself on a fresh connection while the rogue stays
 *   connected (the test prints how long it took; the heartbeat is short so the wait is short);
 * - the worker's routing id is random, never its workerId, and appears in no log line or admin page;
 * - a HELLO with absurd fields (100k-character pool, 300 meta keys, a `__proto__` meta key, 20 KB of
 *   meta) gets ERROR, not silence.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Router } from 'zeromq';
import { decodeFrames, encode, type Message } from '../../proto/src/index.ts';
import { httpRequest, makeAgent, startRouter, startWorker, useTestEnvironment, withTimeout, type ManagedProcess, type RouterProcess } from '../helpers/index.ts';

const HEARTBEAT_MS = 200;
const WORKER_ID = 'identity-worker';
const SECRET_HEADERS = { cookie: 'session=top-secret-cookie', authorization: 'Bearer top-secret-token' };

/** Messages decoded from what a raw peer received, and a way to wait for them. */
class RawPeer {
  readonly socket: Router;
  readonly inbox: Message[] = [];
  private wake: (() => void) | null = null;

  constructor(endpoint: string, routingId: string) {
    this.socket = new Router({ routingId, mandatory: true, linger: 0 });
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
async function identitySniffer(target: { host: string; port: number }): Promise<{ endpoint: string; ids: string[]; close(): void }> {
  const ids: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let head = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
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
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
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

    // The rogue connects straight to the router with that id and never sends HELLO. It answers every
    // REQ it gets, and also sprays RES for the stream ids a router is likely to use.
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
      // 20 client requests with secrets while the rogue holds the id.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => httpRequest(`${router.httpUrl}/secret/${i}`, { dispatcher: agent, headers: SECRET_HEADERS, timeoutMs: 10_000 })),
      );
      for (const r of results) assert.notEqual(r.body.toString(), 'rogue', 'a rogue answer reached a client');
      assert.equal(stolen.length, 0, `the rogue received ${stolen.length} client requests`);

      // The real worker notices its connection is dead and comes back on a fresh one, while the
      // rogue is still connected. Bounded wait; the time it took is printed.
      let recoveredAfter = -1;
      const bound = 20 * HEARTBEAT_MS + 4000;
      while (Date.now() - displacedAt < bound) {
        const r = await httpRequest(`${router.httpUrl}/after`, { dispatcher: agent, headers: SECRET_HEADERS, timeoutMs: 5000 });
        assert.notEqual(r.body.toString(), 'rogue');
        if (r.status === 200 && String(r.headers['x-worker-id']) === WORKER_ID) {
          recoveredAfter = Date.now() - displacedAt;
          break;
        }
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.ok(recoveredAfter >= 0, `the worker did not recover within ${bound} ms`);
      console.log(`# worker recovered ${recoveredAfter} ms after the rogue connected (heartbeat ${HEARTBEAT_MS} ms)`);
      assert.equal(stolen.length, 0, `the rogue received ${stolen.length} client requests`);
    } finally {
      spraying = false;
      await spray;
      rogue.close();
    }
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
