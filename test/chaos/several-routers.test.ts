/**
 * Several routers: `worker --connect a,b` serves both at once and both routers see both workers; a
 * router going away does not disturb the worker's streams on the other one — a long streamed
 * response through router B, held mid-body, keeps going byte-exact after router A is SIGKILLed and
 * the workers have given A up.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { contentBytes } from '../../chaos/content.ts';
import { headerValue, httpRequest, isRegistered, REPO_ROOT, startRouter, startWorkers, useTestEnvironment, withTimeout } from '../helpers/index.ts';

const HANDLER = path.join(REPO_ROOT, 'chaos', 'handler.ts');
const MiB = 1024 * 1024;
const STREAM_BYTES = 64 * MiB;
const SEED = 777;

/** A GET read chunk by chunk and checked against the chaos content; pausable so it can be held open. */
function openStream(url: string, requestId: string) {
  let received = 0;
  let mismatchAt = -1;
  let response: http.IncomingMessage | undefined;
  const thresholds: { bytes: number; resolve: () => void }[] = [];
  const done = new Promise<{ status: number; workerId: string | undefined }>((resolve, reject) => {
    const req = http.get(url, { headers: { 'x-request-id': requestId }, agent: false }, (res) => {
      response = res;
      res.on('data', (chunk: Buffer) => {
        if (mismatchAt < 0 && !contentBytes(SEED, received, chunk.length).equals(chunk)) mismatchAt = received;
        received += chunk.length;
        for (const t of thresholds.filter((x) => received >= x.bytes)) {
          thresholds.splice(thresholds.indexOf(t), 1);
          t.resolve();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, workerId: res.headers['x-worker-id'] as string | undefined }));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error(`stream cut after ${received} bytes`));
      });
    });
    req.on('error', reject);
  });
  return {
    done,
    get received() {
      return received;
    },
    get mismatchAt() {
      return mismatchAt;
    },
    reached(bytes: number): Promise<void> {
      if (received >= bytes) return Promise.resolve();
      return new Promise((resolve) => thresholds.push({ bytes, resolve }));
    },
    pause: () => response?.pause(),
    resume: () => response?.resume(),
  };
}

describe('several routers', () => {
  const env = useTestEnvironment();

  it('a worker serves two routers; killing one leaves the streams on the other untouched', async (t) => {
    const args = (id: string) => ['--heartbeat', '300', '--id', id];
    const [a, b] = await Promise.all([
      startRouter(env.group, { bind: env.tmp.ipc('a.sock'), name: 'router-a', args: args('router-a') }),
      startRouter(env.group, { bind: env.tmp.ipc('b.sock'), name: 'router-b', args: args('router-b') }),
    ]);
    const ids = ['multi-1', 'multi-2'];
    const workers = await startWorkers(
      env.group,
      ids.map((id) => ({ connect: [a.bindEndpoint, b.bindEndpoint], id, name: id, args: ['--handler', HANDLER] })),
    );
    await Promise.all(workers.map((w) => w.waitForLog(() => w.findLogs(isRegistered).length >= 2, 30_000, 'registration with both routers')));

    // Every router sees the same workers: concurrent slow requests through each reach both.
    for (const router of [a, b]) {
      const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => httpRequest(`${router.httpUrl}/chaos/get?seed=${i}&bytes=100&delay=200`)));
      assert.deepEqual(replies.map((r) => r.status), replies.map(() => 200));
      assert.deepEqual([...new Set(replies.map((r) => headerValue(r, 'x-worker-id')))].sort(), ids, `${router.proc.name} did not use both workers`);
    }

    const requestId = `long-${Date.now()}`;
    const stream = openStream(`${b.httpUrl}/chaos/stream?seed=${SEED}&bytes=${STREAM_BYTES}`, requestId);
    await withTimeout(stream.reached(MiB), 15_000, 'the first MiB through router B');
    stream.pause(); // flow control holds the rest at the worker: the stream stays open

    a.proc.signal('SIGKILL');
    await a.proc.waitForExit(5000);
    // Both workers notice that router A is gone (3 silent heartbeats) while the stream is held.
    await Promise.all(
      workers.map((w) => w.waitForLog((l) => l.msg === 'router lost' && l['router'] === a.bindEndpoint, 15_000, 'the worker to give router A up')),
    );
    stream.resume();
    const end = await withTimeout(stream.done, 30_000, 'the long stream through router B to end');
    t.diagnostic(`stream of ${stream.received} bytes through B from ${end.workerId} survived router A's death`);
    assert.equal(end.status, 200);
    assert.equal(stream.received, STREAM_BYTES);
    assert.equal(stream.mismatchAt, -1, `bytes differ from offset ${stream.mismatchAt}`);
    for (const w of workers) {
      assert.deepEqual(w.findLogs((l) => l.msg === 'stream reset' && l['requestId'] === requestId), [], `${w.name} reset the stream`);
      assert.equal(w.exitInfo, undefined, `${w.name} exited`);
    }
    // Router B still has both workers.
    const after = await Promise.all(Array.from({ length: 12 }, (_, i) => httpRequest(`${b.httpUrl}/chaos/get?seed=${i}&bytes=100&delay=200`)));
    assert.deepEqual([...new Set(after.map((r) => headerValue(r, 'x-worker-id')))].sort(), ids);
  });
});
