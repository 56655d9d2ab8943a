/**
 * The front door's WebSocket side: turns an HTTP/1.1 `Upgrade: websocket` request into a
 * WebSocketStream for the dispatcher (with a ServerResponse bound to the raw socket, so every
 * answer before the 101 is written by Stream's code), completes the handshake with the `ws`
 * library when the worker accepts, keeps the open sockets for the pinger and for shutdown.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import type { Dispatcher } from '../core/dispatcher.ts';
import { requestHead } from '../http/proxy-headers.ts';
import type { AccessLog } from '../http/access-log.ts';
import type { ResolvedRouterOptions } from '../options.ts';
import { handshakeProblem, withoutHandshakeHeaders, type Acceptance } from './handshake.ts';
import { CLOSE_TIMEOUT_MS, WebSocketStream, type WebSocketHost } from './ws-stream.ts';
import { WebSocketPinger } from './pinger.ts';

/** Per-handshake answers the `ws` library asks for while completing it (synchronously). */
interface PendingHandshake {
  accepted: Acceptance;
}

export interface WebSocketCounters {
  /** Open WebSockets (after the 101). */
  readonly open: number;
  /** Messages relayed: from clients (in) and to them (out). */
  readonly messagesIn: number;
  readonly messagesOut: number;
}

export class WebSocketHub implements WebSocketHost, WebSocketCounters {
  private readonly wss: WebSocketServer;
  /** Streams after their 101, until they end. */
  private readonly sockets = new Set<WebSocketStream>();
  /** Client connections still open (a stream may end while its client's close handshake runs). */
  private readonly clients = new Set<WebSocket>();
  private readonly pending = new WeakMap<IncomingMessage, PendingHandshake>();
  private readonly pinger: WebSocketPinger;
  messagesIn = 0;
  messagesOut = 0;

  constructor(
    private readonly options: ResolvedRouterOptions,
    private readonly dispatcher: Dispatcher,
    private readonly accessLog: AccessLog | null,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: options.wsMaxMessage,
      perMessageDeflate: false,
      // ws 8.18+: bounds the close handshake (its default is 30 s).
      closeTimeout: CLOSE_TIMEOUT_MS,
      handleProtocols: (_offered: Set<string>, req: IncomingMessage) => this.pending.get(req)?.accepted.protocol || false,
    } as ServerOptions);
    this.wss.on('headers', (lines: string[], req: IncomingMessage) => {
      const handshake = this.pending.get(req);
      if (handshake !== undefined) lines.push(...handshake.accepted.lines);
    });
    this.pinger = new WebSocketPinger(options.wsPingIntervalMs, this.sockets);
  }

  get open(): number {
    return this.sockets.size;
  }

  /** An `Upgrade: websocket` request from the front door (cleartext or TLS HTTP/1.1). */
  handle(req: IncomingMessage, socket: Socket, early: Buffer, scheme: 'ws' | 'wss'): void {
    socket.on('error', () => socket.destroy()); // a reset client: 'close' follows, the stream ends there
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false; // the parser let go of the socket: it serves this one exchange
    res.assignSocket(socket);
    res.on('finish', () => socket.destroySoon());
    // node:http's server forwards 'drain' to the response it is writing; here nobody else does.
    socket.on('drain', () => {
      if (res.socket === socket) res.emit('drain');
    });
    const remote = socket.remoteAddress ?? '';
    // X-Forwarded-Proto / Forwarded keep the HTTP scheme (as nginx's $scheme): backends compare it to "https".
    const head = requestHead(req, remote, scheme, scheme === 'wss' ? 'https' : 'http');
    head.headers = withoutHandshakeHeaders(head.headers);
    const stream = new WebSocketStream(this.dispatcher, this, req, socket, res, head, early, Date.now());
    if (this.accessLog !== null) {
      const view = {
        get statusCode(): number {
          return res.statusCode;
        },
        get headersSent(): boolean {
          return stream.upgraded || res.headersSent;
        },
        once(_event: 'close', listener: () => void): void {
          stream.whenEnded(listener);
        },
      };
      this.accessLog({ req, res: view }, stream, remote);
    }
    const problem = handshakeProblem(req);
    if (problem !== null) {
      this.dispatcher.log.debug({ requestId: head.requestId, problem }, 'invalid WebSocket handshake');
      stream.fail('ZP_ERR_BAD_REQUEST');
      return;
    }
    this.dispatcher.submit(stream);
  }

  // ── WebSocketHost ────────────────────────────────────────────────────────────────────────────

  upgrade(stream: WebSocketStream, head: Buffer, accepted: Acceptance, opened: (ws: WebSocket) => void): void {
    const req = stream.req;
    this.pending.set(req, { accepted });
    try {
      // Synchronous here (no verifyClient): handleProtocols and 'headers' read `pending` now.
      this.wss.handleUpgrade(req, stream.socket, head, (ws) => {
        this.sockets.add(stream);
        this.clients.add(ws);
        ws.once('close', () => this.clients.delete(ws));
        this.pinger.start();
        opened(ws);
      });
    } finally {
      this.pending.delete(req);
    }
  }

  ended(stream: WebSocketStream): void {
    this.sockets.delete(stream);
    if (this.sockets.size === 0) this.pinger.stop();
  }

  message(direction: 'in' | 'out'): void {
    if (direction === 'in') this.messagesIn++;
    else this.messagesOut++;
  }

  /** Router shutdown: every client gets close 1001 and every worker DATA close 1001. */
  goAway(): void {
    for (const stream of [...this.sockets]) stream.goAway();
  }

  /** Drops whatever is still open (after the drain). */
  close(): void {
    this.pinger.stop();
    for (const stream of [...this.sockets]) stream.abort();
    for (const ws of [...this.clients]) ws.terminate();
    this.wss.close();
  }
}
