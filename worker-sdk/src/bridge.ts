/**
 * The `--forward` HTTP bridge: puts an existing HTTP server behind the router unchanged.
 *
 * Built on the stream API (no WHATWG Request/Response): the request body is piped from the stream
 * into an undici Pool request, and the backend's response body is written back chunk by chunk, each
 * write waiting for the router's window — so the backend is back-pressured, never buffered.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { HeaderList } from '../../proto/src/index.ts';
import type { Stream, StreamHandler } from './stream.ts';

export interface BridgeOptions {
  /** Backend base URL (http or https); a path prefix is prepended to every request path. */
  target: URL | string;
  /** Pool connections (normally the worker's capacity). */
  connections: number;
  logger: Logger;
  /** Time to wait for the backend's response headers (ms). */
  headersTimeoutMs?: number;
}

export interface Bridge {
  onStream: StreamHandler;
  close(): Promise<void>;
}

/** Connection-scoped fields (RFC 9110 §7.6.1) plus those undici refuses to forward. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
]);

const BODYLESS_METHODS = new Set(['GET', 'HEAD']);
const DEFAULT_HEADERS_TIMEOUT_MS = 300_000;

/** Drops hop-by-hop fields and every field the Connection header names. */
export function stripHopByHop(list: HeaderList): HeaderList {
  let named: Set<string> | undefined;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === 'connection') {
      named ??= new Set();
      for (const token of list[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
    }
  }
  const out: HeaderList = [];
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || named?.has(name) || name.startsWith(':')) continue;
    out.push(name, list[i + 1]!);
  }
  return out;
}

function responseHeaderList(headers: Record<string, string | string[] | undefined>): HeaderList {
  const list: HeaderList = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) list.push(name, v);
    else list.push(name, value);
  }
  return list;
}

function requestHeaders(stream: Stream): HeaderList {
  const headers = stripHopByHop(stream.headerList);
  // Keep the client's Host: a backend behind the bridge sees the request as the client sent it.
  if (stream.authority && !headers.includes('host')) headers.push('host', stream.authority);
  return headers;
}

export function createBridge(options: BridgeOptions): Bridge {
  const target = typeof options.target === 'string' ? new URL(options.target) : options.target;
  const prefix = target.pathname.replace(/\/+$/, '');
  const pool = new Pool(target.origin, {
    connections: options.connections,
    headersTimeout: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    // Streamed responses (SSE) may be idle for long; the router's request deadline bounds them.
    bodyTimeout: 0,
  });
  const log = options.logger;

  const onStream: StreamHandler = async (stream) => {
    const method = stream.method.toUpperCase();
    const hasBody = !stream.bodyless && !BODYLESS_METHODS.has(method);
    // undici also takes an EventEmitter as abort signal: far cheaper than an AbortSignal listener.
    const abort = new EventEmitter();
    stream.onClose((reason) => {
      if (reason) abort.emit('abort', reason);
    });
    let response;
    try {
      response = await pool.request({
        path: prefix + stream.path,
        method: stream.method as 'GET',
        headers: requestHeaders(stream),
        body: hasBody ? Readable.from(stream.body, { objectMode: false }) : null,
        signal: abort,
      });
    } catch (err) {
      if (stream.closed) return;
      const e = err as Error & { code?: string };
      log.warn({ requestId: stream.requestId, backend: target.origin, code: e.code, err: e.message }, 'backend unreachable');
      stream.respond(502, ['content-type', 'text/plain; charset=utf-8']);
      await stream.end(`bad gateway: backend ${target.origin} failed: ${e.code ?? e.message}\n`);
      return;
    }
    const body = response.body;
    try {
      stream.respond(response.statusCode, stripHopByHop(responseHeaderList(response.headers)));
      for await (const chunk of body) {
        await stream.write(chunk as Buffer);
      }
      await stream.end();
    } catch (err) {
      body.destroy();
      if (!stream.closed) throw err; // the link's runner answers RST internal
    }
  };

  return { onStream, close: () => pool.close() };
}
