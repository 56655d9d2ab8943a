/**
 * A lightweight `Request` for fetch-style handlers (the idea of @hono/node-server's `src/request.ts`).
 *
 * Building a real WHATWG Request costs ~9 µs per request on Node 20 (NOTES.md); most handlers only
 * read `method`, `url`, a header or the body. The object made here has `Request.prototype` in its
 * chain (so `instanceof Request` holds) and answers `method`, `url`, `headers`, `signal`, `body`,
 * `bodyUsed`, `text()`, `json()`, `arrayBuffer()` and `bytes()` itself. Everything else (`clone()`,
 * `blob()`, `formData()`, `cache`, `new Request(req)`, `fetch(req)`, …) runs undici's own code on
 * this object: undici reads its internal fields (symbol-keyed `state`, `headers`, `signal`,
 * `dispatcher`), and the getters defined here for those symbols build the real Request once, from
 * the current state of the light one (headers as modified, body as far as it was consumed).
 *
 * That relies on undici's internal layout, so `fetchRequestFactory` checks it once per worker; if
 * the check fails (another undici), it builds real Requests instead (real-request.ts), as before.
 */
import * as nodeStream from 'node:stream';
import type { HeaderList } from '../../proto/src/index.ts';
import { hasBody, headerPairs, realFetchRequest, requestBodyStream, requestUrl, StreamRequest, UnrepresentableRequestError, type FetchRequestFactory } from './real-request.ts';
import type { Stream } from './stream.ts';

export { realFetchRequest, UnrepresentableRequestError, type FetchRequestFactory };

/** Methods undici upper-cases (fetch spec "normalize a method"); others are kept as sent. */
const NORMALIZED_METHODS: Readonly<Record<string, string>> = {
  delete: 'DELETE',
  get: 'GET',
  head: 'HEAD',
  options: 'OPTIONS',
  post: 'POST',
  put: 'PUT',
};
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value undici refuses once leading/trailing HTTP whitespace is trimmed. */
const BAD_VALUE_CHAR = /[\0\r\n]/;
const HTTP_WHITESPACE_EDGES = /^[\t\n\r ]+|[\t\n\r ]+$/g;
/** Stateless (no `stream` option): decodes as the fetch spec's UTF-8 decode, BOM stripped. */
const UTF8 = new TextDecoder();

/** Methods as routers send them nearly always: valid, allowed and already normal. */
const COMMON_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH']);

function normalizeMethod(method: string): string {
  if (COMMON_METHODS.has(method)) return method;
  if (!TOKEN.test(method)) throw new UnrepresentableRequestError(`'${method}' is not a valid HTTP method.`);
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) throw new UnrepresentableRequestError(`'${method}' HTTP method is unsupported.`);
  return NORMALIZED_METHODS[method.toLowerCase()] ?? method;
}

/** Checks the header list as `new Headers()` would, without building it. */
function checkHeaders(list: HeaderList): void {
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    if (!TOKEN.test(name)) throw new UnrepresentableRequestError(`invalid header name ${JSON.stringify(name)}`);
    // Headers trims leading/trailing HTTP whitespace first, so "v\r\n" is fine and "a\nb" is not.
    if (BAD_VALUE_CHAR.test(value) && BAD_VALUE_CHAR.test(value.replace(HTTP_WHITESPACE_EDGES, ''))) {
      throw new UnrepresentableRequestError(`invalid value for header ${JSON.stringify(name)}`);
    }
  }
}

/** A body stream that reads as already consumed, for a real Request built after a fast read. */
function usedBodyStream(): ReadableStream<Uint8Array> {
  const s = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  void s.getReader().read();
  return s;
}

/** Reads the whole request body from the stream (no ReadableStream on this path). */
async function readAll(stream: Stream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream.body) {
    chunks.push(chunk);
    size += chunk.length;
  }
  // A fresh, exactly sized ArrayBuffer (as undici's arrayBuffer() gives), never a pooled slab.
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

const EMPTY = new Uint8Array(0);

