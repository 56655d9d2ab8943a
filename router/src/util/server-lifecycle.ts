/**
 * Listen / address / close for the router's servers (front door, admin endpoint): node:net's
 * Server API, which node:http, node:http2 and node:tls servers all share.
 */
import type { AddressInfo, ListenOptions, Server } from 'node:net';

/**
 * Listens and resolves with the bound address (the real port when 0 was asked). A bind failure
 * rejects with node's error, whose message names the endpoint ("listen EADDRINUSE: address already
 * in use 127.0.0.1:8080").
 */
export function listenOn(server: Server, options: ListenOptions): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options);
  });
}

/** `scheme://host:port` for a bound address (IPv6 in brackets). */
export function urlOf(scheme: string, address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/**
 * Stops accepting and resolves once every connection has ended (close them first to not wait).
 * A server that never listened or was already closed resolves too.
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
