/**
 * Fetch-style handlers on top of the stream API: `(request: Request, ctx) => Response`.
 *
 * The request body is a ReadableStream pulled from the stream (so the window is granted as the
 * handler reads); the response body is streamed to the router chunk by chunk as it is produced (SSE
 * works). A body that is complete at once (string/Buffer) leaves as a single RES with fin.
 */
import type { Logger } from 'pino';
import type { HeaderList } from '../../proto/src/index.ts';
import type { Stream, StreamHandler } from './stream.ts';

export interface FetchContext {
  requestId: string;
  remoteAddress: string;
  workerId: string;
  /** Aborts when the router resets the stream (client went away), the router is lost, or the deadline passes. */
  signal: AbortSignal;
}

export type FetchHandler = (request: Request, ctx: FetchContext) => Response | Promise<Response>;

const BODYLESS_METHODS = new Set(['GET', 'HEAD']);
const NOT_YET = Symbol('not yet');

/** A pull-based ReadableStream over the stream's body: nothing is read before the handler asks. */
function requestBody(stream: Stream): ReadableStream<Uint8Array> {
  const it = stream.body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength));
      },
      async cancel() {
        await it.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A real Request whose `signal` is the stream's own. Passing `signal` to the Request constructor
 * instead costs ~30 µs and a FinalizationRegistry entry per request on Node 20 (measured here).
 */
class StreamRequest extends Request {
  readonly #stream: Stream;
  constructor(url: string, init: RequestInit, stream: Stream) {
    super(url, init);
    this.#stream = stream;
  }
  override get signal(): AbortSignal {
    return this.#stream.signal;
  }
}

function buildRequest(stream: Stream): Request {
  const list = stream.headerList;
  const headers: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) headers.push([list[i]!, list[i + 1]!]);
  const host = stream.authority || stream.headers['host'] || 'localhost';
  const scheme = stream.scheme === 'https' || stream.scheme === 'wss' ? 'https' : 'http';
  const init: RequestInit & { duplex?: 'half' } = { method: stream.method, headers };
  if (!BODYLESS_METHODS.has(stream.method.toUpperCase()) && !stream.bodyless) {
    init.body = requestBody(stream);
    init.duplex = 'half';
  }
  return new StreamRequest(`${scheme}://${host}${stream.path}`, init, stream);
}

/**
 * The bytes a Response was built from, when it was built from a string or bytes and nobody read it:
 * read without its stream (NOTES.md: what @hono/node-server does). Looks at undici's internal state,
 * so any surprise falls back to the stream.
 */
function sourceBytes(res: Response): Buffer | null {
  if (res.bodyUsed || res.body?.locked !== false) return null;
  try {
    for (const sym of Object.getOwnPropertySymbols(res)) {
      if (sym.description !== 'state') continue;
      const body = (res as unknown as Record<symbol, { body?: { source?: unknown } | null }>)[sym]?.body;
      const source = body?.source;
      if (typeof source === 'string') return Buffer.from(source);
      if (source instanceof Uint8Array) return Buffer.from(source.buffer, source.byteOffset, source.byteLength);
      return null;
    }
  } catch {
    // not undici's Response layout: use the stream
  }
  return null;
}

function responseHeaders(res: Response): HeaderList {
  const out: HeaderList = [];
  // Headers iteration yields names lower-case and each Set-Cookie on its own.
  res.headers.forEach((value, name) => out.push(name, value));
  return out;
}

function nextTurn(): Promise<typeof NOT_YET> {
  return new Promise((resolve) => setImmediate(resolve, NOT_YET));
}

/** Streams `res` to the router: RES as soon as the first chunk is known, then DATA as produced. */
async function sendResponse(stream: Stream, res: Response, isHead: boolean): Promise<void> {
  const headers = responseHeaders(res);
  const body = res.body;
  if (!body || isHead) {
    if (body) await body.cancel().catch(() => {});
    stream.respond(res.status, headers);
    await stream.end();
    return;
  }
  const bytes = sourceBytes(res);
  if (bytes) {
    stream.respond(res.status, headers);
    await stream.end(bytes);
    return;
  }
  const reader = body.getReader();
  const cancel = (reason: unknown): void => {
    reader.cancel(reason).catch(() => {});
  };
  // A reset while the producer is idle (SSE) must stop the producer now, not at its next chunk.
  stream.onClose((reason) => {
    if (reason) cancel(reason);
  });
  try {
    const first = await reader.read();
    if (first.done) {
      stream.respond(res.status, headers);
      await stream.end();
      return;
    }
    // A body already complete (string/Buffer) yields its end within this turn: send one RES with
    // fin. A streaming body (SSE) does not: send the head and first chunk now, not when it ends.
    const pendingNext = reader.read();
    const next = await Promise.race([pendingNext, nextTurn()]);
    stream.respond(res.status, headers);
    if (next !== NOT_YET && next.done) {
      await stream.end(first.value);
      return;
    }
    await stream.write(first.value);
    let r = next === NOT_YET ? await pendingNext : next;
    while (!r.done) {
      await stream.write(r.value);
      r = await reader.read();
    }
    await stream.end();
  } catch (err) {
    cancel(err);
    throw err;
  }
}

/** Adapts a fetch-style handler to the stream API. Throws reach the link's handler runner (500/RST). */
export function fetchHandlerToStreamHandler(handler: FetchHandler, workerId: string, logger: Logger): StreamHandler {
  return async (stream) => {
    let request: Request;
    try {
      request = buildRequest(stream);
    } catch (err) {
      // Header values or a URL that WHATWG Request rejects: the client's fault.
      logger.info({ requestId: stream.requestId, err: (err as Error).message }, 'request not representable as a fetch Request');
      stream.respond(400, ['content-type', 'text/plain; charset=utf-8']);
      await stream.end(`bad request: ${(err as Error).message}\n`);
      return;
    }
    const ctx: FetchContext = {
      requestId: stream.requestId,
      remoteAddress: stream.remoteAddress,
      workerId,
      // A getter: the stream's AbortController is made only if someone looks.
      get signal() {
        return stream.signal;
      },
    };
    const res = await handler(request, ctx);
    if (!res || typeof res.status !== 'number' || typeof res.headers?.forEach !== 'function') {
      throw new TypeError('the handler did not return a Response');
    }
    if (stream.closed) {
      await res.body?.cancel().catch(() => {});
      return;
    }
    await sendResponse(stream, res, stream.method.toUpperCase() === 'HEAD');
  };
}
