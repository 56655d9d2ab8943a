/**
 * Request header rewriting at the proxy boundary: hop-by-hop headers stripped (RFC 9110 §7.6.1),
 * Forwarded (RFC 7239, appended), X-Forwarded-* and X-Request-Id added toward the worker, W3C
 * traceparent/tracestate passed when valid. (The response side is core/response-headers.ts.)
 * HTTP/2 requests arrive with pseudo-headers in rawHeaders: :authority becomes Host, the others
 * travel as REQ fields, and split Cookie fields are joined again (RFC 9113 §8.2.3).
 * Header lists stay flat [name, value, …] arrays (node's rawHeaders already is one): no objects.
 */
import { nanoid } from 'nanoid';
import { forwardedElement } from './forwarded.ts';
import { appendTraceContext } from '../fields/trace-context.ts';
import { connectionNamed, HOP_BY_HOP } from '../fields/hop-by-hop.ts';
import type { RequestHead } from '../core/stream.ts';
import type { RouterErrorCode } from '../errors.ts';
import { isValidAuthority, parseRequestTarget } from './request-target.ts';

/** Headers the router sets itself toward the worker (incoming copies are replaced or merged). */
const SET_BY_ROUTER = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'forwarded',
  'cookie',
  'traceparent',
  'tracestate',
  'host',
]);

/** A printable ASCII id of 1..200 characters, no leading/trailing space: safe to log and echo. */
const VALID_REQUEST_ID = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

export function isValidRequestId(value: string | undefined): value is string {
  return value !== undefined && VALID_REQUEST_ID.test(value);
}

export interface ForwardedRequestHead {
  /** Headers for the worker, names lower-case. */
  headers: string[];
  authority: string;
  requestId: string;
  /** How many Host fields the request carried (HTTP/1.1 needs exactly one, RFC 9112 §3.2). */
  hostFields: number;
}

/**
 * Builds the worker's header list from node's flat rawHeaders (names in any case; HTTP/2
 * pseudo-headers first). `remote` is the client's address; `scheme` the scheme the client used.
 */
export function forwardRequestHeaders(rawHeaders: readonly string[], remote: string, scheme: string, targetAuthority: string | null = null): ForwardedRequestHead {
  const named = connectionNamed(rawHeaders, false);
  const headers: string[] = [];
  let host = '';
  let hostFields = 0;
  let authority = '';
  let forwardedFor = '';
  let forwarded = '';
  let cookie = '';
  let incomingId: string | undefined;
  let traceparent: string | undefined;
  let traceparents = 0;
  let tracestate: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (name === ':authority') authority = value;
      continue;
    }
    if (HOP_BY_HOP.has(name) || (named !== null && named.has(name))) continue;
    if (SET_BY_ROUTER.has(name)) {
      switch (name) {
        case 'host':
          if (hostFields++ === 0) host = value;
          break;
        case 'x-forwarded-for':
          forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
          break;
        case 'forwarded':
          forwarded = forwarded === '' ? value : `${forwarded}, ${value}`;
          break;
        case 'cookie':
          cookie = cookie === '' ? value : `${cookie}; ${value}`;
          break;
        case 'x-request-id':
          incomingId ??= value;
          break;
        case 'traceparent':
          traceparent = value;
          traceparents++;
          break;
        case 'tracestate':
          tracestate = tracestate === undefined ? value : `${tracestate},${value}`;
          break;
      }
      continue;
    }
    headers.push(name, value);
  }
  // HTTP/2: :authority is the authority (RFC 9113 §8.3.1); the worker still gets a Host field.
  if (authority !== '') host = authority;
  // HTTP/1.1 absolute-form: the target's authority is the Host (RFC 9112 §3.2.2).
  if (targetAuthority !== null) host = targetAuthority;
  if (host !== '') headers.push('host', host);
  if (cookie !== '') headers.push('cookie', cookie);
  const requestId = isValidRequestId(incomingId) ? incomingId : nanoid();
  headers.push('x-forwarded-for', forwardedFor === '' ? remote : `${forwardedFor}, ${remote}`);
  headers.push('x-forwarded-proto', scheme);
  if (host !== '') headers.push('x-forwarded-host', host);
  const element = forwardedElement(remote, host, scheme);
  headers.push('forwarded', forwarded === '' ? element : `${forwarded}, ${element}`);
  headers.push('x-request-id', requestId);
  if (traceparent !== undefined) appendTraceContext(headers, traceparent, traceparents, tracestate);
  return { headers, authority: host, requestId, hostFields };
}

/** A REQ head, and why the front door must refuse the request instead (null: forward it). */
export interface FrontRequestHead extends RequestHead {
  problem: RouterErrorCode | null;
}

/** What requestHead reads from node's HTTP/1.1 or HTTP/2 request. */
export interface ClientRequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly rawHeaders: readonly string[];
  /** "1.1", "1.0", "2.0"; absent = treated as HTTP/1.1. */
  readonly httpVersion?: string | undefined;
}

/**
 * Why a request's Host is refused, or null. HTTP/1.1: exactly one Host field (RFC 9112 §3.2: a
 * server MUST answer 400 to none, several, or an invalid value); HTTP/1.0 may omit it. Any version:
 * the authority the router forwards (Host, :authority or the absolute-form's) must be valid.
 */
function hostProblem(forwarded: ForwardedRequestHead, httpVersion: string, absoluteForm: boolean): RouterErrorCode | null {
  if (httpVersion === '1.1' && (forwarded.hostFields !== 1 && !(absoluteForm && forwarded.hostFields === 0))) return 'ZP_ERR_BAD_HOST';
  if (forwarded.hostFields > 1) return 'ZP_ERR_BAD_HOST';
  // An http(s) URI always has an authority: an empty Host is invalid too (HTTP/2 may omit both fields).
  if (forwarded.authority === '' ? httpVersion === '1.1' : !isValidAuthority(forwarded.authority)) return 'ZP_ERR_BAD_HOST';
  return null;
}

/**
 * The head of a REQ for a client request: method, path, the forwarded headers (above) and its ids.
 * The path is the normalised origin-form target (request-target.ts): what routes match and what
 * the worker gets. `problem` says when the request must be answered 400 instead (bad target or
 * Host). `scheme` is what the worker sees (`http`, `https`, or `ws`/`wss` for a WebSocket);
 * `proxyScheme` is what X-Forwarded-Proto / Forwarded say (the HTTP scheme, as nginx's $scheme).
 */
export function requestHead(req: ClientRequestLike, remote: string, scheme: string, proxyScheme: string = scheme): FrontRequestHead {
  const method = req.method ?? 'GET';
  const httpVersion = req.httpVersion ?? '1.1';
  const target = parseRequestTarget(req.url ?? '/', method, httpVersion !== '2.0');
  const forwarded = forwardRequestHeaders(req.rawHeaders, remote, proxyScheme, target.authority);
  return {
    method,
    scheme,
    authority: forwarded.authority,
    path: target.path,
    headers: forwarded.headers,
    remote,
    requestId: forwarded.requestId,
    problem: target.problem ?? hostProblem(forwarded, httpVersion, target.authority !== null),
  };
}
