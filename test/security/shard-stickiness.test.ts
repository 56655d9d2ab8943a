/**
 * The shard plugin with its default bounded load, end to end (router in-process, real ZeroMQ peers):
 * one client's concurrent requests on idle workers all reach the key's owner (seed 000: requests
 * from one client are handled on the same backend), and spill along the key's ranking only when the
 * owner is really full (no credit left).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, test } from 'node:test';
import { request, type Dispatcher } from 'undici';
import { rank } from '../../router/src/plugins/rendezvous.ts';
import { makeTempDir } from '../helpers/index.ts';
import type { FakeWorker } from '../router/fake-worker.ts';
import { startHarness, type Harness } from '../router/harness.ts';

const tmp = makeTempDir();
after(() => tmp.remove());

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const EMPTY = Buffer.alloc(0);
const KEY = 'client-7';

/** A router whose only route shards by the x-client header, with the plugin's defaults (loadFactor 1.25). */
async function shardedHarness(): Promise<Harness> {
  const file = path.join(tmp.path, `shard-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, 'routes:\n  - plugins:\n      - plugin: shard\n        config: { key: "header:x-client" }\n');
  return startHarness({ configFile: file, requestTimeoutMs: 10_000 });
}

/** The workers in the key's rendezvous order (all weight 1, as HELLO meta gives none). */
function ranked(workers: readonly FakeWorker[], key: string): FakeWorker[] {
  return rank(key, workers.map((w) => ({ id: w.id, weight: 1, w }))).map((m) => m.w);
}

function send(h: Harness, i: number): Promise<Dispatcher.ResponseData> {
  return request(h.url(`/r${i}`), { headers: { 'x-client': KEY }, headersTimeout: 10_000 });
}

/** Receives `n` REQs on `w` (each wait bounded) and returns their stream ids. */
async function receive(w: FakeWorker, n: number, what: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await w.next('REQ', 3000).catch(() => assert.fail(`${what}: REQ ${i + 1} of ${n} never came`))).stream);
  return ids;
}

async function answer(w: FakeWorker, streams: readonly number[]): Promise<void> {
  for (const stream of streams) await w.send({ type: 'RES', stream, seq: 0, status: 200, headers: [], fin: true, body: EMPTY });
}

test('concurrent requests with one key on 4 idle workers all go to the same worker (its owner)', async () => {
  harness = await shardedHarness();
  const workers: FakeWorker[] = [];
  for (let i = 0; i < 4; i++) workers.push(await harness.worker({ capacity: 8, id: `sticky-${i}-${process.pid}` }));
  const [owner, ...others] = ranked(workers, KEY);
  // Held open (not answered) so that they are all in flight at once.
  const pending = [0, 1, 2, 3, 4, 5].map((i) => send(harness!, i));
  const streams = await receive(owner!, 6, 'the owner');
  for (const w of others) assert.equal(w.take('REQ').length, 0, `${w.id} got a request of ${KEY}`);
  await answer(owner!, streams);
  for (const p of pending) {
    const res = await p;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-handled-by'], owner!.id);
    await res.body.dump();
  }
});

test('when the owner has no credit left the key spills to the next worker of its ranking, then comes back', async () => {
  harness = await shardedHarness();
  const workers: FakeWorker[] = [];
  for (let i = 0; i < 4; i++) workers.push(await harness.worker({ capacity: 2, id: `spill-${i}-${process.pid}` }));
  const [owner, second, ...rest] = ranked(workers, KEY);
  const first = [0, 1].map((i) => send(harness!, i));
  const onOwner = await receive(owner!, 2, 'the owner');
  // The owner is full (capacity 2, both in flight): the next ones go to the key's second worker.
  const spilled = [2, 3].map((i) => send(harness!, i));
  const onSecond = await receive(second!, 2, 'the second worker of the ranking');
  for (const w of rest) assert.equal(w.take('REQ').length, 0, `${w.id} is not next in the ranking`);
  await answer(owner!, onOwner);
  await answer(second!, onSecond);
  for (const p of [...first, ...spilled]) await (await p).body.dump();
  // The owner's credit is back: the key goes home.
  await owner!.send({ type: 'CREDIT', credit: 2 });
  await second!.send({ type: 'CREDIT', credit: 2 });
  const home = send(harness, 9);
  await answer(owner!, await receive(owner!, 1, 'the owner again'));
  assert.equal((await home).headers['x-handled-by'], owner!.id);
});
