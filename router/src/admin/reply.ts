/**
 * What an admin route answers, and how it is written: the headers a route gives (in its order),
 * then `cache-control: no-store` and `x-content-type-options: nosniff` on every answer (live
 * numbers: never cached by a browser or an intermediary), then content-length. A HEAD request gets
 * the same head without the body (node:http drops it).
 */
import type { ServerResponse } from 'node:http';

export interface AdminReply {
  status: number;
  /** In the order they are written (content-type among them). */
  headers: Record<string, string>;
  body: string;
}

export function jsonReply(status: number, value: unknown): AdminReply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(value) };
}

export function textReply(status: number, contentType: string, body: string, headers: Record<string, string> = {}): AdminReply {
  return { status, headers: { 'content-type': contentType, ...headers }, body };
}

/** The JSON error bodies admin clients have always seen (fastify's shapes, kept when it went). */
export function notFoundReply(method: string, url: string): AdminReply {
  return jsonReply(404, { message: `Route ${method}:${url} not found`, error: 'Not Found', statusCode: 404 });
}

export function internalErrorReply(err: Error & { code?: string }): AdminReply {
  return jsonReply(500, { statusCode: 500, ...(err.code !== undefined ? { code: err.code } : {}), error: 'Internal Server Error', message: err.message });
}

export function sendReply(res: ServerResponse, reply: AdminReply): void {
  res.writeHead(reply.status, {
    ...reply.headers,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-length': String(Buffer.byteLength(reply.body)),
  });
  res.end(reply.body);
}

/** A request target that is not a valid URL: answered before any route or access check runs. */
export function sendBadUrl(res: ServerResponse, path: string): void {
  const body = JSON.stringify({ error: 'Bad Request', code: 'FST_ERR_BAD_URL', message: `'${path}' is not a valid url component`, statusCode: 400 });
  res.writeHead(400, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
