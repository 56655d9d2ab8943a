/**
 * The one place the front door's servers are created (front-door.ts listens on and closes them).
 *
 * - Cleartext: one node:http server listens; its 'connection' handler first sniffs the HTTP/2
 *   preface and hands h2c connections to a node:http2 server that never listens itself, and every
 *   other connection to node:http's own connection handler — HTTP/1.1 keeps node's native parser,
 *   timeouts and connection tracking, and pays one peek per connection.
 * - TLS: `http2.createSecureServer({ allowHTTP1: true })`; ALPN picks h2 or http/1.1.
 *
 * Both protocols call the same request listener with node's HTTP/1 objects or the http2
 * compatibility objects (Http2ServerRequest/Response), which offer the same streaming API.
 */
import { readFileSync } from 'node:fs';
import { createServer, Server as HttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createSecureServer,
  createServer as createH2cServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { SessionSet, type SessionCloseReason } from './h2-sessions.ts';
import { sniffProtocol, sniffTls } from './protocol-sniffer.ts';
import { refuseConnect, refusePlainHttp } from './refusals.ts';
import { ROUTER_DEFAULTS } from '../options.ts';

export type { FrontRequest, FrontResponse, RequestListener } from './front-types.ts';
import type { FrontRequest, FrontResponse, RequestListener } from './front-types.ts';

export interface FrontServerConfig {
  /** Largest request head (HTTP/1.1: node's parser answers 431; HTTP/2: the front door does). */
  maxHeaderSize: number;
  /** PEM certificate chain and private key file paths: both for TLS, neither for cleartext. */
  tlsCert?: string;
  tlsKey?: string;
  /**
   * Slowloris bound: HTTP/1.1, the request head must arrive within this (ms) → 408; HTTP/2, the
   * preface and every request's header block (h2-sessions.ts) → the session is closed.
   */
  headerTimeoutMs?: number;
  /** The whole request, head and body, must arrive within this (ms) → 408 (HTTP/2: RST_STREAM); 0 = none. */
  bodyTimeoutMs?: number;
  /** Told when an HTTP/2 session is closed for a slow-client rule (h2-sessions.ts). */
  onSessionClosed?: (reason: SessionCloseReason, counts: Readonly<Record<SessionCloseReason, number>>) => void;
}

/**
 * node:http's own slow-client timeouts (headersTimeout / requestTimeout, answered 408 and the
 * connection closed). Node checks them every connectionsCheckingInterval (30 s by default, far too
 * coarse for a short bound), so the check runs at a quarter of the shortest timeout (≥ 100 ms).
 * Node requires headersTimeout ≤ requestTimeout when the latter is set.
 */
export function slowClientTimeouts(config: FrontServerConfig): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const requestTimeout = config.bodyTimeoutMs ?? ROUTER_DEFAULTS.bodyTimeoutMs;
  let headersTimeout = config.headerTimeoutMs ?? ROUTER_DEFAULTS.headerTimeoutMs;
  if (requestTimeout > 0) headersTimeout = Math.min(headersTimeout, requestTimeout);
  const shortest = requestTimeout > 0 ? Math.min(headersTimeout, requestTimeout) : headersTimeout;
  const connectionsCheckingInterval = Math.min(30_000, Math.max(100, Math.floor(shortest / 4)));
  return { headersTimeout, requestTimeout, connectionsCheckingInterval };
}

/** The TLS files could not be used (missing, unreadable, or only one of the pair given). */
export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

export interface FrontServer {
  /** What the front door listens on: an http.Server (cleartext) or an Http2SecureServer (TLS). */
  readonly server: Server | Http2SecureServer;
  readonly scheme: 'http' | 'https';
  /** Stops accepting connections; idle HTTP/1.1 connections close, HTTP/2 sessions get GOAWAY. */
  stopAccepting(): void;
  /** Destroys every connection and session still open. */
  closeAll(): void;
  /** Hands a socket (its unread bytes first) to node:http's HTTP/1.1 connection handler of this server. */
  serveHttp1(socket: Socket): void;
}

/** HTTP/1.1 keep-alive timeout (node's default for http.Server). */
const H1_KEEP_ALIVE_TIMEOUT_MS = 5_000;

