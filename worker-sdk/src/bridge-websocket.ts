/**
 * WebSocket passthrough for the `--forward` bridge: a ws/wss REQ opens a `ws` client to the backend
 * (ws:// for an http target, wss:// for https) with the client's subprotocols and forwarded headers.
 *
 * - Backend accepts (101) → RES 101 with the backend's chosen subprotocol and its set-cookie; then
 *   messages are relayed both ways, whole (each side reassembles fragments), with their op.
 * - Backend answers something else → that HTTP response (status, headers, body) is relayed as is.
 * - Backend unreachable, handshake timeout, bad handshake → RES 502, like the bridge's other errors.
 * - Close codes pass both ways; an abnormal backend end (1006) closes the client with 1011, a reset
 *   stream terminates the backend connection.
 *
 * Back-pressure both ways: router → backend, the next message is taken from the socket (granting
 * the router window) only while the backend connection's send buffer is under the high-water mark;
 * backend → router, the backend socket is paused while more than the high-water mark waits for the
 * router's window. Pings: the router's (the client's) go on to the backend; the backend's make the
 * router ping the client. Pongs are answered where they arise (the router and `ws` auto-pong).
 */
import type { Logger } from 'pino';
import { BAD_GATEWAY_BODY } from './bridge-exchange.ts';
import { isConnectFailure } from './bridge-health.ts';
import { WebSocket, type RawData } from 'ws';
import { backendRequestHeaders, stripHopByHop } from './bridge-headers.ts';
import { offeredProtocols, type Stream } from './stream.ts';
import type { WorkerWebSocket } from './websocket.ts';
import { CLOSE_ABNORMAL, CLOSE_INTERNAL, CLOSE_NO_STATUS, MAX_CONTROL_BODY, type HeaderList } from '../../proto/src/index.ts';

export const WEBSOCKET_BRIDGE_DEFAULTS = {
  /** Time the backend has to complete the opening handshake. */
  handshakeTimeoutMs: 10_000,
  /** Largest message accepted from either side (bytes); larger closes with 1009. */
  maxMessageBytes: 1024 * 1024,
} as const;

/** Bytes waiting in either direction before the sending side is held back. */
export const WS_RELAY_HIGH_WATER_BYTES = 64 * 1024;

export interface WebSocketBridgeContext {
  log: Logger;
  /** Backend base: ws:// or wss:// origin plus the target's path prefix (no trailing slash). */
  base: string;
  handshakeTimeoutMs: number;
  maxMessageBytes: number;
  /** The handshake could not connect to the backend (nothing was sent): the bridge marks it down. */
  connectFailed?(code: string): void;
}

/** Handshake fields the `ws` client writes itself (or that must not reach the backend). */
const HANDSHAKE_FIELDS = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'sec-websocket-accept']);

