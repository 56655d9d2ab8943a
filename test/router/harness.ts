/**
 * Starts a router in-process on ephemeral ports with a silent logger; tracks what to clean up.
 * The admin endpoint is on (loopback, ephemeral port) so a test can wait until the router has
 * queued a request instead of asserting before the request even reached it.
 */
import { pino } from 'pino';
import { request } from 'undici';
import { startRouter, type RouterOptions, type RunningRouter } from '../../router/src/index.ts';
import { FakeWorker, type FakeWorkerOptions } from './fake-worker.ts';

export interface Harness {
  router: RunningRouter;
  workers: FakeWorker[];
  worker(options?: FakeWorkerOptions): Promise<FakeWorker>;
  url(path: string): string;
  /** Requests the router holds in its wait queues now (admin /stats). */
  queued(): Promise<number>;
  /** Resolves once the router's wait queues hold exactly `n` requests; rejects after `timeoutMs`. */
  waitQueued(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(options: RouterOptions = {}): Promise<Harness> {
  const router = await startRouter({
    httpHost: '127.0.0.1',
    httpPort: 0,
    bind: 'tcp://127.0.0.1:*',
    logger: pino({ level: process.env.ZP_TEST_LOG ?? 'silent' }),
    drainTimeoutMs: 2000,
    admin: { host: '127.0.0.1', port: 0 },
    ...options,
  });
  const queued = async (): Promise<number> => {
    if (router.adminUrl === undefined) throw new Error('the harness router has no admin endpoint');
    const res = await request(`${router.adminUrl}/stats`, { headersTimeout: 5000, bodyTimeout: 5000 });
    if (res.statusCode !== 200) throw new Error(`admin /stats answered ${res.statusCode}: ${await res.body.text()}`);
    return ((await res.body.json()) as { queued: number }).queued;
  };
  const workers: FakeWorker[] = [];
  return {
    router,
    workers,
    async worker(workerOptions?: FakeWorkerOptions): Promise<FakeWorker> {
      const w = new FakeWorker(router.bindEndpoint, workerOptions);
      workers.push(w);
      await w.register();
      return w;
    },
    url: (path: string) => router.httpUrl + path,
    queued,
    async waitQueued(n: number, timeoutMs = 5000): Promise<void> {
      // Nothing announces "queued" to a client: poll the admin endpoint, bounded.
      let last = -1;
      for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, 10))) {
        if ((last = await queued()) === n) return;
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${n} queued request(s); the router has ${last}`);
    },
    async close(): Promise<void> {
      await Promise.all(workers.map((w) => w.close()));
      await router.close();
    },
  };
}
