/**
 * A rogue peer (never registered) sends 100,000 random and mutated ZeroMQ messages — valid headers
 * with flipped/truncated/extended bytes, pure garbage, valid messages it has no right to send, odd
 * and huge frame counts, oversized header and body frames — while real traffic flows through a good
 * worker. The router keeps serving every real request correctly, never crashes, and counts every
 * dropped pair by reason: the test decodes each message it sends with the same codec and expects the
 * router's totals to match exactly. A second peer sends a frame above --max-message-size: libzmq
 * drops that connection before the frame reaches the router (nothing of it is counted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Router } from 'zeromq';
import { decodeFrames, encode, type DecodeSink, type Message } from '../../proto/src/index.ts';
import { helloRefusal } from '../../router/src/workers/hello-rules.ts';
import { ALL_TYPES, createRng, randomMessage, type Rng } from '../proto/random-messages.ts';
import { httpRequest, makeAgent, startRouter, startWorker, useTestEnvironment, withTimeout, type LogLine, type RouterProcess } from '../helpers/index.ts';

const MESSAGES = 100_000;
const BASE_MESSAGES = 1500;
const ROGUE_ID = 'rogue-peer';
const LANES = 8;

type Counts = Record<string, number>;

const GOOD_WORKER_ID = 'good-worker';

/**
 * What the router's registry does with each decoded pair of an unregistered peer (registry.ts): a
 * HELLO registers the peer's own connection unless hello-rules refuse it or another live session
 * holds its workerId (the good worker's); whatever else it sends is an unknown peer's. A single empty
 * frame is what libzmq's ROUTER_NOTIFY events look like, so the transport takes it for one.
 */
function expectedDrops(frames: Buffer[], _peer: string, counts: Counts): boolean {
  let registers = false;
  if (frames.length === 1 && frames[0]!.length === 0) return false;
  const sink: DecodeSink = {
    error: (e) => void (counts[e.code] = (counts[e.code] ?? 0) + 1),
    message: (m: Message) => {
      if (m.type === 'HELLO' && helloRefusal(m) === null && m.workerId !== GOOD_WORKER_ID) registers = true;
      const reason = m.type === 'HELLO' ? 'hello_refused' : 'unknown_peer';
      counts[reason] = (counts[reason] ?? 0) + 1;
    },
  };
  decodeFrames(frames, sink);
  return registers;
}

function mutateHeader(rng: Rng, header: Buffer): Buffer {
  const kind = rng.int(0, 5);
  const copy = Buffer.from(header);
  if (kind <= 2) {
    for (let k = rng.int(1, 4); k > 0 && copy.length > 0; k--) copy[rng.int(0, copy.length - 1)] = rng.int(0, 255);
    return copy;
  }
  if (kind === 3) return copy.subarray(0, rng.int(0, Math.max(0, copy.length - 1)));
  if (kind === 4) return Buffer.concat([copy, rng.bytes(rng.int(1, 64))]);
  // A plausible msgpack array start with the right signature but a random tail.
  return Buffer.concat([Buffer.from([0x90 + rng.int(0, 15), 0xa2, 0x5a, 0x50]), rng.bytes(rng.int(0, 40))]);
}

/** One rogue ZeroMQ message (frames after the envelope). */
function rogueMessage(rng: Rng, base: Buffer[][], big: { header: Buffer; body: Buffer }): Buffer[] {
  const r = rng.next();
  const pairs = (n: number, make: () => Buffer[]): Buffer[] => Array.from({ length: n }, make).flat();
  const small = (): Buffer => rng.bytes(rng.int(0, 64));
  if (r < 0.4) return pairs(rng.int(1, 4), () => { const [h, b] = rng.pick(base); return [mutateHeader(rng, h!), rng.next() < 0.5 ? b! : small()]; });
  if (r < 0.55) return pairs(rng.int(1, 3), () => [small(), small()]);
  if (r < 0.75) return pairs(rng.int(1, 3), () => rng.pick(base));
  if (r < 0.85) return pairs(rng.int(2, 4), () => (rng.next() < 0.5 ? rng.pick(base) : [small(), small()]));
  if (r < 0.95) return Array.from({ length: rng.pick([1, 3, 5]) }, small); // odd frame counts
  if (r < 0.997) return pairs(rng.int(1, 2), () => [rng.pick(base)[0]!, rng.bytes(rng.int(0, 8))]);
  if (r < 0.999) return Array.from({ length: rng.int(2049, 2600) }, () => rng.bytes(rng.int(0, 4))); // huge frame count
  if (r < 0.9995) return [big.header, Buffer.alloc(0)]; // header frame above 64 KiB
  return [rng.pick(base)[0]!, big.body]; // body frame above 1 MiB (still under --max-message-size)
}

/** Sends once the ZeroMQ handshake is done (EHOSTUNREACH before it), retrying with a short backoff. */
async function sendWhenConnected(socket: Router, frames: Buffer[], timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      await socket.send(['router', ...frames]);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EHOSTUNREACH' || Date.now() > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function drainReplies(socket: Router): Promise<void> {
  return (async () => {
    try {
      for await (const _ of socket) void _;
    } catch {
      // closed
    }
  })();
}

