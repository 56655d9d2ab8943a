/**
 * createWorker: options and defaults, one link per router, each over its own connection (a
 * transport with a fresh routing id, replaced when the link finds it displaced), signals and drain.
 */
import { hostname } from 'node:os';
import { nanoid } from 'nanoid';
import { pino, type Logger } from 'pino';
import { Limits } from '../../proto/src/index.ts';
import { fetchHandlerToStreamHandler, type FetchHandler } from './fetch-handler.ts';
import { RouterLink } from './link.ts';
import type { StreamHandler } from './stream.ts';
import { newRoutingId, WorkerTransport } from './transport.ts';
import { curveClientSocketOptions, type WorkerCurveOptions } from './curve.ts';
import { DEFAULT_RESOLVE_INTERVAL_MS, needsIpv6, parseConnectList, type Resolver } from './discovery.ts';
import { systemResolver } from './discovery-resolver.ts';
import { DnsWatcher } from './discovery-watcher.ts';
import { drainOnSignals } from './drain-on-signals.ts';

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
  /**
   * The stable worker id shown in the router's admin and logs (HELLO.workerId); printable ASCII,
   * unique among the workers of a router. Not the ZeroMQ routing id: that is random per connection.
   */
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
  /** One router: its link (session, streams) and the connection it currently uses. */
  interface Connection {
    readonly endpoint: string;
    link: RouterLink;
    transport: WorkerTransport;
  }
  /** The connection per router endpoint. */
  const byEndpoint = new Map<string, Connection>();
  const socketOptions = { ...(options.curve ? curveClientSocketOptions(options.curve) : {}), ...(needsIpv6(connectList) ? { ipv6: true } : {}) };

  /** A new socket with a fresh routing id, connected to the router; only the current one reaches the link. */
  const openTransport = (conn: Connection): WorkerTransport => {
    const t: WorkerTransport = new WorkerTransport(
      { endpoint: conn.endpoint, peer: conn.link.peer },
      newRoutingId(),
      {
        message: (_peer, m) => {
          if (conn.transport === t) conn.link.onMessage(m);
        },
        decodeError: (_peer, err) => {
          if (conn.transport === t) conn.link.onDecodeError(err);
        },
        beforeFlush: () => {
          if (conn.transport === t) conn.link.beforeFlush();
        },
      },
      logger,
      socketOptions,
    );
    return t;
  };

  const addLink = (endpoint: string): void => {
    const conn = { endpoint } as Connection;
    const link = new RouterLink({
      endpoint,
      workerId: id,
      epoch,
      pool,
      capacity,
      window,
      meta: { runtime: `node/${process.versions.node}`, sdk: 'zeroproxy-worker-sdk', ...options.meta },
      logger,
      send: (peer, m) => conn.transport.enqueue(peer, m),
      touch: (peer) => conn.transport.touch(peer),
      onStream,
      onRegistered: () => resolveReady(),
      reconnect: () => {
        // The router stopped answering on this connection (it no longer reads it, or it went
        // half-open): a new socket, a new routing id, a new HELLO loop. Closing the old one lets
        // the router drop whatever session still hangs on it.
        const old = conn.transport;
        conn.transport = openTransport(conn);
        old.close().catch((err: unknown) => logger.debug({ router: endpoint, err: String(err) }, 'closing a replaced connection failed'));
      },
    });
    conn.link = link;
    conn.transport = openTransport(conn);
    byEndpoint.set(endpoint, conn);
    link.start();
  };
  for (const endpoint of endpoints) addLink(endpoint);
  logger.info({ workerId: id, routers: [...endpoints, ...connectList.dnsTargets.map((t) => t.spec)], capacity, pool }, 'worker started');

  // DNS discovery: the routers wanted are the fixed endpoints plus what the names resolve to now.
  // A router that leaves DNS is retired like close() retires them all: DRAIN, in-flight streams
  // finish (≤ drainTimeoutMs), BYE, disconnect. Its link stays in `byEndpoint` until then so the
  // router's DATA/WINDOW/RST still reach those streams; coming back meanwhile re-adds it after.
  let wanted: ReadonlySet<string> = new Set(endpoints);
  const retiring = new Map<string, Promise<void>>();
  const reconcile = (): void => {
    if (closing) return;
    for (const endpoint of wanted) {
      if (byEndpoint.has(endpoint)) continue;
      logger.info({ router: endpoint, workerId: id }, 'router added');
      addLink(endpoint);
    }
    for (const endpoint of byEndpoint.keys()) if (!wanted.has(endpoint)) retire(endpoint);
  };
  const retire = (endpoint: string): void => {
    const conn = byEndpoint.get(endpoint);
    if (!conn || retiring.has(endpoint)) return;
    const link = conn.link;
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
      await conn.transport.close();
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
      const links = [...byEndpoint.values()].map((c) => c.link);
      for (const link of links) {
        link.drain();
        link.closeWebSockets();
      }
      const inFlight = links.reduce((n, l) => n + l.inFlight, 0);
      logger.info({ workerId: id, inFlight, drainTimeoutMs }, 'worker draining');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)));
      await Promise.race([Promise.all(links.map((l) => l.idle())), deadline]);
      clearTimeout(timer);
      for (const link of links) link.bye('worker shutting down');
      await Promise.all([...byEndpoint.values()].map((c) => c.transport.close()));
      removeSignalHandlers();
      logger.info({ workerId: id }, 'worker closed');
    })();
    return closing;
  };

  const removeSignalHandlers = options.handleSignals ?? true ? drainOnSignals(logger, close) : (): void => {};

  watcher?.start();
  return { id, ready, close };
}
