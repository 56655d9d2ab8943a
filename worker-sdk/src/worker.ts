/**
 * createWorker: options and defaults, one transport, one link per router, signals and drain.
 */
import { hostname } from 'node:os';
import { nanoid } from 'nanoid';
import { pino, type Logger } from 'pino';
import { Limits } from '../../proto/src/index.ts';
import { fetchHandlerToStreamHandler, type FetchHandler } from './fetch-handler.ts';
import { RouterLink } from './link.ts';
import type { StreamHandler } from './stream.ts';
import { WorkerTransport } from './transport.ts';
import { curveClientSocketOptions, type WorkerCurveOptions } from './curve.ts';
import { DEFAULT_RESOLVE_INTERVAL_MS, needsIpv6, parseConnectList, type Resolver } from './discovery.ts';
import { systemResolver } from './discovery-resolver.ts';
import { DnsWatcher } from './discovery-watcher.ts';

export interface WorkerOptions {
  /**
   * Router endpoint(s), e.g. tcp://127.0.0.1:5555, or dns:<name>:<port>: every A/AAAA record of
   * <name> is a router (re-resolved every resolveIntervalMs; routers that vanish are drained and dropped).
   */
  connect: string | string[];
  /** How dns: names are resolved (default: the system resolver, A and AAAA). */
  resolve?: Resolver;
  /** Time between two resolutions of a dns: name (default 5000). */
  resolveIntervalMs?: number;
  /** Fetch-style handler (one of handler / onStream). */
  handler?: FetchHandler;
  /** Low-level stream handler (one of handler / onStream). */
  onStream?: StreamHandler;
  /** Concurrent streams accepted per router (initial credit). */
  capacity?: number;
  pool?: string;
  /** Routing id; printable ASCII, unique per process. */
  id?: string;
  /** Request-body window granted per stream (bytes). */
  window?: number;
  meta?: Record<string, string>;
  /** How long close() lets in-flight streams finish before resetting them. */
  drainTimeoutMs?: number;
  /** SIGTERM/SIGINT → drain, BYE, exit 0. */
  handleSignals?: boolean;
  logger?: Logger;
  /** CURVE: connect as a CURVE client with this keypair (secret) to routers with this public key. */
  curve?: WorkerCurveOptions;
}

export interface Worker {
  readonly id: string;
  /** Resolves on the first WELCOME from any router. */
  readonly ready: Promise<void>;
  /** DRAIN, finish in-flight (≤ drainTimeoutMs, then RST), BYE, close the socket. */
  close(): Promise<void>;
}

export const WORKER_DEFAULTS = {
  capacity: 64,
  pool: 'default',
  window: 262144,
  drainTimeoutMs: 30000,
} as const;

const PRINTABLE_ID = /^[\x21-\x7e]{1,255}$/;

