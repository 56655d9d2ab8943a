/**
 * The per-test fixture the fetch-handler SDK tests share: a FakeRouter and a real worker running the
 * given handler, welcomed and ready, both closed after each test (with anything else the test pushes
 * onto `cleanups`, in reverse order).
 */
import { afterEach } from 'node:test';
import { createWorker, type FetchHandler, type Worker } from '../../worker-sdk/src/index.ts';
import { captureLogger, FakeRouter } from './fake-router.ts';

export type Cleanup = () => Promise<void> | void;

export interface FetchWorkerSetup {
  router: FakeRouter;
  worker: Worker;
  id: string;
  logs: ReturnType<typeof captureLogger>;
}

/** Call once at the top of a test file: registers the afterEach that runs `cleanups`. */
export function fetchWorkerFixture(): {
  cleanups: Cleanup[];
  setup(handler: FetchHandler, extra?: Partial<Parameters<typeof createWorker>[0]>, welcome?: Parameters<FakeRouter['welcome']>[0]): Promise<FetchWorkerSetup>;
} {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(handler: FetchHandler, extra: Partial<Parameters<typeof createWorker>[0]> = {}, welcome: Parameters<FakeRouter['welcome']>[0] = {}): Promise<FetchWorkerSetup> {
    const router = await FakeRouter.bind();
    cleanups.push(() => router.close());
    const logs = captureLogger();
    const id = extra.id ?? `w-${Math.random().toString(36).slice(2)}`;
    const worker = createWorker({ connect: router.endpoint, handler, handleSignals: false, logger: logs.logger, drainTimeoutMs: 1000, ...extra, id });
    cleanups.push(() => worker.close());
    await router.welcome(welcome);
    await worker.ready;
    return { router, worker, id, logs };
  }

  return { cleanups, setup };
}
