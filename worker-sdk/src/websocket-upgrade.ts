/**
 * The fetch-style WebSocket API (Deno's shape): in a fetch handler,
 *
 *   const { socket, response } = upgradeWebSocket(request, { protocol: 'chat' });
 *   socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
 *   return response;
 *
 * Returning `response` makes the adapter (fetch-handler.ts) send RES 101; the socket opens then
 * ('open' fires after the 101 is sent). Returning any other Response refuses the WebSocket: it goes
 * to the client as a normal HTTP response and the socket reports 'close' 1006.
 *
 * The router strips the handshake fields (upgrade, connection, sec-websocket-key, …), so a request is
 * recognised by the stream it came from (REQ scheme ws/wss): the adapter marks the Request with it.
 */
import { WebSocketUpgradeError } from './errors.ts';
import { flattenHeaders, offeredProtocols, type Stream } from './stream.ts';
import { WebSocketImpl, type WebSocketAcceptOptions, type WorkerWebSocket } from './websocket.ts';

const UPGRADE = Symbol('zeroproxy.webSocketUpgrade');

/** One WebSocket request of a fetch handler: its stream and, once upgradeWebSocket ran, its socket. */
export interface UpgradeSlot {
  readonly stream: Stream;
  socket: WebSocketImpl | null;
  options: WebSocketAcceptOptions;
}

type Marked = { [UPGRADE]?: UpgradeSlot };

/** fetch-handler.ts: tags the Request made for a WebSocket stream. */
export function markWebSocketRequest(request: Request, stream: Stream): UpgradeSlot {
  const slot: UpgradeSlot = { stream, socket: null, options: {} };
  Object.defineProperty(request, UPGRADE, { value: slot, enumerable: false });
  return slot;
}

/** True when `request` is a WebSocket handshake the router passed on (use it before upgradeWebSocket). */
export function isWebSocketRequest(request: Request): boolean {
  return (request as Marked)[UPGRADE] !== undefined;
}

/** The upgrade a handler's response stands for, or undefined for an ordinary Response. */
export function upgradeOf(response: Response): UpgradeSlot | undefined {
  return (response as Marked)[UPGRADE];
}

/**
 * Accepts the WebSocket `request` asks for: returns the socket and the 101 response to return from
 * the handler. Throws WebSocketUpgradeError on a request that is not a WebSocket handshake, on a
 * second call, or when `options.protocol` is not one the client offered.
 */
export function upgradeWebSocket(request: Request, options: WebSocketAcceptOptions = {}): { socket: WorkerWebSocket; response: Response } {
  const slot = (request as Marked)[UPGRADE];
  if (!slot) throw new WebSocketUpgradeError('not a WebSocket request: the client did not ask for an upgrade');
  if (slot.socket) throw new WebSocketUpgradeError('upgradeWebSocket() was already called for this request');
  const protocol = options.protocol ?? '';
  if (protocol !== '' && !offeredProtocols(slot.stream.headers).includes(protocol)) {
    throw new WebSocketUpgradeError(`subprotocol "${protocol}" was not offered by the client`);
  }
  const socket = new WebSocketImpl(options);
  slot.socket = socket;
  slot.options = options;
  // The Response constructor refuses status 101, so the status is set on the instance; the adapter
  // never reads this object's head, it sends the 101 from the slot.
  const headers = new Headers();
  const list = flattenHeaders(options.headers);
  for (let i = 0; i < list.length; i += 2) headers.append(list[i]!, list[i + 1]!);
  if (protocol !== '') headers.set('sec-websocket-protocol', protocol);
  const response = new Response(null, { status: 200, headers });
  Object.defineProperty(response, 'status', { value: 101 });
  Object.defineProperty(response, UPGRADE, { value: slot, enumerable: false });
  return { socket, response };
}
