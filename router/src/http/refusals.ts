/**
 * Answers the front door writes itself, before a request becomes a Stream: CONNECT (405, HTTP/1.1
 * and HTTP/2), an HTTP/1.1 upgrade request with a bad target or Host (400), and plain HTTP sent
 * to the TLS port (400, as nginx). Each has a body saying why, so a client sees more than a
 * silent close.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { nanoid } from 'nanoid';
import { errorBody, RouterErrors, type RouterErrorCode } from '../errors.ts';
import type { FrontRequest, FrontResponse } from './front-types.ts';

/**
 * What a 405 to CONNECT lists in Allow (RFC 9110 §15.5.6 requires the field): every method the
 * router relays. The worker decides per resource; CONNECT is the one the router never serves.
 */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** How long a refused connection may take to read the answer and close before it is destroyed. */
const LINGER_MS = 2000;

/**
 * Writes `response` and half-closes, then reads and discards whatever the client still sends until
 * it closes (closing with unread bytes would make the kernel send RST, and the client could lose
 * the answer), at most LINGER_MS.
 */
function answerAndClose(socket: Socket, response: string): void {
  socket.on('error', () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.setTimeout(LINGER_MS, () => socket.destroy());
  socket.on('end', () => socket.destroy());
  socket.resume();
  socket.end(response);
}

/** Writes an error response on a raw HTTP/1.1 socket node's parser has let go of, then closes it. */
export function refuseOnSocket(socket: Socket, code: RouterErrorCode): void {
  const status = RouterErrors[code].status;
  const body = errorBody(code, nanoid());
  const allow = status === 405 ? `Allow: ${ALLOWED_METHODS}\r\n` : '';
  answerAndClose(
    socket,
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${allow}Connection: close\r\n\r\n${body}`,
  );
}

/** Answers an HTTP/2 CONNECT (node calls the server's 'connect' listener instead of 'request'). */
export function refuseOnResponse(res: FrontResponse, code: RouterErrorCode): void {
  const status = RouterErrors[code].status;
  const body = errorBody(code, nanoid());
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  if (status === 405) headers['allow'] = ALLOWED_METHODS;
  try {
    res.writeHead(status, headers);
    res.end(body);
  } catch {
    res.destroy();
  }
}

/**
 * The server's 'connect' listener. node:http emits (req, socket, head) for an HTTP/1.1 CONNECT
 * (and destroys the socket silently when nobody listens); node:http2 emits (req, res) for an
 * HTTP/2 one (and answers an empty 405 when nobody listens). Both get a 405 with a body.
 */
export function refuseConnect(_req: FrontRequest, second: Socket | FrontResponse): void {
  if ('writeHead' in second) refuseOnResponse(second, 'ZP_ERR_METHOD_NOT_ALLOWED');
  else refuseOnSocket(second, 'ZP_ERR_METHOD_NOT_ALLOWED');
}

/** nginx's answer to plain HTTP on an HTTPS port (status 400, the text nginx uses). */
const PLAIN_HTTP_BODY = 'The plain HTTP request was sent to HTTPS port\n';
const PLAIN_HTTP_RESPONSE =
  `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(PLAIN_HTTP_BODY)}\r\nConnection: close\r\n\r\n${PLAIN_HTTP_BODY}`;

/** Answers a cleartext connection on the TLS port with nginx's 400, then closes it. */
export function refusePlainHttp(socket: Socket): void {
  answerAndClose(socket, PLAIN_HTTP_RESPONSE);
}
