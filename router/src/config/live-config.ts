/**
 * Keeps the routing table current: loads the config file at start (errors stop the start), then
 * reloads it when the file changes (watching its directory, since editors replace files) and on
 * SIGHUP. A reload builds a whole new table and swaps it in — requests in flight keep the plan they
 * were made with, so none fails. A bad reload keeps the old table and logs why.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from './errors.ts';
import { loadConfig } from './load.ts';
import type { RoutingTable } from './routing-table.ts';

/** Editors write a file in several steps: reload once they are done. */
export const RELOAD_DEBOUNCE_MS = 100;

export interface LiveConfig {
  /** Reloads now; resolves true when the new config is in use. */
  reload(reason: string): Promise<boolean>;
  close(): void;
}

export async function startLiveConfig(file: string, log: Logger, apply: (table: RoutingTable) => void): Promise<LiveConfig> {
  const absolute = path.resolve(file);
  apply(await loadConfig(absolute)); // a ConfigError here stops the router from starting
  log.info({ config: absolute }, 'config loaded');

  let running: Promise<boolean> | null = null;
  let again = false;
  let closed = false;
  const reloadOnce = async (reason: string): Promise<boolean> => {
    try {
      const table = await loadConfig(absolute);
      if (closed) return false;
      apply(table);
      log.info({ config: absolute, reason, routes: table.routes.length }, 'config reloaded');
      return true;
    } catch (err) {
      const detail = err instanceof ConfigError ? err.message : (err as Error).message;
      log.warn({ config: absolute, reason, error: detail }, 'config reload failed: keeping the previous config');
      return false;
    }
  };
  // One reload at a time; a change during a reload triggers one more after it.
  const reload = (reason: string): Promise<boolean> => {
    if (running !== null) {
      again = true;
      return running;
    }
    running = reloadOnce(reason).finally(() => {
      running = null;
      if (again && !closed) {
        again = false;
        void reload(reason);
      }
    });
    return running;
  };

  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(path.dirname(absolute), (_event, name) => {
      if (closed || (name !== null && name !== path.basename(absolute))) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        void reload('file changed');
      }, RELOAD_DEBOUNCE_MS);
    });
    watcher.on('error', (err) => log.warn({ config: absolute, error: err.message }, 'config watch failed: reload with SIGHUP'));
  } catch (err) {
    log.warn({ config: absolute, error: (err as Error).message }, 'config watch failed: reload with SIGHUP');
  }
  const onSighup = (): void => void reload('SIGHUP');
  process.on('SIGHUP', onSighup);

  return {
    reload,
    close(): void {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      watcher?.close();
      process.off('SIGHUP', onSighup);
    },
  };
}