/**
 * h2 settings. The header-list size announced (SETTINGS_MAX_HEADER_LIST_SIZE) is 8× --max-header-size
 * (128 KiB by default) on purpose: a list above --max-header-size and below that ceiling reaches
 * the front door, which answers 431 as HTTP/1.1 does; above the ceiling node resets the stream
 * with ENHANCE_YOUR_CALM (RFC 9113 §10.5.1) without buffering more. Two limits of nghttp2 close
 * the whole session instead (GOAWAY): a header block in more than HEADERS + 8 CONTINUATION frames
 * (~144 KB at the default 16 KB frame size), and a single field over 64 KB (COMPRESSION_ERROR).
 * node's maxSessionMemory (10 MB) bounds what one session's heads may hold together.
 */
export function h2Settings(config: FrontServerConfig): { maxHeaderListSize: number; maxConcurrentStreams: number } {
  return { maxHeaderListSize: Math.max(H2_MIN_HEADER_LIST, H2_HEADER_LIST_FACTOR * config.maxHeaderSize), maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS };
}

/** How far above --max-header-size an h2 header list is still read, to answer it 431. */
const H2_HEADER_LIST_FACTOR = 8;

/**
 * Streams one client may have open at once on a session (node's default is unbounded); nginx's
 * http2_max_concurrent_streams default. More requests from one client queue in the client.
 */
const H2_MAX_CONCURRENT_STREAMS = 128;

/** HTTP/2's own default header-list allowance in nghttp2 (64 KiB). */
const H2_MIN_HEADER_LIST = 65_536;

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsConfigError(`cannot read the TLS ${what} file ${path}: ${(err as Error).message}`);
  }
}

/** The HTTP/2 sessions of one front server, under the same slow-client bounds as HTTP/1.1. */
function sessionSet(config: FrontServerConfig): SessionSet {
  const timeouts = slowClientTimeouts(config);
  return new SessionSet({ headerTimeoutMs: timeouts.headersTimeout, bodyTimeoutMs: timeouts.requestTimeout, onClose: config.onSessionClosed });
}

/**
 * Takes `server`'s own 'connection' listeners out and passes every new connection to `decide`
 * first, with `serve` to hand it to those listeners (documented: a server serves a connection from
 * its 'connection' listener). A connection `decide` has not passed on yet (a client that connected
 * and sent nothing) is in no server's connection list, so closeAll would miss it and close() would
 * wait for its sniff timeout: `destroyUndecided` ends those.
 */
function interceptConnections(
  server: EventEmitter,
  decide: (socket: Socket, serve: (socket: Socket) => void, handedElsewhere: (socket: Socket) => void) => void,
): { serve: (socket: Socket) => void; destroyUndecided(): void } {
  const own = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const undecided = new Set<Socket>();
  const serve = (socket: Socket): void => {
    for (const listener of own) listener.call(server, socket);
  };
  const settle = (socket: Socket): void => {
    undecided.delete(socket);
  };
  server.on('connection', (socket: Socket) => {
    undecided.add(socket);
    socket.once('close', () => settle(socket));
    decide(
      socket,
      (decided) => {
        settle(decided);
        serve(decided);
      },
      settle,
    );
  });
  return {
    serve,
    destroyUndecided(): void {
      for (const socket of undecided) socket.destroy();
      undecided.clear();
    },
  };
}

function createCleartext(config: FrontServerConfig, listener: RequestListener): FrontServer {
  const sessions = sessionSet(config);
  const h1 = createServer(
    {
      maxHeaderSize: config.maxHeaderSize,
      // Slow clients: --header-timeout / --body-timeout (a response may still stream for long:
      // these only bound how long the *request* takes to arrive; --request-timeout bounds the rest).
      ...slowClientTimeouts(config),
    },
    listener,
  );
  const h2c = createH2cServer({ settings: h2Settings(config) }, listener);
  h2c.on('session', (session) => sessions.track(session));
  // CONNECT (HTTP/1.1 and HTTP/2): 405 with a body, not node's silent close / empty 405.
  h1.on('connect', refuseConnect);
  h2c.on('connect', refuseConnect);

  // node:http's own connection handler runs once the sniff decided HTTP/1.1.
  const sniffTimeoutMs = slowClientTimeouts(config).headersTimeout;
  const intercepted = interceptConnections(h1, (socket, serve, handedElsewhere) => {
    sniffProtocol(socket, sniffTimeoutMs, (protocol) => {
      if (protocol === 'h2c') {
        // As on node's own http2 server: a client's FIN ends the connection (node:http's server,
        // which accepted it, allows half-open sockets and handles that itself for HTTP/1.1).
        socket.allowHalfOpen = false;
        handedElsewhere(socket); // its session is tracked (and destroyed by closeAll) from here on
        h2c.emit('connection', socket);
      } else {
        serve(socket);
      }
    });
  });

  return {
    server: h1,
    scheme: 'http',
    stopAccepting(): void {
      h1.close();
      h1.closeIdleConnections();
      sessions.goaway();
    },
    closeAll(): void {
      intercepted.destroyUndecided();
      h1.closeAllConnections();
      sessions.destroyAll();
    },
    serveHttp1: intercepted.serve,
  };
}

