/**
 * Header rewriting at the proxy boundary: hop-by-hop headers stripped both ways (RFC 9110 §7.6.1),
 * X-Forwarded-* and X-Request-Id added toward the worker, X-Request-Id returned to the client.
 * Header lists stay flat [name, value, …] arrays (node's rawHeaders already is one): no objects.
 */
import { nanoid } from 'nanoid';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

/** Headers the router sets itself toward the worker (incoming copies are replaced or merged). */
const SET_BY_ROUTER = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']);

/** A printable ASCII id of 1..200 characters, no leading/trailing space: safe to log and echo. */
const VALID_REQUEST_ID = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

export function isValidRequestId(value: string | undefined): value is string {
  return value !== undefined && VALID_REQUEST_ID.test(value);
}

/** Lower-case names listed in Connection header values: they are hop-by-hop too. */
function connectionNamed(list: readonly string[], lowerNames: boolean): Set<string> | null {
  let named: Set<string> | null = null;
  for (let i = 0; i < list.length; i += 2) {
    const name = lowerNames ? list[i]! : list[i]!.toLowerCase();
    if (name !== 'connection') continue;
    for (const token of list[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase();
      if (t !== '') (named ??= new Set()).add(t);
    }
  }
  return named;
}

export interface ForwardedRequestHead {
  /** Headers for the worker, names lower-case. */
  headers: string[];
  authority: string;
  requestId: string;
}

/**
 * Builds the worker's header list from node's flat rawHeaders (names in any case).
 * `remote` is the client's address; `scheme` the scheme the client used.
 */
export function forwardRequestHeaders(rawHeaders: readonly string[], remote: string, scheme: string): ForwardedRequestHead {
  const named = connectionNamed(rawHeaders, false);
  const headers: string[] = [];
  let host = '';
  let forwardedFor = '';
  let incomingId: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (HOP_BY_HOP.has(name) || (named !== null && named.has(name))) continue;
    if (SET_BY_ROUTER.has(name)) {
      if (name === 'x-forwarded-for') forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
      else if (name === 'x-request-id' && incomingId === undefined) incomingId = value;
      continue;
    }
    if (name === 'host' && host === '') host = value;
    headers.push(name, value);
  }
  const requestId = isValidRequestId(incomingId) ? incomingId : nanoid();
  headers.push('x-forwarded-for', forwardedFor === '' ? remote : `${forwardedFor}, ${remote}`);
  headers.push('x-forwarded-proto', scheme);
  if (host !== '') headers.push('x-forwarded-host', host);
  headers.push('x-request-id', requestId);
  return { headers, authority: host, requestId };
}

/** The worker's response headers for the client: hop-by-hop stripped, our X-Request-Id set. */
export function forwardResponseHeaders(workerHeaders: readonly string[], requestId: string): string[] {
  const named = connectionNamed(workerHeaders, false);
  const out: string[] = [];
  for (let i = 0; i < workerHeaders.length; i += 2) {
    const name = workerHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || name === 'x-request-id' || (named !== null && named.has(name))) continue;
    out.push(name, workerHeaders[i + 1]!);
  }
  out.push('x-request-id', requestId);
  return out;
}

/** Whether a flat, lower-cased header list has `name`. */
export function hasHeader(headers: readonly string[], name: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return true;
  return false;
}
