/**
 * SIGTERM/SIGINT drain a worker: `close()` (DRAIN, in-flight streams finish, BYE), then exit 0, or 1
 * when closing failed. Shared by createWorker and the bridge worker.
 */
import type { Logger } from 'pino';

/** Installs the handlers; returns the function that removes them (close() calls it). */
export function drainOnSignals(logger: Logger, close: () => Promise<void>): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'signal received, draining');
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: String(err) }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
