/**
 * The HTTP front door (fastify on HTTP/1.1): every request becomes a Stream handed to the dispatcher.
 * Bodies are never parsed or buffered here: the catch-all content-type parser passes the raw
 * payload through and the stream reads it chunk by chunk; the reply is hijacked and written raw
 * (a stream object per reply measured ~2× slower).
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Dispatcher } from '../core/dispatcher.ts';
import { Stream } from '../core/stream.ts';
import type { ResolvedRouterOptions } from '../options.ts';
import { forwardRequestHeaders } from './proxy-headers.ts';
import { createHttpServer } from './server-factory.ts';

export interface FrontDoor {
  readonly app: FastifyInstance;
  readonly server: Server;
  /** Starts listening; resolves with the URL clients use (the real port when 0 was asked). */
  listen(): Promise<string>;
  /** Stops accepting connections; idle keep-alive connections are closed. */
  stopAccepting(): void;
  /** Closes every connection that is left. */
  close(): Promise<void>;
}

/** Whether a request carries a body (RFC 9112 §6.3: Transfer-Encoding or a non-zero Content-Length). */
function hasBody(req: IncomingMessage): boolean {
  const headers = req.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

export function createFrontDoor(options: ResolvedRouterOptions, dispatcher: Dispatcher): FrontDoor {
  const scheme = 'http';

  /** Turns one request into a Stream for the dispatcher; the response is written raw. */
  const proxy = (req: IncomingMessage, res: ServerResponse): void => {
    const remote = req.socket.remoteAddress ?? '';
    const forwarded = forwardRequestHeaders(req.rawHeaders, remote, scheme);
    const head = {
      method: req.method ?? 'GET',
      scheme,
      authority: forwarded.authority,
      path: req.url ?? '/',
      headers: forwarded.headers,
      remote,
      requestId: forwarded.requestId,
    };
    const stream = new Stream(dispatcher, req, res, head, hasBody(req), Date.now());
    const declared = Number(req.headers['content-length']);
    if (declared > options.maxBodySize) {
      stream.fail('ZP_ERR_BODY_TOO_LARGE'); // refused before any byte is read
      return;
    }
    dispatcher.submit(stream);
  };
  const hijackAndProxy = (request: FastifyRequest, reply: FastifyReply): void => {
    reply.hijack();
    proxy(request.raw, reply.raw);
  };

  let server: Server | undefined;
  const app = Fastify({
    serverFactory: (listener) => (server = createHttpServer({ maxHeaderSize: options.maxHeaderSize }, listener)),
    logger: false,
    exposeHeadRoutes: false,
    return503OnClosing: false,
    forceCloseConnections: false,
    // A proxy passes any path through, even one fastify's router cannot decode (e.g. "/%zz"):
    // our single catch-all route has no params or constraints, so routing errors are only that.
    frameworkErrors: (_error, request, reply) => hijackAndProxy(request, reply),
  });

  // Pass every body through unparsed (also bodies without a content-type: fastify asks for '').
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  // Proxy at onRequest, before fastify looks at the body: methods fastify does not know (PROPFIND,
  // PURGE …) reach the 404 context, and content types it finds invalid would get 415 — a proxy
  // passes both to the worker unchanged. The catch-all route is what matches otherwise.
  app.addHook('onRequest', (request, reply, done) => {
    hijackAndProxy(request, reply);
    done(); // fastify stops here: the reply is hijacked
  });
  app.all('*', hijackAndProxy);

  return {
    app,
    get server(): Server {
      return server!;
    },
    async listen(): Promise<string> {
      await app.listen({ host: options.httpHost, port: options.httpPort });
      const address = server!.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    stopAccepting(): void {
      server?.close();
      server?.closeIdleConnections();
    },
    async close(): Promise<void> {
      server?.closeAllConnections();
      await app.close();
    },
  };
}