function createTls(config: FrontServerConfig, listener: RequestListener): FrontServer {
  const cert = readPem(config.tlsCert!, 'certificate');
  const key = readPem(config.tlsKey!, 'key');
  const sessions = sessionSet(config);
  let server: Http2SecureServer;
  try {
    // The TLS handshake is part of the request head for a slow-client bound (nginx applies
    // client_header_timeout to it too): --header-timeout instead of node's 120 s.
    server = createSecureServer({ cert, key, allowHTTP1: true, settings: h2Settings(config), handshakeTimeout: slowClientTimeouts(config).headersTimeout }, listener);
  } catch (err) {
    throw new TlsConfigError(`cannot use the TLS certificate/key: ${(err as Error).message}`);
  }
  // The HTTP/1.1 fallback runs node:http's connection handler on this server and reads these
  // from it (they are http.Server options that createSecureServer does not take).
  const h1Settings = server as unknown as { maxHeaderSize: number; requestTimeout: number; headersTimeout: number; connectionsCheckingInterval: number; keepAliveTimeout: number };
  h1Settings.maxHeaderSize = config.maxHeaderSize;
  Object.assign(h1Settings, slowClientTimeouts(config));
  h1Settings.keepAliveTimeout = H1_KEEP_ALIVE_TIMEOUT_MS;
  server.on('session', (session) => sessions.track(session));
  server.on('connect', refuseConnect);
  // Plain HTTP on the TLS port gets nginx's 400 instead of a TLS alert: the first byte of the
  // connection tells (tls.Server's own 'connection' listener starts the handshake after it).
  const sniffTimeoutMs = slowClientTimeouts(config).headersTimeout;
  const intercepted = interceptConnections(server, (socket, serve, handedElsewhere) => {
    sniffTls(socket, sniffTimeoutMs, (transport) => {
      if (transport === 'plain') {
        handedElsewhere(socket); // answered 400 and closed by refusePlainHttp
        refusePlainHttp(socket);
      } else {
        serve(socket);
      }
    });
  });
  // node:http's closeAllConnections works on the HTTP/1.1 connections this server tracks.
  const closeAllH1 = (): void => HttpServer.prototype.closeAllConnections.call(server as unknown as Server);

  return {
    server,
    scheme: 'https',
    stopAccepting(): void {
      server.close();
      // Node defines it when allowHTTP1 is set (node:http's, on the tracked HTTP/1.1 connections);
      // @types/node 20 does not declare it.
      (server as unknown as Pick<Server, 'closeIdleConnections'>).closeIdleConnections();
      sessions.goaway();
    },
    closeAll(): void {
      intercepted.destroyUndecided();
      closeAllH1();
      sessions.destroyAll();
    },
    serveHttp1(socket: Socket): void {
      // The TLS connection is already negotiated (ALPN http/1.1): http2's listener passes it on.
      server.emit('secureConnection', socket);
    },
  };
}

export function createFrontServer(config: FrontServerConfig, listener: RequestListener): FrontServer {
  const hasCert = config.tlsCert !== undefined && config.tlsCert !== '';
  const hasKey = config.tlsKey !== undefined && config.tlsKey !== '';
  if (hasCert !== hasKey) throw new TlsConfigError('TLS needs both a certificate (--tls-cert) and a key (--tls-key)');
  return hasCert ? createTls(config, listener) : createCleartext(config, listener);
}