/** `stream.isDisturbed` (Node ≥ 16.8) works on web ReadableStreams; @types/node does not declare it. */
const isDisturbed = (nodeStream as unknown as { isDisturbed(s: ReadableStream): boolean }).isDisturbed;

/** Per-object state of a light request; one object per request, never shared. */
interface LightState {
  readonly stream: Stream;
  readonly method: string;
  readonly url: string;
  readonly withBody: boolean;
  headers: Headers | null;
  /** The ReadableStream handed out through `body`, if anyone asked for it. */
  bodyStream: ReadableStream<Uint8Array> | null;
  /** True once text()/json()/arrayBuffer()/bytes() took the body without a ReadableStream. */
  consumed: boolean;
  real: Request | null;
}

const LIGHT = Symbol('zeroproxy light request');

interface LightRequest {
  [LIGHT]: LightState;
}

type LightClass = new (state: LightState) => LightRequest;

function stateOf(self: unknown): LightState {
  const st = (self as Partial<LightRequest>)[LIGHT];
  if (!st) throw new TypeError('Illegal invocation');
  return st;
}

/** The real Request behind a light one, built on first need from the light one's current state. */
function realOf(st: LightState): Request {
  if (st.real) return st.real;
  const init: RequestInit & { duplex?: 'half' } = { method: st.method, headers: st.headers ?? headerPairs(st.stream.headerList) };
  if (st.withBody) {
    init.body = st.consumed ? usedBodyStream() : (st.bodyStream ??= requestBodyStream(st.stream));
    init.duplex = 'half';
  }
  st.real = new StreamRequest(st.url, init, st.stream);
  return st.real;
}

async function bodyBytes(self: unknown): Promise<Uint8Array> {
  const st = stateOf(self);
  // Once the real Request exists it owns the body (clone() may have replaced its stream).
  if (st.real) return new Uint8Array(await st.real.arrayBuffer());
  if (!st.withBody) return EMPTY;
  if (st.consumed || (st.bodyStream && (st.bodyStream.locked || isDisturbed(st.bodyStream)))) {
    throw new TypeError('Body is unusable: Body has already been read');
  }
  if (st.bodyStream) return new Uint8Array(await realOf(st).arrayBuffer());
  st.consumed = true;
  return readAll(st.stream);
}

/** Strips a UTF-8 BOM and decodes, as the fetch spec's "UTF-8 decode" in text()/json() does. */
function utf8(bytes: Uint8Array): string {
  return UTF8.decode(bytes);
}

/**
 * Finds undici's internal symbol-keyed fields of a Request (`state`, `headers`, `signal`,
 * `dispatcher`) on a probe instance, and checks that the prototype's getters and `new Request(x)`
 * work on an object that forwards those fields. Null when the layout is not the expected one.
 */