describe('rogue peer: 100,000 random and mutated messages', () => {
  const env = useTestEnvironment();
  const agent = makeAgent(LANES);
  const sockets: Router[] = [];
  const readers: Promise<void>[] = [];
  let router: RouterProcess;

  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all(readers);
    await agent.close();
  });

  before(async () => {
    router = await startRouter(env.group, { bind: env.tmp.ipc('r.sock') });
    await startWorker(env.group, { connect: router.bindEndpoint, handler: 'echo', id: GOOD_WORKER_ID });
  });

  function peer(id: string): Router {
    const socket = new Router({ routingId: id, mandatory: true, linger: 0 });
    socket.connect(router.bindEndpoint, { routingId: 'router' });
    sockets.push(socket);
    readers.push(drainReplies(socket));
    return socket;
  }

  it('keeps serving, never crashes, and counts every dropped pair by reason', async () => {
    const rng = createRng();
    const seed = `(ZP_FUZZ_SEED=${rng.seed})`;
    const base = Array.from({ length: BASE_MESSAGES }, () => encode(randomMessage(rng, rng.pick(ALL_TYPES))));
    const big = { header: rng.bytes(65_537 + rng.int(0, 2000)), body: Buffer.alloc(1024 * 1024 + 1 + rng.int(0, 1000), 0x61) };
    const expected: Counts = {};

    // Real traffic all along, checked byte for byte.
    let fuzzing = true;
    let served = 0;
    const failures: string[] = [];
    let counter = 0;
    const lane = async (): Promise<void> => {
      while (fuzzing || served < 200) {
        const i = counter++;
        const body = `body-${i}-${'x'.repeat(i % 300)}`;
        try {
          const res = await httpRequest(`${router.httpUrl}/real/${i}`, { method: 'POST', body, dispatcher: agent, timeoutMs: 30_000 });
          const echoed = JSON.parse(res.body.toString()) as { path: string; body: string };
          if (res.status !== 200 || echoed.path !== `/real/${i}` || echoed.body !== body) failures.push(`/real/${i}: ${res.status} ${res.body.toString().slice(0, 100)}`);
        } catch (err) {
          failures.push(`/real/${i}: ${(err as Error).message}`);
        }
        served++;
      }
    };
    const traffic = Promise.all(Array.from({ length: LANES }, lane));

    const rogue = peer(ROGUE_ID);
    const probe = encode({ type: 'HEARTBEAT', epoch: 'rogue' });
    await sendWhenConnected(rogue, probe);
    expectedDrops(probe, ROGUE_ID, expected);
    let skipped = 0;
    for (let n = 0; n < MESSAGES; n++) {
      const frames = rogueMessage(rng, base, big);
      const counts: Counts = {};
      // A HELLO that registers makes the rogue a worker on its own connection (then it is not a rogue).
      if (expectedDrops(frames, ROGUE_ID, counts)) {
        skipped++;
        continue;
      }
      await rogue.send(['router', ...frames]);
      for (const [k, v] of Object.entries(counts)) expected[k] = (expected[k] ?? 0) + v;
    }

    // A frame above --max-message-size: libzmq cuts that connection before the frame is buffered.
    const oversized = peer('oversized-peer');
    const cut = new Promise<void>((resolve) => void oversized.events.on('disconnect', () => resolve()));
    await sendWhenConnected(oversized, probe);
    expectedDrops(probe, 'oversized-peer', expected);
    await oversized.send(['router', ...encode({ type: 'DATA', stream: 1, seq: 0, fin: true, body: Buffer.alloc(2 * 1024 * 1024, 0x62) })]);
    // After the cut it reconnects; this probe lands after the oversized message had it been accepted.
    await withTimeout(cut, 30_000, 'the router to cut the oversized peer');
    await sendWhenConnected(oversized, probe);
    expectedDrops(probe, 'oversized-peer', expected);

    fuzzing = false;
    await traffic;
    assert.deepEqual(failures, [], `real requests all served with their own bodies ${seed}`);
    assert.ok(served >= 200, `served ${served}`);

    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    const drops = (l: LogLine): Counts => (l['drops'] ?? {}) as Counts;
    const line = await router.proc.waitForLog((l) => l.msg === 'dropped messages' && (l['total'] as number) >= total, 60_000, `the router to count ${total} drops ${seed}`);
    const sorted = (c: Counts): Counts => Object.fromEntries(Object.entries(c).sort(([a], [b]) => a.localeCompare(b)));
    assert.deepEqual(sorted(drops(line)), sorted(expected), `drop counters by reason ${seed}`);
    // Any valid HELLO registers the peer on its own connection (about 3% of the random messages).
    assert.ok(skipped < MESSAGES / 20, `few messages skipped (${skipped})`);
    assert.equal(router.proc.exitInfo, undefined, 'the router is still running');
    const after = await httpRequest(`${router.httpUrl}/after-fuzz`);
    assert.equal(after.status, 200);
  });
});
