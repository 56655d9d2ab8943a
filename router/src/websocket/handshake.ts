/**
 * The client side of the WebSocket opening handshake (RFC 6455 §4.2.1), checked cheaply before the
 * request is queued, and the worker's RES 101 turned into what the router may relay (ws-wire §1–2).
 */
import { validateHeaderName, validateHeaderValue, type IncomingMessage } from 'node:http';

/** Sec-WebSocket-Key: base64 of exactly 16 bytes (22 characters and "=="; the `ws` library checks the same). */
const KEY = /^[+/0-9A-Za-z]{22}==$/;

/** Handshake fields the router consumes itself (it terminates the WebSocket framing). */
const HANDSHAKE_HEADERS = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-accept']);

/** Whether the Upgrade header asks for WebSocket (any other token is ignored, RFC 9110 §7.8). */
export function wantsWebSocket(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined) return false;
  for (const token of upgrade.split(',')) if (token.trim().toLowerCase() === 'websocket') return true;
  return false;
}

/** Why a WebSocket handshake is malformed, or null when it is acceptable. */
export function handshakeProblem(req: IncomingMessage): string | null {
  if (req.method !== 'GET') return `method ${req.method} (a WebSocket handshake is a GET)`;
  if (req.httpVersion !== '1.1') return `HTTP/${req.httpVersion} (a WebSocket handshake is HTTP/1.1)`;
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) return 'Sec-WebSocket-Key is not the base64 of 16 bytes';
  if (req.headers['sec-websocket-version'] !== '13') return 'Sec-WebSocket-Version is not 13';
  if (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0') return 'a WebSocket handshake has no body';
  return null;
}

/** The request headers for the worker without the handshake fields (the rest is as for any request). */
export function withoutHandshakeHeaders(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!HANDSHAKE_HEADERS.has(headers[i]!)) out.push(headers[i]!, headers[i + 1]!);
  return out;
}

/** The subprotocols a client offered (Sec-WebSocket-Protocol, comma separated, possibly repeated). */
export function offeredProtocols(req: IncomingMessage): Set<string> {
  const offered = new Set<string>();
  const value = req.headers['sec-websocket-protocol'];
  if (value === undefined) return offered;
  for (const token of value.split(',')) {
    const t = token.trim();
    if (t !== '') offered.add(t);
  }
  return offered;
}

/** The worker's acceptance, ready for the 101: the chosen subprotocol and the extra header lines. */
export interface Acceptance {
  protocol: string;
  /** "Name: value" lines for the 101 response. */
  lines: string[];
}

/**
 * Checks the headers of a worker's RES 101 (already through forwardResponseHeaders): the chosen
 * subprotocol must be one the client offered; other fields must be valid (they are written raw).
 * Throws an Error naming the problem.
 */
export function acceptance(headers: readonly string[], offered: ReadonlySet<string>): Acceptance {
  let protocol = '';
  const lines: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (name === 'sec-websocket-protocol') {
      if (protocol !== '') throw new Error('more than one sec-websocket-protocol');
      if (!offered.has(value)) throw new Error(`subprotocol "${value}" was not offered by the client`);
      protocol = value;
      continue;
    }
    if (HANDSHAKE_HEADERS.has(name) || name === 'content-length') continue;
    validateHeaderName(name);
    validateHeaderValue(name, value);
    lines.push(`${name}: ${value}`);
  }
  return { protocol, lines };
}
