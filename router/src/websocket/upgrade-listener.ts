/**
 * The front door's 'upgrade' listener (HTTP/1.1, cleartext and TLS). Once a listener exists node
 * emits 'upgrade' for every request with `Connection: upgrade` + `Upgrade`, and its parser has let
 * go of the socket by then:
 *
 * - `Upgrade: websocket` → the WebSocket hub (a WebSocketStream for the dispatcher).
 * - any other token (notably `h2c`, which `curl --http2` sends over cleartext): RFC 9110 §7.8 lets a
 *   server ignore Upgrade. The request head is written again without the upgrade fields and handed
 *   back with the rest of the connection to node's HTTP/1.1 parser, so the request is served
 *   exactly as if it had never asked — bodies of any framing, keep-alive and limits included.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { wantsWebSocket } from './handshake.ts';
import type { WebSocketHub } from './hub.ts';

/** Fields that only mean something for the upgrade the router declines. */
const UPGRADE_FIELDS = new Set(['upgrade', 'http2-settings']);

/** The request head as the client sent it, minus the upgrade request (header bytes are latin1 in node). */
export function headWithoutUpgrade(req: IncomingMessage): Buffer {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (UPGRADE_FIELDS.has(lower)) continue;
    let value = raw[i + 1]!;
    if (lower === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && !UPGRADE_FIELDS.has(t.toLowerCase()))
        .join(', ');
      if (value === '') continue;
    }
    head += `${name}: ${value}\r\n`;
  }
  return Buffer.from(`${head}\r\n`, 'latin1');
}

export type UpgradeListener = (req: IncomingMessage, socket: Socket, early: Buffer) => void;

/**
 * `serveHttp1` gives a socket to node:http's HTTP/1.1 connection handler of the same server;
 * `scheme` is the front door's ('http' → ws, 'https' → wss).
 */
export function createUpgradeListener(hub: WebSocketHub, scheme: 'http' | 'https', serveHttp1: (socket: Socket) => void): UpgradeListener {
  const wsScheme = scheme === 'https' ? 'wss' : 'ws';
  return (req, socket, early) => {
    if (wantsWebSocket(req)) {
      hub.handle(req, socket, early, wsScheme);
      return;
    }
    socket.unshift(early.length > 0 ? Buffer.concat([headWithoutUpgrade(req), early]) : headWithoutUpgrade(req));
    serveHttp1(socket);
  };
}
