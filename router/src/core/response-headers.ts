/**
 * The worker's response head as the client will get it: the router frames every response itself
 * (SPEC §7.3), so framing and hop-by-hop fields from the worker never pass, and its one valid
 * Content-Length is read here for the stream to enforce.
 */
import { connectionNamed, HOP_BY_HOP } from '../fields/hop-by-hop.ts';
import { appendTraceContext } from '../fields/trace-context.ts';

/** A worker's response head the router refuses to relay (the client gets 502). */
export class InvalidResponseHead extends Error {}

/** What forwardResponseHeaders learned about the body's framing (one object per caller, reused). */
export interface ResponseFraming {
  /** The worker's one valid Content-Length, or -1 when it sent none. */
  contentLength: number;
}

/** Longest Content-Length value read: 15 digits stays below 2^53. */
const MAX_LENGTH_DIGITS = 15;

/**
 * A Content-Length field value: digits only (RFC 9110 §8.6), or a list of one repeated value
 * ("42, 42", which a recipient may fold). -1 for anything else (negative, signs, hex, blanks).
 */
function parseContentLength(value: string): number {
  let result = -1;
  let start = 0;
  for (;;) {
    const comma = value.indexOf(',', start);
    const part = (comma < 0 ? value.slice(start) : value.slice(start, comma)).trim();
    if (part.length === 0 || part.length > MAX_LENGTH_DIGITS) return -1;
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return -1;
    }
    const n = Number(part);
    if (result >= 0 && n !== result) return -1;
    result = n;
    if (comma < 0) return result;
    start = comma + 1;
  }
}

const NO_FRAMING: ResponseFraming = { contentLength: -1 };

/**
 * The worker's response headers for the client, in one pass: hop-by-hop and framing fields dropped
 * (RFC 9110 §7.6.1: Connection and what it names, Keep-Alive, Transfer-Encoding, TE, Trailer,
 * Upgrade, every Proxy-*), our X-Request-Id set. The router frames every response itself, so
 * Content-Length never passes through: its one valid value goes to `framing.contentLength` and the
 * caller writes it back. Two different values, or one that is not a decimal number, throw
 * InvalidResponseHead (the client gets 502, never a guess at where the body ends).
 */
export function forwardResponseHeaders(workerHeaders: readonly string[], requestId: string, framing: ResponseFraming = NO_FRAMING): string[] {
  const named = connectionNamed(workerHeaders, false);
  const out: string[] = [];
  let traceparent: string | undefined;
  let traceparents = 0;
  let tracestate: string | undefined;
  let contentLength = -1;
  for (let i = 0; i < workerHeaders.length; i += 2) {
    const name = workerHeaders[i]!.toLowerCase();
    // ":"-names are not field names (and would be pseudo-headers on HTTP/2): never relayed.
    if (HOP_BY_HOP.has(name) || name === 'x-request-id' || name.charCodeAt(0) === 0x3a || name.startsWith('proxy-') || (named !== null && named.has(name))) continue;
    const value = workerHeaders[i + 1]!;
    if (name === 'content-length') {
      const n = parseContentLength(value);
      if (n < 0) throw new InvalidResponseHead(`invalid content-length ${JSON.stringify(value.slice(0, 40))}`);
      if (contentLength >= 0 && n !== contentLength) throw new InvalidResponseHead(`content-length ${contentLength} and ${n}`);
      contentLength = n;
      continue;
    }
    if (name === 'traceparent') {
      traceparent = value;
      traceparents++;
      continue;
    }
    if (name === 'tracestate') {
      tracestate = tracestate === undefined ? value : `${tracestate},${value}`;
      continue;
    }
    out.push(name, value);
  }
  framing.contentLength = contentLength;
  out.push('x-request-id', requestId);
  if (traceparent !== undefined) appendTraceContext(out, traceparent, traceparents, tracestate);
  return out;
}

/** Removes framing fields a response edit (routing config) may have set: the router frames alone. */
export function withoutFraming(headers: string[]): string[] {
  let i = 0;
  for (; i < headers.length; i += 2) {
    const n = headers[i]!.toLowerCase();
    if (n === 'content-length' || n === 'transfer-encoding' || HOP_BY_HOP.has(n)) break;
  }
  if (i >= headers.length) return headers;
  const out: string[] = [];
  for (let k = 0; k < headers.length; k += 2) {
    const n = headers[k]!.toLowerCase();
    if (n !== 'content-length' && !HOP_BY_HOP.has(n)) out.push(n, headers[k + 1]!);
  }
  return out;
}
