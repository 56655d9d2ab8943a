/**
 * The admin endpoint's node:http server(s): listen, serve with the given handler, close. Malformed
 * requests get the same JSON 400/408/431 as the front door (http/client-errors.ts).
 */
import { lookup } from 'node:dns/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { answerClientError } from '../http/client-errors.ts';
import { closeServer, listenOn } from '../util/server-lifecycle.ts';

/** How long an idle keep-alive connection stays open (a scraper polls every few seconds). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

function createAdminHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer(handler);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.requestTimeout = 0;
  server.on('clientError', answerClientError);
  return server;
}

/**
 * Listens on `host:port`; for `localhost`, on each of its addresses (127.0.0.1 and ::1) at the same
 * port, so both reach it whichever one a client picks. Resolves with the servers, the first one
 * bound to what `host` resolves to first; an extra address that cannot be bound is skipped.
 */
export async function listenAdmin(listen: { host: string; port: number }, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server[]> {
  const main = createAdminHttpServer(handler);
  const bound = await listenOn(main, { host: listen.host, port: listen.port });
  const servers = [main];
  if (listen.host !== 'localhost') return servers;
  const addresses = await lookup(listen.host, { all: true }).catch(() => []);
  for (const { address } of addresses) {
    if (address === bound.address) continue;
    const extra = createAdminHttpServer(handler);
    try {
      await listenOn(extra, { host: address, port: bound.port });
      servers.push(extra);
    } catch {
      // e.g. no IPv6 on this host: the main address still serves.
    }
  }
  return servers;
}

/** Ends every connection (an open keep-alive must not hold the router's exit) and closes. */
export async function closeAdminServers(servers: readonly Server[]): Promise<void> {
  await Promise.all(
    servers.map((server) => {
      server.closeAllConnections();
      return closeServer(server);
    }),
  );
}