function buildLightClass(): LightClass | null {
  let symbols: symbol[];
  try {
    symbols = Object.getOwnPropertySymbols(new Request('http://probe.invalid/'));
  } catch {
    return null;
  }
  const names = new Set(symbols.map((s) => s.description));
  if (!names.has('state') || !names.has('headers') || !names.has('signal')) return null;

  // A class, not Object.create(proto): V8 keeps instances of a constructor in fast mode (~10 ns each).
  class LightRequestImpl {
    [LIGHT]: LightState;
    constructor(state: LightState) {
      this[LIGHT] = state;
    }
  }
  Object.setPrototypeOf(LightRequestImpl.prototype, Request.prototype);
  const proto = LightRequestImpl.prototype;
  const props: PropertyDescriptorMap = {
    method: {
      get(this: unknown) {
        return stateOf(this).method;
      },
    },
    url: {
      get(this: unknown) {
        return stateOf(this).url;
      },
    },
    headers: {
      get(this: unknown) {
        const st = stateOf(this);
        if (st.headers) return st.headers;
        if (st.real) return st.real.headers;
        // append() one by one is ~2× faster than new Headers(pairs) on Node 20 (measured here).
        const headers = new Headers();
        const list = st.stream.headerList;
        for (let i = 0; i < list.length; i += 2) headers.append(list[i]!, list[i + 1]!);
        st.headers = headers;
        return headers;
      },
    },
    signal: {
      get(this: unknown) {
        return stateOf(this).stream.signal;
      },
    },
    body: {
      get(this: unknown) {
        const st = stateOf(this);
        if (st.real) return st.real.body;
        if (!st.withBody) return null;
        if (st.consumed) return realOf(st).body;
        return (st.bodyStream ??= requestBodyStream(st.stream));
      },
    },
    bodyUsed: {
      get(this: unknown) {
        const st = stateOf(this);
        if (st.real) return st.real.bodyUsed;
        return st.consumed || (st.bodyStream !== null && isDisturbed(st.bodyStream));
      },
    },
    clone: {
      // undici's clone() makes the copy follow the original's signal only when that signal was given
      // to the Request constructor; the stream's signal is not, so re-wrap the copy with it (rare path).
      value: function clone(this: unknown): Request {
        const st = stateOf(this);
        const copy = (Request.prototype.clone as (this: unknown) => Request).call(this);
        return new Request(copy, { signal: st.stream.signal });
      },
      writable: true,
      configurable: true,
    },
    text: {
      value: async function text(this: unknown) {
        return utf8(await bodyBytes(this));
      },
      writable: true,
      configurable: true,
    },
    json: {
      value: async function json(this: unknown): Promise<unknown> {
        return JSON.parse(utf8(await bodyBytes(this)));
      },
      writable: true,
      configurable: true,
    },
    arrayBuffer: {
      value: async function arrayBuffer(this: unknown) {
        const bytes = await bodyBytes(this);
        // bodyBytes returns a fresh exact-size buffer (or EMPTY): copy only the shared empty one.
        return bytes === EMPTY ? new ArrayBuffer(0) : bytes.buffer;
      },
      writable: true,
      configurable: true,
    },
    bytes: {
      value: async function bytes(this: unknown) {
        const b = await bodyBytes(this);
        return b === EMPTY ? new Uint8Array(0) : b;
      },
      writable: true,
      configurable: true,
    },
  };
  for (const name of ['method', 'url', 'headers', 'signal', 'body', 'bodyUsed'] as const) props[name]!.configurable = true;
  // undici's own code (Request.prototype getters and methods, the Request constructor, fetch) reads
  // these fields: hand it the real Request's, except `signal`, which is the stream's.
  for (const sym of symbols) {
    props[sym] = {
      get(this: unknown) {
        const st = stateOf(this);
        if (sym.description === 'signal') return st.stream.signal;
        return (realOf(st) as unknown as Record<symbol, unknown>)[sym];
      },
      configurable: true,
    };
  }
  Object.defineProperties(proto, props);
  return LightRequestImpl;
}

function makeLight(Light: LightClass, stream: Stream): Request {
  const method = normalizeMethod(stream.method);
  checkHeaders(stream.headerList);
  const state: LightState = {
    stream,
    method,
    url: requestUrl(stream),
    withBody: hasBody(stream),
    headers: null,
    bodyStream: null,
    consumed: false,
    real: null,
  };
  return new Light(state) as unknown as Request;
}

/** Checks, once, that undici treats a light request as a Request; null if it does not. */
function verifiedLightClass(): LightClass | null {
  const Light = buildLightClass();
  if (!Light) return null;
  try {
    const probe: Stream = {
      method: 'GET',
      scheme: 'http',
      authority: 'probe.invalid',
      path: '/p?q',
      headerList: ['x-probe', '1'],
      headers: { 'x-probe': '1' },
      bodyless: true,
      signal: new AbortController().signal,
    } as unknown as Stream;
    const light = makeLight(Light, probe);
    const copy = new Request(light);
    if (copy.url !== 'http://probe.invalid/p?q' || copy.headers.get('x-probe') !== '1' || light.cache !== 'default') return null;
    return Light;
  } catch {
    return null;
  }
}

/** Builds what a fetch-style handler gets for `stream`: lazy when undici allows it, real otherwise. */
export function fetchRequestFactory(): FetchRequestFactory {
  const Light = verifiedLightClass();
  if (!Light) return realFetchRequest;
  return (stream) => makeLight(Light, stream);
}
