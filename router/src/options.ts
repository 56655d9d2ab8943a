/**
 * Router options and their defaults. This is the single place defaults live: the CLI shows them in
 * --help and startRouter() fills every option a caller leaves out from here.
 */
import type { Logger } from 'pino';

/** Every option, filled in (what the router's modules see). */
export interface ResolvedRouterOptions {
  /** HTTP listen address. Port 0 asks for an ephemeral port. */
  httpHost: string;
  httpPort: number;
  /**
   * Listen with SO_REUSEPORT, exclusively (not through node:cluster's primary): each `--processes`
   * child binds the port itself and the kernel spreads connections. Set by the cluster, not a flag.
   */
  httpReusePort: boolean;
  /** ZeroMQ endpoint the ROUTER socket binds (tcp://127.0.0.1:* picks a free port). */
  bind: string;
  /** Router id announced in WELCOME. */
  id: string;
  /** Requests that may wait for a worker (per pool); one more gets 503 at once. */
  queueSize: number;
  /** How long a request may wait for a worker before 503 + Retry-After (ms). */
  queueTimeoutMs: number;
  /** Heartbeat interval announced to workers; a worker silent for 3 intervals is dead (ms). */
  heartbeatMs: number;
  /** Deadline for a whole request, 0 = none (ms) → 504. */
  requestTimeoutMs: number;
  /** How many times a request may be retried on another worker after a worker failure. */
  retries: number;
  /** Request body bytes kept so the request can be replayed on another worker. */
  replayLimit: number;
  /** Initial response-body window granted to workers per stream (bytes). */
  window: number;
  /** Largest request body accepted (bytes) → 413. */
  maxBodySize: number;
  /** Largest request head accepted (bytes) → 431. */
  maxHeaderSize: number;
  /** How long SIGTERM/close() waits for in-flight requests (ms). */
  drainTimeoutMs: number;
  /** pino level for the default logger. */
  logLevel: string;
  /** Logger to use instead of a new pino logger on stdout. */
  logger?: Logger;
  /** Admin endpoint address (/metrics, /workers, /stats, /healthz, /readyz, dashboard); off when absent. Port 0: ephemeral. */
  admin?: { host: string; port: number; /** Bearer token for the data routes (admin/access.ts). */ token?: string; /** Extra Host names answered (admin/access.ts). */ allowedHosts?: readonly string[] };
  /** One "access" log line per request at info level (nginx's access_log; on by default). */
  accessLog: boolean;
  /** TLS: PEM certificate chain file; with tlsKey the front door speaks HTTPS (ALPN h2 + http/1.1). */
  tlsCert?: string;
  /** TLS: PEM private key file. */
  tlsKey?: string;
  /** Slowloris bound: the whole request head must arrive within this (ms) → 408. */
  headerTimeoutMs: number;
  /** The whole request (head and body) must arrive within this (ms) → 408; 0 = none. */
  bodyTimeoutMs: number;
  /** Retries may be at most this percent of recent requests (plus a small reserve); beyond → 502. */
  retryBudgetPercent: number;
  /** Most streams in flight on one worker, whatever credit it announces. */
  maxWorkerStreams: number;
  /** Most workers registered at once; a HELLO beyond gets ERROR overloaded (bounds every per-worker table). */
  maxWorkers: number;
  /** Registering HELLOs one connection may send per heartbeat interval; more get ERROR protocol (repeats are free). */
  maxHellos: number;
  /** libzmq ZMQ_MAXMSGSIZE: a peer sending a larger frame is disconnected before it is buffered (bytes). */
  maxMessageSize: number;
  /** CURVE: the router's Z85 secret key; when set, workers must use CURVE and be on the allowlist. */
  curveSecretKey?: string;
  /** CURVE: file (one public key a line) or directory (`*.pub`) of allowed worker keys; re-read on SIGHUP. */
  allowWorkers?: string;
  /** Routing config file (YAML or JSON): routes → plugin chains → pools; reloaded on change and SIGHUP. */
  configFile?: string;
  /** Largest WebSocket message a client may send (bytes); larger → close 1009. */
  wsMaxMessage: number;
  /** The router pings each WebSocket client this often and drops one silent for a whole interval (ms); 0 = off. */
  wsPingIntervalMs: number;
  /**
   * Which HTTP/1.1 front terminates cleartext connections: `node` (node:http, the default) or
   * `native` (experimental: the C addon in native/, issue 13's spike; falls back to node:http,
   * logged once, when it is not built or with TLS / --processes).
   */
  front: 'node' | 'native';
}

/** What callers of startRouter() pass: any subset; the rest comes from ROUTER_DEFAULTS. */
export type RouterOptions = Partial<ResolvedRouterOptions>;

export const ROUTER_DEFAULTS: Readonly<Omit<ResolvedRouterOptions, 'logger'>> = Object.freeze({
  httpHost: '0.0.0.0',
  httpPort: 8080,
  httpReusePort: false,
  bind: 'tcp://127.0.0.1:5555',
  id: 'router',
  queueSize: 1024,
  queueTimeoutMs: 5000,
  heartbeatMs: 2500,
  requestTimeoutMs: 60000,
  retries: 2,
  replayLimit: 65536,
  window: 262144,
  maxBodySize: 104857600,
  maxHeaderSize: 16384,
  drainTimeoutMs: 30000,
  logLevel: 'info',
  accessLog: true,
  headerTimeoutMs: 30000,
  bodyTimeoutMs: 300000,
  retryBudgetPercent: 20,
  maxWorkerStreams: 1024,
  maxWorkers: 4096,
  maxHellos: 8,
  maxMessageSize: 1024 * 1024 + 64 * 1024,
  wsMaxMessage: 1024 * 1024,
  wsPingIntervalMs: 30000,
  front: 'node',
});

/** Fills what the caller left out from ROUTER_DEFAULTS. */
export function resolveRouterOptions(options: RouterOptions): ResolvedRouterOptions {
  const resolved: ResolvedRouterOptions = { ...ROUTER_DEFAULTS };
  for (const [key, value] of Object.entries(options) as [keyof ResolvedRouterOptions, unknown][]) {
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  return resolved;
}

/** Largest body frame the router sends a worker (SPEC §2: 256 KiB router → worker). */
export const ROUTER_TO_WORKER_MAX_FRAME = 256 * 1024;
/** Largest body frame the router accepts from a worker, announced in WELCOME. */
export const WORKER_TO_ROUTER_MAX_FRAME = 1024 * 1024;
/** Per-batch caps: libzmq checks maxMessageSize per frame, so batches need their own limits. */
export const BATCH_MAX_PAIRS = 256;
/**
 * A batch for a worker is sent as soon as it holds this many pairs, not only at the end of the
 * event-loop turn. With one batch per turn the router and the worker took turns (the router read
 * and parsed ~all in-flight requests while the worker idled, then the reverse): measured on 2 cores,
 * 1 KB GET at c=50, flushing at 8 pairs gave +20–30 % req/s over per-turn batches; 2 was worse
 * (too many ZeroMQ messages), 4–16 about the same.
 */
export const BATCH_EAGER_PAIRS = 8;
export const BATCH_MAX_BYTES = 1024 * 1024;