/** The ws/wss base URL for an http/https bridge target. */
export function webSocketBase(target: URL): string {
  const scheme = target.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${target.host}${target.pathname.replace(/\/+$/, '')}`;
}

/** The client's forwarded headers (origin, cookie, authorization, x-forwarded-*, …) as `ws` takes them. */
function forwardedHeaders(stream: Stream): Record<string, string | string[]> {
  const list = backendRequestHeaders(stream.headerList, stream.authority);
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    if (HANDSHAKE_FIELDS.has(name)) continue;
    const prev = out[name];
    out[name] = prev === undefined ? list[i + 1]! : [...(Array.isArray(prev) ? prev : [prev]), list[i + 1]!];
  }
  return out;
}

function rawToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

function lowerCaseList(raw: readonly string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i < raw.length; i += 2) out.push(raw[i]!.toLowerCase(), raw[i + 1]!);
  return out;
}

/** Relays one WebSocket stream to the backend. Never throws: every failure becomes a status or a close. */
export function bridgeWebSocket(stream: Stream, ctx: WebSocketBridgeContext): void {
  const url = ctx.base + stream.path;
  let backend: WebSocket;
  try {
    backend = new WebSocket(url, offeredProtocols(stream.headers), {
      headers: forwardedHeaders(stream),
      perMessageDeflate: false,
      handshakeTimeout: ctx.handshakeTimeoutMs,
      maxPayload: ctx.maxMessageBytes,
      followRedirects: false,
    });
  } catch (err) {
    // An invalid URL or subprotocol list: nothing was sent to the backend.
    badGateway(stream, ctx, err as Error);
    return;
  }
  let socket: WorkerWebSocket | null = null;
  let setCookies: string[] = [];

  // A reset before the backend answered (client gone, deadline) abandons the handshake.
  stream.onClose((reason) => {
    if (reason && socket === null) backend.terminate();
  });

  backend.on('upgrade', (res) => {
    const cookies = res.headers['set-cookie'];
    setCookies = cookies === undefined ? [] : cookies;
  });

  backend.on('unexpected-response', (req, res) => {
    // The backend refused the WebSocket: its answer is the client's answer.
    const onReset = (): void => void res.destroy();
    stream.onClose((reason) => reason && onReset());
    void (async () => {
      try {
        stream.respond(res.statusCode ?? 502, stripHopByHop(lowerCaseList(res.rawHeaders)));
        for await (const chunk of res) {
          if (stream.closed) break;
          await stream.write(chunk as Buffer);
        }
        if (!stream.closed) await stream.end();
      } catch (err) {
        if (!stream.closed) {
          ctx.log.warn({ requestId: stream.requestId, backend: ctx.base, err: (err as Error).message }, 'backend response failed');
          stream.reset('internal', 'backend response failed');
        }
      } finally {
        req.destroy();
        backend.terminate(); // its 'error' comes after the stream responded: ignored
      }
    })();
  });

  backend.on('error', (err) => {
    if (socket !== null || stream.closed || stream.responded) return; // 'close' follows and handles it
    badGateway(stream, ctx, err);
  });

  backend.on('open', () => {
    if (stream.closed) {
      backend.terminate();
      return;
    }
    try {
      socket = stream.acceptWebSocket({ protocol: backend.protocol, headers: { 'set-cookie': setCookies }, maxMessageBytes: ctx.maxMessageBytes });
    } catch (err) {
      backend.terminate();
      badGateway(stream, ctx, err as Error);
      return;
    }
    relay(stream, socket, backend, ctx);
  });
}

function badGateway(stream: Stream, ctx: WebSocketBridgeContext, err: Error & { code?: string }): void {
  if (stream.closed || stream.responded) return;
  if (isConnectFailure(err.code) && ctx.connectFailed) {
    // No connection, so the backend saw nothing: like an HTTP request (bridge-exchange.ts), RST
    // `refused` lets the router try another worker (a WebSocket REQ is replayable until the 101).
    ctx.log.warn({ requestId: stream.requestId, backend: ctx.base, code: err.code }, 'backend refused the WebSocket connection: request refused for a retry elsewhere');
    ctx.connectFailed(err.code!);
    stream.reset('refused', 'backend not taking connections');
    return;
  }
  ctx.log.warn({ requestId: stream.requestId, backend: ctx.base, code: err.code, err: err.message }, 'backend WebSocket handshake failed');
  stream.respond(502, ['content-type', 'text/plain; charset=utf-8']);
  // No backend address or error detail for the client: the log line above has them.
  stream.end(`${BAD_GATEWAY_BODY} (request ${stream.requestId})\n`).catch(() => {});
}

/** Both directions of an open WebSocket, and the close either way. */
function relay(stream: Stream, socket: WorkerWebSocket, backend: WebSocket, ctx: WebSocketBridgeContext): void {
  // Router → backend: pull a message (granting window) only while the backend keeps up.
  void (async () => {
    for await (const { data, isBinary } of socket) {
      if (backend.readyState !== WebSocket.OPEN) continue; // closing: drain what is left
      const written = new Promise<void>((resolve) => backend.send(data, { binary: isBinary }, () => resolve()));
      if (backend.bufferedAmount > WS_RELAY_HIGH_WATER_BYTES) await written;
    }
  })();
  socket.on('ping', (data: Buffer) => {
    if (backend.readyState === WebSocket.OPEN) backend.ping(data);
  });

  // Backend → router: pause the backend while too much waits for the router's window.
  let waiting = 0;
  backend.on('message', (raw: RawData, isBinary: boolean) => {
    if (socket.readyState !== 'open') return;
    const data = rawToBuffer(raw);
    waiting += data.length;
    socket.send(data, { binary: isBinary }).then(
      () => {
        waiting -= data.length;
        if (backend.isPaused && waiting < WS_RELAY_HIGH_WATER_BYTES) backend.resume();
      },
      () => {}, // the socket closed meanwhile: its 'close' handles the backend
    );
    if (waiting >= WS_RELAY_HIGH_WATER_BYTES) backend.pause();
  });
  backend.on('ping', (data: Buffer) => {
    if (socket.readyState === 'open') socket.ping(data.subarray(0, MAX_CONTROL_BODY));
  });

  backend.on('close', (code: number, reason: Buffer) => {
    if (socket.readyState !== 'open') return;
    if (code === CLOSE_ABNORMAL) {
      ctx.log.warn({ requestId: stream.requestId, backend: ctx.base }, 'backend WebSocket lost');
      socket.close(CLOSE_INTERNAL, 'backend connection lost');
    } else {
      socket.close(code === CLOSE_NO_STATUS ? 1000 : code, reason.toString('utf8'));
    }
  });
  socket.on('close', (code: number, reason: string) => {
    if (code === CLOSE_ABNORMAL) backend.terminate(); // reset or router lost: no handshake to do
    else if (code === CLOSE_NO_STATUS) backend.close();
    else {
      try {
        backend.close(code, reason);
      } catch {
        backend.terminate(); // a code `ws` will not send: end the connection without a handshake
      }
    }
  });
}
