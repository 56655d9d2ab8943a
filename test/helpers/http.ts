/**
 * HTTP requests for tests that can never hang: every request carries a deadline (undici's
 * headers/body timeouts plus an AbortSignal over the whole exchange) and resolves to plain data.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import { withTimeout } from './waiting.ts';

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  sha256: string;
  /** Milliseconds from sending to the end of the body. */
  elapsedMs: number;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Uint8Array;
  /** Bound on the whole exchange (default 10 s). */
  timeoutMs?: number;
  /** A dispatcher (e.g. an Agent with more connections); default undici's global one. */
  dispatcher?: Dispatcher;
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One request, fully read. Rejects (never hangs) when `timeoutMs` passes. */
export async function httpRequest(url: string, options: HttpOptions = {}): Promise<HttpResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const exchange = (async () => {
    const res = await undiciRequest(url, {
      method: (options.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: options.headers,
      body: options.body,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      dispatcher: options.dispatcher,
    });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    return {
      status: res.statusCode,
      headers: res.headers,
      body,
      sha256: sha256(body),
      elapsedMs: performance.now() - started,
    };
  })();
  // The outer bound also covers a body iterator that ignores the signal.
  return withTimeout(exchange, timeoutMs + 1000, `${options.method ?? 'GET'} ${url}`);
}

/** A connection pool sized for bursts of concurrent requests; close it in after(). */
export function makeAgent(connections: number): Agent {
  return new Agent({ connections, pipelining: 1, keepAliveTimeout: 1000 });
}

/** A header value as a single string (first of a list). */
export function headerValue(result: HttpResult, name: string): string | undefined {
  const v = result.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export interface RawHttpResponse {
  statusLine: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends raw bytes over a fresh TCP connection and reads until the server closes it. For requests no
 * well-behaved client would send (hop-by-hop headers, chunked bodies); always send
 * "Connection: close" so the server closes the connection after its response.
 */
export async function rawHttpExchange(host: string, port: number, requestBytes: string | Buffer, timeoutMs = 10_000): Promise<RawHttpResponse> {
  const socket = net.connect({ host, port });
  const received: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    socket.on('data', (c: Buffer) => received.push(c));
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(received)));
    // write, not end: node:http aborts a request whose client half-closes the connection early.
    socket.once('connect', () => socket.write(requestBytes));
  });
  try {
    const all = await withTimeout(done, timeoutMs, `raw HTTP exchange with ${host}:${port}`);
    return parseRawResponse(all);
  } finally {
    socket.destroy();
  }
}

function parseRawResponse(all: Buffer): RawHttpResponse {
  const end = all.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${JSON.stringify(all.toString('latin1').slice(0, 200))}`);
  const [statusLine, ...lines] = all.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let body = all.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = decodeChunked(body);
  return { statusLine: statusLine ?? '', headers, body };
}

function decodeChunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < 100_000 && offset < data.length; i++) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
