/**
 * The retry rules against real ZeroMQ peers, each asserted on what the workers saw:
 * - `--retries N` gives exactly N retries (N + 1 attempts), for N = 0, 1, 2;
 * - a retried request goes to the head of its pool's queue, ahead of requests already waiting;
 * - a request body above `--replay-limit` is neither replayed (even for an idempotent method) nor
 *   held: a body far above the limit streams through while the router keeps none of it;
 * - retries of requests no worker ran (RST refused) do not spend the retry budget.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, test } from 'node:test';
import { request } from 'undici';
import type { FakeWorker } from './fake-worker.ts';
import { startHarness, type Harness } from './harness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const EMPTY = Buffer.alloc(0);
const MiB = 1024 * 1024;

/** Reads the rest of a REQ's body (DATA frames up to FIN), bounded by `maxFrames`. */
async function readBody(w: FakeWorker, req: { stream: number; body: Buffer; fin: boolean }, maxFrames = 10_000): Promise<Buffer> {
  const parts = [req.body];
  for (let fin = req.fin, i = 0; !fin; i++) {
    if (i >= maxFrames) throw new Error(`more than ${maxFrames} DATA frames`);
    const d = await w.next('DATA', 3000, (m) => m.stream === req.stream);
    parts.push(d.body);
    fin = d.fin;
  }
  return Buffer.concat(parts);
}

/**
 * Each worker answers every REQ with RST refused (it never ran it, so any method may be retried)
 * and counts it; stop() ends the loops (each wait is bounded, so they end by themselves too).
 */
function refuseAll(workers: readonly FakeWorker[]): { attempts: () => number; stop: () => Promise<void> } {
  let running = true;
  let attempts = 0;
  const loops = workers.map(async (w) => {
    for (let i = 0; running && i < 100; i++) {
      const req = await w.next('REQ', 250).catch(() => null);
      if (req === null) continue;
      attempts++;
      await w.send({ type: 'RST', stream: req.stream, code: 'refused', message: 'refused by the test' });
    }
  });
  return {
    attempts: () => attempts,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

for (const retries of [0, 1, 2]) {
  test(`--retries ${retries}: a request refused everywhere is attempted exactly ${retries + 1} time(s), then 502`, async () => {
    harness = await startHarness({ retries });
    // One more worker (each with one credit) than attempts allowed: an extra retry would find one.
    const workers: FakeWorker[] = [];
    for (let i = 0; i < retries + 2; i++) workers.push(await harness.worker({ capacity: 1 }));
    const refusing = refuseAll(workers);
    try {
      const res = await request(harness.url('/refused-everywhere'), { headersTimeout: 10_000 });
      assert.equal(res.statusCode, 502);
      assert.equal(((await res.body.json()) as { error: string }).error, 'ZP_ERR_WORKER_RESET');
      // Every attempt's REQ was answered before the client got its 502, so the count is complete.
      assert.equal(refusing.attempts(), retries + 1, 'attempts the workers saw');
    } finally {
      await refusing.stop();
    }
    for (const w of workers) assert.equal(w.take('REQ').length, 0, 'no attempt after the 502');
  });
}

test('a retried request goes ahead of the requests already waiting in the queue', async () => {
  harness = await startHarness({ heartbeatMs: 5000, queueTimeoutMs: 10_000 });
  const doomed = await harness.worker({ capacity: 1 });
  const first = request(harness.url('/first'));
  await doomed.next('REQ');
  const second = request(harness.url('/second'));
  const third = request(harness.url('/third'));
  await harness.waitQueued(2); // both wait behind the busy worker
  await doomed.close(); // its connection drops: /first is retried, and no worker is left
  await harness.waitQueued(3);
  const rescuer = await harness.worker({ capacity: 1 });
  const order: string[] = [];
  for (let i = 0; i < 3; i++) {
    const req = await rescuer.next('REQ');
    order.push(req.path);
    await rescuer.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from(req.path) }, { type: 'CREDIT', credit: 1 });
  }
  assert.deepEqual(order, ['/first', '/second', '/third']);
  for (const [p, path] of [[first, '/first'], [second, '/second'], [third, '/third']] as const) {
    assert.equal(await (await p).body.text(), path);
  }
});

test('a PUT whose body is within --replay-limit is replayed after its worker dies (the control case)', async () => {
  harness = await startHarness({ replayLimit: 100, heartbeatMs: 5000, requestTimeoutMs: 5000 });
  const owner = await harness.worker({ capacity: 1 });
  const body = Buffer.alloc(100, 0x61);
  const pending = request(harness.url('/small-put'), { method: 'PUT', body });
  const req = await owner.next('REQ');
  assert.equal((await readBody(owner, req)).length, 100);
  const other = await harness.worker({ capacity: 1 });
  await owner.send({ type: 'BYE', reason: 'crash' });
  const again = await other.next('REQ');
  assert.deepEqual(await readBody(other, again), body);
  await other.send({ type: 'RES', stream: again.stream, seq: 0, status: 204, headers: [], fin: true, body: EMPTY });
  assert.equal((await pending).statusCode, 204);
});

