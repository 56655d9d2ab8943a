/**
 * The HTTP front door (HTTP/1.1, h2c and TLS with ALPN h2 + http/1.1; fastify owns the server's
 * lifecycle): every request becomes a Stream handed to the dispatcher, the same way whatever the
 * protocol; an `Upgrade: websocket` request becomes a WebSocket stream (router/src/websocket).
 * Bodies are never parsed or buffered here: the stream reads the raw request chunk by chunk and
 * writes the response raw (a stream object per reply measured ~2× slower).
 */
import type { AddressInfo, Socket } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyListenOptions } from 'fastify';
import type { Dispatcher } from '../core/dispatcher.ts';
import { Stream } from '../core/stream.ts';
import type { ResolvedRouterOptions } from '../options.ts';
import { createAccessLog } from './access-log.ts';
import { requestHead } from './proxy-headers.ts';
import { refuseOnSocket } from './refusals.ts';
import { createFrontServer, type FrontRequest, type FrontResponse, type FrontServer } from './server-factory.ts';
import { PerKeyRateLimit } from '../util/rate-limit.ts';
import { WebSocketHub } from '../websocket/hub.ts';
import { createUpgradeListener } from '../websocket/upgrade-listener.ts';

export interface FrontDoor {
  readonly app: FastifyInstance;
  /** Starts listening; resolves with the URL clients use (the real port when 0 was asked). */
  listen(): Promise<string>;
  /** Stops accepting connections; idle keep-alive connections are closed, HTTP/2 sessions get GOAWAY. */
  stopAccepting(): void;
  /** Closes every connection that is left. */
  close(): Promise<void>;
  /** WebSocket clients and the workers behind them (docs/http.md, "WebSocket"). */
  readonly websockets: WebSocketHub;
}

/** Whether a request carries a body (RFC 9112 §6.3: Transfer-Encoding or a non-zero Content-Length). */
function hasBody(req: FrontRequest): boolean {
  const headers = req.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  if (length !== undefined) return length !== '0';
  // HTTP/2: a body is whatever DATA frames follow, with or without content-length (RFC 9113 §8.1);
  // there is none when the HEADERS frame ended the stream.
  return 'stream' in req && !req.stream.endAfterHeaders;
}

/**
 * Size of an HTTP/2 header list as RFC 9113 §6.5.2 counts it (name + value + 32 per field).
 * node:http's parser enforces --max-header-size on HTTP/1.1; for HTTP/2 the front door does.
 */
function headerListSize(rawHeaders: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) size += rawHeaders[i]!.length + rawHeaders[i + 1]!.length + 32;
  return size;
}

/** At most one "HTTP/2 slow client cut" line per reason this often. */
const SESSION_LOG_INTERVAL_MS = 10_000;

export function createFrontDoor(options: ResolvedRouterOptions, dispatcher: Dispatcher): FrontDoor {
  const accessLog = createAccessLog(dispatcher.log, options.accessLog);
  const websockets = new WebSocketHub(options, dispatcher, accessLog);
  let front: FrontServer | undefined;
  // HTTP/2 sessions and streams cut for a slow-client rule: one log line per reason per interval, with the running counts.
  const sessionLog = new PerKeyRateLimit(SESSION_LOG_INTERVAL_MS);

  /** Turns one request into a Stream for the dispatcher; the response is written raw. */
  const proxy = (req: FrontRequest, res: FrontResponse): void => {
    const scheme = front!.scheme;
    const remote = req.socket.remoteAddress ?? '';
    const head = requestHead(req, remote, scheme);
    // The HTTP/2 compatibility objects offer everything Stream uses from node:http's (events,
    // pause/resume, write/'drain', writeHead with a flat header list, end, destroy), so Stream
    // relays both the same way.
    const stream = new Stream(dispatcher, req as IncomingMessage, res as ServerResponse, head, hasBody(req), Date.now());
    if (accessLog !== null) accessLog({ req, res }, stream, remote);
    if (head.problem !== null) {
      stream.fail(head.problem); // bad request target or Host: 400 (docs/guarantees.md, "One normalised request target")
      return;
    }
    if (req.httpVersionMajor === 2 && headerListSize(req.rawHeaders) > options.maxHeaderSize) {
      stream.fail('ZP_ERR_HEADERS_TOO_LARGE');
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (declared > options.maxBodySize) {
      stream.fail('ZP_ERR_BODY_TOO_LARGE'); // refused before any byte is read
      return;
    }
    dispatcher.submit(stream);
  };
  const app = Fastify({
    // fastify owns the server's lifecycle (listen, address, close); requests go straight from
    // node:http / node:http2 to `proxy`. A proxy has no routes, body parsers or hooks to run, and
    // skipping fastify's per-request Request/Reply, route lookup and hook runner measured ~2-4 µs
    // less router CPU per request (docs/benchmarks.md). Odd methods, content types and URLs
    // ("/%zz", PROPFIND) reach the worker unchanged because nothing on this path interprets them.
    serverFactory: () => {
      front = createFrontServer(
        {
          maxHeaderSize: options.maxHeaderSize,
          tlsCert: options.tlsCert,
          tlsKey: options.tlsKey,
          headerTimeoutMs: options.headerTimeoutMs,
          bodyTimeoutMs: options.bodyTimeoutMs,
          onSessionClosed: (reason, counts) => {
            if (sessionLog.allow(reason, Date.now())) dispatcher.log.warn({ reason, closedSoFar: { ...counts } }, 'HTTP/2 slow client cut');
          },
        },
        proxy,
      );
      // HTTP/1.1 `Upgrade`: WebSocket to the hub, any other token served as plain HTTP/1.1.
      const served = front;
      const upgrade = createUpgradeListener(websockets, served.scheme, (socket) => served.serveHttp1(socket));
      // The same target/Host rules as every request, before the hub or the parser sees it again.
      served.server.on('upgrade', (req: IncomingMessage, socket: Socket, early: Buffer) => {
        const problem = requestHead(req, '', served.scheme).problem;
        if (problem !== null) refuseOnSocket(socket, problem);
        else upgrade(req, socket, early);
      });
      // fastify only listens on it, asks its address and closes it: net.Server API both kinds have.
      return front.server as Server;
    },
    logger: false,
    return503OnClosing: false,
    forceCloseConnections: false,
  });

  return {
    app,
    websockets,
    async listen(): Promise<string> {
      // (fastify hands these options to net.Server#listen; its typings predate `reusePort`.)
      const reuse = options.httpReusePort ? { exclusive: true, reusePort: true } : {};
      await app.listen({ host: options.httpHost, port: options.httpPort, ...reuse } as FastifyListenOptions);
      const address = front!.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `${front!.scheme}://${host}:${address.port}`;
    },
    stopAccepting(): void {
      front?.stopAccepting();
      websockets.goAway(); // clients get close 1001, workers DATA close 1001; the drain waits for both
    },
    async close(): Promise<void> {
      websockets.close();
      front?.closeAll();
      await app.close();
    },
  };
}
