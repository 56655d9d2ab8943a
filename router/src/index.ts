/**
 * zeroproxy router: HTTP front door → dispatcher → streams → one ZeroMQ ROUTER socket → workers.
 * startRouter() wires the parts and returns once both the HTTP port and the ZeroMQ endpoint are bound.
 */
import { nanoid } from 'nanoid';
import { pino, type Logger } from 'pino';
import { routerLiveState, startAdminServer, type RunningAdmin } from './admin/index.ts';
import { Dispatcher } from './core/dispatcher.ts';
import { createFrontDoor } from './http/front-door.ts';
import { resolveRouterOptions, type ResolvedRouterOptions, type RouterOptions } from './options.ts';
import { createNativeFront, type RouterFront } from './native-front/native-front.ts';
import { loadNativeAddon } from './native-front/native-addon.ts';
import { Registry } from './workers/registry.ts';
import { startLiveConfig, type LiveConfig } from './config/live-config.ts';

export { ROUTER_DEFAULTS, type RouterOptions, type ResolvedRouterOptions } from './options.ts';
export { RouterErrors, RouterError, type RouterErrorCode } from './errors.ts';
export { ConfigError } from './config/errors.ts';

export interface RunningRouter {
  /** e.g. "http://127.0.0.1:43123" (the real port when 0 was asked). */
  httpUrl: string;
  /** The bound ZeroMQ endpoint, resolved when the port was `*`. */
  bindEndpoint: string;
  /** The admin endpoint's URL when `admin` was given (the real port when 0 was asked). */
  adminUrl?: string;
  /** Stops accepting, finishes in-flight requests (≤ drainTimeoutMs), says BYE, closes sockets. */
  close(): Promise<void>;
  /** Reloads the --config file now (as SIGHUP does); false when there is none or it is invalid. */
  reloadConfig?(): Promise<boolean>;
}

/**
 * The node:http front door, or with `front: 'native'` the native HTTP/1.1 front in front of it
 * (node:http then serves only what the native front hands over: Upgrade, CONNECT, h2c). The native
 * front is cleartext and single-process in the spike: otherwise, and when the addon is not built,
 * node:http serves everything, said once in the log.
 */
function createRouterFront(opts: ResolvedRouterOptions, dispatcher: Dispatcher, log: Logger): RouterFront {
  const nodeDoor = createFrontDoor(opts, dispatcher);
  if (opts.front !== 'native') return nodeDoor;
  const unsupported = opts.tlsCert !== undefined ? 'TLS' : opts.httpReusePort ? '--processes (SO_REUSEPORT)' : null;
  if (unsupported !== null) {
    log.warn({ front: 'node' }, `--front native does not serve ${unsupported} yet: using node:http`);
    return nodeDoor;
  }
  const loaded = loadNativeAddon();
  if (loaded.addon === null) {
    log.warn({ front: 'node', reason: loaded.reason }, '--front native: the native front is not built, using node:http');
    return nodeDoor;
  }
  log.info({ front: 'native', addon: loaded.path }, 'native HTTP/1.1 front (experimental)');
  return createNativeFront(opts, dispatcher, loaded.addon, nodeDoor);
}

export async function startRouter(options: RouterOptions = {}): Promise<RunningRouter> {
  const opts = resolveRouterOptions(options);
  const log = opts.logger ?? pino({ level: opts.logLevel });
  const registry = new Registry(opts, log, nanoid(12));
  const dispatcher = new Dispatcher(opts, log, registry.transport);
  registry.setSink(dispatcher);
  const frontDoor = createRouterFront(opts, dispatcher, log);
  // The config is checked before any socket is bound: a bad file stops the start (exit 2 in the CLI).
  const liveConfig: LiveConfig | null =
    opts.configFile === undefined ? null : await startLiveConfig(opts.configFile, log, (table) => (dispatcher.routing = table));

  let bindEndpoint: string;
  let httpUrl: string;
  let admin: RunningAdmin | null = null;
  let accepting = true;
  try {
    bindEndpoint = await registry.start(opts.bind);
    dispatcher.start();
    httpUrl = await frontDoor.listen();
    if (opts.admin) admin = await startAdminServer(opts.admin, routerLiveState({ routerId: opts.id, registry, dispatcher, accepting: () => accepting, websockets: frontDoor.websockets }), log);
  } catch (err) {
    liveConfig?.close();
    dispatcher.stop();
    await registry.close().catch(() => undefined);
    await frontDoor.close().catch(() => undefined);
    throw err;
  }
  log.info({ http: httpUrl, bind: bindEndpoint, admin: admin?.url, routerId: opts.id, epoch: registry.epoch }, 'router listening');

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    accepting = false;
    liveConfig?.close();
    dispatcher.beginClose();
    frontDoor.stopAccepting();
    const idle = await dispatcher.waitIdle(opts.drainTimeoutMs);
    if (!idle) {
      log.warn({ inFlight: dispatcher.inFlight }, 'drain timeout: ending requests still in flight');
      dispatcher.abortAll();
    }
    dispatcher.stop();
    await registry.close();
    await frontDoor.close();
    await admin?.close();
    log.info('router stopped');
  };

  return {
    httpUrl,
    bindEndpoint,
    ...(admin ? { adminUrl: admin.url } : {}),
    close: () => (closing ??= close()),
    reloadConfig: () => liveConfig?.reload('reloadConfig()') ?? Promise.resolve(false),
  };
}
