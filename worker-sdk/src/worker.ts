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

export interface WorkerOptions {
  /** Router endpoint(s), e.g. tcp://127.0.0.1:5555. */
  connect: string | string[];
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
  const endpoints = [...new Set(Array.isArray(options.connect) ? options.connect : [options.connect])];
  if (endpoints.length === 0) throw new RangeError('connect: at least one router endpoint is needed');
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
  const links = new Map<string, RouterLink>();

  const transport = new WorkerTransport(
    id,
    {
      message: (peer, m) => links.get(peer)?.onMessage(m),
      decodeError: (peer, err) => links.get(peer)?.onDecodeError(err),
      beforeFlush: (peer) => links.get(peer)?.beforeFlush(),
    },
    logger,
    options.curve ? curveClientSocketOptions(options.curve) : {},
  );

  for (const endpoint of endpoints) {
    const link = new RouterLink({
      endpoint,
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
    links.set(endpoint, link);
    transport.connect(endpoint);
    link.start();
  }
  logger.info({ workerId: id, routers: endpoints, capacity, pool }, 'worker started');

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const link of links.values()) link.drain();
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

  return { id, ready, close };
}