export function defaultWorkerId(): string {
  return `${hostname()}/${process.pid}/${nanoid(8)}`;
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer ${min}..${max}, got ${v}`);
  return v;
}

export function createWorker(options: WorkerOptions): Worker {
  const connectList = parseConnectList(Array.isArray(options.connect) ? options.connect : [options.connect]);
  const endpoints = connectList.endpoints;
  if (endpoints.length === 0 && connectList.dnsTargets.length === 0) throw new RangeError('connect: at least one router endpoint is needed');
  const resolveIntervalMs = checkInt('resolveIntervalMs', options.resolveIntervalMs ?? DEFAULT_RESOLVE_INTERVAL_MS, 10, 2 ** 31 - 1);
  if (!options.handler === !options.onStream) throw new TypeError('give exactly one of handler / onStream');
  const id = options.id ?? defaultWorkerId();
  if (!PRINTABLE_ID.test(id)) throw new RangeError('id must be 1..255 printable ASCII characters without spaces');
  const capacity = checkInt('capacity', options.capacity ?? WORKER_DEFAULTS.capacity, 1, 1_000_000);
  const window = checkInt('window', options.window ?? WORKER_DEFAULTS.window, 1024, Limits.maxWindow);
  const drainTimeoutMs = checkInt('drainTimeoutMs', options.drainTimeoutMs ?? WORKER_DEFAULTS.drainTimeoutMs, 0, 2 ** 31 - 1);
  const pool = options.pool ?? WORKER_DEFAULTS.pool;
  if (pool.length < 1 || pool.length > Limits.maxIdLength) throw new RangeError('pool must be 1..255 characters');
  const logger = options.logger ?? pino({ level: 'info' });
  const epoch = nanoid(12);
  const onStream = options.onStream ?? fetchHandlerToStreamHandler(options.handler!, id, logger);

  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  /** Links by socket-local peer name (what the transport reports); byEndpoint: the current link per router. */
  const links = new Map<string, RouterLink>();
  const byEndpoint = new Map<string, RouterLink>();
  let dynamicLinks = 0;

  const transport = new WorkerTransport(
    id,
    {
      message: (peer, m) => links.get(peer)?.onMessage(m),
      decodeError: (peer, err) => links.get(peer)?.onDecodeError(err),
      beforeFlush: (peer) => links.get(peer)?.beforeFlush(),
    },
    logger,
    { ...(options.curve ? curveClientSocketOptions(options.curve) : {}), ...(needsIpv6(connectList) ? { ipv6: true } : {}) },
  );

  const addLink = (endpoint: string, discovered = false): void => {
    // A discovered router gets a fresh peer name per connection: it may leave DNS and come back,
    // and libzmq aborts the process when a connect reuses a routing id whose old pipe lingers.
    const peer = discovered ? `${endpoint}#${++dynamicLinks}` : endpoint;
    const link = new RouterLink({
      endpoint,
      peer,
      workerId: id,
      epoch,
      pool,
      capacity,
      window,
      meta: { runtime: `node/${process.versions.node}`, sdk: 'zeroproxy-worker-sdk', ...options.meta },
      logger,
      send: (peer, m) => transport.enqueue(peer, m),
      touch: (peer) => transport.touch(peer),
      onStream,
      onRegistered: () => resolveReady(),
    });
    links.set(peer, link);
    byEndpoint.set(endpoint, link);
    transport.connect(endpoint, peer);
    link.start();
  };
  for (const endpoint of endpoints) addLink(endpoint);
  logger.info({ workerId: id, routers: [...endpoints, ...connectList.dnsTargets.map((t) => t.spec)], capacity, pool }, 'worker started');

  // DNS discovery: the routers wanted are the fixed endpoints plus what the names resolve to now.
  // A router that leaves DNS is retired like close() retires them all: DRAIN, in-flight streams
  // finish (≤ drainTimeoutMs), BYE, disconnect. Its link stays in `links` until then so the
  // router's DATA/WINDOW/RST still reach those streams; coming back meanwhile re-adds it after.
  let wanted: ReadonlySet<string> = new Set(endpoints);
  const retiring = new Map<string, Promise<void>>();
  const reconcile = (): void => {
    if (closing) return;
    for (const endpoint of wanted) {
      if (byEndpoint.has(endpoint)) continue;
      logger.info({ router: endpoint, workerId: id }, 'router added');
      addLink(endpoint, true);
    }
    for (const endpoint of byEndpoint.keys()) if (!wanted.has(endpoint)) retire(endpoint);
  };
  const retire = (endpoint: string): void => {
    const link = byEndpoint.get(endpoint);
    if (!link || retiring.has(endpoint)) return;
    logger.info({ router: endpoint, workerId: id, inFlight: link.inFlight }, 'router removed');
    const done = (async () => {
      link.drain();
      link.closeWebSockets();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)));
      await Promise.race([link.idle(), deadline]);
      clearTimeout(timer);
      if (closing) return; // close() says BYE to every link itself
      link.bye('router left DNS');
      await transport.disconnect(endpoint, link.peer);
      links.delete(link.peer);
      byEndpoint.delete(endpoint);
    })()
      .catch((err: unknown) => logger.error({ router: endpoint, err: String(err) }, 'retiring a router failed'))
      .finally(() => {
        retiring.delete(endpoint);
        reconcile();
      });
    retiring.set(endpoint, done);
  };
  const watcher =
    connectList.dnsTargets.length === 0
      ? undefined
      : new DnsWatcher({
          targets: connectList.dnsTargets,
          resolve: options.resolve ?? systemResolver,
          intervalMs: resolveIntervalMs,
          logger,
          onChange: (discovered) => {
            wanted = new Set([...endpoints, ...discovered]);
            reconcile();
          },
        });

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      watcher?.stop();
      for (const link of links.values()) {
        link.drain();
        link.closeWebSockets();
      }
      const inFlight = [...links.values()].reduce((n, l) => n + l.inFlight, 0);
      logger.info({ workerId: id, inFlight, drainTimeoutMs }, 'worker draining');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)));
      await Promise.race([Promise.all([...links.values()].map((l) => l.idle())), deadline]);
      clearTimeout(timer);
      for (const link of links.values()) link.bye('worker shutting down');
      await transport.close();
      removeSignalHandlers();
      logger.info({ workerId: id }, 'worker closed');
    })();
    return closing;
  };

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
  const removeSignalHandlers = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  if (options.handleSignals ?? true) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  watcher?.start();
  return { id, ready, close };
}
