/**
 * The `--forward` HTTP bridge: puts an existing HTTP server behind the router unchanged.
 *
 * Built on the stream API (no WHATWG Request/Response) and undici's dispatch interface (no
 * Readable streams): each request is one `pool.dispatch` with a BridgeExchange relaying the answer
 * (bridge-exchange.ts), headers stay flat lists end to end (bridge-headers.ts). The request body,
 * when there is one, is handed to undici as the stream's own async iterable, so the router is
 * granted window only as fast as the backend takes the bytes; the response is back-pressured by
 * the router's window the same way. Nothing is buffered beyond a bounded amount.
 */
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { BridgeExchange, type ExchangeContext } from './bridge-exchange.ts';
import { backendRequestHeaders } from './bridge-headers.ts';
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
}

export interface Bridge {
  onStream: StreamHandler;
  close(): Promise<void>;
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
  const ctx: ExchangeContext = { log: options.logger, origin: target.origin };
  const wsCtx: WebSocketBridgeContext = {
    log: options.logger,
    base: webSocketBase(target),
    handshakeTimeoutMs: positiveInt('webSocketHandshakeTimeoutMs', options.webSocketHandshakeTimeoutMs ?? WEBSOCKET_BRIDGE_DEFAULTS.handshakeTimeoutMs),
    maxMessageBytes: positiveInt('webSocketMaxMessageBytes', options.webSocketMaxMessageBytes ?? WEBSOCKET_BRIDGE_DEFAULTS.maxMessageBytes),
  };

  const onStream: StreamHandler = (stream) => {
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

  return { onStream, close: () => pool.close() };
}
