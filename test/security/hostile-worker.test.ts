/**
 * A hostile worker (a raw ZeroMQ peer written here with the codec) registers, serves its own
 * requests correctly, and meanwhile sends RES/DATA/WINDOW/RST for every stream id near the ones it
 * sees — the ids of the good worker's concurrent streams — with a poison body. The router must drop
 * and count all of it: every client gets its own correct body, nothing is reset, and the router's
 * drop counters show the spoofed messages under `stream_not_owned`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMPTY_BODY, type Message } from '../../proto/src/index.ts';
import { FakeWorker } from '../router/fake-worker.ts';
import { httpRequest, makeAgent, startRouter, startWorker, useTestEnvironment, type RouterProcess, type LogLine } from '../helpers/index.ts';

const REQUESTS = 300;
const LANES = 24;
/** Offsets around each stream id the hostile worker sees that it tries to speak for. */
const SPOOF_RADIUS = 24;
const POISON = Buffer.from('POISON-FROM-HOSTILE-WORKER');

interface Served {
  path: string;
  by: string;
}

describe('hostile worker speaking for other workers\' streams', () => {
  const env = useTestEnvironment();
  const agent = makeAgent(LANES);
  let router: RouterProcess;
  let hostile: FakeWorker;
  let stopHostile = false;
  let hostileLoop: Promise<void> = Promise.resolve();
  let spoofed = 0;
  let servedByHostile = 0;
  /** Paths of every REQ the hostile worker was given: its own clients, whom it may answer as it likes. */
  const hostilePaths = new Set<string>();

  after(async () => {
    stopHostile = true;
    await hostileLoop.catch(() => undefined);
    await hostile?.close();
    await agent.close();
  });

  before(async () => {
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock'), args: [] });
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'slow-echo', id: 'good-worker' });
    hostile = new FakeWorker(router.bindEndpoint, { id: 'hostile-worker', capacity: 16 });
    // Generous bounds: the machine may be loaded (the default register() allows a few seconds).
    await hostile.sendHello({}, 30_000);
    await hostile.next('WELCOME', 30_000);
    hostileLoop = runHostile();
  });

  /** Answers its own REQs (so it keeps getting traffic to learn ids from) and spoofs the neighbours. */
  async function runHostile(): Promise<void> {
    while (!stopHostile) {
      let req;
      try {
        req = await hostile.next('REQ', 200);
      } catch {
        // Idle: keep the registration alive.
        await hostile.send({ type: 'HEARTBEAT', epoch: hostile.epoch }).catch(() => undefined);
        continue;
      }
      hostilePaths.add(req.path);
      if (stopHostile) return;
      const spoof: Message[] = [];
      for (let d = -SPOOF_RADIUS; d <= SPOOF_RADIUS; d++) {
        const stream = req.stream + d;
        if (d === 0 || stream <= 0) continue;
        spoof.push(
          { type: 'RES', stream, seq: 0, status: 200, headers: ['content-type', 'text/plain'], fin: false, body: POISON },
          { type: 'DATA', stream, seq: 1, fin: true, body: POISON },
          { type: 'WINDOW', stream, seq: 0, increment: 65536 },
          { type: 'RST', stream, code: 'cancel', message: 'spoofed' },
        );
      }
      await hostile.send(...spoof);
      spoofed += spoof.length;
      // Its own stream, answered correctly, then its credit back.
      const path = req.path;
      servedByHostile++;
      await hostile.send(
        { type: 'RES', stream: req.stream, seq: 0, status: 200, headers: ['content-type', 'application/json', 'x-worker-id', 'hostile-worker'], fin: false, body: EMPTY_BODY },
        { type: 'DATA', stream: req.stream, seq: 1, fin: true, body: Buffer.from(JSON.stringify({ path })) },
        { type: 'CREDIT', credit: 1 },
      );
      hostile.take('RST'); // the router's answers to the spoofed ids; not needed
    }
  }

  it('every client gets its own body; spoofed messages are dropped and counted', async () => {
    let next = 0;
    const results: { i: number; path: string; status: number; text: string; by: string }[] = [];
    const lane = async (): Promise<void> => {
      for (let i = next++; i < REQUESTS; i = next++) {
        const path = `/req/${i}?delay=${5 + (i % 4) * 10}`;
        const res = await httpRequest(`${router.httpUrl}${path}`, { dispatcher: agent, timeoutMs: 20_000 });
        results.push({ i, path, status: res.status, text: res.body.toString(), by: String(res.headers['x-worker-id']) });
      }
    };
    await Promise.all(Array.from({ length: LANES }, lane));
    stopHostile = true;
    await hostileLoop;
    for (const req of hostile.take('REQ')) hostilePaths.add(req.path);

    const failures: string[] = [];
    const byWorker = new Map<string, number>();
    for (const r of results) {
      if (hostilePaths.has(r.path)) {
        // The hostile worker's own clients: it may answer them with anything (even its own spoof
        // landing on a stream that became its own). Not a cross-stream leak.
        byWorker.set('hostile-worker', (byWorker.get('hostile-worker') ?? 0) + 1);
        continue;
      }
      // Everyone else was served by the good worker, with exactly its own body.
      byWorker.set(r.by, (byWorker.get(r.by) ?? 0) + 1);
      if (r.status !== 200 || r.text.includes('POISON') || r.by !== 'good-worker') {
        failures.push(`${r.path}: ${r.status} from ${r.by}: ${r.text.slice(0, 120)}`);
        continue;
      }
      const served = JSON.parse(r.text) as Served;
      // The echo fixture strips ?delay before echoing the path.
      if (served.path !== `/req/${r.i}`) failures.push(`${r.path}: got the body of ${served.path}`);
    }
    assert.deepEqual(failures, [], 'no request of the good worker failed or got another request\'s data');
    assert.ok((byWorker.get('good-worker') ?? 0) > 0 && servedByHostile > 0, `both workers served: ${JSON.stringify([...byWorker])}`);
    assert.ok(spoofed > 1000, `the hostile worker spoofed ${spoofed} messages`);
    // The router counted them (cumulative totals in its "dropped messages" line).
    const line = await router.proc.waitForLog(
      (l: LogLine) => l.msg === 'dropped messages' && ((l['drops'] as Record<string, number>)['stream_not_owned'] ?? 0) + ((l['drops'] as Record<string, number>)['stream_after_reset'] ?? 0) >= spoofed,
      15_000,
      `drop counters covering ${spoofed} spoofed messages`,
    );
    assert.ok(((line['drops'] as Record<string, number>)['stream_not_owned'] ?? 0) > 0);
    assert.equal(router.proc.exitInfo, undefined);
  });
});
