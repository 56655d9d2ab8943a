/**
 * The one place the HTTP server is created (the seam for h2c sniffing and TLS later: swap this
 * factory, the front door does not change). Node enforces --max-header-size itself (→ 431).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface HttpServerLimits {
  maxHeaderSize: number;
}

export function createHttpServer(limits: HttpServerLimits, listener: RequestListener): Server {
  return createServer(
    {
      maxHeaderSize: limits.maxHeaderSize,
      // Streams may legitimately last long; the router's own --request-timeout bounds them.
      requestTimeout: 0,
    },
    listener,
  );
}
