/**
 * A `--forward` bridge as a worker that is in the router's pool only while its backend takes
 * connections (issue 11 item 8: failure containment).
 *
 * Why leave (DRAIN, BYE) and come back (a fresh HELLO) rather than withhold credit: the protocol
 * already says all of it (SPEC §6.2: DRAIN sets the router's credit to 0 and a REQ that crossed it
 * gets RST `refused`, which the router may retry anywhere), so a router or a worker written from the
 * SPEC needs no new rule, and the router's view (admin, readiness) never shows a worker that cannot
 * serve. At start the backend is probed once: a bridge whose backend is down does not register until
 * it answers. While it is down the bridge probes it with a TCP connect, backing off from
 * probeMinMs to probeMaxMs (bridge-health.ts), and re-registers under the same worker id.
 */
import type { Logger } from 'pino';
import type { Bridge } from './bridge.ts';
import { createWorker, type Worker, type WorkerOptions } from './worker.ts';
import { drainOnSignals } from './drain-on-signals.ts';

export type BridgeWorkerOptions = Omit<WorkerOptions, 'handler' | 'onStream' | 'handleSignals' | 'id' | 'logger'> & {
  /** Fixed for the process: the worker keeps its id across leaving and rejoining. */
  id: string;
  logger: Logger;
  /** SIGTERM/SIGINT → leave (DRAIN, BYE), close the bridge, exit 0. */
  handleSignals?: boolean;
};

/** Logged when the worker leaves the pool because its backend stopped taking connections. */
export const LEAVING_MESSAGE = 'backend down: worker leaving the pool (DRAIN, BYE) until it answers';

export interface BridgeWorker {
  readonly id: string;
  /** The worker while the bridge is in the pool, null while its backend is down. */
  current(): Worker | null;
  /** Leave the pool (DRAIN, in-flight streams finish, BYE) and stop probing. */
  close(): Promise<void>;
}

export function startBridgeWorker(bridge: Bridge, options: BridgeWorkerOptions): BridgeWorker {
  const { handleSignals = true, ...workerOptions } = options;
  const log = options.logger;
  let worker: Worker | null = null;
  /** The previous worker's DRAIN/BYE: a new one may only say HELLO once it is done (same id). */
  let leaving: Promise<void> = Promise.resolve();
  let closing: Promise<void> | null = null;

  let joined = 0;
  const join = (): void => {
    if (closing !== null || worker !== null || !bridge.health.up) return;
    if (joined++ > 0) log.info({ workerId: options.id }, 'backend answering again: worker rejoining the pool');
    worker = createWorker({ ...workerOptions, onStream: bridge.onStream, handleSignals: false });
  };
  const leave = (): void => {
    const w = worker;
    if (w === null) return;
    worker = null;
    log.warn({ workerId: options.id }, LEAVING_MESSAGE);
    // Called synchronously: close() sends DRAIN before it returns, so the DRAIN reaches the router
    // before the caller's RST `refused` and the retry does not come back here. (A worker is only
    // created once the previous one's close() finished, so nothing else is leaving now.)
    leaving = w.close().catch((err: unknown) => log.error({ err: String(err) }, 'leaving the pool failed'));
    void leaving.then(() => join()); // the backend may be back already
  };
  bridge.health.onChange((up) => (up ? void leaving.then(() => join()) : leave()));

  void bridge.health.check().then((up) => {
    if (up) join();
    else log.warn({ workerId: options.id }, 'backend not taking connections: the worker registers once it does');
  });

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const w = worker;
      worker = null;
      bridge.health.close();
      await leaving;
      if (w !== null) await w.close();
      await bridge.close();
      removeSignalHandlers();
    })();
    return closing;
  };

  const removeSignalHandlers = handleSignals ? drainOnSignals(log, close) : (): void => {};

  return { id: options.id, current: () => worker, close };
}
