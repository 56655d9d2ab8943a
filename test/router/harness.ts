/** Starts a router in-process on ephemeral ports with a silent logger; tracks what to clean up. */
import { pino } from 'pino';
import { startRouter, type RouterOptions, type RunningRouter } from '../../router/src/index.ts';
import { FakeWorker, type FakeWorkerOptions } from './fake-worker.ts';

export interface Harness {
  router: RunningRouter;
  workers: FakeWorker[];
  worker(options?: FakeWorkerOptions): Promise<FakeWorker>;
  url(path: string): string;
  close(): Promise<void>;
}

export async function startHarness(options: RouterOptions = {}): Promise<Harness> {
  const router = await startRouter({
    httpHost: '127.0.0.1',
    httpPort: 0,
    bind: 'tcp://127.0.0.1:*',
    logger: pino({ level: process.env.ZP_TEST_LOG ?? 'silent' }),
    drainTimeoutMs: 2000,
    ...options,
  });
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
    async close(): Promise<void> {
      await Promise.all(workers.map((w) => w.close()));
      await router.close();
    },
  };
}
