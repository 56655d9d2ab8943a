/**
 * The `--forward` HTTP bridge: puts an existing HTTP server behind the router unchanged.
 *
 * Built on the stream API (no WHATWG Request/Response) and undici's dispatch interface (no
 * Readable streams): each request is one `pool.dispatch` with a BridgeExchange relaying the answer
 * (bridge-exchange.ts), headers stay flat lists end to end (bridge-headers.ts). The request body,
 * when there is one, is handed to undici as the stream's own async iterable, so the router is
 * granted window only as fast as the backend takes the bytes; the response is back-pressured by
 * the router's window the same way. Nothing is buffered beyond a bounded amount.
 *
 * Trust boundaries (issue 11): a path that would climb out of the target's path prefix is refused
 * with 400 (bridge-path.ts); a request that could not even connect to the backend is answered RST
 * `refused` — the application never saw it, so the router retries it on another worker whatever its
 * method — and marks the backend down (bridge-health.ts), which makes a bridge worker leave the pool
 * until a probe connects again (bridge-worker.ts). Client-facing error bodies never name the backend.
 */
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { BridgeExchange, type ExchangeContext } from './bridge-exchange.ts';
import { backendRequestHeaders } from './bridge-headers.ts';
import { BackendHealth } from './bridge-health.ts';
import { PATH_REFUSED_BODY, staysInsidePrefix } from './bridge-path.ts';
import { bridgeWebSocket, webSocketBase, WEBSOCKET_BRIDGE_DEFAULTS, type WebSocketBridgeContext } from './bridge-websocket.ts';
import type { StreamHandler } from './stream.ts';

export { stripHopByHop } from './bridge-headers.ts';

export interface BridgeOptions {
  /** Backend base URL (http or https); a path prefix is prepended to every request path. */
  target: URL | string;
  /** Pool connections (normally the worker's capacity: one per stream in flight, no queueing). */
  connections: number;
  logger: Logger;
  /** Time to wait for the backend's response headers (ms). */
  headersTimeoutMs?: number;
  /** WebSocket requests (scheme ws/wss): time the backend has for its opening handshake (default 10 s). */
  webSocketHandshakeTimeoutMs?: number;
  /** WebSocket requests: largest message either way, in bytes (default 1 MiB; larger → close 1009). */
  webSocketMaxMessageBytes?: number;
  /** Backend probing while it refuses connections: first wait (default 250 ms), doubling up to probeMaxMs. */
  probeMinMs?: number;
  /** Longest wait between two probes of a down backend (default 5000 ms). */
  probeMaxMs?: number;
}

export interface Bridge {
  onStream: StreamHandler;
  /** Whether the backend takes connections; bridge-worker.ts leaves/rejoins the pool on its changes. */
  readonly health: BackendHealth;
  close(): Promise<void>;
}

/** Refused paths are logged at most this often (a client can send them at any rate). */
const PATH_LOG_INTERVAL_MS = 1000;

/** host and port to probe for a target URL (URL.hostname keeps an IPv6 literal's brackets). */
function probeAddress(target: URL): { host: string; port: number } {
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = target.port !== '' ? Number(target.port) : target.protocol === 'https:' ? 443 : 80;
  return { host, port };
}

const DEFAULT_HEADERS_TIMEOUT_MS = 300_000;

/**
 * undici takes any async iterable as a request body at runtime (core/request.js `isIterable`,
 * written by client-h1 `writeIterable`, which waits for the socket's drain) though its types only
 * list Readable: handing it the stream's iterable directly saves a Readable per request with a body.
 */
function iterableBody(body: AsyncIterable<Buffer>): Readable {
  return body as unknown as Readable;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) throw new RangeError(`${name} must be an integer 1..2^31-1, got ${v}`);
  return v;
}

export function createBridge(options: BridgeOptions): Bridge {
  const target = typeof options.target === 'string' ? new URL(options.target) : options.target;
  const prefix = target.pathname.replace(/\/+$/, '');
  const pool = new Pool(target.origin, {
    connections: options.connections,
    headersTimeout: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    // Streamed responses (SSE) may be idle for long; the router's request deadline bounds them.
    bodyTimeout: 0,
  });
  const health = new BackendHealth({
    ...probeAddress(target),
    log: options.logger,
    ...(options.probeMinMs !== undefined ? { probeMinMs: positiveInt('probeMinMs', options.probeMinMs) } : {}),
    ...(options.probeMaxMs !== undefined ? { probeMaxMs: positiveInt('probeMaxMs', options.probeMaxMs) } : {}),
  });
  const ctx: ExchangeContext = { log: options.logger, origin: target.origin, connectFailed: (code) => health.markDown(code) };
  let lastPathLog = 0;
  const refusePath = (stream: Parameters<StreamHandler>[0]): void => {
    const now = Date.now();
    if (now - lastPathLog >= PATH_LOG_INTERVAL_MS) {
      lastPathLog = now;
      options.logger.warn({ requestId: stream.requestId, path: stream.path.slice(0, 200), prefix }, 'request path leaves the forwarded prefix: 400');
    }
    stream.respond(400, ['content-type', 'text/plain; charset=utf-8']);
    stream.end(PATH_REFUSED_BODY).catch(() => {});
  };
  const wsCtx: WebSocketBridgeContext = {
    log: options.logger,
    base: webSocketBase(target),
    handshakeTimeoutMs: positiveInt('webSocketHandshakeTimeoutMs', options.webSocketHandshakeTimeoutMs ?? WEBSOCKET_BRIDGE_DEFAULTS.handshakeTimeoutMs),
    maxMessageBytes: positiveInt('webSocketMaxMessageBytes', options.webSocketMaxMessageBytes ?? WEBSOCKET_BRIDGE_DEFAULTS.maxMessageBytes),
    connectFailed: ctx.connectFailed,
  };

  const onStream: StreamHandler = (stream) => {
    // The joined path must stay under the prefix, whatever sent the REQ (defence in depth).
    if (!staysInsidePrefix(stream.path)) return refusePath(stream);
    // A REQ that crossed our leaving the pool: not sent anywhere, so the router may retry it elsewhere.
    if (!health.up) return stream.reset('refused', 'backend not taking connections');
    // A WebSocket handshake (REQ scheme ws/wss) is relayed by a `ws` client, not undici.
    if (stream.isWebSocket) return bridgeWebSocket(stream, wsCtx);
    // A body is forwarded whatever the method (a GET with a body keeps it, as nginx does); a bodyless
    // request sends none, so undici writes the head alone.
    // A dispatch error (e.g. a header undici refuses) reaches exchange.onError: 502, no throw.
    // The pool's queue needs no limit of its own: the worker's credit bounds the streams in flight.
    pool.dispatch(
      {
        path: prefix + stream.path,
        method: stream.method,
        headers: backendRequestHeaders(stream.headerList, stream.authority),
        body: stream.bodyless ? null : iterableBody(stream.body),
      },
      new BridgeExchange(stream, ctx),
    );
  };

  return {
    onStream,
    health,
    close: () => {
      health.close();
      return pool.close();
    },
  };
}
