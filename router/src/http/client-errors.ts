/**
 * The answer to a request node:http cannot parse or that arrives too slowly (the servers'
 * 'clientError' event): 400 / 408 / 431 with a small JSON body, then the connection is closed.
 * These are the answers the router gave while fastify owned its servers (fastify's
 * defaultClientErrorHandler), kept byte for byte so clients see no change. Without a listener
 * node would answer the same statuses with no body.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

function answerFor(code: string | undefined): { status: number; message: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, message: 'Client Timeout' };
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, message: 'Exceeded maximum allowed HTTP header size' };
  return { status: 400, message: 'Client Error' };
}

/**
 * The response node:http is writing on this connection, if any (node's own default clientError
 * handling reads the same field: it answers only when no response head has gone out yet).
 */
function responseInProgress(socket: Duplex): { headersSent: boolean } | undefined {
  return (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage ?? undefined;
}

/** A server's 'clientError' listener. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, message } = answerFor(err.code);
  const reason = STATUS_CODES[status]!;
  const body = `{"error":"${reason}","message":"${message}","statusCode":${status}}`;
  // A request whose body turns out malformed after its response went out gets no second response.
  if (socket.writable && responseInProgress(socket)?.headersSent !== true) socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${body.length}\r\nContent-Type: application/json\r\n\r\n${body}`);
  socket.destroy(err);
}
