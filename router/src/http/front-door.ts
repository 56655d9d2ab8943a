/**
 * The HTTP front door (HTTP/1.1, h2c and TLS with ALPN h2 + http/1.1, on node:http / node:http2):
 * every request becomes a Stream handed to the dispatcher, the same way whatever the protocol; an `Upgrade: websocket` request becomes a WebSocket stream (router/src/websocket).
 * Bodies are never parsed or buffered here: the stream reads the raw request chunk by chunk and
 * writes the response raw (a stream object per reply measured ~2× slower). A proxy has no routes,
 * body parsers or hooks to run: requests go straight from node's server to `proxy` (a framework's
 * per-request Request/Reply, route lookup and hook runner measured ~2-4 µs more router CPU per
 * request, docs/benchmarks.md). Odd methods, content types and URLs ("/%zz", PROPFIND) reach the
 * worker unchanged because nothing on this path interprets them.
 */
import type { Server, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from '../core/dispatcher.ts';
import { Stream } from '../core/stream.ts';
import type { ResolvedRouterOptions } from '../options.ts';
import { createAccessLog } from './access-log.ts';
import { answerClientError } from './client-errors.ts';
import { requestHead } from './proxy-headers.ts';
import { refuseOnSocket } from './refusals.ts';
import { createFrontServer, type FrontRequest, type FrontResponse, type FrontServer } from './server-factory.ts';
import { PerKeyRateLimit } from '../util/rate-limit.ts';
import { closeServer, listenOn, urlOf } from '../util/server-lifecycle.ts';
import { WebSocketHub } from '../websocket/hub.ts';
import { createUpgradeListener } from '../websocket/upgrade-listener.ts';

export interface FrontDoor {
  /** Starts listening; resolves with the URL clients use (the real port when 0 was asked). */
  listen(): Promise<string>;
  /** Stops accepting connections; idle keep-alive connections are closed, HTTP/2 sessions get GOAWAY. */
  stopAccepting(): void;
  /** Closes every connection that is left. */
  close(): Promise<void>;
  /** WebSocket clients and the workers behind them (docs/http.md, "WebSocket"). */
  readonly websockets: WebSocketHub;
  /**
   * Serves a connection accepted elsewhere (the native front hands over Upgrade, CONNECT and h2c
   * connections, their bytes already read put back): the same path as one this server accepted.
   */
  serveConnection(socket: Socket): void;
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
  // HTTP/2 sessions and streams cut for a slow-client rule: one log line per reason per interval, with the running counts.
  const sessionLog = new PerKeyRateLimit(SESSION_LOG_INTERVAL_MS);

  /** Turns one request into a Stream for the dispatcher; the response is written raw. */
  const proxy = (req: FrontRequest, res: FrontResponse): void => {
    const scheme = front.scheme;
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
  const front: FrontServer = createFrontServer(
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
  // Unparsable or too slow HTTP/1.1 requests: 400 / 408 / 431 with a JSON body (client-errors.ts).
  front.server.on('clientError', answerClientError);
  // HTTP/1.1 `Upgrade`: WebSocket to the hub, any other token served as plain HTTP/1.1.
  const upgrade = createUpgradeListener(websockets, front.scheme, (socket) => front.serveHttp1(socket));
  // The same target/Host rules as every request, before the hub or the parser sees it again.
  front.server.on('upgrade', (req: IncomingMessage, socket: Socket, early: Buffer) => {
    const problem = requestHead(req, '', front.scheme).problem;
    if (problem !== null) refuseOnSocket(socket, problem);
    else upgrade(req, socket, early);
  });
  // Both kinds of server (http.Server, Http2SecureServer) are net.Server underneath.
  const server = front.server as Server;

  return {
    websockets,
    serveConnection(socket: Socket): void {
      server.emit('connection', socket);
    },
    async listen(): Promise<string> {
      // With --processes on Node 22.12+ each child binds the port itself with SO_REUSEPORT
      // (cli/router-cluster.ts): `exclusive` keeps cluster from handing the bind to the primary.
      const reuse = options.httpReusePort ? { exclusive: true, reusePort: true } : {};
      const address = await listenOn(server, { host: options.httpHost, port: options.httpPort, ...reuse });
      return urlOf(front.scheme, address);
    },
    stopAccepting(): void {
      front.stopAccepting();
      websockets.goAway(); // clients get close 1001, workers DATA close 1001; the drain waits for both
    },
    async close(): Promise<void> {
      websockets.close();
      front.closeAll();
      await closeServer(server);
    },
  };
}