test('a PUT whose body is above --replay-limit is not replayed after its worker dies: 502, the other worker never sees it', async () => {
  // PUT is idempotent: only the replay limit stands between this request and a retry.
  harness = await startHarness({ replayLimit: 100, heartbeatMs: 5000, requestTimeoutMs: 5000 });
  const owner = await harness.worker({ capacity: 1 });
  const pending = request(harness.url('/big-put'), { method: 'PUT', body: Buffer.alloc(1000, 0x62) });
  const req = await owner.next('REQ');
  assert.equal((await readBody(owner, req)).length, 1000); // the router has seen the whole body
  const other = await harness.worker({ capacity: 1 });
  await owner.send({ type: 'BYE', reason: 'crash' });
  const res = await pending;
  assert.equal(res.statusCode, 502);
  assert.equal(((await res.body.json()) as { error: string }).error, 'ZP_ERR_WORKER_LOST');
  assert.equal(other.take('REQ').length, 0, 'the second worker never saw the request');
});

test('a POST refused (RST refused) with a body above --replay-limit gets 502, not a replay', async () => {
  // A refused request may be replayed whatever its method, but only from a held body.
  harness = await startHarness({ replayLimit: 100, requestTimeoutMs: 5000 });
  const owner = await harness.worker({ capacity: 1 });
  const pending = request(harness.url('/big-post'), { method: 'POST', body: Buffer.alloc(1000, 0x63) });
  const req = await owner.next('REQ');
  assert.equal((await readBody(owner, req)).length, 1000);
  const other = await harness.worker({ capacity: 1 });
  await owner.send({ type: 'RST', stream: req.stream, code: 'refused', message: 'draining' });
  const res = await pending;
  assert.equal(res.statusCode, 502);
  assert.equal(((await res.body.json()) as { error: string }).error, 'ZP_ERR_WORKER_RESET');
  assert.equal(other.take('REQ').length, 0, 'the second worker never saw the request');
});

test('a body far above --replay-limit streams through while the router holds none of it', async () => {
  // External memory (Buffers) held anywhere in this process after a full GC: the router runs
  // in-process, so a body it keeps for replay shows here; the client and the worker keep none.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const held = (): number => {
    gc();
    gc();
    return process.memoryUsage().arrayBuffers;
  };
  const BODY = 64 * MiB;
  const CHUNK = 64 * 1024;
  harness = await startHarness({ replayLimit: 64 * 1024, requestTimeoutMs: 60_000 });
  const w = await harness.worker({ capacity: 1 });
  const before = held();
  let sent = 0;
  const source = new Readable({
    read() {
      if (sent >= BODY) return void this.push(null);
      sent += CHUNK;
      this.push(Buffer.alloc(CHUNK, sent & 0xff)); // fresh chunks: nothing shared with the router
    },
  });
  const pending = request(harness.url('/huge-put'), { method: 'PUT', body: source, headers: { 'content-length': String(BODY) } });
  const req = await w.next('REQ');
  // Consume as a worker does, granting window back for what it read; drop every byte.
  let got = req.body.length;
  let seq = 0;
  for (let fin = req.fin, i = 0; !fin; i++) {
    if (i > 100_000) throw new Error('too many DATA frames');
    const d = await w.next('DATA', 5000, (m) => m.stream === req.stream);
    got += d.body.length;
    fin = d.fin;
    if (!fin && d.body.length > 0) await w.send({ type: 'WINDOW', stream: req.stream, seq: seq++, increment: d.body.length });
  }
  assert.equal(got, BODY);
  // The request is still open (no response yet): a body kept for replay would still be held now.
  const growth = held() - before;
  assert.ok(growth < 16 * MiB, `the router holds ${(growth / MiB).toFixed(1)} MiB of a ${BODY / MiB} MiB body (replay limit 64 KiB)`);
  await w.send({ type: 'RES', stream: req.stream, seq: seq++, status: 204, headers: [], fin: true, body: EMPTY });
  assert.equal((await pending).statusCode, 204);
});

test('retries of requests no worker ran (RST refused) do not spend the retry budget', async () => {
  // Budget 0 % leaves only the reserve of 10 retries per 10 s: 30 refusals would exhaust it.
  harness = await startHarness({ retries: 1, retryBudgetPercent: 0 });
  const refuser = await harness.worker({ capacity: 30 });
  const answers = Array.from({ length: 30 }, (_, i) => request(harness!.url(`/r${i}`), { headersTimeout: 20_000 }));
  // The refuser takes all 30, then refuses them at once: it gives no credit back, so every retry
  // waits in the queue for a worker that answers.
  const refused = [];
  for (let i = 0; i < 30; i++) refused.push(await refuser.next('REQ', 10_000));
  await refuser.send(...refused.map((r) => ({ type: 'RST' as const, stream: r.stream, code: 'refused' as const, message: 'refused by the test' })));
  const good = await harness.worker({ capacity: 30 });
  const serving = (async () => {
    for (let served = 0; served < 30; served++) {
      const req = await good.next('REQ', 10_000);
      await good.send({ type: 'RES', stream: req.stream, seq: 0, status: 200, headers: [], fin: true, body: Buffer.from('ok') });
    }
  })();
  const statuses = await Promise.all(answers.map(async (a) => (await a).statusCode));
  assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every refused request was retried and answered');
  await serving;
});
